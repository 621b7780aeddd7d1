-- The whole schema as of release 0.1 (SQLite migrations 0001-0007), for
-- PostgreSQL. Times are unix seconds (BIGINT). Hashes and sealed keys are
-- BYTEA. Index and constraint names are the ones the store maps to
-- conflict messages (`crate::error`), so keep them.

CREATE TABLE identities (
    id                TEXT   NOT NULL,
    name              TEXT   NOT NULL,
    kind              TEXT   NOT NULL,
    owner             TEXT   NOT NULL,
    environment       TEXT   NOT NULL,
    purpose           TEXT   NOT NULL,
    status            TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    last_used_at      BIGINT,
    status_changed_at BIGINT,
    CONSTRAINT identities_pkey PRIMARY KEY (id),
    CONSTRAINT identities_name UNIQUE (name)
);

-- Offboarding is final, whatever the caller: no update may bring an
-- offboarded identity back.
CREATE FUNCTION identities_offboarding_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'offboarded' AND NEW.status <> 'offboarded' THEN
        RAISE EXCEPTION 'an offboarded identity cannot change status'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER identities_offboarding_is_final
BEFORE UPDATE OF status ON identities
FOR EACH ROW EXECUTE FUNCTION identities_offboarding_is_final();

CREATE TABLE api_keys (
    id           TEXT   NOT NULL,
    identity_id  TEXT   NOT NULL REFERENCES identities (id) ON DELETE RESTRICT,
    label        TEXT,
    hint         TEXT   NOT NULL,
    key_hash     BYTEA  NOT NULL CHECK (length(key_hash) = 32),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    replaced_by  TEXT,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_key_hash UNIQUE (key_hash),
    CONSTRAINT api_keys_replaced_by FOREIGN KEY (replaced_by) REFERENCES api_keys (id)
);

CREATE INDEX api_keys_identity_id ON api_keys (identity_id);

CREATE TABLE signing_keys (
    kid                TEXT   NOT NULL,
    algorithm          TEXT   NOT NULL,
    public_key         BYTEA  NOT NULL,
    sealed_private_key BYTEA  NOT NULL,
    created_at         BIGINT NOT NULL,
    state              TEXT   NOT NULL CHECK (state IN ('active', 'previous', 'retired')),
    verify_until       BIGINT,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (kid)
);

-- At most one active signing key at any time.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

CREATE TABLE revoked_tokens (
    jti         TEXT   NOT NULL,
    identity_id TEXT   NOT NULL REFERENCES identities (id) ON DELETE RESTRICT,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL,
    CONSTRAINT revoked_tokens_pkey PRIMARY KEY (jti)
);

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- One row. Bumped in the same transaction as every change that must
-- invalidate in-memory caches.
CREATE TABLE state_revision (
    id       BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);

INSERT INTO state_revision (id, revision) VALUES (1, 0);

-- Who may use the admin API. scope '*' is global; any other value is an
-- owner, and the admin manages only identities with that owner.
CREATE TABLE admin_roles (
    identity_id TEXT   NOT NULL PRIMARY KEY REFERENCES identities (id),
    scope       TEXT   NOT NULL CHECK (length(scope) BETWEEN 1 AND 200),
    granted_at  BIGINT NOT NULL,
    granted_by  TEXT
);

CREATE TABLE role_assignments (
    identity_id TEXT   NOT NULL REFERENCES identities (id),
    role        TEXT   NOT NULL CHECK (length(role) BETWEEN 1 AND 64),
    assigned_at BIGINT NOT NULL,
    until       BIGINT,
    assigned_by TEXT   NOT NULL,
    PRIMARY KEY (identity_id, role)
);

