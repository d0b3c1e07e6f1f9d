//! The waiting time to the next purchase (`tenure_models::nextpurchase`): against mpmath
//! quadrature, against simulated populations (law of total probability: the mean of each
//! customer's P(purchase in (T, T+h] | x, t_x, T) is the population share that buys in the
//! holdout), against the models' own P(X(t) = 0) for a new customer, and its invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tenure_models::bgnbd::BgNbdParams;
use tenure_models::mbgnbd::MbgNbdParams;
use tenure_models::nextpurchase::gamma_share;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::simulate::{
    simulate_bgnbd_holdout, simulate_mbgnbd_holdout, simulate_paretonbd_holdout, uniform_ages,
    SimulatedCustomer,
};
use tenure_models::{NextPurchase, RfmModel};

const BG: BgNbdParams = BgNbdParams {
    r: 0.2425929,
    alpha: 4.413531,
    a: 0.7928862,
    b: 2.425754,
};
const MBG: MbgNbdParams = MbgNbdParams {
    r: 0.5,
    alpha: 6.0,
    a: 0.9,
    b: 4.0,
};
const PARETO: ParetoNbdParams = ParetoNbdParams {
    r: 0.55,
    alpha: 10.6,
    s: 0.61,
    beta: 11.7,
};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// mpmath (40 digits) by quadrature over U = X/(X+Y) ~ Beta(r+x, s), with the Gamma sum
/// S = X+Y integrated in closed form — a different route from the tilted ₂F₁ of the code:
/// (r, α, s, β), (x, t_x, T, h), G = E[λ/(λ+μ)], P(W ≤ h | alive).
#[test]
#[allow(clippy::excessive_precision)]
fn pareto_matches_mpmath_quadrature() {
    let cases = [
        (
            [0.55, 10.6, 0.61, 11.7],
            [2.0, 30.0, 39.0, 13.0],
            0.8095468527145362055,
            0.42076956275089241143,
        ),
        (
            [0.55, 10.6, 0.61, 11.7],
            [0.0, 0.0, 39.0, 52.0],
            0.47707561811302803705,
            0.26865348365058374864,
        ),
        (
            [0.55, 10.6, 0.61, 11.7],
            [12.0, 38.0, 39.0, 4.0],
            0.95454080867953219639,
            0.61025095272363219786,
        ),
        (
            [2.5, 3.0, 1.7, 90.0],
            [5.0, 20.0, 30.0, 1.0],
            0.93612765816476490988,
            0.19925173008715155533,
        ),
        (
            [0.3, 80.0, 2.0, 0.5],
            [1.0, 3.0, 10.0, 100.0],
            0.10296749419265369624,
            0.10194455951184682671,
        ),
    ];
    for (p, [x, t_x, t, h], g, within) in cases {
        let m = PARETO.with_params(&p);
        let got_g = gamma_share(p[0] + x, p[1] + t, p[2], p[3] + t);
        assert!(rel(got_g, g) < 1e-12, "{p:?} G: {got_g} vs {g}");
        let alive = m.p_alive(x, t_x, t);
        let got = m.p_purchase_within(h, x, t_x, t) / alive;
        assert!(
            rel(got, within) < 1e-11,
            "{p:?} x={x} h={h}: {got} vs {within}"
        );
        let ever = m.p_purchase_ever(x, t_x, t) / alive;
        assert!(rel(ever, g) < 1e-12, "{ever} vs {g}");
    }
}

/// For a customer just acquired (x = t_x = T = 0) P(W ≤ t) is 1 − P(X(t) = 0), which the models
/// compute independently (BG/NBD eq. 8 in closed form; Pareto/NBD by quadrature).
#[test]
fn new_customer_agrees_with_prob_of_no_purchase() {
    for t in [0.5, 4.0, 39.0, 300.0] {
        let bg = BG.p_purchase_within(t, 0.0, 0.0, 0.0);
        assert!(rel(bg, 1.0 - BG.prob_purchases(t, 0)) < 1e-13, "t={t}");
        let mbg = MBG.p_purchase_within(t, 0.0, 0.0, 0.0);
        assert!(rel(mbg, 1.0 - MBG.prob_purchases(t, 0)) < 1e-12, "t={t}");
        let pa = PARETO.p_purchase_within(t, 0.0, 0.0, 0.0);
        assert!(
            rel(pa, 1.0 - PARETO.prob_purchases(t, 0)) < 1e-10,
            "t={t}: {pa}"
        );
    }
}

