-- What the decision layer records (SQLite): segment and stage moves, account goals, the
-- playbooks' fires and the delivery outbox. Days are 'YYYY-MM-DD' text; instants of the
-- outbox are integer Unix seconds (the worker's clock), so the same SQL runs on both backends.

CREATE TABLE tenure_segment_history (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    day         TEXT NOT NULL,
    segment     TEXT NOT NULL,
    previous    TEXT,
    reason      TEXT NOT NULL,
    PRIMARY KEY (customer_id, day)
) STRICT;
CREATE INDEX tenure_segment_history_day ON tenure_segment_history (day);

CREATE TABLE tenure_stage_history (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    day         TEXT NOT NULL,
    stage       TEXT NOT NULL,
    previous    TEXT,
    since       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    PRIMARY KEY (customer_id, day)
) STRICT;
CREATE INDEX tenure_stage_history_day ON tenure_stage_history (day);

CREATE TABLE tenure_goals (
    id          INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    title       TEXT NOT NULL,
    owner       TEXT NOT NULL,
    target_day  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('planned', 'on_track', 'at_risk', 'done', 'dropped')),
    metric      TEXT,
    target      TEXT,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX tenure_goals_customer ON tenure_goals (customer_id);

CREATE TABLE tenure_playbook_fires (
    rule        TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    occurrence  TEXT NOT NULL,
    day         TEXT NOT NULL,
    PRIMARY KEY (rule, customer_id, occurrence)
) STRICT;
CREATE INDEX tenure_playbook_fires_last ON tenure_playbook_fires (rule, customer_id, day);

CREATE TABLE tenure_outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    rule            TEXT NOT NULL,
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    day             TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email', 'task')),
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
CREATE INDEX tenure_outbox_due ON tenure_outbox (status, next_attempt_at);
