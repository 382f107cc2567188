-- The event store: postgres-es's tables (cqrs-es 0.5), plus the two columns that give
-- the whole log a commit order (see docs/architecture.md, "Commit order").

CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    -- global position: assigned at insert, unique, increasing within a transaction
    position       bigint GENERATED ALWAYS AS IDENTITY,
    -- the writing transaction; readers only read below the oldest running transaction
    transaction_id xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

-- readers page through the log in (transaction_id, position) order
CREATE UNIQUE INDEX events_commit_order_idx ON events (transaction_id, position);

-- only needed if snapshotting is employed (runproof's streams are short; it is not)
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);

-- The log is append-only: an auditor must be able to trust that nothing recorded was
-- rewritten. Updates, deletes and truncation of events are refused.
CREATE FUNCTION runproof_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END;
$$;

CREATE TRIGGER events_append_only_rows
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION runproof_events_append_only();

CREATE TRIGGER events_append_only_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION runproof_events_append_only();
