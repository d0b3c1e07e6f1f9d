//! `tenure review`: a generated company with every record kind imported into SQLite; the HTML
//! page is written (exit 0), holds no external reference, and every `data-figure` on it equals
//! the review's JSON figures; a bad customer or period exits 2 and writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{full_company, scratch, tenure, tenure_ok};
use serde_json::Value;

/// `(key, text)` of every `data-figure="key">text<` on the page.
fn figures(html: &str) -> Vec<(String, String)> {
    html.split("data-figure=\"")
        .skip(1)
        .map(|s| {
            let (k, rest) = s.split_once("\">").unwrap();
            let (v, _) = rest.split_once('<').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn expected(r: &Value, key: &str) -> String {
    let n = |v: &Value, d: usize| v.as_f64().map_or("—".into(), |x| format!("{x:.d$}"));
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    match key {
        "customer" | "period" | "as_of" | "tenure_days" | "realised_profit" => s(&r[key]),
        "goals" => r["goals"].as_array().unwrap().len().to_string(),
        "goals_done" => r["goals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["status"] == "done")
            .count()
            .to_string(),
        "goals_overdue" => r["goals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["overdue"] == true)
            .count()
            .to_string(),
        "usage_index" => n(&r["value"]["usage_index"], 2),
        "usage_trend" => r["value"]["usage_trend"]
            .as_f64()
            .map_or("—".into(), |x| format!("{:+.1} %", x * 100.0)),
        "features_adopted" => r["value"]["features_adopted"]
            .as_array()
            .unwrap()
            .len()
            .to_string(),
        "features_new_in_period" => s(&r["value"]["features_new_in_period"]),
        "days_to_first_value" => match &r["value"]["days_to_first_value"] {
            Value::Null => "not reached".into(),
            v => s(v),
        },
        "cases_opened" => s(&r["support"]["opened"]),
        "cases_closed" => s(&r["support"]["closed"]),
        "cases_escalated" => s(&r["support"]["escalated"]),
        "cases_open_at_end" => s(&r["support"]["open_at_end"]),
        "mean_satisfaction" => n(&r["support"]["mean_satisfaction"], 2),
        k if k.starts_with("cases_severity_") => {
            let i: usize = k["cases_severity_".len()..].parse().unwrap();
            s(&r["support"]["opened_by_severity"][i - 1])
        }
        "paid_total" => s(&r["paid"]["total"]),
        "invoice_lines" | "payments_succeeded" | "payments_failed" | "refunds" | "refunded"
        | "chargebacks" => s(&r["paid"][key]),
        "stage" | "days_in_stage" => s(&r["lifecycle"][key]),
        "next_stage" => r["lifecycle"]["next_stage"]
            .as_str()
            .unwrap_or("—")
            .to_string(),
        other => panic!("unexpected figure {other}"),
    }
}

#[test]
fn review_page_matches_its_figures() {
    let dir = scratch("review");
    let db = full_company(&dir, "300", "3");
    // The customer with the most support cases in the generated company, with one goal.
    let who = "C000027";
    tenure_ok(&[
        "plans",
        "add",
        "--db",
        &db,
        "--customer",
        who,
        "--title",
        "Adopt the API",
        "--owner",
        "csm.ana",
        "--target-day",
        "2025-09-30",
        "--status",
        "on_track",
    ]);
    let html = dir.join("review.html");
    let js = dir.join("review.json");
    let out = tenure(&[
        "review",
        who,
        "--period",
        "2025-Q3",
        "--store",
        &db,
        "--currency",
        "USD",
        "--fx",
        "EUR=1.087",
        "--out",
        html.to_str().unwrap(),
        "--json",
        js.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(r["period"], "2025-Q3");
    assert_eq!(r["as_of"], "2025-09-30");
    assert_eq!(r["goals"][0]["title"], "Adopt the API");
    assert_eq!(r["goals"][0]["overdue"], true);
    assert_eq!(r["value"]["usage_by_week"].as_array().unwrap().len(), 13);
    // Nothing fetched from elsewhere: no link, script, URL or external image.
    for bad in [
        "<link", "<script", "http://", "https://", "src=", "url(", "@import",
    ] {
        assert!(!page.contains(bad), "the page holds {bad}");
    }
    assert!(page.contains("@page") && page.contains("break-inside:avoid"));
    assert_eq!(page.matches("<svg").count(), 2, "two charts");
    let figs = figures(&page);
    assert!(figs.len() >= 30, "{figs:?}");
    for key in [
        "paid_total",
        "cases_opened",
        "usage_index",
        "stage",
        "goals",
    ] {
        assert!(figs.iter().any(|(k, _)| k == key), "{key} is shown");
    }
    for (k, v) in &figs {
        assert_eq!(v, &expected(&r, k), "figure {k}");
    }
    // The support counts are the period's cases (cases.csv read independently).
    let cases = std::fs::read_to_string(dir.join("company/cases.csv")).unwrap();
    let opened = cases
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f[1] == who && f[2] >= "2025-07-01" && f[2] < "2025-10-01"
        })
        .count();
    assert_eq!(r["support"]["opened"], opened as u64);

    // Bad input: exit 2 with one message, nothing written.
    let none = dir.join("none.html");
    for (args, msg) in [
        (
            vec!["review", "nobody", "--store", &db],
            "no customer `nobody`",
        ),
        (
            vec!["review", who, "--period", "2025-Q5", "--store", &db],
            "`2025-Q5` is not a quarter",
        ),
        (
            vec!["review", who, "--period", "2031-Q1", "--store", &db],
            "after the last day of the records",
        ),
    ] {
        let mut a = args.clone();
        a.extend_from_slice(&["--currency", "USD", "--fx", "EUR=1.087"]);
        a.extend_from_slice(&["--out", none.to_str().unwrap()]);
        let out = tenure(&a);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(msg), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!none.exists());
    }
}
