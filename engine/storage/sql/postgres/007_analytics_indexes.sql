-- Analytics (/api/analytics/*) over a million traces: the same four indexes as on SQLite
-- (engine/storage/analytics_sql.py), keyed by each query family's grouping columns so that
-- PostgreSQL can aggregate them in order from an index-only scan instead of hashing or sorting
-- every trace, and covering (INCLUDE) so the wide trace rows are never read.
-- Usage, cost, models, summary, errors by provider/model: per (UTC hour, provider, model).
CREATE INDEX IF NOT EXISTS idx_traces_analytics_hourly
    ON traces ((date_trunc('hour', timestamp AT TIME ZONE 'UTC')), provider, model)
    INCLUDE (
        timestamp, org_id, workspace_id, response_status, latency_ms, time_to_first_token_ms,
        input_tokens, output_tokens, total_tokens, cache_read_input_tokens,
        cache_write_input_tokens, reasoning_tokens, cost_nanousd
    );
-- Latency histograms (ungrouped, per provider/model/route) and errors per route.
CREATE INDEX IF NOT EXISTS idx_traces_analytics_route_latency
    ON traces (request_path, latency_ms, provider, model)
    INCLUDE (timestamp, org_id, workspace_id, response_status);
-- Latency histograms and errors per gateway key.
CREATE INDEX IF NOT EXISTS idx_traces_analytics_gateway_key_latency
    ON traces (gateway_key_id, latency_ms)
    INCLUDE (provider, model, timestamp, org_id, workspace_id, response_status);
-- Per provider-key stats and the summary's number of active keys.
CREATE INDEX IF NOT EXISTS idx_traces_analytics_api_key
    ON traces (api_key_hash)
    INCLUDE (timestamp, org_id, workspace_id, provider, model, total_tokens, cost_nanousd,
             created_at);
