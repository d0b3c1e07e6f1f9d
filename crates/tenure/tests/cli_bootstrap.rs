//! `tenure fit --bootstrap N`: the parametric bootstrap beside the observed-information
//! intervals — seeded (same seed, same numbers), stated in the output, close to the
//! observed-information standard errors on CDNOW, and refused where it does not apply.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

fn boot(model: &str, seed: &str) -> serde_json::Value {
    json(&[
        "fit",
        model,
        "--input",
        &ref_file("cdnow_customers_summary.csv"),
        "--bootstrap",
        "100",
        "--seed",
        seed,
        "--format",
        "json",
    ])
}

/// `tenure predict` of `input` with `model` over 39 weeks to `out`, plus `extra`: its JSON report.
fn predict_39w(
    model: &std::path::Path,
    input: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> serde_json::Value {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input,
        "--horizon",
        "39w",
        "--output",
        out.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    json(&args)
}

#[test]
fn fit_bootstrap_is_seeded_stated_and_agrees_with_the_observed_information() {
    let a = boot("bgnbd", "7");
    let b = &a["bootstrap"];
    assert_eq!(b["replications"], 100);
    assert_eq!(b["failed"], 0);
    assert_eq!(b["seed"], 7);
    assert_eq!(b["level"], 0.95);
    assert!(b["method"]
        .as_str()
        .unwrap()
        .starts_with("parametric bootstrap"));
    for name in ["r", "alpha", "a", "b"] {
        let p = &b["params"][name];
        let (sd, lo, hi) = (
            p["sd"].as_f64().unwrap(),
            p["lower"].as_f64().unwrap(),
            p["upper"].as_f64().unwrap(),
        );
        let est = a["params"][name].as_f64().unwrap();
        let se = a["standard_errors"][name].as_f64().unwrap();
        assert!(lo < est && est < hi, "{name}: {lo} < {est} < {hi}");
        // Two estimates of the same sampling spread: within a factor 1.5 of each other.
        assert!(
            sd / se > 0.67 && sd / se < 1.5,
            "{name}: bootstrap sd {sd}, SE {se}"
        );
    }
    // Same seed, same replicates; another seed, other ones.
    assert_eq!(boot("bgnbd", "7")["bootstrap"]["params"], b["params"]);
    assert_ne!(boot("bgnbd", "8")["bootstrap"]["params"], b["params"]);
    // The table states both methods.
    let table = tenure_ok(&[
        "fit",
        "mbgnbd",
        "--input",
        &ref_file("cdnow_customers_summary.csv"),
        "--bootstrap",
        "20",
    ]);
    assert!(table.contains("Intervals: delta method"), "{table}");
    assert!(
        table.contains("Parametric bootstrap: 20 replications"),
        "{table}"
    );
    assert!(
        table.contains("Intervals: percentiles of the replicates, 95%."),
        "{table}"
    );
}

#[test]
fn bootstrap_is_refused_where_it_does_not_apply() {
    for (args, want) in [
        (
            vec![
                "fit",
                "gammagamma",
                "--input",
                &ref_file("cdnow_customers_summary_with_transactions.csv"),
                "--bootstrap",
                "10",
            ],
            "--bootstrap: the parametric bootstrap is for bgnbd, paretonbd, mbgnbd, ggomnbd and paretonbd-cor, not gammagamma",
        ),
        (
            vec![
                "fit",
                "bgnbd",
                "--input",
                &ref_file("cdnow_customers_summary.csv"),
                "--bootstrap",
                "1",
            ],
            "at least 2 replications",
        ),
    ] {
        let out = tenure(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn predict_bootstrap_gives_percentile_intervals_per_customer_and_for_the_total() {
    let dir = scratch("bootstrap-predict");
    let model = dir.join("bg.json");
    let input = ref_file("cdnow_customers_summary.csv");
    tenure_ok(&[
        "fit",
        "bgnbd",
        "--input",
        &input,
        "--output",
        model.to_str().unwrap(),
    ]);
    let run = |out: &str, extra: &[&str]| predict_39w(&model, &input, &dir.join(out), extra);
    let boot = run("boot.csv", &["--bootstrap", "60", "--seed", "3"]);
    let delta = run("delta.csv", &[]);
    assert!(boot["intervals"]
        .as_str()
        .unwrap()
        .starts_with("parametric bootstrap (60 replications, 0 failed, seed 3), percentile, 95%"));
    assert!(delta["intervals"]
        .as_str()
        .unwrap()
        .starts_with("delta method"));
    // Same points; the total's interval brackets it.
    assert_eq!(
        boot["total_expected_purchases"],
        delta["total_expected_purchases"]
    );
    let total = boot["total_expected_purchases"].as_f64().unwrap();
    let ti = &boot["total_expected_purchases_interval"];
    assert!(ti["lower"].as_f64().unwrap() < total && total < ti["upper"].as_f64().unwrap());
    assert_eq!(
        delta["total_expected_purchases_interval"],
        serde_json::Value::Null
    );
    let (h, rows) = read_csv(&dir.join("boot.csv"));
    let (_, drows) = read_csv(&dir.join("delta.csv"));
    assert_eq!(rows.len(), 2357);
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (e, lo, hi) = (
        col("expected_purchases"),
        col("expected_purchases_lower"),
        col("expected_purchases_upper"),
    );
    let mut inside = 0;
    for (r, d) in rows.iter().zip(&drows) {
        assert_eq!(
            r[e], d[e],
            "the points do not depend on the interval method"
        );
        let (v, l, u): (f64, f64, f64) = (
            r[e].parse().unwrap(),
            r[lo].parse().unwrap(),
            r[hi].parse().unwrap(),
        );
        assert!(l <= u, "{r:?}");
        if l <= v && v <= u {
            inside += 1;
        }
    }
    assert!(
        inside >= 2357 * 95 / 100,
        "{inside} of 2357 points inside their interval"
    );
    // Same seed, same file.
    run("boot2.csv", &["--bootstrap", "60", "--seed", "3"]);
    assert_eq!(
        std::fs::read(dir.join("boot.csv")).unwrap(),
        std::fs::read(dir.join("boot2.csv")).unwrap()
    );
    // Not with --no-intervals or --spend (usage errors: exit 2).
    for extra in [vec!["--no-intervals"], vec!["--spend", "x.json"]] {
        let mut args = vec![
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            &input,
            "--horizon",
            "39w",
            "--output",
            "/dev/null",
            "--bootstrap",
            "10",
        ];
        args.extend(extra);
        assert_eq!(tenure(&args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn alive_at_horizon_adds_a_column_no_larger_than_p_alive() {
    let dir = scratch("alive-at");
    let model = dir.join("pnbd.json");
    let input = ref_file("cdnow_customers_summary.csv");
    tenure_ok(&[
        "fit",
        "paretonbd",
        "--input",
        &input,
        "--output",
        model.to_str().unwrap(),
    ]);
    let out = dir.join("scores.csv");
    tenure_ok(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        &input,
        "--horizon",
        "52w",
        "--alive-at-horizon",
        "--no-intervals",
        "--output",
        out.to_str().unwrap(),
    ]);
    let (h, rows) = read_csv(&out);
    assert_eq!(
        h,
        [
            "customer_id",
            "p_alive",
            "expected_purchases",
            "p_alive_at_horizon"
        ]
    );
    assert_eq!(rows.len(), 2357);
    // Pareto/NBD: P(alive at T + t) = P(alive) · ((β+T)/(β+T+t))^s, checked row by row.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let (s, beta) = (
        m["params"]["s"].as_f64().unwrap(),
        m["params"]["beta"].as_f64().unwrap(),
    );
    let (_, summary) = read_csv(std::path::Path::new(&input));
    for (r, x) in rows.iter().zip(&summary) {
        let (now, later): (f64, f64) = (r[1].parse().unwrap(), r[3].parse().unwrap());
        let t: f64 = x[3].parse().unwrap();
        let want = now * ((beta + t) / (beta + t + 52.0)).powf(s);
        assert!(rel(later, want) < 1e-12, "{r:?}: {later} vs {want}");
        assert!(later <= now);
    }
}

#[test]
fn purchase_pmf_columns_sum_to_one_and_match_the_expected_purchases() {
    let dir = scratch("purchase-pmf");
    let input = ref_file("cdnow_customers_summary.csv");
    for kind in ["bgnbd", "ggomnbd"] {
        let model = dir.join(format!("{kind}.json"));
        tenure_ok(&[
            "fit",
            kind,
            "--input",
            &input,
            "--output",
            model.to_str().unwrap(),
        ]);
        let out = dir.join("scores.csv");
        tenure_ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            &input,
            "--horizon",
            "13w",
            "--purchase-pmf",
            "3",
            "--no-intervals",
            "--output",
            out.to_str().unwrap(),
        ]);
        let (h, rows) = read_csv(&out);
        assert_eq!(
            h,
            [
                "customer_id",
                "p_alive",
                "expected_purchases",
                "p_purchases_0",
                "p_purchases_1",
                "p_purchases_2",
                "p_purchases_3_plus"
            ]
        );
        for r in &rows {
            let v: Vec<f64> = r[1..].iter().map(|c| c.parse().unwrap()).collect();
            let total: f64 = v[2..].iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "{kind}: {r:?}");
            // E[X] ≥ P(1) + 2 P(2) + 3 P(≥3), with equality only without mass above 3.
            assert!(
                v[1] + 1e-9 >= v[3] + 2.0 * v[4] + 3.0 * v[5],
                "{kind}: {r:?}"
            );
            assert!(v.iter().all(|p| *p >= 0.0));
        }
        let out0 = tenure(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            &input,
            "--horizon",
            "13w",
            "--purchase-pmf",
            "0",
            "--output",
            out.to_str().unwrap(),
        ]);
        assert_eq!(out0.status.code(), Some(2));
    }
}

/// GGom/NBD and the correlated Pareto/NBD bootstrap like the others: every parameter gets a
/// seeded spread in `tenure fit`, and `tenure predict --bootstrap` gives each customer an
/// interval around the same points as the delta method's.
#[test]
fn ggomnbd_and_correlated_paretonbd_bootstrap() {
    let dir = scratch("bootstrap-more");
    let input = ref_file("cdnow_customers_summary.csv");
    for (model, names) in [
        ("ggomnbd", &["r", "alpha", "b", "s", "beta"][..]),
        ("paretonbd-cor", &["r", "alpha", "s", "beta", "u"][..]),
    ] {
        let file = dir.join(format!("{model}.json"));
        let fit = |seed: &str| {
            json(&[
                "fit",
                model,
                "--input",
                &input,
                "--bootstrap",
                "12",
                "--seed",
                seed,
                "--format",
                "json",
                "--output",
                file.to_str().unwrap(),
            ])
        };
        let a = fit("4");
        let b = &a["bootstrap"];
        assert_eq!(b["replications"], 12, "{model}");
        for name in names {
            let p = &b["params"][*name];
            let (lo, hi) = (p["lower"].as_f64().unwrap(), p["upper"].as_f64().unwrap());
            assert!(
                lo < hi && p["sd"].as_f64().unwrap() > 0.0,
                "{model} {name}: {p}"
            );
        }
        assert_eq!(fit("4")["bootstrap"]["params"], b["params"], "{model}");
        let run = |out: &str, extra: &[&str]| {
            let path = dir.join(out);
            (predict_39w(&file, &input, &path, extra), read_csv(&path))
        };
        let (boot, (h, rows)) = run("boot.csv", &["--bootstrap", "12", "--seed", "4"]);
        let (_, (dh, drows)) = run("delta.csv", &[]);
        let de = dh.iter().position(|c| c == "expected_purchases").unwrap();
        assert!(boot["intervals"]
            .as_str()
            .unwrap()
            .starts_with("parametric bootstrap (12 replications"));
        let col = |n: &str| h.iter().position(|c| c == n).unwrap();
        let (e, lo, hi) = (
            col("expected_purchases"),
            col("expected_purchases_lower"),
            col("expected_purchases_upper"),
        );
        for (r, d) in rows.iter().zip(&drows) {
            assert_eq!(
                r[e], d[de],
                "{model}: the points do not depend on the method"
            );
            let (l, u): (f64, f64) = (r[lo].parse().unwrap(), r[hi].parse().unwrap());
            assert!(l <= u, "{model}: {r:?}");
        }
    }
}
