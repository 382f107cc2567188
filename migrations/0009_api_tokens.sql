-- Who may do what: actors get a kind (member or service) and may hold the operator
-- role; API tokens are issued to actors. Both are projections of their streams,
-- rebuildable with `runproof replay` (the owned schema in projections/src is the same).

-- Actors recorded before kinds existed are plain members without the operator role:
-- exactly what a rebuild gives them (ActorCreated 1.0 is upcast to 2.0 that way). The
-- defaults only fill the existing rows; the projection writes both columns itself.
ALTER TABLE actors
    ADD COLUMN kind     text    NOT NULL DEFAULT 'member' CHECK (kind IN ('member', 'service')),
    ADD COLUMN operator boolean NOT NULL DEFAULT false;
ALTER TABLE actors
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN operator DROP DEFAULT;

-- One row per issued token, for `runproof tokens list`. No secret and no digest of it:
-- the digest stays in the token's stream, which authentication reads.
CREATE TABLE api_tokens
(
    id            uuid PRIMARY KEY,
    actor_id      uuid        NOT NULL,
    name          text,
    issued_at     timestamptz NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    updated_at    timestamptz NOT NULL,
    version       bigint      NOT NULL,
    last_position bigint      NOT NULL
);
CREATE INDEX api_tokens_actor_idx ON api_tokens (actor_id, issued_at DESC, id);
