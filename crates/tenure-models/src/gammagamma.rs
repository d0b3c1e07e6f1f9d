//! Gamma-Gamma model of average spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV:
//! using iso-value curves for customer base analysis", JMR 42(4), §"Spend process"; Fader &
//! Hardie 2013, "The Gamma-Gamma model of monetary value", the note cited below as "FH 2013").
//!
//! A customer's spends z₁..z_x are i.i.d. Gamma(p, ν); her scale ν ~ Gamma(q, γ) across customers,
//! independent of the transaction process. The data are the number of repeat transactions `x`
//! and their mean `m̄` (money converted to `f64` by the caller, once). Only customers with x > 0
//! carry information about spend.

use crate::data::{check_count, check_nonneg, earliest, first_positive_rows, DataError};
use crate::fit::{maximize, Fit, FitOptions, Likelihood};
use crate::group;
use crate::special::{digamma, ln_gamma, trigamma};
use crate::ModelError;

/// One customer's spend summary: `x` repeat transactions with mean value `mean_spend` (m̄).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpendRow {
    pub x: f64,
    pub mean_spend: f64,
}

/// Validated, grouped spend data. Invariants: x is a whole number ≥ 1 and m̄ > 0, both finite;
/// weights positive; rows distinct, ordered by x.
///
/// Two constructors: [`SpendData::new`] / [`SpendData::weighted`] reject a row with x = 0
/// (a customer without repeat transactions has no mean spend), while
/// [`SpendData::repeat_buyers`] / [`SpendData::repeat_buyers_weighted`] skip such rows
/// explicitly (after checking that they are otherwise valid) and count them in
/// [`SpendData::skipped`].
#[derive(Debug, Clone, Default)]
pub struct SpendData {
    /// Distinct frequencies, ascending, and for each: [start, end) into the row arrays,
    /// Σw and Σ w ln m̄ over its rows.
    xs: Vec<f64>,
    ranges: Vec<(usize, usize)>,
    w_sum: Vec<f64>,
    w_ln_m: Vec<f64>,
    /// Per row: x·m̄, m̄ and the weight.
    x_m: Vec<f64>,
    m: Vec<f64>,
    w: Vec<f64>,
    total: f64,
    skipped: f64,
}

impl SpendData {
    /// Validate and group rows, each with weight 1. A row with x = 0 is an error.
    pub fn new(rows: &[SpendRow]) -> Result<SpendData, DataError> {
        Self::build(rows.iter().map(|r| (*r, 1.0)), false)
    }

    /// Validate and group weighted rows. A row with x = 0 is an error.
    pub fn weighted(
        rows: impl IntoIterator<Item = (SpendRow, f64)>,
    ) -> Result<SpendData, DataError> {
        Self::build(rows, false)
    }

    /// Validate rows, skip those with x = 0 (their m̄ must be finite and ≥ 0, usually 0) and
    /// group the rest, each with weight 1. [`SpendData::skipped`] tells how many were skipped.
    pub fn repeat_buyers(rows: &[SpendRow]) -> Result<SpendData, DataError> {
        Self::build(rows.iter().map(|r| (*r, 1.0)), true)
    }

    /// [`SpendData::repeat_buyers`] with weights.
    pub fn repeat_buyers_weighted(
        rows: impl IntoIterator<Item = (SpendRow, f64)>,
    ) -> Result<SpendData, DataError> {
        Self::build(rows, true)
    }

    /// [`SpendData::repeat_buyers_weighted`] over any slice, reading each element's row and
    /// weight with `row`: no copy of the rows, and large inputs are grouped on several threads
    /// with the same result whatever their number (see [`crate::data::Rfm::from_rows`] for the
    /// order of distinct rows and of the weight sums).
    pub fn repeat_buyers_from<T: Sync>(
        rows: &[T],
        row: impl Fn(&T) -> (SpendRow, f64) + Sync,
    ) -> Result<SpendData, DataError> {
        Self::from_rows(rows, row, true)
    }

    fn build(
        rows: impl IntoIterator<Item = (SpendRow, f64)>,
        skip_zero: bool,
    ) -> Result<SpendData, DataError> {
        let rows: Vec<(SpendRow, f64)> = rows.into_iter().collect();
        Self::from_rows(&rows, |r| *r, skip_zero)
    }

