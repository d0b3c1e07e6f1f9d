//! Maximum-likelihood fitting shared by every model.
//!
//! Parameters are optimised as φ = ln θ, so every θ stays positive without box constraints.
//! The optimiser is argmin's L-BFGS (More–Thuente line search) on the mean negative
//! log-likelihood — or, for models whose analytic Hessian costs about one gradient
//! ([`Likelihood::newton_first`]), Newton's method first, L-BFGS taking over where it fails;
//! when L-BFGS fails from a start, Nelder–Mead takes over from that start and L-BFGS polishes
//! its answer. Several starts are tried and the best is kept.
//! Standard errors come from the observed information (the Hessian of the log-likelihood at the
//! optimum — analytic where the model provides it, else by central differences of the gradient
//! in φ — mapped to θ by the delta method).

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;

/// A log-likelihood over positive parameters θ, with data bound in.
pub trait Likelihood: Sync {
    /// The model's own parameter names in the papers' notation, in order.
    fn names(&self) -> &'static [&'static str];
    /// Every parameter's name, in order: [`Likelihood::names`] and then, for models with
    /// regression coefficients, theirs (the default adds none).
    fn param_names(&self) -> Vec<String> {
        self.names().iter().map(|n| n.to_string()).collect()
    }
    /// How many of the parameters, the last ones, are real-valued (regression coefficients,
    /// optimised as they are); the others are positive and optimised on ln θ. Default 0.
    fn real_params(&self) -> usize {
        0
    }
    /// Total (weighted) log-likelihood at θ. May return NaN or −∞ where undefined.
    fn log_likelihood(&self, theta: &[f64]) -> f64;
    /// Log-likelihood and its gradient with respect to θ. The default uses central
    /// differences; models override it with analytic derivatives where they have them.
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let f = self.log_likelihood(theta);
        (f, numeric_gradient(|t| self.log_likelihood(t), theta))
    }
    /// Whether [`Likelihood::value_and_gradient`] is analytic (cheap): then the optimiser asks
    /// for value and gradient together at every point it tries.
    fn has_analytic_gradient(&self) -> bool {
        false
    }
    /// The Hessian of the log-likelihood in θ (row-major, k × k), for models that have it in
    /// closed form; `None` (the default) and [`observed_covariance`] differentiates the
    /// gradient numerically instead.
    fn hessian(&self, theta: &[f64]) -> Option<Vec<Vec<f64>>> {
        let _ = theta;
        None
    }
    /// Whether [`Likelihood::hessian`] is analytic and costs about one gradient: then every
    /// start is fitted by Newton's method first ([`maximize`]), L-BFGS taking over where it
    /// fails. Default false.
    fn newton_first(&self) -> bool {
        false
    }
    /// Number of observations (customers) for AIC/BIC and scaling.
    fn observations(&self) -> f64;
    /// Starting points for the optimiser (θ, all positive). At least one.
    fn starts(&self) -> Vec<Vec<f64>>;
}

