//! CLV segments: key, potential key, general, never profitable — each with its retention plan.
//!
//! The rules, in order, for a customer with realised profit R (to date) and predicted future
//! profit F (both net of every cost the ledger knows):
//! 1. no prediction → **general** (the reason says why there is none);
//! 2. F < 0 → **never profitable**: what she will bring from now on does not cover what it
//!    costs to serve her, whatever she brought before (sunk costs do not decide spend);
//! 3. F ≥ the high-predicted threshold and F > 0 → **key** if also R ≥ the high-realised
//!    threshold and R > 0, else **potential key**;
//! 4. otherwise → **general**.
//!
//! A quantile threshold q is the smallest value of the top ⌈(1 − q)·n⌉ customers (n: those
//! with a prediction for F, everyone for R), so q = 0.8 marks the top 20 % (more on ties).

use crate::config::{RetentionPlan, SegmentSettings, Threshold};
use crate::facts::Facts;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use tenure_core::Currency;
use tenure_reports::money::to_decimal;
use tenure_store::dataset::CustomerIdx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    Key,
    PotentialKey,
    General,
    NeverProfitable,
}

impl Segment {
    pub const ALL: [Segment; 4] = [
        Segment::Key,
        Segment::PotentialKey,
        Segment::General,
        Segment::NeverProfitable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Key => "key",
            Segment::PotentialKey => "potential_key",
            Segment::General => "general",
            Segment::NeverProfitable => "never_profitable",
        }
    }

    /// This segment's plan in `cfg`.
    pub fn plan(self, cfg: &SegmentSettings) -> &RetentionPlan {
        match self {
            Segment::Key => &cfg.plans.key,
            Segment::PotentialKey => &cfg.plans.potential_key,
            Segment::General => &cfg.plans.general,
            Segment::NeverProfitable => &cfg.plans.never_profitable,
        }
    }
}

/// The thresholds in minor units of the report currency (`i64::MAX`: nobody is high).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub realised: i64,
    pub predicted: i64,
}

/// One customer's segment and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub customer: CustomerIdx,
    pub segment: Segment,
    pub reason: String,
}

fn resolve(t: Threshold, mut values: Vec<i64>, currency: Currency) -> i64 {
    match t {
        Threshold::Amount(a) => (a.0 * Decimal::from(10i64.pow(currency.exponent())))
            .ceil()
            .to_i64()
            .unwrap_or(i64::MAX),
        Threshold::Quantile(q) => {
            let n = values.len();
            let top = ((1.0 - q) * n as f64 - 1e-9).ceil().max(0.0) as usize;
            if top == 0 {
                return i64::MAX;
            }
            values.sort_unstable();
            values[n - top.min(n)]
        }
    }
}

/// The thresholds of `cfg` over these customers.
pub fn thresholds(facts: &[Facts], cfg: &SegmentSettings, currency: Currency) -> Thresholds {
    Thresholds {
        realised: resolve(
            cfg.high_realised,
            facts.iter().map(|f| f.realised_profit).collect(),
            currency,
        ),
        predicted: resolve(
            cfg.high_predicted,
            facts.iter().filter_map(|f| f.future_profit).collect(),
            currency,
        ),
    }
}

/// The segment of one customer.
pub fn segment(f: &Facts, t: &Thresholds, currency: Currency) -> Assignment {
    let m = |v: i64| format!("{} {}", to_decimal(v, currency), currency.code());
    let (segment, reason) = match f.future_profit {
        None => (Segment::General, format!("no prediction ({})", f.method)),
        Some(fp) if fp < 0 => (
            Segment::NeverProfitable,
            format!(
                "predicted future profit {} < 0: serving her costs more than she will bring",
                m(fp)
            ),
        ),
        Some(fp) if fp > 0 && fp >= t.predicted => {
            if f.realised_profit > 0 && f.realised_profit >= t.realised {
                (
                    Segment::Key,
                    format!(
                        "realised {} ≥ {} and predicted {} ≥ {}",
                        m(f.realised_profit),
                        m(t.realised),
                        m(fp),
                        m(t.predicted)
                    ),
                )
            } else {
                (
                    Segment::PotentialKey,
                    format!(
                        "predicted {} ≥ {} but realised {} below {}",
                        m(fp),
                        m(t.predicted),
                        m(f.realised_profit),
                        if t.realised == i64::MAX {
                            "any threshold".to_string()
                        } else {
                            m(t.realised.max(1))
                        }
                    ),
                )
            }
        }
        Some(fp) => (
            Segment::General,
            format!(
                "predicted {} below {}",
                m(fp),
                if t.predicted == i64::MAX {
                    "any threshold".to_string()
                } else {
                    m(t.predicted.max(1))
                }
            ),
        ),
    };
    Assignment {
        customer: f.customer,
        segment,
        reason,
    }
}
