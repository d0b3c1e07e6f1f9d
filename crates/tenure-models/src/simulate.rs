//! Seeded simulation of customer bases from known parameters, for checking fits (parameter
//! recovery) and predictions (holdout counts, P(alive)) against the truth.
//!
//! Every customer makes a first purchase at time 0 and is observed until her own `T`; only
//! repeat purchases are counted, as in the papers. The continuous-time processes are drawn
//! in O(1) per customer, whatever the purchase rate: given N arrivals of a Poisson process in
//! (0, T], their times are N uniform order statistics, so the number of purchases and the
//! time of the last one are drawn directly rather than purchase by purchase.
//!
//! Determinism: customer `i` draws from her own generator, `StdRng::seed_from_u64` of a mix of
//! `seed`, the simulator and `i`. Hence (1) the same seed gives the same population;
//! (2) customer `i` does not depend on how many customers are simulated; (3) the holdout
//! variants give exactly the rows of the plain variants (holdout draws come after); and (4)
//! spends drawn with the same seed are independent of the purchases. Results are reproducible
//! for a given version of `rand`/`rand_distr` (`StdRng` may change between their versions).

use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Beta, Binomial, Exp1, Gamma, Geometric, Poisson};

use crate::data::{check_count, check_nonneg, DataError, RfmRow};

/// Why a population could not be simulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimulationError {
    #[error("parameter {name} = {value}: {reason}")]
    Parameter {
        name: &'static str,
        value: f64,
        reason: &'static str,
    },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("customer {row}: {reason}")]
    Numerical { row: usize, reason: String },
}

/// One simulated customer with what happened after the calibration period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulatedCustomer {
    /// Calibration summary: repeat purchases in (0, T], the last at t_x.
    pub row: RfmRow,
    /// Whether the customer is still alive at T (the truth behind P(alive)).
    pub alive: bool,
    /// Repeat purchases in the holdout period (T, T + horizon].
    pub holdout: f64,
    /// Whether the customer is still alive at T + horizon (the truth behind
    /// [`crate::RfmModel::p_alive_at`]).
    pub alive_at_end: bool,
}

/// One simulated subscriber of the sBG model: `tenure` periods observed; `churned` says whether
/// the subscription ended in period `tenure` (true) or is still running at the horizon (false,
/// right-censored, then `tenure` = horizon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbgCustomer {
    pub tenure: u32,
    pub churned: bool,
}

// Stream tags: each simulator draws from its own family of generators.
const STREAM_BGNBD: u64 = 0x6267_6e62;
const STREAM_MBGNBD: u64 = 0x6d62_676e;
const STREAM_PARETO: u64 = 0x7061_7265;
const STREAM_BGBB: u64 = 0x6267_6262;
const STREAM_SBG: u64 = 0x0073_6267;
const STREAM_SPEND: u64 = 0x7370_656e;
const STREAM_AGES: u64 = 0x6167_6573;
const STREAM_GGOM: u64 = 0x6767_6f6d;
const STREAM_PARETO_COR: u64 = 0x7063_6f72;
const STREAM_PARETO_DYN: u64 = 0x7064_796e;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of customer `i` in stream `stream`.
fn customer_rng(seed: u64, stream: u64, i: usize) -> StdRng {
    StdRng::seed_from_u64(splitmix64(splitmix64(seed ^ stream).wrapping_add(i as u64)))
}

fn positive(name: &'static str, value: f64) -> Result<f64, SimulationError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(SimulationError::Parameter {
            name,
            value,
            reason: "must be a positive finite number",
        })
    }
}

/// Gamma(shape, rate) as rand_distr's Gamma(shape, scale = 1/rate).
fn gamma_rate(
    shape_name: &'static str,
    shape: f64,
    rate_name: &'static str,
    rate: f64,
) -> Result<Gamma<f64>, SimulationError> {
    positive(shape_name, shape)?;
    positive(rate_name, rate)?;
    Gamma::new(shape, 1.0 / rate).map_err(|_| SimulationError::Parameter {
        name: rate_name,
        value: rate,
        reason: "too large: 1/rate underflows",
    })
}

fn beta(
    a_name: &'static str,
    a: f64,
    b_name: &'static str,
    b: f64,
) -> Result<Beta<f64>, SimulationError> {
    positive(a_name, a)?;
    positive(b_name, b)?;
    Beta::new(a, b).map_err(|_| SimulationError::Parameter {
        name: a_name,
        value: a,
        reason: "not a valid beta distribution parameter",
    })
}

fn check_ages(t: &[f64]) -> Result<(), SimulationError> {
    for (i, &ti) in t.iter().enumerate() {
        check_nonneg(i, "T", ti)?;
        if ti == 0.0 {
            return Err(DataError::Inconsistent {
                row: i,
                reason: "T = 0: a customer must be observed for some time".into(),
            }
            .into());
        }
    }
    Ok(())
}

fn check_horizon(horizon: f64) -> Result<(), SimulationError> {
    if horizon.is_finite() && horizon >= 0.0 {
        Ok(())
    } else {
        Err(SimulationError::Parameter {
            name: "horizon",
            value: horizon,
            reason: "must be a non-negative finite number",
        })
    }
}

