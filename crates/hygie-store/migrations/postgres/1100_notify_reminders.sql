-- Issue 24: e-mail reminders of the legal clocks. One row per reminder identity (incident, duty,
-- window: `INC-1/cnil/4h`), inserted in the transaction of its journal entry before anything is
-- sent: the process whose insert commits sends, every other one finds the row and does not.
-- `state` is 'claimed' until the SMTP server accepted every message, then 'sent'. No message
-- text is stored: the journal keeps each message's recipient role, subject and digest.
CREATE TABLE notify_reminders (
    key        TEXT PRIMARY KEY,
    incident   TEXT NOT NULL REFERENCES incidents (id),
    duty       TEXT NOT NULL,
    slot       TEXT NOT NULL,
    state      TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_us BIGINT NOT NULL,
    sent_us    BIGINT,
    messages   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notify_reminders_incident ON notify_reminders (incident);
