//! Playbooks: rules `when <trigger> [if <conditions>] then <actions>`, evaluated for each
//! customer on one day into fires for the store's outbox ([`tenure_store::journal::Fire`]).
//!
//! ```toml
//! [[playbooks]]
//! name = "detractor-call"                       # unique, [a-z0-9_-]
//! when = { nps_detractor = { below = 7 } }      # exactly one trigger
//! if = { segment = ["key", "potential_key"], health_below = 60 }   # all must hold
//! cooldown = "30d"
//! then = [
//!   { webhook = "crm" },
//!   { email = "csm@example.com", subject = "Call {customer_id}", body = "{reason}" },
//!   { task = "cs-queue" },
//!   { case = "support-tier2", severity = 2, category = "detractor" },
//!   { interaction = "note", owner = "csm-team", summary = "{reason}" },
//! ]
//!
//! [webhooks.crm]
//! url = "https://crm.example.com/hooks/tenure"
//! secret_env = "TENURE_CRM_SECRET"     # the variable holding the whsec_ secret
//!
//! [smtp]
//! host = "smtp.example.com"
//! from = "Tenure <tenure@example.com>"
//! ```
//!
//! **Triggers** ([`Trigger`]) each name one real-world event by an *occurrence* key, unique
//! per rule and customer: the store records `(rule, customer, occurrence)` once, so evaluating
//! the same day again (or a later day that still sees the same event) never fires twice.
//! Event triggers key the occurrence by the event's own day (the NPS answer, the renewal, the
//! last purchase, the first use); the two *level* triggers (`usage_drop`, `health_below`)
//! hold for as long as the state lasts, so they are keyed by the evaluated day and must have
//! a `cooldown`.
//!
//! **Cooldown**: with `cooldown = "30d"`, a rule whose last fire for the customer (from
//! [`tenure_store::Journal::last_fires`]) was on day L does not fire on day D when L ≠ D and
//! D − L < 30 (so a fire recorded *after* D suppresses too: evaluating an earlier day never
//! re-fires what a later day did). A fire on D itself does not suppress: re-evaluating D
//! yields the same fires with the same ids, which the store skips as duplicates.
//!
//! **Actions** become outbox items ([`NewAction`]) with a deterministic id
//! (`tnr_` + 32 hex digits of FNV-1a-128 over rule, customer, occurrence and action index),
//! valid as a webhook id and inside a `Message-ID`. Payloads are JSON: webhooks and tasks get
//! a Standard Webhooks envelope `{"type", "timestamp", "data"}` (the timestamp is midnight
//! UTC of the evaluated day: there is no clock here); emails get exactly
//! `{"subject", "body"}`, rendered from the action's templates. Case and interaction actions
//! are [`Channel::Record`] items whose payload is one line of the kind's JSON-lines import
//! format (`docs/schema.md`) with the action id as the record id, dated midnight UTC of the
//! evaluated day; the store writes them with the fire ([`tenure_store::Journal::enqueue`]).
//!
//! Pure: no I/O, clock or environment. Secrets are never in the configuration, only the
//! names of the environment variables holding them.

use crate::config::Days;
use crate::facts::Facts;
use crate::health::Health;
use crate::segments::Segment;
use serde::de::{Deserializer, Error as _, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use tenure_core::{FeedbackKind, InteractionKind, PaymentKind, TransactionKind};
use tenure_store::dataset::{day_of_text, ymd_of_day, CustomerIdx, Day};
use tenure_store::journal::{Channel, Fire, NewAction};
use tenure_store::Dataset;

/// The lifecycle stages a rule may name (`stage_change`, `if.stage`).
pub const STAGES: [&str; 4] = ["deliver", "develop", "retain", "grow"];

/// Longest rule or endpoint name.
pub const MAX_NAME_LEN: usize = 64;

/// The placeholders of email and task templates, written `{name}` (`{{` and `}}` for braces).
pub const PLACEHOLDERS: [&str; 8] = [
    "rule",
    "customer_id",
    "occurrence",
    "reason",
    "day",
    "segment",
    "stage",
    "health",
];

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// One `[[playbooks]]` rule: `when` its trigger fires, `if` every condition holds and it is
/// not cooling down, `then` its actions are enqueued.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique; 1–64 of `a-z`, `0-9`, `_`, `-`.
    #[serde(deserialize_with = "name")]
    pub name: String,
    pub when: Trigger,
    /// `if = { … }`: all must hold; none by default.
    #[serde(rename = "if", default)]
    pub conditions: Conditions,
    /// No new fire for a customer within this long of the rule's last fire for her.
    /// Required for the level triggers (`usage_drop`, `health_below`).
    #[serde(default)]
    pub cooldown: Option<Days>,
    /// At least one action, in order.
    #[serde(deserialize_with = "actions")]
    pub then: Vec<Action>,
}

