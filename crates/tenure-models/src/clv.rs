//! Discounted customer lifetime value from any recency-frequency model and a spend per
//! transaction.
//!
//! For a customer summarised by (x, t_x, T), with E(t) the model's conditional expected number
//! of purchases in (T, T + t] ([`RfmModel::conditional_expected_purchases`]):
//!
//! ```text
//! CLV = margin × spend × DET,   DET = Σ_{k=1..K} [E(k·L) − E((k−1)·L)] / (1 + d)^k
//! ```
//!
//! L is the length of one discount period in the model's time unit, d the discount rate per
//! period and K the number of periods: the purchases expected during period k are valued at
//! its end. DET ("discounted expected transactions") is the discrete-time counterpart of Fader,
//! Hardie & Lee 2005, "RFM and CLV: using iso-value curves for customer base analysis",
//! Marketing Science 24(2), eq. 2; it is what lifetimes 0.11.3's `customer_lifetime_value`
//! computes (there with L = 4.345 weeks, 30 days or 720 hours per month). Only whole periods
//! are valued: a horizon that is not a whole number of periods is expressed with a shorter
//! period, so that every cash flow is discounted at its own period's rate.
//!
//! The spend is assumed independent of the purchase process (as in the Gamma-Gamma model,
//! Fader, Hardie & Lee 2005, sec. 4), so expected value = expected spend × expected purchases.

use crate::data::{check_nonneg, row_key, validate_rfm, DataError, RfmRow, RowMap};
use crate::fit::{delta_method, normal_quantile_two_sided, Estimate, Scale};
use crate::rfm::RfmModel;

/// Weeks in a month as lifetimes counts them (`freq="W"`): 4.345.
pub const WEEKS_PER_MONTH: f64 = 4.345;

/// Why a CLV could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClvError {
    #[error("{field} = {value}: {reason}")]
    Setting {
        field: &'static str,
        value: f64,
        reason: &'static str,
    },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("the covariance matrix must be {expected} × {expected} and finite (the model has {expected} parameters)")]
    Covariance { expected: usize },
    #[error("{rows} customers but {spends} spends: one spend per customer is needed")]
    Length { rows: usize, spends: usize },
}

/// How future purchases are valued: `periods` (K) periods of `period_length` (L, in the
/// model's time unit) each, discounted at `discount_rate` (d) per period, times `margin`.
/// Invariants: K ≥ 1; L > 0 finite; d > −1 finite; margin finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvConfig {
    periods: u32,
    period_length: f64,
    discount_rate: f64,
    margin: f64,
}

impl ClvConfig {
    /// `periods` periods of `period_length` time units each, discounted at `discount_rate` per
    /// period (0.01 = 1%); margin 1 (the value is revenue).
    pub fn new(periods: u32, period_length: f64, discount_rate: f64) -> Result<Self, ClvError> {
        if periods == 0 {
            return Err(ClvError::Setting {
                field: "periods",
                value: 0.0,
                reason: "at least one period is needed",
            });
        }
        if !(period_length.is_finite() && period_length > 0.0) {
            return Err(ClvError::Setting {
                field: "period_length",
                value: period_length,
                reason: "must be a positive finite number of time units",
            });
        }
        if !(discount_rate.is_finite() && discount_rate > -1.0) {
            return Err(ClvError::Setting {
                field: "discount_rate",
                value: discount_rate,
                reason: "must be a finite rate above -1 (0.01 = 1% per period)",
            });
        }
        Ok(ClvConfig {
            periods,
            period_length,
            discount_rate,
            margin: 1.0,
        })
    }

    /// lifetimes' convention for a model fitted in weeks: `months` months of 4.345 weeks,
    /// `monthly_rate` per month (lifetimes' defaults: 12 months, 0.01).
    pub fn monthly_in_weeks(months: u32, monthly_rate: f64) -> Result<Self, ClvError> {
        Self::new(months, WEEKS_PER_MONTH, monthly_rate)
    }

    /// The same valuation with a profit margin (the share of spend that is profit).
    pub fn with_margin(self, margin: f64) -> Result<Self, ClvError> {
        if !margin.is_finite() {
            return Err(ClvError::Setting {
                field: "margin",
                value: margin,
                reason: "must be a finite number",
            });
        }
        Ok(ClvConfig { margin, ..self })
    }

    pub fn periods(&self) -> u32 {
        self.periods
    }
    pub fn period_length(&self) -> f64 {
        self.period_length
    }
    pub fn discount_rate(&self) -> f64 {
        self.discount_rate
    }
    pub fn margin(&self) -> f64 {
        self.margin
    }
    /// The whole horizon K·L in the model's time unit.
    pub fn horizon(&self) -> f64 {
        f64::from(self.periods) * self.period_length
    }
}

