-- API tokens of `tenure serve` (postgres). Only the SHA-256 of a token is stored (hex); the token
-- itself is shown once, when it is created. Instants are integer Unix seconds.

CREATE TABLE tenure_tokens (
    name         TEXT PRIMARY KEY,
    role         TEXT NOT NULL,
    sha256       TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