/// Uniform on (0, 1]: never 0, so powers and logs of it stay finite and positive.
fn unit_open0(rng: &mut StdRng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// A Poisson count with the given mean (0 when the mean is 0).
fn poisson(rng: &mut StdRng, mean: f64, row: usize) -> Result<u64, SimulationError> {
    if mean == 0.0 {
        return Ok(0);
    }
    let d = Poisson::new(mean).map_err(|e| SimulationError::Numerical {
        row,
        reason: format!("cannot draw a Poisson count with mean {mean}: {e}"),
    })?;
    let n: f64 = d.sample(rng);
    Ok(n as u64)
}

fn geometric(rng: &mut StdRng, p: f64, row: usize) -> Result<u64, SimulationError> {
    let d = Geometric::new(p).map_err(|e| SimulationError::Numerical {
        row,
        reason: format!("cannot draw a geometric count with p = {p}: {e}"),
    })?;
    Ok(d.sample(rng))
}

fn binomial(rng: &mut StdRng, n: u64, p: f64, row: usize) -> Result<u64, SimulationError> {
    if n == 0 {
        return Ok(0);
    }
    let d = Binomial::new(n, p).map_err(|e| SimulationError::Numerical {
        row,
        reason: format!("cannot draw a binomial count with n = {n}, p = {p}: {e}"),
    })?;
    Ok(d.sample(rng))
}

/// Time of the k-th of n uniform arrivals on (0, end] (1 ≤ k ≤ n): end · U_(k:n), where
/// U_(k:n) ~ Beta(k, n − k + 1); for k = n this is end · U^(1/n). Kept in (0, end].
fn order_statistic(
    rng: &mut StdRng,
    k: u64,
    n: u64,
    end: f64,
    row: usize,
) -> Result<f64, SimulationError> {
    let u = if k == n {
        unit_open0(rng).powf(1.0 / n as f64)
    } else {
        let d =
            Beta::new(k as f64, (n - k + 1) as f64).map_err(|e| SimulationError::Numerical {
                row,
                reason: format!("cannot draw a uniform order statistic {k} of {n}: {e}"),
            })?;
        d.sample(rng)
    };
    Ok((end * u).clamp(f64::MIN_POSITIVE, end))
}

/// BG/NBD-type customer: Poisson(λ) purchases; she may make at most `max_repeat` repeat
/// purchases before dying right after the last of them (`u64::MAX`: never dies).
fn bg_customer(
    rng: &mut StdRng,
    lambda: f64,
    max_repeat: u64,
    t: f64,
    horizon: f64,
    row: usize,
) -> Result<SimulatedCustomer, SimulationError> {
    // Arrivals of the uninterrupted process in (0, T]; she makes the first min(N, D) of them.
    let n = poisson(rng, lambda * t, row)?;
    let x = n.min(max_repeat);
    let t_x = if x == 0 {
        0.0
    } else {
        order_statistic(rng, x, n, t, row)?
    };
    let alive = n < max_repeat;
    // Purchases of the uninterrupted process in the holdout; she dies after the one that
    // reaches max_repeat, so she is alive at the end when there are fewer than that.
    let (holdout, alive_at_end) = if alive && horizon > 0.0 {
        let m = poisson(rng, lambda * horizon, row)?;
        (m.min(max_repeat - n), m < max_repeat - n)
    } else {
        (0, alive)
    };
    Ok(SimulatedCustomer {
        row: RfmRow {
            x: x as f64,
            t_x,
            t,
        },
        alive,
        holdout: holdout as f64,
        alive_at_end,
    })
}

/// A customer who buys as a Poisson process of rate λ until her lifetime τ ends (Pareto/NBD,
/// GGom/NBD), observed to T with a holdout of `horizon` after it.
fn lifetime_customer(
    rng: &mut StdRng,
    lambda: f64,
    tau: f64,
    t: f64,
    horizon: f64,
    row: usize,
) -> Result<SimulatedCustomer, SimulationError> {
    let end = tau.min(t);
    let x = poisson(rng, lambda * end, row)?;
    let t_x = if x == 0 {
        0.0
    } else {
        order_statistic(rng, x, x, end, row)?
    };
    let alive = tau > t;
    let holdout = if alive && horizon > 0.0 {
        poisson(rng, lambda * (tau.min(t + horizon) - t), row)?
    } else {
        0
    };
    Ok(SimulatedCustomer {
        row: RfmRow {
            x: x as f64,
            t_x,
            t,
        },
        alive,
        holdout: holdout as f64,
        alive_at_end: tau > t + horizon,
    })
}

/// BG/NBD and MBG/NBD share everything but whether dropout can follow the first purchase.
#[allow(clippy::too_many_arguments)]
fn simulate_bg_family(
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    t: &[f64],
    horizon: f64,
    seed: u64,
    dropout_at_first: bool,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    let rate = gamma_rate("r", r, "alpha", alpha)?;
    let dropout = beta("a", a, "b", b)?;
    check_ages(t)?;
    check_horizon(horizon)?;
    let stream = if dropout_at_first {
        STREAM_MBGNBD
    } else {
        STREAM_BGNBD
    };
    t.iter()
        .enumerate()
        .map(|(i, &ti)| {
            let mut rng = customer_rng(seed, stream, i);
            bg_family_customer(&mut rng, &rate, &dropout, ti, horizon, i, dropout_at_first)
        })
        .collect()
}

/// One BG/NBD or MBG/NBD customer drawn from the given mixing distributions.
fn bg_family_customer(
    rng: &mut StdRng,
    rate: &Gamma<f64>,
    dropout: &Beta<f64>,
    t: f64,
    horizon: f64,
    row: usize,
    dropout_at_first: bool,
) -> Result<SimulatedCustomer, SimulationError> {
    let lambda = rate.sample(rng);
    let p = dropout.sample(rng);
    // Number of purchases survived before the one after which she drops out:
    // P(G = g) = p (1 − p)^g. BG/NBD counts only repeat purchases (die after repeat
    // purchase G + 1); MBG/NBD also the first (die after repeat purchase G, G = 0
    // meaning right after the first purchase).
    let g = geometric(rng, p, row)?;
    let max_repeat = if dropout_at_first {
        g
    } else {
        g.saturating_add(1)
    };
    bg_customer(rng, lambda, max_repeat, t, horizon, row)
}

/// [`simulate_bgnbd_holdout`] with parameters that differ by customer (covariate models):
/// customer `i` draws from BG/NBD with `params[i]` = (r, α, a, b). With the same parameters
/// for everyone it gives exactly [`simulate_bgnbd_holdout`]'s customers.
pub fn simulate_bgnbd_each(
    params: &[[f64; 4]],
    t: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    each(params, t, horizon, |i, [r, alpha, a, b], ti| {
        let rate = gamma_rate("r", r, "alpha", alpha)?;
        let dropout = beta("a", a, "b", b)?;
        let mut rng = customer_rng(seed, STREAM_BGNBD, i);
        bg_family_customer(&mut rng, &rate, &dropout, ti, horizon, i, false)
    })
}

/// [`simulate_paretonbd_holdout`] with parameters that differ by customer (covariate models):
/// customer `i` draws from Pareto/NBD with `params[i]` = (r, α, s, β). With the same
/// parameters for everyone it gives exactly [`simulate_paretonbd_holdout`]'s customers.
pub fn simulate_paretonbd_each(
    params: &[[f64; 4]],
    t: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    each(params, t, horizon, |i, [r, alpha, s, beta], ti| {
        let rate = gamma_rate("r", r, "alpha", alpha)?;
        let death = gamma_rate("s", s, "beta", beta)?;
        let mut rng = customer_rng(seed, STREAM_PARETO, i);
        pareto_customer(&mut rng, &rate, &death, ti, horizon, i)
    })
}

/// Draw a Pareto/NBD population whose purchase and dropout rates are correlated through a
/// Sarmanov density with coefficient ω (see [`crate::paretonbd_cor`]): (λ, μ) drawn from the
/// independent gammas and accepted with probability [1 + ω(e^{−λ} − L₁)(e^{−μ} − L₂)] / M,
/// M the largest value of that bracket (rejection sampling; at least half the draws are
/// accepted). Then as [`simulate_paretonbd_holdout`].
#[allow(clippy::too_many_arguments)]
pub fn simulate_paretonbd_correlated(
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    omega: f64,
    t: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    let rate = gamma_rate("r", r, "alpha", alpha)?;
    let death = gamma_rate("s", s, "beta", beta)?;
    check_ages(t)?;
    check_horizon(horizon)?;
    let (lo, hi) = crate::paretonbd_cor::omega_bounds(r, alpha, s, beta);
    if !(omega >= lo && omega <= hi) {
        return Err(SimulationError::Parameter {
            name: "omega",
            value: omega,
            reason: "outside the bounds that keep the Sarmanov density non-negative",
        });
    }
    let (l1, l2) = crate::paretonbd_cor::laplace(r, alpha, s, beta);
    // The largest value of the bracket: 1 + ω·(largest product) = 1 − ω/lo for ω ≥ 0, and
    // 1 + ω·(most negative product) = 1 − ω/hi for ω < 0 (the bounds are −1/max, 1/max).
    let top = if omega >= 0.0 {
        1.0 - omega / lo
    } else {
        1.0 - omega / hi
    };
    t.iter()
        .enumerate()
        .map(|(i, &ti)| {
            let mut rng = customer_rng(seed, STREAM_PARETO_COR, i);
            let (lambda, mu) = loop {
                let lambda = rate.sample(&mut rng);
                let mu = death.sample(&mut rng);
                let accept = (1.0 + omega * ((-lambda).exp() - l1) * ((-mu).exp() - l2)) / top;
                if rng.random::<f64>() < accept {
                    break (lambda, mu);
                }
            };
            let e: f64 = Exp1.sample(&mut rng);
            lifetime_customer(&mut rng, lambda, e / mu, ti, horizon, i)
        })
        .collect()
}

/// Draw a Pareto/NBD population with time-varying covariates (see
/// [`crate::paretonbd_dyncov`]): customer i is born at calendar time `births[i]` and observed
/// for `t[i]`; she buys at rate λ e^{γ_trans'z(u)} and dies at rate μ e^{γ_life'z(u)}. In the
/// customer's cumulative clocks A and B the processes are homogeneous, so her death is
/// B⁻¹(E/μ) and her purchases are A⁻¹ of uniform points in (0, A(end)], N ~ Poisson(λ A(end)).
/// Returns each customer's row (with the covariate sums at her repeat purchases) and whether
/// she is alive at T.
#[allow(clippy::too_many_arguments)]
pub fn simulate_paretonbd_dyncov(
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    gamma_trans: &[f64],
    gamma_life: &[f64],
    grid: &crate::paretonbd_dyncov::TimeGrid,
    births: &[f64],
    t: &[f64],
    seed: u64,
) -> Result<Vec<(crate::paretonbd_dyncov::DynRow, bool)>, SimulationError> {
    let rate = gamma_rate("r", r, "alpha", alpha)?;
    let death = gamma_rate("s", s, "beta", beta)?;
    check_ages(t)?;
    check_lengths(births.len(), t.len())?;
    births
        .iter()
        .zip(t)
        .enumerate()
        .map(|(i, (&birth, &ti))| {
            if birth < grid.origin || birth + ti > grid.end() {
                return Err(SimulationError::Numerical {
                    row: i,
                    reason: "the observation period is outside the covariate grid".into(),
                });
            }
            // The customer's pieces: (start τ, A at start, B at start, A-rate, B-rate, period).
            let mut pieces: Vec<(f64, f64, f64, f64, f64, usize)> = Vec::new();
            let (mut tau, mut a, mut b) = (0.0, 0.0, 0.0);
            while tau < ti {
                let p = grid.period(birth + tau);
                let end = (grid.origin + grid.step * (p + 1) as f64 - birth).min(ti);
                let end = if end <= tau { ti } else { end };
                let dot = |g: &[f64], z: &[f64]| g.iter().zip(z).map(|(g, z)| g * z).sum::<f64>();
                let (ct, cl) = (
                    dot(gamma_trans, &grid.trans[p]).exp(),
                    dot(gamma_life, &grid.life[p]).exp(),
                );
                pieces.push((tau, a, b, ct, cl, p));
                a += ct * (end - tau);
                b += cl * (end - tau);
                tau = end;
            }
            let (a_end, b_end) = (a, b);
            let mut rng = customer_rng(seed, STREAM_PARETO_DYN, i);
            let lambda = rate.sample(&mut rng);
            let mu = death.sample(&mut rng);
            let e: f64 = Exp1.sample(&mut rng);
            let hazard = e / mu;
            // τ where the clock (A or B, `which`) reaches `level`, and that piece.
            let inverse = |level: f64, which: usize| -> (f64, usize) {
                let k = pieces
                    .iter()
                    .rposition(|pc| {
                        if which == 0 {
                            pc.1 <= level
                        } else {
                            pc.2 <= level
                        }
                    })
                    .unwrap_or(0);
                let pc = pieces[k];
                let (start, c) = if which == 0 {
                    (pc.1, pc.3)
                } else {
                    (pc.2, pc.4)
                };
                (pc.0 + (level - start) / c, pc.5)
            };
            let alive = hazard >= b_end;
            let end = if alive {
                ti
            } else {
                inverse(hazard, 1).0.min(ti)
            };
            let a_at_end = if alive {
                a_end
            } else {
                let k = pieces.iter().rposition(|pc| pc.0 <= end).unwrap_or(0);
                pieces[k].1 + pieces[k].3 * (end - pieces[k].0)
            };
            let n = poisson(&mut rng, lambda * a_at_end, i)?;
            let mut sums = vec![0.0; gamma_trans.len()];
            let mut t_x: f64 = 0.0;
            for _ in 0..n {
                let level = unit_open0(&mut rng) * a_at_end;
                let (time, p) = inverse(level, 0);
                t_x = t_x.max(time.min(end));
                for (sj, z) in sums.iter_mut().zip(&grid.trans[p]) {
                    *sj += z;
                }
            }
            Ok((
                crate::paretonbd_dyncov::DynRow {
                    birth,
                    rfm: RfmRow {
                        x: n as f64,
                        t_x,
                        t: ti,
                    },
                    purchase_sums: sums,
                },
                alive,
            ))
        })
        .collect()
}

/// [`simulate_ggomnbd_holdout`] with parameters that differ by customer (covariate models):
/// customer `i` draws from GGom/NBD with `params[i]` = (r, α, b, s, β). With the same
/// parameters for everyone it gives exactly [`simulate_ggomnbd_holdout`]'s customers.
pub fn simulate_ggomnbd_each(
    params: &[[f64; 5]],
    t: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    each(params, t, horizon, |i, [r, alpha, b, s, beta], ti| {
        let rate = gamma_rate("r", r, "alpha", alpha)?;
        let scale = gamma_rate("s", s, "beta", beta)?;
        positive("b", b)?;
        let mut rng = customer_rng(seed, STREAM_GGOM, i);
        let lambda = rate.sample(&mut rng);
        let eta = scale.sample(&mut rng);
        let e: f64 = Exp1.sample(&mut rng);
        let tau = (e / eta).ln_1p() / b;
        lifetime_customer(&mut rng, lambda, tau, ti, horizon, i)
    })
}

/// The per-customer simulators' frame: the inputs checked, then `one(i, params[i], t[i])` for
/// every customer in order.
fn each<P: Copy>(
    params: &[P],
    t: &[f64],
    horizon: f64,
    one: impl Fn(usize, P, f64) -> Result<SimulatedCustomer, SimulationError>,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    check_lengths(params.len(), t.len())?;
    check_ages(t)?;
    check_horizon(horizon)?;
    t.iter()
        .zip(params)
        .enumerate()
        .map(|(i, (&ti, &p))| one(i, p, ti))
        .collect()
}

fn check_lengths(params: usize, t: usize) -> Result<(), SimulationError> {
    if params == t {
        Ok(())
    } else {
        Err(SimulationError::Numerical {
            row: params.min(t),
            reason: format!("{params} parameter sets for {t} customers"),
        })
    }
}

/// One Pareto/NBD customer drawn from the given mixing distributions.
fn pareto_customer(
    rng: &mut StdRng,
    rate: &Gamma<f64>,
    death: &Gamma<f64>,
    t: f64,
    horizon: f64,
    row: usize,
) -> Result<SimulatedCustomer, SimulationError> {
    let lambda = rate.sample(rng);
    let mu = death.sample(rng);
    let e: f64 = Exp1.sample(rng);
    let tau = e / mu; // +∞ when μ underflows to 0: she never dies.
    lifetime_customer(rng, lambda, tau, t, horizon, row)
}

/// Draw a BG/NBD population (Fader, Hardie & Lee 2005, "Counting your customers the easy
/// way", assumptions i–v): λ ~ Gamma(r, rate α), p ~ Beta(a, b); repeat purchases arrive as a
/// Poisson process with rate λ; after each repeat purchase the customer drops out with
/// probability p. One row per entry of `t` (each customer's observation length T > 0).
pub fn simulate_bgnbd(
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    t: &[f64],
    seed: u64,
) -> Result<Vec<RfmRow>, SimulationError> {
    Ok(simulate_bg_family(r, alpha, a, b, t, 0.0, seed, false)?
        .into_iter()
        .map(|c| c.row)
        .collect())
}

/// [`simulate_bgnbd`] with each customer's repeat purchases in (T, T + `horizon`] and whether
/// she is alive at T. The rows equal those of [`simulate_bgnbd`] with the same seed.
pub fn simulate_bgnbd_holdout(
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    t: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    simulate_bg_family(r, alpha, a, b, t, horizon, seed, false)
}

/// Draw an MBG/NBD population (Batislam, Denizel & Filiztekin 2007, "Empirical validation and
/// comparison of models for customer base analysis", IJRM 24(3)): as BG/NBD, but the customer
/// may also drop out right after the first purchase at time 0, with probability p.
pub fn simulate_mbgnbd(
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    t: &[f64],
    seed: u64,
) -> Result<Vec<RfmRow>, SimulationError> {
    Ok(simulate_bg_family(r, alpha, a, b, t, 0.0, seed, true)?
        .into_iter()
        .map(|c| c.row)
        .collect())
}

/// [`simulate_mbgnbd`] with holdout purchases in (T, T + `horizon`] and alive-at-T.
pub fn simulate_mbgnbd_holdout(
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    t: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    simulate_bg_family(r, alpha, a, b, t, horizon, seed, true)
}

/// [`simulate_paretonbd`] with holdout purchases in (T, T + `horizon`] and alive-at-T.
pub fn simulate_paretonbd_holdout(
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    t: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    let rate = gamma_rate("r", r, "alpha", alpha)?;
    let death = gamma_rate("s", s, "beta", beta)?;
    check_ages(t)?;
    check_horizon(horizon)?;
    t.iter()
        .enumerate()
        .map(|(i, &ti)| {
            let mut rng = customer_rng(seed, STREAM_PARETO, i);
            pareto_customer(&mut rng, &rate, &death, ti, horizon, i)
        })
        .collect()
}

/// Draw a GGom/NBD population (Bemmaor & Glady 2012): λ ~ Gamma(r, rate α) as in the NBD;
/// the lifetime is Gompertz with shape b and an individual scale η ~ Gamma(s, rate β),
/// S(τ | η) = exp(−η(e^{bτ} − 1)), drawn as τ = ln(1 + E/η)/b with E ~ Exp(1). With holdout
/// purchases in (T, T + `horizon`] and survival to T and to T + `horizon`.
#[allow(clippy::too_many_arguments)]
pub fn simulate_ggomnbd_holdout(
    r: f64,
    alpha: f64,
    b: f64,
    s: f64,
    beta: f64,
    t: &[f64],
    horizon: f64,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    let rate = gamma_rate("r", r, "alpha", alpha)?;
    let scale = gamma_rate("s", s, "beta", beta)?;
    positive("b", b)?;
    check_ages(t)?;
    check_horizon(horizon)?;
    t.iter()
        .enumerate()
        .map(|(i, &ti)| {
            let mut rng = customer_rng(seed, STREAM_GGOM, i);
            let lambda = rate.sample(&mut rng);
            let eta = scale.sample(&mut rng);
            let e: f64 = Exp1.sample(&mut rng);
            let tau = (e / eta).ln_1p() / b; // +∞ when η underflows to 0.
            lifetime_customer(&mut rng, lambda, tau, ti, horizon, i)
        })
        .collect()
}

/// Draw a Pareto/NBD population (Schmittlein, Morrison & Colombo 1987; notation of Fader,
/// Hardie & Lee 2005, "A note on deriving the Pareto/NBD model"): λ ~ Gamma(r, rate α),
/// μ ~ Gamma(s, rate β); purchases arrive as a Poisson process with rate λ during an
/// unobserved lifetime τ ~ Exp(μ).
pub fn simulate_paretonbd(
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    t: &[f64],
    seed: u64,
) -> Result<Vec<RfmRow>, SimulationError> {
    Ok(simulate_paretonbd_holdout(r, alpha, s, beta, t, 0.0, seed)?
        .into_iter()
        .map(|c| c.row)
        .collect())
}

/// [`simulate_bgbb`] with transactions in the next `horizon` opportunities (n, n + horizon]
/// and whether the customer is alive at opportunity n.
pub fn simulate_bgbb_holdout(
    alpha: f64,
    beta: f64,
    gamma: f64,
    delta: f64,
    n: &[u32],
    horizon: u32,
    seed: u64,
) -> Result<Vec<SimulatedCustomer>, SimulationError> {
    let buy = self::beta("alpha", alpha, "beta", beta)?;
    let churn = self::beta("gamma", gamma, "delta", delta)?;
    n.iter()
        .enumerate()
        .map(|(i, &ni)| {
            if ni == 0 {
                return Err(SimulationError::Data(DataError::Inconsistent {
                    row: i,
                    reason: "n = 0: a customer must have at least one transaction opportunity"
                        .into(),
                }));
            }
            let mut rng = customer_rng(seed, STREAM_BGBB, i);
            let p = buy.sample(&mut rng);
            let theta = churn.sample(&mut rng);
            // Opportunities survived: she dies at the start of each with probability θ.
            let survived = geometric(&mut rng, theta, i)?;
            let m = survived.min(u64::from(ni));
            // Scan the m alive opportunities backwards: the last transaction is G failures
            // before the end, G ~ Geometric(p); the ones before it are Binomial(·, p).
            let g = geometric(&mut rng, p, i)?;
            let (x, t_x) = if g >= m {
                (0, 0)
            } else {
                let t_x = m - g;
                (1 + binomial(&mut rng, t_x - 1, p, i)?, t_x)
            };
            let end = u64::from(ni);
            let alive = survived >= end;
            let holdout = if alive && horizon > 0 {
                let more = survived.min(end + u64::from(horizon)) - end;
                binomial(&mut rng, more, p, i)?
            } else {
                0
            };
            Ok(SimulatedCustomer {
                row: RfmRow {
                    x: x as f64,
                    t_x: t_x as f64,
                    t: f64::from(ni),
                },
                alive,
                holdout: holdout as f64,
                alive_at_end: survived >= end + u64::from(horizon),
            })
        })
        .collect()
}

/// Draw a BG/BB population (Fader, Hardie & Shang 2010, "Customer-base analysis in a
/// discrete-time noncontractual setting", Marketing Science 29(6)): p ~ Beta(α, β),
/// θ ~ Beta(γ, δ); at each of the customer's `n` transaction opportunities she first dies with
/// probability θ and, if alive, transacts with probability p. Rows are (x, t_x, n) with t_x the
/// last opportunity with a transaction (0 if none).
pub fn simulate_bgbb(
    alpha: f64,
    beta: f64,
    gamma: f64,
    delta: f64,
    n: &[u32],
    seed: u64,
) -> Result<Vec<RfmRow>, SimulationError> {
    Ok(
        simulate_bgbb_holdout(alpha, beta, gamma, delta, n, 0, seed)?
            .into_iter()
            .map(|c| c.row)
            .collect(),
    )
}

/// Draw `customers` subscribers of the shifted-beta-geometric model (Fader & Hardie 2007,
/// "How to project customer retention", J. Interactive Marketing 21(1), eq. 1): θ ~ Beta(α, β);
/// the subscription ends in period t with probability θ(1 − θ)^(t−1), t = 1, 2, …;
/// right-censored at `horizon` periods (horizon ≥ 1).
pub fn simulate_sbg(
    alpha: f64,
    beta: f64,
    customers: usize,
    horizon: u32,
    seed: u64,
) -> Result<Vec<SbgCustomer>, SimulationError> {
    let churn = self::beta("alpha", alpha, "beta", beta)?;
    if horizon == 0 {
        return Err(SimulationError::Parameter {
            name: "horizon",
            value: 0.0,
            reason: "must be at least one period",
        });
    }
    (0..customers)
        .map(|i| {
            let mut rng = customer_rng(seed, STREAM_SBG, i);
            let theta = churn.sample(&mut rng);
            let renewals = geometric(&mut rng, theta, i)?;
            Ok(if renewals < u64::from(horizon) {
                SbgCustomer {
                    // renewals < horizon ≤ u32::MAX, so this fits.
                    tenure: renewals as u32 + 1,
                    churned: true,
                }
            } else {
                SbgCustomer {
                    tenure: horizon,
                    churned: false,
                }
            })
        })
        .collect()
}

/// Draw each customer's mean spend per repeat transaction from the Gamma-Gamma model (Fader,
/// Hardie & Lee 2005, "RFM and CLV", Marketing Science 24(2), sec. 4; Fader & Hardie 2013,
/// "The Gamma-Gamma model of monetary value"): transaction values ~ Gamma(p, rate ν),
/// ν ~ Gamma(q, rate γ), independent of the purchase process. The mean of x values is drawn
/// directly as Gamma(p·x, rate x·ν). `frequencies[i]` is the customer's number x of repeat
/// transactions; customers with x = 0 get 0 (no repeat transaction to average, as in the CDNOW
/// summary's zbar).
pub fn simulate_mean_spend(
    p: f64,
    q: f64,
    gamma: f64,
    frequencies: &[f64],
    seed: u64,
) -> Result<Vec<f64>, SimulationError> {
    positive("p", p)?;
    let scale = gamma_rate("q", q, "gamma", gamma)?;
    frequencies
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            check_count(i, "frequency", x)?;
            if x == 0.0 {
                return Ok(0.0);
            }
            let mut rng = customer_rng(seed, STREAM_SPEND, i);
            let nu: f64 = scale.sample(&mut rng);
            let mean =
                Gamma::new(p * x, 1.0 / (x * nu)).map_err(|e| SimulationError::Numerical {
                    row: i,
                    reason: format!("cannot draw a mean spend with nu = {nu}: {e}"),
                })?;
            Ok(mean.sample(&mut rng))
        })
        .collect()
}

