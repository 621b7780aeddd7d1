-- Every gateway access token minted, so revocation names only tokens that
-- exist and binds them to their identity, and a token family (the jti of
-- the first token of a chain of exchanges) can be revoked as a whole; and
-- the ids of federated subject tokens already exchanged, so a replayed one
-- is refused on every replica. Rows are pruned after they expire. Times are
-- unix seconds.

CREATE TABLE issued_tokens (
    jti         TEXT    NOT NULL PRIMARY KEY,
    identity_id TEXT    NOT NULL REFERENCES identities (id) ON DELETE RESTRICT,
    family      TEXT    NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX issued_tokens_family ON issued_tokens (family);
CREATE INDEX issued_tokens_expires_at ON issued_tokens (expires_at);

CREATE TABLE seen_subject_tokens (
    issuer     TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, jti)
) STRICT;

CREATE INDEX seen_subject_tokens_expires_at ON seen_subject_tokens (expires_at);
