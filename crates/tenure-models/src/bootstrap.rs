//! Parametric bootstrap of the recency-frequency models: the second way Tenure states
//! uncertainty, beside the observed-information (delta-method) intervals of [`crate::fit`].
//!
//! Replicate b draws a population from the fitted parameters with every customer's own
//! observation length T (the simulator's seeded per-customer streams, seed derived from the
//! user's seed and b), optionally puts each recency on the data's time grid (summaries count
//! whole days), and refits from the fitted parameters. The replicates' parameters give
//! percentile intervals for the parameters and, scored on the real customers, for every
//! prediction and every aggregate forecast.
//!
//! Invariants: the replicates, and everything computed from them, depend on the seed and the
//! inputs only — never on the number of threads (replicate b always gets the same seed and its
//! result the same slot). A replicate whose refit fails is counted, not retried with another
//! draw, so the others do not move.

use crate::bgnbd::{fit_bgnbd, BgNbdParams};
use crate::ggomnbd::{fit_ggomnbd, GGomNbdParams};
use crate::mbgnbd::{fit_mbgnbd, MbgNbdParams};
use crate::paretonbd::{fit_paretonbd, ParetoNbdParams};
use crate::paretonbd_cor::{fit_paretonbd_correlated, params_of, CorrelatedParams};
use crate::simulate::{
    simulate_bgnbd, simulate_ggomnbd_holdout, simulate_mbgnbd, simulate_paretonbd,
    simulate_paretonbd_correlated, SimulationError,
};
use crate::{Fit, FitOptions, ModelError, Rfm, RfmModel, RfmRow};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A recency-frequency model that can be simulated and refitted.
pub trait Resample: RfmModel + Clone + Send + Sync + Sized {
    /// A population with these parameters, one row per entry of `ages` (each T > 0).
    fn simulate_rows(&self, ages: &[f64], seed: u64) -> Result<Vec<RfmRow>, SimulationError>;
    /// The maximum-likelihood fit to `data`.
    fn refit(data: &Rfm, opts: &FitOptions) -> Result<(Self, Fit), ModelError>;
    /// The model with parameters in the papers' order.
    fn from_params(theta: &[f64]) -> Self;
}

impl Resample for BgNbdParams {
    fn simulate_rows(&self, ages: &[f64], seed: u64) -> Result<Vec<RfmRow>, SimulationError> {
        simulate_bgnbd(self.r, self.alpha, self.a, self.b, ages, seed)
    }
    fn refit(data: &Rfm, opts: &FitOptions) -> Result<(Self, Fit), ModelError> {
        fit_bgnbd(data, opts)
    }
    fn from_params(t: &[f64]) -> Self {
        BgNbdParams {
            r: t[0],
            alpha: t[1],
            a: t[2],
            b: t[3],
        }
    }
}

impl Resample for MbgNbdParams {
    fn simulate_rows(&self, ages: &[f64], seed: u64) -> Result<Vec<RfmRow>, SimulationError> {
        simulate_mbgnbd(self.r, self.alpha, self.a, self.b, ages, seed)
    }
    fn refit(data: &Rfm, opts: &FitOptions) -> Result<(Self, Fit), ModelError> {
        fit_mbgnbd(data, opts)
    }
    fn from_params(t: &[f64]) -> Self {
        MbgNbdParams {
            r: t[0],
            alpha: t[1],
            a: t[2],
            b: t[3],
        }
    }
}

impl Resample for ParetoNbdParams {
    fn simulate_rows(&self, ages: &[f64], seed: u64) -> Result<Vec<RfmRow>, SimulationError> {
        simulate_paretonbd(self.r, self.alpha, self.s, self.beta, ages, seed)
    }
    fn refit(data: &Rfm, opts: &FitOptions) -> Result<(Self, Fit), ModelError> {
        fit_paretonbd(data, opts)
    }
    fn from_params(t: &[f64]) -> Self {
        ParetoNbdParams {
            r: t[0],
            alpha: t[1],
            s: t[2],
            beta: t[3],
        }
    }
}

