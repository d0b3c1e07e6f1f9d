//! A one-account value review for a quarterly business review: the account plan's goals, the
//! value received (usage, features adopted, time to first value), support, what was paid, and
//! the lifecycle stage with what comes next — as numbers ([`Review`], serialisable) and as one
//! printable HTML page ([`render_html`], inline CSS and SVG, no external asset).
//!
//! Every figure comes from the same calls as the rest of the decision layer: usage, first value
//! and realised profit from [`facts`](crate::facts()), the stage from [`decide`](crate::decide);
//! the period's records are counted straight from the [`Dataset`]. A goal linked to a known
//! metric (`health`, `mrr`, `seats`, `usage_index`, `usage:FEATURE`, `features_adopted`, `nps`;
//! defined on [`review`]) is measured against its target; the engagement part counts the CRM
//! interactions and campaign touches of the period.
//!
//! Invariants: no I/O, no clock; records after `as_of` (the end of the quarter, or the caller's
//! earlier day) are never looked at. Money is integer minor units of the report currency until
//! it is printed.

use crate::config::Config;
use crate::stages::Stage;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use tenure_core::{Currency, FeedbackKind, InteractionKind, PaymentKind};
use tenure_reports::money::{div_round, to_decimal};
use tenure_reports::{Fx, ReportError};
use tenure_store::dataset::{day_from_ymd, ymd_of_day, Day};
use tenure_store::journal::Goal;
use tenure_store::Dataset;

/// A calendar quarter, `2026-Q3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    year: i32,
    q: u32,
}

impl Quarter {
    /// Parse `YYYY-Qn` (n = 1–4).
    pub fn parse(s: &str) -> Result<Quarter, ReviewError> {
        let bad = || ReviewError::BadPeriod(s.to_string());
        let (y, q) = s.split_once("-Q").ok_or_else(bad)?;
        if y.len() != 4 || q.len() != 1 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let q: u32 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) {
            return Err(bad());
        }
        Ok(Quarter { year, q })
    }
    /// The quarter holding `day`.
    pub fn of_day(day: Day) -> Quarter {
        let (year, m, _) = ymd_of_day(day);
        Quarter {
            year,
            q: (m - 1) / 3 + 1,
        }
    }
    /// Its first day.
    pub fn start(self) -> Day {
        day_from_ymd(self.year, 3 * (self.q - 1) + 1, 1)
    }
    /// The first day after it.
    pub fn end(self) -> Day {
        if self.q == 4 {
            day_from_ymd(self.year + 1, 1, 1)
        } else {
            day_from_ymd(self.year, 3 * self.q + 1, 1)
        }
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-Q{}", self.year, self.q)
    }
}

/// Why a review cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("`{0}` is not a quarter (expected YYYY-Qn, e.g. 2026-Q3)")]
    BadPeriod(String),
    #[error("no customer `{0}`")]
    UnknownCustomer(String),
    #[error("customer `{customer}` was acquired on {acquired}, after the end of {period}")]
    NotYetAcquired {
        customer: String,
        acquired: String,
        period: String,
    },
    #[error("{period} starts on {start}, after the last day of the records ({last})")]
    AfterRecords {
        period: String,
        start: String,
        last: String,
    },
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// One account-plan goal and where it stands at the end of the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReviewGoal {
    pub title: String,
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub target_day: String,
    /// planned, on_track, at_risk, done, dropped.
    pub status: String,
    /// The linked metric's name, as entered (see the known metrics below).
    pub metric: Option<String>,
    /// The target, as entered (free text).
    pub target: Option<String>,
    /// Not done or dropped and its target day is on or before `as_of`.
    pub overdue: bool,
    /// The metric's unit (e.g. `seats`, `USD per month`); `None` when no known metric is
    /// linked. The known metrics and how each is measured: `health`, `mrr`, `seats`,
    /// `usage_index`, `usage:FEATURE`, `features_adopted`, `nps` (see [`review`]'s docs).
    pub unit: Option<String>,
    /// The metric at the end of `as_of`, a decimal number as text (exact money for `mrr`);
    /// `None` when it has no value (no metric, an unknown one, no NPS answer, …).
    pub value: Option<String>,
    /// The metric at the end of the day before the period's first day; `None` for `health`
    /// and `usage:FEATURE` (never computed, see [`review`]) and where it has no value.
    pub start_value: Option<String>,
    /// The target as a decimal number, when `target` is one.
    pub target_value: Option<String>,
    /// `value / target_value` (1 = the target reached); `None` without both, or when the target
    /// is not positive.
    pub progress: Option<f64>,
    /// `value ≥ target_value`; `None` without both.
    pub met: Option<bool>,
    /// Why progress is not computed, or what it leaves out; `None` when there is nothing to say.
    pub progress_note: Option<String>,
}

/// Usage per week of the period (weeks start on the period's first day; the last one holds the
/// remaining 7–13 days, or fewer when the period is cut short by `as_of`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UsageWeek {
    /// `YYYY-MM-DD`, the week's first day.
    pub week: String,
    /// Sum of usage quantities (a count, not money).
    pub quantity: f64,
}

/// What the customer received.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValueReceived {
    /// Weighted usage actions per day in the recent window (`[usage] window`) before `as_of`
    /// (the health score's usage input, `Facts::usage`); `None`: no usage record.
    pub usage_index: Option<f64>,
    /// The same rate in the baseline before the window.
    pub usage_baseline: Option<f64>,
    /// Recent / baseline − 1 (`Facts::usage_trend`).
    pub usage_trend: Option<f64>,
    /// Distinct features used by `as_of`, each with its first day.
    pub features_adopted: Vec<FeatureFirstUse>,
    /// Of which first used within the period.
    pub features_new_in_period: usize,
    /// Day of the first value event (`Facts::first_value`), `YYYY-MM-DD`.
    pub first_value: Option<String>,
    /// Days from acquisition to first value.
    pub days_to_first_value: Option<i32>,
    pub usage_by_week: Vec<UsageWeek>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeatureFirstUse {
    pub feature: String,
    /// `YYYY-MM-DD`.
    pub first_used: String,
}

/// Support cases of the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Support {
    /// Cases opened within the period.
    pub opened: u32,
    /// Cases closed (solved or closed) within the period.
    pub closed: u32,
    /// Cases opened within the period, by severity 1 (outage) – 4 (question).
    pub opened_by_severity: [u32; 4],
    /// Cases opened within the period and escalated.
    pub escalated: u32,
    /// Mean rating (1–5) of the cases closed within the period that were rated.
    pub mean_satisfaction: Option<f64>,
    pub rated: u32,
    /// Still open (not solved or closed) on `as_of`, opened at any time.
    pub open_at_end: u32,
}

/// What the customer paid in the period, in the report currency.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Paid {
    /// Sum of invoice lines dated within the period (refund lines are negative), decimal.
    pub total: String,
    /// The same in minor units.
    pub total_minor: i64,
    pub invoice_lines: u32,
    /// Payment events within the period.
    pub payments_succeeded: u32,
    pub payments_failed: u32,
    pub refunds: u32,
    /// Sum of the refund events' amounts, decimal.
    pub refunded: String,
    pub chargebacks: u32,
    /// Invoice lines in a currency without a rate (left out of `total`).
    pub unconverted_lines: u32,
}

/// Her stage on `as_of` and what comes next.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Lifecycle {
    pub stage: String,
    /// `YYYY-MM-DD`.
    pub since: String,
    pub days_in_stage: i32,
    pub overdue: bool,
    pub reason: String,
    /// The next stage of the journey (`None` in grow, the last).
    pub next_stage: Option<String>,
    /// What moves her there, in words.
    pub next_step: String,
}

