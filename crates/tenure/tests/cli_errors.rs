//! Bad input: exit status 2 and one message naming file, line, column and reason; nothing
//! written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

fn fails_with(args: &[&str], code: i32, needle: &str) {
    let out = tenure(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "tenure {args:?}: {err}");
    assert!(
        err.contains(needle),
        "tenure {args:?}: expected `{needle}` in: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one message: {err}");
}

#[test]
fn bad_rows_name_line_and_column() {
    let dir = scratch("bad-rows");
    let f = dir.join("s.csv");
    let p = f.to_str().unwrap();
    std::fs::write(
        &f,
        "customer_id,frequency,recency,T\n1,2,30.4,38.9\n2,1,40,38.9\n",
    )
    .unwrap();
    fails_with(&["fit", "bgnbd", "--input", p], 2, &format!("{p}:3:"));
    std::fs::write(
        &f,
        "customer_id,frequency,recency,T\n1,2,30.4,38.9\n2,x,1,38.9\n",
    )
    .unwrap();
    fails_with(&["fit", "bgnbd", "--input", p], 2, &format!("{p}:3:2"));
    std::fs::write(&f, "customer_id,frequency,recency,T\n1,1.5,30.4,38.9\n").unwrap();
    fails_with(&["fit", "paretonbd", "--input", p], 2, &format!("{p}:2:2"));
    std::fs::write(
        &f,
        "customer_id,frequency,recency,T\n1,0,0,38.9\n2,0,0,20\n",
    )
    .unwrap();
    fails_with(
        &["fit", "bgnbd", "--input", p],
        2,
        "no customer made a repeat purchase",
    );
    std::fs::write(&f, "").unwrap();
    fails_with(&["fit", "bgnbd", "--input", p], 2, "empty");
    std::fs::write(&f, "customer_id,frequency,recency\n1,0,0\n").unwrap();
    fails_with(&["fit", "bgnbd", "--input", p], 2, "T");
    std::fs::write(&f, "customer_id,frequency,recency,T\n1,2,30.4,NaN\n").unwrap();
    fails_with(&["fit", "bgnbd", "--input", p], 2, &format!("{p}:2:4"));
}

#[test]
fn missing_files_and_bad_flags() {
    fails_with(
        &["fit", "bgnbd", "--input", "/nonexistent/x.csv"],
        2,
        "/nonexistent/x.csv",
    );
    let dir = scratch("bad-flags");
    let model = dir.join("m.json");
    std::fs::write(&model, "{not json").unwrap();
    let out = dir.join("out.csv");
    fails_with(
        &[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            &ref_file("cdnow_customers_summary.csv"),
            "--horizon",
            "52w",
            "--output",
            out.to_str().unwrap(),
        ],
        2,
        "not a Tenure model file",
    );
    assert!(!out.exists(), "nothing written on failure");
    let bg = dir.join("bg.json");
    tenure_ok(&[
        "fit",
        "bgnbd",
        "--input",
        &ref_file("cdnow_customers_summary.csv"),
        "--output",
        bg.to_str().unwrap(),
    ]);
    fails_with(
        &[
            "predict",
            "--model",
            bg.to_str().unwrap(),
            "--input",
            &ref_file("cdnow_customers_summary.csv"),
            "--horizon",
            "52",
            "--output",
            out.to_str().unwrap(),
        ],
        2,
        "--horizon",
    );
    fails_with(
        &[
            "predict",
            "--model",
            bg.to_str().unwrap(),
            "--input",
            &ref_file("cdnow_customers_summary.csv"),
            "--horizon",
            "10w",
            "--discount-rate",
            "1%/mo",
            "--output",
            out.to_str().unwrap(),
        ],
        2,
        "whole number of periods",
    );
    assert!(!out.exists());
    // A model file whose covariance does not match its parameters is bad input, not a crash.
    let text = std::fs::read_to_string(&bg).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["covariance"] = serde_json::json!([[1.0, 0.0], [0.0, 1.0]]);
    std::fs::write(&model, v.to_string()).unwrap();
    fails_with(
        &[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            &ref_file("cdnow_customers_summary.csv"),
            "--horizon",
            "52w",
            "--output",
            out.to_str().unwrap(),
        ],
        2,
        "covariance is not a finite 4 × 4 matrix",
    );
    let out = tenure(&["fit", "nosuchmodel", "--input", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn summarize_reproduces_the_cdnow_summary() {
    let dir = scratch("summarize");
    let out = dir.join("summary.csv");
    tenure_ok(&[
        "summarize",
        "--input",
        &ref_file("CDNOW_sample.txt"),
        "--input-format",
        "cdnow",
        "--end",
        "1997-09-30",
        "--unit",
        "weeks",
        "--decimals",
        "2",
        "--output",
        out.to_str().unwrap(),
    ]);
    let (h, ours) = read_csv(&out);
    let (rh, theirs) = read_csv(&refdata().join("cdnow_customers_summary_with_transactions.csv"));
    assert_eq!(
        h,
        ["customer_id", "frequency", "recency", "T", "monetary_value"]
    );
    assert_eq!(rh, ["ID", "x", "t_x", "T", "zbar"]);
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b, "every field equal as text");
    }
    // A bad date in a CSV log names its line and column.
    let log = dir.join("log.csv");
    std::fs::write(
        &log,
        "customer_id,date,amount\na,2024-01-01,1.00\nb,2024-13-01,2.00\n",
    )
    .unwrap();
    let out2 = dir.join("s2.csv");
    fails_with(
        &[
            "summarize",
            "--input",
            log.to_str().unwrap(),
            "--end",
            "2024-06-30",
            "--output",
            out2.to_str().unwrap(),
        ],
        2,
        &format!("{}:3:2", log.display()),
    );
    assert!(!out2.exists());
}
