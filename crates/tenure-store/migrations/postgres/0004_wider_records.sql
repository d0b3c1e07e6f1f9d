-- Migration 4 (postgres): the five record kinds of the wider customer record (docs/schema.md):
-- support cases, payment events, CRM interactions, campaigns and campaign touches. The same
-- conventions as migration 1: timestamptz, money as integer minor units (`*_minor`)
-- with its ISO 4217 currency, deferred references. Booleans are BIGINT 0/1, never NULL
-- (an absent value is false), as on SQLite.

CREATE TABLE cases (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    opened_at    TIMESTAMPTZ NOT NULL,
    closed_at    TIMESTAMPTZ CHECK (closed_at IS NULL OR closed_at >= opened_at),
    severity     BIGINT NOT NULL CHECK (severity BETWEEN 1 AND 4),
    category     TEXT,
    product      TEXT,
    status       TEXT NOT NULL CHECK (status IN ('open', 'pending', 'solved', 'closed')),
    owner        TEXT,
    escalated    BIGINT NOT NULL CHECK (escalated IN (0, 1)),
    escalated_to TEXT CHECK (escalated_to IS NULL OR escalated = 1),
    satisfaction BIGINT CHECK (satisfaction BETWEEN 1 AND 5),
    CHECK ((closed_at IS NOT NULL) = (status IN ('solved', 'closed')))
);
CREATE INDEX cases_customer ON cases (customer_id, opened_at);

CREATE TABLE payment_events (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    occurred_at  TIMESTAMPTZ NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('succeeded', 'failed', 'retried', 'refunded',
                                               'chargeback', 'dunning_started',
                                               'dunning_resolved')),
    amount_minor BIGINT CHECK (amount_minor >= 0),
    currency     TEXT,
    invoice      TEXT,
    CHECK ((amount_minor IS NULL) = (currency IS NULL)),
    CHECK (amount_minor IS NOT NULL
           OR kind NOT IN ('succeeded', 'failed', 'refunded', 'chargeback'))
);
CREATE INDEX payment_events_customer ON payment_events (customer_id, occurred_at);

CREATE TABLE interactions (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    occurred_at TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'note')),
    owner       TEXT,
    summary     TEXT
);
CREATE INDEX interactions_customer ON interactions (customer_id, occurred_at);

CREATE TABLE campaigns (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    channel    TEXT,
    started_at TIMESTAMPTZ,
    cost_minor BIGINT NOT NULL CHECK (cost_minor >= 0),
    currency   TEXT NOT NULL
);

CREATE TABLE touches (
    id          TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) DEFERRABLE INITIALLY DEFERRED,
    customer_id TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    sent_at     TIMESTAMPTZ NOT NULL,
    opened      BIGINT NOT NULL CHECK (opened IN (0, 1)),
    clicked     BIGINT NOT NULL CHECK (clicked IN (0, 1)),
    replied     BIGINT NOT NULL CHECK (replied IN (0, 1))
);
CREATE INDEX touches_customer ON touches (customer_id, sent_at);
CREATE INDEX touches_campaign ON touches (campaign_id);