/// What fires a rule (exactly one per rule; `when = { KIND = { … } }`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Trigger {
    /// Her newest NPS answer on or before the day scores below `below` and was given in the
    /// `within` days up to the day. Occurrence `nps:DAY` (the answer's day).
    NpsDetractor {
        /// 1–11; 7 (detractors are 0–6).
        #[serde(default = "seven", deserialize_with = "nps_below")]
        below: u8,
        #[serde(default = "week")]
        within: Days,
    },
    /// Weighted usage (`[usage] weights`) in the last `weeks` weeks up to the day fell by at
    /// least `pct` % from the `weeks` weeks before (which must have some usage). A level
    /// trigger: occurrence `usage_drop:AS_OF`.
    UsageDrop {
        /// In (0, 100].
        #[serde(deserialize_with = "percent")]
        pct: f64,
        /// 1–52.
        #[serde(deserialize_with = "weeks")]
        weeks: u32,
    },
    /// Her segment differs from the one before the day, optionally from / to the listed
    /// ones. Occurrence `segment:FROM>TO:AS_OF`. No previous segment: no change.
    SegmentChange {
        #[serde(default, deserialize_with = "segment_list")]
        from: Option<Vec<String>>,
        #[serde(default, deserialize_with = "segment_list")]
        to: Option<Vec<String>>,
    },
    /// Her lifecycle stage differs from the one before, optionally from / to the listed ones.
    /// Occurrence `stage:FROM>TO:SINCE` (the day she entered the stage; the evaluated day
    /// when unknown).
    StageChange {
        #[serde(default, deserialize_with = "stage_list")]
        from: Option<Vec<String>>,
        #[serde(default, deserialize_with = "stage_list")]
        to: Option<Vec<String>>,
    },
    /// Her next renewal is at most `days` after the day (and not before it). Occurrence
    /// `renewal:DAY` (the renewal's day): once per renewal.
    RenewalWithin { days: Days },
    /// Days since her last purchase > `factor` × her own mean gap between purchases,
    /// (last − first purchase day) / (purchase days − 1); needs two purchase days.
    /// Occurrence `inactive:LAST_PURCHASE_DAY`: once per silence (a purchase ends it).
    InactiveBeyondGap {
        /// > 0; 2.
        #[serde(default = "two", deserialize_with = "positive")]
        factor: f64,
    },
    /// Her health score is below `score`. A level trigger: occurrence `health<SCORE:AS_OF`.
    HealthBelow {
        /// 0–100.
        #[serde(deserialize_with = "score")]
        score: f64,
    },
    /// She reached milestone `name` (the first use of that usage feature) in the `within`
    /// days up to the day. Occurrence `milestone:NAME:DAY` (the day reached).
    Milestone {
        name: String,
        #[serde(default = "week")]
        within: Days,
    },
    /// One of her support cases, opened in the `within` days up to the day, is escalated.
    /// Occurrence `case_escalated:DAY:SEVERITY` (the newest such case's opening day).
    CaseEscalated {
        #[serde(default = "week")]
        within: Days,
    },
    /// A payment of hers failed in the `within` days up to the day. Occurrence
    /// `payment_failed:DAY` (the newest failure's day): once per failure day.
    PaymentFailed {
        #[serde(default = "week")]
        within: Days,
    },
}

impl Trigger {
    /// The trigger's key in `tenure.toml` (`nps_detractor`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::NpsDetractor { .. } => "nps_detractor",
            Trigger::UsageDrop { .. } => "usage_drop",
            Trigger::SegmentChange { .. } => "segment_change",
            Trigger::StageChange { .. } => "stage_change",
            Trigger::RenewalWithin { .. } => "renewal_within",
            Trigger::InactiveBeyondGap { .. } => "inactive_beyond_gap",
            Trigger::HealthBelow { .. } => "health_below",
            Trigger::Milestone { .. } => "milestone",
            Trigger::CaseEscalated { .. } => "case_escalated",
            Trigger::PaymentFailed { .. } => "payment_failed",
        }
    }

    /// A level trigger holds for as long as a state lasts (its occurrence is the evaluated
    /// day), so its rule needs a cooldown.
    pub fn is_level(&self) -> bool {
        matches!(
            self,
            Trigger::UsageDrop { .. } | Trigger::HealthBelow { .. }
        )
    }
}

fn seven() -> u8 {
    7
}
fn week() -> Days {
    Days(7)
}
fn two() -> f64 {
    2.0
}

/// `if = { … }`: conditions that must all hold. A condition on an input the customer lacks
/// (no segment, stage or health score) does not hold.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Conditions {
    /// Her segment is one of these (`"key"` or `["key", "potential_key"]`).
    #[serde(deserialize_with = "segment_list")]
    pub segment: Option<Vec<String>>,
    /// Her lifecycle stage is one of these.
    #[serde(deserialize_with = "stage_list")]
    pub stage: Option<Vec<String>>,
    /// Her health score is below this.
    #[serde(deserialize_with = "opt_score")]
    pub health_below: Option<f64>,
    /// Her health score is at least this.
    #[serde(deserialize_with = "opt_score")]
    pub health_at_least: Option<f64>,
    /// She was acquired at least this long before the day.
    pub min_tenure: Option<Days>,
    /// She holds (true) or does not hold (false) a running subscription.
    pub subscribed: Option<bool>,
}

/// One action of a rule: `{ webhook = "NAME" }`, `{ email = "ADDRESS", subject = "…", body =
/// "…" }`, `{ task = "QUEUE", title = "…" }`, `{ case = "OWNER", severity = 2, category =
/// "…" }` or `{ interaction = "note", owner = "…", summary = "…" }`. Templates take
/// [`PLACEHOLDERS`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// POST to `[webhooks.NAME]`.
    Webhook { endpoint: String },
    /// An email through `[smtp]`.
    Email {
        to: String,
        subject: String,
        body: String,
    },
    /// A task in a queue (kept open in the outbox until closed).
    Task { queue: String, title: String },
    /// An open support case, written to the store with the fire: opened at midnight UTC of
    /// the evaluated day, owned by `owner`, of `severity` 1–4 (default 3), not escalated.
    Case {
        owner: String,
        severity: u8,
        category: Option<String>,
    },
    /// A CRM interaction (`call`, `email`, `meeting`, `note`), written to the store with the
    /// fire, dated midnight UTC of the evaluated day; `summary` is a template.
    Interaction {
        kind: InteractionKind,
        owner: Option<String>,
        summary: String,
    },
}

