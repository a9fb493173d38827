-- A session's CSRF token is derived from its id (a secret only the browser holds; hygie-web
-- `auth::csrf_token`), so the store keeps no usable token: a read of the database gives none.
-- The tokens stored in clear until now go with the column.
ALTER TABLE sessions DROP COLUMN csrf;
