//! Pareto/NBD with correlated rates (issue 9): individual log-likelihoods against the defining
//! double integral evaluated by mpmath (pinned in testdata/paretonbd_cor, made by
//! bench/paretonbd_cor_reference.py), and parameter recovery from a seeded simulation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tenure_models::paretonbd_cor::{fit_paretonbd_correlated, omega_bounds, CorrelatedParams};
use tenure_models::simulate::{simulate_paretonbd_correlated, uniform_ages};
use tenure_models::{FitOptions, Rfm, RfmModel};

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/paretonbd_cor/loglik_mpmath.csv"
);

#[test]
fn log_likelihoods_equal_mpmath_double_integrals() {
    let text = std::fs::read_to_string(REFERENCE).unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let v: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        let p = CorrelatedParams {
            r: v[0],
            alpha: v[1],
            s: v[2],
            beta: v[3],
            omega: v[4],
        };
        let got = p.log_likelihood_one(v[5], v[6], v[7]);
        let want = v[8];
        assert!(
            (got - want).abs() < 1e-9 * want.abs().max(1.0),
            "{line}: {got} vs {want}"
        );
        n += 1;
    }
    assert_eq!(n, 45, "every reference row was checked");
}

/// 40,000 customers observed for T ~ Uniform[1, 4] (a time unit in which rates are near 1, so
/// the Sarmanov kernel allows a sizeable correlation); ω at 0.8 of its upper bound. Every
/// parameter, and the correlation, within 2 standard errors of the truth; the independent
/// model's likelihood is lower.
#[test]
fn correlated_parameters_are_recovered() {
    let (r, alpha, s, beta) = (0.9, 1.0, 0.8, 2.0);
    let (_, hi) = omega_bounds(r, alpha, s, beta);
    let truth = CorrelatedParams {
        r,
        alpha,
        s,
        beta,
        omega: 0.8 * hi,
    };
    let ages = uniform_ages(40_000, 1.0, 4.0, 3).unwrap();
    let sim = simulate_paretonbd_correlated(r, alpha, s, beta, truth.omega, &ages, 1.0, 3).unwrap();
    let rows: Vec<_> = sim.iter().map(|c| c.row).collect();
    let data = Rfm::new(&rows).unwrap();
    let fit = fit_paretonbd_correlated(&data, &FitOptions::default()).unwrap();
    assert!(fit.fit.converged, "{:?}", fit.fit);
    let est = [
        fit.params.r,
        fit.params.alpha,
        fit.params.s,
        fit.params.beta,
    ];
    let want = [r, alpha, s, beta];
    for k in 0..4 {
        let z = (est[k] - want[k]) / fit.fit.standard_errors[k];
        eprintln!(
            "{}: truth {} estimate {:.5} se {:.5} z {z:+.2}",
            fit.fit.names[k], want[k], est[k], fit.fit.standard_errors[k]
        );
        assert!(z.abs() < 2.0);
    }
    let c = fit.correlation;
    let z = (c.value - truth.correlation()) / c.se;
    eprintln!(
        "corr(λ, μ): truth {:.4} estimate {:.4} se {:.4} z {z:+.2} (independent LL {:.2}, correlated {:.2})",
        truth.correlation(),
        c.value,
        c.se,
        fit.independent.log_likelihood,
        fit.fit.log_likelihood
    );
    assert!(z.abs() < 2.0);
    assert!(c.lower < truth.correlation() && truth.correlation() < c.upper);
    assert!(fit.fit.log_likelihood > fit.independent.log_likelihood);

    // The true model's predictions against what happened: customers alive at T, alive at
    // T + 1, and purchases in (T, T + 1]; each within 4 standard deviations (binomial for the
    // alive counts, Poisson-scale for the purchases).
    let (mut alive, mut alive_p, mut later, mut later_p, mut bought, mut bought_p) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let mut var_alive = 0.0;
    for c in &sim {
        let (x, t_x, t) = (c.row.x, c.row.t_x, c.row.t);
        let p = truth.p_alive(x, t_x, t);
        alive_p += p;
        var_alive += p * (1.0 - p);
        alive += f64::from(u8::from(c.alive));
        later_p += truth.p_alive_at(1.0, x, t_x, t);
        later += f64::from(u8::from(c.alive_at_end));
        bought_p += truth.conditional_expected_purchases(1.0, x, t_x, t);
        bought += c.holdout;
    }
    eprintln!(
        "alive at T {alive} (predicted {alive_p:.0}), at T+1 {later} ({later_p:.0}), purchases {bought} ({bought_p:.0})"
    );
    assert!((alive - alive_p).abs() < 4.0 * var_alive.sqrt());
    assert!((later - later_p).abs() < 4.0 * later_p.sqrt());
    assert!((bought - bought_p).abs() < 4.0 * 3.0 * bought_p.sqrt());
}
