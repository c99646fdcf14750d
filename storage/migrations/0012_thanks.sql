-- A parent's thanks, counted for the class's teachers in one line a day
-- ("3 familles vous remercient"). A family is known by one of its children
-- in the class; the rows are deleted once counted.
CREATE TABLE thanks (
    id          INTEGER PRIMARY KEY,
    class_id    INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    child_id    INTEGER NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    thanked_at  TEXT NOT NULL
);
CREATE INDEX thanks_class ON thanks (class_id);

-- The local days whose line was written (to the teacher notices): one a day,
-- whatever restarts or processes.
CREATE TABLE thanks_days (
    day         TEXT PRIMARY KEY,
    done_at     TEXT NOT NULL
);