    /// The checks of one row, in order; `Ok(true)` when it is skipped (x = 0 with `skip_zero`).
    fn check_row(i: usize, r: &SpendRow, w: f64, skip_zero: bool) -> Result<bool, DataError> {
        check_count(i, "frequency", r.x)?;
        check_nonneg(i, "mean spend", r.mean_spend)?;
        check_nonneg(i, "weight", w)?;
        Self::check_value(i, r, skip_zero)
    }

    /// The checks of a row that depend on x and m̄ after their ranges: `Ok(true)` when skipped.
    fn check_value(i: usize, r: &SpendRow, skip_zero: bool) -> Result<bool, DataError> {
        if r.x == 0.0 {
            if skip_zero {
                return Ok(true);
            }
            return Err(DataError::Inconsistent {
                row: i,
                reason: "frequency 0: a customer without repeat transactions has no mean spend (use the constructor that skips such rows)".into(),
            });
        }
        if r.mean_spend == 0.0 {
            return Err(DataError::Inconsistent {
                row: i,
                reason: format!(
                    "mean spend 0 with frequency {}: the Gamma-Gamma model needs positive spends",
                    r.x
                ),
            });
        }
        Ok(false)
    }

    fn from_rows<T: Sync>(
        rows: &[T],
        row: impl Fn(&T) -> (SpendRow, f64) + Sync,
        skip_zero: bool,
    ) -> Result<SpendData, DataError> {
        let key = |t: &T| {
            let (r, w) = row(t);
            ([r.x.to_bits(), r.mean_spend.to_bits()], w)
        };
        let g = group::group::<T, 2, true, false>(rows, key);
        let value = |k: &[u64; 2]| SpendRow {
            x: f64::from_bits(k[0]),
            mean_spend: f64::from_bits(k[1]),
        };
        // Every check but the weight's depends on (x, m̄) only: done once per distinct row, at
        // its first row (groups are in order of first appearance, so the first failing group is
        // the earliest such row). The checks are then replayed on the earliest failing row, bad
        // weight or bad value, to report exactly what a row-by-row pass would.
        let value_ok = |i: usize, r: &SpendRow| {
            check_count(i, "frequency", r.x).is_ok()
                && check_nonneg(i, "mean spend", r.mean_spend).is_ok()
                && Self::check_value(i, r, skip_zero).is_ok()
        };
        let bad_value = g
            .table
            .keys()
            .iter()
            .zip(&g.first)
            .find(|(k, &i)| !value_ok(i, &value(k)))
            .map(|(_, &i)| i);
        if let Some(i) = earliest(bad_value, g.bad_weight) {
            let (r, w) = row(&rows[i]);
            Self::check_row(i, &r, w, skip_zero)?;
        }
        let mut order: Vec<usize> = (0..g.len()).collect();
        if g.zero_weight {
            let first_positive = first_positive_rows(rows, &g, key);
            order
                .retain(|&j| first_positive[j] != usize::MAX || value(&g.table.keys()[j]).x == 0.0);
            order.sort_by_key(|&j| first_positive[j]);
        }
        let mut skipped = 0.0;
        let mut grouped: Vec<(SpendRow, f64)> = Vec::with_capacity(order.len());
        for j in order {
            let r = value(&g.table.keys()[j]);
            if r.x == 0.0 {
                skipped += g.weight[j];
            } else if g.weight[j] > 0.0 {
                grouped.push((r, g.weight[j]));
            }
        }
        if grouped.is_empty() {
            return Err(DataError::Empty);
        }
        grouped.sort_by(|a, b| a.0.x.total_cmp(&b.0.x));
        let n = grouped.len();
        let mut out = SpendData {
            skipped,
            x_m: Vec::with_capacity(n),
            m: Vec::with_capacity(n),
            w: Vec::with_capacity(n),
            ..SpendData::default()
        };
        for (k, (r, w)) in grouped.iter().enumerate() {
            if out.xs.last() != Some(&r.x) {
                out.xs.push(r.x);
                out.ranges.push((k, k));
                out.w_sum.push(0.0);
                out.w_ln_m.push(0.0);
            }
            let g = out.xs.len() - 1;
            out.ranges[g].1 = k + 1;
            out.w_sum[g] += w;
            out.w_ln_m[g] += w * r.mean_spend.ln();
            out.x_m.push(r.x * r.mean_spend);
            out.m.push(r.mean_spend);
            out.w.push(*w);
            out.total += w;
        }
        if !out.total.is_finite() || out.x_m.iter().any(|v| !v.is_finite()) {
            return Err(DataError::Degenerate(
                "the weights or the total spends overflow".into(),
            ));
        }
        Ok(out)
    }

