//! MBG/NBD against the reference results in testdata/refdata (see its README): the CDNOW MLE
//! of lifetimes' `ModifiedBetaGeoFitter` likelihood, polished to ~1e-9.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

mod common;
use common::cdnow;

use tenure_models::mbgnbd::{fit_mbgnbd, MbgNbdLikelihood, MbgNbdParams};
use tenure_models::{FitOptions, Likelihood, Rfm, RfmModel};

fn rel(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs()
}

/// fits_lifetimes_0.11.3.json, mbgnbd: `mle_params` and `mle_log_likelihood`.
const MLE: [f64; 4] = [
    0.5248379958792881,
    6.182992317677947,
    0.8913561680569132,
    1.6139992783572106,
];
const MLE_LL: f64 = -9582.132684899902;

#[test]
fn fit_reproduces_cdnow_mle() {
    let data = Rfm::new(&cdnow()).expect("valid rows");
    let start = Instant::now();
    let (p, fit) = fit_mbgnbd(&data, &FitOptions::default()).expect("fit");
    let elapsed = start.elapsed();
    eprintln!(
        "fit_mbgnbd on CDNOW: {elapsed:?}, {} iterations, method {}, |grad| {:.1e}, {:?}, se {:?}",
        fit.iterations, fit.method, fit.gradient_norm, p, fit.standard_errors
    );
    // README: MLE 0.524838, 6.182992, 0.8913562, 1.613999; LL −9582.1327.
    for (i, (&got, &want)) in fit.params.iter().zip(&MLE).enumerate() {
        assert!(rel(got, want) < 1e-4, "{}: {got} vs {want}", fit.names[i]);
    }
    assert_eq!(p.params(), fit.params);
    assert!(
        (fit.log_likelihood - MLE_LL).abs() < 1e-3,
        "{}",
        fit.log_likelihood
    );
    assert!(fit.converged, "{fit:?}");
    for (name, se) in fit.names.iter().zip(&fit.standard_errors) {
        assert!(se.is_finite() && *se > 0.0, "se({name}) = {se}");
    }
}

#[test]
fn likelihood_at_mle_matches_json() {
    let data = Rfm::new(&cdnow()).expect("valid rows");
    let lik = MbgNbdLikelihood::new(&data);
    let ll = lik.log_likelihood(&MLE);
    assert!((ll - MLE_LL).abs() < 1e-6, "{ll}");
    // lifetimes' own stop: `params` and `log_likelihood` in the json.
    let own = [
        0.5248377255676407,
        6.182988479133824,
        0.8913562809311867,
        1.6140000256723184,
    ];
    assert!((lik.log_likelihood(&own) - -9582.132684899922).abs() < 1e-6);
    // Individual log-likelihoods sum to the total.
    let m = MbgNbdParams {
        r: MLE[0],
        alpha: MLE[1],
        a: MLE[2],
        b: MLE[3],
    };
    let sum: f64 = cdnow()
        .iter()
        .map(|c| m.log_likelihood_one(c.x, c.t_x, c.t))
        .sum();
    assert!((sum - MLE_LL).abs() < 1e-6, "{sum}");
}

#[test]
fn predictions_are_consistent_at_the_mle() {
    let m = MbgNbdParams {
        r: MLE[0],
        alpha: MLE[1],
        a: MLE[2],
        b: MLE[3],
    };
    for c in cdnow() {
        let p = m.p_alive(c.x, c.t_x, c.t);
        assert!(p > 0.0 && p < 1.0, "{c:?}: {p}");
        let e39 = m.conditional_expected_purchases(39.0, c.x, c.t_x, c.t);
        let e52 = m.conditional_expected_purchases(52.0, c.x, c.t_x, c.t);
        assert!(e39 > 0.0 && e52 > e39, "{c:?}: {e39} {e52}");
    }
    for t in [1.0, 39.0, 78.0] {
        let probs: Vec<f64> = (0..3000).map(|n| m.prob_purchases(t, n)).collect();
        let total: f64 = probs.iter().sum();
        let mean: f64 = probs.iter().enumerate().map(|(n, p)| n as f64 * p).sum();
        assert!((total - 1.0).abs() < 1e-12, "t = {t}: {total}");
        assert!(rel(mean, m.expected_purchases(t)) < 1e-10, "t = {t}");
    }
}
