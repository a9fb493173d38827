-- Issue 20: the events each alert counts, as the detection workers on NATS JetStream
-- (`hygie detect-worker`) merge them: one row per (alert, stream, stream sequence). A message
-- delivered again (a worker died between committing and acknowledging) finds its rows here and
-- adds nothing; two workers merging into one alert add only their new events. Rows below the
-- consumer's acknowledgement floor can never be delivered again and are deleted by the workers.
-- No foreign key: the rows are written before the alert they count is inserted.
CREATE TABLE alert_events (
    alert_id TEXT NOT NULL,
    stream   TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    PRIMARY KEY (alert_id, stream, seq)
);
CREATE INDEX alert_events_seq ON alert_events (stream, seq);
