-- Issue 21: the asset register of each facility (hygie-inventory), its imports and sightings.
-- The register (assets, their sources, their software) is the merge of every import so far and is
-- rewritten whole by each import, in the import's transaction; imports and sightings are its
-- history (append only). Lists of MACs, IPs and ports are JSON arrays; instants are microseconds
-- since the epoch in *_us columns.
CREATE TABLE inventory_assets (
    facility      TEXT NOT NULL REFERENCES facilities (finess),
    id            BIGINT NOT NULL,
    hostname      TEXT,
    category      TEXT NOT NULL,
    os_name       TEXT,
    os_version    TEXT,
    serial        TEXT,
    manufacturer  TEXT,
    model         TEXT,
    owner         TEXT,
    zone          TEXT,
    macs          TEXT NOT NULL,
    ips           TEXT NOT NULL,
    ports         TEXT NOT NULL,
    described_by  TEXT NOT NULL,
    first_seen_us BIGINT NOT NULL,
    last_seen_us  BIGINT NOT NULL,
    PRIMARY KEY (facility, id)
);

CREATE TABLE inventory_asset_sources (
    facility     TEXT NOT NULL REFERENCES facilities (finess),
    asset_id     BIGINT NOT NULL,
    source       TEXT NOT NULL,
    last_seen_us BIGINT NOT NULL,
    PRIMARY KEY (facility, asset_id, source)
);

CREATE TABLE inventory_software (
    facility TEXT NOT NULL REFERENCES facilities (finess),
    asset_id BIGINT NOT NULL,
    source   TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    name     TEXT NOT NULL,
    version  TEXT,
    vendor   TEXT,
    PRIMARY KEY (facility, asset_id, source, seq)
);

CREATE TABLE inventory_imports (
    id           TEXT PRIMARY KEY,
    facility     TEXT NOT NULL REFERENCES facilities (finess),
    source       TEXT NOT NULL,
    files        TEXT NOT NULL,
    imported_us  BIGINT NOT NULL,
    observations BIGINT NOT NULL,
    new_assets   BIGINT NOT NULL
);
CREATE INDEX inventory_imports_facility ON inventory_imports (facility, imported_us);

CREATE TABLE inventory_sightings (
    import_id  TEXT NOT NULL REFERENCES inventory_imports (id),
    seq        BIGINT NOT NULL,
    facility   TEXT NOT NULL REFERENCES facilities (finess),
    asset_id   BIGINT NOT NULL,
    source     TEXT NOT NULL,
    origin     TEXT NOT NULL,
    seen_us    BIGINT NOT NULL,
    matched_by TEXT NOT NULL,
    conflicts  TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);
CREATE INDEX inventory_sightings_asset ON inventory_sightings (facility, asset_id, seen_us);
