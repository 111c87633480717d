-- Replay reads one lineage group newest first: an index instead of a scan of every trace.
CREATE INDEX IF NOT EXISTS idx_traces_trace_group_created_at_id
    ON traces (trace_group_id, created_at DESC, id DESC);
