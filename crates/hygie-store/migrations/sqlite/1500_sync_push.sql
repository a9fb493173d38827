-- Issue 19, online transport (`hygie sync push`, `POST /api/v1/sync/packages`).

-- Facility side: every package's sealed bytes (a few KB each), so a push sends the one not yet
-- acknowledged again byte for byte after a failure (the region answers "already imported" if it
-- had it) and `sync export --resend SEQ` re-issues a lost one with its hash; the digest of its
-- facts tells a push with nothing new to send nothing.
ALTER TABLE sync_exports ADD COLUMN package BLOB;
ALTER TABLE sync_exports ADD COLUMN facts_digest TEXT;
ALTER TABLE sync_exports ADD COLUMN acknowledged_us BIGINT;

-- Region side: the push token of an enrolment (its SHA-256 digest, never the token), which opens
-- only the package endpoint and only for the enrolment's facility; it ends with the enrolment.
ALTER TABLE sync_keys ADD COLUMN push_token_hash TEXT;
CREATE UNIQUE INDEX sync_keys_push_token ON sync_keys (push_token_hash);
