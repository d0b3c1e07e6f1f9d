//! Shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, "How to
//! project customer retention", Journal of Interactive Marketing 21(1), 76–90; "FH 2007") and
//! the discounted expected residual lifetime (Fader & Hardie 2010, "Customer-base valuation in
//! a contractual setting: the perils of ignoring heterogeneity", Marketing Science 29(1),
//! 85–93; "FH 2010").
//!
//! Each customer churns at the end of every period with probability θ, constant for her;
//! θ ~ Beta(α, β) across customers. T ∈ {1, 2, …} is the period in which she churns;
//! S(t) = P(T > t) is the share of the cohort still active after t periods.
//!
//! Two data forms, with the same likelihood: a survival series (the number of a cohort still
//! active at t = 0, 1, …, k) and per-customer records (tenure in periods, churned or still
//! active, i.e. right-censored). A series is the records of its cohort grouped:
//! n_{t−1} − n_t customers churned in period t, n_k are censored at k.

use std::collections::BTreeMap;

use crate::data::{check_count, check_nonneg, DataError};
use crate::fit::{maximize, Fit, FitOptions, Likelihood};
use crate::special::{digamma, ln_gamma};
use crate::ModelError;

/// sBG parameters: the churn probability θ ~ Beta(`alpha`, `beta`). Both positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SbgParams {
    pub alpha: f64,
    pub beta: f64,
}

impl SbgParams {
    /// ln S(t) = ln B(α, β+t) − ln B(α, β) (FH 2007, the survivor function), for t ≥ 0.
    fn ln_survival(&self, t: f64) -> f64 {
        let (a, b) = (self.alpha, self.beta);
        if t == 0.0 {
            return 0.0;
        }
        ln_gamma(b + t) - ln_gamma(b) - ln_gamma(a + b + t) + ln_gamma(a + b)
    }

    /// ln P(T = t) = ln B(α+1, β+t−1) − ln B(α, β) (FH 2007, the sBG probability mass
    /// function), for t ≥ 1.
    fn ln_prob_churn(&self, t: f64) -> f64 {
        let (a, b) = (self.alpha, self.beta);
        a.ln() + ln_gamma(b + t - 1.0) - ln_gamma(b) - ln_gamma(a + b + t) + ln_gamma(a + b)
    }

    /// P(T = t): probability that a new customer churns in period t (FH 2007, the sBG
    /// probability mass function):
    /// B(α+1, β+t−1)/B(α, β). 0 for t = 0.
    pub fn prob_churn(&self, t: u32) -> f64 {
        if t == 0 {
            return 0.0;
        }
        self.ln_prob_churn(f64::from(t)).exp()
    }

    /// S(t) = P(T > t) = B(α, β+t)/B(α, β) (FH 2007, the survivor function): the share of a
    /// cohort still active after t periods. S(0) = 1.
    pub fn survival(&self, t: u32) -> f64 {
        self.ln_survival(f64::from(t)).exp()
    }

