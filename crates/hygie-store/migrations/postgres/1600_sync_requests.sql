-- Issue 19: requests and campaigns. The regional agency asks facilities for evidence of given
-- measures by a date; requests travel down signed by the region instance's key.

-- Region side: a campaign (its id is the journal entry that made it) and its requests, one per
-- facility targeted when it was made. Measures are comma-separated ids; due is YYYY-MM-DD.
CREATE TABLE sync_campaigns (
    id         BIGINT PRIMARY KEY,
    region     TEXT NOT NULL,
    target     TEXT NOT NULL,
    measures   TEXT NOT NULL,
    due        TEXT NOT NULL,
    message_en TEXT NOT NULL,
    message_fr TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX sync_campaigns_region ON sync_campaigns (region);

CREATE TABLE sync_requests (
    campaign BIGINT NOT NULL REFERENCES sync_campaigns (id),
    facility TEXT NOT NULL REFERENCES facilities (finess),
    PRIMARY KEY (campaign, facility)
);
CREATE INDEX sync_requests_facility ON sync_requests (facility);

-- Facility side: the region keys trusted to sign requests (recorded by hand, fingerprint
-- compared), and the requests received, kept as they came.
CREATE TABLE sync_region_keys (
    id         BIGINT PRIMARY KEY,
    region     TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    trusted_us BIGINT NOT NULL
);

CREATE TABLE sync_received_requests (
    facility    TEXT NOT NULL REFERENCES facilities (finess),
    region      TEXT NOT NULL,
    campaign    BIGINT NOT NULL,
    measures    TEXT NOT NULL,
    due         TEXT NOT NULL,
    message_en  TEXT NOT NULL,
    message_fr  TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    received_us BIGINT NOT NULL,
    PRIMARY KEY (facility, region, campaign)
);
