-- Preparing audio spreads over every process: the account's holder
-- downloads the original, any process converts it (prepared_by says which),
-- and the teacher's answer ("Rangé dans l'album…", or why not) is written
-- with the outcome, then sent by the account's holder, which clears it: a
-- process killed in between leaves it for the next holder to send.
ALTER TABLE recordings ADD COLUMN prepared_by TEXT;
ALTER TABLE recordings ADD COLUMN answer TEXT;
ALTER TABLE recordings ADD COLUMN answer_choices INTEGER NOT NULL DEFAULT 0;
CREATE INDEX recordings_answer_due ON recordings (platform, id) WHERE answer IS NOT NULL;
