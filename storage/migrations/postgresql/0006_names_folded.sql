-- School and class names are matched with accents and case folded ("Ecole" is
-- "École"). The folded key is computed by the service (Python's Unicode
-- folding, the same on SQLite and PostgreSQL): rows from before this version
-- get theirs at the next start. Not unique: a database may already hold two
-- spellings of one school; lookups then see both and the oldest is reused.
ALTER TABLE schools ADD COLUMN name_key TEXT;
ALTER TABLE classes ADD COLUMN name_key TEXT;
-- PostgreSQL already named the UNIQUE (name) index of schools "schools_name_key":
-- these indexes take other names than in SQLite.
CREATE INDEX schools_folded_name ON schools (name_key);
CREATE INDEX classes_folded_name ON classes (name_key, school_id);
