//! Pareto/NBD with time-varying covariates (issue 9): coefficients of a seasonal purchase
//! covariate and a price step on dropout recovered from a seeded simulation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tenure_models::paretonbd_dyncov::{fit_paretonbd_dyncov, TimeGrid};
use tenure_models::simulate::{simulate_paretonbd_dyncov, uniform_ages};
use tenure_models::FitOptions;

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
