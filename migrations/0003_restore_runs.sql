-- The restore_runs projection: one row per restore record (stream `restore`).
-- The restore adapter reads exactly one row of it: its own run's, in its own scope.

CREATE TABLE restore_runs
(
    restore_id     uuid PRIMARY KEY,
    run_id         uuid        NOT NULL,
    workspace_id   uuid        NOT NULL,
    environment_id uuid        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'completed_with_errors', 'failed')),
    requested_at   timestamptz NOT NULL,
    started_at     timestamptz,
    finished_at    timestamptz,
    items_total    bigint      NOT NULL,
    items_failed   bigint      NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        bigint      NOT NULL,
    last_position  bigint      NOT NULL
);

-- the adapter's scoped lookup: its run, its workspace, its environment
CREATE INDEX restore_runs_scope_idx ON restore_runs (run_id, workspace_id, environment_id);