/// Central-difference gradient in θ with steps relative to each θ_i (10⁻⁶ |θ_i|, at least
/// 10⁻⁷ so a coefficient at 0 gets a usable step, and at most half of a nonzero |θ_i| so a
/// positive parameter stays positive).
pub fn numeric_gradient(f: impl Fn(&[f64]) -> f64, theta: &[f64]) -> Vec<f64> {
    let mut t = theta.to_vec();
    (0..theta.len())
        .map(|i| {
            let a = theta[i].abs();
            let h = 1e-6 * a.max(0.1);
            let h = if a > 0.0 { h.min(0.5 * a) } else { h };
            t[i] = theta[i] + h;
            let up = f(&t);
            t[i] = theta[i] - h;
            let down = f(&t);
            t[i] = theta[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// The optimiser's coordinates: φ_i = ln θ_i for the first `positive` parameters, φ_i = θ_i
/// for the real-valued rest.
#[derive(Debug, Clone, Copy)]
struct Coords {
    positive: usize,
}

impl Coords {
    fn of<L: Likelihood + ?Sized>(lik: &L) -> Coords {
        let k = lik.param_names().len();
        Coords {
            positive: k.saturating_sub(lik.real_params()),
        }
    }
    fn theta(&self, phi: &[f64]) -> Vec<f64> {
        phi.iter()
            .enumerate()
            .map(|(i, p)| if i < self.positive { p.exp() } else { *p })
            .collect()
    }
    fn phi(&self, theta: &[f64]) -> Vec<f64> {
        theta
            .iter()
            .enumerate()
            .map(|(i, t)| if i < self.positive { t.ln() } else { *t })
            .collect()
    }
    /// dθ_i/dφ_i: θ_i for a positive parameter, 1 for a real one.
    fn jacobian(&self, theta: &[f64]) -> Vec<f64> {
        theta
            .iter()
            .enumerate()
            .map(|(i, t)| if i < self.positive { *t } else { 1.0 })
            .collect()
    }
    /// Whether θ is a valid start: finite, and positive where it must be.
    fn valid(&self, theta: &[f64]) -> bool {
        theta
            .iter()
            .enumerate()
            .all(|(i, v)| v.is_finite() && (i >= self.positive || *v > 0.0))
    }
}

/// Options for [`maximize`].
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Maximum L-BFGS iterations per start.
    pub max_iters: u64,
    /// Stop when the gradient of the mean log-likelihood in φ = ln θ is below this.
    pub grad_tol: f64,
    /// Extra starting points (θ) tried before the model's own.
    pub extra_starts: Vec<Vec<f64>>,
    /// Try only `extra_starts` (when there are any), not the model's own starts.
    pub only_extra_starts: bool,
    /// Threads for the starts: 0 = one per core, 1 = this thread only.
    pub threads: usize,
    /// Compute the observed-information covariance and standard errors (else NaN / `None`).
    pub covariance: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            max_iters: 500,
            grad_tol: 1e-8,
            extra_starts: Vec::new(),
            only_extra_starts: false,
            threads: 0,
            covariance: true,
        }
    }
}

/// The result of a maximum-likelihood fit. `params` and `standard_errors` are in the order of
/// `names`. `covariance` is the inverse observed information (row-major, k × k), `None` when
/// the information matrix is not positive definite (then `standard_errors` are NaN).
#[derive(Debug, Clone)]
pub struct Fit {
    pub names: Vec<String>,
    pub params: Vec<f64>,
    pub standard_errors: Vec<f64>,
    pub covariance: Option<Vec<Vec<f64>>>,
    pub log_likelihood: f64,
    /// Number of observations (customers, or weighted count).
    pub n: f64,
    pub aic: f64,
    pub bic: f64,
    pub converged: bool,
    /// Iterations (Newton or L-BFGS) of the winning start.
    pub iterations: u64,
    /// Euclidean norm of the gradient of the mean log-likelihood in φ at the optimum.
    pub gradient_norm: f64,
    /// Which optimiser produced the answer: "newton" (models with a cheap analytic Hessian,
    /// [`Likelihood::newton_first`]), "lbfgs", "nelder-mead+lbfgs" or "nelder-mead".
    pub method: &'static str,
    pub starts_tried: usize,
}

impl Fit {
    /// Parameter by name.
    pub fn param(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| *n == name)
            .map(|i| self.params[i])
    }
}

/// Why a fit could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("the optimiser found no finite log-likelihood from any start: {0}")]
    NoFiniteStart(String),
}

/// The optimiser's view: mean negative log-likelihood over φ = ln θ. With an analytic
/// gradient, value and gradient are computed together and the gradient is kept for the
/// optimiser's next question, which is nearly always about the same point.
struct Objective<'a, L: Likelihood + ?Sized> {
    lik: &'a L,
    scale: f64,
    coords: Coords,
    last: std::cell::RefCell<Option<(Vec<f64>, Vec<f64>)>>,
}

