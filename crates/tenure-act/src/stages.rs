//! Lifecycle stages Deliver → Develop → Retain → Grow: where each customer is in her journey
//! on one day, since when and why.
//!
//! - **Deliver** (onboarding): from acquisition until onboarding ends — every configured
//!   milestone feature used at least once (`milestones`), or, with none configured, her first
//!   value ([`Facts::first_value`], `[usage] value_event`). Past `onboarding_max` she is still
//!   in Deliver, flagged overdue.
//! - **Develop** (adoption): onboarded, value not yet realised.
//! - **Retain**: value realised — at least `adoption` after onboarding, and by the `value`
//!   rule realised profit > 0 and/or usage trend ≥ `min_usage_trend` — or a renewal or term
//!   end within `renewal_window`, or a customer gone quiet after onboarding (win back).
//! - **Grow**: value realised, health band healthy, and a promoter (newest NPS ≥
//!   `promoter_nps`) or an expansion signal (usage trend ≥ `expansion_trend`).
//!
//! The rules, in order; the first that holds decides:
//! 1. churned or inactive ([`Status`]) → **Retain** (win back) if onboarded, else **Deliver**
//!    (onboarding never finished): a customer who is not paying or silent is never in Develop
//!    or Grow;
//! 2. not onboarded → **Deliver**;
//! 3. a renewal or term end in (as_of, as_of + `renewal_window`] → **Retain**: securing the
//!    renewal comes before adoption work and before the expansion conversation;
//! 4. value realised, healthy and promoter or expanding → **Grow**;
//! 5. value realised → **Retain**;
//! 6. otherwise → **Develop**.
//!
//! `since` is the day she entered the stage as far as the records on `as_of` tell: Deliver
//! since acquisition, Develop since onboarding ended (the last milestone), Retain since the
//! end of the adoption period (value), the opening of the renewal window, or the last sign
//! of life (win back); Grow since the later of the end of the adoption period and the
//! promoter's answer. Profit, usage and health histories are not replayed, so a stage entered
//! by a change in them has the earliest day the rule could have held; [`transitions`] keeps
//! the day of an earlier observation. Invariant: acquisition ≤ `since` ≤ `as_of`.
//!
//! No I/O, clock or environment: deterministic functions of the facts, the dataset, the day
//! and the settings.

use crate::config::Days;
use crate::facts::Facts;
use crate::health::{Band, Health};
use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use std::collections::BTreeMap;
use tenure_core::BillingInterval;
use tenure_reports::calendar::{add_months, months_between, ymd_of_day};
use tenure_reports::status::Status;
use tenure_store::dataset::{CustomerIdx, Day};
use tenure_store::Dataset;

/// What "value realised" requires besides the adoption period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueRule {
    /// Realised profit > 0 (she has paid back what she cost).
    Profit,
    /// Usage trend ≥ `min_usage_trend` (she uses it as much as before).
    Usage,
    /// Both.
    Both,
    /// Either.
    Either,
}

impl ValueRule {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueRule::Profit => "profit",
            ValueRule::Usage => "usage",
            ValueRule::Both => "both",
            ValueRule::Either => "either",
        }
    }
}

/// `[stages]` in `tenure.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StageSettings {
    /// Usage features that make up onboarding, each to be used at least once; empty:
    /// onboarding ends at the first value. Distinct, non-empty names.
    pub milestones: Vec<String>,
    /// Onboarding longer than this is overdue (still Deliver, flagged in the reason).
    pub onboarding_max: Days,
    /// Least time after onboarding before value can count as realised (time to adopt).
    pub adoption: Days,
    /// What value realised requires.
    pub value: ValueRule,
    /// Usage held: usage trend ≥ this (−0.2: at least 80 % of the baseline rate). In
    /// [−1, `expansion_trend`).
    #[serde(deserialize_with = "finite")]
    pub min_usage_trend: f64,
    /// A renewal or term end at most this far ahead puts her in Retain.
    pub renewal_window: Days,
    /// Billing intervals whose renewals open a renewal window (a monthly subscriber is always
    /// within a month of renewal: that is routine, not a window). A scheduled term end always
    /// opens one.
    #[serde(deserialize_with = "intervals")]
    pub renewal_intervals: Vec<BillingInterval>,
    /// Grow: a promoter's newest NPS is at least this (0–10).
    pub promoter_nps: u8,
    /// Grow: the expansion signal, usage trend ≥ this (0.2: +20 % over the baseline); > 0.
    #[serde(deserialize_with = "finite")]
    pub expansion_trend: f64,
}

