//! Pareto/NBD with correlated purchase and dropout rates (Glady, Lemmens & Croux 2015,
//! "Unveiling the relationship between the transaction timing, spending and dropout behavior
//! of customers", IJRM 32(1); the correlation CLVTools fits with `use.cor = TRUE`).
//!
//! λ ~ Gamma(r, α) and μ ~ Gamma(s, β) are joined by a Sarmanov density
//!
//!   f(λ, μ) = g(λ) h(μ) [1 + ω (e^{−λ} − L₁)(e^{−μ} − L₂)],
//!   L₁ = E[e^{−λ}] = (α/(α+1))^r,  L₂ = E[e^{−μ}] = (β/(β+1))^s,
//!
//! which keeps both marginals and gives corr(λ, μ) = ω L₁ L₂ √(rs) / ((α+1)(β+1)). Because
//! g(λ; r, α) e^{−λ} = L₁ g(λ; r, α+1), the individual likelihood is four Pareto/NBD
//! likelihoods (A_{jk} with α+j, β+k, each evaluated as in [`crate::paretonbd`]):
//!
//!   L = A₀₀ + ω L₁ L₂ (A₁₁ − A₁₀ − A₀₁ + A₀₀),
//!
//! summed in log space as ln A₀₀ + ln(1 + ω L₁ L₂ (R₁₁ − R₁₀ − R₀₁ + 1)), R = A_{jk}/A₀₀.
//! The density is non-negative iff ω ∈ [−1/max((1−L₁)(1−L₂), L₁L₂), 1/max(L₁(1−L₂), (1−L₁)L₂)];
//! the fit's fifth parameter `u` maps onto that interval, ω = lo + (hi − lo)·sigmoid(u), so every
//! value of u is a valid model.

use crate::data::{Rfm, RfmRow};
use crate::fit::{
    delta_method, maximize, numeric_gradient, Estimate, Fit, FitOptions, Likelihood, Scale,
};
use crate::paretonbd::{fit_paretonbd, par_map, row_value_grad, ParetoNbdParams};
use crate::rfm::RfmModel;
use crate::special::Compensated;
use crate::ModelError;

const NAMES: &[&str] = &["r", "alpha", "s", "beta"];

/// Parameters of the correlated Pareto/NBD: the four Pareto/NBD parameters and ω, the
/// Sarmanov coefficient (within [`omega_bounds`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorrelatedParams {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
    pub omega: f64,
}

/// (L₁, L₂) = (E e^{−λ}, E e^{−μ}).
pub(crate) fn laplace(r: f64, alpha: f64, s: f64, beta: f64) -> (f64, f64) {
    (
        (-r * (1.0 / alpha).ln_1p()).exp(),
        (-s * (1.0 / beta).ln_1p()).exp(),
    )
}

/// The interval of ω for which the Sarmanov density is non-negative everywhere.
pub fn omega_bounds(r: f64, alpha: f64, s: f64, beta: f64) -> (f64, f64) {
    let (l1, l2) = laplace(r, alpha, s, beta);
    let hi_prod = ((1.0 - l1) * (1.0 - l2)).max(l1 * l2);
    let lo_prod = (l1 * (1.0 - l2)).max((1.0 - l1) * l2);
    (-1.0 / hi_prod, 1.0 / lo_prod)
}

impl CorrelatedParams {
    /// corr(λ, μ) = ω L₁ L₂ √(rs) / ((α+1)(β+1)).
    pub fn correlation(&self) -> f64 {
        let (l1, l2) = laplace(self.r, self.alpha, self.s, self.beta);
        self.omega * l1 * l2 * (self.r * self.s).sqrt() / ((self.alpha + 1.0) * (self.beta + 1.0))
    }

    /// The ω that gives correlation `rho` (None when it is outside the attainable range).
    pub fn with_correlation(r: f64, alpha: f64, s: f64, beta: f64, rho: f64) -> Option<Self> {
        let (l1, l2) = laplace(r, alpha, s, beta);
        let omega = rho * (alpha + 1.0) * (beta + 1.0) / (l1 * l2 * (r * s).sqrt());
        let (lo, hi) = omega_bounds(r, alpha, s, beta);
        (omega >= lo && omega <= hi).then_some(CorrelatedParams {
            r,
            alpha,
            s,
            beta,
            omega,
        })
    }

