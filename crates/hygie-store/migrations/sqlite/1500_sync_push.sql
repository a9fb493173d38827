-- Issue 19, online transport (`hygie sync push`, `POST /api/v1/sync/packages`).

-- Facility side: a package's sealed bytes are kept until the region acknowledges it, so a push
-- sends exactly them again after a failure (the region answers "already imported" if it had
-- them); the digest of its facts tells a push with nothing new to send nothing.
ALTER TABLE sync_exports ADD COLUMN package BLOB;
ALTER TABLE sync_exports ADD COLUMN facts_digest TEXT;
ALTER TABLE sync_exports ADD COLUMN acknowledged_us BIGINT;

-- Region side: the push token of an enrolment (its SHA-256 digest, never the token), which opens
-- only the package endpoint and only for the enrolment's facility; it ends with the enrolment.
ALTER TABLE sync_keys ADD COLUMN push_token_hash TEXT;
CREATE UNIQUE INDEX sync_keys_push_token ON sync_keys (push_token_hash);
