-- Issue 20: the floor below which a stream's event keys were forgotten (`alert_events` rows
-- deleted because the consumer's acknowledgement floor passed them). A message below it was
-- counted and acknowledged; a stale copy of it still in a worker's hands (JetStream delivered it
-- again after `ack_wait` while the first worker held it, and the other worker's acknowledgement
-- then raised the floor) must add nothing, and its keys can no longer say so: the floor does.
CREATE TABLE alert_event_floors (
    stream TEXT PRIMARY KEY,
    below  BIGINT NOT NULL
);
