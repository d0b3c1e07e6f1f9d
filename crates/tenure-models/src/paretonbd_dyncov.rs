//! Pareto/NBD with time-varying covariates (Bachmann, Meierer & Näf 2021, "The role of
//! time-varying contextual factors in latent attrition models for customer base analysis",
//! Marketing Science 40(4)): covariates that change over calendar time on a regular grid
//! (seasonality, a price change, a campaign), shared by every customer.
//!
//! While alive, customer i buys at rate λ_i e^{γ_trans'z(u)} and drops out at rate
//! μ_i e^{γ_life'z(u)} at calendar time u, with λ_i ~ Gamma(r, α), μ_i ~ Gamma(s, β) and z
//! constant within each period of the grid. With A(τ) = ∫ e^{γ_trans'z} and B(τ) = ∫ e^{γ_life'z}
//! over the customer's own first τ time units, the likelihood of x repeat purchases at
//! t_1 … t_x = t_x in (0, T] is
//!
//!   L = Γ(r+x)/Γ(r) α^r β^s e^{γ_trans' Σⱼ z(t_j)} [ (α+A(T))^{−(r+x)} (β+B(T))^{−s}
//!       + s ∫_{t_x}^T e^{γ_life'z(τ)} (α+A(τ))^{−(r+x)} (β+B(τ))^{−(s+1)} dτ ],
//!
//! which is the Pareto/NBD likelihood when every γ is 0 (A = B = τ), and the static covariate
//! model's when z does not change over time. A and B are piecewise linear, so the integral is
//! a sum over the periods between t_x and T, each by an 8-point Gauss–Legendre rule in log
//! space; the gradient is analytic (the derivatives of A and B in γ are carried along).
//!
//! Predictions ([`DynParams::predict`], [`DynParams::score`]) use the grid's covariates over the
//! window after T as well: P(alive) is the alive term's share of the bracket above; alive at T,
//! λ ~ Gamma(r+x, α+A(T)) and μ ~ Gamma(s, β+B(T)), so the expected purchases in (T, T+h] are
//! P(alive) (r+x)/(α+A(T)) ∫₀ʰ e^{γ_trans'z(T+u)} ((β+B(T))/(β+B(T)+B(T+u)−B(T)))^s du, in
//! closed form on each period (as CLVTools' `pnbd_dyncov_CET`), and P(alive at T+h) is
//! P(alive) ((β+B(T))/(β+B(T+h)))^s. Discounted expected purchases
//! ([`DynParams::discounted_expected_purchases`], for CLV) value each period's expected
//! purchases along the same path, as [`crate::clv`] does for the other models.
//!
//! Invariants: the grid must cover every customer's observation period (and, to predict, the
//! window after it); period k is [origin + k·step, origin + (k+1)·step) in calendar time, in
//! the data's time unit.

use crate::clv::ClvConfig;
use crate::data::{validate_rfm, DataError, RfmRow};
use crate::fit::{delta_method, maximize, Estimate, Fit, FitOptions, Likelihood, Scale};
use crate::ggomnbd::gauss_legendre;
use crate::paretonbd::{fit_paretonbd, par_map};
use crate::special::{digamma, ln_gamma, Compensated};
use crate::{ModelError, Rfm};

const NODES: usize = 8;

/// Covariates on a calendar grid: `trans[k]` and `life[k]` are the values in period k.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeGrid {
    /// Calendar time of the start of period 0.
    pub origin: f64,
    /// Length of a period (> 0), in the data's time unit.
    pub step: f64,
    /// Purchase-process covariates per period (each of the same length).
    pub trans: Vec<Vec<f64>>,
    /// Lifetime-process covariates per period (same number of periods as `trans`).
    pub life: Vec<Vec<f64>>,
}

impl TimeGrid {
    fn periods(&self) -> usize {
        self.trans.len()
    }
    /// A positive step, at least one period, the same periods for both processes, and `pt`
    /// purchase and `pl` lifetime covariates in every period.
    fn check_shape(&self, pt: usize, pl: usize) -> Result<(), ModelError> {
        if !(self.step > 0.0) || self.trans.len() != self.life.len() || self.trans.is_empty() {
            return Err(DataError::Degenerate(
                "the covariate grid needs a positive step and the same periods for both processes"
                    .into(),
            )
            .into());
        }
        if let Some(k) =
            (0..self.periods()).find(|&k| self.trans[k].len() != pt || self.life[k].len() != pl)
        {
            return Err(DataError::Degenerate(format!(
                "period {k} of the covariate grid does not have {pt} purchase and {pl} lifetime covariates"
            ))
            .into());
        }
        Ok(())
    }
    /// The period of calendar time u (clamped into the grid; callers check coverage).
    pub fn period(&self, u: f64) -> usize {
        let k = ((u - self.origin) / self.step).floor();
        (k.max(0.0) as usize).min(self.periods().saturating_sub(1))
    }
    /// The end of the grid in calendar time.
    pub fn end(&self) -> f64 {
        self.origin + self.step * self.periods() as f64
    }
}

/// One customer: calendar time of the first purchase, the summary (times since it), and the
/// sum of the purchase-process covariates over the periods of her repeat purchases.
#[derive(Debug, Clone, PartialEq)]
pub struct DynRow {
    pub birth: f64,
    pub rfm: RfmRow,
    pub purchase_sums: Vec<f64>,
}

/// Parameters: the Pareto/NBD four and the coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct DynParams {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
    pub gamma_trans: Vec<f64>,
    pub gamma_life: Vec<f64>,
}

impl DynParams {
    fn theta(&self) -> Vec<f64> {
        let mut t = vec![self.r, self.alpha, self.s, self.beta];
        t.extend(&self.gamma_trans);
        t.extend(&self.gamma_life);
        t
    }
    /// From (r, α, s, β, γ_trans…, γ_life…) with `pt` purchase coefficients.
    pub fn from_theta(theta: &[f64], pt: usize) -> DynParams {
        DynParams {
            r: theta[0],
            alpha: theta[1],
            s: theta[2],
            beta: theta[3],
            gamma_trans: theta[4..4 + pt].to_vec(),
            gamma_life: theta[4 + pt..].to_vec(),
        }
    }
    /// One customer's log-likelihood.
    pub fn log_likelihood_one(&self, grid: &TimeGrid, row: &DynRow) -> f64 {
        let rule = gauss_legendre(NODES);
        row_value_grad(&self.theta(), self.gamma_trans.len(), grid, row, &rule).value
    }
}

