-- The dashboard's sign-in sessions (see the PostgreSQL migration of the same name).
CREATE TABLE ui_sessions (
    session_hash blob PRIMARY KEY,
    token_hash   blob NOT NULL,
    csrf         text NOT NULL,
    created_at   text NOT NULL,
    expires_at   text NOT NULL
);
CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires_at);
