-- The tamper-evident log (docs/audit.md): the time the database recorded each event, the
-- sequencer's leaves, and the signed checkpoints of their Merkle tree.

-- When the database recorded an event (the writing transaction's start). It is part of
-- the event's leaf. The log is never rewritten: events recorded before this migration
-- keep no time (NULL), and their leaves say so.
ALTER TABLE events ADD COLUMN recorded_at timestamptz;
ALTER TABLE events ALTER COLUMN recorded_at SET DEFAULT now();

-- The sequencer projection (runproof_projections::log_leaves): every event's dense leaf
-- index in commit order and its RFC 6962 leaf hash. Rebuilt like every projection; the
-- same definition is in its TableSpec.
CREATE TABLE log_leaves
(
    leaf_index     bigint PRIMARY KEY CHECK (leaf_index >= 0),
    position       bigint NOT NULL UNIQUE,
    transaction_id bigint NOT NULL,
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    sequence       bigint NOT NULL,
    leaf_hash      bytea  NOT NULL CHECK (octet_length(leaf_hash) = 32)
);

-- Signed tree heads (C2SP checkpoints as Ed25519-signed notes). Truth, not a projection:
-- a checkpoint records what runproof vouched for at the time, so it is never rebuilt and
-- never changed.
CREATE TABLE audit_checkpoints
(
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    origin    text        NOT NULL,
    tree_size bigint      NOT NULL CHECK (tree_size >= 0),
    root_hash bytea       NOT NULL CHECK (octet_length(root_hash) = 32),
    -- the signing key as its verifier key (<name>+<id>+<public key>)
    key       text        NOT NULL,
    -- the signed note exactly as signed
    note      text        NOT NULL,
    signed_at timestamptz NOT NULL
);

CREATE FUNCTION runproof_audit_checkpoints_append_only() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'the audit checkpoints are append-only';
END;
$$;

CREATE TRIGGER audit_checkpoints_append_only_rows
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION runproof_audit_checkpoints_append_only();

CREATE TRIGGER audit_checkpoints_append_only_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION runproof_audit_checkpoints_append_only();