/// Expected spend per transaction with its standard error, for [`clv_interval`]. A spend
/// taken as known has `se` = 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spend {
    pub mean: f64,
    pub se: f64,
}

impl Spend {
    /// A spend taken as known, without uncertainty.
    pub fn known(mean: f64) -> Spend {
        Spend { mean, se: 0.0 }
    }
}

impl From<Estimate> for Spend {
    fn from(e: Estimate) -> Spend {
        Spend {
            mean: e.value,
            se: e.se,
        }
    }
}

/// DET without validation: Σ_k [E(kL) − E((k−1)L)] / (1 + d)^k, with E(0) = 0.
fn det_unchecked<M: RfmModel + ?Sized>(model: &M, row: &RfmRow, cfg: &ClvConfig) -> f64 {
    let v = 1.0 / (1.0 + cfg.discount_rate);
    let mut factor = 1.0;
    let mut previous = 0.0;
    let mut total = 0.0;
    for k in 1..=cfg.periods {
        let e = model.conditional_expected_purchases(
            f64::from(k) * cfg.period_length,
            row.x,
            row.t_x,
            row.t,
        );
        factor *= v;
        total += (e - previous) * factor;
        previous = e;
    }
    total
}

fn check_spend(i: usize, spend: f64) -> Result<(), ClvError> {
    check_nonneg(i, "spend", spend)?;
    Ok(())
}

/// Discounted expected purchases (DET, see the module docs) of one customer: the CLV per unit
/// of margin × spend. Validates the row as [`crate::data::Rfm`] does.
pub fn discounted_expected_purchases<M: RfmModel + ?Sized>(
    model: &M,
    row: &RfmRow,
    cfg: &ClvConfig,
) -> Result<f64, ClvError> {
    validate_rfm(0, row)?;
    Ok(det_unchecked(model, row, cfg))
}

/// One customer's CLV: margin × `spend` × DET. `spend` is the expected value of one future
/// transaction (e.g. the Gamma-Gamma conditional expected spend), ≥ 0.
pub fn customer_lifetime_value<M: RfmModel + ?Sized>(
    model: &M,
    row: &RfmRow,
    spend: f64,
    cfg: &ClvConfig,
) -> Result<f64, ClvError> {
    check_spend(0, spend)?;
    Ok(cfg.margin * spend * discounted_expected_purchases(model, row, cfg)?)
}

/// CLV of many customers, equal to [`customer_lifetime_value`] one by one. DET is computed
/// once per distinct (x, t_x, T), so grouped data (many customers with x = 0 and the same T)
/// costs in proportion to its distinct rows. Errors name the 0-based row.
pub fn customer_lifetime_values<M: RfmModel + ?Sized>(
    model: &M,
    rows: &[RfmRow],
    spends: &[f64],
    cfg: &ClvConfig,
) -> Result<Vec<f64>, ClvError> {
    if rows.len() != spends.len() {
        return Err(ClvError::Length {
            rows: rows.len(),
            spends: spends.len(),
        });
    }
    let mut cache: RowMap<(u64, u64, u64), f64> = RowMap::default();
    rows.iter()
        .zip(spends)
        .enumerate()
        .map(|(i, (row, &spend))| {
            validate_rfm(i, row)?;
            check_spend(i, spend)?;
            let key = row_key(row);
            let det = *cache
                .entry(key)
                .or_insert_with(|| det_unchecked(model, row, cfg));
            Ok(cfg.margin * spend * det)
        })
        .collect()
}

/// Delta-method interval for one customer's CLV at confidence `level` (e.g. 0.95).
///
/// `covariance` is the covariance of the purchase model's parameters (in the order of
/// [`RfmModel::params`], e.g. [`crate::fit::Fit::covariance`]); the gradient of CLV in them is
/// taken numerically through [`RfmModel::with_params`]. The spend's uncertainty (`spend.se`,
/// e.g. from a delta-method interval of the Gamma-Gamma conditional expected spend) is added
/// assuming the spend estimate is independent of the purchase model's estimates (they are
/// fitted on different likelihoods), which gives, to first order,
/// Var(CLV) = (margin·DET)² se(spend)² + (margin·spend)² Var(DET).
/// The interval is built on the log scale, so it stays positive.
pub fn clv_interval<M: RfmModel>(
    model: &M,
    row: &RfmRow,
    spend: Spend,
    cfg: &ClvConfig,
    covariance: &[Vec<f64>],
    level: f64,
) -> Result<Estimate, ClvError> {
    validate_rfm(0, row)?;
    check_spend(0, spend.mean)?;
    check_nonneg(0, "spend standard error", spend.se)?;
    if !(level.is_finite() && level > 0.0 && level < 1.0) {
        return Err(ClvError::Setting {
            field: "level",
            value: level,
            reason: "must be strictly between 0 and 1",
        });
    }
    let k = model.params().len();
    if covariance.len() != k
        || covariance
            .iter()
            .any(|c| c.len() != k || c.iter().any(|v| !v.is_finite()))
    {
        return Err(ClvError::Covariance { expected: k });
    }
    let z = normal_quantile_two_sided(level);
    let det = det_estimate(model, row, cfg, covariance, z);
    Ok(combine_clv(&det, spend, cfg.margin, z))
}

