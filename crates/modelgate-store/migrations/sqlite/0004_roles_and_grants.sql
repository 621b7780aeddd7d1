-- Roles and just-in-time grants. Role definitions are configuration; the
-- store keeps who holds which role (standing assignments) and the grants
-- that add a role for a while after approval. Times are unix seconds.
-- Expiry is computed from time: an approved grant whose expires_at <= now,
-- or a pending one whose pending_expires_at <= now, is inactive without any
-- write, so nothing needs a timer.

CREATE TABLE role_assignments (
    identity_id TEXT    NOT NULL REFERENCES identities (id),
    role        TEXT    NOT NULL CHECK (length(role) BETWEEN 1 AND 64),
    assigned_at INTEGER NOT NULL,
    until       INTEGER,
    assigned_by TEXT    NOT NULL,
    PRIMARY KEY (identity_id, role)
) STRICT;

CREATE TABLE grants (
    id                 TEXT    NOT NULL PRIMARY KEY,
    identity_id        TEXT    NOT NULL REFERENCES identities (id),
    role               TEXT    NOT NULL CHECK (length(role) BETWEEN 1 AND 64),
    requested_by       TEXT    NOT NULL,
    reason             TEXT    NOT NULL,
    requested_at       INTEGER NOT NULL,
    duration_secs      INTEGER NOT NULL CHECK (duration_secs > 0),
    pending_expires_at INTEGER NOT NULL,
    approvals_required INTEGER NOT NULL CHECK (approvals_required >= 1),
    state              TEXT    NOT NULL
        CHECK (state IN ('pending', 'approved', 'denied', 'revoked', 'expired')),
    starts_at          INTEGER,
    expires_at         INTEGER,
    decided_by         TEXT,
    decided_at         INTEGER,
    decision_reason    TEXT,
    CHECK (state <> 'approved' OR (starts_at IS NOT NULL AND expires_at IS NOT NULL))
) STRICT;

CREATE INDEX grants_identity_id ON grants (identity_id);
CREATE INDEX grants_state ON grants (state);

-- One row per approver of a grant: a second approval by the same approver
-- is a conflict, so N approvals means N distinct approvers.
CREATE TABLE grant_approvals (
    grant_id TEXT    NOT NULL REFERENCES grants (id),
    approver TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (grant_id, approver)
) STRICT;
