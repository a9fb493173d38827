-- Web users, their facility bindings, sessions, API tokens and the first-run bootstrap token.
-- No secret is stored in clear: passwords as Argon2id PHC strings, session ids, API tokens and the
-- bootstrap token as SHA-256 digests. The TOTP seed must be readable to verify codes.
CREATE TABLE users (
    id              BIGINT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    binding         TEXT NOT NULL,
    region          TEXT,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT,
    totp_confirmed  BIGINT NOT NULL DEFAULT 0,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until_us BIGINT NOT NULL DEFAULT 0,
    lang            TEXT,
    disabled        BIGINT NOT NULL DEFAULT 0,
    created_us      BIGINT NOT NULL
);

CREATE TABLE user_facilities (
    user_id  BIGINT NOT NULL REFERENCES users (id),
    facility TEXT NOT NULL REFERENCES facilities (finess),
    PRIMARY KEY (user_id, facility)
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    stage      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    facility     TEXT NOT NULL REFERENCES facilities (finess),
    access       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_us   BIGINT NOT NULL,
    revoked_us   BIGINT,
    last_used_us BIGINT
);

CREATE TABLE bootstrap (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    token_hash TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
