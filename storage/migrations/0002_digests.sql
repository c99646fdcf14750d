-- Digests: what a guardian on a daily or weekly rhythm receives, and what
-- piled up during a pause. One row per guardian and period, whatever the
-- timers do: the period key is computed from the local wall-clock date.

CREATE TABLE digests (
    id            INTEGER PRIMARY KEY,
    guardian_id   INTEGER NOT NULL REFERENCES guardians(id) ON DELETE CASCADE,
    -- "daily:2026-11-24", "weekly:2026-W48:12" (class 12), "reprise:<UTC instant>"
    period_key    TEXT NOT NULL,
    platform      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    -- planned: open (more deliveries of the period may join);
    -- sending: its content is fixed, messages go out one by one;
    -- sent / failed / cancelled / empty (every recording withdrawn meanwhile)
    state         TEXT NOT NULL CHECK (state IN (
                      'planned', 'sending', 'sent', 'failed', 'cancelled', 'empty')),
    due_at        TEXT NOT NULL,          -- the period's wall-clock slot, as UTC
    next_try_at   TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    steps_done    INTEGER NOT NULL DEFAULT 0,  -- messages of this digest already sent
    message_ids   TEXT NOT NULL DEFAULT '',    -- platform ids of those messages, space-separated
    mix_key       TEXT,                   -- the compiled recording (mixes), if any
    sent_at       TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (guardian_id, period_key)
);
CREATE INDEX digests_due ON digests (platform, state, next_try_at);

-- A delivery in state 'digest' waits for a digest; digest_id says which one.
ALTER TABLE deliveries ADD COLUMN digest_id INTEGER REFERENCES digests(id) ON DELETE SET NULL;
CREATE INDEX deliveries_of_digest ON deliveries (digest_id);
CREATE INDEX deliveries_waiting_digest ON deliveries (guardian_id, created_at)
    WHERE state = 'digest' AND digest_id IS NULL;

-- Compiled recordings (a digest's period, a whole album for /ecouter), built
-- once per content (many families share the same list), then uploaded once
-- per platform like any file.
CREATE TABLE mixes (
    content_key  TEXT PRIMARY KEY,       -- hash of the voice files, in order
    voice_sha    TEXT NOT NULL,
    compat_sha   TEXT NOT NULL,
    compat_mime  TEXT NOT NULL,
    duration_s   REAL NOT NULL,
    waveform     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