/// A simulated transaction: its time since the customer's first purchase (in the model's unit)
/// and its value. The first purchase is at time 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulatedPurchase {
    pub time: f64,
    pub value: f64,
}

const STREAM_LOG: u64 = 0x006c_6f67;

/// A BG/NBD customer base with Gamma-Gamma spend, purchase by purchase, for demos and for
/// testing the transactions → summary path: customer `i` is observed on (0, `t[i]`]; her
/// first purchase is at 0, then purchases arrive at rate λ ~ Gamma(r, α) and after each she
/// drops out with probability p ~ Beta(a, b); every purchase (the first included) has value
/// ~ Gamma(shape `spend_p`, rate ν), ν ~ Gamma(`spend_q`, `spend_gamma`). Cost is proportional
/// to the number of purchases, so keep λ·T moderate.
#[allow(clippy::too_many_arguments)]
pub fn simulate_bgnbd_purchases(
    (r, alpha, a, b): (f64, f64, f64, f64),
    (spend_p, spend_q, spend_gamma): (f64, f64, f64),
    t: &[f64],
    seed: u64,
) -> Result<Vec<Vec<SimulatedPurchase>>, SimulationError> {
    let lambda = gamma_rate("r", r, "alpha", alpha)?;
    let dropout = beta("a", a, "b", b)?;
    let nu = gamma_rate("q", spend_q, "gamma", spend_gamma)?;
    positive("p", spend_p)?;
    check_ages(t)?;
    t.iter()
        .enumerate()
        .map(|(i, &ti)| {
            let mut rng = customer_rng(seed, STREAM_LOG, i);
            let l: f64 = lambda.sample(&mut rng);
            let p: f64 = dropout.sample(&mut rng);
            let n: f64 = nu.sample(&mut rng);
            let value = Gamma::new(spend_p, 1.0 / n).map_err(|e| SimulationError::Numerical {
                row: i,
                reason: format!("cannot draw spends with nu = {n}: {e}"),
            })?;
            let mut out = vec![SimulatedPurchase {
                time: 0.0,
                value: value.sample(&mut rng),
            }];
            let mut now = 0.0;
            loop {
                let gap: f64 = Exp1.sample(&mut rng);
                now += gap / l;
                if !(now <= ti) || out.len() > 100_000 {
                    break;
                }
                out.push(SimulatedPurchase {
                    time: now,
                    value: value.sample(&mut rng),
                });
                if rng.random::<f64>() < p {
                    break;
                }
            }
            Ok(out)
        })
        .collect()
}