/// Delta-method estimate of one customer's DET (discounted expected purchases) from the
/// covariance of the model's parameters, with a log-scale interval at normal quantile `z`. The
/// row and covariance are taken as valid (see [`clv_interval`], which checks them).
pub fn det_estimate<M: RfmModel>(
    model: &M,
    row: &RfmRow,
    cfg: &ClvConfig,
    covariance: &[Vec<f64>],
    z: f64,
) -> Estimate {
    let g = |t: &[f64]| det_unchecked(&model.with_params(t), row, cfg);
    delta_method(g, &model.params(), covariance, Scale::Log, z)
}

/// CLV = margin × spend × DET with its first-order standard error, taking the spend estimate as
/// independent of DET's: Var(CLV) = (margin·DET)² se(spend)² + (margin·spend)² se(DET)², and a
/// log-scale interval at normal quantile `z` (so it stays positive). Cheap: this is how a batch
/// combines one DET per distinct (x, t_x, T) with each customer's own spend.
pub fn combine_clv(det: &Estimate, spend: Spend, margin: f64, z: f64) -> Estimate {
    let value = margin * spend.mean * det.value;
    let se = margin * ((det.value * spend.se).powi(2) + (spend.mean * det.se).powi(2)).sqrt();
    let (lower, upper) = if value > 0.0 && se.is_finite() {
        let s = se / value;
        (value * (-z * s).exp(), value * (z * s).exp())
    } else {
        (value, value)
    };
    Estimate {
        value,
        se,
        lower,
        upper,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Always alive, purchases at rate λ: E(t) = λ t.
    struct Constant(f64);
    impl RfmModel for Constant {
        fn name(&self) -> &'static str {
            "constant"
        }
        fn param_names(&self) -> &'static [&'static str] {
            &["lambda"]
        }
        fn params(&self) -> Vec<f64> {
            vec![self.0]
        }
        fn with_params(&self, theta: &[f64]) -> Self {
            Constant(theta[0])
        }
        fn log_likelihood_one(&self, x: f64, _t_x: f64, t: f64) -> f64 {
            x * self.0.ln() - self.0 * t
        }
        fn p_alive(&self, _x: f64, _t_x: f64, _t: f64) -> f64 {
            1.0
        }
        fn conditional_expected_purchases(&self, h: f64, _x: f64, _t_x: f64, _t: f64) -> f64 {
            self.0 * h
        }
        fn expected_purchases(&self, t: f64) -> f64 {
            self.0 * t
        }
        fn prob_purchases(&self, _t: f64, _n: u32) -> f64 {
            f64::NAN
        }
    }

    #[test]
    fn config_rejects_nonsense() {
        assert!(ClvConfig::new(0, 1.0, 0.1).is_err());
        assert!(ClvConfig::new(1, 0.0, 0.1).is_err());
        assert!(ClvConfig::new(1, 1.0, -1.0).is_err());
        assert!(ClvConfig::new(1, 1.0, f64::NAN).is_err());
        let c = ClvConfig::monthly_in_weeks(12, 0.01).expect("valid");
        assert!((c.horizon() - 52.14).abs() < 1e-12);
        assert!(c.with_margin(f64::INFINITY).is_err());
    }

    #[test]
    fn constant_rate_is_an_annuity() {
        // λ L Σ_{k=1..3} 1.1^−k = 0.5 · 4 · 2.486851991…
        let cfg = ClvConfig::new(3, 4.0, 0.1)
            .expect("valid")
            .with_margin(0.5)
            .expect("valid");
        let row = RfmRow {
            x: 1.0,
            t_x: 1.0,
            t: 2.0,
        };
        let clv = customer_lifetime_value(&Constant(0.5), &row, 10.0, &cfg).expect("valid");
        let annuity = 1.0 / 1.1 + 1.0 / 1.21 + 1.0 / 1.331;
        assert!((clv - 0.5 * 10.0 * 2.0 * annuity).abs() < 1e-12);
        assert!(customer_lifetime_value(&Constant(0.5), &row, -1.0, &cfg).is_err());
        let bad = RfmRow {
            x: 1.0,
            t_x: 3.0,
            t: 2.0,
        };
        assert!(customer_lifetime_value(&Constant(0.5), &bad, 1.0, &cfg).is_err());
    }
}
