-- Issue 21: the software rows of the register kept in their primary key's order alone (WITHOUT
-- ROWID). A rowid table stores each row twice, in the table and in its primary key's index
-- (facility, asset_id, source, seq): a first import of 2 million software rows wrote both, and
-- reading a register back in key order went through the index to the table for every row. Rows
-- are small (a name, a version, a vendor), the case WITHOUT ROWID is made for.
CREATE TABLE inventory_software_by_key (
    facility TEXT NOT NULL REFERENCES facilities (finess),
    asset_id BIGINT NOT NULL,
    source   TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    name     TEXT NOT NULL,
    version  TEXT,
    vendor   TEXT,
    PRIMARY KEY (facility, asset_id, source, seq)
) WITHOUT ROWID;
INSERT INTO inventory_software_by_key (facility, asset_id, source, seq, name, version, vendor)
    SELECT facility, asset_id, source, seq, name, version, vendor FROM inventory_software;
DROP TABLE inventory_software;
ALTER TABLE inventory_software_by_key RENAME TO inventory_software;