    /// Number of distinct rows.
    pub fn distinct(&self) -> usize {
        self.w.len()
    }

    /// Total weight (number of customers with x > 0).
    pub fn customers(&self) -> f64 {
        self.total
    }

    /// Weight of the rows with x = 0 skipped by [`SpendData::repeat_buyers`] (0 otherwise).
    pub fn skipped(&self) -> f64 {
        self.skipped
    }

    /// Iterate over (row, weight), ordered by x.
    pub fn iter(&self) -> impl Iterator<Item = (SpendRow, f64)> + '_ {
        self.ranges
            .iter()
            .zip(&self.xs)
            .flat_map(move |(&(s, e), &x)| {
                (s..e).map(move |k| {
                    (
                        SpendRow {
                            x,
                            mean_spend: self.m[k],
                        },
                        self.w[k],
                    )
                })
            })
    }

    /// Weighted mean of m̄ (1 if that is not a positive number).
    fn mean_spend(&self) -> f64 {
        let mean = self.m.iter().zip(&self.w).map(|(m, w)| m * w).sum::<f64>() / self.total;
        if mean.is_finite() && mean > 0.0 {
            mean
        } else {
            1.0
        }
    }

    /// Method-of-moments start (p, q, γ), `None` when the moments do not identify one.
    ///
    /// Given ν, m̄ of x spends is Gamma(px, xν): E[m̄] = pγ/(q−1) = μ for every x, and
    /// Var(m̄ | x) = A + B/x with A = μ²/(q−2) and B = μγ/(q−2) (q > 2). A weighted least-squares
    /// line of (m̄ − μ)² on 1/x gives A and B, hence q = 2 + μ²/A, γ = B(q−2)/μ = B μ/A and
    /// p = μ(q−1)/γ.
    fn moment_start(&self) -> Option<Vec<f64>> {
        let mu = self.mean_spend();
        let (mut sw, mut su, mut sy, mut suu, mut suy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (row, w) in self.iter() {
            let u = 1.0 / row.x;
            let y = (row.mean_spend - mu).powi(2);
            sw += w;
            su += w * u;
            sy += w * y;
            suu += w * u * u;
            suy += w * u * y;
        }
        // The spread of 1/x: zero (up to rounding) when every row has the same x.
        let det = sw * suu - su * su;
        if !(det > 1e-9 * sw * suu) {
            return None;
        }
        let b = (sw * suy - su * sy) / det;
        let a = (sy - b * su) / sw;
        let q = 2.0 + mu * mu / a;
        let gamma = b * mu / a;
        let p = mu * (q - 1.0) / gamma;
        let start = vec![p, q, gamma];
        (a > 0.0 && b > 0.0 && start.iter().all(|v| v.is_finite() && *v > 0.0)).then_some(start)
    }

    /// Further starts (p, q, γ) tried by [`fit_gammagamma`] when the first does not converge.
    pub fn fallback_starts(&self) -> Vec<Vec<f64>> {
        let mean = self.mean_spend();
        vec![
            vec![5.0, 3.0, 0.4 * mean],
            vec![1.0, 1.0, 1.0],
            vec![0.5, 5.0, 8.0 * mean],
        ]
    }

    /// Total weighted log-likelihood of the mean spends given x at `params` (see
    /// [`GammaGammaParams::log_likelihood_one`]).
    pub fn log_likelihood(&self, params: &GammaGammaParams) -> f64 {
        self.eval(&[params.p, params.q, params.gamma], false).0
    }

    /// Σ_rows w · ln f(m̄ | x), and its gradient in (p, q, γ) when `grad`.
    ///
    /// The terms that depend on x only (ln Γ(px+q) − ln Γ(px) + px ln x) are computed once per
    /// distinct x and (px − 1) ln m̄ enters through Σ w ln m̄ per x, so each row costs one
    /// logarithm (and one division for the gradient).
    fn eval(&self, theta: &[f64], grad: bool) -> (f64, [f64; 3]) {
        let (p, q, v) = (theta[0], theta[1], theta[2]);
        if !(p > 0.0 && q > 0.0 && v > 0.0) || theta.iter().any(|t| !t.is_finite()) {
            return (f64::NAN, [f64::NAN; 3]);
        }
        let ln_v = v.ln();
        let (lg_q, psi_q) = (ln_gamma(q), if grad { digamma(q) } else { 0.0 });
        let mut ll = 0.0;
        let mut g = [0.0; 3];
        for (k, &x) in self.xs.iter().enumerate() {
            let px = p * x;
            let (s, e) = self.ranges[k];
            let (ws, wlm) = (self.w_sum[k], self.w_ln_m[k]);
            // Σ w ln(x m̄ + γ), Kahan-compensated: it reaches ~10⁵ on 10⁴ rows, and the noise
            // of plain summation (~1e−9, varying with γ) stalls the line search near the
            // optimum: compensation cuts the evaluations of a fit by 4.
            let (mut sum_ln, mut comp) = (0.0_f64, 0.0_f64);
            let mut sum_inv = 0.0;
            for r in s..e {
                let d = self.x_m[r] + v;
                let y = self.w[r] * d.ln() - comp;
                let t = sum_ln + y;
                comp = (t - sum_ln) - y;
                sum_ln = t;
                if grad {
                    sum_inv += self.w[r] / d;
                }
            }
            let ln_x = x.ln();
            ll += ws * (ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_v + px * ln_x)
                + (px - 1.0) * wlm
                - (px + q) * sum_ln;
            if grad {
                let psi_pxq = digamma(px + q);
                g[0] += x * (ws * (psi_pxq - digamma(px) + ln_x) + wlm - sum_ln);
                g[1] += ws * (psi_pxq - psi_q + ln_v) - sum_ln;
                g[2] += ws * q / v - (px + q) * sum_inv;
            }
        }
        (ll, g)
    }
}

