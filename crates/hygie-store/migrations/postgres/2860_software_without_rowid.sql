-- Issue 21: SQLite's software rows moved to a WITHOUT ROWID table (see the SQLite migration of
-- the same number). PostgreSQL keeps a heap and its primary key's index: nothing to change.
SELECT 1;