CREATE TABLE grants (
    id                 TEXT   NOT NULL,
    identity_id        TEXT   NOT NULL REFERENCES identities (id),
    role               TEXT   NOT NULL CHECK (length(role) BETWEEN 1 AND 64),
    requested_by       TEXT   NOT NULL,
    reason             TEXT   NOT NULL,
    requested_at       BIGINT NOT NULL,
    duration_secs      BIGINT NOT NULL CHECK (duration_secs > 0),
    pending_expires_at BIGINT NOT NULL,
    approvals_required BIGINT NOT NULL CHECK (approvals_required >= 1),
    state              TEXT   NOT NULL
        CHECK (state IN ('pending', 'approved', 'denied', 'revoked', 'expired')),
    starts_at          BIGINT,
    expires_at         BIGINT,
    decided_by         TEXT,
    decided_at         BIGINT,
    decision_reason    TEXT,
    CONSTRAINT grants_pkey PRIMARY KEY (id),
    CHECK (state <> 'approved' OR (starts_at IS NOT NULL AND expires_at IS NOT NULL))
);

CREATE INDEX grants_identity_id ON grants (identity_id);
CREATE INDEX grants_state ON grants (state);

-- One row per approver of a grant: N approvals means N distinct approvers.
CREATE TABLE grant_approvals (
    grant_id TEXT   NOT NULL REFERENCES grants (id),
    approver TEXT   NOT NULL,
    at       BIGINT NOT NULL,
    CONSTRAINT grant_approvals_pkey PRIMARY KEY (grant_id, approver)
);

-- The audit log's store sink: every record and checkpoint line of every
-- replica's chain, exactly as hashed. `id` gives the order of writing.
CREATE TABLE audit_entries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    replica       TEXT    NOT NULL,
    seq           BIGINT  NOT NULL,
    checkpoint    BOOLEAN NOT NULL,
    time          BIGINT  NOT NULL,
    line          TEXT    NOT NULL,
    kind          TEXT,
    identity      TEXT,
    model         TEXT,
    decision      TEXT,
    action        TEXT,
    status        BIGINT,
    bodies_expire BIGINT
);

CREATE UNIQUE INDEX audit_entries_record ON audit_entries (replica, seq) WHERE NOT checkpoint;
CREATE INDEX audit_entries_replica ON audit_entries (replica, id);
CREATE INDEX audit_entries_time ON audit_entries (time);
CREATE INDEX audit_entries_identity ON audit_entries (identity, time);
CREATE INDEX audit_entries_expire ON audit_entries (bodies_expire) WHERE bodies_expire IS NOT NULL;

-- Keys of the audit log, sealed with the key-encryption key.
CREATE TABLE audit_keys (
    key_id     TEXT    NOT NULL PRIMARY KEY,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('checkpoint', 'hmac')),
    public_key TEXT,
    sealed     BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL,
    active     BOOLEAN NOT NULL
);

CREATE UNIQUE INDEX audit_keys_active ON audit_keys (purpose) WHERE active;

-- Access reviews: one JSON document each; `version` makes answering a
-- compare-and-swap.
CREATE TABLE reviews (
    id        TEXT   NOT NULL PRIMARY KEY,
    opened_at BIGINT NOT NULL,
    due_at    BIGINT NOT NULL,
    body      TEXT   NOT NULL,
    version   BIGINT NOT NULL DEFAULT 1
);

CREATE INDEX reviews_opened ON reviews (opened_at);

-- Every gateway access token minted, and the federated subject tokens
-- already exchanged.
CREATE TABLE issued_tokens (
    jti         TEXT   NOT NULL PRIMARY KEY,
    identity_id TEXT   NOT NULL REFERENCES identities (id) ON DELETE RESTRICT,
    family      TEXT   NOT NULL,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE INDEX issued_tokens_family ON issued_tokens (family);
CREATE INDEX issued_tokens_expires_at ON issued_tokens (expires_at);

CREATE TABLE seen_subject_tokens (
    issuer     TEXT   NOT NULL,
    jti        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);

CREATE INDEX seen_subject_tokens_expires_at ON seen_subject_tokens (expires_at);
