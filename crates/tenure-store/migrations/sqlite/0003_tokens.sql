-- Migration 3 (sqlite): API tokens of `tenure serve`, and an index for one customer's outbox
-- items (the customer 360). Only the SHA-256 of a token is stored (hex); the token itself
-- is shown once, when it is created. Instants are integer Unix seconds.

CREATE TABLE tenure_tokens (
    name         TEXT PRIMARY KEY,
    role         TEXT NOT NULL,
    sha256       TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
) STRICT;

CREATE INDEX tenure_outbox_customer ON tenure_outbox (customer_id, created_at);