/// Counts of CRM interactions by kind.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct InteractionCounts {
    pub call: u32,
    pub email: u32,
    pub meeting: u32,
    pub note: u32,
}

/// One CRM interaction (the summary is not in the [`Dataset`], so not shown).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecentInteraction {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// call, email, meeting, note.
    pub kind: String,
    pub owner: Option<String>,
}

/// Outcomes of the account team's work in the period: CRM interactions and campaign touches
/// dated within it (the period's first day to `as_of`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Engagement {
    /// Interactions within the period.
    pub interactions: u32,
    pub interactions_by_kind: InteractionCounts,
    /// The last (up to) 5 interactions within the period, newest first.
    pub recent_interactions: Vec<RecentInteraction>,
    /// Campaign touches sent within the period.
    pub touches: u32,
    /// Of which opened, clicked, replied (each flag counted on its own).
    pub touches_opened: u32,
    pub touches_clicked: u32,
    pub touches_replied: u32,
    /// The names of the campaigns of those touches, distinct, sorted.
    pub campaigns: Vec<String>,
}

/// A one-account value review. See the module docs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Review {
    pub customer: String,
    /// `YYYY-Qn`.
    pub period: String,
    /// `YYYY-MM-DD`: the period's first day.
    pub start: String,
    /// `YYYY-MM-DD`: the last day looked at (the period's last day, or earlier).
    pub as_of: String,
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub acquired: String,
    pub tenure_days: i32,
    /// Profit to `as_of`, referral credit included (`Facts::realised_profit`), decimal.
    pub realised_profit: String,
    /// Predicted future profit, decimal (`None`: no prediction).
    pub future_profit: Option<String>,
    pub goals: Vec<ReviewGoal>,
    pub value: ValueReceived,
    pub support: Support,
    pub paid: Paid,
    pub engagement: Engagement,
    pub lifecycle: Lifecycle,
}

