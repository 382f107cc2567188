-- RunCompleted 1.1: every completion by a run's job carries its note (the reason it
-- ended that way). Events stored in 1.0 are upcast when read (runproof_domain::upcasting),
-- so a rebuilt operation_runs row shows the note a 1.0 completion implied in
-- context.completion. Rows projected by an earlier build lack it; this gives them the
-- same note — the first failure's reason, else job.no_reason — so the live table equals
-- a rebuild from the log (`runproof replay --verify` stays clean across the upgrade).
-- A run completed by its job has no reconciliation (the aggregate allows one terminal
-- event), which is how those rows are told apart.
UPDATE operation_runs
SET context = jsonb_set(
        context,
        '{completion}',
        jsonb_build_object('reason_code', COALESCE(failure_summary -> 0 ->> 'reason_code', 'job.no_reason')))
WHERE status = 'completed'
  AND NOT context ? 'reconciliation'
  AND NOT context ? 'completion';
