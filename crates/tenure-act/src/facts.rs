//! What the decision layer knows of each customer on one day: the value reports' figures and
//! the few counts the rules need, all from records dated on or before that day.

use crate::config::Config;
use rust_decimal::Decimal;
use tenure_core::{CostCategory, FeedbackKind, PaymentKind, SubscriptionStatus, TimeUnit};
use tenure_reports::predict::{predict, Method, PredictConfig};
use tenure_reports::status::{statuses, Status, StatusConfig};
use tenure_reports::value::{value_report, ValueConfig};
use tenure_reports::{Fx, GroupBy, Grouping, ReportError};
use tenure_store::dataset::{CostTargetRow, CustomerIdx, Day};
use tenure_store::Dataset;

/// One customer's facts on `as_of`. Money is minor units of the report currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub customer: CustomerIdx,
    /// Days from acquisition to `as_of`.
    pub tenure_days: i32,
    /// Profit to date, referral credit included.
    pub realised_profit: i64,
    /// Of which referral credit.
    pub referral_credit: i64,
    /// Predicted future profit (`None`: no prediction, see `method`).
    pub future_profit: Option<i64>,
    /// P(alive) (purchase customers) or the probability of the next renewal (subscribers).
    pub p_alive: Option<f64>,
    /// How the future was predicted.
    pub method: String,
    pub status: Status,
    /// Weighted usage actions per day in the recent window and in the baseline before it (its
    /// days since acquisition only; 0 when under 7 of them); `None` when the customer has no
    /// usage record at all by `as_of`.
    pub usage: Option<(f64, f64)>,
    /// Day of the first value event (`None`: not reached).
    pub first_value: Option<Day>,
    /// The newest NPS answer within `nps_within`: (score, day).
    pub nps: Option<(u8, Day)>,
    /// Support tickets (service costs attached to her) in the lookback window; `None` when no
    /// service cost in the store is attached to any customer (support is not recorded).
    pub tickets: Option<u32>,
    /// Her support cases on `as_of`; `None` when the store holds no support case opened by
    /// `as_of` (support is then read from `tickets`).
    pub cases: Option<CaseLoad>,
    /// Her payment problems on `as_of`; `None` when the store holds no payment event dated
    /// by `as_of` (the payment input is then `past_due`).
    pub payments: Option<PaymentTrouble>,
    /// Holds a subscription running on `as_of`.
    pub subscribed: bool,
    /// A running subscription is past due.
    pub past_due: bool,
    /// Customers she referred, acquired by `as_of`.
    pub referrals: u32,
}

/// One customer's support cases on a day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseLoad {
    /// Cases open on the day (opened by it, not closed by it; pending counts as open):
    /// (severity 1–4, opened day, escalated), by severity then opening day.
    pub open: Vec<(u8, Day, bool)>,
    /// Escalated cases (open or not) opened within the lookback window: their opening days.
    pub escalations: Vec<Day>,
}

/// One customer's payment problems on a day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentTrouble {
    /// Days of her failed payments within the lookback window, oldest first.
    pub failed: Vec<Day>,
    /// The start of a dunning not resolved by the day (a `dunning_started` with no
    /// `dunning_resolved` on or after it).
    pub dunning_since: Option<Day>,
    /// She has any payment event by the day.
    pub any: bool,
}

impl Facts {
    /// The usage trend: recent rate / baseline rate − 1; `None` without usage records, or
    /// without baseline usage to compare with.
    pub fn usage_trend(&self) -> Option<f64> {
        match self.usage {
            Some((recent, base)) if base > 0.0 => Some(recent / base - 1.0),
            _ => None,
        }
    }

    /// Predicted lifetime profit: realised + predicted future.
    pub fn lifetime_profit(&self) -> Option<i64> {
        self.future_profit.map(|f| f + self.realised_profit)
    }
}