fn day_text(d: Day) -> String {
    let (y, m, dd) = ymd_of_day(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

fn money(minor: i64, c: Currency) -> String {
    to_decimal(minor, c).to_string()
}

fn next_of(stage: Stage) -> (Option<Stage>, &'static str) {
    match stage {
        Stage::Deliver => (
            Some(Stage::Develop),
            "Reach first value: use every onboarding milestone feature",
        ),
        Stage::Develop => (
            Some(Stage::Retain),
            "Realise value after adoption and approach the renewal with healthy usage",
        ),
        Stage::Retain => (
            Some(Stage::Grow),
            "Stay healthy and become a promoter or expand (seats, plan)",
        ),
        Stage::Grow => (None, "Keep growing: expansion, references and referrals"),
    }
}

/// The metrics a goal can be measured by (`plans add --metric NAME --target NUMBER`); each is
/// defined, with its unit and whether it has a start value, on [`review`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric<'a> {
    Health,
    Mrr,
    Seats,
    UsageIndex,
    Usage(&'a str),
    FeaturesAdopted,
    Nps,
}

/// The metric names [`Metric`] knows, for the note on an unknown one.
const KNOWN_METRICS: &str = "health, mrr, seats, usage_index, usage:FEATURE, features_adopted, nps";

impl<'a> Metric<'a> {
    fn parse(s: &'a str) -> Option<Metric<'a>> {
        Some(match s.trim() {
            "health" => Metric::Health,
            "mrr" => Metric::Mrr,
            "seats" => Metric::Seats,
            "usage_index" => Metric::UsageIndex,
            "features_adopted" => Metric::FeaturesAdopted,
            "nps" => Metric::Nps,
            m => match m.strip_prefix("usage:").map(str::trim) {
                Some(f) if !f.is_empty() => Metric::Usage(f),
                _ => return None,
            },
        })
    }
    fn unit(self, currency: Currency) -> String {
        match self {
            Metric::Health => "points (0–100)".into(),
            Metric::Mrr => format!("{} per month", currency.code()),
            Metric::Seats => "seats".into(),
            Metric::UsageIndex => "weighted actions/day".into(),
            Metric::Usage(_) => "quantity in the period".into(),
            Metric::FeaturesAdopted => "features".into(),
            Metric::Nps => "NPS (0–10)".into(),
        }
    }
}

/// What a goal's metric is measured from: the review's inputs for one customer.
struct MetricInputs<'a> {
    data: &'a Dataset,
    cfg: &'a Config,
    c: tenure_store::dataset::CustomerIdx,
    start: Day,
    as_of: Day,
    /// The health score on `as_of`.
    health: Option<f64>,
    /// `Facts::usage`'s recent rate on `as_of`.
    usage_index: Option<f64>,
    /// Her MRR timeline to `as_of`, and the subscription rows it left out (no rate).
    mrr: tenure_reports::mrr::Timeline,
    mrr_excluded: u64,
    currency: Currency,
}

fn dec_of(x: f64, dp: u32) -> Option<Decimal> {
    Decimal::from_f64_retain(x).map(|d| d.round_dp(dp).normalize())
}

impl MetricInputs<'_> {
    /// `metric` at the end of `day` (`as_of` or the day before the period).
    fn value(&self, metric: Metric, day: Day) -> Option<Decimal> {
        let (data, c) = (self.data, self.c);
        match metric {
            Metric::Health => self
                .health
                .filter(|_| day == self.as_of)
                .and_then(|h| dec_of(h, 1)),
            Metric::Mrr => {
                let minor = div_round(i128::from(self.mrr.at(day).0), 12).unwrap_or(0);
                Some(to_decimal(minor, self.currency))
            }
            Metric::Seats => Some(Decimal::from(self.mrr.at(day).1)),
            Metric::UsageIndex => {
                let rate = if day == self.as_of {
                    self.usage_index
                } else {
                    let window = self.cfg.usage.window.0 as i32;
                    let w = crate::playbooks::usage_windows(
                        data,
                        c,
                        day,
                        window,
                        &self.cfg.usage.weights,
                    );
                    data.usage_of(c)
                        .iter()
                        .any(|u| u.day <= day)
                        .then(|| w.recent / f64::from(window))
                };
                rate.and_then(|r| dec_of(r, 2))
            }
            Metric::Usage(feature) => {
                if day != self.as_of {
                    return None;
                }
                let q: f64 = data
                    .usage_of(c)
                    .iter()
                    .filter(|u| u.day >= self.start && u.day <= day)
                    .filter(|u| data.name(u.feature) == feature)
                    .fold(0.0, |acc, u| acc + u.quantity);
                dec_of(q, 6)
            }
            Metric::FeaturesAdopted => Some(Decimal::from(
                crate::playbooks::first_uses(data, c, day).len(),
            )),
            Metric::Nps => {
                let mut newest: Option<(Day, u8)> = None;
                for f in data.feedback_of(c) {
                    if f.kind == FeedbackKind::Nps
                        && f.day <= day
                        && newest.is_none_or(|(d, _)| f.day >= d)
                    {
                        newest = Some((f.day, f.score));
                    }
                }
                newest.map(|(_, s)| Decimal::from(s))
            }
        }
    }

    /// The goal's progress fields: metric values, target, progress, met, note and unit.
    fn measure(&self, g: &Goal, r: &mut ReviewGoal) {
        let Some(name) = g.metric.as_deref().filter(|m| !m.trim().is_empty()) else {
            r.progress_note = Some("no metric is linked to this goal".into());
            return;
        };
        let Some(metric) = Metric::parse(name) else {
            r.progress_note = Some(format!(
                "unknown metric `{}`: no progress is computed (known metrics: {KNOWN_METRICS})",
                name.trim()
            ));
            return;
        };
        r.unit = Some(metric.unit(self.currency));
        let value = self.value(metric, self.as_of);
        r.value = value.map(|v| v.to_string());
        r.start_value = self.value(metric, self.start - 1).map(|v| v.to_string());
        let mut notes: Vec<String> = Vec::new();
        if metric == Metric::Mrr && self.mrr_excluded > 0 {
            notes.push(format!(
                "{} subscription rows in a currency without a rate are left out",
                self.mrr_excluded
            ));
        }
        let target = match g.target.as_deref().map(str::trim) {
            None | Some("") => {
                notes.push("no target is set: no progress is computed".into());
                None
            }
            Some(t) => match t.parse::<Decimal>() {
                Ok(t) => Some(t.normalize()),
                Err(_) => {
                    notes.push(format!(
                        "target `{t}` is not a number: no progress is computed"
                    ));
                    None
                }
            },
        };
        r.target_value = target.map(|t| t.to_string());
        match (value, target) {
            (None, Some(_)) => notes.push(format!(
                "no {} value on {}: no progress is computed",
                name.trim(),
                day_text(self.as_of)
            )),
            (Some(v), Some(t)) => {
                r.met = Some(v >= t);
                if t > Decimal::ZERO {
                    r.progress = v.checked_div(t).and_then(|p| p.to_f64());
                } else {
                    notes.push("the target is not positive: no progress ratio".into());
                }
            }
            _ => {}
        }
        if !notes.is_empty() {
            r.progress_note = Some(notes.join("; "));
        }
    }
}

/// The review of `customer` for `period`, looking at records up to the earlier of the
/// period's last day and `last_day` (the caller's as-of day, e.g. the newest record).
/// `goals` are the customer's account-plan goals (the store's journal); a goal linked to a
/// known metric is measured on `as_of` and at the period's start: the metrics, their units and
/// what is not computed are documented on the private `Metric` enum, repeated here —
///
/// - `health`: the health score (0–100 points) on `as_of`, rounded to 0.1; no start value
///   (it would need a second whole-population decision run);
/// - `mrr`: recurring revenue per month of her running subscriptions on the day, in the report
///   currency (decimal text): the MRR report's per-row rule (monthly amount, quarterly / 3,
///   yearly / 12; trialing and paused rows none), rounded half away from zero to minor units;
/// - `seats`: seats of her subscriptions carrying MRR on the day;
/// - `usage_index`: weighted usage actions per day in the `[usage] window` ending on the day
///   (`Facts::usage`), rounded to 0.01;
/// - `usage:FEATURE`: the summed quantity of her `FEATURE` usage events within the period
///   (no start value: it is a count within the period);
/// - `features_adopted`: distinct features used by the day;
/// - `nps`: her newest NPS answer (0–10) by the day.
///
/// A target that is not a decimal number, or an unknown metric, gives a `progress_note` instead
/// of a progress.
pub fn review(
    data: &Dataset,
    fx: &Fx,
    cfg: &Config,
    customer: &str,
    period: Quarter,
    last_day: Day,
    goals: &[Goal],
) -> Result<Review, ReviewError> {
    let c = data
        .customer(customer)
        .ok_or_else(|| ReviewError::UnknownCustomer(customer.to_string()))?;
    let (start, end) = (period.start(), period.end());
    if start > last_day {
        return Err(ReviewError::AfterRecords {
            period: period.to_string(),
            start: day_text(start),
            last: day_text(last_day),
        });
    }
    let as_of = (end - 1).min(last_day);
    let acquired = data.customers[c as usize].acquired;
    if acquired > as_of {
        return Err(ReviewError::NotYetAcquired {
            customer: customer.to_string(),
            acquired: day_text(acquired),
            period: period.to_string(),
        });
    }
    let decisions = crate::decide(data, fx, as_of, cfg)?;
    let k = decisions
        .facts
        .iter()
        .position(|f| f.customer == c)
        .ok_or_else(|| ReviewError::UnknownCustomer(customer.to_string()))?;
    let f = &decisions.facts[k];
    let st = &decisions.stages[k];
    let cur = fx.currency();
    let within = |d: Day| d >= start && d <= as_of;

    // Value received.
    let firsts = crate::playbooks::first_uses(data, c, as_of);
    let mut weeks: Vec<UsageWeek> = Vec::new();
    let mut w = start;
    while w <= as_of {
        // The last week holds the days left over (7–13 of them), so no stub week shows a drop.
        let we = if w + 14 > as_of + 1 { as_of + 1 } else { w + 7 };
        let q: f64 = data
            .usage_of(c)
            .iter()
            .filter(|u| u.day >= w && u.day < we)
            .fold(0.0, |acc, u| acc + u.quantity);
        weeks.push(UsageWeek {
            week: day_text(w),
            quantity: q,
        });
        w = we;
    }
    let value = ValueReceived {
        usage_index: f.usage.map(|u| u.0),
        usage_baseline: f.usage.map(|u| u.1),
        usage_trend: f.usage_trend(),
        features_new_in_period: firsts.iter().filter(|(_, d)| within(*d)).count(),
        features_adopted: firsts
            .iter()
            .map(|(n, d)| FeatureFirstUse {
                feature: n.clone(),
                first_used: day_text(*d),
            })
            .collect(),
        first_value: f.first_value.map(day_text),
        days_to_first_value: f.first_value.map(|d| d - acquired),
        usage_by_week: weeks,
    };

    // Support.
    let mut support = Support {
        opened: 0,
        closed: 0,
        opened_by_severity: [0; 4],
        escalated: 0,
        mean_satisfaction: None,
        rated: 0,
        open_at_end: 0,
    };
    let mut sat_sum = 0u32;
    for k in data.cases_of(c).iter().filter(|k| k.day <= as_of) {
        if within(k.day) {
            support.opened += 1;
            let s = usize::from(k.severity.clamp(1, 4)) - 1;
            support.opened_by_severity[s] += 1;
            support.escalated += u32::from(k.escalated);
        }
        match k.closed.filter(|&d| d <= as_of) {
            Some(d) => {
                if within(d) {
                    support.closed += 1;
                    if let Some(r) = k.satisfaction {
                        support.rated += 1;
                        sat_sum += u32::from(r);
                    }
                }
            }
            None => support.open_at_end += 1,
        }
    }
    if support.rated > 0 {
        support.mean_satisfaction = Some(f64::from(sat_sum) / f64::from(support.rated));
    }

    // Paid.
    let (mut total, mut lines, mut unconverted) = (0i64, 0u32, 0u32);
    for t in data.transactions_of(c).iter().filter(|t| within(t.day)) {
        match fx.convert(t.amount, t.currency) {
            Some(a) => {
                total += a;
                lines += 1;
            }
            None => unconverted += 1,
        }
    }
    let mut paid = Paid {
        total: String::new(),
        total_minor: total,
        invoice_lines: lines,
        payments_succeeded: 0,
        payments_failed: 0,
        refunds: 0,
        refunded: String::new(),
        chargebacks: 0,
        unconverted_lines: unconverted,
    };
    let mut refunded = 0i64;
    for p in data.payments_of(c).iter().filter(|p| within(p.day)) {
        match p.kind {
            PaymentKind::Succeeded => paid.payments_succeeded += 1,
            PaymentKind::Failed => paid.payments_failed += 1,
            PaymentKind::Refunded => {
                paid.refunds += 1;
                if let Some(a) = p.amount {
                    refunded += fx.convert(a.units(), a.currency()).unwrap_or(0);
                }
            }
            PaymentKind::Chargeback => paid.chargebacks += 1,
            _ => {}
        }
    }
    paid.total = money(total, cur);
    paid.refunded = money(refunded, cur);

    let (next, step) = next_of(st.stage);
    let lifecycle = Lifecycle {
        stage: st.stage.as_str().to_string(),
        since: day_text(st.since),
        days_in_stage: st.days_in_stage(as_of),
        overdue: st.overdue,
        reason: st.reason.clone(),
        next_stage: next.map(|s| s.as_str().to_string()),
        next_step: step.to_string(),
    };
    let as_of_text = day_text(as_of);
    let mut excluded = tenure_reports::Excluded::default();
    let inputs = MetricInputs {
        data,
        cfg,
        c,
        start,
        as_of,
        health: decisions.health[k].score,
        usage_index: f.usage.map(|u| u.0),
        mrr: tenure_reports::mrr::Timeline::of(data, fx, c, as_of, &mut excluded),
        mrr_excluded: excluded.subscriptions,
        currency: cur,
    };
    let goals = goals
        .iter()
        .filter(|g| g.customer_id == customer)
        .map(|g| {
            let mut r = ReviewGoal {
                title: g.title.clone(),
                owner: g.owner.clone(),
                target_day: g.target_day.clone(),
                status: g.status.as_str().to_string(),
                metric: g.metric.clone(),
                target: g.target.clone(),
                overdue: !matches!(
                    g.status,
                    tenure_store::journal::GoalStatus::Done
                        | tenure_store::journal::GoalStatus::Dropped
                ) && g.target_day <= as_of_text,
                unit: None,
                value: None,
                start_value: None,
                target_value: None,
                progress: None,
                met: None,
                progress_note: None,
            };
            inputs.measure(g, &mut r);
            r
        })
        .collect();

    // Engagement.
    let mut by_kind = InteractionCounts::default();
    let mut period_interactions: Vec<&tenure_store::dataset::InteractionRow> = data
        .interactions_of(c)
        .iter()
        .filter(|i| within(i.day))
        .collect();
    for i in &period_interactions {
        *match i.kind {
            InteractionKind::Call => &mut by_kind.call,
            InteractionKind::Email => &mut by_kind.email,
            InteractionKind::Meeting => &mut by_kind.meeting,
            InteractionKind::Note => &mut by_kind.note,
        } += 1;
    }
    // Newest first; of one day, the later row first.
    period_interactions.reverse();
    period_interactions.sort_by_key(|i| std::cmp::Reverse(i.day));
    let mut engagement = Engagement {
        interactions: period_interactions.len() as u32,
        interactions_by_kind: by_kind,
        recent_interactions: period_interactions
            .iter()
            .take(5)
            .map(|i| RecentInteraction {
                day: day_text(i.day),
                kind: i.kind.as_str().to_string(),
                owner: i.owner.map(|o| data.name(o).to_string()),
            })
            .collect(),
        touches: 0,
        touches_opened: 0,
        touches_clicked: 0,
        touches_replied: 0,
        campaigns: Vec::new(),
    };
    let mut names = std::collections::BTreeSet::new();
    for t in data.touches_of(c).iter().filter(|t| within(t.day)) {
        engagement.touches += 1;
        engagement.touches_opened += u32::from(t.opened);
        engagement.touches_clicked += u32::from(t.clicked);
        engagement.touches_replied += u32::from(t.replied);
        if let Some(m) = data.campaigns.get(t.campaign as usize) {
            names.insert(data.name(m.name));
        }
    }
    engagement.campaigns = names.into_iter().map(str::to_string).collect();
    Ok(Review {
        customer: customer.to_string(),
        period: period.to_string(),
        start: day_text(start),
        as_of: as_of_text,
        currency: cur.code().to_string(),
        acquired: day_text(acquired),
        tenure_days: f.tenure_days,
        realised_profit: money(f.realised_profit, cur),
        future_profit: f.future_profit.map(|x| money(x, cur)),
        goals,
        value,
        support,
        paid,
        engagement,
        lifecycle,
    })
}

fn esc(s: &str) -> String {
    tenure_charts::escape(s)
}

/// `12.3 %` style, signed.
fn pct(v: f64) -> String {
    format!("{:+.1} %", v * 100.0)
}

/// A figure with its `data-figure` key, so tests and readers can find it.
fn fig(key: &str, text: &str) -> String {
    format!(
        "<span class=\"fig\" data-figure=\"{}\">{}</span>",
        esc(key),
        esc(text)
    )
}

/// The page's one `<style>` block, verbatim (a Content-Security-Policy that shows the page in
/// another can allow exactly it by its hash).
pub const CSS: &str = "body{font-family:Helvetica,Arial,sans-serif;color:#111;margin:24px;font-size:12px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;border-bottom:1px solid #999;margin:18px 0 6px;padding-bottom:2px}
.sub{color:#555}.grid{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ccc;border-radius:4px;padding:6px 10px;min-width:130px}
.card .k{color:#555;font-size:11px}.card .fig{font-size:16px;font-weight:bold}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;text-align:left;padding:3px 6px}
section{page-break-inside:avoid;break-inside:avoid}svg{max-width:100%;height:auto}
svg.bar{vertical-align:middle;width:80px;height:8px}.note{color:#555;font-size:10px}
@page{size:A4;margin:14mm}
@media print{body{margin:0}h2{page-break-after:avoid;break-after:avoid}.chart svg{width:78%}}";

/// A goal's progress as the page prints it: `75 %` (rounded half up, so a reader's
/// `Math.round(100 * progress)` gives the same), `—` without one.
fn progress_text(p: Option<f64>) -> String {
    p.map_or("—".into(), |p| format!("{} %", (p * 100.0).round()))
}

fn met_text(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "met",
        Some(false) => "not met",
        None => "—",
    }
}

/// A small inline-SVG bar: `p` of the target filled (capped at 100 %), green once met. SVG
/// attributes, not `style`, so a policy that allows only the [`CSS`] block still draws it.
fn progress_bar(p: f64) -> String {
    let w = (p.clamp(0.0, 1.0) * 100.0).round();
    let fill = if p >= 1.0 { "#2a7d3f" } else { "#3b6ea8" };
    format!(
        "<svg class=\"bar\" width=\"80\" height=\"8\" viewBox=\"0 0 100 8\" role=\"img\" aria-label=\"progress\"><rect width=\"100\" height=\"8\" fill=\"#e3e3e3\"/><rect width=\"{w}\" height=\"8\" fill=\"{fill}\"/></svg>"
    )
}

/// A standalone SVG document as an element of the HTML page: without its XML declaration and
/// namespace attribute (HTML puts `<svg>` in the SVG namespace itself), so the page holds no URL.
fn inline_svg(svg: &str) -> String {
    let body = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    };
    body.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

fn card(label: &str, key: &str, text: &str) -> String {
    format!(
        "<div class=\"card\"><div class=\"k\">{}</div>{}</div>",
        esc(label),
        fig(key, text)
    )
}

/// One printable HTML page of `r`: inline CSS and SVG only (no link, script or URL). Every key
/// figure carries `data-figure="…"` with exactly the text of the corresponding [`Review`] field.
pub fn render_html(r: &Review) -> String {
    let opt = |v: Option<f64>, d: usize| v.map_or("—".to_string(), |x| format!("{x:.d$}"));
    let mut h = String::with_capacity(16 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!(
        "<title>Value review: {} {}</title><style>{CSS}</style></head><body>\n",
        esc(&r.customer),
        esc(&r.period)
    ));
    h.push_str(&format!(
        "<h1>Value review — {}</h1><div class=\"sub\">{} ({} to {}) · customer since {} ({} days) · amounts in {}</div>\n",
        fig("customer", &r.customer),
        fig("period", &r.period),
        esc(&r.start),
        fig("as_of", &r.as_of),
        esc(&r.acquired),
        fig("tenure_days", &r.tenure_days.to_string()),
        esc(&r.currency)
    ));

    // Goals.
    h.push_str("<section><h2>Account plan: goals and progress</h2>");
    let done = r.goals.iter().filter(|g| g.status == "done").count();
    h.push_str(&format!(
        "<p>{} goals, {} done, {} overdue.</p>",
        fig("goals", &r.goals.len().to_string()),
        fig("goals_done", &done.to_string()),
        fig(
            "goals_overdue",
            &r.goals.iter().filter(|g| g.overdue).count().to_string()
        )
    ));
    if !r.goals.is_empty() {
        h.push_str("<table><tr><th>goal</th><th>owner</th><th>target day</th><th>status</th><th>metric</th><th>at start</th><th>now</th><th>target</th><th>progress</th></tr>");
        for (i, g) in r.goals.iter().enumerate() {
            let n = i + 1;
            let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
            let metric = match (&g.metric, &g.unit) {
                (Some(m), Some(u)) => format!("{} <span class=\"sub\">({})</span>", esc(m), esc(u)),
                (Some(m), None) => esc(m),
                (None, _) => "—".into(),
            };
            let mut progress = match g.progress {
                Some(p) => format!(
                    "{} {}",
                    progress_bar(p),
                    fig(&format!("goal_{n}_progress"), &progress_text(g.progress))
                ),
                None => fig(&format!("goal_{n}_progress"), "—"),
            };
            progress.push_str(&format!(
                " {}",
                fig(&format!("goal_{n}_met"), met_text(g.met))
            ));
            if let Some(note) = &g.progress_note {
                progress.push_str(&format!("<div class=\"note\">{}</div>", esc(note)));
            }
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&g.title),
                esc(&g.owner),
                esc(&g.target_day),
                esc(&g.status),
                if g.overdue { " (overdue)" } else { "" },
                metric,
                fig(&format!("goal_{n}_start_value"), &dash(&g.start_value)),
                fig(&format!("goal_{n}_value"), &dash(&g.value)),
                match &g.target_value {
                    Some(t) => fig(&format!("goal_{n}_target"), t),
                    None => format!(
                        "{}{}",
                        fig(&format!("goal_{n}_target"), "—"),
                        g.target
                            .as_deref()
                            .map_or(String::new(), |t| format!(" ({})", esc(t)))
                    ),
                },
                progress
            ));
        }
        h.push_str("</table>");
    }
    h.push_str("</section>\n");

    // Value received.
    let v = &r.value;
    h.push_str("<section><h2>Value received</h2><div class=\"grid\">");
    h.push_str(&card(
        "usage index (weighted actions/day, recent window)",
        "usage_index",
        &opt(v.usage_index, 2),
    ));
    h.push_str(&card(
        "usage trend vs baseline",
        "usage_trend",
        &v.usage_trend.map_or("—".into(), pct),
    ));
    h.push_str(&card(
        "features adopted",
        "features_adopted",
        &v.features_adopted.len().to_string(),
    ));
    h.push_str(&card(
        "new features this period",
        "features_new_in_period",
        &v.features_new_in_period.to_string(),
    ));
    h.push_str(&card(
        "time to first value (days)",
        "days_to_first_value",
        &v.days_to_first_value
            .map_or("not reached".into(), |d| d.to_string()),
    ));
    h.push_str(&card(
        "realised profit to date",
        "realised_profit",
        &r.realised_profit,
    ));
    h.push_str("</div>");
    let points: Vec<(f64, f64)> = v
        .usage_by_week
        .iter()
        .enumerate()
        .map(|(i, w)| (i as f64 + 1.0, w.quantity))
        .collect();
    let chart = tenure_charts::line_chart(&tenure_charts::LineChart {
        title: format!("Usage per week, {}", r.period),
        x_label: "week of the period".into(),
        y_label: "usage quantity".into(),
        series: vec![tenure_charts::Series {
            name: "usage".into(),
            points,
            style: tenure_charts::Style::LineDots,
        }],
        x_ticks: None,
        rule: None,
    });
    h.push_str(&format!(
        "<div class=\"chart\">{}</div>",
        inline_svg(&chart)
    ));
    if !v.features_adopted.is_empty() {
        h.push_str("<p>Features (first used): ");
        let list: Vec<String> = v
            .features_adopted
            .iter()
            .map(|x| format!("{} ({})", esc(&x.feature), esc(&x.first_used)))
            .collect();
        h.push_str(&list.join(", "));
        h.push_str("</p>");
    }
    h.push_str("</section>\n");

    // Support.
    let s = &r.support;
    h.push_str("<section><h2>Support experience</h2><div class=\"grid\">");
    h.push_str(&card("cases opened", "cases_opened", &s.opened.to_string()));
    h.push_str(&card("cases closed", "cases_closed", &s.closed.to_string()));
    h.push_str(&card(
        "escalated",
        "cases_escalated",
        &s.escalated.to_string(),
    ));
    h.push_str(&card(
        "mean satisfaction (1–5)",
        "mean_satisfaction",
        &opt(s.mean_satisfaction, 2),
    ));
    h.push_str(&card(
        "open at the end",
        "cases_open_at_end",
        &s.open_at_end.to_string(),
    ));
    h.push_str("</div>");
    let bins: Vec<(f64, f64, f64)> = s
        .opened_by_severity
        .iter()
        .enumerate()
        .map(|(i, n)| (i as f64 + 0.5, i as f64 + 1.5, f64::from(*n)))
        .collect();
    let hist = tenure_charts::histogram(&tenure_charts::Histogram {
        title: "Cases opened by severity (1 = outage … 4 = question)".into(),
        x_label: "severity".into(),
        y_label: "cases".into(),
        bins,
    });
    h.push_str(&format!("<div class=\"chart\">{}</div>", inline_svg(&hist)));
    h.push_str("<table><tr><th>severity</th><th>1</th><th>2</th><th>3</th><th>4</th></tr><tr><td>opened</td>");
    for (i, n) in s.opened_by_severity.iter().enumerate() {
        h.push_str(&format!(
            "<td>{}</td>",
            fig(&format!("cases_severity_{}", i + 1), &n.to_string())
        ));
    }
    h.push_str("</tr></table></section>\n");

    // Paid.
    let p = &r.paid;
    h.push_str("<section><h2>What they paid</h2><div class=\"grid\">");
    h.push_str(&card("paid in the period", "paid_total", &p.total));
    h.push_str(&card(
        "invoice lines",
        "invoice_lines",
        &p.invoice_lines.to_string(),
    ));
    h.push_str(&card(
        "payments succeeded",
        "payments_succeeded",
        &p.payments_succeeded.to_string(),
    ));
    h.push_str(&card(
        "payments failed",
        "payments_failed",
        &p.payments_failed.to_string(),
    ));
    h.push_str(&card("refunds", "refunds", &p.refunds.to_string()));
    h.push_str(&card("refunded", "refunded", &p.refunded));
    h.push_str(&card(
        "chargebacks",
        "chargebacks",
        &p.chargebacks.to_string(),
    ));
    h.push_str("</div></section>\n");

    // Engagement.
    let e = &r.engagement;
    h.push_str("<section><h2>Outcomes and engagement</h2><div class=\"grid\">");
    h.push_str(&card(
        "CRM interactions",
        "interactions",
        &e.interactions.to_string(),
    ));
    let k = &e.interactions_by_kind;
    for (label, key, n) in [
        ("calls", "interactions_call", k.call),
        ("emails", "interactions_email", k.email),
        ("meetings", "interactions_meeting", k.meeting),
        ("notes", "interactions_note", k.note),
    ] {
        h.push_str(&card(label, key, &n.to_string()));
    }
    h.push_str(&card("campaign touches", "touches", &e.touches.to_string()));
    h.push_str(&card(
        "opened",
        "touches_opened",
        &e.touches_opened.to_string(),
    ));
    h.push_str(&card(
        "clicked",
        "touches_clicked",
        &e.touches_clicked.to_string(),
    ));
    h.push_str(&card(
        "replied",
        "touches_replied",
        &e.touches_replied.to_string(),
    ));
    h.push_str("</div>");
    if !e.recent_interactions.is_empty() {
        h.push_str("<table><tr><th>latest interactions</th><th>kind</th><th>owner</th></tr>");
        for i in &e.recent_interactions {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.day),
                esc(&i.kind),
                esc(i.owner.as_deref().unwrap_or("—"))
            ));
        }
        h.push_str("</table>");
    }
    if !e.campaigns.is_empty() {
        let names: Vec<String> = e.campaigns.iter().map(|c| esc(c)).collect();
        h.push_str(&format!("<p>Campaigns: {}</p>", names.join(", ")));
    }
    h.push_str("</section>\n");

    // Lifecycle.
    let l = &r.lifecycle;
    h.push_str("<section><h2>Lifecycle: where they are and what comes next</h2>");
    h.push_str(&format!(
        "<p>Stage {} since {} ({} days){}. {}</p><p>Next stage: {}. {}.</p>",
        fig("stage", &l.stage),
        esc(&l.since),
        fig("days_in_stage", &l.days_in_stage.to_string()),
        if l.overdue { ", overdue" } else { "" },
        esc(&l.reason),
        fig("next_stage", l.next_stage.as_deref().unwrap_or("—")),
        esc(&l.next_step)
    ));
    h.push_str("</section>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_parse_and_bound() {
        let q = Quarter::parse("2026-Q3").unwrap();
        assert_eq!(q.to_string(), "2026-Q3");
        assert_eq!(day_text(q.start()), "2026-07-01");
        assert_eq!(day_text(q.end()), "2026-10-01");
        assert_eq!(
            day_text(Quarter::parse("2025-Q4").unwrap().end()),
            "2026-01-01"
        );
        for bad in [
            "2026-Q5", "2026-Q0", "2026Q3", "26-Q3", "2026-Q3x", "", "abcd-Q1",
        ] {
            assert!(Quarter::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Quarter::of_day(q.start() + 40), q);
    }

    fn sample() -> Review {
        Review {
            customer: "C<1>".into(),
            period: "2026-Q3".into(),
            start: "2026-07-01".into(),
            as_of: "2026-09-30".into(),
            currency: "USD".into(),
            acquired: "2024-01-02".into(),
            tenure_days: 1002,
            realised_profit: "1234.50".into(),
            future_profit: None,
            goals: vec![
                ReviewGoal {
                    title: "Roll out <reports> & API".into(),
                    owner: "ana".into(),
                    target_day: "2026-09-01".into(),
                    status: "done".into(),
                    metric: None,
                    target: None,
                    overdue: false,
                    unit: None,
                    value: None,
                    start_value: None,
                    target_value: None,
                    progress: None,
                    met: None,
                    progress_note: Some("no metric is linked to this goal".into()),
                },
                ReviewGoal {
                    title: "Seats".into(),
                    owner: "ana".into(),
                    target_day: "2026-12-31".into(),
                    status: "on_track".into(),
                    metric: Some("seats".into()),
                    target: Some("40".into()),
                    overdue: false,
                    unit: Some("seats".into()),
                    value: Some("30".into()),
                    start_value: Some("35".into()),
                    target_value: Some("40".into()),
                    progress: Some(0.755),
                    met: Some(false),
                    progress_note: None,
                },
            ],
            value: ValueReceived {
                usage_index: Some(2.345),
                usage_baseline: Some(2.0),
                usage_trend: Some(0.1725),
                features_adopted: vec![],
                features_new_in_period: 0,
                first_value: None,
                days_to_first_value: None,
                usage_by_week: vec![UsageWeek {
                    week: "2026-07-01".into(),
                    quantity: 3.0,
                }],
            },
            support: Support {
                opened: 5,
                closed: 4,
                opened_by_severity: [1, 0, 3, 1],
                escalated: 2,
                mean_satisfaction: Some(4.25),
                rated: 4,
                open_at_end: 1,
            },
            paid: Paid {
                total: "900.00".into(),
                total_minor: 90_000,
                invoice_lines: 3,
                payments_succeeded: 2,
                payments_failed: 1,
                refunds: 1,
                refunded: "10.00".into(),
                chargebacks: 0,
                unconverted_lines: 0,
            },
            engagement: Engagement {
                interactions: 3,
                interactions_by_kind: InteractionCounts {
                    call: 1,
                    email: 0,
                    meeting: 2,
                    note: 0,
                },
                recent_interactions: vec![RecentInteraction {
                    day: "2026-09-02".into(),
                    kind: "meeting".into(),
                    owner: Some("ana".into()),
                }],
                touches: 4,
                touches_opened: 3,
                touches_clicked: 2,
                touches_replied: 1,
                campaigns: vec!["Q3 <upsell>".into()],
            },
            lifecycle: Lifecycle {
                stage: "retain".into(),
                since: "2025-01-01".into(),
                days_in_stage: 637,
                overdue: false,
                reason: "renewal within 30 days".into(),
                next_stage: Some("grow".into()),
                next_step: "x".into(),
            },
        }
    }

    fn figure<'a>(html: &'a str, key: &str) -> &'a str {
        let at = format!("data-figure=\"{key}\">");
        let i = html.find(&at).unwrap_or_else(|| panic!("{key} missing")) + at.len();
        &html[i..i + html[i..].find('<').unwrap_or(0)]
    }

    #[test]
    fn the_page_shows_the_reviews_numbers_and_nothing_external() {
        let r = sample();
        let h = render_html(&r);
        assert_eq!(figure(&h, "customer"), "C&lt;1&gt;");
        assert_eq!(figure(&h, "paid_total"), r.paid.total);
        assert_eq!(figure(&h, "refunded"), r.paid.refunded);
        assert_eq!(figure(&h, "payments_failed"), "1");
        assert_eq!(figure(&h, "cases_opened"), "5");
        assert_eq!(figure(&h, "cases_closed"), "4");
        assert_eq!(figure(&h, "cases_escalated"), "2");
        assert_eq!(figure(&h, "cases_severity_3"), "3");
        assert_eq!(figure(&h, "mean_satisfaction"), "4.25");
        assert_eq!(figure(&h, "usage_index"), "2.35");
        assert_eq!(figure(&h, "usage_trend"), "+17.2 %");
        assert_eq!(figure(&h, "days_to_first_value"), "not reached");
        assert_eq!(figure(&h, "realised_profit"), "1234.50");
        assert_eq!(figure(&h, "goals_done"), "1");
        assert_eq!(figure(&h, "stage"), "retain");
        assert_eq!(figure(&h, "next_stage"), "grow");
        assert!(h.contains("Roll out &lt;reports&gt; &amp; API"));
        // Goals: figures numbered from 1; a progress bar only where there is a progress.
        assert_eq!(figure(&h, "goal_1_value"), "—");
        assert_eq!(figure(&h, "goal_1_progress"), "—");
        assert_eq!(figure(&h, "goal_1_met"), "—");
        assert_eq!(figure(&h, "goal_2_value"), "30");
        assert_eq!(figure(&h, "goal_2_start_value"), "35");
        assert_eq!(figure(&h, "goal_2_target"), "40");
        assert_eq!(figure(&h, "goal_2_progress"), "76 %");
        assert_eq!(figure(&h, "goal_2_met"), "not met");
        assert_eq!(h.matches("<svg class=\"bar\"").count(), 1);
        assert!(h.contains("<rect width=\"76\" height=\"8\" fill=\"#3b6ea8\"/>"));
        assert!(h.contains("no metric is linked to this goal"));
        assert_eq!(figure(&h, "interactions_meeting"), "2");
        assert_eq!(figure(&h, "touches"), "4");
        assert_eq!(figure(&h, "touches_clicked"), "2");
        assert!(h.contains("Q3 &lt;upsell&gt;"));
        // No style attribute: the page runs under a policy that allows only the CSS block.
        assert!(!h.contains("style=\""));
        for bad in ["<link", "<script", "http:", "https:", "src=", "url("] {
            assert!(!h.contains(bad), "{bad}");
        }
        assert!(h.contains("@page"));
    }

    use tenure_core::{BillingInterval, MinorUnits, SubscriptionStatus, TransactionKind};
    use tenure_store::journal::GoalStatus;
    use tenure_store::{DatasetBuilder, LoadOptions};

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn d(m: u32, day: u32) -> Day {
        day_from_ymd(2026, m, day)
    }

    /// `a`, acquired 2026-01-05, reviewed for 2026-Q3 (as of 09-30, records run past it):
    /// - subscriptions (USD unless said): yearly 1200.00 with 30 seats from 01-05 to 08-01
    ///   (100.00 a month); quarterly 300.00 with 5 seats from 02-01 (100.00 a month); monthly
    ///   150.00 with 25 seats from 08-01; a trialing row with 10 seats from 09-01 (no MRR, no
    ///   seats); a monthly EUR row with 3 seats from 03-01 (no EUR rate: left out). So on 06-30
    ///   MRR 200.00 and 35 seats, on 09-30 MRR 250.00 and 30 seats;
    /// - usage: api 4 on 06-20, 3 on 07-10, 2.5 on 09-30, 100 on 10-02; reports 1 on 08-15.
    ///   Within the period api sums to 5.5. Usage index (28-day window): on 09-30 2.5 / 28 =
    ///   0.089 → 0.09; on 06-30 4 / 28 = 0.143 → 0.14. Features adopted: 1 by 06-30, 2 by 09-30;
    /// - NPS 6 on 05-01, 9 on 09-01 (and a CSAT 2 on 09-15, not an NPS);
    /// - interactions: call 06-30 (before), call 07-01, email 07-15, meeting 08-01, note 08-02,
    ///   call 09-01 (owner ana), email 09-30, meeting 10-01 (after);
    /// - touches: "Summer webinar" 06-15 (before) and 08-05 (nothing); "Q3 upsell" 07-20
    ///   (opened, clicked) and 09-10 (opened, replied), and 10-03 (after).
    ///
    /// `b` is a plain monthly subscriber with none of these.
    fn company() -> Dataset {
        let (usd, eur) = (usd(), Currency::parse("EUR").unwrap());
        let mut b = DatasetBuilder::new(false);
        b.add_customer("a", d(1, 5), None, Some("pro"), None, None);
        b.add_customer("b", d(1, 5), None, Some("pro"), None, None);
        let subs = [
            (
                "s1",
                "a",
                d(1, 5),
                Some(d(8, 1)),
                30,
                120_000,
                usd,
                BillingInterval::Year,
                SubscriptionStatus::Active,
            ),
            (
                "s2",
                "a",
                d(2, 1),
                None,
                5,
                30_000,
                usd,
                BillingInterval::Quarter,
                SubscriptionStatus::Active,
            ),
            (
                "s3",
                "a",
                d(8, 1),
                None,
                25,
                15_000,
                usd,
                BillingInterval::Month,
                SubscriptionStatus::Active,
            ),
            (
                "s4",
                "a",
                d(9, 1),
                None,
                10,
                5_000,
                usd,
                BillingInterval::Month,
                SubscriptionStatus::Trialing,
            ),
            (
                "s5",
                "a",
                d(3, 1),
                None,
                3,
                1_000,
                eur,
                BillingInterval::Month,
                SubscriptionStatus::Active,
            ),
            (
                "s6",
                "b",
                d(1, 5),
                None,
                2,
                5_000,
                usd,
                BillingInterval::Month,
                SubscriptionStatus::Active,
            ),
        ];
        for (id, who, start, end, seats, amount, cur, interval, status) in subs {
            b.add_subscription(
                id, who, "pro", start, end, seats, amount, cur, interval, status,
            );
        }
        for (i, m) in (1..=9).enumerate() {
            for who in ["a", "b"] {
                let kind = if m == 1 {
                    TransactionKind::New
                } else {
                    TransactionKind::Renewal
                };
                b.add_transaction(&format!("t{who}{i}"), who, d(m, 5), 10_000, None, usd, kind);
            }
        }
        for (id, feature, day, q) in [
            ("u1", "api", d(6, 20), 4.0),
            ("u2", "api", d(7, 10), 3.0),
            ("u3", "api", d(9, 30), 2.5),
            ("u4", "api", d(10, 2), 100.0),
            ("u5", "reports", d(8, 15), 1.0),
        ] {
            b.add_usage(id, "a", None, feature, day, q);
        }
        b.add_feedback("f1", "a", d(5, 1), FeedbackKind::Nps, 6);
        b.add_feedback("f2", "a", d(9, 1), FeedbackKind::Nps, 9);
        b.add_feedback("f3", "a", d(9, 15), FeedbackKind::Csat, 2);
        for (id, day, kind, owner) in [
            ("i1", d(6, 30), InteractionKind::Call, None),
            ("i2", d(7, 1), InteractionKind::Call, None),
            ("i3", d(7, 15), InteractionKind::Email, None),
            ("i4", d(8, 1), InteractionKind::Meeting, Some("ana")),
            ("i5", d(8, 2), InteractionKind::Note, None),
            ("i6", d(9, 1), InteractionKind::Call, Some("ana")),
            ("i7", d(9, 30), InteractionKind::Email, Some("bo")),
            ("i8", d(10, 1), InteractionKind::Meeting, None),
        ] {
            b.add_interaction(id, "a", day, kind, owner);
        }
        b.add_campaign(
            "m1",
            "Summer webinar",
            None,
            Some(d(6, 1)),
            MinorUnits::new(0, usd),
        );
        b.add_campaign(
            "m2",
            "Q3 upsell",
            None,
            Some(d(7, 1)),
            MinorUnits::new(0, usd),
        );
        for (id, m, day, o, c, r) in [
            ("x1", "m1", d(6, 15), true, true, true),
            ("x2", "m1", d(8, 5), false, false, false),
            ("x3", "m2", d(7, 20), true, true, false),
            ("x4", "m2", d(9, 10), true, false, true),
            ("x5", "m2", d(10, 3), true, true, true),
        ] {
            b.add_touch(id, m, "a", day, o, c, r);
        }
        b.build(LoadOptions::all()).unwrap()
    }

    fn goal(who: &str, metric: Option<&str>, target: Option<&str>) -> Goal {
        Goal {
            id: 1,
            customer_id: who.into(),
            title: format!("{metric:?} to {target:?}"),
            owner: "ana".into(),
            target_day: "2026-12-31".into(),
            status: GoalStatus::OnTrack,
            metric: metric.map(str::to_string),
            target: target.map(str::to_string),
            note: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn review_of(goals: &[Goal]) -> Review {
        let data = company();
        let fx = Fx::new(usd());
        review(
            &data,
            &fx,
            &Config::default(),
            "a",
            Quarter::parse("2026-Q3").unwrap(),
            d(9, 30),
            goals,
        )
        .unwrap()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn goals_are_measured_against_their_metric() {
        let goals = [
            goal("a", Some("seats"), Some("40")),
            goal("a", Some("arr"), Some("1000")),
            goal("a", Some("mrr"), Some("500")),
            goal("a", Some("usage:api"), Some("11")),
            goal("a", Some("nps"), Some("9")),
            goal("a", Some("features_adopted"), Some("two")),
            goal("a", Some("usage_index"), Some("0.18")),
            goal("a", None, None),
            goal("a", Some("seats"), Some("0")),
            goal("b", Some("seats"), Some("1")),
        ];
        let r = review_of(&goals);
        assert_eq!(r.goals.len(), 9, "b's goal is not hers");
        let g = &r.goals;
        // seats: 30 running on 09-30 (25 + 5; trialing and unconverted rows carry none), 35 on
        // 06-30; 30 / 40.
        assert_eq!(
            (g[0].value.clone(), g[0].start_value.clone()),
            (s("30"), s("35"))
        );
        assert_eq!(g[0].target_value, s("40"));
        assert_eq!((g[0].progress, g[0].met), (Some(0.75), Some(false)));
        assert_eq!(g[0].unit, s("seats"));
        assert!(g[0].progress_note.is_none(), "{:?}", g[0].progress_note);
        // An unknown metric: a note naming the known ones, nothing computed.
        let note = g[1].progress_note.as_deref().unwrap();
        assert!(
            note.contains("unknown metric `arr`") && note.contains("usage:FEATURE"),
            "{note}"
        );
        assert_eq!(
            (
                g[1].value.clone(),
                g[1].progress,
                g[1].met,
                g[1].unit.clone()
            ),
            (None, None, None, None)
        );
        // mrr: 150.00 + 300.00 / 3 on 09-30; 1200.00 / 12 + 100.00 on 06-30; the EUR row is said.
        assert_eq!(
            (g[2].value.clone(), g[2].start_value.clone()),
            (s("250.00"), s("200.00"))
        );
        assert_eq!((g[2].progress, g[2].met), (Some(0.5), Some(false)));
        assert_eq!(g[2].unit, s("USD per month"));
        assert!(g[2]
            .progress_note
            .as_deref()
            .unwrap()
            .contains("1 subscription rows in a currency without a rate"));
        // usage:api counts the period's events only (3 + 2.5), no start value.
        assert_eq!(
            (g[3].value.clone(), g[3].start_value.clone()),
            (s("5.5"), None)
        );
        assert_eq!(g[3].progress, Some(0.5));
        // nps: the newest answer by the day (the CSAT is not one).
        assert_eq!(
            (g[4].value.clone(), g[4].start_value.clone()),
            (s("9"), s("6"))
        );
        assert_eq!((g[4].progress, g[4].met), (Some(1.0), Some(true)));
        // A target that is not a number: values, but no progress.
        assert_eq!(
            (g[5].value.clone(), g[5].start_value.clone()),
            (s("2"), s("1"))
        );
        assert_eq!(
            (g[5].target_value.clone(), g[5].progress, g[5].met),
            (None, None, None)
        );
        assert!(g[5]
            .progress_note
            .as_deref()
            .unwrap()
            .contains("target `two` is not a number"));
        // usage_index: 2.5 / 28 → 0.09 on 09-30, 4 / 28 → 0.14 on 06-30.
        assert_eq!(
            (g[6].value.clone(), g[6].start_value.clone()),
            (s("0.09"), s("0.14"))
        );
        assert_eq!(g[6].progress, Some(0.5));
        assert!(g[7].progress_note.as_deref().unwrap().contains("no metric"));
        // A zero target: met, but no ratio.
        assert_eq!((g[8].progress, g[8].met), (None, Some(true)));
        assert!(g[8]
            .progress_note
            .as_deref()
            .unwrap()
            .contains("not positive"));
    }

    #[test]
    fn health_goal_is_the_decisions_score_without_a_start_value() {
        let data = company();
        let fx = Fx::new(usd());
        let cfg = Config::default();
        let decisions = crate::decide(&data, &fx, d(9, 30), &cfg).unwrap();
        let k = decisions
            .facts
            .iter()
            .position(|f| f.customer == 0)
            .unwrap();
        let score = decisions.health[k].score.unwrap();
        let r = review_of(&[goal("a", Some("health"), Some("50"))]);
        let g = &r.goals[0];
        let want = format!("{:.1}", score);
        let got: f64 = g.value.as_deref().unwrap().parse().unwrap();
        assert_eq!(format!("{got:.1}"), want);
        assert_eq!(g.start_value, None);
        assert_eq!(g.met, Some(got >= 50.0));
        assert!((g.progress.unwrap() - got / 50.0).abs() < 1e-12);
        // The start value of usage_index is the same rule as Facts::usage on as_of.
        let inputs_rate =
            crate::playbooks::usage_windows(&data, 0, d(9, 30), 28, &cfg.usage.weights).recent
                / 28.0;
        assert_eq!(Some(inputs_rate), decisions.facts[k].usage.map(|u| u.0));
    }

    #[test]
    fn engagement_counts_the_periods_interactions_and_touches() {
        let r = review_of(&[]);
        let e = &r.engagement;
        assert_eq!(e.interactions, 6);
        assert_eq!(
            e.interactions_by_kind,
            InteractionCounts {
                call: 2,
                email: 2,
                meeting: 1,
                note: 1
            }
        );
        let recent: Vec<(&str, &str, Option<&str>)> = e
            .recent_interactions
            .iter()
            .map(|i| (i.day.as_str(), i.kind.as_str(), i.owner.as_deref()))
            .collect();
        assert_eq!(
            recent,
            [
                ("2026-09-30", "email", Some("bo")),
                ("2026-09-01", "call", Some("ana")),
                ("2026-08-02", "note", None),
                ("2026-08-01", "meeting", Some("ana")),
                ("2026-07-15", "email", None),
            ]
        );
        assert_eq!(
            (
                e.touches,
                e.touches_opened,
                e.touches_clicked,
                e.touches_replied
            ),
            (3, 2, 1, 1)
        );
        assert_eq!(e.campaigns, ["Q3 upsell", "Summer webinar"]);
        let h = render_html(&r);
        assert_eq!(figure(&h, "interactions"), "6");
        assert_eq!(figure(&h, "interactions_call"), "2");
        assert_eq!(figure(&h, "touches_replied"), "1");
        assert!(h.contains("Campaigns: Q3 upsell, Summer webinar"));
    }
}
