-- Roles on API keys (viewer, runner, editor, admin, worker). Keys made before roles
-- existed could do everything, so they become `admin`, and `role_from_upgrade` says so
-- (`stigmer server keys list` shows it) until the operator replaces them with narrower keys.

ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN role_from_upgrade INTEGER NOT NULL DEFAULT 1;
