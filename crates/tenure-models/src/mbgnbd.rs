//! MBG/NBD: the modified BG/NBD of Batislam, Denizel & Filiztekin (2007), "Empirical validation
//! and comparison of models for customer base analysis", International Journal of Research in
//! Marketing 24(3), 201–209, in the parameterisation of lifetimes' `ModifiedBetaGeoFitter`
//! (the one Tenure's reference MLE is computed with).
//!
//! As BG/NBD ([`crate::bgnbd`]), but a customer may also drop out right after the first
//! purchase, so customers with no repeat purchase may be dead too. Every BG/NBD formula carries
//! over with the Beta arguments b + x shifted to b + x + 1; the shared implementation lives in
//! [`crate::bgnbd`] and is documented there with the shift s = 1.

use crate::bgnbd::{checked_maximize, four, GeoNbd, GeoNbdLikelihood, Variant, PARAM_NAMES};
use crate::data::{Rfm, RfmRow};
use crate::fit::{Fit, FitOptions, Likelihood};
use crate::rfm::RfmModel;
use crate::ModelError;

/// MBG/NBD parameters: purchase rate λ ~ Gamma(shape `r`, rate `alpha`, in the data's time
/// unit), drop-out probability p ~ Beta(`a`, `b`) at each purchase including the first. All
/// positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MbgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl MbgNbdParams {
    fn geo(&self) -> GeoNbd {
        GeoNbd {
            r: self.r,
            alpha: self.alpha,
            a: self.a,
            b: self.b,
            variant: Variant::Mbg,
        }
    }
}

impl RfmModel for MbgNbdParams {
    fn name(&self) -> &'static str {
        "mbgnbd"
    }
    fn param_names(&self) -> &'static [&'static str] {
        PARAM_NAMES
    }
    fn params(&self) -> Vec<f64> {
        vec![self.r, self.alpha, self.a, self.b]
    }
    /// Missing entries become NaN (and every prediction NaN).
    fn with_params(&self, theta: &[f64]) -> Self {
        let [r, alpha, a, b] = four(theta);
        MbgNbdParams { r, alpha, a, b }
    }
    /// L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / Γ(r) · [(α+T)^{−(r+x)} + a/(b+x) (α+t_x)^{−(r+x)}]
    /// (Batislam et al. 2007; lifetimes' `ModifiedBetaGeoFitter`).
    fn log_likelihood_one(&self, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo().log_likelihood_one(x, t_x, t)
    }
    /// 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^{r+x}), also for x = 0.
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo().p_alive(x, t_x, t)
    }
    fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo().p_alive_at(future, x, t_x, t)
    }
    fn prob_future_purchases(&self, horizon: f64, n: u32, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo().prob_future_purchases(horizon, n, x, t_x, t)
    }
    /// (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))] · P(alive).
    fn conditional_expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo()
            .conditional_expected_purchases(horizon, x, t_x, t)
    }
    /// b/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))].
    fn expected_purchases(&self, t: f64) -> f64 {
        self.geo().expected_purchases(t)
    }
    /// B(a, b+n+1)/B(a, b) · NBD(n) + B(a+1, b+n)/B(a, b) · P(N(t) ≥ n): alive after n + 1
    /// purchases with n in (0, t], or dropped out right after the n-th repeat purchase (the
    /// first purchase when n = 0) with at least n purchase opportunities in (0, t].
    fn prob_purchases(&self, t: f64, n: u32) -> f64 {
        self.geo().prob_purchases(t, n)
    }
    fn score_rows(&self, horizon: f64, rows: &[RfmRow]) -> Vec<(f64, f64)> {
        self.geo().score(horizon, rows)
    }
}

/// Fit MBG/NBD by maximum likelihood.
///
/// Errors: no customer with a repeat purchase ([`Rfm::require_repeat_buyers`]), no finite
/// likelihood from any start, or a maximum that is not finite (degenerate data).
pub fn fit_mbgnbd(data: &Rfm, opts: &FitOptions) -> Result<(MbgNbdParams, Fit), ModelError> {
    data.require_repeat_buyers()?;
    let lik = MbgNbdLikelihood::new(data);
    let fit = checked_maximize(&lik, opts, "MBG/NBD")?;
    let [r, alpha, a, b] = four(&fit.params);
    Ok((MbgNbdParams { r, alpha, a, b }, fit))
}