impl<'a, L: Likelihood + ?Sized> Objective<'a, L> {
    fn new(lik: &'a L, scale: f64) -> Self {
        Objective {
            lik,
            scale,
            coords: Coords::of(lik),
            last: std::cell::RefCell::new(None),
        }
    }
    fn cost_at(&self, phi: &[f64]) -> f64 {
        let theta = self.coords.theta(phi);
        let ll = if self.lik.has_analytic_gradient() {
            let (ll, g) = self.lik.value_and_gradient(&theta);
            *self.last.borrow_mut() = Some((phi.to_vec(), self.to_phi_gradient(&g, &theta)));
            ll
        } else {
            self.lik.log_likelihood(&theta)
        };
        if ll.is_finite() {
            -ll * self.scale
        } else {
            f64::INFINITY
        }
    }
    fn to_phi_gradient(&self, g: &[f64], theta: &[f64]) -> Vec<f64> {
        g.iter()
            .zip(self.coords.jacobian(theta))
            .map(|(gi, ji)| -gi * ji * self.scale)
            .collect()
    }
    fn grad_at(&self, phi: &[f64]) -> Vec<f64> {
        if let Some((p, g)) = self.last.borrow().as_ref() {
            if p.as_slice() == phi {
                return g.clone();
            }
        }
        let theta = self.coords.theta(phi);
        let (_, g) = self.lik.value_and_gradient(&theta);
        self.to_phi_gradient(&g, &theta)
    }
}

impl<L: Likelihood + ?Sized> CostFunction for Objective<'_, L> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.cost_at(p))
    }
}

impl<L: Likelihood + ?Sized> Gradient for Objective<'_, L> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.grad_at(p))
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

struct Candidate {
    phi: Vec<f64>,
    cost: f64,
    iterations: u64,
    method: &'static str,
    /// Log-likelihood and its gradient in θ at θ = exp(φ).
    ll: f64,
    grad: Vec<f64>,
}

/// A likelihood that remembers its last few evaluations (keyed by the bits of θ), so that the
/// checks made around one start — the first cost, the gradient and log-likelihood at the
/// answer — reuse the optimiser's own evaluations instead of repeating them.
struct Memo<'a, L: ?Sized> {
    lik: &'a L,
    seen: std::sync::Mutex<Vec<Seen>>,
}

/// One remembered evaluation: θ's bits, the log-likelihood and, if computed, the gradient.
type Seen = (Vec<u64>, f64, Option<Vec<f64>>);

impl<'a, L: Likelihood + ?Sized> Memo<'a, L> {
    const KEEP: usize = 4;

    fn new(lik: &'a L) -> Self {
        Memo {
            lik,
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn find(&self, theta: &[f64]) -> Option<(f64, Option<Vec<f64>>)> {
        let seen = self.seen.lock().ok()?;
        seen.iter()
            .find(|(k, _, _)| {
                k.len() == theta.len() && k.iter().zip(theta).all(|(a, b)| *a == b.to_bits())
            })
            .map(|(_, v, g)| (*v, g.clone()))
    }

    fn remember(&self, theta: &[f64], v: f64, g: Option<Vec<f64>>) {
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() == Self::KEEP {
                seen.remove(0);
            }
            seen.push((theta.iter().map(|t| t.to_bits()).collect(), v, g));
        }
    }
}

impl<L: Likelihood + ?Sized> Likelihood for Memo<'_, L> {
    fn names(&self) -> &'static [&'static str] {
        self.lik.names()
    }
    fn param_names(&self) -> Vec<String> {
        self.lik.param_names()
    }
    fn real_params(&self) -> usize {
        self.lik.real_params()
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        if let Some((v, _)) = self.find(theta) {
            return v;
        }
        let v = self.lik.log_likelihood(theta);
        self.remember(theta, v, None);
        v
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        if let Some((v, Some(g))) = self.find(theta) {
            return (v, g);
        }
        let (v, g) = self.lik.value_and_gradient(theta);
        self.remember(theta, v, Some(g.clone()));
        (v, g)
    }
    fn has_analytic_gradient(&self) -> bool {
        self.lik.has_analytic_gradient()
    }
    fn hessian(&self, theta: &[f64]) -> Option<Vec<Vec<f64>>> {
        self.lik.hessian(theta)
    }
    fn newton_first(&self) -> bool {
        self.lik.newton_first()
    }
    fn observations(&self) -> f64 {
        self.lik.observations()
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        self.lik.starts()
    }
}

