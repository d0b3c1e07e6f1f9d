//! Predictions about the future beyond the expected count, for BG/NBD, MBG/NBD and Pareto/NBD:
//! P(alive at T + t | x, t_x, T) (`RfmModel::p_alive_at`) — the BG family's ₂F₁ against a
//! quadrature of its defining integral — and the distribution of the next t's purchases
//! (`RfmModel::prob_future_purchases`) — summing to 1, with the mean of eq. (10) — and both
//! against simulated populations whose future is known.
#![allow(clippy::unwrap_used)]

use tenure_models::bgnbd::BgNbdParams;
use tenure_models::mbgnbd::MbgNbdParams;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::simulate::{
    simulate_bgnbd_holdout, simulate_mbgnbd_holdout, simulate_paretonbd_holdout, uniform_ages,
};
use tenure_models::special::ln_beta;
use tenure_models::RfmModel;

const BG: BgNbdParams = BgNbdParams {
    r: 0.243,
    alpha: 4.414,
    a: 0.793,
    b: 2.426,
};
const MBG: MbgNbdParams = MbgNbdParams {
    r: 0.525,
    alpha: 6.183,
    a: 0.891,
    b: 1.614,
};
const PNBD: ParetoNbdParams = ParetoNbdParams {
    r: 0.553,
    alpha: 10.578,
    s: 0.606,
    beta: 11.669,
};

