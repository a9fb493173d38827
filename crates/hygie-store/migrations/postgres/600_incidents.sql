-- Issue 6: incidents and their notification duties.
-- The whole record (facts, sendings, history of the obligations) is kept as JSON in `record`;
-- the columns beside it exist for listing and filtering. Every sent version is also kept,
-- append-only, in `incident_sendings`.
CREATE TABLE incidents (
    id           TEXT PRIMARY KEY,
    facility     TEXT NOT NULL REFERENCES facilities (finess),
    title        TEXT NOT NULL,
    status       TEXT NOT NULL,
    breach       TEXT NOT NULL,
    awareness_us BIGINT NOT NULL,
    record       TEXT NOT NULL,
    digest       TEXT NOT NULL,
    opened_us    BIGINT NOT NULL,
    updated_us   BIGINT NOT NULL
);
CREATE INDEX incidents_facility ON incidents (facility, status, awareness_us);

CREATE TABLE incident_sendings (
    incident        TEXT NOT NULL REFERENCES incidents (id),
    n               BIGINT NOT NULL,
    journal_seq     BIGINT NOT NULL,
    duty            TEXT NOT NULL,
    phase           TEXT NOT NULL,
    sent_us         BIGINT NOT NULL,
    reference       TEXT,
    lang            TEXT NOT NULL,
    late_reason     TEXT,
    snapshot        TEXT NOT NULL,
    snapshot_sha256 TEXT NOT NULL,
    actor           TEXT NOT NULL,
    PRIMARY KEY (incident, n)
);
