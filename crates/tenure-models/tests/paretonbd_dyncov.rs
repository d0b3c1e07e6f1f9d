//! Pareto/NBD with time-varying covariates (issue 9): coefficients of a seasonal purchase
//! covariate and a price step on dropout recovered from a seeded simulation; the predictions
//! against a simulated holdout; and their invariants for any parameters (property tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tenure_models::paretonbd_dyncov::{
    fit_paretonbd_dyncov, DynCustomer, DynParams, DynPrediction, TimeGrid,
};
use tenure_models::simulate::{simulate_paretonbd_dyncov, uniform_ages};
use tenure_models::{FitOptions, RfmRow};

/// 104 weekly periods: purchases follow the season (sin of the week of the year); from week
/// 52 a price rise raises the dropout rate.
fn grid() -> TimeGrid {
    TimeGrid {
        origin: 0.0,
        step: 1.0,
        trans: (0..104)
            .map(|k| vec![(std::f64::consts::TAU * k as f64 / 52.0).sin()])
            .collect(),
        life: (0..104)
            .map(|k| vec![if k >= 52 { 1.0 } else { 0.0 }])
            .collect(),
    }
}

/// 30,000 customers born uniformly in the first 52 weeks, observed to week 104.
#[test]
fn time_varying_coefficients_are_recovered() {
    let truth = [0.55, 10.6, 0.61, 11.7, 0.5, 0.7];
    let n = 30_000;
    let births: Vec<f64> = uniform_ages(n, 1e-9, 52.0, seed())
        .unwrap()
        .iter()
        .map(|b| b - 1e-9)
        .collect();
    let t: Vec<f64> = births.iter().map(|b| 104.0 - b).collect();
    let g = grid();
    let sim = simulate_paretonbd_dyncov(
        truth[0],
        truth[1],
        truth[2],
        truth[3],
        &truth[4..5],
        &truth[5..6],
        &g,
        &births,
        &t,
        seed(),
    )
    .unwrap();
    let rows: Vec<_> = sim.into_iter().map(|(r, _)| r).collect();
    let fit = fit_paretonbd_dyncov(
        g,
        rows,
        &["season".into()],
        &["price".into()],
        &FitOptions::default(),
    )
    .unwrap();
    assert!(fit.fit.converged, "{:?}", fit.fit);
    let mut worst: f64 = 0.0;
    for (i, name) in fit.fit.names.iter().enumerate() {
        let z = (fit.fit.params[i] - truth[i]) / fit.fit.standard_errors[i];
        eprintln!(
            "{name}: truth {} estimate {:.5} se {:.5} z {z:+.2}",
            truth[i], fit.fit.params[i], fit.fit.standard_errors[i]
        );
        worst = worst.max(z.abs());
    }
    eprintln!(
        "LL {:.2} vs plain Pareto/NBD {:.2}",
        fit.fit.log_likelihood, fit.plain.log_likelihood
    );
    assert!(worst < 2.0, "an estimate is {worst:.2} SE off");
    assert!(fit.fit.log_likelihood > fit.plain.log_likelihood + 50.0);
}

/// The population's seed. With six parameters a 2-SE band misses at least one about a quarter
/// of the time: of seeds 1, 2, 3, 4 and 8, seed 3 had β at −2.06 SE and seed 8 the price
/// coefficient at +2.25 SE (no sign in common: z of the price coefficient +0.30, −1.76, +0.63,
/// +1.25, +2.25).
fn seed() -> u64 {
    1
}

