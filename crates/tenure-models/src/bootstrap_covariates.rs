//! Parametric bootstrap of the covariate models ([`crate::covariates`]: BG/NBD, Pareto/NBD and
//! GGom/NBD with each process's scale multiplied by exp(γ'z), CLVTools' parameterisation).
//!
//! Replicate b draws a population from the fitted model in which customer i keeps her design
//! row z_i and her observation length T_i and is simulated with her own parameters (the fitted
//! base parameters scaled by exp(±γ'z_i), [`CovariateParams::individual`]); recencies go on
//! the data's time grid as in [`crate::bootstrap`]; then the replicate is refitted with the
//! same model, design, [`CovariateSpec`] (which columns enter which process, the constraints,
//! the L2 penalties) and the caller's optimiser settings. The replicates' parameter vectors
//! (base then coefficients, in the fit's order) give percentile intervals for the parameters,
//! for every customer's predictions (customer i under replicate b is her own model under
//! replicate b's parameters) and for the aggregate forecast.
//!
//! Invariants, as for the plain bootstrap: replicate b's seed is
//! `bootstrap::replicate_seed(seed, b)` and its result goes to slot b, so the replicates depend
//! on the seed and the inputs only, never on the number of threads; a replicate whose refit
//! fails is counted in [`Replicates::failed`], not redrawn. Customer i's simulated history
//! depends on (seed, b, i, her parameters, T_i) only (the simulator's per-customer streams).

use crate::bootstrap::{
    on_grid, parameter_spreads, replicate_seed, run_replicates, spread, BootstrapOptions,
    Replicates, Spread,
};
use crate::covariates::{
    fit_covariates, CovariateLikelihood, CovariateModel, CovariateParams, CovariateSpec, Design,
};
use crate::data::DataError;
use crate::fit::{maximize, Fit, FitOptions};
use crate::paretonbd::par_map;
use crate::simulate::{
    simulate_bgnbd_each, simulate_ggomnbd_each, simulate_paretonbd_each, SimulationError,
};
use crate::{ModelError, RfmRow};

/// Every customer's own parameters under `params`, in the design's row order (checked: the
/// coefficients match the spec, the spec's columns exist, every parameter is finite and > 0).
fn individuals(params: &CovariateParams, design: &Design) -> Result<Vec<Vec<f64>>, ModelError> {
    let spec = &params.spec;
    let p = design.encodings.len();
    let bad = |m: String| ModelError::from(DataError::Degenerate(m));
    if params.base.len() != params.model.k() {
        return Err(bad(format!(
            "{} base parameters for {}, which has {}",
            params.base.len(),
            params.model.name(),
            params.model.k()
        )));
    }
    let coefficients = spec.trans.len() + spec.life.len() + spec.constrained.len();
    if params.gamma.len() != coefficients {
        return Err(bad(format!(
            "{} coefficients for a spec with {coefficients}",
            params.gamma.len()
        )));
    }
    if let Some(j) = spec
        .trans
        .iter()
        .chain(&spec.life)
        .chain(&spec.constrained)
        .find(|j| **j >= p)
    {
        return Err(bad(format!(
            "covariate column {j} does not exist (the design has {p})"
        )));
    }
    if design.values.len() != design.rows * p {
        return Err(bad(format!(
            "the design has {} values for {} rows of {p} columns",
            design.values.len(),
            design.rows
        )));
    }
    (0..design.rows)
        .map(|i| {
            let ind = params.individual(design.row(i));
            if ind.iter().all(|v| v.is_finite() && *v > 0.0) {
                Ok(ind)
            } else {
                Err(bad(format!(
                    "customer {i}: her own parameters {ind:?} are not all positive and finite"
                )))
            }
        })
        .collect()
}