/// Mean and standard error of D_i = 1{bought in the holdout} − P_i over customers. E[D] = 0
/// when P_i is right given each customer's (x, t_x, T); the D_i are independent.
fn bias(sim: &[SimulatedCustomer], p: impl Fn(&SimulatedCustomer) -> f64) -> (f64, f64, usize) {
    let d: Vec<f64> = sim
        .iter()
        .map(|c| f64::from(u8::from(c.holdout > 0.0)) - p(c))
        .collect();
    let n = d.len() as f64;
    let m = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt(), d.len())
}

/// Within 4 standard errors overall and in groups of frequency (the conditioning on x is what
/// the formula adds to the population rate).
fn check_population<M: NextPurchase>(m: &M, sim: &[SimulatedCustomer], h: f64, what: &str) {
    // (name, lowest x, highest x)
    let groups = [
        ("all", 0.0, f64::INFINITY),
        ("x=0", 0.0, 0.0),
        ("x=1-3", 1.0, 3.0),
        ("x>=4", 4.0, f64::INFINITY),
    ];
    for (name, lo, hi) in groups {
        let part: Vec<SimulatedCustomer> = sim
            .iter()
            .copied()
            .filter(|c| (lo..=hi).contains(&c.row.x))
            .collect();
        if part.len() < 2_000 {
            continue;
        }
        let (d, se, n) = bias(&part, |c| {
            m.p_purchase_within(h, c.row.x, c.row.t_x, c.row.t)
        });
        let observed = part.iter().filter(|c| c.holdout > 0.0).count() as f64 / part.len() as f64;
        println!("{what} h={h} {name}: n={n} observed {observed:.4}, bias {d:+.5} (se {se:.5})");
        assert!(
            d.abs() < 4.0 * se,
            "{what} h={h} {name}: bias {d} (se {se})"
        );
    }
}

const N: usize = 200_000;

#[test]
fn bgnbd_matches_simulation() {
    let ages = uniform_ages(N, 20.0, 80.0, 3).unwrap();
    for h in [4.0, 26.0] {
        let sim = simulate_bgnbd_holdout(BG.r, BG.alpha, BG.a, BG.b, &ages, h, 11).unwrap();
        check_population(&BG, &sim, h, "BG/NBD");
    }
}

#[test]
fn mbgnbd_matches_simulation() {
    let ages = uniform_ages(N, 10.0, 60.0, 4).unwrap();
    for h in [4.0, 26.0] {
        let sim = simulate_mbgnbd_holdout(MBG.r, MBG.alpha, MBG.a, MBG.b, &ages, h, 12).unwrap();
        check_population(&MBG, &sim, h, "MBG/NBD");
    }
}

#[test]
fn paretonbd_matches_simulation() {
    let ages = uniform_ages(N, 20.0, 80.0, 5).unwrap();
    for h in [4.0, 26.0] {
        let sim =
            simulate_paretonbd_holdout(PARETO.r, PARETO.alpha, PARETO.s, PARETO.beta, &ages, h, 13)
                .unwrap();
        check_population(&PARETO, &sim, h, "Pareto/NBD");
    }
}

const ROWS: [(f64, f64, f64); 7] = [
    (0.0, 0.0, 39.0),
    (1.0, 2.0, 39.0),
    (2.0, 30.4, 38.9),
    (7.0, 35.0, 39.0),
    (7.0, 5.0, 39.0),
    (40.0, 77.0, 78.0),
    (0.0, 0.0, 0.5),
];
const HORIZONS: [f64; 9] = [0.0, 1e-6, 0.5, 1.0, 4.0, 13.0, 52.0, 520.0, 1e6];

