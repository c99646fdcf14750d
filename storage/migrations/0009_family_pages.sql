-- Family pages: one private web page per child's family (its guardians share
-- it). The link's token is never stored: only its SHA-256, for lookups, and
-- a random salt from which the service rebuilds it with its own key
-- (data_dir/web.key), to show it again to the family (/page, e-mails).
CREATE TABLE family_pages (
    child_id    INTEGER PRIMARY KEY REFERENCES children(id) ON DELETE CASCADE,
    salt        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    -- The family's own consent answer given on its page (1 oui, 0 non): one
    -- family answer beside its guardians' (consent_answers), for the rule.
    consent     INTEGER CHECK (consent IN (0, 1)),
    consent_at  TEXT,
    created_at  TEXT NOT NULL,
    renewed_at  TEXT NOT NULL
);

-- Who heard what, per recording and child (never which guardian, never an
-- address): 'listened' from a family page (5 s played, or to the end),
-- 'seen' from a Matrix read receipt of a delivered recording.
CREATE TABLE listens (
    recording_id  INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    child_id      INTEGER NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('listened', 'seen')),
    at            TEXT NOT NULL,
    PRIMARY KEY (recording_id, child_id, kind)
);