impl Resample for GGomNbdParams {
    fn simulate_rows(&self, ages: &[f64], seed: u64) -> Result<Vec<RfmRow>, SimulationError> {
        Ok(simulate_ggomnbd_holdout(
            self.r, self.alpha, self.b, self.s, self.beta, ages, 0.0, seed,
        )?
        .into_iter()
        .map(|c| c.row)
        .collect())
    }
    fn refit(data: &Rfm, opts: &FitOptions) -> Result<(Self, Fit), ModelError> {
        fit_ggomnbd(data, opts)
    }
    fn from_params(t: &[f64]) -> Self {
        GGomNbdParams {
            r: t[0],
            alpha: t[1],
            b: t[2],
            s: t[3],
            beta: t[4],
        }
    }
}

impl Resample for CorrelatedParams {
    fn simulate_rows(&self, ages: &[f64], seed: u64) -> Result<Vec<RfmRow>, SimulationError> {
        Ok(simulate_paretonbd_correlated(
            self.r, self.alpha, self.s, self.beta, self.omega, ages, 0.0, seed,
        )?
        .into_iter()
        .map(|c| c.row)
        .collect())
    }
    fn refit(data: &Rfm, opts: &FitOptions) -> Result<(Self, Fit), ModelError> {
        fit_paretonbd_correlated(data, opts).map(|f| (f.params, f.fit))
    }
    fn from_params(t: &[f64]) -> Self {
        params_of(t)
    }
}

/// How to bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapOptions {
    pub replications: usize,
    pub seed: u64,
    /// The data's time grid in the model's unit (1/7 for whole days in weeks): simulated
    /// recencies are rounded to it (kept in [grid, T] for repeat buyers). `None`: continuous.
    pub grid: Option<f64>,
    /// Worker threads: 0 = one per core.
    pub threads: usize,
}

/// The replicates' parameters, in replicate order (failed ones left out and counted).
#[derive(Debug, Clone, PartialEq)]
pub struct Replicates {
    pub params: Vec<Vec<f64>>,
    pub failed: usize,
}

/// Every customer's T, for simulating populations like `data`: each distinct row's T repeated
/// by its weight rounded to a whole number of customers (weights are customer counts).
pub fn ages_of(data: &Rfm) -> Vec<f64> {
    let mut ages = Vec::with_capacity(data.customers().round().max(0.0) as usize);
    for (row, w) in data.iter() {
        let n = w.round().max(0.0) as usize;
        ages.extend(std::iter::repeat_n(row.t, n));
    }
    ages
}

