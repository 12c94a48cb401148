-- The audit log: appended to, never changed (the triggers below refuse it, whoever asks).
CREATE TABLE audit_log (
    audit_id    BLOB PRIMARY KEY,
    tenant_id   BLOB NOT NULL,
    project_id  BLOB,
    at          TEXT NOT NULL,
    key_id      BLOB,
    action      TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    summary     TEXT NOT NULL
) STRICT;
-- Newest first within a tenant, as GET .../audit reads it.
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, at DESC, audit_id DESC);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows cannot be changed or deleted');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows cannot be changed or deleted');
END;