/// The true model's predictions against a simulated holdout. The seeded simulator has no
/// holdout variant, so it is run twice with the same seed: to T = week 104 (the calibration
/// data, and who is alive at T), and to week 143 with a second purchase covariate that is 1
/// from week 104 on and has coefficient 0 — it changes nothing, but its sum over a customer's
/// purchases counts those in the 39-week holdout. Both runs draw the same λ, μ and lifetime
/// for customer i (the purchases are drawn after them), so the longer run's "alive" is the
/// calibration customer's own alive at T + 39; her holdout purchases are a draw with the right
/// distribution but not coupled to her calibration purchases. So:
/// - Σ P(alive) against the number alive at T, and Σ P(alive at T+39) against the number alive
///   at T + 39 (conditional checks, sd √Σp(1−p));
/// - Σ E[holdout | calibration] against Σ holdout: equal in expectation, each customer's
///   difference independent with mean 0, so sd √Σ(E_i − h_i)²;
/// - among the customers of the long run with no repeat purchase before week 104 (their
///   calibration data are (0, 0, T) exactly), Σ E[holdout] against their holdout (conditional).
///
/// Tolerance: 3 sd each, and the total within 5%. Seed 1 gives z = +0.79, +0.31, +0.70 (the
/// total 0.9% high) and +0.20; seeds 2, 3, 4 stay within 1.9 sd (totals −2.3%, +0.0%, +0.6%).
#[test]
fn predictions_match_a_simulated_holdout() {
    let truth = [0.55, 10.6, 0.61, 11.7, 0.5, 0.7];
    let (n, cal, holdout) = (30_000, 104.0, 39.0);
    let periods = (cal + holdout) as usize;
    let grid = TimeGrid {
        origin: 0.0,
        step: 1.0,
        trans: (0..periods)
            .map(|k| {
                vec![
                    (std::f64::consts::TAU * k as f64 / 52.0).sin(),
                    f64::from(k as f64 >= cal),
                ]
            })
            .collect(),
        life: (0..periods)
            .map(|k| vec![if k >= 52 { 1.0 } else { 0.0 }])
            .collect(),
    };
    let births: Vec<f64> = uniform_ages(n, 1e-9, 52.0, seed())
        .unwrap()
        .iter()
        .map(|b| b - 1e-9)
        .collect();
    let sim = |end: f64| {
        let t: Vec<f64> = births.iter().map(|b| end - b).collect();
        simulate_paretonbd_dyncov(
            truth[0],
            truth[1],
            truth[2],
            truth[3],
            &[truth[4], 0.0],
            &truth[5..6],
            &grid,
            &births,
            &t,
            seed(),
        )
        .unwrap()
    };
    let (short, long) = (sim(cal), sim(cal + holdout));
    let model = DynParams::from_theta(
        &[
            truth[0], truth[1], truth[2], truth[3], truth[4], 0.0, truth[5],
        ],
        2,
    );
    let customers: Vec<DynCustomer> = short
        .iter()
        .map(|(r, _)| DynCustomer {
            birth: r.birth,
            rfm: r.rfm,
        })
        .collect();
    let scored = model.score(&grid, &customers, holdout, None).unwrap();
    let p: Vec<DynPrediction> = scored
        .iter()
        .map(|s| DynPrediction {
            p_alive: s.p_alive.value,
            expected_purchases: s.expected_purchases.value,
            p_alive_at_horizon: s.p_alive_at_horizon,
        })
        .collect();
    let bernoulli = |prob: &dyn Fn(&DynPrediction) -> f64, actual: &dyn Fn(usize) -> bool| {
        let expected: f64 = p.iter().map(prob).sum();
        let sd = p
            .iter()
            .map(|q| prob(q) * (1.0 - prob(q)))
            .sum::<f64>()
            .sqrt();
        let count = (0..n).filter(|&i| actual(i)).count() as f64;
        (expected, count, (expected - count) / sd)
    };
    let (e, a, z) = bernoulli(&|q| q.p_alive, &|i| short[i].1);
    eprintln!("alive at T: expected {e:.1}, simulated {a}, z {z:+.2}");
    assert!(z.abs() < 3.0);
    let (e, a, z) = bernoulli(&|q| q.p_alive_at_horizon, &|i| long[i].1);
    eprintln!("alive at T+39: expected {e:.1}, simulated {a}, z {z:+.2}");
    assert!(z.abs() < 3.0);

    let h: Vec<f64> = long.iter().map(|(r, _)| r.purchase_sums[1]).collect();
    let expected: f64 = p.iter().map(|q| q.expected_purchases).sum();
    let actual: f64 = h.iter().sum();
    let sd = p
        .iter()
        .zip(&h)
        .map(|(q, h)| (q.expected_purchases - h).powi(2))
        .sum::<f64>()
        .sqrt();
    let z = (expected - actual) / sd;
    eprintln!(
        "holdout purchases: expected {expected:.1}, simulated {actual} ({:+.2}%), z {z:+.2}",
        100.0 * (expected / actual - 1.0)
    );
    assert!(z.abs() < 3.0);
    assert!((expected / actual - 1.0).abs() < 0.05);

    // Exactly known calibration data: no repeat purchase before week 104 in the long run.
    let none: Vec<usize> = (0..n).filter(|&i| long[i].0.rfm.x == h[i]).collect();
    let zero: Vec<DynCustomer> = none
        .iter()
        .map(|&i| DynCustomer {
            birth: births[i],
            rfm: RfmRow {
                x: 0.0,
                t_x: 0.0,
                t: cal - births[i],
            },
        })
        .collect();
    let pz = model.score(&grid, &zero, holdout, None).unwrap();
    let expected: f64 = pz.iter().map(|s| s.expected_purchases.value).sum();
    let actual: f64 = none.iter().map(|&i| h[i]).sum();
    let sd = pz
        .iter()
        .zip(&none)
        .map(|(s, &i)| (s.expected_purchases.value - h[i]).powi(2))
        .sum::<f64>()
        .sqrt();
    let z = (expected - actual) / sd;
    eprintln!(
        "holdout purchases of the {} without a repeat purchase: expected {expected:.1}, simulated {actual}, z {z:+.2}",
        none.len()
    );
    assert!(z.abs() < 3.0);
}

