//! Pareto/NBD against the pinned reference results in `testdata/refdata` (see its README):
//! the CDNOW fit, lifetimes 0.11.3's per-customer predictions, and the 50-digit mpmath
//! log-likelihoods of hard cases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{cdnow, column, num, read_csv, refdata};

use tenure_models::paretonbd::{fit_paretonbd, ParetoNbdParams};
use tenure_models::{FitOptions, Rfm, RfmModel};

fn rel_close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs()
}

#[test]
fn fit_on_cdnow_matches_the_mle() {
    let data = Rfm::new(&cdnow()).unwrap();
    assert_eq!(data.customers(), 2357.0);
    let started = std::time::Instant::now();
    let (p, fit) = fit_paretonbd(&data, &FitOptions::default()).unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "Pareto/NBD on CDNOW: {p:?}, LL {:.6}, {} iterations, |∇| {:.1e}, {} distinct rows, {:?}",
        fit.log_likelihood,
        fit.iterations,
        fit.gradient_norm,
        data.distinct(),
        elapsed
    );
    // README: MLE 0.5532755, 10.57761, 0.6062137, 11.66792; LL −9594.9739 (params 1e-4, LL ±0.001).
    let mle = [
        0.5532754729841829,
        10.577612073082731,
        0.6062136715276182,
        11.667915376218149,
    ];
    for (i, (got, want)) in fit.params.iter().zip(mle).enumerate() {
        assert!(
            rel_close(*got, want, 1e-4),
            "{}: {got} vs {want}",
            fit.names[i]
        );
    }
    assert_eq!(p.params(), fit.params);
    assert!(
        (fit.log_likelihood - -9594.973929826861).abs() < 1e-3,
        "LL {}",
        fit.log_likelihood
    );
    assert!(fit.converged, "gradient norm {}", fit.gradient_norm);
    assert_eq!(fit.names, ["r", "alpha", "s", "beta"]);
    for (name, se) in fit.names.iter().zip(&fit.standard_errors) {
        assert!(se.is_finite() && *se > 0.0, "se of {name}: {se}");
    }
    // The model's own per-customer likelihood sums to the fit's.
    let by_row: f64 = cdnow()
        .iter()
        .map(|r| p.log_likelihood_one(r.x, r.t_x, r.t))
        .sum();
    assert!(
        (by_row - fit.log_likelihood).abs() < 1e-8,
        "{by_row} vs {}",
        fit.log_likelihood
    );
}

#[test]
fn hard_cases_match_mpmath() {
    let (h, rows) = read_csv("paretonbd_loglik_mpmath.csv");
    let idx: Vec<usize> = [
        "r",
        "alpha",
        "s",
        "beta",
        "x",
        "t_x",
        "T",
        "loglik",
        "lifetimes_0.11.3",
    ]
    .iter()
    .map(|n| column(&h, n))
    .collect();
    assert_eq!(rows.len(), 84);
    let mut lifetimes_nan = 0;
    let mut worst = 0.0f64;
    for r in &rows {
        let v: Vec<f64> = idx.iter().map(|&i| num(&r[i])).collect();
        let p = ParetoNbdParams {
            r: v[0],
            alpha: v[1],
            s: v[2],
            beta: v[3],
        };
        let got = p.log_likelihood_one(v[4], v[5], v[6]);
        let want = v[7];
        let tol = 1e-9 * want.abs().max(1.0);
        assert!(
            (got - want).abs() <= tol,
            "{r:?}: {got} vs {want} (diff {:e})",
            got - want
        );
        worst = worst.max((got - want).abs() / want.abs().max(1.0));
        lifetimes_nan += usize::from(v[8].is_nan());
    }
    assert_eq!(lifetimes_nan, 3, "the file's rows where lifetimes breaks");
    eprintln!("worst difference from mpmath (relative, absolute below 1): {worst:.1e}");
}

/// lifetimes' own Pareto/NBD parameters, from the JSON in the predictions file's header.
fn lifetimes_params() -> ParetoNbdParams {
    let text = std::fs::read_to_string(refdata("cdnow_predictions_lifetimes_0.11.3.csv")).unwrap();
    let start = text.find("\"paretonbd\": {").unwrap() + "\"paretonbd\": {".len();
    let body = &text[start..start + text[start..].find('}').unwrap()];
    let get = |name: &str| -> f64 {
        body.split(',')
            .map(|kv| kv.split(':').map(str::trim).collect::<Vec<_>>())
            .find(|kv| kv[0] == format!("\"{name}\""))
            .map(|kv| num(kv[1]))
            .unwrap()
    };
    ParetoNbdParams {
        r: get("r"),
        alpha: get("alpha"),
        s: get("s"),
        beta: get("beta"),
    }
}