/// The default email subject.
pub const DEFAULT_SUBJECT: &str = "[Tenure] {rule}: {customer_id}";
/// The default email body.
pub const DEFAULT_BODY: &str = "{reason}\n\nCustomer: {customer_id}\nRule: {rule}\nSegment: {segment}\nStage: {stage}\nHealth: {health}\nDay: {day}\n";
/// The default task title.
pub const DEFAULT_TITLE: &str = "{rule}: {customer_id}: {reason}";
/// The default interaction summary.
pub const DEFAULT_SUMMARY: &str = "Playbook {rule}: {reason}";
/// The severity of a case action that names none.
pub const DEFAULT_CASE_SEVERITY: u8 = 3;
/// Longest owner or category of a record action.
pub const MAX_LABEL_LEN: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    webhook: Option<String>,
    email: Option<String>,
    task: Option<String>,
    case: Option<String>,
    interaction: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    title: Option<String>,
    severity: Option<i64>,
    category: Option<String>,
    owner: Option<String>,
    summary: Option<String>,
}

/// An owner or category: 1–[`MAX_LABEL_LEN`] bytes, no control characters.
fn check_label(key: &str, v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        return Err(format!("`{key}` is empty"));
    }
    if v.len() > MAX_LABEL_LEN {
        return Err(format!(
            "`{key}` is {} bytes long; at most {MAX_LABEL_LEN}",
            v.len()
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("`{key}` contains a control character"));
    }
    Ok(())
}

impl TryFrom<RawAction> for Action {
    type Error = String;
    fn try_from(r: RawAction) -> Result<Action, String> {
        let kinds = [
            r.webhook.is_some(),
            r.email.is_some(),
            r.task.is_some(),
            r.case.is_some(),
            r.interaction.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(
                "an action is exactly one of `webhook = \"NAME\"`, `email = \"ADDRESS\"`, `task = \"QUEUE\"`, `case = \"OWNER\"`, `interaction = \"KIND\"`"
                    .into(),
            );
        }
        for (t, key) in [
            (&r.subject, "subject"),
            (&r.body, "body"),
            (&r.title, "title"),
            (&r.summary, "summary"),
        ] {
            if let Some(t) = t {
                template(t).map_err(|e| format!("`{key}`: {e}"))?;
            }
        }
        let record_keys = r.severity.is_some()
            || r.category.is_some()
            || r.owner.is_some()
            || r.summary.is_some();
        let message_keys = r.subject.is_some() || r.body.is_some() || r.title.is_some();
        if let Some(owner) = r.case {
            if message_keys || r.summary.is_some() || r.owner.is_some() {
                return Err(
                    "a case action takes `severity` and `category` (the owner is `case = \"OWNER\"`)"
                        .into(),
                );
            }
            check_label("case", &owner)?;
            let severity = match r.severity {
                None => DEFAULT_CASE_SEVERITY,
                Some(v @ 1..=4) => v as u8,
                Some(v) => {
                    return Err(format!(
                        "`severity` is {v}; a case's severity is 1 (most severe) to 4"
                    ))
                }
            };
            if let Some(c) = &r.category {
                check_label("category", c)?;
            }
            return Ok(Action::Case {
                owner,
                severity,
                category: r.category,
            });
        }
        if let Some(kind) = r.interaction {
            if message_keys || r.severity.is_some() || r.category.is_some() {
                return Err("an interaction action takes `owner` and `summary`".into());
            }
            let kind = kind.parse::<InteractionKind>().map_err(|_| {
                format!("`interaction = \"{kind}\"`: the kind is one of call, email, meeting, note")
            })?;
            if let Some(o) = &r.owner {
                check_label("owner", o)?;
            }
            return Ok(Action::Interaction {
                kind,
                owner: r.owner,
                summary: r.summary.unwrap_or_else(|| DEFAULT_SUMMARY.into()),
            });
        }
        if record_keys {
            return Err(
                "`severity`, `category`, `owner` and `summary` belong to case and interaction actions"
                    .into(),
            );
        }
        if let Some(endpoint) = r.webhook {
            if r.subject.is_some() || r.body.is_some() || r.title.is_some() {
                return Err("a webhook action takes no subject, body or title".into());
            }
            check_name(&endpoint).map_err(|e| format!("webhook `{endpoint}`: {e}"))?;
            return Ok(Action::Webhook { endpoint });
        }
        if let Some(to) = r.email {
            if r.title.is_some() {
                return Err("an email action takes a subject and a body, not a title".into());
            }
            let address_ok = to.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty()
                    && !d.is_empty()
                    && !to
                        .chars()
                        .any(|c| c.is_whitespace() || "<>,;\"".contains(c))
            });
            if !address_ok {
                return Err(format!("`{to}` is not an email address"));
            }
            return Ok(Action::Email {
                to,
                subject: r.subject.unwrap_or_else(|| DEFAULT_SUBJECT.into()),
                body: r.body.unwrap_or_else(|| DEFAULT_BODY.into()),
            });
        }
        let queue = r.task.unwrap_or_default();
        if r.subject.is_some() || r.body.is_some() {
            return Err("a task action takes a title, not a subject or body".into());
        }
        check_name(&queue).map_err(|e| format!("task queue `{queue}`: {e}"))?;
        Ok(Action::Task {
            queue,
            title: r.title.unwrap_or_else(|| DEFAULT_TITLE.into()),
        })
    }
}

fn actions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Action>, D::Error> {
    let raw = Vec::<RawAction>::deserialize(d)?;
    if raw.is_empty() {
        return Err(D::Error::custom("a rule needs at least one action"));
    }
    raw.into_iter()
        .map(|r| Action::try_from(r).map_err(D::Error::custom))
        .collect()
}