/// A grid of 80 periods whose covariates follow a wave and a step, from the drawn numbers.
fn wave_grid(freq: f64, phase: f64, step_at: usize) -> TimeGrid {
    TimeGrid {
        origin: 0.0,
        step: 1.0,
        trans: (0..80)
            .map(|k| vec![(freq * k as f64 + phase).sin(), f64::from(k >= step_at)])
            .collect(),
        life: (0..80)
            .map(|k| vec![(freq * k as f64).cos() * f64::from(k >= step_at)])
            .collect(),
    }
}

/// A positive parameter, log-uniform on [0.05, 20].
fn param() -> impl Strategy<Value = f64> {
    (0.05f64.ln()..=20f64.ln()).prop_map(f64::exp)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// 0 ≤ P(alive at T + h) ≤ P(alive) ≤ 1, P(alive at T + h) non-increasing and the
    /// expected purchases ≥ 0 and non-decreasing in the horizon (0 at h = 0).
    #[test]
    fn predictions_are_probabilities_and_monotone_in_the_horizon(
        (r, alpha, s, beta) in (param(), param(), param(), param()),
        gt in prop::collection::vec(-1.5f64..1.5, 2),
        gl in -1.5f64..1.5,
        (freq, phase, step_at) in (0.05f64..1.0, 0.0f64..6.3, 0usize..80),
        birth in 0.0f64..20.0,
        t in 0.0f64..30.0,
        x in 0u32..40,
        share in 0.0f64..=1.0,
        (h1, h2) in (0.0f64..30.0, 0.0f64..30.0),
    ) {
        let grid = wave_grid(freq, phase, step_at);
        let model = DynParams::from_theta(&[r, alpha, s, beta, gt[0], gt[1], gl], 2);
        let t_x = if x == 0 { 0.0 } else { share * t };
        let c = DynCustomer { birth, rfm: RfmRow { x: f64::from(x), t_x, t } };
        let (lo, hi) = (h1.min(h2), h1.max(h2));
        let zero = model.predict(&grid, &c, 0.0).unwrap();
        let a = model.predict(&grid, &c, lo).unwrap();
        let b = model.predict(&grid, &c, hi).unwrap();
        prop_assert!((0.0..=1.0).contains(&a.p_alive), "{a:?}");
        prop_assert_eq!(zero.expected_purchases, 0.0);
        prop_assert_eq!(zero.p_alive_at_horizon, zero.p_alive);
        prop_assert!(a.expected_purchases >= 0.0 && a.expected_purchases.is_finite(), "{a:?}");
        prop_assert!(a.expected_purchases <= b.expected_purchases, "{a:?} {b:?}");
        prop_assert!(
            0.0 <= b.p_alive_at_horizon
                && b.p_alive_at_horizon <= a.p_alive_at_horizon
                && a.p_alive_at_horizon <= a.p_alive,
            "{a:?} {b:?}"
        );
    }
}
