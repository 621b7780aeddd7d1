-- Replicas sharing one store (issue 18). Expand only: an older release
-- keeps serving beside these tables and never reads them.

-- Who holds each replica id (an audit chain's one writer). A holder renews
-- its lease while it runs; a second process asking for a live lease is
-- refused. Times are unix milliseconds.
CREATE TABLE replica_leases (
    replica_id  TEXT    NOT NULL PRIMARY KEY CHECK (length(replica_id) BETWEEN 1 AND 64),
    holder      TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    pid         BIGINT  NOT NULL,
    acquired_at BIGINT  NOT NULL,
    renewed_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);

-- Shared rate-limit counters: what replicas have taken, in allotments, from
-- one identity's per-minute limit in one window (unix seconds, a multiple
-- of 60).
CREATE TABLE rate_windows (
    identity_id  TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('requests', 'tokens')),
    window_start BIGINT  NOT NULL,
    used         BIGINT  NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (identity_id, kind, window_start)
);

-- When each housekeeping task last ran, and where: a task runs once per
-- interval across replicas.
CREATE TABLE housekeeping_runs (
    task        TEXT    NOT NULL PRIMARY KEY,
    last_run_at BIGINT  NOT NULL,
    run_by      TEXT    NOT NULL
);

-- Every move of the state revision is announced on channel
-- `modelgate_state` when its transaction commits, so replicas listening
-- reload at once instead of at their next poll.
CREATE FUNCTION modelgate_notify_state_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('modelgate_state', NEW.revision::text);
    RETURN NEW;
END
$$;

CREATE TRIGGER state_revision_notify
    AFTER UPDATE ON state_revision
    FOR EACH ROW EXECUTE FUNCTION modelgate_notify_state_revision();