/// The MBG/NBD log-likelihood of grouped data, with its analytic gradient.
#[derive(Debug, Clone)]
pub struct MbgNbdLikelihood(GeoNbdLikelihood);

impl MbgNbdLikelihood {
    pub fn new(data: &Rfm) -> Self {
        MbgNbdLikelihood(GeoNbdLikelihood::new(data, Variant::Mbg))
    }
}

impl Likelihood for MbgNbdLikelihood {
    fn names(&self) -> &'static [&'static str] {
        PARAM_NAMES
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        self.0.value_and_gradient(theta).0
    }
    fn has_analytic_gradient(&self) -> bool {
        true
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (v, g) = self.0.value_and_gradient(theta);
        (v, g.to_vec())
    }
    fn hessian(&self, theta: &[f64]) -> Option<Vec<Vec<f64>>> {
        self.0
            .hessian(theta)
            .map(|h| h.iter().map(|r| r.to_vec()).collect())
    }
    fn observations(&self) -> f64 {
        self.0.n
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        self.0.starts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::RfmRow;
    use crate::fit::numeric_gradient;

    const M: MbgNbdParams = MbgNbdParams {
        r: 0.524838,
        alpha: 6.182992,
        a: 0.8913562,
        b: 1.613999,
    };

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-300)
    }

    #[test]
    fn likelihood_matches_lifetimes_formula() {
        // lifetimes' ModifiedBetaGeoFitter: A1 + A2 + A3 + logaddexp(A4, 0).
        let (r, al, a, b) = (M.r, M.alpha, M.a, M.b);
        let lg = crate::special::ln_gamma;
        for &(x, t_x, t) in &[(0., 0., 38.86), (2., 30.43, 38.86), (15., 3.0, 70.0)] {
            let a1 = lg(r + x) - lg(r) + r * al.ln();
            let a2 = lg(a + b) + lg(b + x + 1.0) - lg(b) - lg(a + b + x + 1.0);
            let a3 = -(r + x) * (al + t).ln();
            let a4 = a.ln() - (b + x).ln() + (r + x) * ((al + t).ln() - (al + t_x).ln());
            let want = a1 + a2 + a3 + a4.exp().ln_1p();
            let got = M.log_likelihood_one(x, t_x, t);
            assert!(rel(got, want) < 1e-13, "{x}: {got} vs {want}");
        }
    }

    #[test]
    fn analytic_gradient_matches_numeric() {
        let rows = [
            (0., 0., 30.),
            (1., 3., 30.),
            (4., 20., 25.),
            (0., 0., 10.),
            (9., 39., 40.),
        ];
        let d = Rfm::new(&rows.map(|(x, t_x, t)| RfmRow { x, t_x, t })).expect("valid rows");
        let lik = MbgNbdLikelihood::new(&d);
        let theta = M.params();
        let (_, g) = lik.value_and_gradient(&theta);
        let num = numeric_gradient(|t| lik.log_likelihood(t), &theta);
        for i in 0..4 {
            assert!(
                (g[i] - num[i]).abs() < 1e-6 * (1.0 + g[i].abs()),
                "d{i}: {} vs {}",
                g[i],
                num[i]
            );
        }
    }

    /// 100-digit mpmath values of the conditional expectation as lifetimes writes it (a = 1 as
    /// the limit a = 1 + 1e-25) and of P(X(t) = n): (r, α, a, b), (x, t_x, T, horizon), value.
    #[test]
    #[allow(clippy::excessive_precision)] // reference values as mpmath printed them
    fn predictions_match_mpmath() {
        let cond = [
            (
                [0.243, 4.414, 0.793, 2.426],
                [5., 30., 39., 1e5],
                102.08265757453091117,
            ),
            (
                [0.243, 4.414, 0.793, 2.426],
                [10., 30., 39., 52.],
                5.485627404800028888,
            ),
            (
                [10.0, 1000.0, 5.0, 0.5],
                [5., 30., 39., 1e5],
                1.2894099477661306153,
            ),
            (
                [10.0, 1000.0, 5.0, 0.5],
                [10., 30., 39., 52.],
                0.54869493872479263587,
            ),
            (
                [1.0, 1.0, 1.0, 1.0],
                [5., 30., 39., 1e5],
                30.299035911166821375,
            ),
            (
                [1.0, 1.0, 1.0, 1.0],
                [10., 30., 39., 52.],
                3.7601229208209149,
            ),
        ];
        for (p, c, want) in cond {
            let got = M
                .with_params(&p)
                .conditional_expected_purchases(c[3], c[0], c[1], c[2]);
            assert!(rel(got, want) < 1e-12, "{p:?} {c:?}: {got} vs {want}");
        }
        let prob = [
            (
                [0.243, 4.414, 0.793, 2.426],
                39.0,
                0,
                0.67878399819351314592,
            ),
            (
                [0.243, 4.414, 0.793, 2.426],
                78.0,
                40,
                0.00011180848212507829105,
            ),
            ([10.0, 1000.0, 5.0, 0.5], 39.0, 7, 3.422383920439255474e-10),
            (
                [10.0, 1000.0, 5.0, 0.5],
                78.0,
                40,
                5.0081304721383714517e-44,
            ),
            ([2.5, 3.0, 1.7, 0.9], 39.0, 0, 0.65431816153398976049),
            ([2.5, 3.0, 1.7, 0.9], 5000.0, 3, 0.034964019165497492139),
        ];
        for (p, t, n, want) in prob {
            let got = M.with_params(&p).prob_purchases(t, n);
            assert!(rel(got, want) < 1e-12, "{p:?} t={t} n={n}: {got} vs {want}");
        }
    }

    #[test]
    fn x_zero_customers_may_be_dead() {
        let p = M.p_alive(0.0, 0.0, 38.0);
        assert!(p > 0.0 && p < 1.0);
        // At T = 0 (just acquired): alive with probability b/(a+b).
        assert!(rel(M.p_alive(0.0, 0.0, 0.0), M.b / (M.a + M.b)) < 1e-15);
    }

    #[test]
    fn expected_purchases_matches_lifetimes_formula() {
        // b/(a−1) (1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))).
        let (r, al, a, b) = (M.r, M.alpha, M.a, M.b);
        for t in [1.0, 10.0, 39.0, 78.0] {
            let z = t / (al + t);
            let f = crate::special::hyp2f1(r, b + 1.0, a + b, z);
            let want = b / (a - 1.0) * (1.0 - (al / (al + t)).powf(r) * f);
            let got = M.expected_purchases(t);
            assert!(rel(got, want) < 1e-12, "t={t}: {got} vs {want}");
        }
        assert_eq!(M.expected_purchases(0.0), 0.0);
    }

    #[test]
    fn purchase_distribution_sums_to_one_with_mean_e_x() {
        for t in [0.0, 1.0, 39.0, 78.0] {
            let (mut total, mut mean) = (0.0, 0.0);
            for n in 0..3000u32 {
                let p = M.prob_purchases(t, n);
                assert!(p >= 0.0);
                total += p;
                mean += f64::from(n) * p;
            }
            assert!((total - 1.0).abs() < 1e-12, "t={t}: Σ P = {total}");
            let e = M.expected_purchases(t);
            assert!((mean - e).abs() < 1e-11 * (1.0 + e), "t={t}: {mean} vs {e}");
        }
    }

    #[test]
    fn p_alive_in_unit_interval_and_expectation_monotone_in_horizon() {
        for &(x, t_x, t) in &[
            (0., 0., 1.),
            (0., 0., 2000.),
            (1., 0.5, 1.),
            (100., 1., 2000.),
            (20000., 10., 10000.),
        ] {
            let p = M.p_alive(x, t_x, t);
            assert!((0.0..=1.0).contains(&p), "{x} {t_x} {t}: {p}");
            let mut prev = 0.0;
            for h in [0.0, 1.0, 39.0, 52.0, 500.0] {
                let e = M.conditional_expected_purchases(h, x, t_x, t);
                assert!(
                    e.is_finite() && e >= prev,
                    "{x} {t_x} {t} h={h}: {e} < {prev}"
                );
                prev = e;
            }
        }
    }
}