/// One `[webhooks.NAME]` endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `https://…` (or `http://…`).
    #[serde(deserialize_with = "http_url")]
    pub url: String,
    /// The environment variable holding the endpoint's `whsec_…` signing secret (the
    /// configuration never holds secrets).
    #[serde(deserialize_with = "env_name")]
    pub secret_env: String,
}

/// How the SMTP connection is secured (as `tenure_deliver::SmtpTls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain text: only for a relay on a trusted network.
    None,
    /// STARTTLS on a plain connection (port 587); never falls back to plain text.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// `[smtp]`: the relay of email actions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    #[serde(default = "submission_port")]
    pub port: u16,
    /// The sender, `tenure@example.com` or `Tenure <tenure@example.com>`.
    pub from: String,
    /// `starttls` (default), `implicit` or `none`.
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// The environment variable holding the password (with `username`).
    #[serde(default, deserialize_with = "opt_env_name")]
    pub password_env: Option<String>,
}

fn submission_port() -> u16 {
    587
}

/// How the backoff jitter spreads a retry delay (as `tenure_deliver::Jitter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    None,
    Full,
    #[default]
    Equal,
}

/// `[delivery]`: the worker's retries (`tenure_deliver::RetryPolicy`), lease and timeout.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Attempts in all, the first included (≥ 1); 12.
    #[serde(deserialize_with = "at_least_one")]
    pub max_attempts: u32,
    /// The first retry's delay ceiling, seconds (≥ 1); 30.
    #[serde(deserialize_with = "at_least_one_u64")]
    pub base_delay_secs: u64,
    /// Each retry's ceiling is the previous one's times this (≥ 1); 2.
    #[serde(deserialize_with = "factor_at_least_one")]
    pub backoff_factor: f64,
    /// The ceiling's cap, seconds (≥ `base_delay_secs`); 21600 (6 h).
    pub max_delay_secs: u64,
    pub jitter: Jitter,
    /// How long a claim holds an item, seconds (longer than `timeout_ms`); 300.
    pub lease_secs: u64,
    /// A delivery attempt's timeout, milliseconds (≥ 1); 10000.
    #[serde(deserialize_with = "at_least_one_u64")]
    pub timeout_ms: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            max_attempts: 12,
            base_delay_secs: 30,
            backoff_factor: 2.0,
            max_delay_secs: 21_600,
            jitter: Jitter::Equal,
            lease_secs: 300,
            timeout_ms: 10_000,
        }
    }
}

// --- field validators ------------------------------------------------------------------

fn check_name(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_NAME_LEN {
        return Err(format!("a name is 1 to {MAX_NAME_LEN} characters"));
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        None => Ok(()),
        Some(c) => Err(format!(
            "{c:?} is not allowed in a name (only a-z, 0-9, `_` and `-`)"
        )),
    }
}

fn name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_name(&s).map_err(|e| D::Error::custom(format!("`{s}`: {e}")))?;
    Ok(s)
}

fn nps_below<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let v = i64::deserialize(d)?;
    if !(1..=11).contains(&v) {
        return Err(D::Error::custom(format!(
            "{v}: an NPS threshold is 1 to 11 (scores are 0 to 10)"
        )));
    }
    Ok(v as u8)
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !v.is_finite() {
        return Err(D::Error::custom(format!("{v} is not a finite number")));
    }
    Ok(v)
}

fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = number(d)?;
    if !(v > 0.0 && v <= 100.0) {
        return Err(D::Error::custom(format!(
            "{v}: a drop is more than 0 and at most 100 %"
        )));
    }
    Ok(v)
}

fn weeks<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    if !(1..=52).contains(&v) {
        return Err(D::Error::custom(format!("{v}: weeks is 1 to 52")));
    }
    Ok(v as u32)
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = number(d)?;
    if v <= 0.0 {
        return Err(D::Error::custom(format!("{v} must be more than 0")));
    }
    Ok(v)
}

fn score<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = number(d)?;
    if !(0.0..=100.0).contains(&v) {
        return Err(D::Error::custom(format!("{v}: a health score is 0 to 100")));
    }
    Ok(v)
}

fn opt_score<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    score(d).map(Some)
}

fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u32::deserialize(d)?;
    if v == 0 {
        return Err(D::Error::custom("must be at least 1"));
    }
    Ok(v)
}

fn at_least_one_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v == 0 {
        return Err(D::Error::custom("must be at least 1"));
    }
    Ok(v)
}

fn factor_at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = number(d)?;
    if v < 1.0 {
        return Err(D::Error::custom(format!(
            "{v}: the backoff factor is at least 1"
        )));
    }
    Ok(v)
}

fn http_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !s.chars().any(char::is_whitespace) => {
            Ok(s)
        }
        _ => Err(D::Error::custom(format!(
            "`{s}` is not an http(s) URL (https://host/path)"
        ))),
    }
}

fn check_env_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an environment variable name (A-Z, 0-9, `_`): name the variable holding the secret, never the secret itself"
        ))
    }
}

fn env_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_env_name(&s).map_err(D::Error::custom)?;
    Ok(s)
}

fn opt_env_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    env_name(d).map(Some)
}

/// A name or a list of names, each one of `allowed`.
fn name_list<'de, D: Deserializer<'de>>(
    d: D,
    what: &'static str,
    allowed: &[&str],
) -> Result<Option<Vec<String>>, D::Error> {
    struct OneOrMany;
    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a name or a list of names")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Vec<String>, A::Error> {
            let mut v = Vec::new();
            while let Some(s) = a.next_element::<String>()? {
                v.push(s);
            }
            Ok(v)
        }
    }
    let v = d.deserialize_any(OneOrMany)?;
    if v.is_empty() {
        return Err(D::Error::custom(format!("an empty list of {what}s")));
    }
    if let Some(bad) = v.iter().find(|s| !allowed.contains(&s.as_str())) {
        return Err(D::Error::custom(format!(
            "`{bad}` is not a {what} ({})",
            allowed.join(", ")
        )));
    }
    Ok(Some(v))
}