#[test]
fn per_customer_predictions_match_lifetimes() {
    let p = lifetimes_params();
    assert!(rel_close(p.r, 0.5532845580225381, 1e-15));
    let (hs, summary) = read_csv("cdnow_customers_summary_with_transactions.csv");
    let (id, x, t_x, t) = (
        column(&hs, "ID"),
        column(&hs, "x"),
        column(&hs, "t_x"),
        column(&hs, "T"),
    );
    let customers: std::collections::HashMap<String, (f64, f64, f64)> = summary
        .iter()
        .map(|r| (r[id].clone(), (num(&r[x]), num(&r[t_x]), num(&r[t]))))
        .collect();
    let (hp, preds) = read_csv("cdnow_predictions_lifetimes_0.11.3.csv");
    let (cid, alive, e39, e52) = (
        column(&hp, "customer_id"),
        column(&hp, "paretonbd_p_alive"),
        column(&hp, "paretonbd_expected_39w"),
        column(&hp, "paretonbd_expected_52w"),
    );
    assert_eq!(preds.len(), 2357);
    let mut worst = 0.0f64;
    for r in &preds {
        let &(x, t_x, t) = customers
            .get(&r[cid])
            .unwrap_or_else(|| panic!("no customer {}", r[cid]));
        let pa = p.p_alive(x, t_x, t);
        assert!((0.0..=1.0).contains(&pa));
        for (got, want) in [
            (pa, num(&r[alive])),
            (
                p.conditional_expected_purchases(39.0, x, t_x, t),
                num(&r[e39]),
            ),
            (
                p.conditional_expected_purchases(52.0, x, t_x, t),
                num(&r[e52]),
            ),
        ] {
            assert!(
                rel_close(got, want, 1e-6),
                "customer {}: {got} vs {want}",
                r[cid]
            );
            worst = worst.max((got - want).abs() / want.abs());
        }
    }
    eprintln!("worst relative difference from lifetimes: {worst:.1e}");
}

#[test]
fn new_customer_expectation_and_distribution() {
    let p = lifetimes_params();
    let (h, rows) = read_csv("cdnow_expected_new_customer_lifetimes_0.11.3.csv");
    let (tc, ec) = (column(&h, "t_weeks"), column(&h, "paretonbd_expected"));
    assert_eq!(rows.len(), 79);
    for r in &rows {
        let (t, want) = (num(&r[tc]), num(&r[ec]));
        let got = p.expected_purchases(t);
        if want == 0.0 {
            assert_eq!(got, 0.0);
        } else {
            assert!(rel_close(got, want, 1e-6), "t={t}: {got} vs {want}");
        }
    }
    // P(X(t) = n) is a distribution whose mean is E[X(t)].
    for t in [1.0, 39.0, 78.0] {
        let probs: Vec<f64> = (0..400).map(|n| p.prob_purchases(t, n)).collect();
        assert!(probs.iter().all(|q| (0.0..=1.0).contains(q)));
        let total: f64 = probs.iter().sum();
        let mean: f64 = probs.iter().enumerate().map(|(n, q)| n as f64 * q).sum();
        assert!((total - 1.0).abs() < 1e-10, "t={t}: Σ P = {total}");
        let e = p.expected_purchases(t);
        assert!(
            (mean - e).abs() < 1e-9 * e,
            "t={t}: Σ n P = {mean} vs E[X(t)] = {e}"
        );
    }
}

#[test]
fn p_alive_stays_in_range_on_hard_rows() {
    for p in [
        ParetoNbdParams {
            r: 0.5,
            alpha: 1.0,
            s: 0.5,
            beta: 100.0,
        },
        ParetoNbdParams {
            r: 2.0,
            alpha: 500.0,
            s: 0.3,
            beta: 2.0,
        },
        ParetoNbdParams {
            r: 5.0,
            alpha: 0.1,
            s: 0.05,
            beta: 0.2,
        },
    ] {
        for (x, t_x, t) in [
            (0.0, 0.0, 1.0),
            (20000.0, 10.0, 10000.0),
            (20000.0, 9999.0, 10000.0),
            (1.0, 0.001, 10000.0),
        ] {
            let pa = p.p_alive(x, t_x, t);
            assert!((0.0..=1.0).contains(&pa), "{p:?} {x} {t_x} {t}: {pa}");
            let e = p.conditional_expected_purchases(52.0, x, t_x, t);
            assert!(e.is_finite() && e >= 0.0, "{p:?} {x} {t_x} {t}: {e}");
        }
    }
}
