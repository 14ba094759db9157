-- Roles on API keys; keys made before roles existed become `admin` (see migrations/sqlite/0009).

ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN role_from_upgrade INTEGER NOT NULL DEFAULT 1;
