//! Every row of the reference table in testdata/refdata/README.md, reproduced through the CLI
//! (`tenure fit MODEL --input FILE --format json`), and lifetimes 0.11.3's per-customer
//! predictions reproduced through `tenure predict`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::Value;

fn mle(model: &str) -> (Vec<(String, f64)>, f64) {
    let text = std::fs::read_to_string(refdata().join("fits_lifetimes_0.11.3.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let f = &v["fits"][model];
    let params = f["mle_params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                if k == "v" {
                    "gamma".to_string()
                } else {
                    k.clone()
                },
                v.as_f64().unwrap(),
            )
        })
        .collect();
    (params, f["mle_log_likelihood"].as_f64().unwrap())
}

fn check_fit(out: &Value, model: &str, params: &[(String, f64)], ll: f64, p_tol: f64, ll_tol: f64) {
    assert_eq!(out["model"], model);
    assert_eq!(out["converged"], true, "{model} did not converge: {out}");
    for (name, want) in params {
        let got = out["params"][name]
            .as_f64()
            .unwrap_or_else(|| panic!("{model}: no {name}"));
        assert!(rel(got, *want) < p_tol, "{model} {name}: {got} vs {want}");
        let se = out["standard_errors"][name].as_f64().unwrap();
        assert!(se.is_finite() && se > 0.0, "{model} {name}: se {se}");
    }
    let got = out["log_likelihood"].as_f64().unwrap();
    assert!((got - ll).abs() < ll_tol, "{model} LL {got} vs {ll}");
    assert_eq!(
        out["params"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        params.iter().map(|p| &p.0).collect::<Vec<_>>(),
        "parameters in the paper's order"
    );
}

#[test]
fn bgnbd_paretonbd_mbgnbd_on_cdnow() {
    for model in ["bgnbd", "paretonbd", "mbgnbd"] {
        let out = json(&[
            "fit",
            model,
            "--input",
            &ref_file("cdnow_customers_summary.csv"),
            "--format",
            "json",
        ]);
        let (p, ll) = mle(model);
        check_fit(&out, model, &p, ll, 1e-4, 1e-3);
        assert_eq!(out["n"], 2357.0);
        assert_eq!(out["time_unit"], "weeks");
    }
}

#[test]
fn bgbb_on_donations() {
    let out = json(&[
        "fit",
        "bgbb",
        "--input",
        &ref_file("donations.csv"),
        "--format",
        "json",
    ]);
    let (p, ll) = mle("bgbb");
    check_fit(&out, "bgbb", &p, ll, 1e-4, 1e-3);
    assert_eq!(out["n"], 11104.0);
}

#[test]
fn gammagamma_on_cdnow_repeat_buyers() {
    let out = json(&[
        "fit",
        "gammagamma",
        "--input",
        &ref_file("cdnow_customers_summary_with_transactions.csv"),
        "--format",
        "json",
    ]);
    let (p, ll) = mle("gammagamma");
    // The README's table states params only for Gamma-Gamma; the LL is checked at ±0.001 too.
    check_fit(&out, "gammagamma", &p, ll, 1e-4, 1e-3);
    assert_eq!(out["n"], 946.0);
}

#[test]
fn sbg_regular_and_high_end() {
    let (head, rows) = read_csv(&refdata().join("sbg_reference.csv"));
    for (segment, col) in [
        ("regular", "regular_pct_active"),
        ("highend", "highend_pct_active"),
    ] {
        let r = rows.iter().find(|r| r[0] == segment).unwrap();
        let get = |name: &str| {
            r[head.iter().position(|h| h == name).unwrap()]
                .parse::<f64>()
                .unwrap()
        };
        let out = json(&[
            "fit",
            "sbg",
            "--input",
            &ref_file("sbg_survival.csv"),
            "--column",
            col,
            "--cohort-size",
            "1000",
            "--periods",
            "7",
            "--time-unit",
            "years",
            "--format",
            "json",
        ]);
        let p = vec![
            ("alpha".to_string(), get("alpha")),
            ("beta".to_string(), get("beta")),
        ];
        check_fit(&out, "sbg", &p, get("log_likelihood"), 1e-6, 1e-6);
        assert_eq!(out["time_unit"], "years");
    }
}

/// Header line 2 of the predictions file: the parameters lifetimes used.
fn lifetimes_header_params() -> Value {
    let text =
        std::fs::read_to_string(refdata().join("cdnow_predictions_lifetimes_0.11.3.csv")).unwrap();
    let line = text.lines().nth(1).unwrap();
    let json = &line[line.find('{').unwrap()..];
    serde_json::from_str(json).unwrap()
}

#[test]
fn per_customer_predictions_equal_lifetimes() {
    let dir = scratch("predict-lifetimes");
    let hp = lifetimes_header_params();
    let input = ref_file("cdnow_customers_summary_with_transactions.csv");
    let (rh, rrows) = read_csv(&refdata().join("cdnow_predictions_lifetimes_0.11.3.csv"));
    let gg = model_file(&dir, "gammagamma", "gammagamma", &hp["gammagamma"], None);
    for model in ["bgnbd", "paretonbd"] {
        let m = model_file(&dir, model, model, &hp[model], Some("weeks"));
        for weeks in [39, 52] {
            let out = dir.join(format!("{model}-{weeks}.csv"));
            tenure_ok(&[
                "predict",
                "--model",
                &m,
                "--input",
                &input,
                "--horizon",
                &format!("{weeks}w"),
                "--output",
                out.to_str().unwrap(),
            ]);
            let (h, rows) = read_csv(&out);
            let ids = column(&h, &rows, "customer_id");
            assert_eq!(
                ids,
                column(&rh, &rrows, "customer_id"),
                "same customers, same order"
            );
            for (ours, theirs) in [
                ("p_alive", format!("{model}_p_alive")),
                ("expected_purchases", format!("{model}_expected_{weeks}w")),
            ] {
                let a = column(&h, &rows, ours);
                let b = column(&rh, &rrows, &theirs);
                let worst = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| rel(*x, *y))
                    .fold(0.0, f64::max);
                assert!(
                    worst < 1e-6,
                    "{model} {ours} {weeks}w: worst relative difference {worst}"
                );
            }
        }
    }
    // CLV: lifetimes' customer_lifetime_value(bgnbd, 12 months, 1% a month, 4.345 weeks a
    // month) is 12 periods of 4.345 weeks discounted at 1% each.
    let m = model_file(&dir, "bgnbd", "bgnbd", &hp["bgnbd"], Some("weeks"));
    let out = dir.join("clv.csv");
    tenure_ok(&[
        "predict",
        "--model",
        &m,
        "--input",
        &input,
        "--horizon",
        "52.14w",
        "--spend",
        &gg,
        "--discount-rate",
        "1%/4.345w",
        "--output",
        out.to_str().unwrap(),
    ]);
    let (h, rows) = read_csv(&out);
    for (ours, theirs) in [
        ("clv", "bgnbd_clv_12mo"),
        ("expected_spend", "gg_expected_spend"),
    ] {
        let a = column(&h, &rows, ours);
        let b = column(&rh, &rrows, theirs);
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| rel(*x, *y))
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "{ours}: worst relative difference {worst}");
    }
}

