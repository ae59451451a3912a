-- API tokens expire. Tokens made before expiry existed get 90 days from
-- their creation.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
UPDATE api_tokens SET expires_at = to_char(
    (created_at::timestamptz + interval '90 days') AT TIME ZONE 'UTC',
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