/// E_p[(1 + p·u)^(−(r+x))] for p ~ Beta(a, q), by Simpson's rule after p = v^(1/a) (which
/// removes the p^(a−1) singularity): (1/(a·B(a, q))) ∫₀¹ (1 − v^(1/a))^(q−1) (1 + v^(1/a) u)^(−(r+x)) dv.
fn survival_by_quadrature(r: f64, alpha: f64, a: f64, q: f64, x: f64, t: f64, future: f64) -> f64 {
    let u = future / (alpha + t);
    let f = |v: f64| {
        let p = v.powf(1.0 / a);
        (1.0 - p).powf(q - 1.0) * (1.0 + p * u).powf(-(r + x))
    };
    let n = 200_000;
    let h = 1.0 / n as f64;
    let mut s = f(0.0) + f(1.0);
    for i in 1..n {
        s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0 / (a * ln_beta(a, q).exp())
}

#[test]
fn bg_family_equals_the_quadrature_of_its_integral() {
    for &(x, t_x, t, future) in &[
        (0.0, 0.0, 30.0, 10.0),
        (2.0, 20.0, 38.0, 39.0),
        (7.0, 35.0, 38.0, 52.0),
        (30.0, 37.0, 38.0, 200.0),
        (500.0, 300.0, 310.0, 104.0),
    ] {
        // BG/NBD: p | alive ~ Beta(a, b + x); MBG/NBD: Beta(a, b + x + 1).
        let want = BG.p_alive(x, t_x, t)
            * survival_by_quadrature(BG.r, BG.alpha, BG.a, BG.b + x, x, t, future);
        let got = BG.p_alive_at(future, x, t_x, t);
        // 1e-8 rather than 1e-9: the quadrature's own error (v^(1/a) is not smooth at 0)
        // reaches 2e-9 where the integrand is a narrow peak (x = 500).
        assert!(
            (got - want).abs() <= 1e-8 * want.max(1e-300),
            "BG x={x} t={future}: {got} vs {want}"
        );
        let want = MBG.p_alive(x, t_x, t)
            * survival_by_quadrature(MBG.r, MBG.alpha, MBG.a, MBG.b + x + 1.0, x, t, future);
        let got = MBG.p_alive_at(future, x, t_x, t);
        assert!(
            (got - want).abs() <= 1e-8 * want.max(1e-300),
            "MBG x={x} t={future}: {got} vs {want}"
        );
    }
}

#[test]
fn starts_at_p_alive_falls_with_the_horizon_and_vanishes() {
    let models: [&dyn RfmModel; 3] = [&BG, &MBG, &PNBD];
    for m in models {
        for &(x, t_x, t) in &[(0.0, 0.0, 20.0), (3.0, 10.0, 38.0), (1000.0, 99.0, 100.0)] {
            let now = m.p_alive(x, t_x, t);
            assert_eq!(m.p_alive_at(0.0, x, t_x, t), now);
            let mut last = now;
            for k in 1..=40 {
                let p = m.p_alive_at(k as f64 * 13.0, x, t_x, t);
                assert!(
                    p.is_finite() && p <= last && p >= 0.0,
                    "{x} {t_x} {t} at {k}: {p} > {last}"
                );
                last = p;
            }
            assert_eq!(m.p_alive_at(f64::INFINITY, x, t_x, t), 0.0);
            assert!(m.p_alive_at(-1.0, x, t_x, t).is_nan());
        }
    }
}

/// Simulated customers with known survival: Σ P(alive at T + h | their calibration data) must
/// match the number actually alive at T + h, within 4 standard deviations of that count.
#[test]
fn expected_survivors_match_simulated_populations() {
    let n = 200_000;
    let ages = uniform_ages(n, 10.0, 60.0, 11).unwrap();
    let h = 26.0;
    let check =
        |name: &str, m: &dyn RfmModel, sims: Vec<tenure_models::simulate::SimulatedCustomer>| {
            let (mut expected, mut var, mut actual) = (0.0, 0.0, 0usize);
            for c in &sims {
                let p = m.p_alive_at(h, c.row.x, c.row.t_x, c.row.t);
                expected += p;
                var += p * (1.0 - p);
                actual += usize::from(c.alive_at_end);
            }
            let z = (actual as f64 - expected) / var.sqrt();
            eprintln!("{name}: {actual} alive at T + {h}, expected {expected:.1} (z = {z:.2})");
            assert!(
                z.abs() < 4.0,
                "{name}: {actual} vs {expected:.1}, z = {z:.2}"
            );
        };
    check(
        "BG/NBD",
        &BG,
        simulate_bgnbd_holdout(BG.r, BG.alpha, BG.a, BG.b, &ages, h, 21).unwrap(),
    );
    check(
        "MBG/NBD",
        &MBG,
        simulate_mbgnbd_holdout(MBG.r, MBG.alpha, MBG.a, MBG.b, &ages, h, 22).unwrap(),
    );
    check(
        "Pareto/NBD",
        &PNBD,
        simulate_paretonbd_holdout(PNBD.r, PNBD.alpha, PNBD.s, PNBD.beta, &ages, h, 23).unwrap(),
    );
}

const ROWS: [(f64, f64, f64); 5] = [
    (0.0, 0.0, 30.0),
    (1.0, 2.0, 38.0),
    (4.0, 30.0, 38.0),
    (25.0, 37.0, 38.0),
    (300.0, 90.0, 100.0),
];

#[test]
fn future_purchase_distribution_sums_to_one_with_the_conditional_mean() {
    let models: [(&str, &dyn RfmModel); 3] =
        [("BG/NBD", &BG), ("MBG/NBD", &MBG), ("Pareto/NBD", &PNBD)];
    for (name, m) in models {
        for &(x, t_x, t) in &ROWS {
            for h in [1.0, 39.0, 104.0] {
                let (mut total, mut mean) = (0.0, 0.0);
                let mut n = 0u32;
                loop {
                    let p = m.prob_future_purchases(h, n, x, t_x, t);
                    assert!((0.0..=1.0).contains(&p), "{name} {x} {h} n={n}: {p}");
                    total += p;
                    mean += f64::from(n) * p;
                    n += 1;
                    // Past the mass: the terms left add nothing to the total or the mean.
                    if (n > 30 && p < 1e-20 && f64::from(n) * p < 1e-20) || n > 20_000 {
                        break;
                    }
                }
                assert!(
                    (total - 1.0).abs() < 1e-9,
                    "{name} x={x} h={h}: Σ = {total}"
                );
                let want = m.conditional_expected_purchases(h, x, t_x, t);
                assert!(
                    (mean - want).abs() <= 1e-7 * want.max(1e-12),
                    "{name} x={x} h={h}: mean {mean} vs eq. 10 {want}"
                );
            }
        }
    }
}

/// Σ over simulated customers of P(n purchases in the holdout | their data) against the number
/// who made n, for n = 0..4: each within 4 standard deviations.
#[test]
fn future_purchase_distribution_matches_simulated_holdouts() {
    let n = 100_000;
    let ages = uniform_ages(n, 10.0, 60.0, 12).unwrap();
    let h = 26.0;
    let check = |name: &str,
                 m: &dyn RfmModel,
                 sims: Vec<tenure_models::simulate::SimulatedCustomer>| {
        for k in 0..5u32 {
            let (mut expected, mut var, mut actual) = (0.0, 0.0, 0usize);
            for c in &sims {
                let p = m.prob_future_purchases(h, k, c.row.x, c.row.t_x, c.row.t);
                expected += p;
                var += p * (1.0 - p);
                actual += usize::from(c.holdout == f64::from(k));
            }
            let z = (actual as f64 - expected) / var.sqrt();
            eprintln!("{name}: {actual} customers with {k} holdout purchases, expected {expected:.1} (z = {z:.2})");
            assert!(
                z.abs() < 4.0,
                "{name} n={k}: {actual} vs {expected:.1}, z = {z:.2}"
            );
        }
    };
    check(
        "BG/NBD",
        &BG,
        simulate_bgnbd_holdout(BG.r, BG.alpha, BG.a, BG.b, &ages, h, 31).unwrap(),
    );
    check(
        "MBG/NBD",
        &MBG,
        simulate_mbgnbd_holdout(MBG.r, MBG.alpha, MBG.a, MBG.b, &ages, h, 32).unwrap(),
    );
    check(
        "Pareto/NBD",
        &PNBD,
        simulate_paretonbd_holdout(PNBD.r, PNBD.alpha, PNBD.s, PNBD.beta, &ages, h, 33).unwrap(),
    );
}
