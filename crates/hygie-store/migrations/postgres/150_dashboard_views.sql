-- Precomputed views for the dashboards, maintained in the write transaction of every declaration
-- and check run (see src/current.rs). Only what does not depend on the date is stored: due dates
-- and overdue counts are derived when read.

-- The declaration that counts now for each measure of each facility: the latest by (at_us, seq).
CREATE TABLE measure_current (
    facility TEXT NOT NULL REFERENCES facilities (finess),
    measure  TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    at_us    BIGINT NOT NULL,
    PRIMARY KEY (facility, measure)
);

-- The run that counts now for each audit source of each facility: the latest by at_us, then id.
CREATE TABLE source_current (
    facility TEXT NOT NULL REFERENCES facilities (finess),
    source   TEXT NOT NULL,
    run_id   TEXT NOT NULL,
    at_us    BIGINT NOT NULL,
    PRIMARY KEY (facility, source)
);

-- Per facility: a version moved by every write about it (the journal seq of the write), the
-- latest instant of its facts, and its date-independent status summary (JSON) with the version
-- and catalogue fingerprint it was computed for. A summary whose version is not the current one
-- is stale and never used.
CREATE TABLE facility_state (
    facility        TEXT PRIMARY KEY REFERENCES facilities (finess),
    version         BIGINT NOT NULL,
    latest_us       BIGINT NOT NULL,
    summary         TEXT,
    summary_version BIGINT NOT NULL DEFAULT -1,
    summary_catalog TEXT
);

-- Scores at past dates (trend charts). A point depends only on facts dated before its cutoff:
-- a write dated before the cutoff deletes it in the same transaction.
CREATE TABLE facility_trend (
    facility  TEXT NOT NULL REFERENCES facilities (finess),
    catalog   TEXT NOT NULL,
    as_of     TEXT NOT NULL,
    cutoff_us BIGINT NOT NULL,
    score     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (facility, catalog, as_of)
);
