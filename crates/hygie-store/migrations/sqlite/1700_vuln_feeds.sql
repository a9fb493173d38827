-- Issue 21: the vulnerability feeds of this instance (hygie-vuln), imported from files a user
-- downloads: the CISA KEV catalogue and NVD CVE API 2.0 files. One row per import with the feed's
-- own version and date (vuln_feeds, append only); the records kept for matching (vuln_records:
-- one per feed kind and CVE, the compact record as JSON). A KEV import replaces the catalogue;
-- an NVD import adds or updates its CVEs (files of different years or API pages add up).
CREATE TABLE vuln_feeds (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    version     TEXT NOT NULL,
    released    TEXT,
    files       TEXT NOT NULL,
    records     BIGINT NOT NULL,
    imported_us BIGINT NOT NULL
);

CREATE TABLE vuln_records (
    kind    TEXT NOT NULL,
    cve     TEXT NOT NULL,
    record  TEXT NOT NULL,
    feed_id TEXT NOT NULL REFERENCES vuln_feeds (id),
    PRIMARY KEY (kind, cve)
);
