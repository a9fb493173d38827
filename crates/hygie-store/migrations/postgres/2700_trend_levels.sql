-- The level reached at each trend point, beside its score (the dashboard's chart of the levels
-- over time). The table is a cache of what the history gives: emptied, it is computed again.
DELETE FROM facility_trend;
ALTER TABLE facility_trend ADD COLUMN level_reached INTEGER NOT NULL DEFAULT 0;
