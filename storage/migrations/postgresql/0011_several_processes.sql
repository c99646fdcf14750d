-- Several service processes on one database. A recording being prepared is
-- claimed by one process for a short lease, renewed while it works: when
-- that process dies, another takes the job over once the lease has passed.
ALTER TABLE recordings ADD COLUMN claimed_by TEXT;
ALTER TABLE recordings ADD COLUMN lease_until TEXT;

-- Which process runs each platform account, for the operator's status (the
-- lock itself is the database's; this table only tells who has it).
CREATE TABLE account_holders (
    account     TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    since       TEXT NOT NULL,
    seen_at     TEXT NOT NULL
);
