-- Projection bookkeeping and the operation_runs projection.
-- Every projection table can be dropped and rebuilt from the event log (`runproof replay`).

-- One row per projection (and per rebuild in progress): the last applied log position.
CREATE TABLE projection_checkpoints
(
    projection     text PRIMARY KEY,
    transaction_id xid8        NOT NULL DEFAULT '0',
    position       bigint      NOT NULL DEFAULT 0,
    events_applied bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operation_runs
(
    id                     uuid PRIMARY KEY,
    workspace_id           uuid        NOT NULL,
    managed_environment_id uuid,
    run_type               text        NOT NULL,
    status                 text        NOT NULL CHECK (status IN ('queued', 'running', 'completed')),
    outcome                text        NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'partially_succeeded', 'blocked', 'failed')),
    initiator              text        NOT NULL,
    identity_hash          text        NOT NULL,
    -- type-specific context; `context.reconciliation` once something else decided the run
    context                jsonb       NOT NULL,
    summary_counts         jsonb       NOT NULL,
    failure_summary        jsonb       NOT NULL,
    created_at             timestamptz NOT NULL,
    started_at             timestamptz,
    completed_at           timestamptz,
    -- time of the run's last event, its stream version and its log position
    updated_at             timestamptz NOT NULL,
    version                bigint      NOT NULL,
    last_position          bigint      NOT NULL,
    -- the two families never mix: pending exactly while not completed
    CHECK ((status = 'completed') = (outcome <> 'pending'))
);

-- the list: a workspace's runs, newest first (and all runs, newest first)
CREATE INDEX operation_runs_workspace_created_idx ON operation_runs (workspace_id, created_at DESC, id);
CREATE INDEX operation_runs_created_idx ON operation_runs (created_at DESC, id);
-- the stale scan: cost follows the number of active runs, not the table size
CREATE INDEX operation_runs_stale_queued_idx ON operation_runs (run_type, created_at) WHERE status = 'queued';
CREATE INDEX operation_runs_stale_running_idx ON operation_runs (run_type, started_at) WHERE status = 'running';
-- lookups by run identity
CREATE INDEX operation_runs_identity_idx ON operation_runs (identity_hash, created_at DESC);
