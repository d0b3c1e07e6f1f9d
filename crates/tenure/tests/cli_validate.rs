//! `tenure validate` on the CDNOW sample (39-week calibration, 39-week holdout): the holdout
//! totals of Fader, Hardie & Lee (2005), the weekly tracking series of lifetimes 0.11.3's
//! `expected_cumulative_transactions` (testdata/validate, made by bench/tracking_reference.py),
//! the charts (compared with the committed copies in docs/validate), and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn tracking_reference() -> (Vec<String>, Vec<Vec<String>>) {
    read_csv(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/validate/cdnow_tracking_lifetimes_0.11.3.csv"),
    )
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/validate")
}

fn cdnow_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "validate",
        "all",
        "--input-format",
        "cdnow",
        "--calibration-end",
        "1997-09-30",
        "--decimals",
        "2",
        "--format",
        "json",
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn cdnow_holdout_tracking_and_charts() {
    let dir = scratch("validate-cdnow");
    let input = ref_file("CDNOW_sample.txt");
    let plots = dir.join("plots");
    let per_customer = dir.join("per_customer.csv");
    let out = json(&cdnow_args(&[
        "--input",
        &input,
        "--holdout-end",
        "1998-06-30",
        "--plots",
        plots.to_str().unwrap(),
        "--output",
        per_customer.to_str().unwrap(),
    ]));

    // Fader, Hardie & Lee (2005): 2,357 customers, 1,882 repeat purchases in weeks 40–78.
    assert_eq!(out["customers"], 2357);
    assert_eq!(out["holdout_duration"], 39.0);
    assert_eq!(out["time_unit"], "weeks");
    assert_eq!(out["holdout_actual_repeat_purchases"], 1882.0);
    let models = out["models"].as_array().unwrap();
    let names: Vec<&str> = models
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bgnbd", "paretonbd", "mbgnbd"]);

    // The BG/NBD conditional forecast = the sum of lifetimes' bgnbd_expected_39w (1,653.42),
    // which used lifetimes' own stopping point; ours is the polished maximum, 1e-6 away.
    let (h, rows) = read_csv(&refdata().join("cdnow_predictions_lifetimes_0.11.3.csv"));
    let col = h.iter().position(|c| c == "bgnbd_expected_39w").unwrap();
    let want: f64 = rows.iter().map(|r| r[col].parse::<f64>().unwrap()).sum();
    let bg = &models[0];
    let got = bg["holdout"]["predicted_repeat_purchases"]
        .as_f64()
        .unwrap();
    assert!(
        rel(got, want) < 1e-5,
        "BG/NBD holdout forecast {got} vs {want}"
    );
    assert_eq!(format!("{got:.1}"), "1653.4");
    for m in models {
        assert_eq!(m["holdout"]["actual_repeat_purchases"], 1882.0);
        assert_eq!(m["converged"], true);
        // The conditional-expectations table adds up to the totals.
        let ce = m["conditional_expectations"].as_array().unwrap();
        let n: u64 = ce.iter().map(|b| b["customers"].as_u64().unwrap()).sum();
        assert_eq!(n, 2357);
        let actual: f64 = ce
            .iter()
            .map(|b| b["customers"].as_f64().unwrap() * b["actual_mean"].as_f64().unwrap())
            .sum();
        assert!((actual - 1882.0).abs() < 1e-9);
        assert_eq!(ce.last().unwrap()["frequency_from"], 7);
        assert_eq!(ce.last().unwrap()["frequency_to"], Value::Null);
    }

    // Weekly cumulative tracking = lifetimes' expected_cumulative_transactions.
    let tr = &out["tracking"];
    assert_eq!(tr["start"], "1997-01-01");
    assert_eq!(tr["period"], "week");
    assert_eq!(tr["calibration_periods"], 39);
    let (head, reference) = tracking_reference();
    assert_eq!(reference.len(), 78);
    let actual = tr["actual_cumulative"].as_array().unwrap();
    assert_eq!(actual.len(), 78);
    for (k, r) in reference.iter().enumerate() {
        assert_eq!(
            actual[k].as_f64().unwrap(),
            r[1].parse::<f64>().unwrap(),
            "week {}",
            k + 1
        );
    }
    assert_eq!(
        actual[77].as_f64().unwrap() - actual[38].as_f64().unwrap(),
        1882.0,
        "weeks 40–78"
    );
    for (c, name) in head.iter().enumerate().skip(2) {
        let got = tr["predicted_cumulative"][name.as_str()]
            .as_array()
            .unwrap();
        for (k, r) in reference.iter().enumerate() {
            let want: f64 = r[c].parse().unwrap();
            let g = got[k].as_f64().unwrap();
            assert!(rel(g, want) < 1e-6, "{name} week {}: {g} vs {want}", k + 1);
        }
    }

    // One row per customer; its holdout counts and BG/NBD predictions add up to the report's.
    let (ph, prows) = read_csv(&per_customer);
    assert_eq!(prows.len(), 2357);
    let sum = |name: &str| -> f64 {
        let i = ph.iter().position(|c| c == name).unwrap();
        prows.iter().map(|r| r[i].parse::<f64>().unwrap()).sum()
    };
    assert_eq!(sum("holdout_frequency"), 1882.0);
    assert!(rel(sum("bgnbd_expected_holdout"), got) < 1e-12);

    // The charts equal the committed ones (TENURE_UPDATE_GOLDEN=1 rewrites them).
    let golden = golden_dir();
    for name in [
        "tracking.svg",
        "conditional_expectations.svg",
        "p_alive.svg",
    ] {
        let made = std::fs::read_to_string(plots.join(name)).unwrap();
        assert!(made.starts_with("<svg") && made.trim_end().ends_with("</svg>"));
        if std::env::var_os("TENURE_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(golden.join(name), &made).unwrap();
        }
        let committed = std::fs::read_to_string(golden.join(name)).unwrap();
        assert!(
            made == committed,
            "{name} differs from docs/validate/{name}; rerun with TENURE_UPDATE_GOLDEN=1 and review the diff"
        );
    }
}