fn run_lbfgs<L: Likelihood + ?Sized>(
    obj: &Objective<'_, L>,
    phi0: Vec<f64>,
    opts: &FitOptions,
) -> Option<(Vec<f64>, f64, u64)> {
    let ls = MoreThuenteLineSearch::new();
    let solver = LBFGS::new(ls, 10)
        .with_tolerance_grad(opts.grad_tol)
        .ok()?
        .with_tolerance_cost(1e-15)
        .ok()?;
    let res = Executor::new(Objective::new(obj.lik, obj.scale), solver)
        .configure(|s| s.param(phi0).max_iters(opts.max_iters))
        .run()
        .ok()?;
    let st = res.state();
    let p = st.get_best_param()?.clone();
    let c = st.get_best_cost();
    c.is_finite().then_some((p, c, st.get_iter()))
}

/// Newton's method on the log-likelihood in φ from `phi0`, with a backtracking (Armijo) line
/// search: the step solves (−H_φ + λI) Δ = ∇_φ ll, H_φ = D H_θ D + diag(θ ∘ ∇_θ ll) on the
/// positive parameters (D = dθ/dφ), from the model's analytic Hessian; λ = 0 where −H_φ is
/// positive definite (then it is Newton's step), else the smallest of 10⁻⁴, 10⁻³, … times its
/// largest diagonal entry that makes it so. The answer (φ, mean negative log-likelihood,
/// iterations) once the gradient of the mean log-likelihood in φ is below `opts.grad_tol`;
/// `None` — and L-BFGS takes over — where no step along Δ increases the log-likelihood or 100
/// iterations do not converge.
fn run_newton<L: Likelihood + ?Sized>(
    lik: &L,
    coords: Coords,
    scale: f64,
    phi0: Vec<f64>,
    opts: &FitOptions,
) -> Option<(Vec<f64>, f64, u64)> {
    let mut phi = phi0;
    let mut theta = coords.theta(&phi);
    let (mut ll, mut g) = lik.value_and_gradient(&theta);
    for it in 0..100u64 {
        if !ll.is_finite() || g.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let d = coords.jacobian(&theta);
        let g_phi: Vec<f64> = g.iter().zip(&d).map(|(gi, di)| gi * di).collect();
        if norm(&g_phi) * scale < opts.grad_tol {
            return Some((phi, -ll * scale, it));
        }
        let k = phi.len();
        // −H_φ, which must be positive definite for Δ to be an ascent direction.
        let mut neg = phi_hessian(coords, &theta, &g, &lik.hessian(&theta)?);
        neg.iter_mut().flatten().for_each(|v| *v = -*v);
        // Where −H_φ is not positive definite (far from the maximum), add λI until it is: a
        // step between Newton's and steepest ascent (Levenberg–Marquardt damping).
        let scale_h = (0..k)
            .map(|i| neg[i][i].abs())
            .fold(0.0, f64::max)
            .max(1e-300);
        let step = (0..16).find_map(|m| {
            let lambda = if m == 0 {
                0.0
            } else {
                scale_h * 1e-4 * 10f64.powi(m - 1)
            };
            let mut damped = neg.clone();
            for (i, row) in damped.iter_mut().enumerate() {
                row[i] += lambda;
            }
            cholesky_solve(&damped, &g_phi)
        })?;
        let slope: f64 = g_phi.iter().zip(&step).map(|(a, b)| a * b).sum();
        let mut t = 1.0;
        let accepted = loop {
            let trial: Vec<f64> = phi.iter().zip(&step).map(|(p, s)| p + t * s).collect();
            let trial_theta = coords.theta(&trial);
            if coords.valid(&trial_theta) {
                let (v, gv) = lik.value_and_gradient(&trial_theta);
                if v.is_finite() && v >= ll + 1e-4 * t * slope {
                    break Some((trial, trial_theta, v, gv));
                }
            }
            t *= 0.5;
            if t < 1e-10 {
                break None;
            }
        };
        let (p, th, v, gv) = accepted?;
        phi = p;
        theta = th;
        ll = v;
        g = gv;
    }
    None
}

