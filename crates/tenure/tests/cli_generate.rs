//! `tenure generate` writes the eleven record files and parameters.json, reproducibly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

const FILES: [&str; 12] = [
    "customers.csv",
    "transactions.csv",
    "subscriptions.csv",
    "costs.csv",
    "usage.csv",
    "feedback.csv",
    "cases.csv",
    "payments.csv",
    "interactions.csv",
    "campaigns.csv",
    "touches.csv",
    "parameters.json",
];

#[test]
fn generate_writes_a_reproducible_company() {
    let dir = scratch("generate");
    let d = dir.to_str().unwrap();
    let out = tenure_ok(&["generate", "--customers", "200", "--seed", "3", "--out", d]);
    assert!(out.contains("Generated 200 customers (seed 3)"), "{out}");
    assert!(out.contains("observed until 2025-12-31"), "{out}");
    for f in FILES {
        assert!(dir.join(f).exists(), "{f} missing");
        assert!(out.contains(f), "{f} not reported: {out}");
    }
    let customers = std::fs::read_to_string(dir.join("customers.csv")).unwrap();
    assert_eq!(customers.lines().count(), 201);
    assert_eq!(
        customers.lines().next().unwrap(),
        "id,name,acquired_at,channel,plan,region,referred_by,attributes"
    );
    let params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("parameters.json")).unwrap())
            .unwrap();
    assert_eq!(params["customers"], 200);
    assert_eq!(params["seed"], 3);
    assert_eq!(params["start"], "2023-01-01");

    // The same seed again, through the parameters file: the same bytes.
    let again = scratch("generate-again");
    let p = dir.join("parameters.json");
    let report = json(&[
        "generate",
        "--params",
        p.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(report["customers"], 200);
    assert_eq!(report["files"].as_array().unwrap().len(), FILES.len());
    assert_eq!(report["files"][0]["rows"], 200);
    for f in FILES {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs"
        );
    }
    // Another seed, another company; a flag overrides the parameters file.
    let other = scratch("generate-other");
    tenure_ok(&[
        "generate",
        "--params",
        p.to_str().unwrap(),
        "--seed",
        "4",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert_ne!(
        std::fs::read(dir.join("transactions.csv")).unwrap(),
        std::fs::read(other.join("transactions.csv")).unwrap()
    );
    // No temporary files remain.
    for d in [&dir, &again, &other] {
        assert_eq!(std::fs::read_dir(d).unwrap().count(), FILES.len());
    }
}

#[test]
fn generate_rejects_bad_input_with_exit_2() {
    let dir = scratch("generate-bad");
    let d = dir.to_str().unwrap();
    let o = tenure(&["generate", "--customers", "0", "--out", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--customers"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = tenure(&["generate", "--start", "2023-13-01", "--out", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--start"));

    let p = dir.join("params.json");
    std::fs::write(&p, r#"{"refund_rate": 1.5}"#).unwrap();
    let o = tenure(&["generate", "--params", p.to_str().unwrap(), "--out", d]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("params.json") && err.contains("refund_rate"),
        "{err}"
    );
    // Nothing was written.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}
