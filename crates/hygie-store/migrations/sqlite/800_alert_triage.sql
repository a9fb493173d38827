-- Issue 18: the triage of an alert (new, acknowledged, false_positive with a reason, incident
-- when linked to one) with who set it and when; the channel a notification was sent by. The
-- indexes serve the alerts list's filters with keyset paging (newest first, then id), so a page
-- stays an index range scan with a million alerts.
ALTER TABLE alerts ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE alerts ADD COLUMN status_reason TEXT;
ALTER TABLE alerts ADD COLUMN status_by TEXT;
ALTER TABLE alerts ADD COLUMN status_us BIGINT;
UPDATE alerts SET status = 'incident' WHERE incident IS NOT NULL;
DROP INDEX alerts_facility;
CREATE INDEX alerts_page ON alerts (facility, created_us, id);
CREATE INDEX alerts_page_status ON alerts (facility, status, created_us, id);
CREATE INDEX alerts_page_level ON alerts (facility, level, created_us, id);
CREATE INDEX alerts_page_rule ON alerts (facility, rule_id, created_us, id);
CREATE INDEX alerts_page_host ON alerts (facility, host, created_us, id);
CREATE INDEX alerts_incident ON alerts (incident);
DROP INDEX alerts_rule;
ALTER TABLE incident_sendings ADD COLUMN channel TEXT;
