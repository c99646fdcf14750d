-- What the operator sees in `admin status`: the last error of each platform.
CREATE TABLE adapter_status (
    platform       TEXT PRIMARY KEY,
    last_error     TEXT,
    last_error_at  TEXT,
    last_sent_at   TEXT
);