impl SpendData {
    /// The Hessian of [`SpendData::eval`]'s log-likelihood in (p, q, γ): per distinct x, with
    /// d = x m̄ + γ and S₁ = Σ w/d, S₂ = Σ w/d² over its rows,
    ///
    /// ∂²/∂p² = x² W (ψ₁(px+q) − ψ₁(px)),  ∂²/∂p∂q = x W ψ₁(px+q),  ∂²/∂p∂γ = −x S₁,
    /// ∂²/∂q² = W (ψ₁(px+q) − ψ₁(q)),  ∂²/∂q∂γ = W/γ − S₁,  ∂²/∂γ² = −W q/γ² + (px+q) S₂.
    fn hessian_at(&self, theta: &[f64]) -> Option<[[f64; 3]; 3]> {
        let &[p, q, v] = theta else {
            return None;
        };
        if !(p > 0.0 && q > 0.0 && v > 0.0) || theta.iter().any(|t| !t.is_finite()) {
            return None;
        }
        let tg_q = trigamma(q);
        let mut h = [[0.0; 3]; 3];
        for (k, &x) in self.xs.iter().enumerate() {
            let px = p * x;
            let (s, e) = self.ranges[k];
            let ws = self.w_sum[k];
            let (mut s1, mut s2) = (0.0, 0.0);
            for r in s..e {
                let inv = 1.0 / (self.x_m[r] + v);
                s1 += self.w[r] * inv;
                s2 += self.w[r] * inv * inv;
            }
            let tg_pxq = trigamma(px + q);
            h[0][0] += x * x * ws * (tg_pxq - trigamma(px));
            h[0][1] += x * ws * tg_pxq;
            h[0][2] -= x * s1;
            h[1][1] += ws * (tg_pxq - tg_q);
            h[1][2] += ws / v - s1;
            h[2][2] += -ws * q / (v * v) + (px + q) * s2;
        }
        h[1][0] = h[0][1];
        h[2][0] = h[0][2];
        h[2][1] = h[1][2];
        Some(h)
    }
}

impl Likelihood for SpendData {
    fn names(&self) -> &'static [&'static str] {
        &["p", "q", "gamma"]
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        self.eval(theta, false).0
    }
    fn has_analytic_gradient(&self) -> bool {
        true
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (ll, g) = self.eval(theta, true);
        (ll, g.to_vec())
    }
    fn hessian(&self, theta: &[f64]) -> Option<Vec<Vec<f64>>> {
        self.hessian_at(theta)
            .map(|h| h.iter().map(|r| r.to_vec()).collect())
    }
    /// One pass over the rows, like the gradient: three parameters, Newton converges in a few
    /// steps where L-BFGS takes fourteen.
    fn newton_first(&self) -> bool {
        true
    }
    fn observations(&self) -> f64 {
        self.total
    }
    /// One start, from the moments ([`SpendData::moment_start`]; on the resampled CDNOW L-BFGS
    /// took 14 iterations from it and 16 from p = 1, q = 2, γ = mean spend; Newton's method
    /// takes 6), or p = 1, q = 2 with γ
    /// matching the mean spend (E(Z) = pγ/(q−1)) when the moments give none: each start costs
    /// a pass over every row per iteration, so [`fit_gammagamma`] tries
    /// [`SpendData::fallback_starts`] only when this one does not converge.
    fn starts(&self) -> Vec<Vec<f64>> {
        vec![self
            .moment_start()
            .unwrap_or_else(|| vec![1.0, 2.0, self.mean_spend()])]
    }
}

