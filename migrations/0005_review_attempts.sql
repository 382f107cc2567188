-- Attempt history of a review: the runs that drafted it before its current run (failed
-- or orphaned attempts, taken over by a later compose run), oldest first.
ALTER TABLE environment_reviews
    ADD COLUMN previous_run_ids jsonb NOT NULL DEFAULT '[]';

-- Fill it for reviews drafted again before this column existed, from the log (the same
-- answer a `runproof replay` gives).
UPDATE environment_reviews r
SET previous_run_ids = a.ids - (jsonb_array_length(a.ids) - 1)
FROM (SELECT e.aggregate_id::uuid AS id,
             jsonb_agg(COALESCE(e.payload::jsonb -> 'ReviewDrafted' ->> 'run_id',
                                e.payload::jsonb -> 'ReviewRedrafted' ->> 'run_id')
                       ORDER BY e.sequence) AS ids
      FROM events e
      WHERE e.aggregate_type = 'environment_review'
        AND e.event_type IN ('ReviewDrafted', 'ReviewRedrafted')
      GROUP BY e.aggregate_id) a
WHERE r.id = a.id
  AND jsonb_array_length(a.ids) > 1;