/// ln(Σ e^{v_i}) and the weights e^{v_i − total}.
fn log_sum(values: &[f64]) -> (f64, Vec<f64>) {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return (top, vec![0.0; values.len()]);
    }
    let e: Vec<f64> = values.iter().map(|v| (v - top).exp()).collect();
    let sum: f64 = e.iter().sum();
    (top + sum.ln(), e.iter().map(|x| x / sum).collect())
}

/// One customer's log-likelihood, its gradient in θ = (r, α, s, β, γ_trans, γ_life), and the
/// parts the predictions need.
struct RowTerms {
    value: f64,
    grad: Vec<f64>,
    /// ln of the alive-at-T term of the bracket, −(r+x) ln(α+A(T)) − s ln(β+B(T)).
    ln_alive: f64,
    /// ln of the whole bracket (alive at T, or dead in (t_x, T]).
    ln_bracket: f64,
    /// A(T) and B(T).
    a: f64,
    b: f64,
}

/// One customer's [`RowTerms`].
fn row_value_grad(
    theta: &[f64],
    pt: usize,
    grid: &TimeGrid,
    row: &DynRow,
    rule: &[(f64, f64)],
) -> RowTerms {
    let k = theta.len();
    let pl = k - 4 - pt;
    let (r, alpha, s, beta) = (theta[0], theta[1], theta[2], theta[3]);
    let (gt, gl) = (&theta[4..4 + pt], &theta[4 + pt..]);
    let RfmRow { x, t_x, t } = row.rfm;
    let rx = r + x;
    // Walk the periods from birth to birth + T, carrying A, B and their γ-derivatives.
    let (mut a, mut b) = (0.0, 0.0);
    let mut da = vec![0.0; pt];
    let mut db = vec![0.0; pl];
    // Dead-term nodes, summed as they come: running maximum, Σ e^{v − max}, and the same
    // sum weighting each node's gradient.
    let mut top = f64::NEG_INFINITY;
    let mut sum = 0.0;
    let mut gsum = vec![0.0; k];
    let mut g = vec![0.0; k];
    let mut tau = 0.0;
    while tau < t {
        let u = row.birth + tau;
        let p = grid.period(u);
        let period_end = grid.origin + grid.step * (p + 1) as f64 - row.birth;
        let next = period_end.min(t).max(tau);
        let next = if next <= tau { t } else { next };
        let zt = &grid.trans[p];
        let zl = &grid.life[p];
        let et: f64 = gt.iter().zip(zt).map(|(g, z)| g * z).sum();
        let el: f64 = gl.iter().zip(zl).map(|(g, z)| g * z).sum();
        let (ct, cl) = (et.exp(), el.exp());
        // The part of this period after t_x carries the dead term's integral.
        let lo = tau.max(t_x);
        if next > lo {
            let (mid, half) = (0.5 * (lo + next), 0.5 * (next - lo));
            for (xn, w) in rule {
                let v = mid + half * xn;
                let av = a + ct * (v - tau);
                let bv = b + cl * (v - tau);
                let (la, lb) = ((alpha + av).ln(), (beta + bv).ln());
                let node = (w * half).ln() + el - rx * la - (s + 1.0) * lb;
                g[0] = -la;
                g[1] = -rx / (alpha + av);
                g[2] = -lb;
                g[3] = -(s + 1.0) / (beta + bv);
                for j in 0..pt {
                    g[4 + j] = -rx / (alpha + av) * (da[j] + ct * zt[j] * (v - tau));
                }
                for j in 0..pl {
                    g[4 + pt + j] =
                        zl[j] - (s + 1.0) / (beta + bv) * (db[j] + cl * zl[j] * (v - tau));
                }
                if node > top {
                    let scale = (top - node).exp();
                    sum *= scale;
                    gsum.iter_mut().for_each(|x| *x *= scale);
                    top = node;
                }
                let e = (node - top).exp();
                sum += e;
                for (acc, gi) in gsum.iter_mut().zip(&g) {
                    *acc += e * gi;
                }
            }
        }
        let len = next - tau;
        a += ct * len;
        b += cl * len;
        for j in 0..pt {
            da[j] += ct * zt[j] * len;
        }
        for j in 0..pl {
            db[j] += cl * zl[j] * len;
        }
        tau = next;
    }
    // Alive at T.
    let (la, lb) = ((alpha + a).ln(), (beta + b).ln());
    let alive = -rx * la - s * lb;
    let mut g_alive = vec![0.0; k];
    g_alive[0] = -la;
    g_alive[1] = -rx / (alpha + a);
    g_alive[2] = -lb;
    g_alive[3] = -s / (beta + b);
    for j in 0..pt {
        g_alive[4 + j] = -rx / (alpha + a) * da[j];
    }
    for j in 0..pl {
        g_alive[4 + pt + j] = -s / (beta + b) * db[j];
    }
    // Dead in (t_x, T]: ln s + ln Σ nodes.
    let ln_int = if sum > 0.0 {
        top + sum.ln()
    } else {
        f64::NEG_INFINITY
    };
    let mut g_dead: Vec<f64> = gsum
        .iter()
        .map(|x| if sum > 0.0 { x / sum } else { 0.0 })
        .collect();
    let dead = s.ln() + ln_int;
    g_dead[2] += 1.0 / s;
    let (bracket, w) = log_sum(&[alive, dead]);
    let purchases: f64 = gt.iter().zip(&row.purchase_sums).map(|(g, z)| g * z).sum();
    let v = ln_gamma(rx) - ln_gamma(r) + r * alpha.ln() + s * beta.ln() + purchases + bracket;
    let mut g = vec![0.0; k];
    for i in 0..k {
        g[i] = w[0] * g_alive[i]
            + if dead.is_finite() {
                w[1] * g_dead[i]
            } else {
                0.0
            };
    }
    g[0] += digamma(rx) - digamma(r) + alpha.ln();
    g[1] += r / alpha;
    g[2] += beta.ln();
    g[3] += s / beta;
    for j in 0..pt {
        g[4 + j] += row.purchase_sums[j];
    }
    RowTerms {
        value: v,
        grad: g,
        ln_alive: alive,
        ln_bracket: bracket,
        a,
        b,
    }
}

