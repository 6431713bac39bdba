-- 0003_grants.sql: what tokend's OAuth state machine needs beyond 0002.
--
-- - clients.token_endpoint_auth_method: the method of RFC 7591 the client
--   registered with ('none', 'client_secret_post' or 'client_secret_basic').
--   The token and revocation endpoints accept exactly that method.  A row
--   older than this migration gets 'none' if it has no secret, and else the
--   default of RFC 7591, 'client_secret_basic'.
--
-- - A grant is what one authorization code started: the access and refresh
--   tokens issued for that code and every token later rotated from them
--   (the "family" of RFC 9700 section 4.14).  auth_codes.grant_id names it,
--   and every token carries it, so that a replayed code or a reused refresh
--   token revokes the whole family with one statement.  A grant id is 64
--   lowercase hex digits of random; it is no secret and no hash of one.
--   It is NULL only in rows older than this migration, which belong to no
--   family.
--
-- - resource: the RFC 8707 resource the code and its tokens are bound to,
--   '' when the client named none (any resource of this server).
--
-- - refresh_tokens.rotated_at: when the token was exchanged for a new pair.
--   Rotation also sets revoked_at, so "revoked_at IS NULL" alone still
--   means "usable"; rotated_at tells a rotated token (presented again within
--   the grace period by a client refreshing in parallel) from a revoked one.
--
-- - The indexes serve the family lookups and the cascade from an access
--   token to its refresh tokens, which the reaper relies on.

ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL
    DEFAULT 'client_secret_basic'
    CHECK (token_endpoint_auth_method IN
        ('none', 'client_secret_post', 'client_secret_basic'));

UPDATE clients SET token_endpoint_auth_method = 'none'
    WHERE client_secret IS NULL;

ALTER TABLE auth_codes ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN grant_id TEXT;

ALTER TABLE access_tokens ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN grant_id TEXT;

ALTER TABLE refresh_tokens ADD COLUMN grant_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN rotated_at INTEGER;

CREATE INDEX idx_access_tokens_grant_id ON access_tokens(grant_id);
CREATE INDEX idx_refresh_tokens_grant_id ON refresh_tokens(grant_id);
CREATE INDEX idx_refresh_tokens_access ON refresh_tokens(access_token_hash);

UPDATE broker_meta SET value = '2' WHERE key = 'oauth_schema_version';
