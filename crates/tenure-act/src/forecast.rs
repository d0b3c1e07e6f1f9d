//! What each customer is expected to do next, from records dated on or before the as-of day:
//!
//! - **Purchase customers** (predicted by BG/NBD + Gamma-Gamma, [`tenure_reports::predict`]):
//!   P(a purchase in the next 30 and 90 days), the window of the next purchase (10 %, 50 % and
//!   90 % quantiles of the waiting time among customers like her who buy again, and the
//!   probability she never does; [`tenure_models::nextpurchase`]), expected purchases and
//!   spend over the configured value horizon.
//! - **Subscribers** (sBG): the next renewal day — the running subscription's start plus
//!   (renewals + 1) billing periods, in calendar months clamped to the month's end, as the
//!   renewals are counted by `predict` — the renewal likelihood r(p+1) = (β+p)/(α+β+p) of a
//!   subscriber with p renewals (Fader & Hardie 2007), the renewal amount (her recurring amount
//!   per period: MRR × months per period) and the expected renewal value, likelihood × amount.
//! - **Expansion propensity** of every paying subscriber: the rate at which subscribers like
//!   her expanded in the past, learned from this dataset (see [`ExpansionPropensity`]).
//!
//! Money is integer minor units of the report currency: the renewal amount is MRR (twelfths,
//! exact) × months per period / 12, rounded half away from zero; the expected renewal value is
//! that amount × the likelihood in `Decimal` (the likelihood rounded to 12 decimals first),
//! rounded half away from zero. Expected spend is a model output rounded to a minor unit.
//! Records after `as_of` are never looked at, nor an `ended_at` after it (as in `predict`).

use crate::config::Config;
use crate::facts::{facts, Facts};
use crate::health::{health, Band};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use tenure_core::{BillingInterval, TimeUnit, TransactionKind};
use tenure_models::sbg::SbgParams;
use tenure_models::{NextPurchase, RfmModel};
use tenure_reports::calendar::{add_months, ymd_of_day};
use tenure_reports::money::div_round;
use tenure_reports::mrr::Timeline;
use tenure_reports::predict::{predict, purchase_days, Method, PredictConfig, Predictions};
use tenure_reports::survival::spells_of;
use tenure_reports::value::{value_report, ValueConfig};
use tenure_reports::{Excluded, Fx, GroupBy, Grouping, ReportError};
use tenure_store::dataset::{CustomerIdx, Day};
use tenure_store::Dataset;

/// Quantile levels of the next-purchase window's early and late ends (the likely day is the
/// median).
pub const WINDOW_QUANTILES: (f64, f64) = (0.1, 0.9);
/// Days of the expansion window: propensity = P(an expansion or upsell within this many days).
pub const EXPANSION_WINDOW_DAYS: i32 = 90;
/// "Expanded before" looks back this many days from the day the features are taken.
pub const PRIOR_EXPANSION_DAYS: i32 = 365;
/// A usage trend within ± this fraction of the baseline is "flat".
pub const FLAT_USAGE: f64 = 0.15;
/// Pseudo-subscribers at the base rate added to every bucket (shrinks small buckets).
pub const SMOOTHING: f64 = 20.0;
/// Days a model time unit (week) of the purchase model lasts.
const DAYS_PER_WEEK: f64 = 7.0;

/// What is forecast for a customer.
#[derive(Debug, Clone, PartialEq)]
pub enum ForecastKind {
    /// BG/NBD: see [`Forecast::purchase`].
    Purchase,
    /// sBG: see [`Forecast::renewal`].
    Subscription,
    /// No purchase or renewal forecast, and why (churned, no model fitted, …).
    None(String),
}

/// One customer's forecasts on the as-of day.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub customer: CustomerIdx,
    pub kind: ForecastKind,
    /// Set when `kind` is `Purchase`.
    pub purchase: Option<PurchaseForecast>,
    /// Set when `kind` is `Subscription`.
    pub renewal: Option<RenewalForecast>,
    /// Set for every customer paying a subscription on the day when a propensity could be
    /// learned (some subscriber paying on the reference day).
    pub expansion: Option<ExpansionPropensity>,
}