/// The log-likelihood over customers, for [`maximize`].
pub struct DynLikelihood {
    grid: TimeGrid,
    rows: Vec<DynRow>,
    names: Vec<String>,
    pt: usize,
    starts: Vec<Vec<f64>>,
    rule: Vec<(f64, f64)>,
}

impl DynLikelihood {
    /// Check the rows against the grid: valid summaries, purchase sums of the right length,
    /// every observation period inside the grid, the same number of covariates in every period.
    pub fn new(
        grid: TimeGrid,
        rows: Vec<DynRow>,
        trans_names: &[String],
        life_names: &[String],
    ) -> Result<DynLikelihood, ModelError> {
        let pt = trans_names.len();
        let pl = life_names.len();
        if rows.is_empty() {
            return Err(DataError::Empty.into());
        }
        grid.check_shape(pt, pl)?;
        for (i, row) in rows.iter().enumerate() {
            validate_rfm(i, &row.rfm)?;
            if row.purchase_sums.len() != pt {
                return Err(DataError::Inconsistent {
                    row: i,
                    reason: format!(
                        "{} purchase sums for {pt} covariates",
                        row.purchase_sums.len()
                    ),
                }
                .into());
            }
            if row.birth < grid.origin || row.birth + row.rfm.t > grid.end() + 1e-9 * grid.step {
                return Err(DataError::Inconsistent {
                    row: i,
                    reason: format!(
                        "observed from {} to {}, outside the covariate grid ({} to {})",
                        row.birth,
                        row.birth + row.rfm.t,
                        grid.origin,
                        grid.end()
                    ),
                }
                .into());
            }
        }
        let mut names: Vec<String> = ["r", "alpha", "s", "beta"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        names.extend(trans_names.iter().map(|n| format!("trans.{n}")));
        names.extend(life_names.iter().map(|n| format!("life.{n}")));
        Ok(DynLikelihood {
            grid,
            rows,
            names,
            pt,
            starts: Vec::new(),
            rule: gauss_legendre(NODES),
        })
    }

    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let k = self.names.len();
        if theta.len() != k
            || !theta.iter().all(|v| v.is_finite())
            || !theta[..4].iter().all(|v| *v > 0.0)
        {
            return (f64::NAN, vec![f64::NAN; k]);
        }
        let per_row = par_map(&self.rows, |row| {
            let t = row_value_grad(theta, self.pt, &self.grid, row, &self.rule);
            (t.value, t.grad)
        });
        let mut ll = Compensated::default();
        let mut grad = vec![0.0; k];
        for (v, g) in &per_row {
            ll.add(*v);
            for i in 0..k {
                grad[i] += g[i];
            }
        }
        (ll.total(), grad)
    }
}

impl Likelihood for DynLikelihood {
    fn names(&self) -> &'static [&'static str] {
        &["r", "alpha", "s", "beta"]
    }
    fn param_names(&self) -> Vec<String> {
        self.names.clone()
    }
    fn real_params(&self) -> usize {
        self.names.len() - 4
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
        self.rows.len() as f64
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        self.starts.clone()
    }
}

/// A fit with time-varying covariates, and the plain Pareto/NBD on the same customers.
#[derive(Debug, Clone)]
pub struct DynFit {
    pub params: DynParams,
    pub fit: Fit,
    pub plain: Fit,
}

/// Fit Pareto/NBD with time-varying covariates: the plain model first, then from its estimate
/// with every coefficient 0.
pub fn fit_paretonbd_dyncov(
    grid: TimeGrid,
    rows: Vec<DynRow>,
    trans_names: &[String],
    life_names: &[String],
    opts: &FitOptions,
) -> Result<DynFit, ModelError> {
    let plain_data = Rfm::new(&rows.iter().map(|r| r.rfm).collect::<Vec<_>>())?;
    let (_, plain) = fit_paretonbd(&plain_data, opts)?;
    let mut lik = DynLikelihood::new(grid, rows, trans_names, life_names)?;
    let mut start = plain.params.clone();
    start.resize(lik.names.len(), 0.0);
    lik.starts = vec![start];
    let fit = maximize(&lik, opts)?;
    Ok(DynFit {
        params: DynParams::from_theta(&fit.params, lik.pt),
        fit,
        plain,
    })
}

// ---------------------------------------------------------------------------------------------
// Predictions.

/// What the model predicts for one customer observed to T, over the next `horizon`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DynPrediction {
    /// P(alive at T | x, t_x, T).
    pub p_alive: f64,
    /// E[X(T, T + horizon] | x, t_x, T]: expected repeat purchases in the window.
    pub expected_purchases: f64,
    /// P(alive at T + horizon | x, t_x, T).
    pub p_alive_at_horizon: f64,
}

/// One customer to score: calendar time of her first purchase (in the grid's time) and her
/// summary. The grid must cover [birth, birth + T + horizon].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DynCustomer {
    pub birth: f64,
    pub rfm: RfmRow,
}

/// A customer's predictions with delta-method intervals (NaN bounds without a covariance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DynScore {
    pub p_alive: Estimate,
    pub expected_purchases: Estimate,
    /// A point, without interval (as for the plain models).
    pub p_alive_at_horizon: f64,
}

/// expm1(w·d)/w, the integral ∫₀ᵈ e^{w v} dv, with its limit d at w = 0.
fn expm1_over(w: f64, d: f64) -> f64 {
    let wd = w * d;
    if wd.abs() < 1e-10 {
        d * (1.0 + 0.5 * wd)
    } else {
        wd.exp_m1() / w
    }
}