    /// r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) (FH 2007, the retention rate): the retention
    /// rate from period t−1 to t, rising with t as the cohort sorts itself. NaN for t = 0
    /// (undefined).
    pub fn retention(&self, t: u32) -> f64 {
        if t == 0 {
            return f64::NAN;
        }
        let t = f64::from(t);
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// DERL(d | n − 1 renewals): the discounted expected residual lifetime, in periods, of a
    /// customer who has made `n − 1` renewals and is about to make her n-th payment decision,
    /// at discount rate `d` per period (FH 2010, DERL's closed form for a renewing customer):
    /// DERL = B(α, β+n)/B(α, β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d))
    ///      = Σ_{t≥n} S(t)/S(n−1) · (1+d)^{−(t−n)}.
    /// Multiply by the margin per period for the residual value. `None` when d ≤ 0 or not
    /// finite, n = 0, or d is so small (below about 1e−6) that the series does not converge in
    /// [`HYP2F1_MAX_TERMS`] terms.
    pub fn derl(&self, d: f64, n: u32) -> Option<f64> {
        if !(d.is_finite() && d > 0.0 && n > 0) {
            return None;
        }
        let (a, b, n) = (self.alpha, self.beta, f64::from(n));
        // B(α, β+n)/B(α, β+n−1) = r(n).
        let lead = (b + n - 1.0) / (a + b + n - 1.0);
        Some(lead * hyp2f1_positive(1.0, b + n, a + b + n, 1.0 / (1.0 + d))?)
    }
}

/// Cap on the terms of [`hyp2f1_positive`]'s series (≈ 0.2 s).
pub const HYP2F1_MAX_TERMS: u64 = 50_000_000;

/// Gauss's hypergeometric function ₂F₁(a, b; c; z) = Σ_k (a)_k (b)_k / ((c)_k k!) z^k by its
/// series, for a, b, c > 0 and 0 ≤ z < 1 (all terms positive; compensated summation). Stops
/// when the tail, bounded by term · R/(1 − R) with R the larger of the current term ratio and
/// its limit z, is below 1e−17 of the sum (a strict bound when the ratios rise towards z, as
/// for DERL's ₂F₁(1, b; b + α; z)). `None` outside the domain or after [`HYP2F1_MAX_TERMS`].
/// Separate from [`crate::special::hyp2f1`] because DERL at small discount rates puts z within
/// 1e-6 of 1, where only this positive-term form's strict tail bound and larger cap are safe.
pub fn hyp2f1_positive(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(a > 0.0 && b > 0.0 && c > 0.0 && (0.0..1.0).contains(&z) && (a + b + c).is_finite()) {
        return None;
    }
    let (mut sum, mut comp) = (1.0_f64, 0.0_f64);
    let mut term = 1.0_f64;
    let mut k = 0.0_f64;
    for _ in 0..HYP2F1_MAX_TERMS {
        let ratio = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        term *= ratio;
        k += 1.0;
        // Neumaier's compensated sum.
        let s = sum + term;
        comp += if sum.abs() >= term.abs() {
            (sum - s) + term
        } else {
            (term - s) + sum
        };
        sum = s;
        let next = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        let r = next.max(z);
        if r < 1.0 && term * r / (1.0 - r) <= 1e-17 * sum {
            return Some(sum + comp);
        }
    }
    None
}

/// Grouped tenures, the sufficient statistics of both data forms: weight churned in period t
/// and weight still active (censored) after t periods, each by distinct t, ascending.
#[derive(Debug, Clone, Default)]
struct Tenures {
    churned: Vec<(f64, f64)>,
    censored: Vec<(f64, f64)>,
    total: f64,
}

impl Tenures {
    fn from_maps(churned: BTreeMap<u32, f64>, censored: BTreeMap<u32, f64>) -> Tenures {
        let total = churned.values().chain(censored.values()).sum();
        let conv = |m: BTreeMap<u32, f64>| {
            m.into_iter()
                .filter(|(_, w)| *w > 0.0)
                .map(|(t, w)| (f64::from(t), w))
                .collect()
        };
        Tenures {
            churned: conv(churned),
            censored: conv(censored),
            total,
        }
    }

    /// Fails when the sBG cannot be estimated: nobody churned, or nothing is known beyond the
    /// first period (only α/(α+β) would be identified).
    fn require_identifiable(&self) -> Result<(), DataError> {
        if self.churned.is_empty() {
            return Err(DataError::Degenerate(
                "no customer churned: the churn probability cannot be estimated".into(),
            ));
        }
        let beyond_one = self.churned.iter().any(|(t, _)| *t > 1.0)
            || self.censored.iter().any(|(t, _)| *t > 1.0);
        if !beyond_one {
            return Err(DataError::Degenerate(
                "nothing is observed beyond the first period: only the first-period churn rate can be estimated, not how it changes".into(),
            ));
        }
        Ok(())
    }

