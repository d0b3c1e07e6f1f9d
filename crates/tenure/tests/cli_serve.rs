//! `tenure serve` started as a user starts it, on 127.0.0.1 with a port the OS picks, over a
//! generated company in SQLite: the API answers with the CLI's figures, refuses requests
//! without a token, takes account plans, and its worker delivers what `tenure run-playbooks`
//! enqueued to a real webhook receiver, signed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{company, decide_args, json, scratch, tenure};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tenure_deliver::testkit::HttpReceiver;
use tenure_deliver::WebhookSecret;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const DAY: &str = "2025-06-30";

/// A running `tenure serve`, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &str, config: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            db,
            "--config",
            config,
            "--as-of",
            DAY,
            "--currency",
            "USD",
            "--fx",
            "EUR=1.087",
            "--worker-interval",
            "1",
        ])
        .env("TENURE_TEST_CRM_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .and_then(|u| u.strip_suffix("/api/"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    Server { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

fn get(s: &Server, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut r = agent().get(format!("{}{path}", s.base));
    if let Some(t) = token {
        r = r.header("Authorization", format!("Bearer {t}"));
    }
    let mut res = r.call().unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn post(s: &Server, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let mut res = agent()
        .post(format!("{}{path}", s.base))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn cli(cmd: &[&str], db: &str, config: &str) -> Value {
    json(&decide_args(cmd, db, DAY, &["--config", config]))
}

#[test]
fn serve_answers_with_the_cli_figures_and_runs_the_worker() {
    let dir = scratch("serve");
    let db = company(&dir);
    let receiver = HttpReceiver::start_with_secret(&WebhookSecret::parse(SECRET).unwrap());
    let cfg = dir.join("tenure.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[playbooks]]\nname = \"low-health\"\nwhen = {{ health_below = {{ score = 60 }} }}\ncooldown = \"30d\"\nthen = [{{ webhook = \"crm\" }}]\n\n[webhooks.crm]\nurl = \"{}\"\nsecret_env = \"TENURE_TEST_CRM_SECRET\"\n",
            receiver.url()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();

    // Tokens: made by the CLI, shown once; no default credentials.
    let admin = json(&[
        "token", "create", "ops", "--role", "admin", "--db", &db, "--format", "json",
    ]);
    let admin = admin["token"].as_str().unwrap().to_string();
    assert!(admin.starts_with("tnr_"));
    let reader = json(&[
        "token", "create", "bi", "--role", "analyst", "--db", &db, "--format", "json",
    ]);
    let reader = reader["token"].as_str().unwrap().to_string();
    let dup = tenure(&["token", "create", "bi", "--role", "analyst", "--db", &db]);
    assert_eq!(dup.status.code(), Some(2));
    let bad_role = tenure(&["token", "create", "x", "--role", "root", "--db", &db]);
    assert_eq!(bad_role.status.code(), Some(2));
    let listed = json(&["token", "list", "--db", &db, "--format", "json"]);
    let listed = listed["tokens"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        !listed.iter().any(|t| t.to_string().contains("tnr_")),
        "a token's text is stored"
    );

    let server = serve(&db, cfg);
    let (s, v) = get(&server, "/api/overview", None);
    assert_eq!(s, 401, "{v}");

    // The API's figures are the CLI's: the reports, cell for cell.
    let report = |name: &str, extra: &[&str]| -> Value {
        let mut a = vec![
            "report",
            name,
            "--db",
            &db,
            "--as-of",
            DAY,
            "--currency",
            "USD",
            "--fx",
            "EUR=1.087",
            "--format",
            "json",
        ];
        a.extend_from_slice(extra);
        json(&a)
    };
    let (_, mrr) = get(&server, "/api/reports/mrr", Some(&reader));
    let cli_mrr = report("mrr", &[]);
    let cli_months = cli_mrr["groups"][0]["months"].as_array().unwrap();
    let api_months = mrr["periods"].as_array().unwrap();
    assert_eq!(api_months.len(), cli_months.len());
    for (a, b) in api_months.iter().zip(cli_months) {
        assert_eq!(a["period"], b["month"]);
        for k in [
            "opening",
            "new",
            "expansion",
            "contraction",
            "churn",
            "closing",
            "arr",
        ] {
            assert_eq!(a[k], b[k], "{k} of {}", b["month"]);
        }
        assert_eq!(a["customers_closing"], b["customers"]);
    }
    let (_, coh) = get(
        &server,
        "/api/reports/cohorts?interval=quarter",
        Some(&reader),
    );
    let cli_coh = report("cohorts", &["--interval", "quarter"]);
    let cli_rows = cli_coh["groups"][0]["cohorts"].as_array().unwrap();
    let api_rows = coh["cohorts"].as_array().unwrap();
    assert_eq!(api_rows.len(), cli_rows.len());
    for (a, b) in api_rows.iter().zip(cli_rows) {
        assert_eq!(a["cohort"], b["cohort"]);
        assert_eq!(a["customers"], b["customers"]);
        for (x, y) in a["cells"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["periods"].as_array().unwrap())
        {
            assert_eq!(x["retained"], y["retained"]);
            assert_eq!(x["logo"], y["logo_retention"]);
            assert_eq!(x["nrr"], y["net_revenue_retention"]);
            assert_eq!(x["seats"], y["seat_retention"]);
        }
    }
    let (_, ret) = get(&server, "/api/reports/retention?months=6", Some(&reader));
    let cli_ret = report("retention", &["--window", "6mo"]);
    assert_eq!(ret["nrr"], cli_ret["groups"][0]["net_revenue_retention"]);
    assert_eq!(ret["grr"], cli_ret["groups"][0]["gross_revenue_retention"]);
    assert_eq!(
        ret["customers_start"],
        cli_ret["groups"][0]["customers_start"]
    );
    let (_, surv) = get(&server, "/api/reports/survival", Some(&reader));
    let cli_surv = report("survival", &[]);
    let g = &cli_surv["groups"][0];
    assert_eq!(surv["observations"], g["observations"]);
    assert_eq!(surv["events"], g["events"]);
    for k in ["median_days", "median_lower_days", "median_upper_days"] {
        assert_eq!(surv[k], g[k], "{k}");
    }
    assert_eq!(
        surv["points"].as_array().unwrap().len(),
        g["curve"].as_array().unwrap().len()
    );
    let (s, seg) = get(&server, "/api/segments", Some(&reader));
    assert_eq!(s, 200, "{seg}");
    let cli_seg = cli(&["segments"], &db, cfg);
    for (a, b) in seg["segments"]
        .as_array()
        .unwrap()
        .iter()
        .zip(cli_seg["segments"].as_array().unwrap())
    {
        assert_eq!(a["segment"], b["segment"]);
        assert_eq!(a["customers"], b["customers"]);
        assert_eq!(a["realised_profit"], b["realised_profit"]);
        assert_eq!(a["predicted_future_profit"], b["predicted_future_profit"]);
    }
    assert_eq!(
        seg["high_predicted"],
        cli_seg["thresholds"]["high_predicted"]
    );
    let (_, st) = get(&server, "/api/stages", Some(&reader));
    let cli_st = cli(&["stages"], &db, cfg);
    assert_eq!(st["funnel"], cli_st["funnel"]);
    let (_, adv) = get(&server, "/api/advocates", Some(&reader));
    let cli_adv = cli(&["advocates"], &db, cfg);
    let ids = |v: &Value, key: &str| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c[key].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&adv["advocates"], "id"),
        ids(&cli_adv["advocates"], "customer")
    );
    let (_, h) = get(
        &server,
        "/api/customers?band=at_risk&limit=1000",
        Some(&reader),
    );
    let cli_h = cli(&["health", "--band", "at-risk", "--all"], &db, cfg);
    let mut api_ids = ids(&h["items"], "id");
    let mut cli_ids = ids(&cli_h["customers"], "customer");
    api_ids.sort();
    cli_ids.sort();
    assert_eq!(api_ids, cli_ids);

    // A plan made over the API is the CLI's plan.
    let who = &api_ids[0];
    let (s, g) = post(
        &server,
        "/api/plans",
        &admin,
        &serde_json::json!({"customer": who, "title": "Save the account", "owner": "ana", "target_day": "2025-08-31"}),
    );
    assert_eq!(s, 201, "{g}");
    let (s, _) = post(
        &server,
        "/api/plans",
        &reader,
        &serde_json::json!({"customer": who, "title": "x", "owner": "o", "target_day": "2025-08-31"}),
    );
    assert_eq!(s, 403);
    let plans = json(&[
        "plans",
        "list",
        "--customer",
        who,
        "--db",
        &db,
        "--format",
        "json",
    ]);
    assert_eq!(plans["goals"][0]["title"], "Save the account");

    // The worker inside `tenure serve` delivers what run-playbooks enqueued.
    let run = cli(&["run-playbooks"], &db, cfg);
    let n = run["recorded"]["new_outbox_items"].as_u64().unwrap() as usize;
    assert_eq!(n, api_ids.len(), "one webhook per at-risk customer");
    let start = Instant::now();
    while receiver.received().len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the server's worker delivered {} of {n}",
            receiver.received().len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(receiver.received().iter().all(|r| r.signature_ok));
    let start = Instant::now();
    loop {
        let (_, ob) = get(
            &server,
            "/api/outbox?status=delivered&limit=1000",
            Some(&reader),
        );
        if ob["items"].as_array().unwrap().len() == n {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{ob}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, c) = get(&server, &format!("/api/customers/{who}"), Some(&reader));
    assert_eq!(c["actions"][0]["rule"], "low-health");
    assert_eq!(c["goals"][0]["title"], "Save the account");
}
