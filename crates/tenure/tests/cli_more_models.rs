//! `tenure fit ggomnbd` and `tenure fit paretonbd --correlated` (issue 9) through the CLI, on
//! CDNOW, and their model files scored by `tenure predict`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

/// GGom/NBD nests Pareto/NBD (Gompertz shape b → 0); CDNOW shows no ageing, so the fit runs to
/// that boundary: its log-likelihood equals Pareto/NBD's within 0.01 and its predictions are
/// Pareto/NBD's to about 1%.
#[test]
fn ggomnbd_fits_and_predicts_cdnow() {
    let dir = scratch("ggomnbd");
    let summary = ref_file("cdnow_customers_summary.csv");
    let model = dir.join("gg.json").display().to_string();
    let out = json(&[
        "fit", "ggomnbd", "--input", &summary, "--format", "json", "--output", &model,
    ]);
    let names: Vec<&str> = out["params"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["r", "alpha", "b", "s", "beta"]);
    let pnbd = json(&["fit", "paretonbd", "--input", &summary, "--format", "json"]);
    let (ll, ll_p) = (
        out["log_likelihood"].as_f64().unwrap(),
        pnbd["log_likelihood"].as_f64().unwrap(),
    );
    assert!((ll - ll_p).abs() < 0.01, "{ll} vs {ll_p}");
    let scores = dir.join("s.csv");
    let report = json(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--horizon",
        "39w",
        "--alive-at-horizon",
        "--format",
        "json",
        "--output",
        scores.to_str().unwrap(),
    ]);
    let total = report["total_expected_purchases"].as_f64().unwrap();
    let pnbd_model = dir.join("p.json").display().to_string();
    tenure_ok(&[
        "fit",
        "paretonbd",
        "--input",
        &summary,
        "--output",
        &pnbd_model,
    ]);
    let p_report = json(&[
        "predict",
        "--model",
        &pnbd_model,
        "--input",
        &summary,
        "--horizon",
        "39w",
        "--format",
        "json",
        "--output",
        dir.join("p.csv").to_str().unwrap(),
    ]);
    let p_total = p_report["total_expected_purchases"].as_f64().unwrap();
    assert!(rel(total, p_total) < 0.01, "{total} vs {p_total}");
    let (head, rows) = read_csv(&scores);
    let now = column(&head, &rows, "p_alive");
    let later = column(&head, &rows, "p_alive_at_horizon");
    for (a, b) in now.iter().zip(&later) {
        assert!((0.0..=1.0).contains(a) && *b <= *a + 1e-12);
    }
    // Not for GGom/NBD yet: the purchase distribution.
    let err = tenure(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--horizon",
        "39w",
        "--purchase-pmf",
        "3",
        "--output",
        dir.join("x.csv").to_str().unwrap(),
    ]);
    assert_eq!(err.status.code(), Some(2));
}
