-- Consent as the rule of bot/consent.py needs it: the teacher's record stays
-- on the child; each guardian's own answer is kept beside it, with its date,
-- and goes with the guardian when they are erased.
CREATE TABLE consent_answers (
    guardian_id  BIGINT NOT NULL REFERENCES guardians(id) ON DELETE CASCADE,
    child_id     BIGINT NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    answer       INTEGER NOT NULL CHECK (answer IN (0, 1)),
    at           TEXT NOT NULL,
    PRIMARY KEY (guardian_id, child_id)
);
CREATE INDEX consent_answers_child ON consent_answers (child_id);

-- When the family was asked (once, after subscribing).
ALTER TABLE subscriptions ADD COLUMN consent_asked_at TEXT;

-- Why a delivery is 'held': NULL = its guardian paused; 'consent' = a child
-- it names (or a child of the class, for a class recording) has no consent.
ALTER TABLE deliveries ADD COLUMN hold_reason TEXT;

-- 1 while a caption named a child ambiguously (two Léa): the recording
-- waits until the teacher says who speaks.
ALTER TABLE recordings ADD COLUMN speakers_unclear INTEGER NOT NULL DEFAULT 0;