/// Every customer acquired by `as_of`, in customer order, with her facts.
pub fn facts(data: &Dataset, fx: &Fx, as_of: Day, cfg: &Config) -> Result<Vec<Facts>, ReportError> {
    let mut vcfg = ValueConfig::new(as_of, fx.currency());
    vcfg.fx = fx.clone();
    vcfg.referral_share = Decimal::from_f64_retain(cfg.value.referral_share)
        .map(|d| d.round_dp(6))
        .unwrap_or_default();
    let grouping = Grouping::new(data, GroupBy::All);
    let value = value_report(data, &vcfg, &grouping)?;
    let months = (f64::from(cfg.value.horizon.0) / TimeUnit::Months.days())
        .round()
        .max(1.0);
    let pcfg = PredictConfig {
        monthly_discount: cfg.value.discount_rate.compounded_per(TimeUnit::Months),
        horizon_months: months as u32,
    };
    let predictions = predict(data, fx, &value, &pcfg);
    let status = statuses(
        data,
        fx,
        as_of,
        Some(&predictions),
        &StatusConfig::default(),
    );
    let n = data.len();
    let window = cfg.usage.window.0 as i32;
    let baseline = cfg.usage.baseline.0 as i32;
    let weight_of: Vec<f64> = (0..data.names.len())
        .map(|i| {
            let name = data.names.name(i as _);
            cfg.usage.weights.get(name).copied().unwrap_or(1.0)
        })
        .collect();
    let value_feature = cfg.usage.value_event.as_deref().map(|f| data.names.get(f));
    let mut usage = vec![None::<(f64, f64)>; n];
    let mut first_value = vec![None::<Day>; n];
    for u in data.usage.iter().filter(|u| u.day <= as_of) {
        let c = u.customer as usize;
        let w = weight_of.get(u.feature as usize).copied().unwrap_or(1.0) * u.quantity;
        let e = usage[c].get_or_insert((0.0, 0.0));
        let age = as_of - u.day;
        if age < window {
            e.0 += w;
        } else if age < window + baseline {
            e.1 += w;
        }
        let counts = match value_feature {
            None => true,
            Some(f) => f == Some(u.feature),
        };
        if counts && first_value[c].is_none_or(|d| u.day < d) {
            first_value[c] = Some(u.day);
        }
    }
    let mut nps = vec![None::<(u8, Day)>; n];
    let nps_from = as_of - cfg.health.nps_within.0 as i32;
    for f in &data.feedback {
        if f.kind == FeedbackKind::Nps && f.day <= as_of && f.day > nps_from {
            let e = &mut nps[f.customer as usize];
            if e.is_none_or(|(_, d)| f.day >= d) {
                *e = Some((f.score, f.day));
            }
        }
    }
    let mut tickets = vec![0u32; n];
    let mut any_ticket = false;
    let from = as_of - cfg.health.lookback.0 as i32;
    for c in &data.costs {
        if let CostTargetRow::Customer(i) = c.target {
            if c.category == CostCategory::Service && c.day <= as_of {
                any_ticket = true;
                if c.day > from {
                    tickets[i as usize] += 1;
                }
            }
        }
    }
    // Support cases and payment events, when the store holds any by `as_of`.
    let any_case = data.cases.iter().any(|k| k.day <= as_of);
    let mut cases = vec![CaseLoad::default(); n];
    for k in data.cases.iter().filter(|k| k.day <= as_of) {
        let e = &mut cases[k.customer as usize];
        if k.closed.is_none_or(|d| d > as_of) {
            e.open.push((k.severity, k.day, k.escalated));
        }
        if k.escalated && k.day > from {
            e.escalations.push(k.day);
        }
    }
    for e in &mut cases {
        e.open.sort_unstable();
        e.escalations.sort_unstable();
    }
    let any_payment = data.payments.iter().any(|p| p.day <= as_of);
    let mut payments = vec![PaymentTrouble::default(); n];
    // The latest dunning start is unresolved unless a resolution is dated on or after it.
    let mut resolved = vec![None::<Day>; n];
    for p in data.payments.iter().filter(|p| p.day <= as_of) {
        let i = p.customer as usize;
        let e = &mut payments[i];
        e.any = true;
        match p.kind {
            PaymentKind::Failed if p.day > from => e.failed.push(p.day),
            PaymentKind::DunningStarted if e.dunning_since.is_none_or(|d| p.day > d) => {
                e.dunning_since = Some(p.day)
            }
            PaymentKind::DunningResolved if resolved[i].is_none_or(|d| p.day > d) => {
                resolved[i] = Some(p.day)
            }
            _ => {}
        }
    }
    for (e, r) in payments.iter_mut().zip(&resolved) {
        e.failed.sort_unstable();
        if let (Some(s), Some(r)) = (e.dunning_since, r) {
            if *r >= s {
                e.dunning_since = None;
            }
        }
    }
    let mut subscribed = vec![false; n];
    let mut past_due = vec![false; n];
    for s in &data.subscriptions {
        if s.start <= as_of && s.end.is_none_or(|e| e > as_of) {
            subscribed[s.customer as usize] = true;
            past_due[s.customer as usize] |= s.status == SubscriptionStatus::PastDue;
        }
    }
    let mut referrals = vec![0u32; n];
    for c in &data.customers {
        if let Some(r) = c.referred_by {
            if c.acquired <= as_of {
                referrals[r as usize] += 1;
            }
        }
    }
    let mut status_of = vec![None; n];
    for s in &status {
        status_of[s.customer as usize] = Some(s.status);
    }
    Ok(value
        .customers
        .iter()
        .zip(&predictions.customers)
        .map(|(v, p)| {
            let i = v.customer as usize;
            let tenure_days = as_of - data.customers[i].acquired;
            // The baseline counts only days since acquisition; under a week of it, no trend.
            let base_days = (tenure_days + 1 - window).clamp(0, baseline);
            let rates = usage[i].map(|(x, y)| {
                let base = if base_days >= 7 {
                    y / f64::from(base_days)
                } else {
                    0.0
                };
                (x / f64::from(window), base)
            });
            Facts {
                customer: v.customer,
                tenure_days,
                realised_profit: v.totals.profit(),
                referral_credit: v.totals.referral_credit,
                future_profit: p.future_profit,
                p_alive: p.p_alive,
                method: match &p.method {
                    Method::None(r) => format!("none: {r}"),
                    m => m.describe(),
                },
                status: status_of[i].unwrap_or(Status::Inactive),
                usage: rates,
                first_value: first_value[i],
                nps: nps[i],
                tickets: any_ticket.then_some(tickets[i]),
                cases: any_case.then(|| std::mem::take(&mut cases[i])),
                payments: any_payment.then(|| std::mem::take(&mut payments[i])),
                subscribed: subscribed[i],
                past_due: past_due[i],
                referrals: referrals[i],
            }
        })
        .collect())
}
