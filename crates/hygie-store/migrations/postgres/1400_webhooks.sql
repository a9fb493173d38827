-- Issue 24: signed webhooks. `webhook_events` is the outbox: each event (a reminder due, an
-- incident opened, a critical alert) is inserted once under its id, in the transaction that
-- creates what it tells of (or by the reminders' pass). `body` is the exact JSON posted, the
-- same bytes on every retry; it names ids and times, never a person.
CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    facility   TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_us);

-- The endpoints seen so far, with the time from which they take events (a new endpoint gets
-- the day before it was first configured, not the whole history).
CREATE TABLE webhook_endpoints (
    name     TEXT PRIMARY KEY,
    since_us BIGINT NOT NULL
);

-- One row per event and endpoint: the delivery's state ('pending', 'sending' while a process
-- holds its lease, 'delivered', 'failed'), attempts made, when the next one is due and the
-- last answer. No secret and no body here.
CREATE TABLE webhook_deliveries (
    event       TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint    TEXT NOT NULL,
    facility    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_us     BIGINT NOT NULL,
    last_status BIGINT,
    last_error  TEXT,
    claimed_by  TEXT,
    lease_us    BIGINT,
    updated_us  BIGINT NOT NULL,
    PRIMARY KEY (event, endpoint)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_us);
CREATE INDEX webhook_deliveries_facility ON webhook_deliveries (facility, updated_us);
