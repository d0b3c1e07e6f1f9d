//! Predicted value: realised profit to date + predicted future profit = lifetime value, with
//! the method that made the prediction named per customer.
//!
//! - **Subscribers** (MRR > 0 on `as_of`): the sBG (Fader & Hardie 2007) is fitted by
//!   maximum likelihood to the first subscription of every customer of the same plan and
//!   billing interval (tenure in whole billing periods; churned, or right-censored at the
//!   renewals seen by `as_of`). A subscriber whose current subscription has had `p` renewals is
//!   valued with DERL(d | p renewals) (Fader & Hardie 2010): the discounted number of future
//!   payments, each worth her current recurring amount per period × her gross margin (her
//!   contribution ÷ net revenue to date, else the company's) less her cost to serve per
//!   period (retention + service costs to date ÷ months observed). d per period =
//!   (1 + monthly rate)^(months per period) − 1. A group whose sBG cannot be fitted (no churn
//!   yet, say) falls back to one fit of every first subscription of the interval.
//! - **Purchase customers** (no subscription rows): BG/NBD (Fader, Hardie & Lee 2005) fitted
//!   to their purchase days (in weeks; a day's lines are one purchase when one is not a
//!   refund, worth the day's net total) and Gamma-Gamma spend fitted to repeat buyers; the
//!   future profit is the discounted CLV over `horizon_months` at the company's purchase
//!   margin; P(alive) is reported (the status uses it).
//! - **Churned** subscribers (subscriptions, none paying on `as_of`): no future profit, method
//!   `churned` — a reactivation would be new value, not predicted here.

use crate::calendar::{months_between, Day, Month};
use crate::mrr::Timeline;
use crate::survival::spells_of;
use crate::value::ValueReport;
use crate::{Excluded, Fx};
use tenure_core::{BillingInterval, TransactionKind};
use tenure_models::bgnbd::{fit_bgnbd, BgNbdParams};
use tenure_models::clv::{customer_lifetime_value, ClvConfig};
use tenure_models::gammagamma::{fit_gammagamma, GammaGammaParams, SpendData, SpendRow};
use tenure_models::sbg::{fit_sbg_records, SbgParams, SbgRecord, SbgRecords};
use tenure_models::{FitOptions, Rfm, RfmModel, RfmRow};
use tenure_store::dataset::CustomerIdx;
use tenure_store::Dataset;

/// Settings of the predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictConfig {
    /// Discount rate per month (0.01 = 1 %/month).
    pub monthly_discount: f64,
    /// Horizon of purchase-customer CLV, months.
    pub horizon_months: u32,
}

impl Default for PredictConfig {
    fn default() -> Self {
        PredictConfig {
            monthly_discount: 0.01,
            horizon_months: 36,
        }
    }
}

/// Days in a month (365.25 / 12) and weeks in a month, for the BG/NBD's unit (weeks).
const WEEKS_PER_MONTH: f64 = 365.25 / 12.0 / 7.0;

/// How a customer's future was predicted.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// sBG of her plan and interval (`pooled`: the interval's fit, the group's failed).
    Sbg {
        plan: String,
        interval: BillingInterval,
        params: SbgParams,
        pooled: bool,
        /// Renewals of her current subscription.
        renewals: u32,
        /// Discount rate per billing period.
        discount: f64,
    },
    BgNbdGammaGamma {
        horizon_months: u32,
        monthly_discount: f64,
    },
    Churned,
    /// No model applies or none could be fitted; the reason.
    None(String),
}

impl Method {
    /// A short statement of the method, e.g. `sBG(growth, month; α=1.21, β=29.8) DERL, 14
    /// renewals, d=1.00%/period`.
    pub fn describe(&self) -> String {
        match self {
            Method::Sbg {
                plan,
                interval,
                params,
                pooled,
                renewals,
                discount,
            } => format!(
                "sBG({}{interval}; alpha={:.4}, beta={:.4}) DERL after {renewals} renewals, d={:.4}%/{interval}",
                if *pooled { "all plans, ".to_string() } else { format!("{plan}, ") },
                params.alpha,
                params.beta,
                discount * 100.0
            ),
            Method::BgNbdGammaGamma {
                horizon_months,
                monthly_discount,
            } => format!(
                "BG/NBD + Gamma-Gamma CLV, {horizon_months} months, d={:.4}%/month",
                monthly_discount * 100.0
            ),
            Method::Churned => "churned (no subscription remains)".into(),
            Method::None(r) => format!("none: {r}"),
        }
    }
}

