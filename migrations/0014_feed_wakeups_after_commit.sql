-- Feed wake-ups move off the append's commit (docs/feed.md, "Wake-ups").
--
-- The trigger of 0013 sent a NOTIFY from every appending transaction. PostgreSQL commits
-- notifying transactions one at a time (a server-wide lock held from the notification's
-- queueing through the commit's flush), which cost writers more than half their
-- throughput. The writing process now sends the notification after its append commits,
-- from a task of its own that coalesces bursts of appends (src/feed/notify.rs). Readers
-- still poll as well, so nothing depends on a notification arriving.
DROP TRIGGER events_notify ON events;
DROP FUNCTION runproof_events_notify();
