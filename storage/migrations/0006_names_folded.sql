-- School and class names are matched with accents and case folded ("Ecole" is
-- "École"). The folded key is computed by the service (Python's Unicode
-- folding, the same on SQLite and PostgreSQL): rows from before this version
-- get theirs at the next start. Not unique: a database may already hold two
-- spellings of one school; lookups then see both and the oldest is reused.
ALTER TABLE schools ADD COLUMN name_key TEXT;
ALTER TABLE classes ADD COLUMN name_key TEXT;
CREATE INDEX schools_name_key ON schools (name_key);
CREATE INDEX classes_name_key ON classes (name_key, school_id);
