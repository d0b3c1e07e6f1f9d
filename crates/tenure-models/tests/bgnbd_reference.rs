//! BG/NBD against the reference results in testdata/refdata (see its README for the sources and
//! tolerances): the CDNOW MLE, the 50-digit individual log-likelihoods, lifetimes 0.11.3's
//! per-customer predictions and E[X(t)].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

mod common;
use common::{cdnow, column, num, read_csv, refdata};

use tenure_models::bgnbd::{fit_bgnbd, BgNbdLikelihood, BgNbdParams};
use tenure_models::fit::numeric_observed_covariance;
use tenure_models::{FitOptions, Likelihood, Rfm, RfmModel};

/// The number after `"key": ` in `text`, searching from `from`.
fn json_number(text: &str, from: usize, key: &str) -> f64 {
    let pat = format!("\"{key}\": ");
    let start = from
        + text[from..]
            .find(&pat)
            .unwrap_or_else(|| panic!("no {key}"))
        + pat.len();
    let end = start + text[start..].find([',', '}', '\n']).expect("number end");
    num(text[start..end].trim())
}

/// lifetimes' own BG/NBD parameters, from the predictions file's header.
fn lifetimes_params() -> BgNbdParams {
    let text =
        std::fs::read_to_string(refdata("cdnow_predictions_lifetimes_0.11.3.csv")).expect("read");
    let header: String = text
        .lines()
        .filter(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let at = header.find("\"bgnbd\": {").expect("bgnbd params in header");
    BgNbdParams {
        r: json_number(&header, at, "r"),
        alpha: json_number(&header, at, "alpha"),
        a: json_number(&header, at, "a"),
        b: json_number(&header, at, "b"),
    }
}

fn rel(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs()
}

#[test]
fn fit_reproduces_cdnow_mle() {
    let data = Rfm::new(&cdnow()).expect("valid rows");
    let start = Instant::now();
    let (p, fit) = fit_bgnbd(&data, &FitOptions::default()).expect("fit");
    let elapsed = start.elapsed();
    eprintln!(
        "fit_bgnbd on CDNOW ({} distinct rows): {elapsed:?}, {} iterations, method {}, |grad| {:.1e}, {:?}",
        data.distinct(),
        fit.iterations,
        fit.method,
        fit.gradient_norm,
        p
    );
    // README: MLE 0.2425929, 4.413531, 0.7928862, 2.425754; LL −9582.4256 (full precision from
    // fits_lifetimes_0.11.3.json).
    let mle = [
        0.2425929019641669,
        4.413531476901433,
        0.7928862323818046,
        2.4257537305403907,
    ];
    for (i, (&got, &want)) in fit.params.iter().zip(&mle).enumerate() {
        assert!(rel(got, want) < 1e-4, "{}: {got} vs {want}", fit.names[i]);
    }
    assert_eq!(p.params(), fit.params);
    assert!(
        (fit.log_likelihood - -9582.42556056736).abs() < 1e-3,
        "{}",
        fit.log_likelihood
    );
    assert!(fit.converged, "{fit:?}");
    assert_eq!(fit.n, 2357.0);
    for (name, se) in fit.names.iter().zip(&fit.standard_errors) {
        assert!(se.is_finite() && *se > 0.0, "se({name}) = {se}");
    }
    // The covariance from the analytic Hessian is the one central differences of the gradient
    // give (README: se 0.01256, 0.3782, 0.1857, 0.7053).
    let numeric = numeric_observed_covariance(&BgNbdLikelihood::new(&data), &fit.params).unwrap();
    let cov = fit
        .covariance
        .as_ref()
        .expect("positive-definite information");
    for i in 0..4 {
        for j in 0..4 {
            let tol = 1e-6 * (cov[i][i] * cov[j][j]).sqrt();
            assert!(
                (cov[i][j] - numeric[i][j]).abs() < tol,
                "cov[{i}][{j}]: {} vs {}",
                cov[i][j],
                numeric[i][j]
            );
        }
    }
    for (got, want) in fit
        .standard_errors
        .iter()
        .zip([0.01256, 0.3782, 0.1857, 0.7053])
    {
        assert!(rel(*got, want) < 5e-4, "se {got} vs {want}");
    }
}

#[test]
fn likelihood_at_lifetimes_params_matches_json() {
    let data = Rfm::new(&cdnow()).expect("valid rows");
    let lik = BgNbdLikelihood::new(&data);
    let p = lifetimes_params();
    // fits_lifetimes_0.11.3.json: bgnbd log_likelihood at lifetimes' params.
    let ll = lik.log_likelihood(&p.params());
    assert!((ll - -9582.425560567366).abs() < 1e-6, "{ll}");
}

#[test]
fn individual_loglik_matches_mpmath() {
    let (h, rows) = read_csv("bgnbd_loglik_mpmath.csv");
    let c: Vec<usize> = ["r", "alpha", "a", "b", "x", "t_x", "T", "loglik"]
        .iter()
        .map(|n| column(&h, n))
        .collect();
    assert_eq!(rows.len(), 56);
    for row in &rows {
        let v: Vec<f64> = c.iter().map(|&i| num(&row[i])).collect();
        let m = BgNbdParams {
            r: v[0],
            alpha: v[1],
            a: v[2],
            b: v[3],
        };
        let got = m.log_likelihood_one(v[4], v[5], v[6]);
        let want = v[7];
        let err = (got - want).abs();
        let ok = if want.abs() < 1.0 {
            err < 1e-9
        } else {
            err < 1e-9 * want.abs()
        };
        assert!(ok, "{row:?}: {got} vs {want}");
    }
}

#[test]
fn predictions_match_lifetimes() {
    let m = lifetimes_params();
    let customers = cdnow();
    let (h, rows) = read_csv("cdnow_predictions_lifetimes_0.11.3.csv");
    assert_eq!(rows.len(), customers.len());
    let id = column(&h, "customer_id");
    let cols = [
        column(&h, "bgnbd_p_alive"),
        column(&h, "bgnbd_expected_39w"),
        column(&h, "bgnbd_expected_52w"),
    ];
    let mut worst = [0.0f64; 3];
    for (i, (row, c)) in rows.iter().zip(&customers).enumerate() {
        assert_eq!(num(&row[id]), (i + 1) as f64);
        let got = [
            m.p_alive(c.x, c.t_x, c.t),
            m.conditional_expected_purchases(39.0, c.x, c.t_x, c.t),
            m.conditional_expected_purchases(52.0, c.x, c.t_x, c.t),
        ];
        for k in 0..3 {
            let want = num(&row[cols[k]]);
            let e = rel(got[k], want);
            worst[k] = worst[k].max(e);
            assert!(
                e < 1e-6,
                "customer {}: {} = {} vs {want}",
                i + 1,
                h[cols[k]],
                got[k]
            );
        }
    }
    eprintln!(
        "worst relative error: p_alive {:.1e}, 39w {:.1e}, 52w {:.1e}",
        worst[0], worst[1], worst[2]
    );
}

#[test]
fn expected_purchases_match_lifetimes() {
    let m = lifetimes_params();
    let (h, rows) = read_csv("cdnow_expected_new_customer_lifetimes_0.11.3.csv");
    let (ct, ce) = (column(&h, "t_weeks"), column(&h, "bgnbd_expected"));
    assert_eq!(rows.len(), 79);
    for row in &rows {
        let (t, want) = (num(&row[ct]), num(&row[ce]));
        let got = m.expected_purchases(t);
        if want == 0.0 {
            assert_eq!(got, 0.0, "t = {t}");
        } else {
            assert!(rel(got, want) < 1e-6, "t = {t}: {got} vs {want}");
        }
    }
}

#[test]
fn purchase_distribution_is_consistent_with_expectation() {
    let m = lifetimes_params();
    for t in [1.0, 39.0, 78.0, 520.0] {
        let probs: Vec<f64> = (0..5000).map(|n| m.prob_purchases(t, n)).collect();
        let total: f64 = probs.iter().sum();
        let mean: f64 = probs.iter().enumerate().map(|(n, p)| n as f64 * p).sum();
        assert!((total - 1.0).abs() < 1e-12, "t = {t}: Σ P = {total}");
        let e = m.expected_purchases(t);
        assert!(
            rel(mean, e) < 1e-10,
            "t = {t}: Σ n P = {mean} vs E[X(t)] = {e}"
        );
    }
    // FHL 2005 Figure/Table: P(X(t) = 0) at t = 0 is 1.
    assert_eq!(m.prob_purchases(0.0, 0), 1.0);
}
