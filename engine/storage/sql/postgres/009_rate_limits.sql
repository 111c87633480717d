-- Request-per-minute windows shared by every gateway process on this database (SPEC §5):
-- one row per admitted request and scope (a gateway key or a workspace), kept for a minute.
-- Admission locks the scope (pg_advisory_xact_lock), counts its rows newer than 60 s by the
-- database clock, and inserts one when under the limit (engine/limits/pg_window.py).
CREATE TABLE IF NOT EXISTS rate_limit_hits (
    scope TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_rate_limit_hits_scope_at ON rate_limit_hits (scope, at);
