-- Analytics (/api/analytics/*) over a million traces in well under a second. SQLite has no
-- hash aggregation: a GROUP BY not in index order sorts every trace, and reading the wide trace
-- rows costs seconds. So each family of analytics queries reads one covering index whose
-- leading columns are its grouping keys, and names it (INDEXED BY, engine/storage/analytics_sql.py).
-- Usage, cost, models, summary, errors by provider/model: per (UTC hour, provider, model). The
-- hour key is exactly the expression the queries use; `from`/`to` become a range on it.
CREATE INDEX IF NOT EXISTS idx_traces_analytics_hourly
    ON traces (
        substr(timestamp, 1, 13), provider, model, timestamp, org_id, workspace_id,
        response_status, latency_ms, time_to_first_token_ms, input_tokens, output_tokens,
        total_tokens, cache_read_input_tokens, cache_write_input_tokens, reasoning_tokens,
        cost_nanousd
    );
-- Latency histograms (ungrouped, per provider/model/route) and errors per route.
CREATE INDEX IF NOT EXISTS idx_traces_analytics_route_latency
    ON traces (
        request_path, latency_ms, provider, model, timestamp, org_id, workspace_id,
        response_status
    );
-- Latency histograms and errors per gateway key.
CREATE INDEX IF NOT EXISTS idx_traces_analytics_gateway_key_latency
    ON traces (
        gateway_key_id, latency_ms, provider, model, timestamp, org_id, workspace_id,
        response_status
    );
-- Per provider-key stats and the summary's number of active keys.
CREATE INDEX IF NOT EXISTS idx_traces_analytics_api_key
    ON traces (
        api_key_hash, timestamp, org_id, workspace_id, provider, model, total_tokens,
        cost_nanousd, created_at
    );
