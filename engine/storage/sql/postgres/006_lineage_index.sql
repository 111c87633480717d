-- Replay reads one lineage group newest first: an index instead of a scan of every trace.
CREATE INDEX IF NOT EXISTS idx_traces_trace_group_created_at_id
    ON traces (trace_group_id, created_at DESC, id DESC);
-- The list filters thread_id/run_id read the lineage ids out of the metadata JSON. Partial
-- indexes hold only the traces that carry them (a few percent), so writes barely pay; the
-- expression is exactly the one the queries use (engine/storage/sqlfuncs.py).
CREATE INDEX IF NOT EXISTS idx_traces_lineage_thread_created_at_id
    ON traces ((metadata ->> 'lineage_thread_id'), created_at DESC, id DESC)
    WHERE (metadata ->> 'lineage_thread_id') IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_traces_lineage_run_created_at_id
    ON traces ((metadata ->> 'lineage_run_id'), created_at DESC, id DESC)
    WHERE (metadata ->> 'lineage_run_id') IS NOT NULL;