/// Fitted Gamma-Gamma parameters: spends ~ Gamma(`p`, ν) with ν ~ Gamma(`q`, `gamma`)
/// (lifetimes calls `gamma` "v"). All positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaParams {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

impl GammaGammaParams {
    /// (p, q, γ).
    pub fn to_vec(&self) -> Vec<f64> {
        vec![self.p, self.q, self.gamma]
    }

    /// Log-density of the mean spend m̄ of x transactions (FH 2013, eq. 1a; the likelihood
    /// lifetimes' `GammaGammaFitter` maximises):
    /// ln f(m̄ | x) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄ + px ln x
    ///              − (px+q) ln(γ + x m̄).
    pub fn log_likelihood_one(&self, x: f64, mean_spend: f64) -> f64 {
        let (p, q, v) = (self.p, self.q, self.gamma);
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * v.ln()
            + (px - 1.0) * mean_spend.ln()
            + px * x.ln()
            - (px + q) * (v + x * mean_spend).ln()
    }

    /// E(Z) = pγ/(q − 1), the population mean spend per transaction (FHL 2005, spend model;
    /// FH 2013, the mean of the marginal distribution of z). Infinite when q ≤ 1: an error.
    pub fn population_mean_spend(&self) -> Result<f64, ModelError> {
        if self.q <= 1.0 || self.q.is_nan() {
            return Err(DataError::Degenerate(format!(
                "q = {} ≤ 1: the population mean spend pγ/(q − 1) is infinite",
                self.q
            ))
            .into());
        }
        Ok(self.p * self.gamma / (self.q - 1.0))
    }

    /// E[M | x, m̄], the conditional expected average spend (FHL 2005, spend model; FH 2013,
    /// "the expected average transaction value for a customer with x transactions"):
    /// (px/(px+q−1)) m̄ + (1 − px/(px+q−1)) · pγ/(q−1), computed in the equivalent form
    /// p(γ + x m̄)/(px + q − 1), which needs only px + q > 1. With x = 0 this is the population
    /// mean (m̄ is then ignored). Errors when px + q ≤ 1 (the posterior mean is infinite).
    pub fn conditional_expected_spend(&self, x: f64, mean_spend: f64) -> Result<f64, ModelError> {
        if x == 0.0 {
            return self.population_mean_spend();
        }
        let px = self.p * x;
        if px + self.q <= 1.0 || (px + self.q).is_nan() {
            return Err(DataError::Degenerate(format!(
                "p·x + q = {} ≤ 1: the expected spend is infinite",
                px + self.q
            ))
            .into());
        }
        Ok(self.p * (self.gamma + x * mean_spend) / (px + self.q - 1.0))
    }
}

