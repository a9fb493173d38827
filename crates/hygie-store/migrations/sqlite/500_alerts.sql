-- Issue 5: detection alerts per facility. One row per aggregated alert (repeats of the
-- same rule on the same host within the aggregation window raise `count`).
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    facility    TEXT NOT NULL REFERENCES facilities (finess),
    rule_id     TEXT NOT NULL,
    title       TEXT NOT NULL,
    level       TEXT NOT NULL,
    tags        TEXT NOT NULL,
    event_time  TEXT,
    last_time   TEXT,
    host        TEXT,
    record_id   BIGINT NOT NULL,
    source      TEXT NOT NULL,
    fields      TEXT NOT NULL,
    count       BIGINT NOT NULL,
    incident    TEXT,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL
);
CREATE INDEX alerts_facility ON alerts (facility, created_us);
CREATE INDEX alerts_rule ON alerts (facility, rule_id);