    /// Σ w_t ln P(T = t) over churned + Σ w_t ln S(t) over censored (the FH 2007 likelihood
    /// for a series), and its gradient in (α, β) when `grad`.
    fn eval(&self, theta: &[f64], grad: bool) -> (f64, [f64; 2]) {
        let (a, b) = (theta[0], theta[1]);
        if !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()) {
            return (f64::NAN, [f64::NAN; 2]);
        }
        let p = SbgParams { alpha: a, beta: b };
        let (psi_b, psi_ab) = if grad {
            (digamma(b), digamma(a + b))
        } else {
            (0.0, 0.0)
        };
        let mut ll = 0.0;
        let mut g = [0.0; 2];
        for &(t, w) in &self.churned {
            ll += w * p.ln_prob_churn(t);
            if grad {
                let psi_abt = digamma(a + b + t);
                g[0] += w * (1.0 / a + psi_ab - psi_abt);
                g[1] += w * (digamma(b + t - 1.0) - psi_b + psi_ab - psi_abt);
            }
        }
        for &(t, w) in &self.censored {
            if t == 0.0 {
                continue;
            }
            ll += w * p.ln_survival(t);
            if grad {
                let psi_abt = digamma(a + b + t);
                g[0] += w * (psi_ab - psi_abt);
                g[1] += w * (digamma(b + t) - psi_b + psi_ab - psi_abt);
            }
        }
        (ll, g)
    }

    fn starts(&self) -> Vec<Vec<f64>> {
        // First-period churn share c₁ = P(T = 1) = α/(α+β) fixes the first start's mean.
        let c1: f64 = self
            .churned
            .iter()
            .filter(|(t, _)| *t == 1.0)
            .map(|(_, w)| w)
            .sum::<f64>()
            / self.total;
        let c1 = if c1.is_finite() {
            c1.clamp(0.05, 0.95)
        } else {
            0.5
        };
        vec![vec![c1, 1.0 - c1], vec![1.0, 1.0], vec![0.5, 3.0]]
    }
}

/// A cohort's survival series: `active[t]` customers still active after t = 0, 1, …, k periods,
/// `active[0]` being the cohort size. Invariants: whole numbers, `active[0] > 0`, non-increasing,
/// at least two entries (k ≥ 1).
#[derive(Debug, Clone)]
pub struct SurvivalSeries {
    active: Vec<f64>,
    tenures: Tenures,
}

impl SurvivalSeries {
    /// A series from counts; `active[0]` is the cohort size. Errors carry the index t as `row`.
    pub fn from_counts(active: &[f64]) -> Result<SurvivalSeries, DataError> {
        if active.is_empty() {
            return Err(DataError::Empty);
        }
        for (t, &n) in active.iter().enumerate() {
            check_count(t, "active", n)?;
            if t > 0 && n > active[t - 1] {
                return Err(DataError::Inconsistent {
                    row: t,
                    reason: format!(
                        "{n} active after {t} periods but {} after {}: a cohort cannot grow",
                        active[t - 1],
                        t - 1
                    ),
                });
            }
        }
        if active[0] == 0.0 {
            return Err(DataError::Inconsistent {
                row: 0,
                reason: "cohort size 0: the series needs customers at t = 0".into(),
            });
        }
        if active.len() < 2 {
            return Err(DataError::Degenerate(
                "a survival series needs at least one period after t = 0".into(),
            ));
        }
        if !active[0].is_finite() || active[0] > 1e15 {
            return Err(DataError::Degenerate(format!(
                "cohort size {} is too large",
                active[0]
            )));
        }
        let k = active.len() - 1;
        let mut churned = BTreeMap::new();
        let mut censored = BTreeMap::new();
        for t in 1..=k {
            churned.insert(t as u32, active[t - 1] - active[t]);
        }
        censored.insert(k as u32, active[k]);
        Ok(SurvivalSeries {
            active: active.to_vec(),
            tenures: Tenures::from_maps(churned, censored),
        })
    }

