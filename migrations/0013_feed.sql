-- The downstream feed (docs/feed.md).

-- Wake-ups: every transaction that appends events sends one notification on the
-- channel `runproof_events` when it commits (PostgreSQL folds identical notifications
-- of one transaction into one, and delivers none for a transaction that rolls back).
-- The payload is empty: a notification only says "look again"; readers still read in
-- commit order below the read horizon, and poll as well, so a lost notification (a
-- dropped listener connection) delays a reader and never makes it skip.
--
-- NOTIFY has a price on the write path: PostgreSQL commits notifying transactions one
-- at a time (a server-wide lock held through the commit's flush). An installation that
-- would rather have its streams poll turns it off for its sessions with
-- `ALTER DATABASE … SET runproof.feed_notify = off` (or per role); docs/feed.md.
CREATE FUNCTION runproof_events_notify() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    IF coalesce(current_setting('runproof.feed_notify', true), '') <> 'off' THEN
        PERFORM pg_notify('runproof_events', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify
    AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION runproof_events_notify();

-- The feed role (a service actor that reads every workspace's events): no actor held it
-- before, which is exactly what a rebuild gives existing rows. The default only fills
-- the existing rows; the projection writes the column itself.
ALTER TABLE actors
    ADD COLUMN feed boolean NOT NULL DEFAULT false;
ALTER TABLE actors
    ALTER COLUMN feed DROP DEFAULT;
