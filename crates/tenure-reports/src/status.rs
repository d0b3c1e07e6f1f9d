//! Customer status, derived from the records on `as_of` and never stored or deleted: there is
//! no lost customer, only inactive ones.
//!
//! - **churned**: she had subscriptions and none is paying on `as_of` (no subscription
//!   remains; a `paused` one makes her inactive, a `trialing` one active).
//! - **inactive**: paying, but silent beyond what her own pattern predicts: with usage days
//!   d₁ < … < dₙ (n ≥ 2) her rate is λ = (n − 1)/(dₙ − d₁) a day, and P(no usage in the s days
//!   since dₙ) = e^(−λs) below `silence` (5 %) makes her inactive. A customer who only buys is
//!   inactive when the fitted BG/NBD gives P(alive) below `p_alive` (0.5) — or, without a fit,
//!   by the same silence test on her purchase days. No subscription and no purchase: inactive.
//! - **reactivated**: paying on a subscription that began after an earlier one ended.
//! - **active**: otherwise.

use crate::calendar::Day;
use crate::money::Fx;
use crate::mrr::Timeline;
use crate::predict::Predictions;
use crate::survival::spells_of;
use crate::Excluded;
use tenure_core::{SubscriptionStatus, TransactionKind};
use tenure_store::dataset::CustomerIdx;
use tenure_store::Dataset;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Active,
    Reactivated,
    Inactive,
    Churned,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Active,
        Status::Reactivated,
        Status::Inactive,
        Status::Churned,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Reactivated => "reactivated",
            Status::Inactive => "inactive",
            Status::Churned => "churned",
        }
    }
}

/// Thresholds of the status rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatusConfig {
    /// A silence less likely than this under her own rate makes a customer inactive.
    pub silence: f64,
    /// A purchase customer with P(alive) below this is inactive.
    pub p_alive: f64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        StatusConfig {
            silence: 0.05,
            p_alive: 0.5,
        }
    }
}

/// A customer's status and why.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerStatus {
    pub customer: CustomerIdx,
    pub status: Status,
    pub reason: String,
}

/// P(no event in `silence` days) for events on `days` (sorted, distinct), and the silence;
/// `None` with fewer than two days.
pub fn silence_probability(days: &[Day], as_of: Day) -> Option<(f64, i32)> {
    let (first, last) = (*days.first()?, *days.last()?);
    if days.len() < 2 || last <= first {
        return None;
    }
    let rate = (days.len() - 1) as f64 / f64::from(last - first);
    let s = (as_of - last).max(0);
    Some(((-rate * f64::from(s)).exp(), s))
}

fn distinct_days(mut v: Vec<Day>) -> Vec<Day> {
    v.sort_unstable();
    v.dedup();
    v
}

/// The status of every customer on `as_of`. `predictions` supplies P(alive) for purchase
/// customers when a model was fitted.
pub fn statuses(
    data: &Dataset,
    fx: &Fx,
    as_of: Day,
    predictions: Option<&Predictions>,
    cfg: &StatusConfig,
) -> Vec<CustomerStatus> {
    let mut ex = Excluded::default();
    let p_alive: Vec<Option<f64>> = {
        let mut v = vec![None; data.len()];
        if let Some(p) = predictions {
            for x in &p.customers {
                if let Some(slot) = v.get_mut(x.customer as usize) {
                    *slot = x.p_alive;
                }
            }
        }
        v
    };
    (0..data.len() as CustomerIdx)
        .map(|c| {
            let (status, reason) = status_of(data, fx, as_of, c, p_alive[c as usize], cfg, &mut ex);
            CustomerStatus {
                customer: c,
                status,
                reason,
            }
        })
        .collect()
}

fn status_of(
    data: &Dataset,
    fx: &Fx,
    as_of: Day,
    c: CustomerIdx,
    p_alive: Option<f64>,
    cfg: &StatusConfig,
    ex: &mut Excluded,
) -> (Status, String) {
    let subs: Vec<_> = data
        .subscriptions_of(c)
        .iter()
        .filter(|s| s.start <= as_of)
        .collect();
    if !subs.is_empty() {
        let t = Timeline::of(data, fx, c, as_of, ex);
        let (mrr, _) = t.at(as_of);
        let live = |st: SubscriptionStatus| {
            subs.iter()
                .any(|s| s.status == st && s.end.is_none_or(|e| e > as_of))
        };
        if mrr <= 0 {
            if live(SubscriptionStatus::Trialing) {
                return (Status::Active, "trialing".into());
            }
            if live(SubscriptionStatus::Paused) {
                return (Status::Inactive, "subscription paused".into());
            }
            let last_end = subs.iter().filter_map(|s| s.end).max();
            return (
                Status::Churned,
                match last_end {
                    Some(e) => format!(
                        "no subscription remains since {}",
                        crate::calendar::Month::of_day(e)
                    ),
                    None => "no paying subscription".into(),
                },
            );
        }
        let usage = distinct_days(
            data.usage_of(c)
                .iter()
                .filter(|u| u.day <= as_of)
                .map(|u| u.day)
                .collect(),
        );
        if let Some((p, s)) = silence_probability(&usage, as_of) {
            if p < cfg.silence {
                return (
                    Status::Inactive,
                    format!("no usage for {s} days; at her own rate P = {p:.3}"),
                );
            }
        }
        let spells = spells_of(data, c, as_of);
        if spells.len() > 1 && spells.last().is_some_and(|s| s.end.is_none()) {
            return (Status::Reactivated, "subscribed again after a churn".into());
        }
        return (Status::Active, "paying".into());
    }
    let days = distinct_days(
        data.transactions_of(c)
            .iter()
            .filter(|t| t.day <= as_of && t.kind != TransactionKind::Refund)
            .map(|t| t.day)
            .collect(),
    );
    if days.is_empty() {
        return (Status::Inactive, "no subscription or purchase".into());
    }
    if let Some(p) = p_alive {
        return if p < cfg.p_alive {
            (Status::Inactive, format!("P(alive) = {p:.3}"))
        } else {
            (Status::Active, format!("P(alive) = {p:.3}"))
        };
    }
    match silence_probability(&days, as_of) {
        Some((p, s)) if p < cfg.silence => (
            Status::Inactive,
            format!("no purchase for {s} days; at her own rate P = {p:.3}"),
        ),
        _ => (Status::Active, "purchasing".into()),
    }
}
