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
//! Invariants: the grid must cover every customer's observation period; period k is
//! [origin + k·step, origin + (k+1)·step) in calendar time, in the data's time unit.

use crate::data::{validate_rfm, DataError, RfmRow};
use crate::fit::{maximize, Fit, FitOptions, Likelihood};
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
        row_value_grad(&self.theta(), self.gamma_trans.len(), grid, row, &rule).0
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

/// One customer's log-likelihood and its gradient in θ = (r, α, s, β, γ_trans, γ_life).
fn row_value_grad(
    theta: &[f64],
    pt: usize,
    grid: &TimeGrid,
    row: &DynRow,
    rule: &[(f64, f64)],
) -> (f64, Vec<f64>) {
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
    (v, g)
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
        if !(grid.step > 0.0) || grid.trans.len() != grid.life.len() || grid.trans.is_empty() {
            return Err(DataError::Degenerate(
                "the covariate grid needs a positive step and the same periods for both processes"
                    .into(),
            )
            .into());
        }
        if let Some(k) =
            (0..grid.periods()).find(|&k| grid.trans[k].len() != pt || grid.life[k].len() != pl)
        {
            return Err(DataError::Degenerate(format!(
                "period {k} of the covariate grid does not have {pt} purchase and {pl} lifetime covariates"
            ))
            .into());
        }
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
            row_value_grad(theta, self.pt, &self.grid, row, &self.rule)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariates::{CovariateLikelihood, CovariateModel, CovariateSpec, Design};
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

    #[test]
    fn rows_outside_the_grid_are_rejected() {
        let g = grid(10, |_| (0.0, 0.0));
        let err = DynLikelihood::new(g, rows(), &["a".into()], &["b".into()]);
        assert!(err.is_err());
    }
}
