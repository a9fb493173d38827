-- Issue 21: the address ranges each nmap import was asked to scan (the targets of its command
-- line), kept so the IS map can draw a scanned network as a zone when no firewall zone model
-- covers it. Written in the import's transaction; append only like the imports.
CREATE TABLE inventory_scan_ranges (
    import_id TEXT NOT NULL REFERENCES inventory_imports (id),
    seq       BIGINT NOT NULL,
    facility  TEXT NOT NULL REFERENCES facilities (finess),
    cidr      TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);
CREATE INDEX inventory_scan_ranges_facility ON inventory_scan_ranges (facility);
