-- Workspaces, actors, managed environments, evidence snapshots and environment reviews:
-- projections of their event streams, rebuildable with `runproof replay`.

CREATE TABLE workspaces
(
    id            uuid PRIMARY KEY,
    name          text        NOT NULL,
    -- member actor ids, as a JSON array of strings
    member_ids    jsonb       NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint      NOT NULL,
    last_position bigint      NOT NULL
);
CREATE INDEX workspaces_members_idx ON workspaces USING gin (member_ids);

CREATE TABLE actors
(
    id            uuid PRIMARY KEY,
    display_name  text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint      NOT NULL,
    last_position bigint      NOT NULL
);

CREATE TABLE managed_environments
(
    id                  uuid PRIMARY KEY,
    workspace_id        uuid        NOT NULL,
    name                text        NOT NULL,
    created_at          timestamptz NOT NULL,
    latest_snapshot_id  uuid,
    latest_content_hash text,
    latest_captured_at  timestamptz,
    published_review_id uuid,
    updated_at          timestamptz NOT NULL,
    version             bigint      NOT NULL,
    last_position       bigint      NOT NULL
);
CREATE INDEX managed_environments_workspace_idx ON managed_environments (workspace_id, id);

-- one row per captured snapshot (the document is the anchored input of a compose)
CREATE TABLE evidence_snapshots
(
    id             uuid PRIMARY KEY,
    workspace_id   uuid        NOT NULL,
    environment_id uuid        NOT NULL,
    content_hash   text        NOT NULL,
    finding_count  bigint      NOT NULL,
    document       jsonb       NOT NULL,
    captured_at    timestamptz NOT NULL,
    position       bigint      NOT NULL
);
CREATE INDEX evidence_snapshots_environment_idx ON evidence_snapshots (workspace_id, environment_id, captured_at DESC, position DESC);

CREATE TABLE environment_reviews
(
    id             uuid PRIMARY KEY,
    workspace_id   uuid        NOT NULL,
    environment_id uuid        NOT NULL,
    fingerprint    text        NOT NULL,
    snapshot_id    uuid        NOT NULL,
    run_id         uuid        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('draft', 'ready', 'failed', 'published', 'archived', 'superseded')),
    content        jsonb,
    failure_reason text,
    drafted_at     timestamptz NOT NULL,
    ready_at       timestamptz,
    published_at   timestamptz,
    archived_at    timestamptz,
    superseded_by  uuid,
    superseded_at  timestamptz,
    updated_at     timestamptz NOT NULL,
    version        bigint      NOT NULL,
    last_position  bigint      NOT NULL
);

-- Invariant 4's second line of defence: the guarantee is made when events are written
-- (the fingerprint slot stream); if this index ever fires, the projector stops loudly.
CREATE UNIQUE INDEX environment_reviews_fingerprint_mutable_unique
    ON environment_reviews (workspace_id, environment_id, fingerprint)
    WHERE status IN ('draft', 'ready', 'failed');

-- the adapter's and the service's scoped candidate lookup
CREATE INDEX environment_reviews_scope_idx ON environment_reviews (workspace_id, environment_id, fingerprint);
CREATE INDEX environment_reviews_workspace_idx ON environment_reviews (workspace_id, drafted_at DESC, id);
CREATE INDEX environment_reviews_run_idx ON environment_reviews (run_id);
