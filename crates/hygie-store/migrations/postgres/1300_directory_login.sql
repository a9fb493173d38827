-- Sign-in methods (issue 23). A user is either local (Hygie checks the Argon2id hash) or a
-- directory user (the hospital's Active Directory checks the password at each login; the hash
-- column then holds a value no password matches). The time of the last accepted sign-in, for the
-- administrators' list of users.
ALTER TABLE users ADD COLUMN auth_source TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN last_login_us BIGINT NOT NULL DEFAULT 0;
