-- Token kinds stored apart (SPEC §3) and exact money: cost as integer nano-USD.
ALTER TABLE traces ADD COLUMN cache_read_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN cache_write_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN cost_nanousd INTEGER NOT NULL DEFAULT 0;
-- Rows written by the original only have float dollars: keep their value, rounded to a nano.
UPDATE traces
    SET cost_nanousd = CAST(ROUND(estimated_cost_usd * 1000000000) AS INTEGER)
    WHERE estimated_cost_usd IS NOT NULL AND estimated_cost_usd <> 0;