/// One customer's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub customer: CustomerIdx,
    pub method: Method,
    /// Predicted future profit, minor units of the report currency (`None`: no prediction).
    pub future_profit: Option<i64>,
    /// P(alive) (BG/NBD) or the probability of the next renewal (sBG).
    pub p_alive: Option<f64>,
}

/// An sBG fitted to one plan and interval.
#[derive(Debug, Clone, PartialEq)]
pub struct SbgGroup {
    pub plan: String,
    pub interval: BillingInterval,
    /// The maximum-likelihood estimate, or why it could not be fitted.
    pub params: Result<SbgParams, String>,
    /// Standard errors of (α, β) from the observed information (NaN where not available).
    pub standard_errors: (f64, f64),
    /// Covariance of (α̂, β̂) (the inverse observed information), when available.
    pub covariance: Option<[[f64; 2]; 2]>,
    pub customers: u64,
    pub churned: u64,
}

/// Every customer's prediction, with the fits behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Indexed like the value report's customers.
    pub customers: Vec<Prediction>,
    pub sbg: Vec<SbgGroup>,
    pub bgnbd: Result<(BgNbdParams, GammaGammaParams), String>,
    pub purchase_margin: f64,
}

fn interval_months(i: BillingInterval) -> i32 {
    match i {
        BillingInterval::Month => 1,
        BillingInterval::Quarter => 3,
        BillingInterval::Year => 12,
    }
}

/// sBG records of every customer's first subscription, keyed by (the plan of its first row,
/// its billing interval): tenure in whole billing periods, churned or right-censored at the
/// renewals seen by `as_of` — what the sBG of [`predict`] is fitted to.
pub fn first_subscription_records(
    data: &Dataset,
    as_of: Day,
) -> Vec<((u32, BillingInterval), SbgRecord)> {
    let mut out = Vec::new();
    for c in 0..data.len() as CustomerIdx {
        let Some(s) = spells_of(data, c, as_of).into_iter().next() else {
            continue;
        };
        let mpp = interval_months(s.interval);
        let rec = match s.end {
            Some(e) => SbgRecord {
                tenure: ((months_between(s.start, e) / mpp).max(1)) as u32,
                churned: true,
            },
            None => SbgRecord {
                tenure: (months_between(s.start, as_of) / mpp) as u32,
                churned: false,
            },
        };
        out.push(((s.plan, s.interval), rec));
    }
    out
}

type SbgFit = (Result<SbgParams, String>, (f64, f64), Option<[[f64; 2]; 2]>);

fn fit_sbg(records: &[SbgRecord]) -> SbgFit {
    let fit = SbgRecords::new(records)
        .map_err(|e| e.to_string())
        .and_then(|d| fit_sbg_records(&d, &FitOptions::default()).map_err(|e| e.to_string()));
    match fit {
        Ok((p, f)) => {
            let se = |i: usize| f.standard_errors.get(i).copied().unwrap_or(f64::NAN);
            let cov = f.covariance.as_ref().and_then(|c| match c.as_slice() {
                [a, b] if a.len() == 2 && b.len() == 2 => Some([[a[0], a[1]], [b[0], b[1]]]),
                _ => None,
            });
            (Ok(p), (se(0), se(1)), cov)
        }
        Err(e) => (Err(e), (f64::NAN, f64::NAN), None),
    }
}

/// Purchase days of a customer: (day, net amount) for days with a line that is not a refund,
/// dated on or before `as_of`, in day order — the purchases the BG/NBD of [`predict`] is
/// fitted to (lines in a currency without a rate are left out).
pub fn purchase_days(data: &Dataset, fx: &Fx, c: CustomerIdx, as_of: Day) -> Vec<(Day, i64)> {
    let mut days: Vec<(Day, i64, bool)> = Vec::new();
    for t in data.transactions_of(c) {
        if t.day > as_of {
            continue;
        }
        let Some(a) = fx.convert(t.amount, t.currency) else {
            continue;
        };
        let purchase = t.kind != TransactionKind::Refund;
        match days.last_mut() {
            Some(d) if d.0 == t.day => {
                d.1 += a;
                d.2 |= purchase;
            }
            _ => days.push((t.day, a, purchase)),
        }
    }
    days.into_iter()
        .filter(|d| d.2)
        .map(|d| (d.0, d.1))
        .collect()
}

