-- lucia's tables for PostgreSQL. {user_table}, {key_table}, {session_table} and
-- {token_table} are replaced by the configured names; the tables go into the
-- first schema of the connection's search_path. Times are TIMESTAMPTZ
-- (absolute instants, read back in UTC by the adapter); attributes are JSONB;
-- the secret's SHA-256 is BYTEA.
-- TEXT keeps the database's default collation: PostgreSQL's default collations
-- are deterministic, so key lookups are exact and case-sensitive, and an
-- application's own tables can reference auth_user.id without a collation clash.
--
-- Two processes creating the tables at the same moment would collide in the
-- catalog (IF NOT EXISTS is not atomic), so create_tables serialises on an
-- advisory lock held until its transaction ends.
SELECT pg_advisory_xact_lock(hashtext('lucia.create_tables:' || current_schema() || '.{user_table}'));
CREATE TABLE IF NOT EXISTS {user_table} (
    id TEXT NOT NULL PRIMARY KEY,
    attributes JSONB NOT NULL DEFAULT '{{}}',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS {key_table} (
    provider_id TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES {user_table} (id) ON DELETE CASCADE,
    hashed_password TEXT,
    PRIMARY KEY (provider_id, provider_user_id)
);
CREATE INDEX IF NOT EXISTS {key_table}_user_id ON {key_table} (user_id);
CREATE TABLE IF NOT EXISTS {session_table} (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES {user_table} (id) ON DELETE CASCADE,
    secret_hash BYTEA NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    attributes JSONB NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS {session_table}_user_id ON {session_table} (user_id);
CREATE INDEX IF NOT EXISTS {session_table}_expires_at ON {session_table} (expires_at);
-- One-time tokens (email verification, password reset): only the token's
-- SHA-256 is kept, as the primary key.
CREATE TABLE IF NOT EXISTS {token_table} (
    id_hash BYTEA NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES {user_table} (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    data JSONB NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS {token_table}_user_id_purpose ON {token_table} (user_id, purpose);
CREATE INDEX IF NOT EXISTS {token_table}_expires_at ON {token_table} (expires_at);
