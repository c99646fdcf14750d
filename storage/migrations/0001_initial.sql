-- Petites Voix, first schema. Times are ISO-8601 UTC text (sortable).
-- Written for SQLite and PostgreSQL alike: no AUTOINCREMENT, plain types.

CREATE TABLE schools (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE classes (
    id             INTEGER PRIMARY KEY,
    school_id      INTEGER NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    weekly_digest  TEXT NOT NULL,          -- "4 16:30": weekday (0 = Monday) and time
    created_at     TEXT NOT NULL,
    UNIQUE (school_id, name)
);

-- A teacher's identity on one platform, for one class.
CREATE TABLE teachers (
    id            INTEGER PRIMARY KEY,
    class_id      INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    platform      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    chat_id       TEXT NOT NULL,          -- direct chat with the bot
    display_name  TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL DEFAULT 'teacher' CHECK (role IN ('teacher', 'coteacher')),
    created_at    TEXT NOT NULL,
    UNIQUE (class_id, platform, user_id)
);

-- Groups or rooms where a class's recordings are posted.
CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    class_id    INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    platform    TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (platform, chat_id)
);

CREATE TABLE children (
    id          INTEGER PRIMARY KEY,
    class_id    INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    first_name  TEXT NOT NULL,
    name_key    TEXT NOT NULL,            -- folded first name: accents and case ignored
    consent     INTEGER,                  -- NULL not recorded, 1 yes, 0 no
    consent_at  TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (class_id, name_key)
);

-- A parent or guardian: a chat on one platform, nothing more.
CREATE TABLE guardians (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (platform, user_id)
);

CREATE TABLE subscriptions (
    id                INTEGER PRIMARY KEY,
    guardian_id       INTEGER NOT NULL REFERENCES guardians(id) ON DELETE CASCADE,
    child_id          INTEGER NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    class_id          INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    frequency         TEXT NOT NULL DEFAULT 'immediat'
                      CHECK (frequency IN ('immediat', 'quotidien', 'hebdomadaire')),
    paused            INTEGER NOT NULL DEFAULT 0,
    suspended_reason  TEXT,               -- e.g. 'blocked': nothing is sent while set
    created_at        TEXT NOT NULL,
    UNIQUE (guardian_id, child_id)
);

CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    code_hash   TEXT NOT NULL UNIQUE,     -- sha256 of the code; the code itself is never stored
    kind        TEXT NOT NULL CHECK (kind IN ('teacher', 'coteacher', 'parent')),
    class_id    INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    child_id    INTEGER REFERENCES children(id) ON DELETE CASCADE,
    max_uses    INTEGER NOT NULL,
    uses        INTEGER NOT NULL DEFAULT 0,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE albums (
    id          INTEGER PRIMARY KEY,
    class_id    INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    title_key   TEXT NOT NULL,
    is_current  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    UNIQUE (class_id, position),
    UNIQUE (class_id, title_key)
);
CREATE UNIQUE INDEX albums_one_current ON albums (class_id) WHERE is_current = 1;

CREATE TABLE recordings (
    id                 INTEGER PRIMARY KEY,
    album_id           INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    class_id           INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    position           INTEGER NOT NULL,
    title              TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN (
                           'received', 'processing', 'waiting', 'held', 'published',
                           'cancelled', 'withdrawn', 'failed')),
    failure_reason     TEXT,
    private_child_id   INTEGER REFERENCES children(id) ON DELETE SET NULL,
    is_private         INTEGER NOT NULL DEFAULT 0,
    -- where it came from, so that a restart can fetch it again
    platform           TEXT NOT NULL,
    source_chat_id     TEXT NOT NULL,
    source_message_id  TEXT NOT NULL,
    attachment_ref     TEXT NOT NULL,
    attachment_kind    TEXT NOT NULL,
    posted_by          TEXT NOT NULL,
    reply_message_id   TEXT,              -- the bot's answer in the channel
    -- the files (content hashes under data_dir/media)
    original_sha       TEXT,
    voice_sha          TEXT,
    compat_sha         TEXT,
    compat_mime        TEXT,
    duration_s         REAL,
    waveform           TEXT,
    publish_at         TEXT,
    published_at       TEXT,
    created_at         TEXT NOT NULL,
    UNIQUE (platform, source_chat_id, source_message_id),
    UNIQUE (album_id, position)
);
CREATE INDEX recordings_state ON recordings (state, publish_at);

-- Children named in a caption (#Lina).
CREATE TABLE recording_children (
    recording_id  INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    child_id      INTEGER NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    PRIMARY KEY (recording_id, child_id)
);

-- The outbox: one row per recording and guardian.
CREATE TABLE deliveries (
    id                   INTEGER PRIMARY KEY,
    recording_id         INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    guardian_id          INTEGER NOT NULL REFERENCES guardians(id) ON DELETE CASCADE,
    platform             TEXT NOT NULL,
    chat_id              TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN (
                             'pending', 'digest', 'held', 'sent', 'failed', 'cancelled')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_try_at          TEXT NOT NULL,
    last_error           TEXT,
    platform_message_id  TEXT,
    sent_at              TEXT,
    created_at           TEXT NOT NULL,
    UNIQUE (recording_id, guardian_id)
);
CREATE INDEX deliveries_due ON deliveries (platform, state, next_try_at);
CREATE INDEX deliveries_guardian ON deliveries (guardian_id, state);

-- One upload per file and platform: the platform's reference to reuse.
CREATE TABLE media_cache (
    sha         TEXT NOT NULL,
    platform    TEXT NOT NULL,
    ref         TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (sha, platform)
);

-- Who did what, when (teachers and operators). Never audio, never codes.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    class_id INTEGER,
    detail   TEXT NOT NULL DEFAULT ''
);

-- Wrong invitation codes, per chat, for rate limiting.
CREATE TABLE code_attempts (
    platform  TEXT NOT NULL,
    chat_id   TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX code_attempts_chat ON code_attempts (platform, chat_id, at);

