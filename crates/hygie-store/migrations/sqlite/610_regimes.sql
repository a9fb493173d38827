-- Issue 22: an administrator's in-force date of a legal regime (NIS 2 in France...), which wins
-- over the bundled data (hygie-incident `data/regimes.toml`) without a new release. One row per
-- regime set; a NULL date means "back to the data". Every change is journalled (`regime.set`).
CREATE TABLE regime_settings (
    regime        TEXT PRIMARY KEY,
    in_force_from TEXT,
    set_by        TEXT NOT NULL,
    set_us        BIGINT NOT NULL
);
