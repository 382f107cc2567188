-- The compose worker reads its queue a page at a time, in (created_at, id) order, from
-- the last run of the page before. With `id` in the index the page starts at that
-- cursor and comes out in index order: a page costs the same at the end of a long
-- queue as at its front (before, each page read the queue's index entries from the
-- front up to the cursor and sorted what followed). The stale scan reads the same index.
DROP INDEX operation_runs_stale_queued_idx;
CREATE INDEX operation_runs_stale_queued_idx
    ON operation_runs (run_type, created_at, id)
    WHERE status = 'queued';