/// Solve A x = b for a symmetric positive-definite A by Cholesky; `None` when A is not
/// (numerically) positive definite.
fn cholesky_solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    cholesky(a).map(|l| solve_lower(&l, b))
}

fn run_nelder_mead<L: Likelihood + ?Sized>(
    obj: &Objective<'_, L>,
    phi0: &[f64],
) -> Option<Vec<f64>> {
    let k = phi0.len();
    let mut simplex = vec![phi0.to_vec()];
    for i in 0..k {
        let mut v = phi0.to_vec();
        v[i] += 0.5;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-12).ok()?;
    let res = Executor::new(Objective::new(obj.lik, obj.scale), solver)
        .configure(|s| s.max_iters(4000))
        .run()
        .ok()?;
    let st = res.state();
    let p = st.get_best_param()?.clone();
    st.get_best_cost().is_finite().then_some(p)
}

/// Maximise `lik` from every start; returns the best fit with standard errors.
pub fn maximize<L: Likelihood + ?Sized>(lik: &L, opts: &FitOptions) -> Result<Fit, FitError> {
    let n = lik.observations();
    let obj = Objective::new(lik, 1.0 / n.max(1.0));
    let mut starts = opts.extra_starts.clone();
    if !opts.only_extra_starts || starts.is_empty() {
        starts.extend(lik.starts());
    }
    let coords = Coords::of(lik);
    let n_params = lik.param_names().len();
    let valid: Vec<&Vec<f64>> = starts
        .iter()
        .filter(|s| s.len() == n_params && coords.valid(s))
        .collect();
    let tried = valid.len();
    // Starts are independent: run them on as many threads as there are cores, then keep the
    // best (ties go to the earlier start, so the answer does not depend on scheduling).
    let threads = match opts.threads {
        0 => crate::cores(),
        t => t,
    }
    .min(valid.len().max(1));
    let run_start = |s: &Vec<f64>| -> Option<Candidate> {
        let memo = Memo::new(lik);
        let obj = Objective::new(&memo, 1.0 / n.max(1.0));
        let phi0 = coords.phi(s);
        if !obj.cost_at(&phi0).is_finite() {
            return None;
        }
        let newton = if lik.newton_first() {
            run_newton(&memo, coords, obj.scale, phi0.clone(), opts)
        } else {
            None
        };
        let lbfgs = || match run_lbfgs(&obj, phi0.clone(), opts) {
            Some((phi, cost, it)) if norm(&obj.grad_at(&phi)) < 1e-5 => Some((phi, cost, it)),
            _ => None,
        };
        let (phi, cost, iterations, method) = match newton
            .map(|r| (r, "newton"))
            .or_else(|| lbfgs().map(|r| (r, "lbfgs")))
        {
            Some(((phi, cost, it), method)) => (phi, cost, it, method),
            None => {
                let nm = run_nelder_mead(&obj, &phi0)?;
                match run_lbfgs(&obj, nm.clone(), opts) {
                    Some((phi, cost, it)) => (phi, cost, it, "nelder-mead+lbfgs"),
                    None => (nm.clone(), obj.cost_at(&nm), 0, "nelder-mead"),
                }
            }
        };
        let theta = coords.theta(&phi);
        let (_, grad) = memo.value_and_gradient(&theta);
        let ll = memo.log_likelihood(&theta);
        Some(Candidate {
            phi,
            cost,
            iterations,
            method,
            ll,
            grad,
        })
    };
    let candidates: Vec<Option<Candidate>> = if threads <= 1 {
        valid.iter().map(|s| run_start(s)).collect()
    } else {
        let chunk = valid.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = valid
                .chunks(chunk)
                .map(|part| scope.spawn(|| part.iter().map(|s| run_start(s)).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    let mut best: Option<Candidate> = None;
    for cand in candidates.into_iter().flatten() {
        if best.as_ref().is_none_or(|b| cand.cost < b.cost) {
            best = Some(cand);
        }
    }
    let best = best.ok_or_else(|| {
        FitError::NoFiniteStart(format!("{} starting points tried", starts.len()))
    })?;
    let theta = coords.theta(&best.phi);
    let gradient_norm = norm(&obj.to_phi_gradient(&best.grad, &theta));
    let ll = best.ll;
    let k = theta.len() as f64;
    let covariance = if opts.covariance {
        covariance_at(lik, &theta, &best.grad)
    } else {
        None
    };
    let standard_errors = match &covariance {
        Some(c) => (0..theta.len()).map(|i| c[i][i].max(0.0).sqrt()).collect(),
        None => vec![f64::NAN; theta.len()],
    };
    Ok(Fit {
        names: lik.param_names(),
        params: theta,
        standard_errors,
        covariance,
        log_likelihood: ll,
        n,
        aic: 2.0 * k - 2.0 * ll,
        bic: k * n.ln() - 2.0 * ll,
        converged: ll.is_finite() && gradient_norm < 1e-5,
        iterations: best.iterations,
        gradient_norm,
        method: best.method,
        starts_tried: tried,
    })
}

/// Inverse observed information in θ, from the Hessian in φ (φ = ln θ for positive
/// parameters, θ itself for real ones): Cov(θ) = D H_φ⁻¹ D with D = diag(dθ/dφ).
/// H_φ = D H_θ D + diag(∂²θ/∂φ² ∘ ∇_θ ll) from the model's analytic Hessian when it has one
/// ([`Likelihood::hessian`]), else by central differences of the gradient
/// ([`numeric_observed_covariance`]).
pub fn observed_covariance<L: Likelihood + ?Sized>(
    lik: &L,
    theta: &[f64],
) -> Option<Vec<Vec<f64>>> {
    let (_, g) = lik.value_and_gradient(theta);
    covariance_at(lik, theta, &g)
}

/// [`observed_covariance`] given the gradient of the log-likelihood at θ.
fn covariance_at<L: Likelihood + ?Sized>(
    lik: &L,
    theta: &[f64],
    g: &[f64],
) -> Option<Vec<Vec<f64>>> {
    let Some(h_theta) = lik.hessian(theta) else {
        return numeric_observed_covariance(lik, theta);
    };
    let coords = Coords::of(lik);
    let hess = phi_hessian(coords, theta, g, &h_theta);
    covariance_from_phi_hessian(&hess, &coords.jacobian(theta))
}

/// The Hessian of the log-likelihood in φ from its gradient `g` and Hessian `h_theta` in θ:
/// H_φ = D H_θ D + diag(∂²θ/∂φ² ∘ g), D = diag(dθ/dφ).
fn phi_hessian(coords: Coords, theta: &[f64], g: &[f64], h_theta: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let d = coords.jacobian(theta);
    let k = theta.len();
    (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    // ∂²θ/∂φ² is θ for a positive parameter, 0 for a real one.
                    let diag = if i == j && i < coords.positive {
                        theta[i] * g[i]
                    } else {
                        0.0
                    };
                    d[i] * h_theta[i][j] * d[j] + diag
                })
                .collect()
        })
        .collect()
}