/// Customer i's history (calibration period only) from her own parameters `each[i]`.
fn simulate_each(
    model: CovariateModel,
    each: &[Vec<f64>],
    ages: &[f64],
    seed: u64,
) -> Result<Vec<RfmRow>, SimulationError> {
    let four = || -> Vec<[f64; 4]> { each.iter().map(|p| [p[0], p[1], p[2], p[3]]).collect() };
    let sim = match model {
        CovariateModel::BgNbd => simulate_bgnbd_each(&four(), ages, 0.0, seed)?,
        CovariateModel::ParetoNbd => simulate_paretonbd_each(&four(), ages, 0.0, seed)?,
        CovariateModel::GGomNbd => {
            let five: Vec<[f64; 5]> = each
                .iter()
                .map(|p| [p[0], p[1], p[2], p[3], p[4]])
                .collect();
            simulate_ggomnbd_each(&five, ages, 0.0, seed)?
        }
    };
    Ok(sim.into_iter().map(|c| c.row).collect())
}

/// A usable refit: converged, finite, every base parameter > 0 (what [`fit_covariates`]
/// accepts).
fn usable(fit: Fit, k: usize) -> Option<Vec<f64>> {
    let ok = fit.converged
        && fit.log_likelihood.is_finite()
        && fit.params.iter().all(|v| v.is_finite())
        && fit.params[..k].iter().all(|v| *v > 0.0);
    ok.then_some(fit.params)
}

/// One replicate: simulate from `each`, refit from the fitted parameters, else from
/// [`fit_covariates`]' own starts. `None` when both fail.
#[allow(clippy::too_many_arguments)]
fn one(
    fitted: &CovariateParams,
    theta: &[f64],
    each: &[Vec<f64>],
    design: &Design,
    ages: &[f64],
    fit: &FitOptions,
    o: &BootstrapOptions,
    b: usize,
) -> Option<Vec<f64>> {
    let model = fitted.model;
    let mut rows = simulate_each(model, each, ages, replicate_seed(o.seed, b)).ok()?;
    if let Some(g) = o.grid.filter(|g| *g > 0.0 && g.is_finite()) {
        on_grid(&mut rows, g);
    }
    let spec: &CovariateSpec = &fitted.spec;
    let lik = CovariateLikelihood::new(model, &rows, design, spec).ok()?;
    let from_fitted = FitOptions {
        extra_starts: vec![theta.to_vec()],
        only_extra_starts: true,
        threads: 1,
        covariance: false,
        ..fit.clone()
    };
    maximize(&lik, &from_fitted)
        .ok()
        .and_then(|f| usable(f, model.k()))
        .or_else(|| {
            // From the fitted parameters the optimiser may stall on an odd draw; the plain
            // model's estimate with every coefficient 0 (fit_covariates' start) then decides.
            let own = FitOptions {
                extra_starts: Vec::new(),
                only_extra_starts: false,
                threads: 1,
                covariance: false,
                ..fit.clone()
            };
            fit_covariates(model, &rows, design, spec, &own)
                .ok()
                .and_then(|f| usable(f.fit, model.k()))
        })
}