impl Default for StageSettings {
    fn default() -> Self {
        StageSettings {
            milestones: Vec::new(),
            onboarding_max: Days(60),
            adoption: Days(30),
            value: ValueRule::Both,
            min_usage_trend: -0.2,
            renewal_window: Days(90),
            renewal_intervals: vec![BillingInterval::Year],
            promoter_nps: 9,
            expansion_trend: 0.2,
        }
    }
}

fn finite<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !v.is_finite() {
        return Err(D::Error::custom(format!("{v} is not a finite number")));
    }
    Ok(v)
}

fn intervals<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<BillingInterval>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|e| D::Error::custom(format!("`{s}`: {e}")))
        })
        .collect()
}

impl StageSettings {
    /// Checks across keys: (the key to blame, why).
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        for (i, m) in self.milestones.iter().enumerate() {
            if m.trim().is_empty() {
                return Err(("milestones", "a milestone feature name is empty".into()));
            }
            if self.milestones[..i].contains(m) {
                return Err(("milestones", format!("`{m}` is listed twice")));
            }
        }
        if self.promoter_nps > 10 {
            return Err((
                "promoter_nps",
                format!("{} is above 10, the highest NPS score", self.promoter_nps),
            ));
        }
        if !(self.expansion_trend > 0.0) {
            return Err((
                "expansion_trend",
                format!(
                    "{} must be > 0: expansion is usage above its baseline",
                    self.expansion_trend
                ),
            ));
        }
        if self.min_usage_trend < -1.0 {
            return Err((
                "min_usage_trend",
                format!(
                    "{} is below −1 (no usage at all): the rule would always hold",
                    self.min_usage_trend
                ),
            ));
        }
        if self.min_usage_trend >= self.expansion_trend {
            return Err((
                "min_usage_trend",
                format!(
                    "{} is not below expansion_trend ({}): holding usage would count as expanding",
                    self.min_usage_trend, self.expansion_trend
                ),
            ));
        }
        Ok(())
    }
}

/// A lifecycle stage, in the order of the journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Deliver,
    Develop,
    Retain,
    Grow,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Deliver, Stage::Develop, Stage::Retain, Stage::Grow];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Deliver => "deliver",
            Stage::Develop => "develop",
            Stage::Retain => "retain",
            Stage::Grow => "grow",
        }
    }
}

/// What the dataset tells of one customer's onboarding and activity, on or before `as_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub customer: CustomerIdx,
    /// The first day each of `milestones` was used, parallel to it (`None`: not yet).
    pub milestones: Vec<Option<Day>>,
    /// Her last sign of life: a usage event, an invoice line or the end of a subscription.
    pub last_seen: Option<Day>,
}

/// Every customer of `data` (index = customer), with her progress from records dated on or
/// before `as_of`. A milestone feature absent from the dataset is never reached.
pub fn progress(data: &Dataset, as_of: Day, cfg: &StageSettings) -> Vec<Progress> {
    let features: Vec<_> = cfg.milestones.iter().map(|m| data.names.get(m)).collect();
    let mut out: Vec<Progress> = (0..data.len())
        .map(|c| Progress {
            customer: c as CustomerIdx,
            milestones: vec![None; features.len()],
            last_seen: None,
        })
        .collect();
    let seen = |p: &mut Progress, day: Day| {
        if p.last_seen.is_none_or(|d| day > d) {
            p.last_seen = Some(day);
        }
    };
    for u in data.usage.iter().filter(|u| u.day <= as_of) {
        let Some(p) = out.get_mut(u.customer as usize) else {
            continue;
        };
        seen(p, u.day);
        for (k, f) in features.iter().enumerate() {
            if *f == Some(u.feature) && p.milestones[k].is_none_or(|d| u.day < d) {
                p.milestones[k] = Some(u.day);
            }
        }
    }
    for t in data.transactions.iter().filter(|t| t.day <= as_of) {
        if let Some(p) = out.get_mut(t.customer as usize) {
            seen(p, t.day);
        }
    }
    for s in &data.subscriptions {
        if let (Some(p), Some(end)) = (out.get_mut(s.customer as usize), s.end) {
            if s.start <= as_of && end <= as_of {
                seen(p, end);
            }
        }
    }
    out
}