/// Bounds, monotone in the horizon, the limit P(W < ∞), E[N(h)] ≥ P(N(h) ≥ 1), and quantiles
/// that invert P(W ≤ w).
fn invariants<M: NextPurchase>(m: &M, what: &str) {
    for &(x, t_x, t) in &ROWS {
        let ever = m.p_purchase_ever(x, t_x, t);
        let alive = m.p_alive(x, t_x, t);
        assert!(
            ever > 0.0 && ever <= alive + 1e-15,
            "{what} {x} {t_x} {t}: {ever} vs {alive}"
        );
        let mut prev = 0.0;
        for h in HORIZONS {
            let p = m.p_purchase_within(h, x, t_x, t);
            assert!((0.0..=1.0).contains(&p), "{what} {x} {t_x} {t} h={h}: {p}");
            assert!(p >= prev, "{what} {x} {t_x} {t} h={h}: {p} < {prev}");
            assert!(p <= ever * (1.0 + 1e-12), "{what} h={h}: {p} > {ever}");
            let e = m.conditional_expected_purchases(h, x, t_x, t);
            assert!(
                e >= p * (1.0 - 1e-12),
                "{what} {x} {t_x} {t} h={h}: E {e} < P {p}"
            );
            prev = p;
        }
        assert_eq!(m.p_purchase_within(0.0, x, t_x, t), 0.0);
        let at_inf = m.p_purchase_within(f64::INFINITY, x, t_x, t);
        assert!(rel(at_inf, ever) < 1e-14, "{what}: {at_inf} vs {ever}");
        // Heavy tails (r + x = 0.24: W has no mean), hence the far horizon.
        let far = m.p_purchase_within(1e80, x, t_x, t);
        assert!(
            rel(far, ever) < 1e-6,
            "{what} {x} {t_x} {t}: {far} vs {ever}"
        );
        for q in [0.01, 0.1, 0.5, 0.8, 0.9, 0.99] {
            let w = m.waiting_time_quantile(q, x, t_x, t);
            let back = m.p_purchase_within(w, x, t_x, t) / ever;
            assert!(
                (back - q).abs() < 1e-9,
                "{what} {x} {t_x} {t} q={q}: w={w} gives {back}"
            );
        }
        let win = m.next_purchase_window(0.1, 0.9, x, t_x, t).unwrap();
        assert!(
            win.early < win.median && win.median < win.late,
            "{what}: {win:?}"
        );
        assert!(rel(win.p_never, 1.0 - ever) < 1e-12 || win.p_never < 1e-15);
        assert!(m.next_purchase_window(0.6, 0.9, x, t_x, t).is_none());
        assert!(m.next_purchase_window(0.1, 1.0, x, t_x, t).is_none());
        assert!(m.waiting_time_quantile(1.0, x, t_x, t).is_nan());
        assert!(m.p_purchase_within(-1.0, x, t_x, t).is_nan());
    }
}

#[test]
fn invariants_hold_for_every_model() {
    invariants(&BG, "BG/NBD");
    invariants(&MBG, "MBG/NBD");
    invariants(&PARETO, "Pareto/NBD");
    invariants(
        &ParetoNbdParams {
            r: 2.5,
            alpha: 3.0,
            s: 1.7,
            beta: 90.0,
        },
        "Pareto/NBD 2",
    );
}

#[test]
fn bg_family_never_dies_before_the_next_purchase() {
    // As h → ∞ everyone alive buys: the limit is P(alive); the median has a closed form.
    for &(x, t_x, t) in &ROWS {
        assert_eq!(BG.p_purchase_ever(x, t_x, t), BG.p_alive(x, t_x, t));
        assert_eq!(MBG.p_purchase_ever(x, t_x, t), MBG.p_alive(x, t_x, t));
        let median = (BG.alpha + t) * (2f64.powf(1.0 / (BG.r + x)) - 1.0);
        assert!(rel(BG.waiting_time_quantile(0.5, x, t_x, t), median) < 1e-13);
    }
    // x = 0 under BG/NBD: alive for sure, so never buying again has no mass.
    let w = BG.next_purchase_window(0.1, 0.9, 0.0, 0.0, 39.0).unwrap();
    assert_eq!(w.p_never, 0.0);
    // Pareto/NBD: she may die first, so P(W < ∞) < P(alive).
    let (x, t_x, t) = (2.0, 30.0, 39.0);
    assert!(PARETO.p_purchase_ever(x, t_x, t) < 0.9 * PARETO.p_alive(x, t_x, t));
}

#[test]
fn invalid_inputs_are_nan_or_none() {
    let bad = BgNbdParams { r: -1.0, ..BG };
    assert!(bad.p_purchase_within(4.0, 1.0, 2.0, 10.0).is_nan());
    assert!(bad.next_purchase_window(0.1, 0.9, 1.0, 2.0, 10.0).is_none());
    assert!(BG.p_purchase_within(4.0, 1.0, 20.0, 10.0).is_nan()); // t_x > T
    assert!(gamma_share(0.0, 1.0, 1.0, 1.0).is_nan());
}
