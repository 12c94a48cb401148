-- A read-only key may only read (GET); every other request with it is a 403.
ALTER TABLE api_keys ADD COLUMN read_only boolean NOT NULL DEFAULT false;