/// A purchase customer's next purchases (BG/NBD fitted in weeks; converted to days here).
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseForecast {
    pub p_alive: f64,
    /// P(at least one purchase in (as_of, as_of + 30 days]).
    pub p_purchase_30_days: f64,
    /// P(at least one purchase in (as_of, as_of + 90 days]).
    pub p_purchase_90_days: f64,
    /// P(no purchase ever again) (= 1 − P(alive) under BG/NBD).
    pub p_never: f64,
    /// `None` when she cannot buy again.
    pub window: Option<PurchaseWindow>,
    /// The value horizon (`[value] horizon`), days.
    pub horizon_days: u32,
    /// E[purchases in (as_of, as_of + horizon]]; `None` when the model gives no finite value.
    pub expected_purchases: Option<f64>,
    /// Expected purchases × Gamma-Gamma expected spend per purchase, undiscounted, before
    /// margin; minor units. `None` when the spend model gives no finite mean.
    pub expected_spend: Option<i64>,
}

/// When the next purchase comes, among customers like her who buy again: quantiles
/// [`WINDOW_QUANTILES`] and the median of the waiting time, in days after `as_of`, and the
/// first day by whose end each is reached (as_of + ⌈days⌉, at least as_of + 1; `None` beyond
/// 100 years). early ≤ median ≤ late.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PurchaseWindow {
    pub early_days: f64,
    pub median_days: f64,
    pub late_days: f64,
    pub earliest: Option<Day>,
    pub likely: Option<Day>,
    pub latest: Option<Day>,
}

/// A subscriber's next renewal.
#[derive(Debug, Clone, PartialEq)]
pub struct RenewalForecast {
    /// The sBG's group (plan of her first subscription; `pooled`: the interval's fit).
    pub plan: String,
    pub interval: BillingInterval,
    pub pooled: bool,
    /// Renewals of the running subscription so far (p).
    pub renewals: u32,
    /// The running subscription's start + (p + 1) billing periods; after `as_of`.
    pub next_renewal: Day,
    pub days_to_renewal: i32,
    /// r(p + 1) = (β + p)/(α + β + p), in (0, 1).
    pub likelihood: f64,
    /// Her recurring amount per billing period on `as_of`, minor units.
    pub amount: i64,
    /// likelihood × amount, minor units (module docs for the rounding).
    pub expected_value: i64,
}

/// The usage trend as the expansion buckets see it: recent rate / baseline rate − 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageTrend {
    /// Below −[`FLAT_USAGE`].
    Down,
    Flat,
    /// Above +[`FLAT_USAGE`].
    Up,
    /// No usage records, or no baseline yet.
    Unknown,
}

impl UsageTrend {
    fn of(f: &Facts) -> UsageTrend {
        match f.usage_trend() {
            Some(t) if t < -FLAT_USAGE => UsageTrend::Down,
            Some(t) if t > FLAT_USAGE => UsageTrend::Up,
            Some(_) => UsageTrend::Flat,
            None => UsageTrend::Unknown,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            UsageTrend::Down => "usage down",
            UsageTrend::Flat => "usage flat",
            UsageTrend::Up => "usage up",
            UsageTrend::Unknown => "usage trend unknown",
        }
    }
}

/// The features a subscriber is bucketed by, each computed on the day from records up to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpansionBucket {
    /// [`Facts::usage_trend`] banded.
    pub usage: UsageTrend,
    /// The health band (`None`: no score).
    pub health: Option<Band>,
    /// An expansion or upsell line in the [`PRIOR_EXPANSION_DAYS`] up to the day.
    pub expanded_before: bool,
}

impl ExpansionBucket {
    /// `usage down, health at_risk, no expansion in the past 365 days`.
    pub fn describe(&self) -> String {
        format!(
            "{}, health {}, {} in the past {PRIOR_EXPANSION_DAYS} days",
            self.usage.as_str(),
            self.health.map_or("unscored", Band::as_str),
            if self.expanded_before {
                "expanded"
            } else {
                "no expansion"
            }
        )
    }
}

