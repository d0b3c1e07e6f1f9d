-- Migration 4 (sqlite): the five record kinds of the wider customer record (docs/schema.md):
-- support cases, payment events, CRM interactions, campaigns and campaign touches. The same
-- conventions as migration 1: UTC text timestamps, money as integer minor units (`*_minor`)
-- with its ISO 4217 currency, deferred references. Booleans are INTEGER 0/1, never NULL
-- (an absent value is false), as on PostgreSQL.

CREATE TABLE cases (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    opened_at    TEXT NOT NULL,
    closed_at    TEXT CHECK (closed_at IS NULL OR closed_at >= opened_at),
    severity     INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    category     TEXT,
    product      TEXT,
    status       TEXT NOT NULL CHECK (status IN ('open', 'pending', 'solved', 'closed')),
    owner        TEXT,
    escalated    INTEGER NOT NULL CHECK (escalated IN (0, 1)),
    escalated_to TEXT CHECK (escalated_to IS NULL OR escalated = 1),
    satisfaction INTEGER CHECK (satisfaction BETWEEN 1 AND 5),
    CHECK ((closed_at IS NOT NULL) = (status IN ('solved', 'closed')))
) STRICT;
CREATE INDEX cases_customer ON cases (customer_id, opened_at);

CREATE TABLE payment_events (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    occurred_at  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('succeeded', 'failed', 'retried', 'refunded',
                                               'chargeback', 'dunning_started',
                                               'dunning_resolved')),
    amount_minor INTEGER CHECK (amount_minor >= 0),
    currency     TEXT,
    invoice      TEXT,
    CHECK ((amount_minor IS NULL) = (currency IS NULL)),
    CHECK (amount_minor IS NOT NULL
           OR kind NOT IN ('succeeded', 'failed', 'refunded', 'chargeback'))
) STRICT;
CREATE INDEX payment_events_customer ON payment_events (customer_id, occurred_at);

CREATE TABLE interactions (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    occurred_at TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'note')),
    owner       TEXT,
    summary     TEXT
) STRICT;
CREATE INDEX interactions_customer ON interactions (customer_id, occurred_at);

CREATE TABLE campaigns (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    channel    TEXT,
    started_at TEXT,
    cost_minor INTEGER NOT NULL CHECK (cost_minor >= 0),
    currency   TEXT NOT NULL
) STRICT;

CREATE TABLE touches (
    id          TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) DEFERRABLE INITIALLY DEFERRED,
    customer_id TEXT NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED,
    sent_at     TEXT NOT NULL,
    opened      INTEGER NOT NULL CHECK (opened IN (0, 1)),
    clicked     INTEGER NOT NULL CHECK (clicked IN (0, 1)),
    replied     INTEGER NOT NULL CHECK (replied IN (0, 1))
) STRICT;
CREATE INDEX touches_customer ON touches (customer_id, sent_at);
CREATE INDEX touches_campaign ON touches (campaign_id);
