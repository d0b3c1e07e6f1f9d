//! Parameter recovery: populations of 100,000 customers drawn from known parameters (observed
//! for T ~ Uniform[26, 78] weeks), fitted back; every estimate must lie within 2 of its
//! standard errors of the truth. Seeds are fixed, so each test is deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tenure_models::bgnbd::fit_bgnbd;
use tenure_models::gammagamma::{fit_gammagamma, SpendData, SpendRow};
use tenure_models::mbgnbd::fit_mbgnbd;
use tenure_models::paretonbd::fit_paretonbd;
use tenure_models::simulate::{
    simulate_bgnbd, simulate_mbgnbd, simulate_mean_spend, simulate_paretonbd, uniform_ages,
};
use tenure_models::{Fit, FitOptions, Rfm};

const CUSTOMERS: usize = 100_000;

fn ages(seed: u64) -> Vec<f64> {
    uniform_ages(CUSTOMERS, 26.0, 78.0, seed).expect("valid range")
}

/// Every estimate within 2 standard errors of the truth; prints the z-scores.
fn assert_recovered(what: &str, fit: &Fit, truth: &[f64]) {
    assert!(fit.converged, "{what}: fit did not converge: {fit:?}");
    for (i, name) in fit.names.iter().enumerate() {
        let z = (fit.params[i] - truth[i]) / fit.standard_errors[i];
        eprintln!(
            "{what} {name}: truth {} estimate {:.6} se {:.6} z {z:+.2}",
            truth[i], fit.params[i], fit.standard_errors[i]
        );
        assert!(
            z.abs() < 2.0,
            "{what} {name}: {} vs truth {} (z = {z:.2})",
            fit.params[i],
            truth[i]
        );
    }
}

#[test]
fn bgnbd_parameters_are_recovered() {
    let truth = [0.243, 4.414, 0.793, 2.426];
    let rows = simulate_bgnbd(truth[0], truth[1], truth[2], truth[3], &ages(1), 1).expect("valid");
    let data = Rfm::new(&rows).expect("simulated rows are valid");
    let (_, fit) = fit_bgnbd(&data, &FitOptions::default()).expect("fit");
    assert_recovered("BG/NBD", &fit, &truth);
}

#[test]
fn mbgnbd_parameters_are_recovered() {
    let truth = [0.525, 6.183, 0.891, 1.614];
    let rows = simulate_mbgnbd(truth[0], truth[1], truth[2], truth[3], &ages(2), 2).expect("valid");
    let data = Rfm::new(&rows).expect("simulated rows are valid");
    let (_, fit) = fit_mbgnbd(&data, &FitOptions::default()).expect("fit");
    assert_recovered("MBG/NBD", &fit, &truth);
}

#[test]
fn gammagamma_parameters_are_recovered() {
    // Frequencies from a BG/NBD population; spends from the Gamma-Gamma truth; only repeat
    // buyers carry information about spend.
    let truth = [6.25, 3.74, 15.44];
    let rows = simulate_bgnbd(0.243, 4.414, 0.793, 2.426, &ages(3), 3).expect("valid");
    let x: Vec<f64> = rows.iter().map(|r| r.x).collect();
    let spend = simulate_mean_spend(truth[0], truth[1], truth[2], &x, 3).expect("valid");
    let spend_rows: Vec<SpendRow> = x
        .iter()
        .zip(&spend)
        .map(|(&x, &mean_spend)| SpendRow { x, mean_spend })
        .collect();
    let data = SpendData::repeat_buyers(&spend_rows).expect("valid spends");
    let (_, fit) = fit_gammagamma(&data, &FitOptions::default()).expect("fit");
    assert_recovered("Gamma-Gamma", &fit, &truth);
}

#[test]
fn paretonbd_parameters_are_recovered() {
    let truth = [0.553, 10.578, 0.606, 11.668];
    let rows =
        simulate_paretonbd(truth[0], truth[1], truth[2], truth[3], &ages(4), 4).expect("valid");
    let data = Rfm::new(&rows).expect("simulated rows are valid");
    let (_, fit) = fit_paretonbd(&data, &FitOptions::default()).expect("fit");
    assert_recovered("Pareto/NBD", &fit, &truth);
}
