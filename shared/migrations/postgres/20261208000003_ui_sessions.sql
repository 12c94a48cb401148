-- The dashboard's sign-in sessions, by the SHA-256 of their id; the key by its token's hash,
-- so that revoking it ends its sessions.
CREATE TABLE ui_sessions (
    session_hash bytea PRIMARY KEY,
    token_hash   bytea NOT NULL,
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires_at);
