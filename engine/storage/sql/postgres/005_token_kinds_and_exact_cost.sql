-- Token kinds stored apart (SPEC §3) and exact money: cost as integer nano-USD.
ALTER TABLE traces ADD COLUMN IF NOT EXISTS cache_read_input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN IF NOT EXISTS cache_write_input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN IF NOT EXISTS reasoning_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN IF NOT EXISTS cost_nanousd BIGINT NOT NULL DEFAULT 0;
-- Rows written by the original only have float dollars: keep their value, rounded to a nano.
UPDATE traces
    SET cost_nanousd = ROUND(estimated_cost_usd * 1000000000)::BIGINT
    WHERE estimated_cost_usd IS NOT NULL AND estimated_cost_usd <> 0;
