-- Replicas sharing one store (issue 18). Expand only: an older release
-- keeps serving beside these tables and never reads them.

-- Who holds each replica id (an audit chain's one writer). A holder renews
-- its lease while it runs; a second process asking for a live lease is
-- refused. Times are unix milliseconds.
CREATE TABLE replica_leases (
    replica_id  TEXT    NOT NULL PRIMARY KEY CHECK (length(replica_id) BETWEEN 1 AND 64),
    holder      TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    pid         INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    renewed_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

-- Shared rate-limit counters: what replicas have taken, in allotments, from
-- one identity's per-minute limit in one window (unix seconds, a multiple
-- of 60).
CREATE TABLE rate_windows (
    identity_id  TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('requests', 'tokens')),
    window_start INTEGER NOT NULL,
    used         INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (identity_id, kind, window_start)
);

-- When each housekeeping task last ran, and where: a task runs once per
-- interval across replicas.
CREATE TABLE housekeeping_runs (
    task        TEXT    NOT NULL PRIMARY KEY,
    last_run_at INTEGER NOT NULL,
    run_by      TEXT    NOT NULL
);