/// The seed of replicate `b` (SplitMix64 of the user's seed and b).
pub(crate) fn replicate_seed(seed: u64, b: usize) -> u64 {
    let mut z = seed
        ^ (b as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Put simulated recencies on the data's time grid.
pub(crate) fn on_grid(rows: &mut [RfmRow], grid: f64) {
    for r in rows {
        if r.x > 0.0 {
            let g = (r.t_x / grid).round() * grid;
            r.t_x = g.max(grid).min(r.t);
        }
    }
}

/// One replicate: simulate, refit from `fitted`. `None` when the refit fails.
fn one<M: Resample>(fitted: &M, ages: &[f64], o: &BootstrapOptions, b: usize) -> Option<Vec<f64>> {
    let mut rows = fitted.simulate_rows(ages, replicate_seed(o.seed, b)).ok()?;
    if let Some(g) = o.grid.filter(|g| *g > 0.0 && g.is_finite()) {
        on_grid(&mut rows, g);
    }
    let data = Rfm::new(&rows).ok()?;
    let opts = FitOptions {
        extra_starts: vec![fitted.params()],
        only_extra_starts: true,
        threads: 1,
        covariance: false,
        ..FitOptions::default()
    };
    let fit = M::refit(&data, &opts)
        .ok()
        .filter(|(_, f)| f.converged)
        .or_else(|| {
            // From the fitted parameters the optimiser may stall on an odd draw; the model's
            // own starts then decide.
            let all = FitOptions {
                threads: 1,
                covariance: false,
                ..FitOptions::default()
            };
            M::refit(&data, &all).ok().filter(|(_, f)| f.converged)
        })?;
    Some(fit.1.params)
}

/// Draw and refit `o.replications` populations like the data (ages = every customer's T) from
/// the fitted model, on `o.threads` threads. `progress(done)` is called after each replicate
/// (from any thread).
pub fn replicate<M: Resample>(
    fitted: &M,
    ages: &[f64],
    o: &BootstrapOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Replicates {
    run_replicates(o, progress, |b| one(fitted, ages, o, b))
}

/// Run `one(b)` for b in 0..`o.replications` on `o.threads` threads (each thread takes the
/// next b), then put the results in replicate order: the same [`Replicates`] whatever the
/// number of threads, as long as `one(b)` depends on b only.
pub(crate) fn run_replicates(
    o: &BootstrapOptions,
    progress: &(dyn Fn(usize) + Sync),
    one: impl Fn(usize) -> Option<Vec<f64>> + Sync,
) -> Replicates {
    let threads = match o.threads {
        0 => crate::cores(),
        t => t,
    }
    .clamp(1, o.replications.max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            if b >= o.replications {
                break;
            }
            mine.push((b, one(b)));
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
        }
        mine
    };
    let mut all: Vec<(usize, Option<Vec<f64>>)> = if threads == 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            hs.into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    all.sort_by_key(|(b, _)| *b);
    let failed =
        all.iter().filter(|(_, p)| p.is_none()).count() + o.replications.saturating_sub(all.len());
    Replicates {
        params: all.into_iter().filter_map(|(_, p)| p).collect(),
        failed,
    }
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `values` by linear interpolation between order statistics
/// (Hyndman & Fan type 7, R's and NumPy's default); non-finite values are ignored; NaN when
/// none is finite. Sorts `values` in place.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    let mut n = 0;
    for i in 0..values.len() {
        if values[i].is_finite() {
            values.swap(n, i);
            n += 1;
        }
    }
    let v = &mut values[..n];
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Percentile interval at `level` (e.g. 0.95): the (1 − level)/2 and (1 + level)/2 quantiles.
pub fn percentile_interval(values: &mut [f64], level: f64) -> (f64, f64) {
    let lo = quantile(values, (1.0 - level) / 2.0);
    let hi = quantile(values, (1.0 + level) / 2.0);
    (lo, hi)
}

/// A bootstrap summary of one quantity: the replicates' standard deviation and percentile
/// interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub sd: f64,
    pub lower: f64,
    pub upper: f64,
}

/// [`Spread`] of the finite values (NaN when fewer than two).
pub fn spread(values: &mut [f64], level: f64) -> Spread {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len() as f64;
    let sd = if finite.len() < 2 {
        f64::NAN
    } else {
        let mean = finite.iter().sum::<f64>() / n;
        (finite.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt()
    };
    let (lower, upper) = percentile_interval(values, level);
    Spread { sd, lower, upper }
}

/// Per-parameter spreads of the replicates (in the papers' order).
pub fn parameter_spreads(r: &Replicates, k: usize, level: f64) -> Vec<Spread> {
    (0..k)
        .map(|j| {
            let mut v: Vec<f64> = r.params.iter().map(|p| p[j]).collect();
            spread(&mut v, level)
        })
        .collect()
}

/// Per-row spreads of P(alive) and of expected purchases in the next `horizon`, and the spread
/// of the total expected purchases Σ weight × E (an aggregate forecast), from scoring `rows`
/// with every replicate. Rows are scored a block at a time, so memory stays at block ×
/// replicates.
pub fn prediction_spreads<M: Resample>(
    r: &Replicates,
    horizon: f64,
    rows: &[RfmRow],
    weights: &[f64],
    level: f64,
) -> (Vec<(Spread, Spread)>, Spread) {
    const BLOCK: usize = 4096;
    let models: Vec<M> = r.params.iter().map(|p| M::from_params(p)).collect();
    let mut totals = vec![0.0; models.len()];
    let mut out = Vec::with_capacity(rows.len());
    for (bi, block) in rows.chunks(BLOCK).enumerate() {
        let scored: Vec<Vec<(f64, f64)>> = models
            .iter()
            .map(|m| m.score_rows(horizon, block))
            .collect();
        for (b, s) in scored.iter().enumerate() {
            for (i, (_, e)) in s.iter().enumerate() {
                totals[b] += weights.get(bi * BLOCK + i).copied().unwrap_or(1.0) * e;
            }
        }
        for i in 0..block.len() {
            let mut p: Vec<f64> = scored.iter().map(|s| s[i].0).collect();
            let mut e: Vec<f64> = scored.iter().map(|s| s[i].1).collect();
            out.push((spread(&mut p, level), spread(&mut e, level)));
        }
    }
    let total = spread(&mut totals, level);
    (out, total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::simulate::uniform_ages;

    const TRUE: BgNbdParams = BgNbdParams {
        r: 0.6,
        alpha: 9.0,
        a: 0.9,
        b: 4.0,
    };

    #[test]
    fn quantiles_are_numpys_linear() {
        let mut v = vec![3.0, 1.0, f64::NAN, 2.0, 4.0];
        assert_eq!(quantile(&mut v, 0.5), 2.5);
        assert_eq!(quantile(&mut v, 0.0), 1.0);
        assert_eq!(quantile(&mut v, 1.0), 4.0);
        // numpy.quantile([1, 2, 3, 4], 0.025) = 1.075
        assert!((quantile(&mut v, 0.025) - 1.075).abs() < 1e-12);
        assert!(quantile(&mut [f64::NAN], 0.5).is_nan());
        let s = spread(&mut [1.0, 2.0, 3.0, 4.0], 0.5);
        assert!((s.sd - 1.2909944487358056).abs() < 1e-12);
        assert_eq!((s.lower, s.upper), (1.75, 3.25));
    }

    #[test]
    fn replicates_do_not_depend_on_threads_and_follow_the_seed() {
        let ages = uniform_ages(400, 20.0, 50.0, 1).unwrap();
        let o = |threads, seed| BootstrapOptions {
            replications: 6,
            seed,
            grid: Some(1.0 / 7.0),
            threads,
        };
        let one = replicate(&TRUE, &ages, &o(1, 9), &|_| {});
        let two = replicate(&TRUE, &ages, &o(2, 9), &|_| {});
        assert_eq!(one, two);
        assert_eq!(one.params.len() + one.failed, 6);
        let other = replicate(&TRUE, &ages, &o(2, 10), &|_| {});
        assert_ne!(one.params, other.params);
    }

    #[test]
    fn grid_keeps_rows_valid() {
        let mut rows = vec![
            RfmRow {
                x: 2.0,
                t_x: 0.01,
                t: 5.0,
            },
            RfmRow {
                x: 1.0,
                t_x: 0.05,
                t: 0.1,
            },
            RfmRow {
                x: 3.0,
                t_x: 4.97,
                t: 5.0,
            },
            RfmRow {
                x: 0.0,
                t_x: 0.0,
                t: 5.0,
            },
        ];
        on_grid(&mut rows, 1.0 / 7.0);
        assert_eq!(rows[0].t_x, 1.0 / 7.0);
        assert_eq!(rows[1].t_x, 0.1);
        assert_eq!(rows[2].t_x, 5.0);
        assert_eq!(rows[3].t_x, 0.0);
        assert!(Rfm::new(&rows).is_ok());
    }

    /// Coverage: in R simulated data sets from known parameters, how often the 95% percentile
    /// interval of B replicates contains the truth, over all 4 parameters. Printed with its
    /// count (`cargo test -p tenure-models bootstrap_coverage -- --nocapture`).
    #[test]
    fn bootstrap_coverage() {
        const R: usize = 40;
        const B: usize = 200;
        const N: usize = 1500;
        let truth = TRUE.params();
        let mut covered = 0;
        for rep in 0..R {
            let ages = uniform_ages(N, 26.0, 78.0, 1000 + rep as u64).unwrap();
            let mut rows = TRUE.simulate_rows(&ages, 5000 + rep as u64).unwrap();
            on_grid(&mut rows, 1.0 / 7.0);
            let (fitted, _) = fit_bgnbd(&Rfm::new(&rows).unwrap(), &FitOptions::default()).unwrap();
            let reps = replicate(
                &fitted,
                &ages,
                &BootstrapOptions {
                    replications: B,
                    seed: rep as u64,
                    grid: Some(1.0 / 7.0),
                    threads: 0,
                },
                &|_| {},
            );
            assert!(
                reps.failed <= B / 10,
                "{} of {B} replicates failed",
                reps.failed
            );
            for (j, s) in parameter_spreads(&reps, 4, 0.95).iter().enumerate() {
                if s.lower <= truth[j] && truth[j] <= s.upper {
                    covered += 1;
                }
            }
        }
        let total = R * 4;
        eprintln!(
            "bootstrap coverage: {covered} of {total} 95% intervals ({:.1}%) contain the truth (R = {R} data sets of {N} customers, B = {B})",
            100.0 * covered as f64 / total as f64
        );
        // 95% nominal. Measured: 150 of 160 (93.8%), with and without the day grid. Binomial
        // (160, 0.95) has sd 2.8; the band allows 88%–99%.
        assert!(
            (141..=159).contains(&covered),
            "coverage {covered} of {total}"
        );
    }
}
