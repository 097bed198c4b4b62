-- lucia's tables for MySQL 8 and MariaDB 10.3+. {user_table}, {key_table},
-- {session_table} and {token_table} are replaced by the configured names.
--
-- Ids and keys are VARBINARY: compared byte for byte, so ("github", "Alice"),
-- ("github", "alice") and ("github", "alice ") are three keys. The binary
-- collations of VARCHAR (utf8mb4_bin) are PAD SPACE on MariaDB and MySQL 8 and
-- would make 'alice' equal 'alice '; VARBINARY has no padding on either server.
-- lucia allows 255 characters per key part, which is at most 1020 bytes of
-- UTF-8; both parts together (2040 bytes) fit InnoDB's 3072-byte index limit.
--
-- Times are Unix seconds (UTC) in BIGINT: DATETIME carries no time zone and
-- TIMESTAMP ends in 2038. Attributes are JSON text in LONGTEXT with a
-- JSON_VALID check (what MariaDB's JSON type is), which round-trips exactly on
-- both servers where MySQL's binary JSON would reorder keys and turn large
-- integers into doubles. The secret hash is a SHA-256 digest: BINARY(32).
CREATE TABLE IF NOT EXISTS {user_table} (
    id VARBINARY(255) NOT NULL,
    attributes LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
        CHECK (JSON_VALID(attributes)),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=DYNAMIC;
CREATE TABLE IF NOT EXISTS {key_table} (
    provider_id VARBINARY(1020) NOT NULL,
    provider_user_id VARBINARY(1020) NOT NULL,
    user_id VARBINARY(255) NOT NULL,
    hashed_password VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    PRIMARY KEY (provider_id, provider_user_id),
    KEY {key_table}_user_id (user_id),
    FOREIGN KEY (user_id) REFERENCES {user_table} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=DYNAMIC;
CREATE TABLE IF NOT EXISTS {session_table} (
    id VARBINARY(255) NOT NULL,
    user_id VARBINARY(255) NOT NULL,
    secret_hash BINARY(32) NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    attributes LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
        CHECK (JSON_VALID(attributes)),
    PRIMARY KEY (id),
    KEY {session_table}_user_id (user_id),
    KEY {session_table}_expires_at (expires_at),
    FOREIGN KEY (user_id) REFERENCES {user_table} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=DYNAMIC;
-- One-time tokens (email verification, password reset): only the token's
-- SHA-256 is kept, as the primary key (BINARY(32), like the secret hash); the
-- purpose is VARBINARY, compared byte for byte like the ids.
CREATE TABLE IF NOT EXISTS {token_table} (
    id_hash BINARY(32) NOT NULL,
    user_id VARBINARY(255) NOT NULL,
    purpose VARBINARY(255) NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    data LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
        CHECK (JSON_VALID(data)),
    PRIMARY KEY (id_hash),
    KEY {token_table}_user_id_purpose (user_id, purpose),
    KEY {token_table}_expires_at (expires_at),
    FOREIGN KEY (user_id) REFERENCES {user_table} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=DYNAMIC