/// `customers` observation lengths T ~ Uniform[low, high] (0 < low ≤ high), e.g. customers
/// acquired evenly over a period.
pub fn uniform_ages(
    customers: usize,
    low: f64,
    high: f64,
    seed: u64,
) -> Result<Vec<f64>, SimulationError> {
    positive("low", low)?;
    positive("high", high)?;
    if high < low {
        return Err(SimulationError::Parameter {
            name: "high",
            value: high,
            reason: "must not be below low",
        });
    }
    let mut rng = customer_rng(seed, STREAM_AGES, 0);
    Ok((0..customers)
        .map(|_| low + (high - low) * rng.random::<f64>())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Rfm;
    use crate::special::ln_beta;

    #[test]
    fn per_customer_simulators_equal_the_population_ones_at_equal_parameters() {
        let t: Vec<f64> = (0..500).map(|i| 10.0 + (i % 70) as f64).collect();
        let p = [0.6, 8.0, 0.7, 2.5];
        let each = vec![p; t.len()];
        assert_eq!(
            simulate_bgnbd_each(&each, &t, 26.0, 9).unwrap(),
            simulate_bgnbd_holdout(p[0], p[1], p[2], p[3], &t, 26.0, 9).unwrap()
        );
        assert_eq!(
            simulate_paretonbd_each(&each, &t, 26.0, 9).unwrap(),
            simulate_paretonbd_holdout(p[0], p[1], p[2], p[3], &t, 26.0, 9).unwrap()
        );
        assert!(simulate_paretonbd_each(&each[1..], &t, 26.0, 9).is_err());
        let g = [0.6, 8.0, 0.05, 0.7, 2.5];
        assert_eq!(
            simulate_ggomnbd_each(&vec![g; t.len()], &t, 26.0, 9).unwrap(),
            simulate_ggomnbd_holdout(g[0], g[1], g[2], g[3], g[4], &t, 26.0, 9).unwrap()
        );
        let mut bad = each.clone();
        bad[3][1] = -1.0;
        assert!(simulate_bgnbd_each(&bad, &t, 26.0, 9).is_err());
    }

    use crate::special::hyp2f1;

    fn mean_sd(v: impl Iterator<Item = f64>) -> (f64, f64, f64) {
        let v: Vec<f64> = v.collect();
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
        (m, var.sqrt(), n)
    }

    /// The sample mean is within 4 standard errors of the expected value.
    fn assert_mean(v: impl Iterator<Item = f64>, expected: f64, what: &str) {
        let (m, sd, n) = mean_sd(v);
        let se = sd / n.sqrt();
        assert!(
            (m - expected).abs() < 4.0 * se,
            "{what}: sample mean {m} vs expected {expected} (se {se})"
        );
    }

    const N: usize = 200_000;

    #[test]
    fn paretonbd_counts_match_expected_purchases() {
        let (r, alpha, s, beta) = (0.55, 10.6, 0.61, 11.7);
        let (t, h) = (52.0, 39.0);
        // E[X(t)] = r β / (α (s − 1)) [1 − (β / (β + t))^(s − 1)] (Schmittlein et al. 1987).
        let ex =
            |t: f64| r * beta / (alpha * (s - 1.0)) * (1.0 - (beta / (beta + t)).powf(s - 1.0));
        let sim = simulate_paretonbd_holdout(r, alpha, s, beta, &vec![t; N], h, 7).expect("valid");
        assert_mean(sim.iter().map(|c| c.row.x), ex(t), "E[X(52)]");
        assert_mean(
            sim.iter().map(|c| c.holdout),
            ex(t + h) - ex(t),
            "E[X(52, 91)]",
        );
        // P(alive at T) = (β / (β + T))^s for a new customer.
        let alive = (beta / (beta + t)).powf(s);
        assert_mean(
            sim.iter().map(|c| f64::from(u8::from(c.alive))),
            alive,
            "P(alive)",
        );
    }

    #[test]
    fn bgnbd_counts_match_expected_purchases() {
        let (r, alpha, a, b): (f64, f64, f64, f64) = (0.5, 5.0, 0.8, 2.4);
        let t = 40.0;
        let z = t / (alpha + t);
        // E[X(t)] = (a + b − 1)/(a − 1) [1 − (α/(α+t))^r 2F1(r, b; a + b − 1; t/(α+t))],
        // Fader, Hardie & Lee 2005a, eq. 9; P(X(t) = 0) = (α/(α+t))^r (eq. 8 with x = 0).
        let ex = (a + b - 1.0) / (a - 1.0)
            * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, z));
        let rows = simulate_bgnbd(r, alpha, a, b, &vec![t; N], 11).expect("valid");
        assert_mean(rows.iter().map(|row| row.x), ex, "BG/NBD E[X(40)]");
        let p0 = (alpha / (alpha + t)).powf(r);
        assert_mean(
            rows.iter().map(|row| f64::from(u8::from(row.x == 0.0))),
            p0,
            "P(X=0)",
        );
        assert!(Rfm::new(&rows).is_ok());
    }

    #[test]
    fn bgnbd_recency_is_the_time_of_the_last_purchase_made() {
        // λ ≈ 0.1 for everyone, p ≈ 1: she buys once more and dies, so t_x is the first
        // arrival of the Poisson process given that it falls in (0, T]:
        // E[t_x | x = 1] = 1/λ − T e^(−λT) / (1 − e^(−λT)).
        let (lambda, t) = (0.1, 20.0);
        let rows = simulate_bgnbd(1e6, 1e7, 1e6, 1e-3, &vec![t; N], 4).expect("valid");
        assert!(rows.iter().all(|r| r.x <= 1.0));
        let e = (-lambda * t).exp();
        let expected = 1.0 / lambda - t * e / (1.0 - e);
        let buyers = rows.iter().filter(|r| r.x == 1.0).map(|r| r.t_x);
        assert_mean(buyers, expected, "E[t_x | x = 1]");
    }

    #[test]
    fn mbgnbd_counts_match_expected_purchases() {
        let (r, alpha, a, b): (f64, f64, f64, f64) = (0.5, 5.0, 2.5, 4.0);
        let t = 40.0;
        let z = t / (alpha + t);
        // Batislam et al. 2007: E[X(t)] = b/(a − 1) [1 − (α/(α+t))^r 2F1(r, b + 1; a + b; z)];
        // P(X(t) = 0) = a/(a+b) + b/(a+b) (α/(α+t))^r.
        let ex =
            b / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b + 1.0, a + b, z));
        let sim = simulate_mbgnbd_holdout(r, alpha, a, b, &vec![t; N], 0.0, 3).expect("valid");
        assert_mean(sim.iter().map(|c| c.row.x), ex, "MBG/NBD E[X(40)]");
        let p0 = a / (a + b) + b / (a + b) * (alpha / (alpha + t)).powf(r);
        assert_mean(
            sim.iter().map(|c| f64::from(u8::from(c.row.x == 0.0))),
            p0,
            "P(X=0)",
        );
        // Alive at T: (1 − p)^(x+1) survived, never dead before the first repeat purchase.
        let dead_at_zero = sim.iter().filter(|c| c.row.x == 0.0 && !c.alive).count() as f64;
        assert_mean(
            sim.iter()
                .map(|c| f64::from(u8::from(c.row.x == 0.0 && !c.alive))),
            a / (a + b),
            "dead after the first purchase",
        );
        assert!(dead_at_zero > 0.0);
    }

    #[test]
    fn bgbb_counts_match_expected_transactions() {
        let (alpha, beta, gamma, delta) = (1.2, 0.75, 0.66, 2.78);
        let n = 6u32;
        // E[X(n)] = α/(α+β) Σ_{j=1..n} B(γ, δ + j)/B(γ, δ)  (alive at opportunity j w.p. (1−θ)^j).
        let alive = |j: u32| (ln_beta(gamma, delta + f64::from(j)) - ln_beta(gamma, delta)).exp();
        let ex = alpha / (alpha + beta) * (1..=n).map(alive).sum::<f64>();
        let sim =
            simulate_bgbb_holdout(alpha, beta, gamma, delta, &vec![n; N], 5, 5).expect("valid");
        assert_mean(sim.iter().map(|c| c.row.x), ex, "BG/BB E[X(6)]");
        let exh = alpha / (alpha + beta) * (n + 1..=n + 5).map(alive).sum::<f64>();
        assert_mean(sim.iter().map(|c| c.holdout), exh, "BG/BB holdout");
        assert_mean(
            sim.iter().map(|c| f64::from(u8::from(c.alive))),
            alive(n),
            "alive at n",
        );
        let rows: Vec<RfmRow> = sim.iter().map(|c| c.row).collect();
        assert!(Rfm::new(&rows).is_ok());
        assert!(rows.iter().all(|r| r.x <= r.t_x && r.t_x <= r.t));
    }

    #[test]
    fn sbg_survival_matches_the_closed_form() {
        let (alpha, beta) = (0.704, 1.182);
        let sim = simulate_sbg(alpha, beta, N, 8, 1).expect("valid");
        // S(t) = B(α, β + t)/B(α, β) (Fader & Hardie 2007, eq. 7).
        for t in [1u32, 3, 7] {
            let s = (ln_beta(alpha, beta + f64::from(t)) - ln_beta(alpha, beta)).exp();
            let v = sim
                .iter()
                .map(|c| f64::from(u8::from(!c.churned || c.tenure > t)));
            assert_mean(v, s, "S(t)");
        }
        assert!(sim
            .iter()
            .all(|c| c.tenure <= 8 && (c.churned || c.tenure == 8)));
    }

    #[test]
    fn mean_spend_has_the_gamma_gamma_mean() {
        let (p, q, gamma) = (6.25, 3.74, 15.44);
        let x: Vec<f64> = (0..N).map(|i| (i % 5) as f64).collect();
        let z = simulate_mean_spend(p, q, gamma, &x, 2).expect("valid");
        // E[z̄] = p γ / (q − 1) whatever x (Fader & Hardie 2013, eq. 4).
        assert_mean(
            z.iter().copied().filter(|&v| v > 0.0),
            p * gamma / (q - 1.0),
            "E[zbar]",
        );
        assert!(z
            .iter()
            .zip(&x)
            .all(|(&zi, &xi)| (xi == 0.0) == (zi == 0.0)));
    }

    #[test]
    fn deterministic_per_seed_and_prefix_stable() {
        let t = uniform_ages(1000, 26.0, 78.0, 9).expect("valid");
        assert!(t.iter().all(|&v| (26.0..=78.0).contains(&v)));
        assert_eq!(t, uniform_ages(1000, 26.0, 78.0, 9).expect("valid"));
        let a = simulate_bgnbd(0.24, 4.4, 0.79, 2.4, &t, 42).expect("valid");
        assert_eq!(
            a,
            simulate_bgnbd(0.24, 4.4, 0.79, 2.4, &t, 42).expect("valid")
        );
        assert_ne!(
            a,
            simulate_bgnbd(0.24, 4.4, 0.79, 2.4, &t, 43).expect("valid")
        );
        // The first 10 customers do not depend on how many follow.
        assert_eq!(
            a[..10],
            simulate_bgnbd(0.24, 4.4, 0.79, 2.4, &t[..10], 42).expect("valid")[..]
        );
        // Holdout variants give the same calibration rows.
        let h = simulate_bgnbd_holdout(0.24, 4.4, 0.79, 2.4, &t, 39.0, 42).expect("valid");
        assert!(h.iter().zip(&a).all(|(c, r)| c.row == *r));
        assert!(h.iter().any(|c| c.holdout > 0.0));
        assert!(h.iter().all(|c| c.alive || c.holdout == 0.0));
        let p = simulate_paretonbd(0.55, 10.6, 0.61, 11.7, &t, 42).expect("valid");
        let ph = simulate_paretonbd_holdout(0.55, 10.6, 0.61, 11.7, &t, 39.0, 42).expect("valid");
        assert!(ph.iter().zip(&p).all(|(c, r)| c.row == *r));
        assert!(Rfm::new(&p).is_ok());
    }

    #[test]
    fn rejects_bad_parameters_and_ages() {
        assert!(matches!(
            simulate_bgnbd(0.0, 1.0, 1.0, 1.0, &[1.0], 0),
            Err(SimulationError::Parameter { name: "r", .. })
        ));
        assert!(matches!(
            simulate_paretonbd(1.0, 1.0, 1.0, f64::NAN, &[1.0], 0),
            Err(SimulationError::Parameter { name: "beta", .. })
        ));
        let e = simulate_bgnbd(1.0, 1.0, 1.0, 1.0, &[1.0, 0.0], 0).expect_err("T = 0");
        assert!(matches!(e, SimulationError::Data(ref d) if d.row() == Some(1)));
        assert!(simulate_mbgnbd_holdout(1.0, 1.0, 1.0, 1.0, &[1.0], -1.0, 0).is_err());
        assert!(simulate_bgbb(1.0, 1.0, 1.0, 1.0, &[0], 0).is_err());
        assert!(simulate_sbg(1.0, 1.0, 10, 0, 0).is_err());
        assert!(simulate_mean_spend(1.0, 1.0, 1.0, &[1.5], 0).is_err());
        assert!(uniform_ages(10, 5.0, 4.0, 0).is_err());
    }
}
