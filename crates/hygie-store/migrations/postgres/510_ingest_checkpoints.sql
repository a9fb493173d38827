-- Issue 25: where `hygie ingest` stands in its on-disk spool (one row per spool, named by the
-- spool's own id). Every record before `position` was evaluated and its alerts were committed
-- in the same transaction as this row, so a restart replays from here and nothing twice.
-- `state` (JSON) names the aggregated alerts still open at that point and the newest time
-- bucket seen, so that a restart counts on from them.
CREATE TABLE ingest_checkpoints (
    spool      TEXT PRIMARY KEY,
    facility   TEXT NOT NULL REFERENCES facilities (finess),
    position   BIGINT NOT NULL,
    state      TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);