/// The future window of a customer alive at T, given ΔB(u) = B(T+u) − B(T) on the grid:
/// returns (F(h), ΔB(h)) with
///
///   F(h) = ∫₀ʰ e^{γ_trans'z(T+u)} ((β+B(T)) / (β+B(T)+ΔB(u)))^s du.
///
/// On a period where the two exponents are c_t and c_l and ΔB runs from B₀ over a length ℓ,
/// with K = β+B(T) and w = 1−s, the piece is exactly
///
///   c_t · K/c_l · (1 + B₀/K)^w · [e^{w·d} − 1]/w,   d = ln(1 + c_l ℓ/(K+B₀)),
///
/// (the s = 1 limit is d). This is CLVTools' `pnbd_dyncov_CET` sum over the prediction
/// period's covariate intervals, written in log-space-safe form.
fn future_window(
    theta: &[f64],
    pt: usize,
    grid: &TimeGrid,
    start: f64,
    horizon: f64,
    k: f64,
) -> (f64, f64) {
    let (f, db) = future_windows(theta, pt, grid, start, &[horizon], k);
    (f[0], db)
}

/// [`future_window`]'s F at every one of the increasing window lengths `ends`, in one walk
/// over the grid (a period that holds an end is split there; each piece is exact, so F at an
/// end does not depend on the other ends), and ΔB at the last end.
fn future_windows(
    theta: &[f64],
    pt: usize,
    grid: &TimeGrid,
    start: f64,
    ends: &[f64],
    k: f64,
) -> (Vec<f64>, f64) {
    let s = theta[2];
    let (gt, gl) = (&theta[4..4 + pt], &theta[4 + pt..]);
    let w = 1.0 - s;
    let (mut u, mut db, mut acc) = (0.0, 0.0, 0.0);
    let mut out = Vec::with_capacity(ends.len());
    for &horizon in ends {
        while u < horizon {
            let mut p = grid.period(start + u);
            let mut end = grid.origin + grid.step * (p + 1) as f64 - start;
            // A point on a period boundary rounded into the period before it.
            if end <= u && p + 1 < grid.periods() {
                p += 1;
                end = grid.origin + grid.step * (p + 1) as f64 - start;
            }
            let next = end.min(horizon);
            let next = if next <= u { horizon } else { next };
            let et: f64 = gt.iter().zip(&grid.trans[p]).map(|(g, z)| g * z).sum();
            let el: f64 = gl.iter().zip(&grid.life[p]).map(|(g, z)| g * z).sum();
            let (ct, cl) = (et.exp(), el.exp());
            let len = next - u;
            let d = (cl * len / (k + db)).ln_1p();
            acc += ct * k / cl * (w * (db / k).ln_1p()).exp() * expm1_over(w, d);
            db += cl * len;
            u = next;
        }
        out.push(acc);
    }
    (out, db)
}

/// What every prediction of a customer alive-or-not at T needs: P(alive), the posterior mean
/// rate's factor (r+x)/(α+A(T)) and K = β+B(T).
fn posterior(
    theta: &[f64],
    pt: usize,
    grid: &TimeGrid,
    c: &DynCustomer,
    rule: &[(f64, f64)],
) -> (f64, f64, f64) {
    let row = DynRow {
        birth: c.birth,
        rfm: c.rfm,
        purchase_sums: vec![0.0; pt],
    };
    let terms = row_value_grad(theta, pt, grid, &row, rule);
    let p_alive = (terms.ln_alive - terms.ln_bracket).exp().clamp(0.0, 1.0);
    let (r, alpha, beta) = (theta[0], theta[1], theta[3]);
    (p_alive, (r + c.rfm.x) / (alpha + terms.a), beta + terms.b)
}

/// Predictions from θ = (r, α, s, β, γ_trans, γ_life) for a customer inside the grid.
///
/// Given the data, the posterior probability of being alive at T is the alive term's share of
/// the likelihood's bracket (the factor e^{γ_trans'Σz(t_j)} and the constants cancel):
///
///   P(alive) = (α+A(T))^{−(r+x)} (β+B(T))^{−s} / [bracket of the likelihood].
///
/// Alive at T, λ ~ Gamma(r+x, α+A(T)) and μ ~ Gamma(s, β+B(T)) independently, and she is
/// still alive at T+u with probability e^{−μ ΔB(u)}, ΔB(u) = B(T+u) − B(T); she buys at rate
/// λ e^{γ_trans'z(T+u)} while alive. So (Bachmann, Meierer & Näf 2021, the conditional
/// expectation of Section 3; CLVTools' `pnbd_dyncov_CET`)
///
///   E[X(T, T+h] | data] = P(alive) · (r+x)/(α+A(T)) · F(h),   F from [`future_window`],
///   P(alive at T+h | data) = P(alive) · ((β+B(T)) / (β+B(T)+ΔB(h)))^s.
///
/// With every covariate constant these are the static covariate model's (Fader & Hardie 2007:
/// α_i = α e^{−γ_trans'z}, β_i = β e^{−γ_life'z}), and with γ = 0 Pareto/NBD's eq. (10) and
/// P(alive at T+h) of Fader & Hardie (2005).
fn predict_theta(
    theta: &[f64],
    pt: usize,
    grid: &TimeGrid,
    c: &DynCustomer,
    horizon: f64,
    rule: &[(f64, f64)],
) -> DynPrediction {
    let (p_alive, rate, k) = posterior(theta, pt, grid, c, rule);
    let s = theta[2];
    let (f, db) = future_window(theta, pt, grid, c.birth + c.rfm.t, horizon, k);
    DynPrediction {
        p_alive,
        expected_purchases: p_alive * rate * f,
        p_alive_at_horizon: p_alive * (-s * (db / k).ln_1p()).exp(),
    }
}

