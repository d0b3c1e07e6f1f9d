-- The six record kinds of docs/schema.md (SQLite). Timestamps are UTC text
-- 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (fixed width: text order is time order); money is integer
-- minor units (`*_minor`) with its ISO 4217 currency; usage quantities are exact decimal text.
-- References are deferred so one file may refer to rows it inserts later.

CREATE TABLE customers (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT,
    acquired_at TEXT NOT NULL,
    channel     TEXT,
    plan        TEXT,
    region      TEXT,
    referred_by TEXT REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    attributes  TEXT
) STRICT;
CREATE INDEX customers_referred_by ON customers (referred_by);

CREATE TABLE transactions (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    date         TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('new', 'upsell', 'expansion', 'renewal',
                                               'change_order', 'one_off', 'refund')),
    cogs_minor   INTEGER,
    product      TEXT
) STRICT;
CREATE INDEX transactions_customer ON transactions (customer_id, date);

CREATE TABLE subscriptions (
    id               TEXT PRIMARY KEY NOT NULL,
    customer_id      TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    plan             TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    ended_at         TEXT CHECK (ended_at IS NULL OR ended_at >= started_at),
    seats            INTEGER NOT NULL CHECK (seats >= 0),
    amount_minor     INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency         TEXT NOT NULL,
    billing_interval TEXT NOT NULL CHECK (billing_interval IN ('month', 'quarter', 'year')),
    status           TEXT NOT NULL CHECK (status IN ('active', 'trialing', 'past_due', 'paused',
                                                     'canceled'))
) STRICT;
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

CREATE TABLE costs (
    id           TEXT PRIMARY KEY NOT NULL,
    date         TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency     TEXT NOT NULL,
    category     TEXT NOT NULL CHECK (category IN ('acquisition', 'retention', 'service')),
    customer_id  TEXT REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    channel      TEXT,
    cohort       TEXT,
    CHECK ((customer_id IS NOT NULL) + (channel IS NOT NULL) + (cohort IS NOT NULL) = 1)
) STRICT;
CREATE INDEX costs_customer ON costs (customer_id);

CREATE TABLE usage_events (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    user_id     TEXT,
    feature     TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    quantity    TEXT NOT NULL
) STRICT;
CREATE INDEX usage_events_customer ON usage_events (customer_id, occurred_at);

CREATE TABLE feedback (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    occurred_at TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('nps', 'csat')),
    score       INTEGER NOT NULL CHECK ((kind = 'nps' AND score BETWEEN 0 AND 10)
                                        OR (kind = 'csat' AND score BETWEEN 1 AND 5)),
    comment     TEXT
) STRICT;
CREATE INDEX feedback_customer ON feedback (customer_id, occurred_at);
