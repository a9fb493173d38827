-- Issue 19: federation. A facility's instance reports to its regional agency with signed
-- packages (hygie-sync). Instants are microseconds since the epoch in *_us columns.

-- Facility side: the packages exported, so the next one names its predecessor's hash.
CREATE TABLE sync_exports (
    facility TEXT NOT NULL REFERENCES facilities (finess),
    sequence BIGINT NOT NULL,
    hash     TEXT NOT NULL,
    at_us    BIGINT NOT NULL,
    PRIMARY KEY (facility, sequence)
);

-- Region side: the signing keys enrolled per facility (the facility may not be registered yet:
-- its record arrives with its first package). A revoked key keeps its row, for the record.
CREATE TABLE sync_keys (
    id          BIGINT PRIMARY KEY,
    facility    TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    enrolled_us BIGINT NOT NULL,
    revoked_us  BIGINT
);
CREATE INDEX sync_keys_key ON sync_keys (public_key);
CREATE INDEX sync_keys_facility ON sync_keys (facility);

-- Region side: every package imported, in sequence; its hash is unique (a replay is found).
CREATE TABLE sync_imports (
    facility      TEXT NOT NULL REFERENCES facilities (finess),
    sequence      BIGINT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    previous_hash TEXT,
    journal_seq   BIGINT NOT NULL,
    journal_hash  TEXT NOT NULL,
    public_key    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    size          BIGINT NOT NULL,
    imported_us   BIGINT NOT NULL,
    PRIMARY KEY (facility, sequence)
);

-- Region side: what only packages carry, as of the last package (each import replaces them).
CREATE TABLE sync_evidence (
    facility  TEXT NOT NULL REFERENCES facilities (finess),
    position  BIGINT NOT NULL,
    measure   TEXT NOT NULL,
    kind      TEXT NOT NULL,
    name      TEXT,
    sha256    TEXT,
    size      BIGINT,
    url       TEXT,
    at_us     BIGINT NOT NULL,
    PRIMARY KEY (facility, position)
);

CREATE TABLE sync_obligations (
    facility TEXT NOT NULL REFERENCES facilities (finess),
    position BIGINT NOT NULL,
    incident TEXT NOT NULL,
    duty     TEXT NOT NULL,
    status   TEXT NOT NULL,
    due      TEXT,
    sent     TEXT,
    late     BIGINT NOT NULL,
    PRIMARY KEY (facility, position)
);
