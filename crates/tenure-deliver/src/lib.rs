//! Delivery of one outbound playbook message — a signed webhook or an email — and the retry
//! policy that spaces out the attempts. The outbox and its worker live elsewhere: they store
//! messages, call [`Deliverer::deliver`] once per attempt, and ask [`RetryPolicy`] when to try
//! again. This crate keeps no state between attempts and reads no clock: the caller passes `now`.
//!
//! **Invariants.**
//! - *Idempotency key = [`Message::id`]*, the same on every retry and replay: it is the webhook's
//!   `webhook-id` header and, for email, both `Message-ID: <{id}@tenure>` and
//!   `X-Tenure-Idempotency-Key: {id}`. Receivers de-duplicate on it; an attempt may have reached
//!   the receiver even when it failed (a timeout after the receiver committed), so delivery is
//!   *at least once*. An id is 1–256 characters of letters, digits and ``!#$%&'*+-/=?^_`{|}~``
//!   (RFC 5322 `atext`: no dot, which the signature uses as its separator) — see [`check_id`].
//! - *Delivered* means the receiver accepted it: an HTTP `2xx`, or SMTP `250` after `DATA`.
//! - *Permanent* [`Failure`]s are the ones that repeating the same message cannot fix: HTTP 410
//!   Gone; 301 and 308; any other `4xx` except 408, 409, 425 and 429; a malformed or non-http(s)
//!   URL; an invalid id or address; an SMTP `5xx`; a relay that lacks what the config requires
//!   (STARTTLS, an AUTH mechanism); an email with no SMTP relay configured.
//!   Everything else — `5xx`, the other `3xx` (redirects are never followed), those four `4xx`,
//!   connection errors, timeouts, TLS errors, SMTP `4xx` — is retryable.
//! - *Webhook signature* ([Standard Webhooks] v1): `webhook-signature: v1,` followed by
//!   base64(HMAC-SHA256(key, `"{id}.{timestamp}.{payload}"`)), with `webhook-timestamp` = `now`
//!   in unix seconds and the key the bytes of a `whsec_<base64>` secret. The payload is POSTed
//!   byte for byte as `application/json`; it is not parsed or re-serialised.
//! - No proxy from the environment, no redirect following, no filtering of private addresses
//!   (SSRF protection is the deployment's job: a filtering egress proxy or network policy).
//!
//! ```
//! use tenure_deliver::{Deliverer, DeliveryConfig, Message, RetryPolicy, Target, WebhookSecret};
//! let deliverer = Deliverer::new(&DeliveryConfig::default()).unwrap();
//! let msg = Message {
//!     id: "msg_1".into(),
//!     payload: r#"{"type":"segment.entered"}"#.into(),
//!     target: Target::Webhook {
//!         url: "not a url".into(),
//!         secret: WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
//!     },
//! };
//! let failure = deliverer.deliver(&msg, 1_700_000_000).unwrap_err();
//! assert!(failure.permanent);
//! let policy = RetryPolicy::default();
//! assert!(policy.delay_secs(1, 0.5) <= policy.max_delay_secs);
//! ```
//!
//! The `testkit` feature adds the `testkit` module: loopback HTTP and SMTP receivers for
//! integration tests, this crate's and the outbox's.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com

mod http;
mod retry;
mod sign;
mod smtp;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::fmt;

pub use retry::{Jitter, RetryPolicy};
pub use sign::WebhookSecret;

/// One message to deliver.
#[derive(Debug, Clone)]
pub struct Message {
    /// The idempotency key: stable across retries and replays (see [`check_id`]).
    pub id: String,
    /// JSON text: the exact body of a webhook. Not sent by email (the playbook renders
    /// [`Target::Email`]'s subject and body).
    pub payload: String,
    pub target: Target,
}

/// Where a [`Message`] goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A Standard Webhooks POST of the payload to `url` (http or https), signed with `secret`.
    Webhook { url: String, secret: WebhookSecret },
    /// A text/plain email to one address, through the configured SMTP relay.
    Email {
        to: String,
        subject: String,
        body: String,
    },
}

/// Why an attempt failed, and whether another attempt can succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// True when repeating the same message cannot succeed: stop retrying.
    pub permanent: bool,
    /// What happened, for the outbox's log: status code or SMTP reply, and the receiver's words.
    pub reason: String,
    /// The receiver's `Retry-After` in seconds (delta-seconds form only), if it sent one. The
    /// worker should wait at least this long, e.g. `policy.delay_secs(..).max(retry_after)`.
    pub retry_after_secs: Option<u64>,
}

impl Failure {
    pub fn retryable(reason: impl Into<String>) -> Self {
        Failure {
            permanent: false,
            reason: reason.into(),
            retry_after_secs: None,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Failure {
            permanent: true,
            reason: reason.into(),
            retry_after_secs: None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.permanent {
            "permanent"
        } else {
            "retryable"
        };
        write!(f, "{kind} delivery failure: {}", self.reason)
    }
}

impl std::error::Error for Failure {}

/// How to reach receivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Webhooks: the whole request (connect, send, response head). SMTP: each command. Must
    /// be positive.
    pub timeout_ms: u64,
    /// The relay for email targets; `None` makes every email a permanent failure.
    pub smtp: Option<SmtpConfig>,
}

impl Default for DeliveryConfig {
    /// 10 s timeout, no SMTP relay.
    fn default() -> Self {
        DeliveryConfig {
            timeout_ms: 10_000,
            smtp: None,
        }
    }
}

/// The SMTP relay that sends every email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender mailbox, `tenure@example.com` or `Tenure <tenure@example.com>`.
    pub from: String,
    /// AUTH PLAIN or LOGIN, whichever the relay offers.
    pub auth: Option<SmtpCredentials>,
    pub tls: SmtpTls,
}

