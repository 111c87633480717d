-- Which gateway key sent the request; back-filled from the metadata the original always wrote.
-- (002 and 004 are the original's tenant-table migrations; this gateway does not create them,
-- and a database that has them keeps them.)
ALTER TABLE traces ADD COLUMN IF NOT EXISTS gateway_key_id TEXT;
UPDATE traces
    SET gateway_key_id = metadata ->> 'gateway_key_id'
    WHERE (gateway_key_id IS NULL OR gateway_key_id = '')
      AND jsonb_typeof(metadata -> 'gateway_key_id') = 'string';
CREATE INDEX IF NOT EXISTS idx_traces_gateway_key_id ON traces (gateway_key_id);
CREATE INDEX IF NOT EXISTS idx_traces_org_workspace_gateway_key_timestamp
    ON traces (org_id, workspace_id, gateway_key_id, timestamp);