    /// A series from the percentages of a cohort of `cohort` customers still active after
    /// t = 0, 1, …, k periods (FH 2007, Table 1). Counts are cohort · pct / 100 rounded to the
    /// nearest whole number, ties to even (as the reference data were made). `pct[0]` must be
    /// 100. Errors carry the index t as `row`.
    pub fn from_percentages(pct: &[f64], cohort: f64) -> Result<SurvivalSeries, DataError> {
        if !(cohort > 0.0 && cohort.is_finite() && cohort.fract() == 0.0) {
            return Err(DataError::Degenerate(format!(
                "cohort size {cohort} is not a positive whole number"
            )));
        }
        let mut counts = Vec::with_capacity(pct.len());
        for (t, &p) in pct.iter().enumerate() {
            check_nonneg(t, "percent active", p)?;
            if p > 100.0 {
                return Err(DataError::Inconsistent {
                    row: t,
                    reason: format!("{p} percent active: more than the whole cohort"),
                });
            }
            if t == 0 && p != 100.0 {
                return Err(DataError::Inconsistent {
                    row: 0,
                    reason: format!("{p} percent active at t = 0: the cohort starts at 100"),
                });
            }
            counts.push((cohort * p / 100.0).round_ties_even());
        }
        Self::from_counts(&counts)
    }

    /// Customers still active after t = 0..=k periods.
    pub fn active(&self) -> &[f64] {
        &self.active
    }

    /// k, the last period observed.
    pub fn periods(&self) -> usize {
        self.active.len() - 1
    }

    /// The series as weighted per-customer records: (churned in t, n_{t−1} − n_t) for
    /// t = 1..k and (active after k, n_k). Zero-weight records are left out.
    pub fn to_records(&self) -> Vec<(SbgRecord, f64)> {
        let k = self.periods();
        let mut out: Vec<(SbgRecord, f64)> = (1..=k)
            .map(|t| {
                let rec = SbgRecord {
                    tenure: t as u32,
                    churned: true,
                };
                (rec, self.active[t - 1] - self.active[t])
            })
            .collect();
        out.push((
            SbgRecord {
                tenure: k as u32,
                churned: false,
            },
            self.active[k],
        ));
        out.retain(|(_, w)| *w > 0.0);
        out
    }

    /// Log-likelihood of the series (FH 2007, the sBG log-likelihood):
    /// Σ_{t=1}^{k} (n_{t−1} − n_t) ln P(T = t) + n_k ln S(k).
    pub fn log_likelihood(&self, params: &SbgParams) -> f64 {
        self.tenures.eval(&[params.alpha, params.beta], false).0
    }
}

/// One customer's contract history: `tenure` periods, ending in churn (`churned`: she left in
/// period `tenure`, so T = tenure ≥ 1) or still active after `tenure` periods (right-censored,
/// T > tenure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbgRecord {
    pub tenure: u32,
    pub churned: bool,
}

/// Validated, grouped per-customer records. Invariants: churned records have tenure ≥ 1;
/// weights positive.
#[derive(Debug, Clone)]
pub struct SbgRecords {
    tenures: Tenures,
    distinct: usize,
}

impl SbgRecords {
    /// Validate and group records, each with weight 1.
    pub fn new(records: &[SbgRecord]) -> Result<SbgRecords, DataError> {
        Self::weighted(records.iter().map(|r| (*r, 1.0)))
    }

    /// Validate and group weighted records (rows with weight 0 are dropped).
    pub fn weighted(
        records: impl IntoIterator<Item = (SbgRecord, f64)>,
    ) -> Result<SbgRecords, DataError> {
        let mut churned: BTreeMap<u32, f64> = BTreeMap::new();
        let mut censored: BTreeMap<u32, f64> = BTreeMap::new();
        for (i, (r, w)) in records.into_iter().enumerate() {
            check_nonneg(i, "weight", w)?;
            if r.churned && r.tenure == 0 {
                return Err(DataError::Inconsistent {
                    row: i,
                    reason: "churned with tenure 0: a customer churns in period 1 at the earliest"
                        .into(),
                });
            }
            if w == 0.0 {
                continue;
            }
            let m = if r.churned {
                &mut churned
            } else {
                &mut censored
            };
            *m.entry(r.tenure).or_insert(0.0) += w;
        }
        let distinct = churned.len() + censored.len();
        if distinct == 0 {
            return Err(DataError::Empty);
        }
        let tenures = Tenures::from_maps(churned, censored);
        if !tenures.total.is_finite() {
            return Err(DataError::Degenerate(
                "the weights add up to infinity".into(),
            ));
        }
        Ok(SbgRecords { tenures, distinct })
    }