/// P(an expansion or upsell line within [`EXPANSION_WINDOW_DAYS`]), an empirical rate.
///
/// Learned on the same dataset: at the reference day `as_of − 90 days`, every subscriber then
/// paying (MRR > 0) is bucketed by [`ExpansionBucket`] from records up to that day, and
/// labelled by whether she had an expansion or upsell line in (reference day, as_of]. Her
/// score today is her bucket's rate today, shrunk toward the base rate:
/// (expanded + [`SMOOTHING`] · base) / (subscribers + [`SMOOTHING`]). Calibrated in so far as
/// the next 90 days behave like the last 90 (the generated-data test measures it).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpansionPropensity {
    /// In [0, 1].
    pub score: f64,
    pub bucket: ExpansionBucket,
    /// Subscribers of her bucket on the reference day, and how many of them expanded.
    pub bucket_subscribers: u32,
    pub bucket_expanded: u32,
    /// Expanded / subscribers over every subscriber on the reference day.
    pub base_rate: f64,
    pub base_subscribers: u32,
    pub reference_day: Day,
    /// `usage down, health at_risk, no expansion in the past 365 days: 3 of 41 such
    /// subscribers on 2025-04-01 expanded within 90 days (7.3 %; base 9.8 % of 1520): 8.6 %`.
    pub explanation: String,
}

/// The value and prediction settings `facts` uses, from `tenure.toml`.
fn predict_config(cfg: &Config) -> PredictConfig {
    let months = (f64::from(cfg.value.horizon.0) / TimeUnit::Months.days())
        .round()
        .max(1.0);
    PredictConfig {
        monthly_discount: cfg.value.discount_rate.compounded_per(TimeUnit::Months),
        horizon_months: months as u32,
    }
}

fn value_config(fx: &Fx, as_of: Day, cfg: &Config) -> ValueConfig {
    let mut vcfg = ValueConfig::new(as_of, fx.currency());
    vcfg.fx = fx.clone();
    vcfg.referral_share = Decimal::from_f64_retain(cfg.value.referral_share)
        .map(|d| d.round_dp(6))
        .unwrap_or_default();
    vcfg
}

/// Every customer acquired by `as_of`, in customer order, with her forecasts. Errors as
/// [`facts`] (record kinds not loaded, bad settings).
pub fn forecasts(
    data: &Dataset,
    fx: &Fx,
    as_of: Day,
    cfg: &Config,
) -> Result<Vec<Forecast>, ReportError> {
    let value = value_report(
        data,
        &value_config(fx, as_of, cfg),
        &Grouping::new(data, GroupBy::All),
    )?;
    let predictions = predict(data, fx, &value, &predict_config(cfg));
    let expansion = ExpansionModel::learn(data, fx, as_of, cfg)?;
    let today = buckets_on(data, fx, as_of, cfg)?;
    let horizon_days = cfg.value.horizon.0;
    let mut ex = Excluded::default();
    Ok(predictions
        .customers
        .iter()
        .map(|p| {
            let c = p.customer;
            let (kind, purchase, renewal) = match &p.method {
                Method::BgNbdGammaGamma { .. } => {
                    match purchase_forecast(data, fx, as_of, c, &predictions, horizon_days) {
                        Ok(f) => (ForecastKind::Purchase, Some(f), None),
                        Err(why) => (ForecastKind::None(why), None, None),
                    }
                }
                Method::Sbg {
                    plan,
                    interval,
                    params,
                    pooled,
                    renewals,
                    ..
                } => {
                    let group = SbgGroupOf {
                        plan,
                        interval: *interval,
                        params,
                        pooled: *pooled,
                        renewals: *renewals,
                    };
                    match renewal_forecast(data, fx, as_of, c, &group, &mut ex) {
                        Ok(r) => (ForecastKind::Subscription, None, Some(r)),
                        Err(why) => (ForecastKind::None(why), None, None),
                    }
                }
                Method::Churned => (
                    ForecastKind::None("churned: no subscription remains".into()),
                    None,
                    None,
                ),
                Method::None(why) => (ForecastKind::None(why.clone()), None, None),
            };
            Forecast {
                customer: c,
                kind,
                purchase,
                renewal,
                expansion: today
                    .get(c as usize)
                    .copied()
                    .flatten()
                    .and_then(|b| expansion.propensity(b)),
            }
        })
        .collect())
}

fn months_per_period(i: BillingInterval) -> i32 {
    match i {
        BillingInterval::Month => 1,
        BillingInterval::Quarter => 3,
        BillingInterval::Year => 12,
    }
}

