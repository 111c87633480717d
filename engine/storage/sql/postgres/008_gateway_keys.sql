-- Gateway keys and the org -> workspace hierarchy they belong to (contract §5.1, SPEC §5).
-- The original creates these tables itself (its 002/004 migrations and its key store's DDL),
-- so every statement here is IF NOT EXISTS / ON CONFLICT DO NOTHING: a database the original
-- created is adopted as it is. The secret itself is never stored: `token_hash` is its SHA-256
-- hex digest and `token` always holds the scrubbed `redacted:<id>`.
CREATE TABLE IF NOT EXISTS organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT workspaces_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT fk_workspaces_organization FOREIGN KEY (org_id) REFERENCES organizations (id)
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
    last_used_at TIMESTAMPTZ,
    role TEXT NOT NULL DEFAULT 'developer',
    permissions JSONB NOT NULL DEFAULT '[]'::jsonb,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_gateway_keys_workspace
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id)
);
-- Tables from early releases of the original lack the role and permissions columns.
ALTER TABLE gateway_keys ADD COLUMN IF NOT EXISTS role TEXT NOT NULL DEFAULT 'developer';
ALTER TABLE gateway_keys ADD COLUMN IF NOT EXISTS permissions JSONB NOT NULL DEFAULT '[]'::jsonb;
-- Very early releases stored plaintext tokens; the original hashes and scrubs them at start.
-- Do it once here so no secret outlives the upgrade (the hash is of the trimmed token).
UPDATE gateway_keys
    SET token_hash = encode(sha256(convert_to(btrim(token), 'UTF8')), 'hex')
    WHERE token_hash = '' AND btrim(token) <> '' AND token NOT LIKE 'redacted:%';
UPDATE gateway_keys
    SET token = 'redacted:' || id
    WHERE token IS DISTINCT FROM 'redacted:' || id;
-- Only active keys are ever read in bulk: every replica's key directory polls them in
-- (created_at, id) order about once a second, and the admin list reads one tenant's in the
-- same order. Partial indexes hold just those rows, so revoked keys cost the polls nothing.
CREATE INDEX IF NOT EXISTS idx_gateway_keys_active_created_at_id
    ON gateway_keys (created_at, id) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_gateway_keys_active_tenant_created_at_id
    ON gateway_keys (org_id, workspace_id, created_at, id) WHERE revoked_at IS NULL;
