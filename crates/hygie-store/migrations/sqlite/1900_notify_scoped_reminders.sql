-- Issue 24: reminders that are not about an incident (renewals of recurring measures, weekly
-- digests), claimed and sent as `notify_reminders` are (the same protocol, `notify.rs`). `scope`
-- is the facility's FINESS (or a region's code for a regional digest), `kind` `renewal` or
-- `digest`, `subject` the measure or the ISO week. Keys are disjoint from the incidents' ones
-- (`renewal/...`, `digest/...`). No message text is stored.
CREATE TABLE notify_scoped_reminders (
    key        TEXT PRIMARY KEY,
    scope      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    slot       TEXT NOT NULL,
    state      TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_us BIGINT NOT NULL,
    sent_us    BIGINT,
    messages   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notify_scoped_reminders_scope ON notify_scoped_reminders (scope);