fn segment_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let names = Segment::ALL.map(Segment::as_str);
    name_list(d, "segment", &names)
}

fn stage_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    name_list(d, "stage", &STAGES)
}

/// Checks across keys of the whole configuration: (the key to blame, why).
///
/// Duplicate rule names (blames the first `name`), a level trigger without a cooldown
/// (`when`), a webhook action naming no `[webhooks.X]` and an email action without `[smtp]`
/// (`then`), bad endpoint names (`webhooks`), a username without a password variable or the
/// reverse (`smtp`), and the delivery settings' relations.
pub(crate) fn check(cfg: &crate::Config) -> Result<(), (&'static str, String)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, r) in cfg.playbooks.iter().enumerate() {
        if let Some(first) = seen.insert(&r.name, i) {
            return Err((
                "name",
                format!(
                    "rule `{}` is defined twice (rules {} and {}): names must be unique",
                    r.name,
                    first + 1,
                    i + 1
                ),
            ));
        }
        if r.when.is_level() && r.cooldown.is_none() {
            return Err((
                "when",
                format!(
                    "rule `{}`: `{}` holds for as long as the state lasts; give the rule a `cooldown` (e.g. \"30d\") or it fires on every evaluated day",
                    r.name,
                    r.when.kind()
                ),
            ));
        }
        for a in &r.then {
            match a {
                Action::Webhook { endpoint } if !cfg.webhooks.contains_key(endpoint) => {
                    return Err((
                        "then",
                        format!(
                            "rule `{}`: webhook `{endpoint}` is not defined (add [webhooks.{endpoint}] with url and secret_env){}",
                            r.name,
                            if cfg.webhooks.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    "; defined: {}",
                                    cfg.webhooks.keys().cloned().collect::<Vec<_>>().join(", ")
                                )
                            }
                        ),
                    ));
                }
                Action::Email { to, .. } if cfg.smtp.is_none() => {
                    return Err((
                        "then",
                        format!(
                            "rule `{}`: email to {to} needs an [smtp] relay (host, from)",
                            r.name
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
    for name in cfg.webhooks.keys() {
        check_name(name).map_err(|e| ("webhooks", format!("[webhooks.{name}]: {e}")))?;
    }
    if let Some(s) = &cfg.smtp {
        if s.host.trim().is_empty() {
            return Err(("host", "the SMTP host is empty".into()));
        }
        if !s.from.contains('@') {
            return Err((
                "from",
                format!("`{}` is not a sender address (tenure@example.com)", s.from),
            ));
        }
        if s.username.is_some() != s.password_env.is_some() {
            return Err((
                "smtp",
                "give both `username` and `password_env`, or neither".into(),
            ));
        }
    }
    let d = &cfg.delivery;
    if d.max_delay_secs < d.base_delay_secs {
        return Err((
            "max_delay_secs",
            format!(
                "{} is below base_delay_secs ({})",
                d.max_delay_secs, d.base_delay_secs
            ),
        ));
    }
    if d.lease_secs.saturating_mul(1000) <= d.timeout_ms {
        return Err((
            "lease_secs",
            format!(
                "{} s is not longer than an attempt's timeout ({} ms): an item could be claimed twice while it is being sent",
                d.lease_secs, d.timeout_ms
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

/// One customer on the evaluated day, as the CLI knows her.
///
/// Records (NPS answers, usage, purchases) are read from the [`Dataset`] by
/// `facts.customer`; the rest is given here. `id` is her id in the store
/// (`data.customer_id(facts.customer)`), used in fires and payloads.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub id: &'a str,
    pub facts: &'a Facts,
    pub health: Option<&'a Health>,
    /// Her segment on the day.
    pub segment: Option<&'a str>,
    /// Her segment before the day: the newest stored move dated *before* the day (so that
    /// re-evaluating a recorded day sees the same change); `None`: none known (no change).
    pub previous_segment: Option<&'a str>,
    /// Her lifecycle stage on the day.
    pub stage: Option<&'a str>,
    /// Her stage before the day (as `previous_segment`).
    pub previous_stage: Option<&'a str>,
    /// When she entered `stage`, as far as the records tell (keys a stage change's
    /// occurrence; `None`: the evaluated day).
    pub stage_since: Option<Day>,
    /// Her next renewal (e.g. [`crate::forecast::RenewalForecast::next_renewal`]).
    pub next_renewal: Option<Day>,
    /// Milestones reached on or before the day: (name, day), e.g. [`first_uses`].
    pub milestones: &'a [(String, Day)],
}

/// A rule fired for a customer: the fire for the store, and why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub fire: Fire,
    /// `NPS 3 on 2025-03-02 (below 7)`.
    pub reason: String,
}

/// `YYYY-MM-DD`.
pub fn day_text(d: Day) -> String {
    let (y, m, dd) = ymd_of_day(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

/// The first use of each usage feature on or before `as_of`: (feature, day), by feature name.
/// The milestones of [`Trigger::Milestone`].
pub fn first_uses(data: &Dataset, customer: CustomerIdx, as_of: Day) -> Vec<(String, Day)> {
    let mut first: BTreeMap<&str, Day> = BTreeMap::new();
    for u in data.usage_of(customer).iter().filter(|u| u.day <= as_of) {
        let e = first.entry(data.name(u.feature)).or_insert(u.day);
        *e = (*e).min(u.day);
    }
    first.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Weighted usage in two adjacent windows of `days` days: `recent` in (as_of − days, as_of],
/// `before` in (as_of − 2·days, as_of − days]. A window reaching before her acquisition is
/// taken as it is (which can only understate a drop).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageWindows {
    pub days: i32,
    pub recent: f64,
    pub before: f64,
}

impl UsageWindows {
    /// The fall from `before` to `recent` in % of `before` (negative: a rise); `None` without
    /// usage before.
    pub fn drop_pct(&self) -> Option<f64> {
        (self.before > 0.0).then(|| (self.before - self.recent) / self.before * 100.0)
    }
}

/// The usage-drop inputs of one customer: each usage row weighs `weights[feature]` (else 1)
/// times its quantity, as in [`crate::facts`].
pub fn usage_windows(
    data: &Dataset,
    customer: CustomerIdx,
    as_of: Day,
    days: i32,
    weights: &BTreeMap<String, f64>,
) -> UsageWindows {
    let mut w = UsageWindows {
        days,
        recent: 0.0,
        before: 0.0,
    };
    for u in data.usage_of(customer) {
        let age = as_of - u.day;
        if age < 0 || age >= 2 * days {
            continue;
        }
        let q = weights.get(data.name(u.feature)).copied().unwrap_or(1.0) * u.quantity;
        if age < days {
            w.recent += q;
        } else {
            w.before += q;
        }
    }
    w
}

/// Her purchase days on or before `as_of` (days with a line that is not a refund), in order.
pub fn purchase_days(data: &Dataset, customer: CustomerIdx, as_of: Day) -> Vec<Day> {
    let mut days: Vec<Day> = data
        .transactions_of(customer)
        .iter()
        .filter(|t| t.day <= as_of && t.kind != TransactionKind::Refund)
        .map(|t| t.day)
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

/// A number as a reader writes it: `30`, `12.5`.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn listed(list: &Option<Vec<String>>, v: &str) -> bool {
    list.as_ref().is_none_or(|l| l.iter().any(|x| x == v))
}

/// The trigger's occurrence and reason for this subject, if it fires.
fn triggered(
    t: &Trigger,
    s: &Subject,
    data: &Dataset,
    as_of: Day,
    cfg: &crate::Config,
) -> Option<(String, String)> {
    let c = s.facts.customer;
    match t {
        Trigger::NpsDetractor { below, within } => {
            let mut newest: Option<(u8, Day)> = None;
            for f in data.feedback_of(c) {
                if f.kind == FeedbackKind::Nps
                    && f.day <= as_of
                    && newest.is_none_or(|(_, d)| f.day >= d)
                {
                    newest = Some((f.score, f.day));
                }
            }
            let (score, day) = newest?;
            (score < *below && as_of - day < within.0 as i32).then(|| {
                (
                    format!("nps:{}", day_text(day)),
                    format!("NPS {score} on {} (below {below})", day_text(day)),
                )
            })
        }
        Trigger::UsageDrop { pct, weeks } => {
            let days = 7 * *weeks as i32;
            let w = usage_windows(data, c, as_of, days, &cfg.usage.weights);
            let drop = w.drop_pct()?;
            // (before − recent)·100 ≥ pct·before, without dividing.
            ((w.before - w.recent) * 100.0 >= pct * w.before).then(|| {
                (
                    format!("usage_drop:{}", day_text(as_of)),
                    format!(
                        "usage down {} % in the last {weeks} weeks ({} vs {} in the {weeks} weeks before; at least {} %)",
                        num(drop),
                        num(w.recent),
                        num(w.before),
                        num(*pct)
                    ),
                )
            })
        }
        Trigger::SegmentChange { from, to } => {
            let (prev, now) = (s.previous_segment?, s.segment?);
            (prev != now && listed(from, prev) && listed(to, now)).then(|| {
                (
                    format!("segment:{prev}>{now}:{}", day_text(as_of)),
                    format!("segment {prev} → {now} on {}", day_text(as_of)),
                )
            })
        }
        Trigger::StageChange { from, to } => {
            let (prev, now) = (s.previous_stage?, s.stage?);
            let since = s.stage_since.unwrap_or(as_of);
            (prev != now && listed(from, prev) && listed(to, now)).then(|| {
                (
                    format!("stage:{prev}>{now}:{}", day_text(since)),
                    format!("stage {prev} → {now} since {}", day_text(since)),
                )
            })
        }
        Trigger::RenewalWithin { days } => {
            let r = s.next_renewal?;
            let left = r - as_of;
            (0..=days.0 as i32).contains(&left).then(|| {
                (
                    format!("renewal:{}", day_text(r)),
                    format!(
                        "renewal on {} in {left} days (within {})",
                        day_text(r),
                        days.0
                    ),
                )
            })
        }
        Trigger::InactiveBeyondGap { factor } => {
            let p = purchase_days(data, c, as_of);
            let (first, last) = (*p.first()?, *p.last()?);
            if p.len() < 2 {
                return None;
            }
            let gap = f64::from(last - first) / (p.len() - 1) as f64;
            let quiet = as_of - last;
            (f64::from(quiet) > factor * gap).then(|| {
                (
                    format!("inactive:{}", day_text(last)),
                    format!(
                        "no purchase for {quiet} days since {}: more than {} × her mean gap of {} days ({} purchase days)",
                        day_text(last),
                        num(*factor),
                        num(gap),
                        p.len()
                    ),
                )
            })
        }
        Trigger::HealthBelow { score } => {
            let h = s.health?;
            let v = h.score?;
            (v < *score).then(|| {
                let loss = h
                    .biggest_losses()
                    .first()
                    .map(|c| format!("; biggest loss: {} ({})", c.name, c.input))
                    .unwrap_or_default();
                (
                    format!("health<{}:{}", num(*score), day_text(as_of)),
                    format!("health {} below {}{loss}", num(v), num(*score)),
                )
            })
        }
        Trigger::CaseEscalated { within } => {
            let k = data
                .cases_of(c)
                .iter()
                .filter(|k| k.escalated && k.day <= as_of && as_of - k.day < within.0 as i32)
                .max_by_key(|k| (k.day, std::cmp::Reverse(k.severity)))?;
            let to = k
                .escalated_to
                .map_or(String::new(), |t| format!(" to {}", data.name(t)));
            Some((
                format!("case_escalated:{}:{}", day_text(k.day), k.severity),
                format!(
                    "severity-{} case opened on {} escalated{to} ({})",
                    k.severity,
                    day_text(k.day),
                    k.status.as_str()
                ),
            ))
        }
        Trigger::PaymentFailed { within } => {
            let recent: Vec<_> = data
                .payments_of(c)
                .iter()
                .filter(|p| {
                    p.kind == PaymentKind::Failed
                        && p.day <= as_of
                        && as_of - p.day < within.0 as i32
                })
                .collect();
            let newest = recent.iter().map(|p| p.day).max()?;
            let amount = recent
                .iter()
                .filter(|p| p.day == newest)
                .find_map(|p| p.amount)
                .map_or(String::new(), |a| {
                    format!(" ({} {})", a.to_decimal(), a.currency())
                });
            Some((
                format!("payment_failed:{}", day_text(newest)),
                format!(
                    "payment failed on {}{amount}; {} failed in the last {} days",
                    day_text(newest),
                    recent.len(),
                    within.0
                ),
            ))
        }
        Trigger::Milestone { name, within } => {
            let (_, day) = s.milestones.iter().find(|(n, _)| n == name)?;
            let age = as_of - day;
            (0..within.0 as i32).contains(&age).then(|| {
                (
                    format!("milestone:{name}:{}", day_text(*day)),
                    format!("first used `{name}` on {}", day_text(*day)),
                )
            })
        }
    }
}

fn holds(c: &Conditions, s: &Subject) -> bool {
    let score = s.health.and_then(|h| h.score);
    let in_list = |l: &Option<Vec<String>>, v: Option<&str>| match l {
        None => true,
        Some(l) => v.is_some_and(|v| l.iter().any(|x| x == v)),
    };
    in_list(&c.segment, s.segment)
        && in_list(&c.stage, s.stage)
        && c.health_below.is_none_or(|t| score.is_some_and(|v| v < t))
        && c.health_at_least
            .is_none_or(|t| score.is_some_and(|v| v >= t))
        && c.min_tenure
            .is_none_or(|t| s.facts.tenure_days >= t.0 as i32)
        && c.subscribed.is_none_or(|b| s.facts.subscribed == b)
}

fn cooling(
    rule: &Rule,
    customer: &str,
    as_of: Day,
    last: &HashMap<(String, String), String>,
) -> bool {
    let Some(cd) = rule.cooldown else {
        return false;
    };
    last.get(&(rule.name.clone(), customer.to_string()))
        .and_then(|d| day_of_text(d))
        .is_some_and(|l| l != as_of && as_of - l < cd.0 as i32)
}

/// Evaluate `rules` for every subject on `as_of`: the fires, by rule then subject order, at
/// most one per rule and subject. `last_fires`: each (rule, customer id)'s newest fire day
/// (`YYYY-MM-DD`), as [`tenure_store::Journal::last_fires`] returns; `cfg` gives the usage
/// weights.
pub fn evaluate(
    rules: &[Rule],
    subjects: &[Subject],
    data: &Dataset,
    as_of: Day,
    last_fires: &HashMap<(String, String), String>,
    cfg: &crate::Config,
) -> Vec<Firing> {
    let mut out = Vec::new();
    for rule in rules {
        for s in subjects {
            let Some((occurrence, reason)) = triggered(&rule.when, s, data, as_of, cfg) else {
                continue;
            };
            if !holds(&rule.conditions, s) || cooling(rule, s.id, as_of, last_fires) {
                continue;
            }
            let ctx = Context {
                rule,
                s,
                occurrence: &occurrence,
                reason: &reason,
                as_of,
            };
            let actions = rule
                .then
                .iter()
                .enumerate()
                .map(|(i, a)| ctx.action(i, a))
                .collect();
            out.push(Firing {
                fire: Fire {
                    rule: rule.name.clone(),
                    customer_id: s.id.to_string(),
                    occurrence,
                    day: day_text(as_of),
                    actions,
                },
                reason,
            });
        }
    }
    out
}

/// The deterministic outbox id of action `index` of a fire: `tnr_` + 32 lowercase hex digits
/// of FNV-1a-128 over the length-prefixed rule, customer id, occurrence and index.
pub fn action_id(rule: &str, customer_id: &str, occurrence: &str, index: usize) -> String {
    let mut h = Fnv128::new();
    for part in [rule, customer_id, occurrence, &index.to_string()] {
        h.write(&(part.len() as u64).to_le_bytes());
        h.write(part.as_bytes());
    }
    format!("tnr_{:032x}", h.0)
}

/// FNV-1a, 128 bits (offset basis and prime of the FNV specification).
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    fn new() -> Self {
        Fnv128(Self::OFFSET)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u128::from(*b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

/// The FNV-1a-128 of `bytes` (exposed for its test vectors).
pub fn fnv1a_128(bytes: &[u8]) -> u128 {
    let mut h = Fnv128::new();
    h.write(bytes);
    h.0
}

struct Context<'a> {
    rule: &'a Rule,
    s: &'a Subject<'a>,
    occurrence: &'a str,
    reason: &'a str,
    as_of: Day,
}

impl Context<'_> {
    fn health(&self) -> Option<f64> {
        self.s
            .health
            .and_then(|h| h.score)
            .filter(|v| v.is_finite())
    }

    fn value(&self, key: &str) -> String {
        match key {
            "rule" => self.rule.name.clone(),
            "customer_id" => self.s.id.to_string(),
            "occurrence" => self.occurrence.to_string(),
            "reason" => self.reason.to_string(),
            "day" => day_text(self.as_of),
            "segment" => self.s.segment.unwrap_or("none").to_string(),
            "stage" => self.s.stage.unwrap_or("none").to_string(),
            "health" => self.health().map_or("none".into(), num),
            _ => String::new(),
        }
    }

    fn render(&self, t: &str) -> String {
        // Templates were checked at load; a bad one (built by hand) renders as written.
        match template(t) {
            Ok(parts) => parts
                .iter()
                .map(|p| match p {
                    Piece::Text(s) => s.clone(),
                    Piece::Field(k) => self.value(k),
                })
                .collect(),
            Err(_) => t.to_string(),
        }
    }

    /// `{"rule": …, "customer_id": …, …}`.
    fn data_json(&self) -> String {
        let s = self.s;
        let opt = |v: Option<&str>| v.map_or("null".to_string(), json_string);
        let band = s.health.and_then(|h| h.band).map(|b| b.as_str());
        format!(
            "{{\"rule\":{},\"customer_id\":{},\"occurrence\":{},\"trigger\":{},\"reason\":{},\"day\":{},\"segment\":{},\"stage\":{},\"health\":{},\"health_band\":{}}}",
            json_string(&self.rule.name),
            json_string(s.id),
            json_string(self.occurrence),
            json_string(self.rule.when.kind()),
            json_string(self.reason),
            json_string(&day_text(self.as_of)),
            opt(s.segment),
            opt(s.stage),
            self.health().map_or("null".into(), |v| format!("{v:.1}")),
            opt(band),
        )
    }

    fn action(&self, index: usize, a: &Action) -> NewAction {
        let id = action_id(&self.rule.name, self.s.id, self.occurrence, index);
        let timestamp = json_string(&format!("{}T00:00:00Z", day_text(self.as_of)));
        let (channel, target, payload) = match a {
            Action::Webhook { endpoint } => (
                Channel::Webhook,
                endpoint.clone(),
                format!(
                    "{{\"type\":\"playbook.fired\",\"timestamp\":{timestamp},\"data\":{}}}",
                    self.data_json()
                ),
            ),
            Action::Email { to, subject, body } => {
                // One line: a subject never carries a header break.
                let subject: String = self
                    .render(subject)
                    .chars()
                    .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
                    .collect();
                (
                    Channel::Email,
                    to.clone(),
                    format!(
                        "{{\"subject\":{},\"body\":{}}}",
                        json_string(&subject),
                        json_string(&self.render(body))
                    ),
                )
            }
            Action::Task { queue, title } => (
                Channel::Task,
                queue.clone(),
                format!(
                    "{{\"type\":\"playbook.task\",\"timestamp\":{timestamp},\"title\":{},\"data\":{}}}",
                    json_string(&self.render(title)),
                    self.data_json()
                ),
            ),
                   Action::Case {
                owner,
                severity,
                category,
            } => (
                Channel::Record,
                "cases".to_string(),
                format!(
                    "{{\"id\":{},\"customer_id\":{},\"opened_at\":{timestamp},\"severity\":{severity},{}\"status\":\"open\",\"owner\":{}}}",
                    json_string(&id),
                    json_string(self.s.id),
                    category
                        .as_deref()
                        .map_or(String::new(), |c| format!("\"category\":{},", json_string(c))),
                    json_string(owner),
                ),
            ),
            Action::Interaction {
                kind,
                owner,
                summary,
            } => (
                Channel::Record,
                "interactions".to_string(),
                format!(
                    "{{\"id\":{},\"customer_id\":{},\"occurred_at\":{timestamp},\"kind\":\"{}\",{}\"summary\":{}}}",
                    json_string(&id),
                    json_string(self.s.id),
                    kind.as_str(),
                    owner
                        .as_deref()
                        .map_or(String::new(), |o| format!("\"owner\":{},", json_string(o))),
                    json_string(&self.render(summary)),
                ),
            ),
        };
        NewAction {
            id,
            channel,
            target,
            payload,
        }
    }
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(String),
}

/// Parse `{placeholder}` templates (`{{`, `}}`: literal braces).
fn template(t: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut it = t.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '{' if it.peek() == Some(&'{') => {
                it.next();
                text.push('{');
            }
            '}' if it.peek() == Some(&'}') => {
                it.next();
                text.push('}');
            }
            '{' => {
                let mut key = String::new();
                loop {
                    match it.next() {
                        Some('}') => break,
                        Some(c) => key.push(c),
                        None => return Err(format!("`{{{key}` is not closed")),
                    }
                }
                if !PLACEHOLDERS.contains(&key.as_str()) {
                    return Err(format!(
                        "unknown placeholder `{{{key}}}` (known: {}; write `{{{{` for a brace)",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ));
                }
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Field(key));
            }
            '}' => return Err("a lone `}` (write `}}`)".into()),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// `s` as a JSON string literal, quotes included (RFC 8259: `"`, `\` and control characters
/// escaped; everything else, non-ASCII included, as is).
pub fn json_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}
