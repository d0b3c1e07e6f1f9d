//! Tenure's delivery worker: one pass claims the outbox items that are due, attempts each once
//! through [`tenure_deliver::Deliverer`] and records the outcome.
//!
//! Invariants:
//! - **At-least-once, nothing lost.** An item is leased while it is attempted; a worker that
//!   dies before recording the outcome leaves the item to be claimed again when the lease
//!   runs out. The outbox id goes out as the idempotency key (`webhook-id`, `Message-ID`),
//!   so a receiver that keeps the ids it has seen processes each item exactly once.
//! - An item is **dead** when its failure is permanent or it has had `max_attempts`
//!   attempts; otherwise it is retried after [`RetryPolicy::delay_secs`] (exponential with
//!   jitter; never sooner than the receiver's `Retry-After`). `replay` brings it back.
//! - No clock of its own: the caller passes `now` (Unix seconds), so tests run in virtual time.
//! - Webhook secrets are never stored in the outbox: an item names its endpoint, resolved
//!   here from the configuration.

use rand::{RngExt, SeedableRng};
use std::collections::HashMap;
use tenure_deliver::{Deliverer, Message, RetryPolicy, Target, WebhookSecret};
use tenure_store::journal::{Channel, OutboxItem, Settle};
use tenure_store::{Store, StoreError};

/// A webhook endpoint of the configuration.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub secret: WebhookSecret,
}

/// What a pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pass {
    pub claimed: u64,
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
}

/// The worker's settings and state.
pub struct Worker {
    deliverer: Deliverer,
    endpoints: HashMap<String, Endpoint>,
    policy: RetryPolicy,
    /// How long a claim holds an item (longer than a delivery attempt can take).
    lease_secs: i64,
    /// Items claimed per pass.
    batch: usize,
    rng: rand::rngs::StdRng,
}

impl Worker {
    /// `seed` seeds the jitter (any value; fixed in tests).
    pub fn new(
        deliverer: Deliverer,
        endpoints: HashMap<String, Endpoint>,
        policy: RetryPolicy,
        lease_secs: i64,
        seed: u64,
    ) -> Worker {
        Worker {
            deliverer,
            endpoints,
            policy,
            lease_secs: lease_secs.max(1),
            batch: 100,
            rng: rand::rngs::StdRng::seed_from_u64(seed),
        }
    }

    /// Claim the items due at `now` and attempt each once.
    pub fn pass(&mut self, store: &mut dyn Store, now: i64) -> Result<Pass, StoreError> {
        let items = store.claim_due(now, self.lease_secs, self.batch)?;
        let mut pass = Pass {
            claimed: items.len() as u64,
            ..Pass::default()
        };
        for item in items {
            let outcome = self.attempt(&item, now);
            match &outcome {
                Settle::Delivered => pass.delivered += 1,
                Settle::Retry { .. } => pass.retried += 1,
                Settle::Dead { .. } => pass.dead += 1,
            }
            store.settle(&item.id, &outcome, now)?;
        }
        Ok(pass)
    }

    /// Passes at `now` until nothing more is due at `now`.
    pub fn drain(&mut self, store: &mut dyn Store, now: i64) -> Result<Pass, StoreError> {
        let mut total = Pass::default();
        loop {
            let p = self.pass(store, now)?;
            total.claimed += p.claimed;
            total.delivered += p.delivered;
            total.retried += p.retried;
            total.dead += p.dead;
            // A short batch means nothing else was due at `now` (retries are due later).
            if p.claimed < self.batch as u64 {
                return Ok(total);
            }
        }
    }

    /// One attempt at one item: the outcome to record.
    pub fn attempt(&mut self, item: &OutboxItem, now: i64) -> Settle {
        let msg = match self.message(item) {
            Ok(m) => m,
            Err(error) => return Settle::Dead { error },
        };
        match self.deliverer.deliver(&msg, now) {
            Ok(()) => Settle::Delivered,
            Err(f) if f.permanent => Settle::Dead { error: f.reason },
            Err(f) if self.policy.exhausted(item.attempts) => Settle::Dead {
                error: format!("{} (after {} attempts)", f.reason, item.attempts),
            },
            Err(f) => {
                let u: f64 = self.rng.random();
                let delay = self.policy.delay_secs(item.attempts, u).ceil() as i64;
                let delay = delay.max(f.retry_after_secs.unwrap_or(0) as i64).max(1);
                Settle::Retry {
                    at: now + delay,
                    error: f.reason,
                }
            }
        }
    }

    fn message(&self, item: &OutboxItem) -> Result<Message, String> {
        let target = match item.channel {
            Channel::Webhook => {
                let e = self.endpoints.get(&item.target).ok_or_else(|| {
                    format!(
                        "no webhook endpoint `{}` in the configuration ([webhooks.{}])",
                        item.target, item.target
                    )
                })?;
                Target::Webhook {
                    url: e.url.clone(),
                    secret: e.secret.clone(),
                }
            }
            Channel::Email => {
                let v: serde_json::Value = serde_json::from_str(&item.payload)
                    .map_err(|e| format!("the email's payload is not JSON: {e}"))?;
                let field = |k: &str| v.get(k).and_then(|s| s.as_str()).unwrap_or("").to_string();
                Target::Email {
                    to: item.target.clone(),
                    subject: field("subject"),
                    body: field("body"),
                }
            }
            Channel::Task => return Err("a task is not delivered".into()),
            Channel::Record => {
                return Err("a record is written when its fire is recorded, not delivered".into())
            }
        };
        Ok(Message {
            id: item.id.clone(),
            payload: item.payload.clone(),
            target,
        })
    }
}