/// DET from θ: Σ_{k=1..K} [E(k·L) − E((k−1)·L)] / (1+d)^k with E(t) = E[X(T, T+t] | data] of
/// [`predict_theta`] along the covariates' path, all K window ends in one walk of the grid
/// ([`future_windows`]). The sum is taken as [`crate::clv`] takes it for the other models.
fn det_theta(
    theta: &[f64],
    pt: usize,
    grid: &TimeGrid,
    c: &DynCustomer,
    cfg: &ClvConfig,
    rule: &[(f64, f64)],
) -> f64 {
    let (p_alive, rate, k) = posterior(theta, pt, grid, c, rule);
    let ends: Vec<f64> = (1..=cfg.periods())
        .map(|j| f64::from(j) * cfg.period_length())
        .collect();
    let (f, _) = future_windows(theta, pt, grid, c.birth + c.rfm.t, &ends, k);
    let v = 1.0 / (1.0 + cfg.discount_rate());
    let (mut factor, mut previous, mut total) = (1.0, 0.0, 0.0);
    for fj in f {
        let e = p_alive * rate * fj;
        factor *= v;
        total += (e - previous) * factor;
        previous = e;
    }
    total
}

impl DynParams {
    /// Check that the grid has this model's covariates and that customer `i`'s observation
    /// period and the `horizon` after it lie inside it.
    pub fn check(
        &self,
        grid: &TimeGrid,
        i: usize,
        c: &DynCustomer,
        horizon: f64,
    ) -> Result<(), ModelError> {
        let (pt, pl) = (self.gamma_trans.len(), self.gamma_life.len());
        grid.check_shape(pt, pl)?;
        let theta = self.theta();
        if !theta.iter().all(|v| v.is_finite()) || !theta[..4].iter().all(|v| *v > 0.0) {
            return Err(DataError::Degenerate(
                "r, α, s and β must be positive and every coefficient finite".into(),
            )
            .into());
        }
        validate_rfm(i, &c.rfm)?;
        if !(horizon >= 0.0) || !horizon.is_finite() {
            return Err(DataError::Degenerate(format!(
                "the horizon {horizon} must be a non-negative number"
            ))
            .into());
        }
        let last = c.birth + c.rfm.t + horizon;
        if !(c.birth >= grid.origin) || !(last <= grid.end() + 1e-9 * grid.step) {
            return Err(DataError::Inconsistent {
                row: i,
                reason: format!(
                    "observed from {} to {} and predicted to {last}, outside the covariate grid ({} to {})",
                    c.birth,
                    c.birth + c.rfm.t,
                    grid.origin,
                    grid.end()
                ),
            }
            .into());
        }
        Ok(())
    }

    /// P(alive), expected purchases in (T, T + `horizon`] and P(alive at T + `horizon`) of one
    /// customer, with the covariates of the grid over the window (the formulas are in the
    /// module's documentation; their derivation at `predict_theta`). Errors if the grid does
    /// not cover the customer and the window.
    pub fn predict(
        &self,
        grid: &TimeGrid,
        c: &DynCustomer,
        horizon: f64,
    ) -> Result<DynPrediction, ModelError> {
        self.check(grid, 0, c, horizon)?;
        Ok(predict_theta(
            &self.theta(),
            self.gamma_trans.len(),
            grid,
            c,
            horizon,
            &gauss_legendre(NODES),
        ))
    }

    /// [`DynParams::predict`] for every customer (in parallel, once per distinct customer),
    /// with delta-method intervals when `cov` = Some((covariance of θ in
    /// [`DynParams::from_theta`]'s order, normal quantile z)): P(alive) on the logit scale,
    /// expected purchases on the log scale, as for the plain models. The gradient is by
    /// central differences ([`delta_method`]).
    pub fn score(
        &self,
        grid: &TimeGrid,
        customers: &[DynCustomer],
        horizon: f64,
        cov: Option<(&[Vec<f64>], f64)>,
    ) -> Result<Vec<DynScore>, ModelError> {
        let theta = self.checked(grid, customers, horizon, cov)?;
        let pt = self.gamma_trans.len();
        let rule = gauss_legendre(NODES);
        Ok(per_distinct(customers, |c| {
            let point = predict_theta(&theta, pt, grid, c, horizon, &rule);
            match cov {
                Some((cov, z)) => DynScore {
                    p_alive: delta_method(
                        |t| predict_theta(t, pt, grid, c, horizon, &rule).p_alive,
                        &theta,
                        cov,
                        Scale::Logit,
                        z,
                    ),
                    expected_purchases: delta_method(
                        |t| predict_theta(t, pt, grid, c, horizon, &rule).expected_purchases,
                        &theta,
                        cov,
                        Scale::Log,
                        z,
                    ),
                    p_alive_at_horizon: point.p_alive_at_horizon,
                },
                None => DynScore {
                    p_alive: bare(point.p_alive),
                    expected_purchases: bare(point.expected_purchases),
                    p_alive_at_horizon: point.p_alive_at_horizon,
                },
            }
        }))
    }

    /// One customer's discounted expected purchases (DET, as [`crate::clv`] defines it for
    /// the other models): Σ_{k=1..K} [E(k·L) − E((k−1)·L)] / (1+d)^k with E(t) the expected
    /// purchases in (T, T+t] of [`DynParams::predict`], so each period's purchases are those
    /// of its own covariates. CLV = margin × spend × DET. Errors if the grid does not cover
    /// the customer and the K·L after T.
    pub fn discounted_expected_purchases(
        &self,
        grid: &TimeGrid,
        c: &DynCustomer,
        cfg: &ClvConfig,
    ) -> Result<f64, ModelError> {
        self.check(grid, 0, c, cfg.horizon())?;
        Ok(det_theta(
            &self.theta(),
            self.gamma_trans.len(),
            grid,
            c,
            cfg,
            &gauss_legendre(NODES),
        ))
    }

