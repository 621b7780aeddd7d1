-- Gateway access tokens and the credential lifecycle: signing keys (private
-- halves sealed with the key-encryption key), revoked token ids, API key
-- rotation links, identity status changes, and the state revision that tells
-- every replica when to reload its in-memory caches. Times are unix seconds.

CREATE TABLE signing_keys (
    kid                TEXT    NOT NULL PRIMARY KEY,
    algorithm          TEXT    NOT NULL,
    public_key         BLOB    NOT NULL,
    sealed_private_key BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('active', 'previous', 'retired')),
    verify_until       INTEGER
) STRICT;

-- At most one active signing key at any time.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

CREATE TABLE revoked_tokens (
    jti         TEXT    NOT NULL PRIMARY KEY,
    identity_id TEXT    NOT NULL REFERENCES identities (id) ON DELETE RESTRICT,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- The key that replaced this one when it was rotated.
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT REFERENCES api_keys (id);

-- When the identity's status last changed (disable, enable, offboard).
ALTER TABLE identities ADD COLUMN status_changed_at INTEGER;

-- Offboarding is final, whatever the caller: no update may bring an
-- offboarded identity back.
CREATE TRIGGER identities_offboarding_is_final
BEFORE UPDATE OF status ON identities
WHEN OLD.status = 'offboarded' AND NEW.status <> 'offboarded'
BEGIN
    SELECT RAISE(ABORT, 'an offboarded identity cannot change status');
END;

-- One row. Bumped in the same transaction as every change that must
-- invalidate in-memory caches (token revocation, identity status change,
-- signing key rotation or retirement).
CREATE TABLE state_revision (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
) STRICT;

INSERT INTO state_revision (id, revision) VALUES (1, 0);
