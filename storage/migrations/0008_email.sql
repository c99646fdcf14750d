-- E-mail. A family receiving by e-mail is a guardian like any other, on the
-- platform 'email', whose user_id and chat_id are its confirmed address: it
-- goes with the guardian (erasure, /arreter, unsubscribe, retention).

-- Guardians' addresses read from the ONDE "responsables" export, linked to a
-- child, waiting for an invitation to be e-mailed and used. Nothing else of
-- that export is kept. An address not used before ``expires_at`` (the
-- invitation's end) is erased by the retention sweep.
CREATE TABLE email_contacts (
    id          INTEGER PRIMARY KEY,
    child_id    INTEGER NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    invited_at  TEXT,
    expires_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (child_id, address)
);
CREATE INDEX email_contacts_expiry ON email_contacts (expires_at);