    /// The four Pareto/NBD components and their prior weights: the Sarmanov density is
    /// (1+c)·g₀h₀ − c·g₁h₀ − c·g₀h₁ + c·g₁h₁ with c = ω L₁ L₂ and g₁ the Gamma(r, α+1) density
    /// (h₁: Gamma(s, β+1)); each product is a Pareto/NBD population.
    pub fn components(&self) -> [(f64, ParetoNbdParams); 4] {
        let (l1, l2) = laplace(self.r, self.alpha, self.s, self.beta);
        let c = self.omega * l1 * l2;
        let m = |da: f64, db: f64| ParetoNbdParams {
            r: self.r,
            alpha: self.alpha + da,
            s: self.s,
            beta: self.beta + db,
        };
        [
            (1.0 + c, m(0.0, 0.0)),
            (-c, m(1.0, 0.0)),
            (-c, m(0.0, 1.0)),
            (c, m(1.0, 1.0)),
        ]
    }

    fn valid(&self) -> bool {
        let (lo, hi) = omega_bounds(self.r, self.alpha, self.s, self.beta);
        [self.r, self.alpha, self.s, self.beta]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
            && self.omega >= lo
            && self.omega <= hi
    }

    /// ln A_jk of the four components (in [`CorrelatedParams::components`]' order) and
    /// ln L = ln A₀₀ + ln(1 + ω L₁ L₂ (R₁₁ − R₁₀ − R₀₁ + 1)), R = A_jk / A₀₀.
    fn ln_parts(&self, x: f64, t_x: f64, t: f64) -> ([(f64, ParetoNbdParams); 4], [f64; 4], f64) {
        let comps = self.components();
        let ln_a = comps.map(|(_, m)| m.log_likelihood_one(x, t_x, t));
        let (l1, l2) = laplace(self.r, self.alpha, self.s, self.beta);
        let r = |k: usize| (ln_a[k] - ln_a[0]).exp();
        let sum = r(3) - r(1) - r(2) + 1.0;
        (comps, ln_a, ln_a[0] + (self.omega * l1 * l2 * sum).ln_1p())
    }

    /// The posterior weights of the components given (x, t_x, T): π_jk A_jk / L (they sum to 1;
    /// two are negative when ω > 0). Every prediction is the weighted sum of the components'.
    fn posterior(&self, x: f64, t_x: f64, t: f64) -> [(f64, ParetoNbdParams); 4] {
        let (mut out, ln_a, ln_l) = self.ln_parts(x, t_x, t);
        for (k, (w, _)) in out.iter_mut().enumerate() {
            *w *= (ln_a[k] - ln_l).exp();
        }
        out
    }
}

impl RfmModel for CorrelatedParams {
    fn name(&self) -> &'static str {
        "paretonbd-cor"
    }
    /// (r, α, s, β, u): u places ω in its bounds, ω = lo + (hi − lo)·sigmoid(u).
    fn param_names(&self) -> &'static [&'static str] {
        &["r", "alpha", "s", "beta", "u"]
    }
    fn params(&self) -> Vec<f64> {
        vec![
            self.r,
            self.alpha,
            self.s,
            self.beta,
            u_of(self.r, self.alpha, self.s, self.beta, self.omega),
        ]
    }
    fn with_params(&self, theta: &[f64]) -> Self {
        params_of(theta)
    }
    /// ln A₀₀ + ln(1 + ω L₁ L₂ (R₁₁ − R₁₀ − R₀₁ + 1)). NaN for invalid parameters or ω out of
    /// bounds.
    fn log_likelihood_one(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        self.ln_parts(x, t_x, t).2
    }
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        self.posterior(x, t_x, t)
            .iter()
            .map(|(w, m)| w * m.p_alive(x, t_x, t))
            .sum::<f64>()
            .clamp(0.0, 1.0)
    }
    fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        self.posterior(x, t_x, t)
            .iter()
            .map(|(w, m)| w * m.p_alive_at(future, x, t_x, t))
            .sum::<f64>()
            .clamp(0.0, 1.0)
    }
    fn conditional_expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        self.posterior(x, t_x, t)
            .iter()
            .map(|(w, m)| w * m.conditional_expected_purchases(horizon, x, t_x, t))
            .sum::<f64>()
            .max(0.0)
    }
    fn prob_future_purchases(&self, horizon: f64, n: u32, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        self.posterior(x, t_x, t)
            .iter()
            .map(|(w, m)| w * m.prob_future_purchases(horizon, n, x, t_x, t))
            .sum::<f64>()
            .clamp(0.0, 1.0)
    }
    fn expected_purchases(&self, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        self.components()
            .iter()
            .map(|(w, m)| w * m.expected_purchases(t))
            .sum()
    }
    fn prob_purchases(&self, t: f64, n: u32) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        self.components()
            .iter()
            .map(|(w, m)| w * m.prob_purchases(t, n))
            .sum::<f64>()
            .clamp(0.0, 1.0)
    }
}

