-- Messages to a teacher written where no platform is connected (an operator
-- command such as close-year): the running service sends them, then forgets them.
CREATE TABLE teacher_notices (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    text        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX teacher_notices_platform ON teacher_notices (platform, id);
