-- Issue 19: a campaign's life after it is made. The agency closes it (no more answers expected)
-- or withdraws it (cancelled: the facilities see it withdrawn at their next sync), and chases the
-- facilities that have not answered with reminders, which travel down in the requests file.

-- Region side: when and by whom a campaign was closed or withdrawn (at most one of them).
ALTER TABLE sync_campaigns ADD COLUMN closed_us BIGINT;
ALTER TABLE sync_campaigns ADD COLUMN closed_by TEXT;
ALTER TABLE sync_campaigns ADD COLUMN withdrawn_us BIGINT;
ALTER TABLE sync_campaigns ADD COLUMN withdrawn_by TEXT;

-- Region side: each reminder (its id is the journal entry that made it), one row per facility
-- reminded (those that had not answered).
CREATE TABLE sync_request_reminders (
    id       BIGINT NOT NULL,
    campaign BIGINT NOT NULL REFERENCES sync_campaigns (id),
    facility TEXT NOT NULL REFERENCES facilities (finess),
    at_us    BIGINT NOT NULL,
    sent_by  TEXT NOT NULL,
    PRIMARY KEY (id, facility)
);
CREATE INDEX sync_request_reminders_campaign ON sync_request_reminders (campaign, facility);

-- Facility side: what the last requests file said of each request (instants in microseconds).
ALTER TABLE sync_received_requests ADD COLUMN closed_us BIGINT;
ALTER TABLE sync_received_requests ADD COLUMN withdrawn_us BIGINT;
ALTER TABLE sync_received_requests ADD COLUMN reminded_us BIGINT;