/// likelihood × amount in `Decimal`, rounded half away from zero; `None` when the likelihood
/// is not a number in [0, 1].
fn expected_value(likelihood: f64, amount: i64) -> Option<i64> {
    if !(0.0..=1.0).contains(&likelihood) {
        return None;
    }
    Decimal::from_f64_retain(likelihood)?
        .round_dp(12)
        .checked_mul(Decimal::from(amount))?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// What `predict` says of a subscriber's sBG.
struct SbgGroupOf<'a> {
    plan: &'a str,
    interval: BillingInterval,
    params: &'a SbgParams,
    pooled: bool,
    renewals: u32,
}

/// The next renewal of the running subscription (the last chain of rows without an end by
/// `as_of`): its start + (p + 1) periods, her MRR on `as_of` × months per period.
fn renewal_forecast(
    data: &Dataset,
    fx: &Fx,
    as_of: Day,
    c: CustomerIdx,
    g: &SbgGroupOf<'_>,
    ex: &mut Excluded,
) -> Result<RenewalForecast, String> {
    let cur = spells_of(data, c, as_of)
        .into_iter()
        .rev()
        .find(|s| s.end.is_none())
        .ok_or("paying but no running subscription")?;
    let mpp = months_per_period(g.interval);
    let (mrr, _) = Timeline::of(data, fx, c, as_of, ex).at(as_of);
    let amount = div_round(i128::from(mrr) * i128::from(mpp), 12)
        .ok_or("the recurring amount does not fit in 64 bits")?;
    let periods = i32::try_from(g.renewals)
        .ok()
        .and_then(|p| p.checked_add(1)?.checked_mul(mpp))
        .ok_or("too many renewals")?;
    let next = add_months(cur.start, periods);
    let likelihood = g.params.retention(g.renewals + 1);
    let expected_value = expected_value(likelihood, amount)
        .ok_or_else(|| format!("the sBG gives no renewal likelihood ({likelihood})"))?;
    Ok(RenewalForecast {
        plan: g.plan.to_string(),
        interval: g.interval,
        pooled: g.pooled,
        renewals: g.renewals,
        next_renewal: next,
        days_to_renewal: next - as_of,
        likelihood,
        amount,
        expected_value,
    })
}

/// The day by whose end `days` after `as_of` have passed: as_of + ⌈days⌉, at least as_of + 1.
fn day_after(as_of: Day, days: f64) -> Option<Day> {
    (days.is_finite() && days <= 36_525.0).then(|| as_of + (days.ceil() as i32).max(1))
}

fn purchase_forecast(
    data: &Dataset,
    fx: &Fx,
    as_of: Day,
    c: CustomerIdx,
    predictions: &Predictions,
    horizon_days: u32,
) -> Result<PurchaseForecast, String> {
    let (m, g) = predictions.bgnbd.as_ref().map_err(|e| e.clone())?;
    // (x, t_x, T) in weeks, as `predict` summarises her purchase days.
    let days = purchase_days(data, fx, c, as_of);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err("no purchase before as_of to predict from".into());
    };
    let weeks = |d: Day| f64::from(d) / DAYS_PER_WEEK;
    let (x, t_x, t) = (
        (days.len() - 1) as f64,
        weeks(last.0 - first.0),
        weeks(as_of - first.0),
    );
    let within = |d: f64| m.p_purchase_within(d / DAYS_PER_WEEK, x, t_x, t);
    let window = m
        .next_purchase_window(WINDOW_QUANTILES.0, WINDOW_QUANTILES.1, x, t_x, t)
        .map(|w| {
            let (e, md, l) = (
                w.early * DAYS_PER_WEEK,
                w.median * DAYS_PER_WEEK,
                w.late * DAYS_PER_WEEK,
            );
            PurchaseWindow {
                early_days: e,
                median_days: md,
                late_days: l,
                earliest: day_after(as_of, e),
                likely: day_after(as_of, md),
                latest: day_after(as_of, l),
            }
        });
    let horizon = f64::from(horizon_days) / DAYS_PER_WEEK;
    let expected_purchases =
        Some(m.conditional_expected_purchases(horizon, x, t_x, t)).filter(|e| e.is_finite());
    let repeat: Vec<i64> = days[1..].iter().map(|d| d.1).collect();
    let spend = if repeat.is_empty() {
        g.population_mean_spend()
    } else {
        let mean = repeat.iter().sum::<i64>() as f64 / repeat.len() as f64;
        if mean > 0.0 {
            g.conditional_expected_spend(x, mean)
        } else {
            g.population_mean_spend()
        }
    };
    let expected_spend = spend
        .ok()
        .zip(expected_purchases)
        .map(|(s, e)| s * e)
        .filter(|v| v.is_finite() && v.abs() < 9e15)
        .map(|v| v.round() as i64);
    Ok(PurchaseForecast {
        p_alive: m.p_alive(x, t_x, t),
        p_purchase_30_days: within(30.0),
        p_purchase_90_days: within(90.0),
        p_never: 1.0 - m.p_purchase_ever(x, t_x, t),
        window,
        horizon_days,
        expected_purchases,
        expected_spend,
    })
}