    /// Number of distinct (tenure, churned) records.
    pub fn distinct(&self) -> usize {
        self.distinct
    }

    /// Total weight (number of customers).
    pub fn customers(&self) -> f64 {
        self.tenures.total
    }

    /// Log-likelihood with right-censoring (FH 2007's, generalised to any tenures):
    /// Σ_churned ln P(T = tenure) + Σ_active ln S(tenure).
    pub fn log_likelihood(&self, params: &SbgParams) -> f64 {
        self.tenures.eval(&[params.alpha, params.beta], false).0
    }
}

const NAMES: &[&str] = &["alpha", "beta"];

/// Both data forms reduce to the same grouped tenures, so they share one likelihood.
trait HasTenures: Sync {
    fn tenures(&self) -> &Tenures;
}

impl HasTenures for SurvivalSeries {
    fn tenures(&self) -> &Tenures {
        &self.tenures
    }
}

impl HasTenures for SbgRecords {
    fn tenures(&self) -> &Tenures {
        &self.tenures
    }
}

impl<D: HasTenures> Likelihood for D {
    fn names(&self) -> &'static [&'static str] {
        NAMES
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        self.tenures().eval(theta, false).0
    }
    fn has_analytic_gradient(&self) -> bool {
        true
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (ll, g) = self.tenures().eval(theta, true);
        (ll, g.to_vec())
    }
    fn observations(&self) -> f64 {
        self.tenures().total
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        self.tenures().starts()
    }
}

fn params_of(fit: &Fit) -> Result<SbgParams, ModelError> {
    match fit.params[..] {
        [alpha, beta] => Ok(SbgParams { alpha, beta }),
        _ => Err(DataError::Degenerate(format!(
            "the fit returned {} parameters, not 2",
            fit.params.len()
        ))
        .into()),
    }
}

/// Fit the sBG to a cohort's survival series by maximum likelihood (FH 2007).
pub fn fit_sbg_survival(
    data: &SurvivalSeries,
    opts: &FitOptions,
) -> Result<(SbgParams, Fit), ModelError> {
    data.tenures.require_identifiable()?;
    let fit = maximize(data, opts)?;
    Ok((params_of(&fit)?, fit))
}