/// Every customer of `data` (index = customer): the earliest day after `as_of` that can open
/// a renewal window, from the subscriptions running on `as_of` (started on or before it, not
/// ended by it) — the next renewal, start + k billing periods (calendar months clamped to the
/// month's end, k ≥ 1), when the interval is one of `renewal_intervals`, or a scheduled end.
/// A calendar fact: no model is needed, so a plan too small to fit one still has its window.
pub fn renewal_days(data: &Dataset, as_of: Day, cfg: &StageSettings) -> Vec<Option<Day>> {
    let mut out = vec![None::<Day>; data.len()];
    for s in &data.subscriptions {
        if s.start > as_of || s.end.is_some_and(|e| e <= as_of) {
            continue;
        }
        let months = match s.interval {
            BillingInterval::Month => 1,
            BillingInterval::Quarter => 3,
            BillingInterval::Year => 12,
        };
        let renewal = cfg.renewal_intervals.contains(&s.interval).then(|| {
            // The first period boundary after as_of.
            let mut k = (months_between(s.start, as_of) / months).max(0) + 1;
            while add_months(s.start, k * months) <= as_of {
                k += 1;
            }
            add_months(s.start, k * months)
        });
        let day = match (renewal, s.end) {
            (Some(r), Some(e)) => Some(r.min(e)),
            (r, e) => r.or(e),
        };
        if let (Some(day), Some(e)) = (day, out.get_mut(s.customer as usize)) {
            if e.is_none_or(|d| day < d) {
                *e = Some(day);
            }
        }
    }
    out
}

/// One customer's stage on the day, since when and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StageAssignment {
    pub customer: CustomerIdx,
    pub stage: Stage,
    /// The day she entered the stage as far as the records tell (module docs); acquisition ≤
    /// since ≤ as_of.
    pub since: Day,
    /// In Deliver past `onboarding_max`.
    pub overdue: bool,
    /// The rule and its figures, as a reader would say them.
    pub reason: String,
}

impl StageAssignment {
    /// Days in the stage on `as_of`, ≥ 0.
    pub fn days_in_stage(&self, as_of: Day) -> i32 {
        (as_of - self.since).max(0)
    }
}

