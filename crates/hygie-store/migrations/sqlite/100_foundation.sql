-- Foundation: facilities, declarations with full history, evidence, check runs, journal.
-- Times are microseconds since the Unix epoch (UTC) in *_us columns, so ordering is numeric.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE facilities (
    finess       TEXT PRIMARY KEY,
    legal_entity TEXT,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    region       TEXT NOT NULL,
    nis2         TEXT NOT NULL,
    plan_start   TEXT NOT NULL,
    demo         BIGINT NOT NULL DEFAULT 0,
    created_us   BIGINT NOT NULL
);
CREATE INDEX facilities_region ON facilities (region);

CREATE TABLE declarations (
    seq           BIGINT PRIMARY KEY,
    facility      TEXT NOT NULL REFERENCES facilities (finess),
    measure       TEXT NOT NULL,
    status        TEXT NOT NULL,
    justification TEXT,
    owner         TEXT,
    note          TEXT,
    at_us         BIGINT NOT NULL,
    actor         TEXT NOT NULL
);
CREATE INDEX declarations_facility ON declarations (facility, measure, at_us);

CREATE TABLE evidence_blobs (
    sha256  TEXT PRIMARY KEY,
    size    BIGINT NOT NULL,
    content BLOB NOT NULL
);

CREATE TABLE evidence (
    seq       BIGINT PRIMARY KEY,
    facility  TEXT NOT NULL REFERENCES facilities (finess),
    measure   TEXT NOT NULL,
    kind      TEXT NOT NULL,
    sha256    TEXT REFERENCES evidence_blobs (sha256),
    file_name TEXT,
    size      BIGINT,
    url       TEXT,
    at_us     BIGINT NOT NULL,
    actor     TEXT NOT NULL
);
CREATE INDEX evidence_facility ON evidence (facility, measure);

CREATE TABLE check_runs (
    id       TEXT PRIMARY KEY,
    facility TEXT NOT NULL REFERENCES facilities (finess),
    source   TEXT NOT NULL,
    at_us    BIGINT NOT NULL,
    summary  TEXT NOT NULL
);
CREATE INDEX check_runs_facility ON check_runs (facility, source, at_us);

CREATE TABLE check_results (
    run_id   TEXT NOT NULL REFERENCES check_runs (id),
    rule     TEXT NOT NULL,
    severity TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    measures TEXT NOT NULL,
    objects  TEXT NOT NULL,
    PRIMARY KEY (run_id, rule)
);

CREATE TABLE journal (
    seq       BIGINT PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

-- One row: the last entry's seq and hash. Every writer updates it first, which serialises
-- appends on both backends and lets `verify` notice removed trailing entries.
CREATE TABLE journal_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO journal_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
