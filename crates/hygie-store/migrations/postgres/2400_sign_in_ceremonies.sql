-- The state of sign-in ceremonies between their two requests, for single sign-on as for
-- passkeys (issue 23): one table, renamed from the passkeys' own. A single sign-on's PKCE
-- verifier and nonce are sealed by the web layer with the server's key before they land here.
ALTER TABLE passkey_challenges RENAME TO sign_in_ceremonies;