fn sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

/// (ω, c = ω L₁ L₂) from (r, α, s, β, u).
fn omega_of(theta: &[f64]) -> (f64, f64) {
    let (r, alpha, s, beta, u) = (theta[0], theta[1], theta[2], theta[3], theta[4]);
    let (lo, hi) = omega_bounds(r, alpha, s, beta);
    let omega = lo + (hi - lo) * sigmoid(u);
    let (l1, l2) = laplace(r, alpha, s, beta);
    (omega, omega * l1 * l2)
}

/// The parameters of a fit vector (r, α, s, β, u).
pub fn params_of(theta: &[f64]) -> CorrelatedParams {
    CorrelatedParams {
        r: theta[0],
        alpha: theta[1],
        s: theta[2],
        beta: theta[3],
        omega: omega_of(theta).0,
    }
}

/// The u that gives ω (inside the bounds) for these base parameters.
fn u_of(r: f64, alpha: f64, s: f64, beta: f64, omega: f64) -> f64 {
    let (lo, hi) = omega_bounds(r, alpha, s, beta);
    let p = ((omega - lo) / (hi - lo)).clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// The log-likelihood of the correlated Pareto/NBD over grouped rows, in (r, α, s, β, u).
/// Gradient: analytic per row (four Pareto/NBD row gradients), with ∂c/∂θ of the per-θ
/// scalar c = ω L₁ L₂ by central differences.
pub struct CorrelatedLikelihood {
    rows: Vec<(RfmRow, f64)>,
    customers: f64,
    start: Vec<f64>,
}

impl CorrelatedLikelihood {
    pub fn new(data: &Rfm) -> Self {
        CorrelatedLikelihood {
            rows: data.iter().collect(),
            customers: data.customers(),
            start: vec![1.0, 1.0, 1.0, 1.0, 0.0],
        }
    }

    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let nan = (f64::NAN, vec![f64::NAN; 5]);
        if theta.len() != 5
            || !theta.iter().all(|v| v.is_finite())
            || !theta[..4].iter().all(|v| *v > 0.0)
        {
            return nan;
        }
        let (_, c) = omega_of(theta);
        let dc = numeric_gradient(|t| omega_of(t).1, theta);
        let base = [theta[0], theta[1], theta[2], theta[3]];
        let shifted = |da: f64, db: f64| [base[0], base[1] + da, base[2], base[3] + db];
        let (b10, b01, b11) = (shifted(1.0, 0.0), shifted(0.0, 1.0), shifted(1.0, 1.0));
        let per_row: Vec<(f64, [f64; 5])> = par_map(&self.rows, |(row, _)| {
            let (x, t_x, t) = (row.x, row.t_x, row.t);
            let (a00, g00) = row_value_grad(base, x, t_x, t);
            let (a10, g10) = row_value_grad(b10, x, t_x, t);
            let (a01, g01) = row_value_grad(b01, x, t_x, t);
            let (a11, g11) = row_value_grad(b11, x, t_x, t);
            let (r10, r01, r11) = ((a10 - a00).exp(), (a01 - a00).exp(), (a11 - a00).exp());
            let s = r11 - r10 - r01 + 1.0;
            let q = 1.0 + c * s;
            let v = a00 + q.ln();
            let mut g = [0.0; 5];
            for k in 0..4 {
                let ds =
                    r11 * (g11[k] - g00[k]) - r10 * (g10[k] - g00[k]) - r01 * (g01[k] - g00[k]);
                g[k] = g00[k] + (dc[k] * s + c * ds) / q;
            }
            g[4] = dc[4] * s / q;
            (v, g)
        });
        let mut ll = Compensated::default();
        let mut grad = vec![0.0; 5];
        for ((_, w), (v, g)) in self.rows.iter().zip(&per_row) {
            ll.add(w * v);
            for k in 0..5 {
                grad[k] += w * g[k];
            }
        }
        (ll.total(), grad)
    }
}