/// SMTP credentials. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How the SMTP connection is secured (rustls, Mozilla's root certificates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same host or a trusted network (e.g. 127.0.0.1:25).
    None,
    /// Plain connection upgraded with STARTTLS (port 587). A relay that does not offer it is a
    /// permanent failure: nothing is ever sent in plain text.
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// Delivers messages: an HTTP agent and, if configured, an SMTP transport. Cheap to share
/// between worker threads (`Send + Sync`); each email opens its own SMTP connection.
#[derive(Clone)]
pub struct Deliverer {
    agent: ureq::Agent,
    mailer: Option<smtp::Mailer>,
}

impl Deliverer {
    /// Fails on a zero timeout, an unparsable `from` mailbox or an invalid TLS host name.
    pub fn new(cfg: &DeliveryConfig) -> Result<Self, String> {
        if cfg.timeout_ms == 0 {
            return Err("delivery timeout_ms must be positive".into());
        }
        let timeout = std::time::Duration::from_millis(cfg.timeout_ms);
        let mailer = match &cfg.smtp {
            Some(smtp) => Some(smtp::Mailer::new(smtp, timeout)?),
            None => None,
        };
        Ok(Deliverer {
            agent: http::agent(timeout),
            mailer,
        })
    }

    /// Tries once. `Ok` means the receiver accepted the message (HTTP 2xx, SMTP 250 after
    /// DATA); `now_unix_secs` is the webhook timestamp and the email's `Date`.
    pub fn deliver(&self, msg: &Message, now_unix_secs: i64) -> Result<(), Failure> {
        check_id(&msg.id).map_err(Failure::permanent)?;
        match &msg.target {
            Target::Webhook { url, secret } => {
                http::post(&self.agent, url, secret, msg, now_unix_secs)
            }
            Target::Email { to, subject, body } => match &self.mailer {
                Some(mailer) => mailer.send(&msg.id, to, subject, body, now_unix_secs),
                None => Err(Failure::permanent(
                    "email target but no SMTP relay is configured",
                )),
            },
        }
    }
}

impl fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deliverer")
            .field("smtp", &self.mailer.is_some())
            .finish_non_exhaustive()
    }
}

/// Longest accepted [`Message::id`].
pub const MAX_ID_LEN: usize = 256;

/// Checks that `id` can be carried verbatim as a webhook id, inside a `Message-ID` and as a
/// header value: 1–[`MAX_ID_LEN`] characters, each an ASCII letter or digit or one of
/// ``!#$%&'*+-/=?^_`{|}~``. The outbox can call it when it enqueues; [`Deliverer::deliver`]
/// turns a bad id into a permanent failure.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!(
            "message id must be 1 to {MAX_ID_LEN} characters, got {}",
            id.len()
        ));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    match id.chars().find(|&c| !ok(c)) {
        None => Ok(()),
        Some(c) => Err(format!("message id {id:?} contains {c:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_atext_without_dots() {
        for good in [
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "a",
            "x-1+y=z",
            &"a".repeat(256),
        ] {
            assert_eq!(check_id(good), Ok(()), "{good}");
        }
        for bad in ["", "a.b", "a b", "a:b", "<a>", "a@b", "é", &"a".repeat(257)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deliverer_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Deliverer>();
    }

    #[test]
    fn config_errors_at_construction() {
        let zero = DeliveryConfig {
            timeout_ms: 0,
            smtp: None,
        };
        assert!(Deliverer::new(&zero).is_err());
        let bad_from = DeliveryConfig {
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port: 25,
                from: "not an address".into(),
                auth: None,
                tls: SmtpTls::None,
            }),
            ..DeliveryConfig::default()
        };
        let err = Deliverer::new(&bad_from).unwrap_err();
        assert!(err.contains("not an address"), "{err}");
    }

    #[test]
    fn email_without_relay_is_permanent() {
        let d = Deliverer::new(&DeliveryConfig::default()).unwrap();
        let msg = Message {
            id: "m1".into(),
            payload: "{}".into(),
            target: Target::Email {
                to: "a@example.com".into(),
                subject: "s".into(),
                body: "b".into(),
            },
        };
        let f = d.deliver(&msg, 0).unwrap_err();
        assert!(f.permanent, "{f}");
    }

    #[test]
    fn invalid_id_is_permanent() {
        let d = Deliverer::new(&DeliveryConfig::default()).unwrap();
        let msg = Message {
            id: "has.dot".into(),
            payload: "{}".into(),
            target: Target::Webhook {
                url: "http://127.0.0.1:9/".into(),
                secret: WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
            },
        };
        let f = d.deliver(&msg, 0).unwrap_err();
        assert!(f.permanent && f.reason.contains("has.dot"), "{f}");
    }
}