#[test]
fn holdout_end_defaults_to_the_last_purchase_and_the_table_reads() {
    let input = ref_file("CDNOW_sample.txt");
    let out = json(&cdnow_args(&["--input", &input]));
    assert_eq!(out["holdout_end"], "1998-06-30");
    assert_eq!(out["holdout_actual_repeat_purchases"], 1882.0);
    let table = tenure_ok(&[
        "validate",
        "bgnbd",
        "--input",
        &input,
        "--input-format",
        "cdnow",
        "--calibration-end",
        "1997-09-30",
        "--decimals",
        "2",
    ]);
    assert!(
        table.contains("Actual repeat purchases in the holdout: 1882"),
        "{table}"
    );
    assert!(table.contains("1653.4"), "{table}");
    assert!(
        table.contains("Recommended: bgnbd: the only model fitted"),
        "{table}"
    );
    // All three: Pareto/NBD is best on every holdout measure, though MBG/NBD has the lowest BIC.
    let all = json(&cdnow_args(&["--input", &input]));
    assert_eq!(
        all["recommendation"]["model"], "paretonbd",
        "{}",
        all["recommendation"]
    );
    assert!(table.contains("39 (calibration end)"), "{table}");
}

#[test]
fn bad_input_exits_2_with_one_clear_message() {
    let dir = scratch("validate-bad");
    let input = ref_file("CDNOW_sample.txt");
    let csv = dir.join("tx.csv");
    std::fs::write(
        &csv,
        "customer_id,date,amount\nA,2024-01-01,10\nA,2024-13-01,5\n",
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            cdnow_args(&["--input", &input, "--holdout-end", "1997-09-01"]),
            "must be after the calibration end",
        ),
        (
            vec![
                "validate",
                "--input",
                &input,
                "--input-format",
                "cdnow",
                "--calibration-end",
                "1998-06-30",
            ],
            "no purchase after the calibration end",
        ),
        (
            vec![
                "validate",
                "--input",
                &input,
                "--input-format",
                "cdnow",
                "--calibration-end",
                "1996-12-31",
                "--holdout-end",
                "1998-06-30",
            ],
            "no customer made a purchase on or before the calibration end",
        ),
        (
            vec![
                "validate",
                "--input",
                csv.to_str().unwrap(),
                "--calibration-end",
                "2024-01-31",
            ],
            "tx.csv:3:",
        ),
        (
            vec![
                "validate",
                "gamma",
                "--input",
                &input,
                "--calibration-end",
                "1997-09-30",
            ],
            "invalid value 'gamma'",
        ),
        (
            vec![
                "validate",
                "--input",
                &input,
                "--calibration-end",
                "30/09/1997",
            ],
            "--calibration-end",
        ),
    ];
    for (args, want) in cases {
        let out = tenure(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: wanted `{want}` in: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
