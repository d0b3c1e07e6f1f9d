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
        "interactions" | "touches" | "touches_opened" | "touches_clicked" | "touches_replied" => {
            s(&r["engagement"][key])
        }
        k if k.starts_with("interactions_") => {
            s(&r["engagement"]["interactions_by_kind"][&k["interactions_".len()..]])
        }
        // goal_N_value, goal_N_start_value, goal_N_target, goal_N_progress, goal_N_met.
        k if k.starts_with("goal_") => {
            let (n, field) = k["goal_".len()..].split_once('_').unwrap();
            let g = &r["goals"][n.parse::<usize>().unwrap() - 1];
            let text = |v: &Value| v.as_str().unwrap_or("—").to_string();
            match field {
                "value" => text(&g["value"]),
                "start_value" => text(&g["start_value"]),
                "target" => text(&g["target_value"]),
                "progress" => g["progress"]
                    .as_f64()
                    .map_or("—".into(), |p| format!("{} %", (p * 100.0).round())),
                "met" => match g["met"].as_bool() {
                    Some(true) => "met".into(),
                    Some(false) => "not met".into(),
                    None => "—".into(),
                },
                f => panic!("unexpected goal figure {f}"),
            }
        }
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
        "--metric",
        "usage:api",
        "--target",
        "40",
    ]);
    for (metric, target) in [("seats", "40"), ("mrr", "1000"), ("arr", "12000")] {
        tenure_ok(&[
            "plans",
            "add",
            "--db",
            &db,
            "--customer",
            who,
            "--title",
            &format!("{metric} to {target}"),
            "--owner",
            "csm.ana",
            "--target-day",
            "2025-12-31",
            "--metric",
            metric,
            "--target",
            target,
        ]);
    }
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
    assert_eq!(
        page.matches("<div class=\"chart\"><svg").count(),
        2,
        "two charts"
    );
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
    // The goals' metrics (usage.csv and subscriptions.csv read independently).
    let goals = r["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 4);
    let csv = |name: &str| std::fs::read_to_string(dir.join("company").join(name)).unwrap();
    let head = |text: &str, col: &str| {
        text.lines()
            .next()
            .unwrap()
            .split(',')
            .position(|c| c == col)
            .unwrap_or_else(|| panic!("no column {col}"))
    };
    let usage = csv("usage.csv");
    let (cu, fu, du, qu) = (
        head(&usage, "customer_id"),
        head(&usage, "feature"),
        head(&usage, "occurred_at"),
        head(&usage, "quantity"),
    );
    let api: f64 = usage
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[cu] == who && f[fu] == "api" && f[du] >= "2025-07-01" && f[du] < "2025-10-01")
        .map(|f| f[qu].parse::<f64>().unwrap())
        .sum();
    let api_goal: f64 = goals[0]["value"].as_str().unwrap().parse().unwrap();
    assert!((api_goal - api).abs() < 1e-6, "{api_goal} vs {api}");
    assert_eq!(goals[0]["unit"], "quantity in the period");
    assert_eq!(goals[0]["start_value"], Value::Null);
    assert_eq!(goals[0]["target_value"], "40");
    let subs = csv("subscriptions.csv");
    let (cs, ss, es, seats_col, st) = (
        head(&subs, "customer_id"),
        head(&subs, "started_at"),
        head(&subs, "ended_at"),
        head(&subs, "seats"),
        head(&subs, "status"),
    );
    let seats_on = |day: &str| -> u64 {
        subs.lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| {
                f[cs] == who
                    && &f[ss][..10] <= day
                    && (f[es].is_empty() || &f[es][..10] > day)
                    && f[st] != "trialing"
                    && f[st] != "paused"
            })
            .map(|f| f[seats_col].parse::<u64>().unwrap())
            .sum()
    };
    let seats = seats_on("2025-09-30");
    assert_eq!(goals[1]["value"], seats.to_string());
    assert_eq!(goals[1]["start_value"], seats_on("2025-06-30").to_string());
    assert_eq!(goals[1]["met"], seats >= 40);
    assert_eq!(goals[1]["progress"].as_f64().unwrap(), seats as f64 / 40.0);
    assert_eq!(goals[2]["unit"], "USD per month");
    assert!(
        goals[2]["value"].as_str().unwrap().contains('.'),
        "{}",
        goals[2]
    );
    assert_eq!(goals[3]["progress"], Value::Null);
    assert!(goals[3]["progress_note"]
        .as_str()
        .unwrap()
        .contains("unknown metric `arr`"));
    // Engagement: the period's interactions (interactions.csv read independently).
    let inter = csv("interactions.csv");
    let (ci, di) = (head(&inter, "customer_id"), head(&inter, "occurred_at"));
    let n = inter
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > di && f[ci] == who && f[di] >= "2025-07-01" && f[di] < "2025-10-01")
        .count();
    assert_eq!(r["engagement"]["interactions"], n as u64);

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