/// `2025-06-30`.
fn date(day: Day) -> String {
    let (y, m, d) = ymd_of_day(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn pct(v: f64) -> String {
    format!("{:+.0} %", v * 100.0)
}

/// The stage of one customer on `as_of`, by the rules of the module docs, in their order.
///
/// `progress` is hers ([`progress`]), `renewal` her next renewal or term end
/// ([`renewal_days`]; any day after `as_of` counts).
pub fn stage(
    f: &Facts,
    h: &Health,
    progress: &Progress,
    renewal: Option<Day>,
    as_of: Day,
    cfg: &StageSettings,
) -> StageAssignment {
    let acquired = as_of - f.tenure_days;
    let clamp = |d: Day| d.clamp(acquired, as_of.max(acquired));
    let reached: Vec<(&str, Day)> = cfg
        .milestones
        .iter()
        .zip(&progress.milestones)
        .filter_map(|(m, d)| d.map(|d| (m.as_str(), d)))
        .collect();
    let onboarded = if cfg.milestones.is_empty() {
        f.first_value
    } else if reached.len() == cfg.milestones.len() {
        reached.iter().map(|r| r.1).max()
    } else {
        None
    }
    .map(clamp);
    let onboarding = || {
        if cfg.milestones.is_empty() {
            format!("onboarding: no first value yet after {} d", f.tenure_days)
        } else {
            let missing: Vec<&str> = cfg
                .milestones
                .iter()
                .zip(&progress.milestones)
                .filter(|(_, d)| d.is_none())
                .map(|(m, _)| m.as_str())
                .collect();
            let done: Vec<&str> = reached.iter().map(|r| r.0).collect();
            format!(
                "onboarding: {} of {} milestones ({}{}missing {}) after {} d",
                done.len(),
                cfg.milestones.len(),
                done.join(", "),
                if done.is_empty() { "" } else { "; " },
                missing.join(", "),
                f.tenure_days
            )
        }
    };
    let overdue = onboarded.is_none() && f.tenure_days > cfg.onboarding_max.0 as i32;
    let out = |stage, since: Day, reason: String| StageAssignment {
        customer: f.customer,
        stage,
        since: clamp(since),
        overdue: stage == Stage::Deliver && overdue,
        reason,
    };

    // 1. Churned or inactive.
    let quiet = match f.status {
        Status::Churned => Some("churned: no subscription remains"),
        Status::Inactive => Some("inactive: silent beyond her own pattern"),
        Status::Active | Status::Reactivated => None,
    };
    if let Some(what) = quiet {
        let seen = progress
            .last_seen
            .map_or(String::new(), |d| format!(", last seen {}", date(d)));
        return match onboarded {
            None => out(
                Stage::Deliver,
                acquired,
                format!("{what}{seen}; onboarding never finished ({})", onboarding()),
            ),
            Some(o) => out(
                Stage::Retain,
                progress.last_seen.map_or(o, |d| d.max(o)),
                format!("{what}{seen}; onboarded on {}: win her back", date(o)),
            ),
        };
    }

    // 2. Onboarding.
    let Some(onboarded) = onboarded else {
        let mut reason = onboarding();
        if overdue {
            reason.push_str(&format!(
                ": onboarding overdue (onboarding_max {} d)",
                cfg.onboarding_max.0
            ));
        }
        return out(Stage::Deliver, acquired, reason);
    };

    // 3. Renewal window.
    let window = cfg.renewal_window.0 as i32;
    if let Some(r) = renewal.filter(|r| *r > as_of && *r - as_of <= window) {
        return out(
            Stage::Retain,
            (r - window).max(onboarded),
            format!(
                "renewal window: renewal or term end on {}, in {} d (window {window} d)",
                date(r),
                r - as_of
            ),
        );
    }

    // The value rule.
    let adopted_on = onboarded + cfg.adoption.0 as i32;
    let trend = f.usage_trend();
    let profit_ok = f.realised_profit > 0;
    let usage_ok = trend.is_some_and(|t| t >= cfg.min_usage_trend);
    let profit_says = if profit_ok {
        "realised profit > 0".to_string()
    } else {
        "realised profit ≤ 0".to_string()
    };
    let usage_says = match trend {
        Some(t) if usage_ok => format!("usage {} ≥ {}", pct(t), pct(cfg.min_usage_trend)),
        Some(t) => format!("usage {} < {}", pct(t), pct(cfg.min_usage_trend)),
        None => "no usage trend yet".to_string(),
    };
    let (rule_ok, figures) = match cfg.value {
        ValueRule::Profit => (profit_ok, profit_says),
        ValueRule::Usage => (usage_ok, usage_says),
        ValueRule::Both => (
            profit_ok && usage_ok,
            format!("{profit_says} and {usage_says}"),
        ),
        ValueRule::Either => (
            profit_ok || usage_ok,
            format!("{profit_says} or {usage_says}"),
        ),
    };
    let adopted = as_of >= adopted_on;
    if !(adopted && rule_ok) {
        // 6. Develop.
        let why = if adopted {
            format!(
                "value not realised ({} rule): {figures}",
                cfg.value.as_str()
            )
        } else {
            format!("adoption period of {} d not over", cfg.adoption.0)
        };
        return out(
            Stage::Develop,
            onboarded,
            format!(
                "adoption: onboarded on {} ({} d ago); {why}",
                date(onboarded),
                as_of - onboarded
            ),
        );
    }
    let value = format!(
        "value realised: {figures}, {} d after onboarding on {}",
        as_of - onboarded,
        date(onboarded)
    );

    // 4. Grow.
    let healthy = h.band == Some(Band::Healthy);
    let promoter = f.nps.filter(|(s, _)| *s >= cfg.promoter_nps);
    let expanding = trend.filter(|t| *t >= cfg.expansion_trend);
    let score = h
        .score
        .map_or("unscored".to_string(), |s| format!("{s:.0}"));
    if healthy && (promoter.is_some() || expanding.is_some()) {
        let mut signals = Vec::new();
        if let Some((s, d)) = promoter {
            signals.push(format!("promoter (NPS {s} on {})", date(d)));
        }
        if let Some(t) = expanding {
            signals.push(format!(
                "expanding (usage {} ≥ {})",
                pct(t),
                pct(cfg.expansion_trend)
            ));
        }
        return out(
            Stage::Grow,
            promoter.map_or(adopted_on, |(_, d)| d.max(adopted_on)),
            format!(
                "grow: healthy (score {score}) and {}; {value}",
                signals.join(" and ")
            ),
        );
    }

    // 5. Retain: value realised.
    let not_grow = if !healthy {
        format!(
            "health {} (score {score})",
            h.band.map_or("unscored", Band::as_str)
        )
    } else {
        format!(
            "no promoter NPS ≥ {} and usage {} below {}",
            cfg.promoter_nps,
            trend.map_or("trend unknown".to_string(), pct),
            pct(cfg.expansion_trend)
        )
    };
    out(
        Stage::Retain,
        adopted_on,
        format!("{value}; not Grow: {not_grow}"),
    )
}

/// A change of stage, to be stored with its day and reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub customer: CustomerIdx,
    /// `None`: her first recorded stage.
    pub from: Option<Stage>,
    pub to: Stage,
    pub day: Day,
    pub reason: String,
}

/// Compare today's stages with the last stored ones (any order; matched by customer).
///
/// A customer whose stage is unchanged keeps the earlier `since` (an earlier observation
/// knows better than today's records); a changed or new one yields a [`Transition`] on her
/// new `since`, never before the previous one. `current` is updated in place.
pub fn transitions(
    previous: &[StageAssignment],
    current: &mut [StageAssignment],
) -> Vec<Transition> {
    let by_customer: BTreeMap<CustomerIdx, &StageAssignment> =
        previous.iter().map(|p| (p.customer, p)).collect();
    let mut out = Vec::new();
    for c in current.iter_mut() {
        let before = by_customer.get(&c.customer).copied();
        match before {
            Some(p) if p.stage == c.stage => c.since = c.since.min(p.since),
            _ => {
                if let Some(p) = before {
                    c.since = c.since.max(p.since);
                }
                out.push(Transition {
                    customer: c.customer,
                    from: before.map(|p| p.stage),
                    to: c.stage,
                    day: c.since,
                    reason: c.reason.clone(),
                });
            }
        }
    }
    out
}

/// One stage of the funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelRow {
    pub stage: Stage,
    pub customers: usize,
    /// Median days in the stage on `as_of` ([`StageAssignment::days_in_stage`]); the mean of
    /// the two middle values for an even count; `None` without customers.
    pub median_days: Option<f64>,
}

/// Counts and median time in stage, one row per stage in [`Stage::ALL`] order.
pub fn funnel(assignments: &[StageAssignment], as_of: Day) -> Vec<FunnelRow> {
    Stage::ALL
        .iter()
        .map(|&stage| {
            let mut days: Vec<i32> = assignments
                .iter()
                .filter(|a| a.stage == stage)
                .map(|a| a.days_in_stage(as_of))
                .collect();
            days.sort_unstable();
            let n = days.len();
            let median_days = (n > 0).then(|| {
                if n % 2 == 1 {
                    f64::from(days[n / 2])
                } else {
                    (f64::from(days[n / 2 - 1]) + f64::from(days[n / 2])) / 2.0
                }
            });
            FunnelRow {
                stage,
                customers: n,
                median_days,
            }
        })
        .collect()
}
