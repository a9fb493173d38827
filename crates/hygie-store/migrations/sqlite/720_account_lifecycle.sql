-- Account lifecycle (issue 25). A password an administrator set is temporary: its holder must
-- choose another at the next login. A session keeps when it was last used (moved at most every
-- few minutes, with its idle end) and the class of the address it came from (a /24 or /64, never
-- the full address), so that a user can see and end their sessions without any session id shown.
-- API tokens expire: tokens made before this version get the longest lifetime a new one may
-- have, one year from their creation.
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN seen_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';
UPDATE sessions SET seen_us = created_us;
ALTER TABLE api_tokens ADD COLUMN expires_us BIGINT NOT NULL DEFAULT 0;
UPDATE api_tokens SET expires_us = created_us + 31536000000000;
