-- lucia's tables for SQLite. {user_table}, {key_table}, {session_table} and
-- {token_table} are replaced by the configured names. Times are Unix seconds
-- (UTC); attributes are JSON text. TEXT comparisons use BINARY collation: key
-- lookups are case-sensitive.
CREATE TABLE IF NOT EXISTS {user_table} (
    id TEXT NOT NULL PRIMARY KEY,
    attributes TEXT NOT NULL DEFAULT '{{}}',
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {key_table} (
    provider_id TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES {user_table} (id) ON DELETE CASCADE,
    hashed_password TEXT,
    PRIMARY KEY (provider_id, provider_user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {key_table}_user_id ON {key_table} (user_id);
CREATE TABLE IF NOT EXISTS {session_table} (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES {user_table} (id) ON DELETE CASCADE,
    secret_hash BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{{}}'
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {session_table}_user_id ON {session_table} (user_id);
CREATE INDEX IF NOT EXISTS {session_table}_expires_at ON {session_table} (expires_at);
-- One-time tokens (email verification, password reset): only the token's
-- SHA-256 is kept, as the primary key.
CREATE TABLE IF NOT EXISTS {token_table} (
    id_hash BLOB NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES {user_table} (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL DEFAULT '{{}}'
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {token_table}_user_id_purpose ON {token_table} (user_id, purpose);
CREATE INDEX IF NOT EXISTS {token_table}_expires_at ON {token_table} (expires_at);
