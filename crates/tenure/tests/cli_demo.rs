//! `tenure demo` as a user starts it: it builds the store, prints the figures and serves the
//! dashboard and the API with the same figures; `tenure demo-models` runs the model pipeline
//! end to end and leaves every file it announces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn get(base: &str, path: &str, token: &str) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut res = agent
        .get(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap()
}

/// The value of a row of the printed figures table.
fn figure<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(name).filter(|r| r.starts_with("  ")))
        .unwrap_or_else(|| panic!("no {name} in {out}"))
        .trim()
}

#[test]
fn demo_builds_the_store_and_serves_the_figures_it_prints() {
    let dir = scratch("demo");
    let d = dir.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args([
            "demo",
            "--dir",
            d,
            "--customers",
            "300",
            "--seed",
            "5",
            "--addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (base, token) = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("demo stopped before serving: {out}"))
            .unwrap();
        out.push_str(&line);
        out.push('\n');
        if let Some(url) = line.strip_prefix("Dashboard: ") {
            let (base, token) = url.split_once("/#token=").unwrap();
            break (base.to_string(), token.to_string());
        }
    };
    let o = get(&base, "/api/overview", &token);
    assert_eq!(o["customers"].to_string(), figure(&out, "customers"));
    assert_eq!(
        format!("{} USD", o["mrr"].as_str().unwrap()),
        figure(&out, "MRR")
    );
    let pct = |v: &Value| format!("{:.1} %", 100.0 * v.as_f64().unwrap());
    assert_eq!(pct(&o["retention"]["nrr"]), figure(&out, "NRR, 12 months"));
    assert_eq!(
        pct(&o["retention"]["logo"]),
        figure(&out, "logo retention, 12 months")
    );
    // The store it leaves answers every other command with the same figures.
    let db = dir.join("tenure.db");
    let r = json(&[
        "report",
        "retention",
        "--db",
        db.to_str().unwrap(),
        "--currency",
        "USD",
        "--fx",
        "EUR=1.087",
        "--format",
        "json",
    ]);
    let g = &r["groups"][0];
    assert_eq!(g["net_revenue_retention"], o["retention"]["nrr"]);
    assert_eq!(g["gross_revenue_retention"], o["retention"]["grr"]);
    assert_eq!(g["customers_start"], o["retention"]["customers_start"]);
    // The dashboard and its playbooks (editable: the demo writes tenure.toml).
    let p = get(&base, "/api/playbooks", &token);
    assert_eq!(p["editable"], true);
    assert_eq!(p["playbooks"].as_array().unwrap().len(), 3, "{p}");
    assert!(dir.join("tenure.toml").exists() && dir.join("company/usage.csv").exists());
    let _ = child.kill();
    let _ = child.wait();

    // --no-serve: the same company, the same figures, then exit 0.
    let again = tenure_ok(&[
        "demo",
        "--dir",
        d,
        "--customers",
        "300",
        "--seed",
        "5",
        "--no-serve",
    ]);
    assert_eq!(figure(&again, "MRR"), figure(&out, "MRR"));
    assert_eq!(
        figure(&again, "realised profit"),
        figure(&out, "realised profit")
    );
    let bad = tenure(&["demo", "--dir", d, "--addr", "nowhere", "--no-serve"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn demo_models_runs_end_to_end() {
    let dir = scratch("demo-models");
    let out = tenure_ok(&[
        "demo-models",
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
    let again = scratch("demo-models-again");
    tenure_ok(&[
        "demo-models",
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
