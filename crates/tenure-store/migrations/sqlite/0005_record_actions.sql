-- Migration 5 (sqlite): playbook actions that write a record (a support case, an interaction)
-- are kept in the outbox as channel 'record'. SQLite cannot change a CHECK constraint, so the
-- outbox is rebuilt with the same columns and rows (nothing refers to it).

CREATE TABLE tenure_outbox_new (
    id              TEXT PRIMARY KEY NOT NULL,
    rule            TEXT NOT NULL,
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    day             TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email', 'task', 'record')),
    target          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'dead', 'open', 'closed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
) STRICT;
INSERT INTO tenure_outbox_new SELECT * FROM tenure_outbox;
DROP TABLE tenure_outbox;
ALTER TABLE tenure_outbox_new RENAME TO tenure_outbox;
CREATE INDEX tenure_outbox_due ON tenure_outbox (status, next_attempt_at);
