-- 0002_oauth_tables.sql: the state of the OAuth 2.1 authorization server.
--
-- What is kept, and how:
--
-- - Broker access and refresh tokens never appear in clear: a row holds the
--   lowercase hex SHA-256 of the token, and the primary key index on that
--   hash is the lookup path.  The plaintext is handed to the MCP client once
--   and then forgotten.
-- - Forgejo tokens are kept in clear, because spawnd must put the user's
--   token into the environment of the forgejo-mcp child.  This file is
--   therefore a secret: tokend creates it mode 0600, and operators should
--   keep it on a volume only the daemon user can read (encrypted where
--   possible).
-- - Every time is an INTEGER of unix epoch seconds supplied by tokend, never
--   a column DEFAULT, so that expiry is a plain integer comparison and a test
--   may run tokend against a clock of its own.
-- - Revoking a client removes everything issued to it, and removing an
--   access token removes the refresh tokens minted with it: the foreign keys
--   cascade on delete (tokend turns on PRAGMA foreign_keys for this).
-- - Like broker_meta, the tables are not STRICT.  Note that SQLite accepts
--   NULL in a TEXT PRIMARY KEY; tokend never binds one.

-- One registered MCP client (RFC 7591 registration or a client ID metadata
-- document).
CREATE TABLE clients (
    client_id       TEXT PRIMARY KEY,
    client_secret   TEXT,               -- NULL: public client, PKCE only
    redirect_uris   TEXT NOT NULL,      -- JSON array of strings
    metadata_json   TEXT,               -- the client metadata as received
    created_at      INTEGER NOT NULL,
    last_used       INTEGER             -- last successful authorize or token
);

CREATE INDEX idx_clients_last_used ON clients(last_used);

-- A broker authorization code, issued at /callback and redeemed once at
-- /token.  It carries the Forgejo tokens obtained at /callback until the
-- exchange moves them into access_tokens.
CREATE TABLE auth_codes (
    code                        TEXT PRIMARY KEY,
    client_id                   TEXT NOT NULL
        REFERENCES clients(client_id) ON DELETE CASCADE,
    redirect_uri                TEXT NOT NULL,
    code_challenge              TEXT NOT NULL,
    code_challenge_method       TEXT NOT NULL,  -- tokend accepts S256 only
    scopes                      TEXT NOT NULL,  -- separated by spaces
    forgejo_access_token        TEXT NOT NULL,
    forgejo_refresh_token       TEXT,
    forgejo_token_expires_at    INTEGER NOT NULL,
    forgejo_user_id             INTEGER NOT NULL,
    forgejo_username            TEXT NOT NULL,
    expires_at                  INTEGER NOT NULL,   -- minutes after issue
    used_at                     INTEGER             -- set on redemption
);

CREATE INDEX idx_auth_codes_expires_at ON auth_codes(expires_at);

-- A broker access token and the Forgejo grant behind it.
CREATE TABLE access_tokens (
    token_hash                  TEXT PRIMARY KEY,   -- hex SHA-256
    client_id                   TEXT NOT NULL
        REFERENCES clients(client_id) ON DELETE CASCADE,
    forgejo_user_id             INTEGER NOT NULL,
    forgejo_username            TEXT NOT NULL,
    scopes                      TEXT NOT NULL,
    forgejo_access_token        TEXT NOT NULL,
    forgejo_refresh_token       TEXT,
    forgejo_token_expires_at    INTEGER NOT NULL,
    expires_at                  INTEGER NOT NULL,
    created_at                  INTEGER NOT NULL,
    revoked_at                  INTEGER             -- NULL while valid
);

CREATE INDEX idx_access_tokens_expires_at ON access_tokens(expires_at);
CREATE INDEX idx_access_tokens_forgejo_uid ON access_tokens(forgejo_user_id);

-- A broker refresh token.  It belongs to the access token it was issued
-- with, and to that token's client.
CREATE TABLE refresh_tokens (
    token_hash          TEXT PRIMARY KEY,           -- hex SHA-256
    access_token_hash   TEXT NOT NULL
        REFERENCES access_tokens(token_hash) ON DELETE CASCADE,
    client_id           TEXT NOT NULL
        REFERENCES clients(client_id) ON DELETE CASCADE,
    expires_at          INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    revoked_at          INTEGER
);

CREATE INDEX idx_refresh_tokens_expires_at ON refresh_tokens(expires_at);

INSERT INTO broker_meta (key, value) VALUES ('oauth_schema_version', '1');
