-- Migration 5 (postgres): playbook actions that write a record (a support case, an
-- interaction) are kept in the outbox as channel 'record'.

ALTER TABLE tenure_outbox DROP CONSTRAINT tenure_outbox_channel_check;
ALTER TABLE tenure_outbox ADD CONSTRAINT tenure_outbox_channel_check
    CHECK (channel IN ('webhook', 'email', 'task', 'record'));