    /// [`DynParams::discounted_expected_purchases`] for every customer (in parallel, once per
    /// distinct customer), with a delta-method interval on the log scale over every parameter
    /// when `cov` is given (as [`DynParams::score`]); NaN bounds without.
    pub fn score_det(
        &self,
        grid: &TimeGrid,
        customers: &[DynCustomer],
        cfg: &ClvConfig,
        cov: Option<(&[Vec<f64>], f64)>,
    ) -> Result<Vec<Estimate>, ModelError> {
        let theta = self.checked(grid, customers, cfg.horizon(), cov)?;
        let pt = self.gamma_trans.len();
        let rule = gauss_legendre(NODES);
        Ok(per_distinct(customers, |c| match cov {
            Some((cov, z)) => delta_method(
                |t| det_theta(t, pt, grid, c, cfg, &rule),
                &theta,
                cov,
                Scale::Log,
                z,
            ),
            None => bare(det_theta(&theta, pt, grid, c, cfg, &rule)),
        }))
    }

    /// θ, after checking the covariance's shape and every customer against the grid.
    fn checked(
        &self,
        grid: &TimeGrid,
        customers: &[DynCustomer],
        horizon: f64,
        cov: Option<(&[Vec<f64>], f64)>,
    ) -> Result<Vec<f64>, ModelError> {
        let theta = self.theta();
        if let Some((c, _)) = cov {
            if c.len() != theta.len() || c.iter().any(|row| row.len() != theta.len()) {
                return Err(DataError::Degenerate(format!(
                    "the covariance must be {k} × {k}, one row and column per parameter",
                    k = theta.len()
                ))
                .into());
            }
        }
        for (i, c) in customers.iter().enumerate() {
            self.check(grid, i, c, horizon)?;
        }
        Ok(theta)
    }
}

/// A point without interval.
fn bare(v: f64) -> Estimate {
    Estimate {
        value: v,
        se: f64::NAN,
        lower: f64::NAN,
        upper: f64::NAN,
    }
}

