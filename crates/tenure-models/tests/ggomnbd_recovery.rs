//! GGom/NBD parameter recovery: a population drawn from known parameters (seeded simulator),
//! fitted by maximum likelihood; every estimate within 2 standard errors of the truth.
#![allow(clippy::unwrap_used)]

use tenure_models::ggomnbd::fit_ggomnbd;
use tenure_models::simulate::simulate_ggomnbd_holdout;
use tenure_models::{FitOptions, Rfm, RfmRow};

#[test]
fn ggomnbd_recovers_its_parameters() {
    let truth = [0.8, 8.0, 0.03, 1.2, 2.5];
    let n = 20_000;
    // Four quarterly cohorts observed 26 to 104 weeks; recencies on a grid of whole weeks
    // (fewer distinct rows: each costs an integral).
    let ages: Vec<f64> = (0..n).map(|i| 26.0 * (1 + i % 4) as f64).collect();
    let sims = simulate_ggomnbd_holdout(
        truth[0], truth[1], truth[2], truth[3], truth[4], &ages, 0.0, 7,
    )
    .unwrap();
    let rows: Vec<RfmRow> = sims
        .iter()
        .map(|c| {
            let mut r = c.row;
            if r.x > 0.0 {
                r.t_x = r.t_x.round().clamp(1.0, r.t);
            }
            r
        })
        .collect();
    let data = Rfm::new(&rows).unwrap();
    let started = std::time::Instant::now();
    let (_, fit) = fit_ggomnbd(&data, &FitOptions::default()).unwrap();
    eprintln!(
        "GGom/NBD: {n} customers, {} distinct rows, fitted in {:.1} s ({}, {} iterations): {:?} ± {:?}",
        data.distinct(),
        started.elapsed().as_secs_f64(),
        fit.method,
        fit.iterations,
        fit.params,
        fit.standard_errors
    );
    assert!(fit.converged, "{fit:?}");
    for (j, name) in fit.names.iter().enumerate() {
        let (est, se) = (fit.params[j], fit.standard_errors[j]);
        assert!(se.is_finite() && se > 0.0, "{name}: se {se}");
        assert!(
            (est - truth[j]).abs() <= 2.0 * se,
            "{name}: {est} ± {se}, truth {}",
            truth[j]
        );
    }
}
