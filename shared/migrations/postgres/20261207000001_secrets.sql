-- A project's secrets, sealed under the operator's key (shared/src/crypto.rs): `key_id` names
-- the key, `ciphertext` is nonce, ciphertext and tag. No column ever holds a value in clear.
CREATE TABLE secrets (
    tenant_id   uuid NOT NULL,
    project_id  uuid NOT NULL,
    name        text NOT NULL,
    key_id      text NOT NULL,
    ciphertext  bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, project_id, name)
);

-- Webhook signing secrets, sealed the same way: per project one current (expires_at NULL), and
-- those a rotation replaced, which keep signing until they expire.
CREATE TABLE webhook_signing_secrets (
    secret_id   uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    project_id  uuid NOT NULL,
    key_id      text NOT NULL,
    ciphertext  bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz
);
-- At most one current secret per project: two first uses at once create one.
CREATE UNIQUE INDEX webhook_signing_current
    ON webhook_signing_secrets (tenant_id, project_id) WHERE expires_at IS NULL;
CREATE INDEX webhook_signing_by_project
    ON webhook_signing_secrets (tenant_id, project_id, created_at);