/// Subscribers on the reference day, by bucket: (subscribers, expanded).
struct ExpansionModel {
    reference_day: Day,
    cells: Vec<(ExpansionBucket, u32, u32)>,
    total: u32,
    expanded: u32,
}

fn is_expansion(k: TransactionKind) -> bool {
    matches!(k, TransactionKind::Expansion | TransactionKind::Upsell)
}

impl ExpansionModel {
    fn learn(data: &Dataset, fx: &Fx, as_of: Day, cfg: &Config) -> Result<Self, ReportError> {
        let reference_day = as_of - EXPANSION_WINDOW_DAYS;
        let mut model = ExpansionModel {
            reference_day,
            cells: Vec::new(),
            total: 0,
            expanded: 0,
        };
        let buckets = buckets_on(data, fx, reference_day, cfg)?;
        for (c, b) in buckets.iter().enumerate() {
            let Some(b) = b else { continue };
            let expanded = data
                .transactions_of(c as CustomerIdx)
                .iter()
                .any(|t| t.day > reference_day && t.day <= as_of && is_expansion(t.kind));
            model.total += 1;
            model.expanded += u32::from(expanded);
            match model.cells.iter_mut().find(|e| e.0 == *b) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += u32::from(expanded);
                }
                None => model.cells.push((*b, 1, u32::from(expanded))),
            }
        }
        Ok(model)
    }

    fn propensity(&self, b: ExpansionBucket) -> Option<ExpansionPropensity> {
        if self.total == 0 {
            return None;
        }
        let base = f64::from(self.expanded) / f64::from(self.total);
        let (n, k) = self
            .cells
            .iter()
            .find(|e| e.0 == b)
            .map_or((0, 0), |e| (e.1, e.2));
        let score = (f64::from(k) + SMOOTHING * base) / (f64::from(n) + SMOOTHING);
        let (y, m, d) = ymd_of_day(self.reference_day);
        let raw = if n > 0 {
            format!("{:.1} %", 100.0 * f64::from(k) / f64::from(n))
        } else {
            "none such".into()
        };
        Some(ExpansionPropensity {
            score,
            bucket: b,
            bucket_subscribers: n,
            bucket_expanded: k,
            base_rate: base,
            base_subscribers: self.total,
            reference_day: self.reference_day,
            explanation: format!(
                "{}: {k} of {n} such subscribers on {y:04}-{m:02}-{d:02} expanded within \
                 {EXPANSION_WINDOW_DAYS} days ({raw}; base {:.1} % of {}): {:.1} %",
                b.describe(),
                100.0 * base,
                self.total,
                100.0 * score
            ),
        })
    }
}

/// The bucket of every customer paying a subscription on `day`, from records up to `day`
/// (indexed by customer; `None`: not paying, or acquired after `day`).
fn buckets_on(
    data: &Dataset,
    fx: &Fx,
    day: Day,
    cfg: &Config,
) -> Result<Vec<Option<ExpansionBucket>>, ReportError> {
    let mut out = vec![None; data.len()];
    if !data.customers.iter().any(|c| c.acquired <= day) {
        return Ok(out);
    }
    let mut ex = Excluded::default();
    for f in facts(data, fx, day, cfg)? {
        let c = f.customer;
        if Timeline::of(data, fx, c, day, &mut ex).at(day).0 <= 0 {
            continue;
        }
        let h = health(&f, &cfg.health, cfg.usage.window.0, cfg.usage.baseline.0);
        let expanded_before = data
            .transactions_of(c)
            .iter()
            .any(|t| t.day <= day && t.day > day - PRIOR_EXPANSION_DAYS && is_expansion(t.kind));
        out[c as usize] = Some(ExpansionBucket {
            usage: UsageTrend::of(&f),
            health: h.band,
            expanded_before,
        });
    }
    Ok(out)
}