/// Fit the Gamma-Gamma spend model by maximum likelihood of the mean spends given x.
pub fn fit_gammagamma(
    data: &SpendData,
    opts: &FitOptions,
) -> Result<(GammaGammaParams, Fit), ModelError> {
    if data.m.iter().all(|m| *m == data.m[0]) {
        return Err(DataError::Degenerate(
            "every customer has the same mean spend: the spread of spends cannot be estimated"
                .into(),
        )
        .into());
    }
    let mut fit = maximize(data, opts)?;
    if !fit.converged {
        let mut more = opts.clone();
        more.extra_starts.extend(data.fallback_starts());
        let retry = maximize(data, &more)?;
        if retry.converged || retry.log_likelihood > fit.log_likelihood {
            fit = retry;
        }
    }
    match fit.params[..] {
        [p, q, gamma] => Ok((GammaGammaParams { p, q, gamma }, fit)),
        _ => Err(DataError::Degenerate(format!(
            "the fit returned {} parameters, not 3",
            fit.params.len()
        ))
        .into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fit::numeric_gradient;

    fn row(x: f64, mean_spend: f64) -> SpendRow {
        SpendRow { x, mean_spend }
    }

    const P: GammaGammaParams = GammaGammaParams {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };

    fn small() -> SpendData {
        SpendData::weighted([
            (row(1.0, 20.0), 3.0),
            (row(2.0, 35.5), 1.0),
            (row(1.0, 9.99), 2.0),
            (row(5.0, 12.0), 1.5),
            (row(2.0, 60.0), 1.0),
        ])
        .unwrap()
    }

    #[test]
    fn grouped_likelihood_equals_the_row_formula() {
        let d = small();
        let direct: f64 = d
            .iter()
            .map(|(r, w)| w * P.log_likelihood_one(r.x, r.mean_spend))
            .sum();
        assert!((d.log_likelihood(&P) - direct).abs() < 1e-12 * direct.abs());
        assert_eq!(d.iter().count(), 5);
        assert_eq!(d.customers(), 8.5);
    }

    /// 20,000 customers from `P` with x = 1, …, 10 (seeded).
    fn simulated() -> SpendData {
        let xs: Vec<f64> = (0..20_000).map(|i| f64::from(i % 10 + 1)).collect();
        let m = crate::simulate::simulate_mean_spend(P.p, P.q, P.gamma, &xs, 7).unwrap();
        let rows: Vec<SpendRow> = xs.iter().zip(&m).map(|(&x, &m)| row(x, m)).collect();
        SpendData::new(&rows).unwrap()
    }

    #[test]
    fn moment_start_lands_near_the_truth_and_the_fit_does_not_depend_on_it() {
        let d = simulated();
        let start = d.moment_start().unwrap();
        // Moments of a heavy-tailed spend (finite variance needs q > 2, a stable one q > 4):
        // a start, not an estimate — within a factor of 2 of each parameter here.
        for (s, t) in start.iter().zip(P.to_vec()) {
            assert!(s / t > 0.5 && s / t < 2.0, "{start:?}");
        }
        // The old fixed start (p = 1, q = 2, γ = the mean spend) reaches the same maximum.
        let (from_moments, fit) = fit_gammagamma(&d, &FitOptions::default()).unwrap();
        let old = FitOptions {
            extra_starts: vec![vec![1.0, 2.0, d.mean_spend()]],
            only_extra_starts: true,
            ..FitOptions::default()
        };
        let (from_old, old_fit) = fit_gammagamma(&d, &old).unwrap();
        assert!(fit.converged && old_fit.converged);
        for (a, b) in from_moments.to_vec().iter().zip(from_old.to_vec()) {
            assert!((a - b).abs() < 1e-5 * b, "{from_moments:?} vs {from_old:?}");
        }
        assert!((fit.log_likelihood - old_fit.log_likelihood).abs() < 1e-9 * fit.n);
    }

    /// The same likelihood with Newton's method turned off: L-BFGS from the same start.
    struct LbfgsOnly<'a>(&'a SpendData);

    impl Likelihood for LbfgsOnly<'_> {
        fn names(&self) -> &'static [&'static str] {
            self.0.names()
        }
        fn log_likelihood(&self, theta: &[f64]) -> f64 {
            Likelihood::log_likelihood(self.0, theta)
        }
        fn has_analytic_gradient(&self) -> bool {
            true
        }
        fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
            self.0.value_and_gradient(theta)
        }
        fn hessian(&self, theta: &[f64]) -> Option<Vec<Vec<f64>>> {
            self.0.hessian(theta)
        }
        fn observations(&self) -> f64 {
            self.0.observations()
        }
        fn starts(&self) -> Vec<Vec<f64>> {
            self.0.starts()
        }
    }

    #[test]
    fn newton_reaches_the_lbfgs_maximum_from_every_start() {
        let d = simulated();
        let lbfgs = crate::fit::maximize(&LbfgsOnly(&d), &FitOptions::default()).unwrap();
        assert_eq!(lbfgs.method, "lbfgs");
        let newton = crate::fit::maximize(&d, &FitOptions::default()).unwrap();
        assert_eq!(newton.method, "newton");
        assert!(newton.converged && newton.iterations < lbfgs.iterations);
        let close = |a: &crate::fit::Fit, b: &crate::fit::Fit, tol: f64| {
            for i in 0..3 {
                assert!(
                    (a.params[i] - b.params[i]).abs() < tol * b.params[i],
                    "{:?} vs {:?}",
                    a.params,
                    b.params
                );
                assert!(
                    (a.standard_errors[i] - b.standard_errors[i]).abs()
                        < 1e-4 * b.standard_errors[i]
                );
            }
            assert!((a.log_likelihood - b.log_likelihood).abs() < 1e-9 * a.n);
        };
        close(&newton, &lbfgs, 1e-6);
        // The fallback starts, some far from the answer: Newton where −H is positive definite
        // along the way, L-BFGS where it is not; the same maximum either way.
        for start in d.fallback_starts() {
            let opts = FitOptions {
                extra_starts: vec![start.clone()],
                only_extra_starts: true,
                ..FitOptions::default()
            };
            let fit = crate::fit::maximize(&d, &opts).unwrap();
            assert!(fit.converged, "from {start:?}");
            close(&fit, &lbfgs, 1e-5);
        }
    }

    #[test]
    fn moment_start_needs_two_frequencies() {
        // One x: Var(m̄ | x) = A + B/x cannot be split into A and B.
        let rows: Vec<SpendRow> = (1..50).map(|k| row(3.0, f64::from(k))).collect();
        assert_eq!(SpendData::new(&rows).unwrap().moment_start(), None);
        assert_eq!(small().starts().len(), 1);
    }

    #[test]
    fn density_of_one_spend_is_the_gamma_mixture() {
        // x = 1: m̄ is one spend, Z | ν ~ Gamma(p, ν), ν ~ Gamma(q, γ) → the density
        // Γ(p+q)/(Γ(p)Γ(q)) γ^q z^(p−1) / (γ + z)^(p+q) (FH 2013), which integrates to 1.
        let f = |z: f64| P.log_likelihood_one(1.0, z).exp();
        let (mut s, h) = (0.0, 0.01);
        let mut z = h / 2.0;
        while z < 20_000.0 {
            s += f(z) * h;
            z += h;
        }
        assert!((s - 1.0).abs() < 1e-4, "{s}");
    }

    #[test]
    fn analytic_gradient_matches_numeric() {
        let d = small();
        let th = P.to_vec();
        let (_, g) = d.value_and_gradient(&th);
        let num = numeric_gradient(|t| d.eval(t, false).0, &th);
        for k in 0..3 {
            assert!(
                (g[k] - num[k]).abs() < 1e-6 * (1.0 + num[k].abs()),
                "{k}: {g:?} vs {num:?}"
            );
        }
    }

    #[test]
    fn analytic_hessian_matches_numeric() {
        let d = small();
        for th in [P.to_vec(), vec![0.7, 1.3, 40.0], vec![15.0, 9.0, 2.0]] {
            let h = d.hessian(&th).unwrap();
            for j in 0..3 {
                let col = numeric_gradient(|t| d.eval(t, true).1[j], &th);
                for i in 0..3 {
                    assert!(
                        (h[i][j] - col[i]).abs() < 1e-6 * (1.0 + col[i].abs()),
                        "{th:?} H[{i}][{j}]: {} vs {}",
                        h[i][j],
                        col[i]
                    );
                }
            }
        }
        assert!(d.hessian(&[1.0, -1.0, 1.0]).is_none());
    }

    #[test]
    fn expected_spend_shrinks_towards_the_population_mean() {
        let pop = P.population_mean_spend().unwrap();
        assert!((pop - 6.25 * 15.44 / 2.74).abs() < 1e-12);
        assert_eq!(P.conditional_expected_spend(0.0, 0.0).unwrap(), pop);
        let e = P.conditional_expected_spend(2.0, 100.0).unwrap();
        let w = 12.5 / (12.5 + 2.74);
        assert!((e - (w * 100.0 + (1.0 - w) * pop)).abs() < 1e-12 * e);
        assert!(e < 100.0 && e > pop);
        let heavy = GammaGammaParams { q: 0.8, ..P };
        assert!(heavy.population_mean_spend().is_err());
        assert!(heavy.conditional_expected_spend(0.0, 0.0).is_err());
        assert!(heavy
            .conditional_expected_spend(1.0, 10.0)
            .unwrap()
            .is_finite());
    }

    /// Row-by-row validation and grouping, as `SpendData` was built before it worked in
    /// chunks: the distinct (row, weight) in order of first appearance, the skipped weight.
    fn row_by_row(
        rows: &[(SpendRow, f64)],
        skip_zero: bool,
    ) -> Result<(Vec<(SpendRow, f64)>, f64), DataError> {
        let mut index: std::collections::HashMap<(u64, u64), usize> = Default::default();
        let (mut grouped, mut skipped) = (Vec::<(SpendRow, f64)>::new(), 0.0);
        for (i, (r, w)) in rows.iter().enumerate() {
            if SpendData::check_row(i, r, *w, skip_zero)? {
                skipped += w;
                continue;
            }
            if *w == 0.0 {
                continue;
            }
            let key = (r.x.to_bits(), r.mean_spend.to_bits());
            match index.get(&key) {
                Some(&j) => grouped[j].1 += w,
                None => {
                    index.insert(key, grouped.len());
                    grouped.push((*r, *w));
                }
            }
        }
        if grouped.is_empty() {
            return Err(DataError::Empty);
        }
        grouped.sort_by(|a, b| a.0.x.total_cmp(&b.0.x));
        Ok((grouped, skipped))
    }

    #[test]
    fn chunked_grouping_equals_row_by_row() {
        let mut s = 7u64;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s >> 33
        };
        for n in [5usize, 3_000, 100_003, 300_007] {
            for variant in 0..4 {
                let rows: Vec<(SpendRow, f64)> = (0..n)
                    .map(|_| {
                        let v = next() % 900;
                        let x = (v % 6) as f64;
                        let m = if x == 0.0 {
                            0.0
                        } else {
                            5.0 + (v / 6) as f64 * 0.25
                        };
                        let mut w = (1 + next() % 3) as f64;
                        if variant & 1 == 1 && next() % 5 == 0 {
                            w = 0.0;
                        }
                        let mut r = row(x, m);
                        if variant & 2 == 2 && next() % 60_000 == 0 {
                            r.mean_spend = if next() % 2 == 0 { 0.0 } else { f64::NAN };
                        }
                        if variant & 2 == 2 && next() % 90_000 == 0 {
                            w = f64::INFINITY;
                        }
                        (r, w)
                    })
                    .collect();
                for skip_zero in [true, false] {
                    let got = SpendData::from_rows(&rows, |r| *r, skip_zero);
                    match row_by_row(&rows, skip_zero) {
                        Ok((want, skipped)) => {
                            let got = got.unwrap();
                            assert_eq!(got.iter().collect::<Vec<_>>(), want, "{n} rows");
                            assert_eq!(got.skipped(), skipped);
                            assert_eq!(got.customers(), want.iter().map(|r| r.1).sum::<f64>());
                        }
                        Err(e) => assert_eq!(got.unwrap_err(), e, "{n} rows"),
                    }
                }
            }
        }
    }

    #[test]
    fn zero_frequency_rows_are_errors_or_skipped_explicitly() {
        let rows = [row(0.0, 0.0), row(2.0, 10.0), row(0.0, 0.0), row(1.0, 4.0)];
        let e = SpendData::new(&rows).unwrap_err();
        assert_eq!(e.row(), Some(0));
        let d = SpendData::repeat_buyers(&rows).unwrap();
        assert_eq!((d.customers(), d.skipped(), d.distinct()), (2.0, 2.0, 2));
        assert!(matches!(
            SpendData::repeat_buyers(&rows[..1]),
            Err(DataError::Empty)
        ));
        // Skipped rows are still checked.
        let bad = [row(1.0, 3.0), row(0.0, f64::NAN)];
        assert_eq!(SpendData::repeat_buyers(&bad).unwrap_err().row(), Some(1));
        assert!(matches!(
            SpendData::new(&[row(1.0, 0.0)]),
            Err(DataError::Inconsistent { row: 0, .. })
        ));
        assert!(matches!(
            SpendData::new(&[row(1.5, 2.0)]),
            Err(DataError::NotInteger { .. })
        ));
        assert!(matches!(
            SpendData::new(&[row(1.0, -2.0)]),
            Err(DataError::Negative { .. })
        ));
        assert!(matches!(SpendData::new(&[]), Err(DataError::Empty)));
    }

    #[test]
    fn degenerate_data_is_an_error_not_a_panic() {
        let same = SpendData::new(&[row(1.0, 5.0), row(3.0, 5.0)]).unwrap();
        assert!(matches!(
            fit_gammagamma(&same, &FitOptions::default()),
            Err(ModelError::Data(DataError::Degenerate(_)))
        ));
        // Two customers: the fit returns, whatever it finds.
        let two = SpendData::new(&[row(1.0, 5.0), row(1.0, 7.0)]).unwrap();
        let _ = fit_gammagamma(&two, &FitOptions::default());
        assert!(small()
            .log_likelihood(&GammaGammaParams { p: f64::NAN, ..P })
            .is_nan());
    }
}
