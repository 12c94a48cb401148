-- A project's secrets, sealed under the operator's key (shared/src/crypto.rs): `key_id` names
-- the key, `ciphertext` is nonce, ciphertext and tag. No column ever holds a value in clear.
CREATE TABLE secrets (
    tenant_id   BLOB NOT NULL,
    project_id  BLOB NOT NULL,
    name        TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    ciphertext  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, project_id, name)
) STRICT;

-- Webhook signing secrets, sealed the same way: per project one current (expires_at NULL), and
-- those a rotation replaced, which keep signing until they expire.
CREATE TABLE webhook_signing_secrets (
    secret_id   BLOB PRIMARY KEY,
    tenant_id   BLOB NOT NULL,
    project_id  BLOB NOT NULL,
    key_id      TEXT NOT NULL,
    ciphertext  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT
) STRICT;
CREATE UNIQUE INDEX webhook_signing_current
    ON webhook_signing_secrets (tenant_id, project_id) WHERE expires_at IS NULL;
CREATE INDEX webhook_signing_by_project
    ON webhook_signing_secrets (tenant_id, project_id, created_at);
