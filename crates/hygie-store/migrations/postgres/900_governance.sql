-- Issue 9: governance (people, roles), training, phishing campaigns (pseudonymised), risk register.
-- Dates (civil) are TEXT 'YYYY-MM-DD'; instants are microseconds since the epoch in *_us columns.
-- Phishing tables hold no e-mail address, name, tracking id or event details: a target is a
-- keyed hash (HMAC-SHA256 with the facility's key in gov_keys) and a department.
CREATE TABLE gov_people (
    facility   TEXT NOT NULL REFERENCES facilities (finess),
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    function   TEXT,
    department TEXT,
    reports_to TEXT,
    email      TEXT,
    PRIMARY KEY (facility, id)
);

CREATE TABLE gov_roles (
    id         TEXT PRIMARY KEY,
    facility   TEXT NOT NULL REFERENCES facilities (finess),
    role       TEXT NOT NULL,
    person     TEXT NOT NULL,
    department TEXT,
    start_date TEXT NOT NULL,
    end_date   TEXT,
    created_us BIGINT NOT NULL
);
CREATE INDEX gov_roles_facility ON gov_roles (facility, role);

CREATE TABLE gov_sessions (
    id       TEXT PRIMARY KEY,
    facility TEXT NOT NULL REFERENCES facilities (finess),
    date     TEXT NOT NULL,
    trainer  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    title    TEXT NOT NULL
);
CREATE INDEX gov_sessions_facility ON gov_sessions (facility, date);

CREATE TABLE gov_attendance (
    session_id TEXT NOT NULL REFERENCES gov_sessions (id),
    person     TEXT NOT NULL,
    PRIMARY KEY (session_id, person)
);

CREATE TABLE gov_keys (
    facility     TEXT PRIMARY KEY REFERENCES facilities (finess),
    phishing_key TEXT NOT NULL
);

CREATE TABLE phishing_campaigns (
    id          TEXT PRIMARY KEY,
    facility    TEXT NOT NULL REFERENCES facilities (finess),
    source_id   TEXT,
    name        TEXT NOT NULL,
    launched_us BIGINT,
    imported_us BIGINT NOT NULL,
    formats     TEXT NOT NULL
);
CREATE INDEX phishing_campaigns_facility ON phishing_campaigns (facility, launched_us);

CREATE TABLE phishing_targets (
    campaign_id TEXT NOT NULL REFERENCES phishing_campaigns (id),
    key         TEXT NOT NULL,
    department  TEXT NOT NULL,
    stage       TEXT NOT NULL,
    reported    BIGINT NOT NULL,
    send_us     BIGINT,
    PRIMARY KEY (campaign_id, key)
);

CREATE TABLE phishing_events (
    campaign_id TEXT NOT NULL REFERENCES phishing_campaigns (id),
    seq         BIGINT NOT NULL,
    key         TEXT NOT NULL,
    at_us       BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    user_agent  TEXT,
    ip          TEXT,
    PRIMARY KEY (campaign_id, seq)
);

CREATE TABLE risk_registers (
    facility    TEXT PRIMARY KEY REFERENCES facilities (finess),
    content     TEXT NOT NULL,
    imported_us BIGINT NOT NULL
);

CREATE TABLE risk_reviews (
    id       TEXT PRIMARY KEY,
    facility TEXT NOT NULL REFERENCES facilities (finess),
    date     TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    note     TEXT,
    at_us    BIGINT NOT NULL
);
CREATE INDEX risk_reviews_facility ON risk_reviews (facility, date);
