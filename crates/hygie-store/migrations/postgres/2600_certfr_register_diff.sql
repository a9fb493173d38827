-- Issue 21: CERT-FR advisories as a vulnerability feed, and the register written by difference.
--
-- vuln_advisories: one row per CERT-FR advisory (avis or alerte), the latest import of it winning
-- (CERT-FR revises advisories); `record` is hygie-vuln's `Advisory` as JSON (its CVEs, affected
-- products, revision dates). Its imports are rows of vuln_feeds (kind `certfr`).
--
-- inventory_assets gains what an import compares before writing: `digest` (the asset's row and
-- its sources) and `software_digest` (its software lists), SHA-256 in hex, so that an import
-- rewrites only the assets, and the software of only the assets, that changed (NULL: written
-- before, rewritten by the next import). `domain_controller`: the directory says it is one.
CREATE TABLE vuln_advisories (
    reference     TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    last_revision TEXT,
    record        TEXT NOT NULL,
    feed_id       TEXT NOT NULL REFERENCES vuln_feeds (id)
);

ALTER TABLE inventory_assets ADD COLUMN domain_controller BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inventory_assets ADD COLUMN digest TEXT;
ALTER TABLE inventory_assets ADD COLUMN software_digest TEXT;
