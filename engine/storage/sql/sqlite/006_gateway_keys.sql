-- Gateway keys and the org -> workspace hierarchy they belong to (contract §5.1, SPEC §5).
-- The secret itself is never stored: `token_hash` is its SHA-256 hex digest and `token` always
-- holds the scrubbed `redacted:<id>`. Timestamps are fixed-width UTC text, as in `traces`.
-- SQLite enforces the foreign keys only when a connection enables them; the key store creates
-- the organization and workspace rows in the same transaction as the key either way.
CREATE TABLE IF NOT EXISTS organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (org_id, id)
);
INSERT INTO organizations (id, name) VALUES ('default', 'Default Organization')
    ON CONFLICT DO NOTHING;
INSERT INTO workspaces (id, org_id, name) VALUES ('default', 'default', 'Default Workspace')
    ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS gateway_keys (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL DEFAULT '',
    org_id TEXT NOT NULL DEFAULT 'default',
    workspace_id TEXT NOT NULL DEFAULT 'default',
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    last_used_at DATETIME,
    role TEXT NOT NULL DEFAULT 'developer',
    permissions TEXT NOT NULL DEFAULT '[]',
    revoked_at DATETIME,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id)
);
-- Only active keys are ever read in bulk: every replica's key directory polls them in
-- (created_at, id) order about once a second, and the admin list reads one tenant's in the
-- same order. Partial indexes hold just those rows, so revoked keys cost the polls nothing.
CREATE INDEX IF NOT EXISTS idx_gateway_keys_active_created_at_id
    ON gateway_keys (created_at, id) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_gateway_keys_active_tenant_created_at_id
    ON gateway_keys (org_id, workspace_id, created_at, id) WHERE revoked_at IS NULL;
