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
    // The purchase distribution: P(0), P(1), P(2), P(≥ 3) sum to 1 for every customer, and
    // P(0) is at least the probability of having dropped out.
    let pmf = dir.join("pmf.csv");
    tenure_ok(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--horizon",
        "39w",
        "--purchase-pmf",
        "3",
        "--no-intervals",
        "--output",
        pmf.to_str().unwrap(),
    ]);
    let (head, rows) = read_csv(&pmf);
    let p_alive = column(&head, &rows, "p_alive");
    let cols: Vec<Vec<f64>> = [
        "p_purchases_0",
        "p_purchases_1",
        "p_purchases_2",
        "p_purchases_3_plus",
    ]
    .iter()
    .map(|c| column(&head, &rows, c))
    .collect();
    for i in 0..rows.len() {
        let total: f64 = cols.iter().map(|c| c[i]).sum();
        assert!((total - 1.0).abs() < 1e-9, "row {i}: {total}");
        assert!(cols[0][i] >= 1.0 - p_alive[i] - 1e-12, "row {i}");
    }
}

/// A population simulated with correlated rates (time unit in which rates are near 1, where
/// the Sarmanov kernel allows a sizeable correlation): the CLI recovers the correlation within
/// 3 standard errors, and scores the customers. On CDNOW the correlation runs to the bound of
/// the Sarmanov range, and the output says so instead of giving an interval.
#[test]
fn paretonbd_cor_fits_and_predicts() {
    use tenure_models::paretonbd_cor::{omega_bounds, CorrelatedParams};
    use tenure_models::simulate::{simulate_paretonbd_correlated, uniform_ages};
    let dir = scratch("paretonbd-cor");
    let (r, alpha, s, beta) = (0.9, 1.0, 0.8, 2.0);
    let omega = 0.6 * omega_bounds(r, alpha, s, beta).1;
    let truth = CorrelatedParams {
        r,
        alpha,
        s,
        beta,
        omega,
    };
    let ages = uniform_ages(20_000, 1.0, 4.0, 5).unwrap();
    let sim = simulate_paretonbd_correlated(r, alpha, s, beta, omega, &ages, 0.0, 5).unwrap();
    let mut text = String::from("customer_id,frequency,recency,T\n");
    for (i, c) in sim.iter().enumerate() {
        text += &format!("{i},{},{},{}\n", c.row.x, c.row.t_x, c.row.t);
    }
    let input = dir.join("summary.csv");
    std::fs::write(&input, text).unwrap();
    let input = input.to_str().unwrap();
    let model = dir.join("m.json").display().to_string();
    let out = json(&[
        "fit",
        "paretonbd-cor",
        "--input",
        input,
        "--time-unit",
        "years",
        "--format",
        "json",
        "--output",
        &model,
    ]);
    let c = &out["correlation"];
    assert_eq!(c["at_bound"], false);
    let (est, se) = (
        c["correlation"].as_f64().unwrap(),
        c["se"].as_f64().unwrap(),
    );
    assert!(
        (est - truth.correlation()).abs() < 3.0 * se,
        "{est} ± {se} vs {}",
        truth.correlation()
    );
    let names: Vec<&str> = out["params"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["r", "alpha", "s", "beta", "u"]);
    let scores = dir.join("s.csv");
    tenure_ok(&[
        "predict",
        "--model",
        &model,
        "--input",
        input,
        "--horizon",
        "1y",
        "--output",
        scores.to_str().unwrap(),
    ]);
    let (head, rows) = read_csv(&scores);
    assert_eq!(rows.len(), 20_000);
    for p in column(&head, &rows, "p_alive") {
        assert!((0.0..=1.0).contains(&p));
    }

    let cdnow = json(&[
        "fit",
        "paretonbd-cor",
        "--input",
        &ref_file("cdnow_customers_summary.csv"),
        "--format",
        "json",
    ]);
    assert_eq!(cdnow["correlation"]["at_bound"], true);
    assert!(cdnow["correlation"]["lower"].is_null());
}

