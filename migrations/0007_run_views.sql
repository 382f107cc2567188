-- Operators' views of runs (`runs list --environment`, `--needs-attention`) and the
-- links of `runproof history`.

-- an environment's runs, newest first
CREATE INDEX operation_runs_environment_created_idx
    ON operation_runs (managed_environment_id, created_at DESC, id);
-- runs that ended badly, newest first; active runs past their threshold come from the
-- stale indexes (operation_runs_stale_queued_idx, operation_runs_stale_running_idx)
CREATE INDEX operation_runs_attention_idx
    ON operation_runs (created_at DESC, id)
    WHERE outcome IN ('failed', 'blocked', 'partially_succeeded');

-- the reviews whose events name a run (ReviewDrafted, ReviewRedrafted, …: any review
-- event that carries `run_id`), for a run's history
CREATE INDEX events_review_run_id_idx
    ON events ((payload -> event_type ->> 'run_id'))
    WHERE aggregate_type = 'environment_review';
