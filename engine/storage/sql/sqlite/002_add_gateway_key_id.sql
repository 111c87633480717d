-- Which gateway key sent the request; back-filled from the metadata the original always wrote.
ALTER TABLE traces ADD COLUMN gateway_key_id TEXT;
UPDATE traces
    SET gateway_key_id = json_extract(metadata, '$.gateway_key_id')
    WHERE (gateway_key_id IS NULL OR gateway_key_id = '')
      AND json_valid(metadata)
      AND json_type(metadata, '$.gateway_key_id') = 'text';
CREATE INDEX IF NOT EXISTS idx_traces_gateway_key_id ON traces (gateway_key_id);
CREATE INDEX IF NOT EXISTS idx_traces_org_workspace_gateway_key_timestamp
    ON traces (org_id, workspace_id, gateway_key_id, timestamp);
