-- The console's sign-in sessions (docs/console.md). Operational state, not domain truth:
-- no event records them and no projection builds them; losing the table signs every
-- operator out and nothing else. The session id lives only in the operator's cookie;
-- the table keeps its SHA-256. Rows past their idle or absolute expiry are deleted
-- whenever they are met, and at every sign-in.
CREATE TABLE console_sessions
(
    id_sha256    bytea PRIMARY KEY CHECK (length(id_sha256) = 32),
    actor_id     uuid        NOT NULL,
    -- The API token the session was opened with: re-checked on every request, so its
    -- revocation or expiry ends the session.
    token_id     uuid        NOT NULL,
    csrf_secret  bytea       NOT NULL CHECK (length(csrf_secret) = 32),
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_last_seen_idx ON console_sessions (last_seen_at);
CREATE INDEX console_sessions_created_idx ON console_sessions (created_at);
