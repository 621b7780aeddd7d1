-- The audit log's store sink: every record and checkpoint line of every
-- replica's chain, exactly as hashed (the line is the evidence; the other
-- columns are copies for search and pruning). Lines are appended by one
-- writer per replica; `id` gives the order in which they were written.
CREATE TABLE audit_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    replica       TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    checkpoint    INTEGER NOT NULL CHECK (checkpoint IN (0, 1)),
    time          INTEGER NOT NULL,
    line          TEXT    NOT NULL,
    kind          TEXT,
    identity      TEXT,
    model         TEXT,
    decision      TEXT,
    action        TEXT,
    status        INTEGER,
    bodies_expire INTEGER
) STRICT;

CREATE UNIQUE INDEX audit_entries_record ON audit_entries (replica, seq) WHERE checkpoint = 0;
CREATE INDEX audit_entries_replica ON audit_entries (replica, id);
CREATE INDEX audit_entries_time ON audit_entries (time);
CREATE INDEX audit_entries_identity ON audit_entries (identity, time);
CREATE INDEX audit_entries_expire ON audit_entries (bodies_expire) WHERE bodies_expire IS NOT NULL;

-- Keys of the audit log (checkpoint signing, body HMAC), sealed with the
-- key-encryption key. One row per purpose; `retired` keys stay so that old
-- checkpoints still verify.
CREATE TABLE audit_keys (
    key_id     TEXT    NOT NULL PRIMARY KEY,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('checkpoint', 'hmac')),
    public_key TEXT,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    active     INTEGER NOT NULL CHECK (active IN (0, 1))
) STRICT;

CREATE UNIQUE INDEX audit_keys_active ON audit_keys (purpose) WHERE active = 1;
