-- Passkeys (WebAuthn, issue 23): a user's credentials, the random handle the authenticator
-- keeps for a passwordless sign-in, and the challenges of ceremonies under way.
-- `credential` is the relying-party library's record of the credential: its id, public key,
-- algorithm and signature counter. Nothing secret: the private key never leaves the
-- authenticator. `credential_id` is the credential's id (base64url), public as well.
CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_us    BIGINT NOT NULL,
    used_us       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- The user handle (a random UUID) a discoverable credential returns: it names the account
-- without revealing its username or id to the authenticator.
CREATE TABLE passkey_handles (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    handle  TEXT NOT NULL UNIQUE
);

-- A ceremony's state between its two requests, in the store so that any `serve` process may
-- finish what another started: keyed by the digest of the random id the page carries, for one
-- purpose (`register`, `second_factor`, `passwordless`) and one user (0: not known yet),
-- single use, with an end.
CREATE TABLE passkey_challenges (
    id_hash    TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    BIGINT NOT NULL,
    state      TEXT NOT NULL,
    expires_us BIGINT NOT NULL
);