/// [`observed_covariance`] with the Hessian in φ by central differences of the gradient in φ
/// (the gradient term vanishes at the optimum), whatever the model provides.
pub fn numeric_observed_covariance<L: Likelihood + ?Sized>(
    lik: &L,
    theta: &[f64],
) -> Option<Vec<Vec<f64>>> {
    let coords = Coords::of(lik);
    let k = theta.len();
    let grad_phi = |phi: &[f64]| -> Vec<f64> {
        let t = coords.theta(phi);
        let (_, g) = lik.value_and_gradient(&t);
        g.iter()
            .zip(coords.jacobian(&t))
            .map(|(gi, di)| gi * di)
            .collect()
    };
    let phi = coords.phi(theta);
    let h = 1e-4;
    let mut hess = vec![vec![0.0; k]; k];
    for j in 0..k {
        let mut up = phi.clone();
        up[j] += h;
        let mut down = phi.clone();
        down[j] -= h;
        let gu = grad_phi(&up);
        let gd = grad_phi(&down);
        for i in 0..k {
            hess[i][j] = (gu[i] - gd[i]) / (2.0 * h);
        }
    }
    covariance_from_phi_hessian(&hess, &coords.jacobian(theta))
}

/// Cov(θ) = D (−H_φ)⁻¹ D from the Hessian in φ (symmetrised) and D = diag(dθ/dφ), `None`
/// unless −H_φ is positive definite.
fn covariance_from_phi_hessian(hess: &[Vec<f64>], d: &[f64]) -> Option<Vec<Vec<f64>>> {
    let k = d.len();
    // Observed information in φ: −H, symmetrised.
    let mut info = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..k {
            info[i][j] = -0.5 * (hess[i][j] + hess[j][i]);
        }
    }
    let inv = invert_spd(&info)?;
    Some(
        (0..k)
            .map(|i| (0..k).map(|j| d[i] * inv[i][j] * d[j]).collect())
            .collect(),
    )
}

