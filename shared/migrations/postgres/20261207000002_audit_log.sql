-- The audit log: appended to, never changed (the triggers below refuse it, whoever asks).
CREATE TABLE audit_log (
    audit_id    uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    project_id  uuid,
    at          timestamptz NOT NULL,
    key_id      uuid,
    action      text NOT NULL,
    target_id   text NOT NULL,
    summary     text NOT NULL
);
-- Newest first within a tenant, as GET .../audit reads it.
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, at DESC, audit_id DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log rows cannot be changed or deleted';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