/// Predict every customer of `value` (the value report of the same data and `as_of`).
pub fn predict(data: &Dataset, fx: &Fx, value: &ValueReport, cfg: &PredictConfig) -> Predictions {
    let as_of = value.as_of;
    // sBG per (plan, interval), and pooled per interval.
    let recs = first_subscription_records(data, as_of);
    let mut keys: Vec<(u32, BillingInterval)> = recs.iter().map(|r| r.0).collect();
    keys.sort_by_key(|k| (data.name(k.0).to_string(), k.1 as u8));
    keys.dedup();
    let sbg: Vec<SbgGroup> = keys
        .iter()
        .map(|k| {
            let r: Vec<SbgRecord> = recs.iter().filter(|x| x.0 == *k).map(|x| x.1).collect();
            let (params, standard_errors, covariance) = fit_sbg(&r);
            SbgGroup {
                plan: data.name(k.0).to_string(),
                interval: k.1,
                params,
                standard_errors,
                covariance,
                customers: r.len() as u64,
                churned: r.iter().filter(|x| x.churned).count() as u64,
            }
        })
        .collect();
    let mut pooled: Vec<(BillingInterval, Result<SbgParams, String>)> = Vec::new();
    for i in BillingInterval::ALL {
        let r: Vec<SbgRecord> = recs.iter().filter(|x| x.0 .1 == *i).map(|x| x.1).collect();
        if !r.is_empty() {
            pooled.push((*i, fit_sbg(&r).0));
        }
    }

    // BG/NBD + Gamma-Gamma over purchase customers.
    let mut rfm_rows: Vec<(CustomerIdx, RfmRow, f64)> = Vec::new();
    let (mut p_net, mut p_contrib) = (0i64, 0i64);
    for v in &value.customers {
        let c = v.customer;
        if !data.subscriptions_of(c).is_empty() {
            continue;
        }
        p_net += v.totals.net_revenue();
        p_contrib += v.totals.contribution();
        let days = purchase_days(data, fx, c, as_of);
        let Some(first) = days.first() else { continue };
        let t = f64::from(as_of - first.0) / 7.0;
        if !(t > 0.0) {
            continue;
        }
        let x = (days.len() - 1) as f64;
        let t_x = f64::from(days[days.len() - 1].0 - first.0) / 7.0;
        let repeat: Vec<i64> = days[1..].iter().map(|d| d.1).collect();
        let mean = if repeat.is_empty() {
            0.0
        } else {
            repeat.iter().sum::<i64>() as f64 / repeat.len() as f64
        };
        rfm_rows.push((c, RfmRow { x, t_x, t }, mean));
    }
    let purchase_margin = if p_net > 0 {
        (p_contrib as f64 / p_net as f64).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let bgnbd: Result<(BgNbdParams, GammaGammaParams), String> = if rfm_rows.is_empty() {
        Err("no purchase customers".into())
    } else {
        (|| {
            let rows: Vec<RfmRow> = rfm_rows.iter().map(|r| r.1).collect();
            let rfm = Rfm::new(&rows).map_err(|e| e.to_string())?;
            let (m, _) = fit_bgnbd(&rfm, &FitOptions::default()).map_err(|e| e.to_string())?;
            let spend: Vec<SpendRow> = rfm_rows
                .iter()
                .filter(|r| r.1.x > 0.0 && r.2 > 0.0)
                .map(|r| SpendRow {
                    x: r.1.x,
                    mean_spend: r.2,
                })
                .collect();
            let sd = SpendData::new(&spend).map_err(|e| e.to_string())?;
            let (g, _) = fit_gammagamma(&sd, &FitOptions::default()).map_err(|e| e.to_string())?;
            Ok((m, g))
        })()
    };
    let clv_cfg = ClvConfig::new(
        cfg.horizon_months.max(1),
        WEEKS_PER_MONTH,
        cfg.monthly_discount,
    )
    .and_then(|c| c.with_margin(purchase_margin));

    let mut by_customer: Vec<Option<(RfmRow, f64)>> = vec![None; data.len()];
    for (c, row, mean) in &rfm_rows {
        by_customer[*c as usize] = Some((*row, *mean));
    }
    let mut ex = Excluded::default();
    let customers = value
        .customers
        .iter()
        .map(|v| {
            let c = v.customer;
            let subs = data.subscriptions_of(c);
            if subs.is_empty() {
                let Some((row, mean)) = by_customer[c as usize] else {
                    return Prediction {
                        customer: c,
                        method: Method::None("no purchase before as_of to predict from".into()),
                        future_profit: None,
                        p_alive: None,
                    };
                };
                return match (&bgnbd, &clv_cfg) {
                    (Ok((m, g)), Ok(cc)) => {
                        let spend = if row.x > 0.0 && mean > 0.0 {
                            g.conditional_expected_spend(row.x, mean)
                        } else {
                            g.population_mean_spend()
                        };
                        let clv = spend
                            .ok()
                            .and_then(|s| customer_lifetime_value(m, &row, s, cc).ok());
                        Prediction {
                            customer: c,
                            method: Method::BgNbdGammaGamma {
                                horizon_months: cfg.horizon_months,
                                monthly_discount: cfg.monthly_discount,
                            },
                            future_profit: clv.filter(|v| v.is_finite()).map(|v| v.round() as i64),
                            p_alive: Some(m.p_alive(row.x, row.t_x, row.t)),
                        }
                    }
                    (Err(e), _) => Prediction {
                        customer: c,
                        method: Method::None(format!("BG/NBD + Gamma-Gamma not fitted: {e}")),
                        future_profit: None,
                        p_alive: None,
                    },
                    (_, Err(e)) => Prediction {
                        customer: c,
                        method: Method::None(format!("CLV settings: {e}")),
                        future_profit: None,
                        p_alive: None,
                    },
                };
            }
            let tl = Timeline::of(data, fx, c, as_of, &mut ex);
            let (mrr, _) = tl.at(as_of);
            if mrr <= 0 {
                return Prediction {
                    customer: c,
                    method: Method::Churned,
                    future_profit: Some(0),
                    p_alive: Some(0.0),
                };
            }
            let spells = spells_of(data, c, as_of);
            let Some(cur) = spells.iter().rev().find(|s| s.end.is_none()) else {
                return Prediction {
                    customer: c,
                    method: Method::None("paying but no running subscription".into()),
                    future_profit: None,
                    p_alive: None,
                };
            };
            let first = spells[0];
            let mpp = interval_months(cur.interval);
            let renewals = (months_between(cur.start, as_of) / mpp) as u32;
            let own = sbg
                .iter()
                .find(|g| g.plan == data.name(first.plan) && g.interval == cur.interval)
                .and_then(|g| g.params.clone().ok());
            let (params, is_pooled) = match own {
                Some(p) => (Some(p), false),
                None => (
                    pooled
                        .iter()
                        .find(|p| p.0 == cur.interval)
                        .and_then(|p| p.1.clone().ok()),
                    true,
                ),
            };
            let Some(params) = params else {
                return Prediction {
                    customer: c,
                    method: Method::None("no sBG could be fitted for this billing interval".into()),
                    future_profit: None,
                    p_alive: None,
                };
            };
            let d = (1.0 + cfg.monthly_discount).powi(mpp) - 1.0;
            let derl = params.derl(d, renewals + 1);
            let net = v.totals.net_revenue();
            let margin = if net > 0 {
                (v.totals.contribution() as f64 / net as f64).clamp(0.0, 1.0)
            } else {
                value_margin(value)
            };
            let months = f64::from(v.months.max(1));
            let cost_per_period =
                (v.totals.retention() + v.totals.service()) as f64 / months * f64::from(mpp);
            let amount_per_period = mrr as f64 / 12.0 * f64::from(mpp);
            let profit_per_period = amount_per_period * margin - cost_per_period;
            Prediction {
                customer: c,
                method: Method::Sbg {
                    plan: data.name(first.plan).to_string(),
                    interval: cur.interval,
                    params,
                    pooled: is_pooled,
                    renewals,
                    discount: d,
                },
                future_profit: derl.map(|x| (x * profit_per_period).round() as i64),
                p_alive: Some(params.retention(renewals + 1)),
            }
        })
        .collect();
    Predictions {
        customers,
        sbg,
        bgnbd,
        purchase_margin,
    }
}

/// The company's gross margin (contribution ÷ net revenue), 1 without revenue.
fn value_margin(value: &ValueReport) -> f64 {
    let net = value.total.totals.net_revenue();
    if net > 0 {
        (value.total.totals.contribution() as f64 / net as f64).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// Months from `first` to `as_of`'s month, both counted.
pub fn months_observed(first: Month, as_of: Day) -> u32 {
    (Month::of_day(as_of).since(first) + 1).max(0) as u32
}
