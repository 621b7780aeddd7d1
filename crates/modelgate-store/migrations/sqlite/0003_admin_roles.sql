-- Who may use the admin API. scope '*' is global; any other value is an
-- owner, and the admin manages only identities with that owner.
CREATE TABLE admin_roles (
    identity_id TEXT    NOT NULL PRIMARY KEY REFERENCES identities (id),
    scope       TEXT    NOT NULL CHECK (length(scope) BETWEEN 1 AND 200),
    granted_at  INTEGER NOT NULL,
    granted_by  TEXT
) STRICT;