#[test]
fn fitted_model_file_feeds_predict_with_intervals() {
    let dir = scratch("fit-predict");
    let input = ref_file("cdnow_customers_summary_with_transactions.csv");
    let bg = dir.join("bg.json");
    let gg = dir.join("gg.json");
    tenure_ok(&[
        "fit",
        "bgnbd",
        "--input",
        &input,
        "--output",
        bg.to_str().unwrap(),
    ]);
    tenure_ok(&[
        "fit",
        "gammagamma",
        "--input",
        &input,
        "--output",
        gg.to_str().unwrap(),
    ]);
    let out = dir.join("scores.csv");
    let report = json(&[
        "predict",
        "--model",
        bg.to_str().unwrap(),
        "--input",
        &input,
        "--horizon",
        "12mo",
        "--spend",
        gg.to_str().unwrap(),
        "--discount-rate",
        "1%/mo",
        "--output",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(report["time_unit"], "weeks");
    assert_eq!(report["horizon"]["unit"], "months");
    assert!((report["horizon"]["in_model_unit"].as_f64().unwrap() - 365.25 / 7.0).abs() < 1e-9);
    let (h, rows) = read_csv(&out);
    assert_eq!(rows.len(), 2357);
    for q in ["p_alive", "expected_purchases", "expected_spend", "clv"] {
        let v = column(&h, &rows, q);
        let lo = column(&h, &rows, &format!("{q}_lower"));
        let hi = column(&h, &rows, &format!("{q}_upper"));
        for i in 0..v.len() {
            assert!(
                lo[i] <= v[i] && v[i] <= hi[i],
                "{q} row {i}: {} not in [{}, {}]",
                v[i],
                lo[i],
                hi[i]
            );
            if q == "p_alive" {
                assert!(lo[i] >= 0.0 && hi[i] <= 1.0);
            }
        }
    }
}

/// An output of several MiB (the CDNOW summary twelve times over, 28,284 customers, with
/// spend and CLV columns) is written whole, in input order, and every copy of a customer gets
/// exactly the text the one-copy run gives her: the rows' shared columns and the per-customer
/// spend columns line up across the pieces the output is written in.
#[test]
fn a_large_output_equals_the_one_copy_output_row_for_row() {
    let dir = scratch("predict-large");
    let hp = lifetimes_header_params();
    let input = ref_file("cdnow_customers_summary_with_transactions.csv");
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    let copies = 12;
    let mut big = format!("{header}\n");
    for c in 0..copies {
        for l in &body {
            // A distinct id per copy: `ID` becomes `ID-c`.
            let (id, rest) = l.split_once(',').unwrap();
            big.push_str(&format!("{id}-{c},{rest}\n"));
        }
    }
    let big_path = dir.join("big.csv");
    std::fs::write(&big_path, big).unwrap();
    let m = model_file(&dir, "bgnbd", "bgnbd", &hp["bgnbd"], Some("weeks"));
    let gg = model_file(&dir, "gammagamma", "gammagamma", &hp["gammagamma"], None);
    let run = |inp: &str, out: &std::path::Path| {
        tenure_ok(&[
            "predict",
            "--model",
            &m,
            "--input",
            inp,
            "--horizon",
            "52w",
            "--spend",
            &gg,
            "--alive-at-horizon",
            "--output",
            out.to_str().unwrap(),
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    let one = run(&input, &dir.join("one.csv"));
    let many = run(big_path.to_str().unwrap(), &dir.join("many.csv"));
    assert!(
        many.len() > 2 << 20,
        "the output spans several 1 MiB pieces"
    );
    let one: Vec<&str> = one.lines().collect();
    let many: Vec<&str> = many.lines().collect();
    assert_eq!(many.len(), 1 + copies * body.len());
    assert_eq!(many[0], one[0]);
    for (k, line) in many[1..].iter().enumerate() {
        let (c, i) = (k / body.len(), k % body.len());
        let (id, rest) = one[1 + i].split_once(',').unwrap();
        assert_eq!(*line, format!("{id}-{c},{rest}"), "customer {k}");
    }
}

/// `--repeat-score N` and `--repeat-fit N` (for benchmarks) report the fastest of N repeated
/// score or fit steps as `elapsed_ms.score_warm` / `elapsed_ms.fit_warm` and change nothing
/// else; the paths they do not time refuse them with exit status 2.
#[test]
fn repeat_score_and_repeat_fit_report_a_warm_time_and_change_nothing_else() {
    let dir = scratch("predict-repeat");
    let hp = lifetimes_header_params();
    let input = ref_file("cdnow_customers_summary_with_transactions.csv");
    let m = model_file(&dir, "bgnbd", "bgnbd", &hp["bgnbd"], Some("weeks"));
    let run = |out: &str, extra: &[&str]| {
        let out = dir.join(out);
        let mut args = vec![
            "predict",
            "--model",
            &m,
            "--input",
            &input,
            "--horizon",
            "52w",
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let report = json(&args);
        (report, std::fs::read_to_string(out).unwrap())
    };
    let (plain, plain_csv) = run("plain.csv", &[]);
    let (rep, rep_csv) = run("repeat.csv", &["--repeat-score", "3"]);
    assert_eq!(rep_csv, plain_csv);
    assert!(plain["elapsed_ms"].get("score_warm").is_none());
    let warm = rep["elapsed_ms"]["score_warm"].as_f64().unwrap();
    assert!(warm > 0.0 && warm.is_finite(), "{warm}");
    assert_eq!(
        rep["total_expected_purchases"],
        plain["total_expected_purchases"]
    );

    let sbg = model_file(
        &dir,
        "sbg",
        "sbg",
        &serde_json::json!({"gamma": 0.7, "delta": 1.2}),
        None,
    );
    let out = tenure(&[
        "predict",
        "--model",
        &sbg,
        "--input",
        &ref_file("sbg_survival.csv"),
        "--horizon",
        "3",
        "--output",
        dir.join("sbg.csv").to_str().unwrap(),
        "--repeat-score",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--repeat-score"), "{err}");
    assert!(!dir.join("sbg.csv").exists());

    for model in ["bgnbd", "gammagamma"] {
        let fit = |extra: &[&str]| {
            let mut args = vec!["fit", model, "--input", &input, "--format", "json"];
            args.extend_from_slice(extra);
            json(&args)
        };
        let (plain, rep) = (fit(&[]), fit(&["--repeat-fit", "2"]));
        assert_eq!(rep["params"], plain["params"], "{model}");
        assert_eq!(rep["standard_errors"], plain["standard_errors"], "{model}");
        assert!(plain["elapsed_ms"].get("fit_warm").is_none());
        let warm = rep["elapsed_ms"]["fit_warm"].as_f64().unwrap();
        assert!(warm > 0.0 && warm.is_finite(), "{model}: {warm}");
    }
    let out = tenure(&[
        "fit",
        "bgbb",
        "--input",
        &ref_file("donations.csv"),
        "--repeat-fit",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--repeat-fit"));
}