/// Draw and refit `o.replications` populations like the data from the fitted covariate model,
/// on `o.threads` threads. `design` holds every customer's row z_i and `ages` her T_i (one
/// entry per design row, in the same order); `fitted.spec` is the spec of the fit (its
/// constraints and L2 penalties are kept); `fit` the optimiser settings of the fit (its
/// `max_iters` and `grad_tol` are kept; each refit runs on one thread, without standard errors,
/// starting from `fitted`'s parameters, then from [`fit_covariates`]' starts if that fails).
/// `o.grid` puts simulated recencies on the data's time grid (1/7 for whole days in weeks).
///
/// Each replicate's parameters are base then coefficients, in the order of
/// [`crate::covariates::CovariateFit::fit`]'s names. `progress(done)` is called after each
/// replicate, from any thread.
///
/// Errors: ages and design of different lengths, no customers, a spec that does not fit the
/// design or the coefficients, a T that is not positive and finite, or a customer whose own
/// parameters are not all positive and finite.
pub fn replicate_covariates(
    fitted: &CovariateParams,
    design: &Design,
    ages: &[f64],
    fit: &FitOptions,
    o: &BootstrapOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Replicates, ModelError> {
    // The likelihood checks the spec against the design, the lengths and every T (x = 0 rows).
    let probe: Vec<RfmRow> = ages
        .iter()
        .map(|&t| RfmRow {
            x: 0.0,
            t_x: 0.0,
            t,
        })
        .collect();
    CovariateLikelihood::new(fitted.model, &probe, design, &fitted.spec)?;
    let each = individuals(fitted, design)?;
    let mut theta = fitted.base.clone();
    theta.extend(&fitted.gamma);
    Ok(run_replicates(o, progress, |b| {
        one(fitted, &theta, &each, design, ages, fit, o, b)
    }))
}

/// Per-parameter spreads of covariate replicates (base then coefficients).
pub fn covariate_parameter_spreads(
    r: &Replicates,
    fitted: &CovariateParams,
    level: f64,
) -> Vec<Spread> {
    parameter_spreads(r, fitted.base.len() + fitted.gamma.len(), level)
}

/// The bootstrap spreads of the predictions of a covariate model.
#[derive(Debug, Clone, PartialEq)]
pub struct CovariatePredictionSpreads {
    /// Per customer (design row order): P(alive) at T.
    pub p_alive: Vec<Spread>,
    /// Per customer: conditional expected repeat purchases in (T, T + horizon].
    pub expected: Vec<Spread>,
    /// The aggregate forecast: Σ_i of the customers' conditional expected purchases.
    pub total: Spread,
}

/// Spreads of every customer's P(alive) and conditional expected purchases in the next
/// `horizon`, and of their sum, over the replicates: customer i under replicate b is her own
/// model ([`CovariateParams::customer`] with design row i) under replicate b's parameters.
/// `fitted` gives the model and spec the replicates were made with; `rows` are the customers'
/// summaries in the design's row order. Customers are scored a block at a time (in parallel
/// within a block for long inputs), so memory stays at block × replicates; the result does
/// not depend on the number of threads.
///
/// Errors: `rows` and `design` of different lengths, a spec that does not fit the design, or
/// a replicate with the wrong number of parameters.
pub fn covariate_prediction_spreads(
    r: &Replicates,
    fitted: &CovariateParams,
    design: &Design,
    rows: &[RfmRow],
    horizon: f64,
    level: f64,
) -> Result<CovariatePredictionSpreads, ModelError> {
    const BLOCK: usize = 8192;
    let bad = |m: String| ModelError::from(DataError::Degenerate(m));
    if rows.len() != design.rows {
        return Err(bad(format!(
            "{} customers in the data but {} rows of covariates",
            rows.len(),
            design.rows
        )));
    }
    let k = fitted.base.len() + fitted.gamma.len();
    let models: Vec<CovariateParams> = r
        .params
        .iter()
        .map(|theta| {
            if theta.len() == k {
                Ok(CovariateParams::from_theta(
                    fitted.model,
                    fitted.spec.clone(),
                    theta,
                ))
            } else {
                Err(bad(format!(
                    "a replicate has {} parameters; the model has {k}",
                    theta.len()
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    // Checks the spec against the design (the replicates share `fitted`'s spec).
    individuals(fitted, design)?;
    let mut totals = vec![0.0; models.len()];
    let mut p_alive = Vec::with_capacity(rows.len());
    let mut expected = Vec::with_capacity(rows.len());
    let customers: Vec<usize> = (0..rows.len()).collect();
    for block in customers.chunks(BLOCK) {
        // scored[i][b]: customer block[i] under replicate b.
        let scored: Vec<Vec<(f64, f64)>> = par_map(block, |&i| {
            let z = design.row(i);
            let row = rows[i];
            models
                .iter()
                .map(|m| {
                    let c = m.customer(z);
                    let m = c.model();
                    (
                        m.p_alive(row.x, row.t_x, row.t),
                        m.conditional_expected_purchases(horizon, row.x, row.t_x, row.t),
                    )
                })
                .collect()
        });
        for s in &scored {
            for (t, (_, e)) in totals.iter_mut().zip(s) {
                *t += e;
            }
            let mut p: Vec<f64> = s.iter().map(|v| v.0).collect();
            let mut e: Vec<f64> = s.iter().map(|v| v.1).collect();
            p_alive.push(spread(&mut p, level));
            expected.push(spread(&mut e, level));
        }
    }
    Ok(CovariatePredictionSpreads {
        p_alive,
        expected,
        total: spread(&mut totals, level),
    })
}
