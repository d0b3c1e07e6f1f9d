//! `tenure segments`, `tenure health`, `tenure advocates` on a generated company imported into
//! SQLite: the outputs agree with their own rules and with `tenure.toml`; a bad configuration
//! exits 2 naming the file, line and column.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{company, decide_args, json, scratch, tenure, tenure_ok};
use serde_json::Value;

fn run(cmd: &[&str], db: &str, extra: &[&str]) -> Value {
    json(&decide_args(cmd, db, "2025-06-30", extra))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn decisions_from_the_store() {
    let dir = scratch("act");
    let db = company(&dir);
    let cfg = dir.join("tenure.toml");
    std::fs::write(
        &cfg,
        "[segments.plans.key]\nchannels = [\"phone\"]\ncadence = \"2w\"\nbudget_per_year = \"5000.00\"\n",
    )
    .unwrap();
    let config = ["--config", cfg.to_str().unwrap()];

    // Segments: every customer acquired by the day in exactly one, the plan from the file.
    let s = run(&["segments"], &db, &config);
    assert_eq!(s["currency"], "USD");
    assert_eq!(s["as_of"], "2025-06-30");
    let customers = s["customers"].as_array().unwrap();
    let total: u64 = s["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, customers.len());
    assert!(customers.len() > 150 && customers.len() < 300);
    let key = &s["segments"][0];
    assert_eq!(key["segment"], "key");
    assert_eq!(key["plan"]["channels"], serde_json::json!(["phone"]));
    assert_eq!(key["plan"]["cadence_days"], 14);
    assert_eq!(key["plan"]["budget_per_year"], "5000.00");
    assert!(key["customers"].as_u64().unwrap() > 0, "{key}");
    for c in customers {
        let seg = c["segment"].as_str().unwrap();
        let fp = c["predicted_future_profit"].as_str();
        match seg {
            "never_profitable" => assert!(fp.unwrap().starts_with('-'), "{c}"),
            "key" | "potential_key" => assert!(!fp.unwrap().starts_with('-'), "{c}"),
            "general" => {}
            other => panic!("segment {other}"),
        }
    }
    // --segment filters the customers.
    let only = run(&["segments", "--segment", "key"], &db, &config);
    assert!(only["customers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["segment"] == "key"));

    // Health: sorted lowest first; points add up; a band filter keeps its band.
    let h = run(&["health"], &db, &[]);
    let rows = h["customers"].as_array().unwrap();
    let scores: Vec<f64> = rows.iter().filter_map(|r| r["score"].as_f64()).collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]));
    for r in rows.iter().filter(|r| r["score"].is_number()) {
        let sum: f64 = r["points"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(Value::as_f64)
            .sum();
        assert!((sum - num(&r["score"])).abs() < 1e-6, "{r}");
    }
    let risky = run(&["health", "--band", "at-risk"], &db, &[]);
    let risky = risky["customers"].as_array().unwrap();
    assert_eq!(risky.len() as u64, h["bands"]["at_risk"].as_u64().unwrap());
    assert!(risky.iter().all(|r| r["band"] == "at_risk"));

    // One customer explained: five components, history of four scores ending today.
    let id = rows[0]["customer"].as_str().unwrap();
    let one = run(&["health", id], &db, &[]);
    assert_eq!(one["customer"], id);
    assert_eq!(one["components"].as_array().unwrap().len(), 5);
    let hist = one["history"].as_array().unwrap();
    assert_eq!(hist.len(), 4);
    assert_eq!(hist[3]["as_of"], "2025-06-30");
    assert_eq!(hist[3]["score"], one["score"]);
    assert_eq!(one["score"], rows[0]["score"]);

    // Advocates: promoters, healthy, tenured, ranked.
    let a = run(&["advocates"], &db, &[]);
    let list = a["advocates"].as_array().unwrap();
    assert!(!list.is_empty());
    for (k, c) in list.iter().enumerate() {
        assert_eq!(c["rank"], k + 1);
        assert!(c["nps"].as_u64().unwrap() >= 9);
        assert!(num(&c["health"]) >= 70.0);
        assert!(c["tenure_days"].as_i64().unwrap() >= 182);
    }

    // The table names the day, currency and configuration.
    let t = tenure_ok(&[
        "segments",
        "--db",
        &db,
        "--as-of",
        "2025-06-30",
        "--currency",
        "USD",
        "--fx",
        "EUR=1.087",
    ]);
    assert!(
        t.contains("CLV segments on 2025-06-30 (USD; configuration: defaults)"),
        "{t}"
    );
    assert!(t.contains("never_profitable"), "{t}");
}

#[test]
fn a_bad_configuration_exits_2_naming_the_place() {
    let dir = scratch("act-config");
    let cfg = dir.join("tenure.toml");
    let db = dir.join("none.db");
    for (text, place, phrase) in [
        (
            "[health]\nweigths = 1\n",
            ":2:1:",
            "unknown field `weigths`",
        ),
        (
            "[segments]\nhigh_predicted = { quantile = 2 }\n",
            ":2:",
            "not between 0 and 1",
        ),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let out = tenure(&[
            "health",
            "--config",
            cfg.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("tenure.toml{place}")), "{err}");
        assert!(err.contains(phrase), "{err}");
        // Nothing was created: the configuration is read before the store is opened.
        assert!(!db.exists());
    }
}
