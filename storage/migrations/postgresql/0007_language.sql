-- The language a guardian reads (bot/i18n.py: fr, ar, en, es, pt, tr).
-- It lives on the guardian's row, so it goes when the guardian is erased.
ALTER TABLE guardians ADD COLUMN language TEXT NOT NULL DEFAULT 'fr';
