-- The second factor has its own count of consecutive wrong codes and its own lock, which a
-- correct password does not reset (issue 25: a password holder could otherwise guess codes
-- without end). The count is reset only by a correct code; it also sets how long each lock
-- lasts (the locks back off), so it is kept across locks.
ALTER TABLE users ADD COLUMN totp_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_locked_until_us BIGINT NOT NULL DEFAULT 0;
