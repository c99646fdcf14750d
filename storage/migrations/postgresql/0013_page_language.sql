-- The language a family page speaks (bot/i18n.py: fr, ar, en, es, pt, tr),
-- chosen on the invitation page or on the page itself; NULL: its guardians'.
-- The page's chooser also sets every guardian's language, so chat, e-mails
-- and the page agree.
ALTER TABLE family_pages ADD COLUMN language TEXT;