/// Inverse of a symmetric positive-definite matrix by Cholesky; `None` if not positive definite.
pub fn invert_spd(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let l = cholesky(a)?;
    let k = a.len();
    // inv = L⁻ᵀ L⁻¹; solve column by column.
    let mut inv = vec![vec![0.0; k]; k];
    for c in 0..k {
        let unit: Vec<f64> = (0..k).map(|i| if i == c { 1.0 } else { 0.0 }).collect();
        for (i, x) in solve_lower(&l, &unit).into_iter().enumerate() {
            inv[i][c] = x;
        }
    }
    Some(inv)
}

/// The lower-triangular L with A = L Lᵀ; `None` if A is not (numerically) positive definite.
fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = a.len();
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let mut s = a[i][j];
            for m in 0..j {
                s -= l[i][m] * l[j][m];
            }
            if i == j {
                if !(s > 0.0) || !s.is_finite() {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

/// x with L Lᵀ x = b, by forward then back substitution.
fn solve_lower(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let k = b.len();
    let mut y = vec![0.0; k];
    for i in 0..k {
        let mut s = b[i];
        for m in 0..i {
            s -= l[i][m] * y[m];
        }
        y[i] = s / l[i][i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = y[i];
        for m in i + 1..k {
            s -= l[m][i] * x[m];
        }
        x[i] = s / l[i][i];
    }
    x
}

/// The scale on which a delta-method interval is built, so it respects the quantity's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Unbounded quantity: θ̂ ± z·se.
    Linear,
    /// Positive quantity: interval on ln, mapped back (always > 0).
    Log,
    /// Probability: interval on logit, mapped back (always in [0, 1]).
    Logit,
}

/// A point estimate with a delta-method standard error and a two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub se: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Delta-method interval for g(θ̂): se² = ∇g' Cov ∇g (∇g by central differences), interval
/// built on `scale` at normal quantile `z` (1.959964 for 95%).
pub fn delta_method(
    g: impl Fn(&[f64]) -> f64,
    theta: &[f64],
    cov: &[Vec<f64>],
    scale: Scale,
    z: f64,
) -> Estimate {
    let value = g(theta);
    let grad = numeric_gradient(&g, theta);
    let mut var = 0.0;
    for i in 0..theta.len() {
        for j in 0..theta.len() {
            var += grad[i] * cov[i][j] * grad[j];
        }
    }
    let se = var.max(0.0).sqrt();
    let (lower, upper) = match scale {
        Scale::Linear => (value - z * se, value + z * se),
        Scale::Log if value > 0.0 => {
            let s = se / value;
            (value * (-z * s).exp(), value * (z * s).exp())
        }
        Scale::Logit if value > 0.0 && value < 1.0 => {
            let s = se / (value * (1.0 - value));
            let l = (value / (1.0 - value)).ln();
            let inv = |u: f64| 1.0 / (1.0 + (-u).exp());
            (inv(l - z * s), inv(l + z * s))
        }
        _ => (value, value),
    };
    Estimate {
        value,
        se,
        lower,
        upper,
    }
}

/// Standard normal quantile for a two-sided interval at `level` (e.g. 0.95 → 1.959964).
/// Acklam's rational approximation refined by one Newton step (error < 1e-12).
pub fn normal_quantile_two_sided(level: f64) -> f64 {
    let p = 0.5 + level / 2.0;
    let x = acklam(p);
    // One Newton step on Φ(x) = p.
    let e = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

fn acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383577518672690e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let pl = 0.02425;
    if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -acklam(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exponential sample: ll(λ) = n ln λ − λ Σx, MLE 1/mean, se = λ/√n.
    struct Expo {
        xs: Vec<f64>,
    }
    impl Likelihood for Expo {
        fn names(&self) -> &'static [&'static str] {
            &["lambda"]
        }
        fn log_likelihood(&self, t: &[f64]) -> f64 {
            let n = self.xs.len() as f64;
            n * t[0].ln() - t[0] * self.xs.iter().sum::<f64>()
        }
        fn observations(&self) -> f64 {
            self.xs.len() as f64
        }
        fn starts(&self) -> Vec<Vec<f64>> {
            vec![vec![1.0]]
        }
    }

    #[test]
    fn fits_a_known_mle_with_its_standard_error() {
        let xs: Vec<f64> = (1..=400).map(|i| (i as f64) / 100.0).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let fit = maximize(&Expo { xs }, &FitOptions::default()).unwrap();
        let lam = 1.0 / mean;
        assert!((fit.params[0] - lam).abs() < 1e-8 * lam);
        assert!((fit.standard_errors[0] - lam / 20.0).abs() < 1e-5 * lam);
        assert!(fit.converged);
    }

    #[test]
    fn inverts_spd_and_rejects_indefinite() {
        let a = vec![vec![4.0, 1.0], vec![1.0, 3.0]];
        let inv = invert_spd(&a).unwrap();
        let det = 11.0;
        assert!((inv[0][0] - 3.0 / det).abs() < 1e-15);
        assert!((inv[0][1] + 1.0 / det).abs() < 1e-15);
        assert!(invert_spd(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
    }

    #[test]
    fn normal_quantiles() {
        assert!((normal_quantile_two_sided(0.95) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile_two_sided(0.99) - 2.575_829_303_548_901).abs() < 1e-12);
    }

    #[test]
    fn delta_method_respects_ranges() {
        let cov = vec![vec![0.04]];
        let e = delta_method(|t| t[0], &[0.9], &cov, Scale::Logit, 1.96);
        assert!(e.lower > 0.0 && e.upper < 1.0 && e.lower < 0.9 && e.upper > 0.9);
        let e = delta_method(|t| t[0] * 2.0, &[0.1], &cov, Scale::Log, 1.96);
        assert!((e.se - 0.4).abs() < 1e-8 && e.lower > 0.0);
    }
}