/// Fit the sBG to per-customer records with right-censoring by maximum likelihood.
pub fn fit_sbg_records(
    data: &SbgRecords,
    opts: &FitOptions,
) -> Result<(SbgParams, Fit), ModelError> {
    data.tenures.require_identifiable()?;
    let fit = maximize(data, opts)?;
    Ok((params_of(&fit)?, fit))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fit::numeric_gradient;

    const P: SbgParams = SbgParams {
        alpha: 0.704,
        beta: 1.182,
    };

    #[test]
    fn survival_is_the_product_of_retention_rates() {
        let mut s = 1.0;
        assert_eq!(P.survival(0), 1.0);
        for t in 1..=40u32 {
            s *= P.retention(t);
            assert!((P.survival(t) - s).abs() < 1e-13 * s, "t={t}");
            let churn = P.survival(t - 1) - P.survival(t);
            assert!((P.prob_churn(t) - churn).abs() < 1e-13, "t={t}");
        }
        assert_eq!(P.prob_churn(0), 0.0);
        assert!(P.retention(0).is_nan());
        // r(1) = β/(α+β), P(T=1) = α/(α+β).
        assert!((P.prob_churn(1) - 0.704 / 1.886).abs() < 1e-15);
    }

    #[test]
    fn hyp2f1_known_values() {
        // ₂F₁(1,1;2;z) = −ln(1−z)/z; ₂F₁(a,b;b;z) = (1−z)^(−a); ₂F₁(a,b;c;0) = 1.
        for z in [0.1_f64, 0.5, 0.9, 0.99] {
            let want = -(-z).ln_1p() / z;
            let got = hyp2f1_positive(1.0, 1.0, 2.0, z).unwrap();
            assert!((got - want).abs() < 1e-14 * want, "z={z}: {got} vs {want}");
            let want = (1.0 - z).powf(-0.7);
            let got = hyp2f1_positive(0.7, 2.5, 2.5, z).unwrap();
            assert!((got - want).abs() < 1e-13 * want, "z={z}: {got} vs {want}");
        }
        assert_eq!(hyp2f1_positive(1.0, 2.0, 3.0, 0.0), Some(1.0));
        assert_eq!(hyp2f1_positive(1.0, 2.0, 3.0, 1.0), None);
        assert_eq!(hyp2f1_positive(-1.0, 2.0, 3.0, 0.5), None);
    }

    /// DERL by summing discounted survival directly: Σ_{t≥n} S(t)/S(n−1) (1+d)^{−(t−n)}.
    fn derl_by_summation(p: &SbgParams, d: f64, n: u32) -> f64 {
        let s0 = p.survival(n - 1);
        let mut total = 0.0;
        let mut t = n;
        loop {
            let term = p.survival(t) / s0 / (1.0 + d).powi((t - n) as i32);
            total += term;
            if term < 1e-18 * total {
                return total;
            }
            t += 1;
        }
    }

    #[test]
    fn derl_closed_form_equals_the_series() {
        for p in [
            P,
            SbgParams {
                alpha: 3.0,
                beta: 0.4,
            },
            SbgParams {
                alpha: 0.2,
                beta: 8.0,
            },
        ] {
            for d in [0.01, 0.1, 0.5] {
                for n in [1, 2, 5, 30] {
                    let c = p.derl(d, n).unwrap();
                    let s = derl_by_summation(&p, d, n);
                    assert!((c - s).abs() < 1e-11 * s, "{p:?} d={d} n={n}: {c} vs {s}");
                }
            }
        }
        assert_eq!(P.derl(0.0, 1), None);
        assert_eq!(P.derl(f64::NAN, 1), None);
        assert_eq!(P.derl(0.1, 0), None);
        // A homogeneous cohort (θ fixed, here α, β large with mean 0.2) has DERL
        // Σ (0.8/1.1)^k = 1.1·0.8/(1.1 − 0.8)… times r(n) → 0.8·1.1/0.3.
        let homog = SbgParams {
            alpha: 2e6,
            beta: 8e6,
        };
        let want = 0.8 * 1.1 / 0.3;
        assert!((homog.derl(0.1, 1).unwrap() - want).abs() < 1e-5 * want);
    }

    #[test]
    fn analytic_gradient_matches_numeric() {
        let recs = SbgRecords::weighted([
            (
                SbgRecord {
                    tenure: 1,
                    churned: true,
                },
                30.0,
            ),
            (
                SbgRecord {
                    tenure: 3,
                    churned: true,
                },
                12.0,
            ),
            (
                SbgRecord {
                    tenure: 2,
                    churned: false,
                },
                7.0,
            ),
            (
                SbgRecord {
                    tenure: 9,
                    churned: false,
                },
                40.0,
            ),
            (
                SbgRecord {
                    tenure: 0,
                    churned: false,
                },
                3.0,
            ),
        ])
        .unwrap();
        let th = [P.alpha, P.beta];
        let (_, g) = recs.value_and_gradient(&th);
        let num = numeric_gradient(|t| recs.tenures.eval(t, false).0, &th);
        for k in 0..2 {
            assert!(
                (g[k] - num[k]).abs() < 1e-6 * (1.0 + num[k].abs()),
                "{g:?} vs {num:?}"
            );
        }
    }

    #[test]
    fn series_and_its_records_have_the_same_likelihood() {
        let s = SurvivalSeries::from_counts(&[100.0, 60.0, 45.0, 45.0, 30.0]).unwrap();
        let recs = SbgRecords::weighted(s.to_records()).unwrap();
        assert_eq!(recs.customers(), 100.0);
        // 4 churn periods, one of them empty, plus the censored group.
        assert_eq!(recs.distinct(), 4);
        let (a, b) = (s.log_likelihood(&P), recs.log_likelihood(&P));
        assert!((a - b).abs() < 1e-12 * a.abs());
        let by_hand = 40.0 * P.prob_churn(1).ln()
            + 15.0 * P.prob_churn(2).ln()
            + 15.0 * P.prob_churn(4).ln()
            + 30.0 * P.survival(4).ln();
        assert!((a - by_hand).abs() < 1e-10 * a.abs(), "{a} vs {by_hand}");
    }

    #[test]
    fn rejects_bad_series_and_records() {
        assert!(matches!(
            SurvivalSeries::from_counts(&[]),
            Err(DataError::Empty)
        ));
        let e = SurvivalSeries::from_counts(&[100.0, 50.0, 60.0]).unwrap_err();
        assert_eq!(e.row(), Some(2));
        assert!(matches!(
            SurvivalSeries::from_counts(&[100.0, f64::NAN]),
            Err(DataError::NotFinite { row: 1, .. })
        ));
        assert!(matches!(
            SurvivalSeries::from_counts(&[100.0, 50.5]),
            Err(DataError::NotInteger { row: 1, .. })
        ));
        assert!(SurvivalSeries::from_counts(&[0.0, 0.0]).is_err());
        assert!(SurvivalSeries::from_counts(&[10.0]).is_err());
        assert!(SurvivalSeries::from_percentages(&[100.0, 101.0], 10.0).is_err());
        assert!(SurvivalSeries::from_percentages(&[90.0, 50.0], 10.0).is_err());
        assert!(SurvivalSeries::from_percentages(&[100.0, 50.0], 0.0).is_err());
        assert!(SurvivalSeries::from_percentages(&[100.0, 50.0], f64::NAN).is_err());
        let s = SurvivalSeries::from_percentages(&[100.0, 63.1, 46.8], 1000.0).unwrap();
        assert_eq!(s.active(), &[1000.0, 631.0, 468.0]);
        let e = SbgRecords::new(&[
            SbgRecord {
                tenure: 2,
                churned: true,
            },
            SbgRecord {
                tenure: 0,
                churned: true,
            },
        ])
        .unwrap_err();
        assert_eq!(e.row(), Some(1));
        assert!(matches!(SbgRecords::new(&[]), Err(DataError::Empty)));
        assert!(matches!(
            SbgRecords::weighted([(
                SbgRecord {
                    tenure: 2,
                    churned: true
                },
                f64::NAN
            )]),
            Err(DataError::NotFinite { .. })
        ));
    }

    #[test]
    fn degenerate_data_is_an_error_not_a_panic() {
        let opts = FitOptions::default();
        let degenerate = |r: Result<(SbgParams, Fit), ModelError>| {
            matches!(r, Err(ModelError::Data(DataError::Degenerate(_))))
        };
        // Nobody churns; everybody churns at once; one period only.
        for counts in [
            &[100.0, 100.0, 100.0][..],
            &[100.0, 0.0, 0.0],
            &[100.0, 40.0],
        ] {
            let s = SurvivalSeries::from_counts(counts).unwrap();
            assert!(degenerate(fit_sbg_survival(&s, &opts)), "{counts:?}");
        }
        let all_active = SbgRecords::new(&[SbgRecord {
            tenure: 5,
            churned: false,
        }])
        .unwrap();
        assert!(degenerate(fit_sbg_records(&all_active, &opts)));
        let first_period = SbgRecords::new(&[
            SbgRecord {
                tenure: 1,
                churned: true,
            },
            SbgRecord {
                tenure: 1,
                churned: false,
            },
        ])
        .unwrap();
        assert!(degenerate(fit_sbg_records(&first_period, &opts)));
        // Churn at 1 and survival to 7 only: the MLE is at the boundary (a two-point mixture);
        // the fit returns without panicking, whatever it finds.
        let s = SurvivalSeries::from_counts(&[100.0, 40.0, 40.0, 40.0]).unwrap();
        let _ = fit_sbg_survival(&s, &opts);
        assert!(s
            .log_likelihood(&SbgParams {
                alpha: -1.0,
                beta: 1.0
            })
            .is_nan());
    }
}