/// CDNOW's transactions as a `customer_id,date` log.
fn cdnow_log(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(ref_file("CDNOW_sample.txt")).unwrap();
    let mut out = String::from("customer_id,date\n");
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        let (id, d) = (f[1].parse::<u32>().unwrap(), f[2]);
        out += &format!("{id},{}-{}-{}\n", &d[..4], &d[4..6], &d[6..8]);
    }
    let p = dir.join("log.csv");
    std::fs::write(&p, out).unwrap();
    p.display().to_string()
}

/// A weekly grid from `start` for `weeks` weeks: a seasonal wave and a promotion in weeks 8–11.
fn grid_file(dir: &std::path::Path, weeks: i64, start: &str) -> String {
    let start = chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap();
    let mut s = String::from("period_start,season,promo\n");
    for k in 0..weeks {
        let d = start + chrono::Duration::days(7 * k);
        let season = (std::f64::consts::TAU * k as f64 / 52.0).sin();
        let promo = u8::from((8..12).contains(&k));
        s += &format!("{d},{season},{promo}\n");
    }
    let p = dir.join(format!("grid-{weeks}.csv"));
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

/// Time-varying covariates from a transaction log: the customers are summarised as `tenure
/// summarize` does (the plain Pareto/NBD fitted inside has CDNOW's published log-likelihood),
/// the covariate model's likelihood is at least the plain one's, and bad grids are exit 2.
#[test]
fn paretonbd_with_time_varying_covariates() {
    let dir = scratch("dyncov");
    let log = cdnow_log(&dir);
    let grid = grid_file(&dir, 78, "1997-01-01");
    let model = dir.join("m.json").display().to_string();
    let args = |extra: &[&str]| {
        let mut v = vec![
            "fit",
            "paretonbd",
            "--input",
            &log,
            "--time-covariates",
            &grid,
            "--end",
            "1997-09-30",
        ];
        v.extend_from_slice(extra);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        tenure_ok(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let table = run(&["--output", &model]);
    let plain: f64 = table
        .lines()
        .find(|l| l.starts_with("log-likelihood without covariates"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .parse()
        .unwrap();
    // CDNOW's published summary rounds recency and T to 2 decimals (weeks); this one does not.
    assert!((plain - (-9594.9739)).abs() < 0.01, "{plain}\n{table}");
    assert!(!table.contains("NaN"), "{table}");
    let out = json(
        &args(&["--format", "json"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(out["model"], "paretonbd-dyncov");
    let names: Vec<&str> = out["params"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        [
            "r",
            "alpha",
            "s",
            "beta",
            "trans.season",
            "trans.promo",
            "life.season",
            "life.promo"
        ]
    );
    assert!(out["log_likelihood"].as_f64().unwrap() >= plain - 1e-6);
    // Only the season, on purchases.
    let one = json(
        &args(&["--trans", "season", "--format", "json"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(one["params"].as_object().unwrap().len(), 5);

    // Bad input.
    let fail = |a: Vec<String>| {
        let out = tenure(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(2), "{a:?}: {out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let short = grid_file(&dir, 30, "1997-01-01");
    let mut a = args(&[]);
    a[5] = short.clone();
    assert!(fail(a).contains("must cover"));
    let late = grid_file(&dir, 78, "1997-02-01");
    let mut a = args(&[]);
    a[5] = late;
    let err = fail(a);
    assert!(
        err.contains("log.csv:") && err.contains("before the grid"),
        "{err}"
    );
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "period_start,season\n1997-01-01,0.5\n1997-01-08,high\n",
    )
    .unwrap();
    let mut a = args(&[]);
    a[5] = bad.display().to_string();
    assert!(fail(a).contains("bad.csv:3:2:"));
    let mut a = args(&[]);
    a.truncate(6);
    assert!(fail(a).contains("--end"));
    let mut a = args(&[]);
    a[1] = "bgnbd".into();
    assert!(fail(a).contains("paretonbd"));
    let err = fail(
        [
            "predict",
            "--model",
            &model,
            "--input",
            &log,
            "--horizon",
            "39w",
            "--output",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([dir.join("s.csv").display().to_string()])
        .collect(),
    );
    assert!(err.contains("paretonbd-dyncov"), "{err}");
}