impl Likelihood for CorrelatedLikelihood {
    fn names(&self) -> &'static [&'static str] {
        NAMES
    }
    fn param_names(&self) -> Vec<String> {
        ["r", "alpha", "s", "beta", "u"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
    fn real_params(&self) -> usize {
        1
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        self.eval(theta).0
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        self.eval(theta)
    }
    fn has_analytic_gradient(&self) -> bool {
        true
    }
    fn observations(&self) -> f64 {
        self.customers
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        vec![self.start.clone()]
    }
}

/// A correlated Pareto/NBD fit: the parameters, the fit in (r, α, s, β, u), the correlation
/// of λ and μ with its delta-method interval, and the independent model's fit.
#[derive(Debug, Clone)]
pub struct CorrelatedFit {
    pub params: CorrelatedParams,
    pub fit: Fit,
    /// corr(λ, μ), 95% delta-method interval (linear scale).
    pub correlation: Estimate,
    /// Pareto/NBD without correlation on the same data.
    pub independent: Fit,
}

/// Fit the correlated Pareto/NBD: the independent model first, then from its estimate with
/// ω = 0 (and from ω at ±half its bounds).
pub fn fit_paretonbd_correlated(
    data: &Rfm,
    opts: &FitOptions,
) -> Result<CorrelatedFit, ModelError> {
    let (p, independent) = fit_paretonbd(data, opts)?;
    let mut lik = CorrelatedLikelihood::new(data);
    let (lo, hi) = omega_bounds(p.r, p.alpha, p.s, p.beta);
    lik.start = vec![
        p.r,
        p.alpha,
        p.s,
        p.beta,
        u_of(p.r, p.alpha, p.s, p.beta, 0.0),
    ];
    let mut opts = opts.clone();
    for omega in [0.5 * lo, 0.5 * hi] {
        opts.extra_starts.push(vec![
            p.r,
            p.alpha,
            p.s,
            p.beta,
            u_of(p.r, p.alpha, p.s, p.beta, omega),
        ]);
    }
    let fit = maximize(&lik, &opts)?;
    let params = params_of(&fit.params);
    let correlation = match &fit.covariance {
        Some(cov) => delta_method(
            |t| params_of(t).correlation(),
            &fit.params,
            cov,
            Scale::Linear,
            crate::fit::normal_quantile_two_sided(0.95),
        ),
        None => Estimate {
            value: params.correlation(),
            se: f64::NAN,
            lower: f64::NAN,
            upper: f64::NAN,
        },
    };
    Ok(CorrelatedFit {
        params,
        fit,
        correlation,
        independent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omega_zero_is_the_independent_model() {
        let p = CorrelatedParams {
            r: 0.55,
            alpha: 10.6,
            s: 0.61,
            beta: 11.7,
            omega: 0.0,
        };
        let q = ParetoNbdParams {
            r: 0.55,
            alpha: 10.6,
            s: 0.61,
            beta: 11.7,
        };
        for (x, t_x, t) in [(0.0, 0.0, 30.0), (3.0, 20.0, 38.0), (40.0, 70.0, 78.0)] {
            let (a, b) = (
                p.log_likelihood_one(x, t_x, t),
                q.log_likelihood_one(x, t_x, t),
            );
            assert!((a - b).abs() < 1e-13 * b.abs(), "{a} vs {b}");
        }
    }

    #[test]
    fn predictions_at_omega_zero_are_pareto_nbds_and_weights_sum_to_one() {
        let q = ParetoNbdParams {
            r: 0.55,
            alpha: 10.6,
            s: 0.61,
            beta: 11.7,
        };
        let p = CorrelatedParams {
            r: q.r,
            alpha: q.alpha,
            s: q.s,
            beta: q.beta,
            omega: 0.0,
        };
        for (x, t_x, t) in [(0.0, 0.0, 30.0), (3.0, 20.0, 38.0)] {
            let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b.abs().max(1e-300);
            assert!(close(p.p_alive(x, t_x, t), q.p_alive(x, t_x, t)));
            assert!(close(
                p.conditional_expected_purchases(39.0, x, t_x, t),
                q.conditional_expected_purchases(39.0, x, t_x, t)
            ));
        }
        assert!((p.expected_purchases(52.0) - q.expected_purchases(52.0)).abs() < 1e-12);
        let c = CorrelatedParams::with_correlation(0.8, 0.5, 1.2, 0.8, 0.2).unwrap();
        let w: f64 = c.posterior(4.0, 2.0, 3.0).iter().map(|(w, _)| w).sum();
        assert!((w - 1.0).abs() < 1e-12, "{w}");
        let prior: f64 = c.components().iter().map(|(w, _)| w).sum();
        assert!((prior - 1.0).abs() < 1e-15);
        // The parameters round-trip through (r, α, s, β, u).
        let back = c.with_params(&c.params());
        assert!((back.omega - c.omega).abs() < 1e-12 * c.omega.abs());
    }

    #[test]
    fn correlation_round_trips_and_bounds_hold() {
        let p = CorrelatedParams::with_correlation(0.8, 0.5, 1.2, 0.8, -0.1).unwrap();
        assert!((p.correlation() + 0.1).abs() < 1e-14);
        let (lo, hi) = omega_bounds(0.8, 0.5, 1.2, 0.8);
        assert!(lo < 0.0 && hi > 0.0 && p.omega > lo && p.omega < hi);
        // Out of range: the density would go negative. The exponential kernel limits how
        // strong the correlation can be, the more so the smaller the rates in the time unit.
        assert!(CorrelatedParams::with_correlation(0.8, 0.5, 1.2, 0.8, -0.99).is_none());
        assert!(CorrelatedParams::with_correlation(0.55, 10.6, 0.61, 11.7, -0.01).is_none());
        let bad = CorrelatedParams {
            omega: hi * 1.01,
            ..p
        };
        assert!(bad.log_likelihood_one(1.0, 2.0, 3.0).is_nan());
    }

    #[test]
    fn gradient_matches_numeric() {
        let rows = [
            RfmRow {
                x: 0.0,
                t_x: 0.0,
                t: 30.0,
            },
            RfmRow {
                x: 2.0,
                t_x: 12.0,
                t: 30.0,
            },
            RfmRow {
                x: 9.0,
                t_x: 29.0,
                t: 35.0,
            },
            RfmRow {
                x: 1.0,
                t_x: 3.0,
                t: 50.0,
            },
        ];
        let lik = CorrelatedLikelihood::new(&Rfm::new(&rows).unwrap());
        for theta in [[0.55, 10.6, 0.61, 11.7, 0.3], [1.5, 2.0, 0.4, 30.0, -1.2]] {
            let (v, g) = lik.eval(&theta);
            let by_row: f64 = rows
                .iter()
                .map(|r| params_of(&theta).log_likelihood_one(r.x, r.t_x, r.t))
                .sum();
            assert!((v - by_row).abs() < 1e-10 * v.abs());
            let num = numeric_gradient(|t| lik.eval(t).0, &theta);
            for k in 0..5 {
                assert!(
                    (g[k] - num[k]).abs() < 1e-5 * num[k].abs().max(1.0),
                    "{theta:?} ∂{k}: {} vs {}",
                    g[k],
                    num[k]
                );
            }
        }
    }
}
