-- The evidence document store: each captured findings document stored once per
-- workspace, addressed by its content hash (`sha256:` over its canonical JSON), written in
-- the same transaction as the capture event that references it. Like the event log it is
-- part of the truth, not a projection: append-only, never rebuilt. The document is kept
-- as `json` (its text exactly as written), not `jsonb`, which would rewrite numbers
-- (`-0.0`, `1e16`) and break the document's hash.
CREATE TABLE evidence_documents
(
    workspace_id uuid        NOT NULL,
    content_hash text        NOT NULL CHECK (content_hash LIKE 'sha256:%'),
    document     json        NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, content_hash)
);

CREATE FUNCTION runproof_evidence_documents_append_only() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'the evidence document store is append-only';
END;
$$;

CREATE TRIGGER evidence_documents_append_only_rows
    BEFORE UPDATE OR DELETE ON evidence_documents
    FOR EACH ROW EXECUTE FUNCTION runproof_evidence_documents_append_only();

CREATE TRIGGER evidence_documents_append_only_truncate
    BEFORE TRUNCATE ON evidence_documents
    FOR EACH STATEMENT EXECUTE FUNCTION runproof_evidence_documents_append_only();

-- Captures written before EvidenceSnapshotCaptured 2.0 carry their document inline; the
-- log is never rewritten, so copy each such document into the store (the 1.0 → 2.0
-- upcaster then reads those events without it).
INSERT INTO evidence_documents (workspace_id, content_hash, document, stored_at)
SELECT DISTINCT ON (workspace_id, content_hash) workspace_id, content_hash, document, stored_at
FROM (SELECT (e.payload -> 'EvidenceSnapshotCaptured' ->> 'workspace_id')::uuid AS workspace_id,
             e.payload -> 'EvidenceSnapshotCaptured' ->> 'content_hash'        AS content_hash,
             -- `json ->` keeps the stored text (a `jsonb` cast would rewrite numbers)
             e.payload -> 'EvidenceSnapshotCaptured' -> 'document'             AS document,
             (e.payload -> 'EvidenceSnapshotCaptured' ->> 'captured_at')::timestamptz AS stored_at,
             e.position
      FROM events e
      WHERE e.aggregate_type = 'managed_environment'
        AND e.event_type = 'EvidenceSnapshotCaptured'
        AND e.event_version = '1.0') legacy
WHERE document IS NOT NULL
ORDER BY workspace_id, content_hash, position
ON CONFLICT DO NOTHING;

-- The snapshot rows keep only the reference; the document is read from the store.
ALTER TABLE evidence_snapshots DROP COLUMN document;

-- Cached states of streams that grow without bound (an environment gains an event per
-- capture): a load reads the cached state and only the events after it. A cache, not a
-- truth: any row may be deleted at any time (the next load folds the stream again).
CREATE TABLE aggregate_state_cache
(
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    -- which build's fold wrote it (type/version/format); other formats are ignored
    format         text   NOT NULL,
    version        bigint NOT NULL,
    -- the state as written (text), and its checksum: a row edited by hand is ignored
    state          json   NOT NULL,
    checksum       text   NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, format)
);
