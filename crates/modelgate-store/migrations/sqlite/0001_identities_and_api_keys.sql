-- Non-human identities and the API keys they hold.
-- Times are unix seconds. Key hashes are SHA-256 digests (32 bytes); the key
-- itself is never stored.

CREATE TABLE identities (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    owner        TEXT    NOT NULL,
    environment  TEXT    NOT NULL,
    purpose      TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

CREATE UNIQUE INDEX identities_name ON identities (name);

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    identity_id  TEXT    NOT NULL REFERENCES identities (id) ON DELETE RESTRICT,
    label        TEXT,
    hint         TEXT    NOT NULL,
    key_hash     BLOB    NOT NULL CHECK (length(key_hash) = 32),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
) STRICT;

CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);
CREATE INDEX api_keys_identity_id ON api_keys (identity_id);
