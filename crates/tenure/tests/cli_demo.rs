//! `tenure demo` runs end to end on a fresh folder and leaves every file it announces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

#[test]
fn demo_runs_end_to_end() {
    let dir = scratch("demo");
    let out = tenure_ok(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--customers",
        "800",
        "--seed",
        "7",
    ]);
    for f in [
        "transactions.csv",
        "summary.csv",
        "bgnbd.json",
        "paretonbd.json",
        "mbgnbd.json",
        "gammagamma.json",
        "scores.csv",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    assert!(out.contains("holdout"), "{out}");
    assert!(out.contains("Top customers by CLV"), "{out}");
    let (h, rows) = read_csv(&dir.join("scores.csv"));
    assert_eq!(rows.len(), read_csv(&dir.join("summary.csv")).1.len());
    let clv = column(&h, &rows, "clv");
    assert!(clv.iter().all(|v| v.is_finite() && *v >= 0.0));
    // Same seed, same company.
    let again = scratch("demo-again");
    tenure_ok(&[
        "demo",
        "--dir",
        again.to_str().unwrap(),
        "--customers",
        "800",
        "--seed",
        "7",
    ]);
    assert_eq!(
        std::fs::read(dir.join("transactions.csv")).unwrap(),
        std::fs::read(again.join("transactions.csv")).unwrap()
    );
}