/// `f` of every customer, computed once per distinct (birth, x, t_x, T) (by their bits), in
/// parallel.
fn per_distinct<T: Send + Copy>(
    customers: &[DynCustomer],
    f: impl Fn(&DynCustomer) -> T + Sync,
) -> Vec<T> {
    let key = |c: &DynCustomer| [c.birth, c.rfm.x, c.rfm.t_x, c.rfm.t].map(f64::to_bits);
    let mut index = std::collections::HashMap::new();
    let mut distinct = Vec::new();
    let of: Vec<usize> = customers
        .iter()
        .map(|c| {
            *index.entry(key(c)).or_insert_with(|| {
                distinct.push(*c);
                distinct.len() - 1
            })
        })
        .collect();
    let per = par_map(&distinct, f);
    of.iter().map(|&j| per[j]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariates::{
        CovariateLikelihood, CovariateModel, CovariateParams, CovariateSpec, Design, Individual,
    };
    use crate::fit::numeric_gradient;
    use crate::paretonbd::ParetoNbdParams;
    use crate::rfm::RfmModel;

    fn grid(periods: usize, f: impl Fn(usize) -> (f64, f64)) -> TimeGrid {
        TimeGrid {
            origin: 0.0,
            step: 1.0,
            trans: (0..periods).map(|k| vec![f(k).0]).collect(),
            life: (0..periods).map(|k| vec![f(k).1]).collect(),
        }
    }

    fn rows() -> Vec<DynRow> {
        vec![
            DynRow {
                birth: 0.0,
                rfm: RfmRow {
                    x: 0.0,
                    t_x: 0.0,
                    t: 30.0,
                },
                purchase_sums: vec![0.0],
            },
            DynRow {
                birth: 3.5,
                rfm: RfmRow {
                    x: 2.0,
                    t_x: 12.3,
                    t: 26.5,
                },
                purchase_sums: vec![0.7],
            },
            DynRow {
                birth: 10.1,
                rfm: RfmRow {
                    x: 7.0,
                    t_x: 19.9,
                    t: 19.8 + 0.1,
                },
                purchase_sums: vec![-1.1],
            },
            DynRow {
                birth: 29.0,
                rfm: RfmRow {
                    x: 1.0,
                    t_x: 0.4,
                    t: 1.0,
                },
                purchase_sums: vec![0.3],
            },
        ]
    }

    #[test]
    fn zero_coefficients_give_pareto_nbd() {
        let g = grid(30, |k| {
            ((k as f64 * 0.4).sin(), if k > 12 { 1.0 } else { 0.0 })
        });
        let p = DynParams {
            r: 0.55,
            alpha: 10.6,
            s: 0.61,
            beta: 11.7,
            gamma_trans: vec![0.0],
            gamma_life: vec![0.0],
        };
        let q = ParetoNbdParams {
            r: 0.55,
            alpha: 10.6,
            s: 0.61,
            beta: 11.7,
        };
        for row in rows() {
            let (a, b) = (
                p.log_likelihood_one(&g, &row),
                q.log_likelihood_one(row.rfm.x, row.rfm.t_x, row.rfm.t),
            );
            assert!((a - b).abs() < 1e-10 * b.abs(), "{row:?}: {a} vs {b}");
        }
    }

    /// Covariates that do not change over time: the static covariate model (whose integrals
    /// are exact ₂F₁ tails), so this checks the quadrature too.
    #[test]
    fn constant_covariates_give_the_static_model() {
        let (zt, zl) = (0.8, -0.5);
        let g = grid(30, |_| (zt, zl));
        let theta = [0.55, 10.6, 0.61, 11.7, 0.4, -0.3];
        let dynamic = DynLikelihood::new(
            g,
            rows()
                .into_iter()
                .map(|mut r| {
                    r.purchase_sums = vec![zt * r.rfm.x];
                    r
                })
                .collect(),
            &["z".into()],
            &["z".into()],
        )
        .unwrap();
        let design = Design::raw(&["zt", "zl"], [zt, zl].repeat(4));
        let spec = CovariateSpec {
            trans: vec![0],
            life: vec![1],
            ..CovariateSpec::default()
        };
        let fixed = CovariateLikelihood::new(
            CovariateModel::ParetoNbd,
            &rows().iter().map(|r| r.rfm).collect::<Vec<_>>(),
            &design,
            &spec,
        )
        .unwrap();
        let (a, ga) = dynamic.eval(&theta);
        let (b, gb) = fixed.value_and_gradient(&theta);
        assert!((a - b).abs() < 1e-9 * b.abs(), "{a} vs {b}");
        for i in 0..6 {
            assert!(
                (ga[i] - gb[i]).abs() < 1e-7 * gb[i].abs().max(1.0),
                "∂{i}: {} vs {}",
                ga[i],
                gb[i]
            );
        }
    }

    #[test]
    fn gradient_matches_numeric() {
        let g = grid(30, |k| {
            ((k as f64 * 0.4).sin(), if k > 12 { 1.0 } else { 0.0 })
        });
        let lik = DynLikelihood::new(g, rows(), &["season".into()], &["price".into()]).unwrap();
        for theta in [
            [0.55, 10.6, 0.61, 11.7, 0.0, 0.0],
            [1.2, 3.0, 0.4, 20.0, 0.6, -0.8],
        ] {
            let (_, an) = lik.eval(&theta);
            let num = numeric_gradient(|t| lik.eval(t).0, &theta);
            for i in 0..6 {
                assert!(
                    (an[i] - num[i]).abs() < 1e-6 * num[i].abs().max(1.0),
                    "{theta:?} ∂{i}: {} vs {}",
                    an[i],
                    num[i]
                );
            }
        }
    }

    /// Customers to score on a 60-period grid: the rows above, whose windows of up to 25
    /// periods stay inside it.
    fn customers() -> Vec<DynCustomer> {
        rows()
            .into_iter()
            .map(|r| DynCustomer {
                birth: r.birth,
                rfm: r.rfm,
            })
            .collect()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    /// `p` on `g` gives `m`'s P(alive), conditional expectation and P(alive at T+h) to 1e-9 for
    /// every test customer and horizons 0 to 25.
    fn predicts_as(p: &DynParams, g: &TimeGrid, m: &dyn RfmModel, label: &str) {
        for c in customers() {
            for h in [0.0, 0.3, 1.0, 7.5, 25.0] {
                let d = p.predict(g, &c, h).unwrap();
                let RfmRow { x, t_x, t } = c.rfm;
                let (pa, ce, pah) = (
                    m.p_alive(x, t_x, t),
                    m.conditional_expected_purchases(h, x, t_x, t),
                    m.p_alive_at(h, x, t_x, t),
                );
                assert!(
                    close(d.p_alive, pa, 1e-9),
                    "{label} {c:?} {h}: {d:?} vs {pa}"
                );
                assert!(
                    close(d.expected_purchases, ce, 1e-9),
                    "{label} {c:?} {h}: {d:?} vs {ce}"
                );
                assert!(
                    close(d.p_alive_at_horizon, pah, 1e-9),
                    "{label} {c:?} {h}: {d:?} vs {pah}"
                );
            }
        }
    }

    /// γ = 0: Pareto/NBD's P(alive), conditional expectation (eq. 10) and P(alive at T+h),
    /// whatever the covariates do.
    #[test]
    fn zero_coefficients_predict_as_pareto_nbd() {
        let g = grid(60, |k| ((k as f64 * 0.4).sin(), f64::from(k > 12)));
        let p = DynParams {
            r: 0.55,
            alpha: 10.6,
            s: 0.61,
            beta: 11.7,
            gamma_trans: vec![0.0],
            gamma_life: vec![0.0],
        };
        let q = ParetoNbdParams {
            r: 0.55,
            alpha: 10.6,
            s: 0.61,
            beta: 11.7,
        };
        predicts_as(&p, &g, &q, "");
    }

    /// Pareto/NBD with shape `s` and one covariate on each process, as a dynamic model (one grid
    /// column per process) and as the static covariate model's customer with covariates
    /// (zt, zl).
    fn with_static_twin(s: f64, zt: f64, zl: f64) -> (DynParams, Individual) {
        let theta = [0.55, 10.6, s, 11.7, 0.4, -0.3];
        let fixed = CovariateParams::from_theta(
            CovariateModel::ParetoNbd,
            CovariateSpec {
                trans: vec![0],
                life: vec![1],
                ..CovariateSpec::default()
            },
            &theta,
        )
        .customer(&[zt, zl]);
        (DynParams::from_theta(&theta, 1), fixed)
    }

    /// Covariates constant in time: the static covariate Pareto/NBD's predictions
    /// (`covariates::CovariateParams`, each customer a Pareto/NBD with α e^{−γ_trans z} and
    /// β e^{−γ_life z}), for s below, at and above 1.
    #[test]
    fn constant_covariates_predict_as_the_static_model() {
        let (zt, zl) = (0.8, -0.5);
        let g = grid(60, |_| (zt, zl));
        for s in [0.61, 1.0, 1.0 + 1e-12, 2.7] {
            let (dynamic, fixed) = with_static_twin(s, zt, zl);
            predicts_as(&dynamic, &g, fixed.model(), &format!("s {s}"));
        }
    }

    /// A promotion in the window raises the expected purchases by its factor over its share of
    /// the window (here exactly, as nobody drops out: s tiny, β huge).
    #[test]
    fn a_promotion_in_the_window_counts_in_its_periods() {
        let g = grid(60, |k| (f64::from((40..45).contains(&k)), 0.0));
        let p = DynParams::from_theta(&[1.0, 2.0, 1e-9, 1e12, 0.5, 0.0], 1);
        let c = DynCustomer {
            birth: 10.0,
            rfm: RfmRow {
                x: 3.0,
                t_x: 20.0,
                t: 25.0,
            },
        };
        // Window (35, 55]: 5 promotion periods of 20.
        let d = p.predict(&g, &c, 20.0).unwrap();
        let rate = (1.0 + 3.0) / (2.0 + 25.0);
        let want = d.p_alive * rate * (15.0 + 5.0 * 0.5_f64.exp());
        assert!(close(d.expected_purchases, want, 1e-9), "{d:?} vs {want}");
    }

    #[test]
    fn windows_past_the_grid_are_rejected() {
        let g = grid(40, |_| (0.0, 0.0));
        let p = DynParams::from_theta(&[0.55, 10.6, 0.61, 11.7, 0.0, 0.0], 1);
        let c = customers()[1];
        // Observed to 30, the grid ends at 40.
        assert!(p.predict(&g, &c, 10.0).is_ok());
        let err = p.predict(&g, &c, 10.5).unwrap_err().to_string();
        assert!(err.contains("outside the covariate grid"), "{err}");
        let scored = p.score(&g, &customers(), 10.5, None);
        assert!(scored.is_err());
    }

    /// Batch scoring equals one by one, and its intervals bracket the point.
    #[test]
    fn score_equals_predict_and_brackets_the_point() {
        let g = grid(60, |k| ((k as f64 * 0.4).sin(), f64::from(k > 12)));
        let p = DynParams::from_theta(&[0.55, 10.6, 0.61, 11.7, 0.3, 0.4], 1);
        let mut cs = customers();
        cs.push(cs[1]);
        let cov: Vec<Vec<f64>> = (0..6)
            .map(|i| (0..6).map(|j| if i == j { 0.01 } else { 0.0 }).collect())
            .collect();
        let scored = p.score(&g, &cs, 20.0, Some((&cov, 1.96))).unwrap();
        assert_eq!(scored.len(), cs.len());
        for (c, s) in cs.iter().zip(&scored) {
            let d = p.predict(&g, c, 20.0).unwrap();
            assert_eq!(s.p_alive.value, d.p_alive);
            assert_eq!(s.expected_purchases.value, d.expected_purchases);
            assert_eq!(s.p_alive_at_horizon, d.p_alive_at_horizon);
            let e = s.expected_purchases;
            assert!(e.lower < e.value && e.value < e.upper, "{e:?}");
            let a = s.p_alive;
            assert!(
                a.lower <= a.value && a.value <= a.upper && a.upper <= 1.0,
                "{a:?}"
            );
        }
        assert_eq!(scored[1], scored[4]);
    }

    /// DET walks the grid once for all K period ends: equal to the sum of
    /// [`DynParams::predict`]'s expected purchases period by period, each from its own walk,
    /// discounted per period; one undiscounted period is the expected purchases.
    #[test]
    fn det_is_the_discounted_sum_of_each_periods_purchases() {
        let g = grid(60, |k| ((k as f64 * 0.4).sin(), f64::from(k > 12)));
        let p = DynParams::from_theta(&[0.55, 10.6, 0.61, 11.7, 0.3, 0.4], 1);
        for c in customers() {
            for (periods, len, d) in [(1, 20.0, 0.0), (8, 2.5, 0.02), (25, 1.0, 0.1)] {
                let cfg = ClvConfig::new(periods, len, d).unwrap();
                let det = p.discounted_expected_purchases(&g, &c, &cfg).unwrap();
                let mut want = 0.0;
                let mut previous = 0.0;
                for k in 1..=periods {
                    let e = p
                        .predict(&g, &c, f64::from(k) * len)
                        .unwrap()
                        .expected_purchases;
                    want += (e - previous) / (1.0 + d).powi(k as i32);
                    previous = e;
                }
                assert!(close(det, want, 1e-12), "{c:?} {periods}: {det} vs {want}");
                assert!(det > 0.0);
            }
        }
        // Past the grid: an error, as for the other predictions.
        let cfg = ClvConfig::new(11, 1.0, 0.0).unwrap();
        assert!(p
            .discounted_expected_purchases(&g, &customers()[0], &cfg)
            .is_ok());
        let cfg = ClvConfig::new(31, 1.0, 0.0).unwrap();
        assert!(p
            .discounted_expected_purchases(&g, &customers()[0], &cfg)
            .is_err());
    }

    /// Covariates constant in time: the static covariate Pareto/NBD's DET
    /// ([`crate::clv::discounted_expected_purchases`] of the customer's own model).
    #[test]
    fn constant_covariates_discount_as_the_static_model() {
        let (zt, zl) = (0.8, -0.5);
        let g = grid(60, |_| (zt, zl));
        let cfg = ClvConfig::new(10, 2.5, 0.03).unwrap();
        for s in [0.61, 1.0, 2.7] {
            let (dynamic, fixed) = with_static_twin(s, zt, zl);
            for c in customers() {
                let a = dynamic.discounted_expected_purchases(&g, &c, &cfg).unwrap();
                let b =
                    crate::clv::discounted_expected_purchases(fixed.model(), &c.rfm, &cfg).unwrap();
                assert!(close(a, b, 1e-9), "s {s} {c:?}: {a} vs {b}");
            }
        }
    }

    /// Batch DET equals one by one, and its interval brackets the point.
    #[test]
    fn score_det_equals_one_by_one_and_brackets_the_point() {
        let g = grid(60, |k| ((k as f64 * 0.4).sin(), f64::from(k > 12)));
        let p = DynParams::from_theta(&[0.55, 10.6, 0.61, 11.7, 0.3, 0.4], 1);
        let cfg = ClvConfig::new(4, 5.0, 0.05).unwrap();
        let mut cs = customers();
        cs.push(cs[2]);
        let cov: Vec<Vec<f64>> = (0..6)
            .map(|i| (0..6).map(|j| if i == j { 0.01 } else { 0.0 }).collect())
            .collect();
        let scored = p.score_det(&g, &cs, &cfg, Some((&cov, 1.96))).unwrap();
        let points = p.score_det(&g, &cs, &cfg, None).unwrap();
        for ((c, s), pt) in cs.iter().zip(&scored).zip(&points) {
            let d = p.discounted_expected_purchases(&g, c, &cfg).unwrap();
            assert_eq!(s.value, d);
            assert_eq!(pt.value, d);
            assert!(pt.lower.is_nan());
            assert!(s.lower < s.value && s.value < s.upper, "{s:?}");
        }
        assert_eq!(scored[2], scored[4]);
        let short = ClvConfig::new(40, 1.0, 0.0).unwrap();
        assert!(p.score_det(&g, &cs, &short, None).is_err());
    }

    #[test]
    fn rows_outside_the_grid_are_rejected() {
        let g = grid(10, |_| (0.0, 0.0));
        let err = DynLikelihood::new(g, rows(), &["a".into()], &["b".into()]);
        assert!(err.is_err());
    }
}
