//! The journal and the playbooks through the binary, on a generated company imported into
//! SQLite: segment and stage histories kept in day order, account plans, `tenure
//! run-playbooks` (dry run, fire once, deliver signed webhooks and emails to real loopback
//! receivers) and `tenure deliver` picking up after a worker killed with SIGKILL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{company, decide_args, json, scratch, tenure};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tenure_deliver::testkit::{HttpReceiver, SmtpServer};
use tenure_deliver::WebhookSecret;

/// The Standard Webhooks specification's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_VAR: &str = "TENURE_TEST_CRM_SECRET";
const DAY: &str = "2025-06-30";

/// The binary with the webhook secret in its environment (or explicitly without it).
fn tenure_env(args: &[&str], secret: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tenure"));
    c.args(args);
    if secret {
        c.env(SECRET_VAR, SECRET);
    } else {
        c.env_remove(SECRET_VAR);
    }
    c.output().expect("the tenure binary runs")
}

fn ok_json(out: Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn outbox(db: &str) -> Value {
    json(&[
        "outbox", "--db", db, "--format", "json", "--limit", "100000",
    ])
}

fn count(outbox: &Value, status: &str) -> u64 {
    outbox["counts"][status].as_u64().unwrap()
}

#[test]
fn segment_and_stage_histories_and_account_plans() {
    let dir = scratch("journal");
    let db = company(&dir);

    // Segments: the first recorded day stores every customer; a later day only the movers.
    let first = json(&decide_args(
        &["segments", "--record"],
        &db,
        "2025-03-31",
        &[],
    ));
    let n_first: u64 = first["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["customers"].as_u64().unwrap())
        .sum();
    assert!(n_first > 50, "{n_first} customers on 2025-03-31");
    assert_eq!(first["recorded_moves"].as_u64(), Some(n_first));
    let second = json(&decide_args(&["segments", "--record"], &db, DAY, &[]));
    let moved = second["recorded_moves"].as_u64().unwrap();
    let history = json(&["segments", "--history", "--db", &db, "--format", "json"]);
    let moves = history["moves"].as_array().unwrap();
    assert_eq!(moves.len() as u64, n_first + moved);
    let mut last: HashMap<String, String> = HashMap::new();
    for m in moves {
        let (c, to) = (m["customer"].as_str().unwrap(), m["to"].as_str().unwrap());
        match m["day"].as_str().unwrap() {
            "2025-03-31" => assert!(m["from"].is_null(), "{m}"),
            DAY => {
                // A move on the later day leaves the segment she had on the first, or is
                // her first (acquired in between).
                assert_eq!(m["from"].as_str(), last.get(c).map(String::as_str), "{m}");
                assert_ne!(m["from"].as_str(), Some(to), "{m}");
            }
            d => panic!("a move on {d}"),
        }
        last.insert(c.to_string(), to.to_string());
    }
    // The latest stored segment of each customer is the day's segment.
    for c in second["customers"].as_array().unwrap() {
        let id = c["customer"].as_str().unwrap();
        assert_eq!(
            last.get(id).map(String::as_str),
            c["segment"].as_str(),
            "{id}"
        );
    }
    // Recording the same day again changes nothing; an earlier day is refused, exit 2.
    let again = json(&decide_args(&["segments", "--record"], &db, DAY, &[]));
    assert_eq!(again["recorded_moves"].as_u64(), Some(0));
    let early = tenure(&decide_args(
        &["segments", "--record"],
        &db,
        "2025-04-30",
        &[],
    ));
    assert_eq!(early.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&early.stderr);
    assert!(msg.contains("recorded up to 2025-06-30"), "{msg}");
    let after = json(&["segments", "--history", "--db", &db, "--format", "json"]);
    assert_eq!(after["moves"].as_array().unwrap().len(), moves.len());
    let one = moves[0]["customer"].as_str().unwrap();
    let hers = json(&[
        "segments",
        "--history",
        "--customer",
        one,
        "--db",
        &db,
        "--format",
        "json",
    ]);
    let hers = hers["moves"].as_array().unwrap();
    assert!(!hers.is_empty());
    assert!(hers.iter().all(|m| m["customer"] == one));

    // Stages: the funnel counts every customer once; recording stores each customer's stage.
    let st = json(&decide_args(
        &["stages", "--customers", "--record"],
        &db,
        DAY,
        &[],
    ));
    let funnel = st["funnel"].as_array().unwrap();
    let names: Vec<_> = funnel
        .iter()
        .map(|r| r["stage"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["deliver", "develop", "retain", "grow"]);
    let in_funnel: u64 = funnel
        .iter()
        .map(|r| r["customers"].as_u64().unwrap())
        .sum();
    let listed = st["customers"].as_array().unwrap();
    assert_eq!(in_funnel, listed.len() as u64);
    assert_eq!(
        in_funnel,
        second["customers"].as_array().unwrap().len() as u64
    );
    assert_eq!(st["recorded_moves"].as_u64(), Some(in_funnel));
    for c in listed {
        assert!(c["since"].as_str().unwrap() <= DAY, "{c}");
        assert!(c["days_in_stage"].as_i64().unwrap() >= 0, "{c}");
        assert!(!c["reason"].as_str().unwrap().is_empty(), "{c}");
    }
    let st_again = json(&decide_args(&["stages", "--record"], &db, DAY, &[]));
    assert_eq!(st_again["recorded_moves"].as_u64(), Some(0));
    let sh = json(&["stages", "--history", "--db", &db, "--format", "json"]);
    let sh = sh["moves"].as_array().unwrap();
    assert_eq!(sh.len() as u64, in_funnel);
    let by_id: HashMap<_, _> = listed
        .iter()
        .map(|c| (c["customer"].as_str().unwrap(), c))
        .collect();
    for m in sh {
        let c = by_id[m["customer"].as_str().unwrap()];
        assert_eq!(m["to"], c["stage"]);
        assert_eq!(m["since"], c["since"]);
        assert_eq!(m["reason"], c["reason"]);
    }
    let early = tenure(&decide_args(
        &["stages", "--record"],
        &db,
        "2025-01-31",
        &[],
    ));
    assert_eq!(early.status.code(), Some(2));

    // Account plans: add, update one field, list; bad input exits 2 and stores nothing.
    let store = ["--db", db.as_str(), "--format", "json"];
    let mut add = vec![
        "plans",
        "add",
        "--customer",
        one,
        "--title",
        "Roll out to the second team",
        "--owner",
        "ana@example.com",
        "--target-day",
        "2025-09-30",
        "--metric",
        "health",
        "--target",
        "80",
    ];
    add.extend_from_slice(&store);
    let g = json(&add)["goals"][0].clone();
    assert_eq!(g["status"], "planned");
    assert_eq!(g["customer"], one);
    let id = g["id"].as_i64().unwrap().to_string();
    let mut upd = vec!["plans", "update", &id, "--status", "on_track"];
    upd.extend_from_slice(&store);
    let u = json(&upd)["goals"][0].clone();
    assert_eq!(u["status"], "on_track");
    assert_eq!(u["title"], "Roll out to the second team");
    assert_eq!(u["target"], "80");
    for bad in [
        vec![
            "plans",
            "add",
            "--customer",
            "nobody",
            "--title",
            "x",
            "--owner",
            "o",
            "--target-day",
            "2025-09-30",
        ],
        vec![
            "plans",
            "add",
            "--customer",
            one,
            "--title",
            "x",
            "--owner",
            "o",
            "--target-day",
            "2025-02-30",
        ],
        vec!["plans", "update", &id, "--status", "finished"],
        vec!["plans", "update", "999999", "--status", "done"],
    ] {
        let mut b = bad.clone();
        b.extend_from_slice(&store);
        let out = tenure(&b);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert!(!out.stderr.is_empty());
    }
    let mut list = vec!["plans", "list", "--customer", one];
    list.extend_from_slice(&store);
    let goals = json(&list)["goals"].as_array().unwrap().clone();
    assert_eq!(goals.len(), 1);
    assert_eq!(goals[0]["status"], "on_track");
}

fn config(dir: &Path, webhook_url: &str, smtp_port: u16, delivery: &str) -> String {
    let p = dir.join("tenure.toml");
    std::fs::write(
        &p,
        format!(
            r#"[[playbooks]]
name = "low-health"
when = {{ health_below = {{ score = 60 }} }}
cooldown = "30d"
then = [{{ webhook = "crm" }}, {{ task = "cs-queue" }}]

[[playbooks]]
name = "detractor"
when = {{ nps_detractor = {{ within = "365d" }} }}
then = [{{ email = "csm@example.com", subject = "Call {{customer_id}}", body = "{{reason}}" }}]

[webhooks.crm]
url = "{webhook_url}"
secret_env = "{SECRET_VAR}"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
from = "Tenure <tenure@example.com>"
tls = "none"

{delivery}
"#
        ),
    )
    .unwrap();
    p.display().to_string()
}

/// The fires' actions of one channel, by id.
fn actions(report: &Value, channel: &str) -> BTreeSet<String> {
    report["fires"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["actions"].as_array().unwrap().iter())
        .filter(|a| a["channel"] == channel)
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn playbooks_fire_once_and_deliver_signed() {
    let dir = scratch("playbooks");
    let db = company(&dir);
    let receiver = HttpReceiver::start_with_secret(&WebhookSecret::parse(SECRET).unwrap());
    let smtp = SmtpServer::start();
    let cfg = config(&dir, &receiver.url(), smtp.port(), "");
    let c = ["--config", cfg.as_str()];

    // The low-health rule fires exactly for the customers `tenure health` scores below 60.
    let health = json(&decide_args(&["health", "--all"], &db, DAY, &c));
    let low: BTreeSet<String> = health["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["score"].as_f64().is_some_and(|s| s < 60.0))
        .map(|h| h["customer"].as_str().unwrap().to_string())
        .collect();
    assert!(!low.is_empty());

    // A dry run lists the fires and stores nothing.
    let dry = ok_json(
        tenure_env(
            &decide_args(&["run-playbooks", "--dry-run"], &db, DAY, &c),
            false,
        ),
        "dry run",
    );
    assert_eq!(dry["dry_run"], true);
    assert!(dry["recorded"].is_null());
    let fired: BTreeSet<String> = dry["fires"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "low-health")
        .map(|f| f["customer"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fired, low);
    let webhooks = actions(&dry, "webhook");
    let emails = actions(&dry, "email");
    let tasks = actions(&dry, "task");
    assert_eq!(webhooks.len(), low.len());
    assert_eq!(tasks.len(), low.len());
    assert!(!emails.is_empty(), "no detractor in the generated company");
    assert_eq!(outbox(&db)["items"].as_array().unwrap().len(), 0);
    let hist = json(&["segments", "--history", "--db", &db, "--format", "json"]);
    assert_eq!(hist["moves"].as_array().unwrap().len(), 0);

    // --deliver without the secret in the environment: exit 2 naming the key, nothing stored.
    let out = tenure_env(
        &decide_args(&["run-playbooks", "--deliver"], &db, DAY, &c),
        false,
    );
    assert_eq!(out.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(
        msg.contains("webhooks.crm.secret_env") && msg.contains(SECRET_VAR),
        "{msg}"
    );
    assert_eq!(outbox(&db)["items"].as_array().unwrap().len(), 0);

    // With it: every fire stored and every webhook and email delivered, signed.
    let run = ok_json(
        tenure_env(
            &decide_args(&["run-playbooks", "--deliver"], &db, DAY, &c),
            true,
        ),
        "run-playbooks --deliver",
    );
    assert_eq!(run["fires"], dry["fires"], "the dry run showed what runs");
    let n_fires = dry["fires"].as_array().unwrap().len() as u64;
    let rec = &run["recorded"];
    assert_eq!(rec["new_fires"].as_u64(), Some(n_fires));
    let n_items = (webhooks.len() + emails.len() + tasks.len()) as u64;
    assert_eq!(rec["new_outbox_items"].as_u64(), Some(n_items));
    assert_eq!(rec["already_recorded_fires"].as_u64(), Some(0));
    assert!(rec["segment_moves"].as_u64().unwrap() > 0);
    assert!(rec["stage_moves"].as_u64().unwrap() > 0);
    let sent = (webhooks.len() + emails.len()) as u64;
    assert_eq!(run["delivery"]["delivered"].as_u64(), Some(sent));
    assert_eq!(run["delivery"]["dead"].as_u64(), Some(0));

    let got = receiver.received();
    assert_eq!(got.len(), webhooks.len());
    let ids: BTreeSet<String> = got
        .iter()
        .map(|r| r.request.id().unwrap().to_string())
        .collect();
    assert_eq!(ids, webhooks);
    for r in &got {
        assert!(r.signature_ok, "{:?}", r.request.headers);
        let body: Value = serde_json::from_slice(&r.request.body).unwrap();
        assert_eq!(body["type"], "playbook.fired");
        assert_eq!(body["timestamp"], "2025-06-30T00:00:00Z");
        assert!(
            low.contains(body["data"]["customer_id"].as_str().unwrap()),
            "{body}"
        );
    }
    let mails = smtp.messages();
    assert_eq!(mails.len(), emails.len());
    for m in &mails {
        assert_eq!(m.to, ["csm@example.com"]);
        assert!(
            m.subject().unwrap().starts_with("Call "),
            "{:?}",
            m.subject()
        );
    }
    let ob = outbox(&db);
    assert_eq!(count(&ob, "delivered"), sent);
    assert_eq!(count(&ob, "open"), tasks.len() as u64);
    assert_eq!(count(&ob, "pending") + count(&ob, "dead"), 0);

    // The same day again: nothing new fires, nothing is sent twice.
    let rerun = ok_json(
        tenure_env(
            &decide_args(&["run-playbooks", "--deliver"], &db, DAY, &c),
            true,
        ),
        "re-run",
    );
    assert_eq!(rerun["recorded"]["new_fires"].as_u64(), Some(0));
    assert_eq!(rerun["recorded"]["new_outbox_items"].as_u64(), Some(0));
    assert_eq!(
        rerun["recorded"]["already_recorded_fires"].as_u64(),
        Some(n_fires)
    );
    assert_eq!(rerun["recorded"]["segment_moves"].as_u64(), Some(0));
    assert_eq!(rerun["recorded"]["stage_moves"].as_u64(), Some(0));
    assert_eq!(rerun["delivery"]["claimed"].as_u64(), Some(0));
    assert_eq!(receiver.received().len(), webhooks.len());
    assert_eq!(smtp.messages().len(), emails.len());

    // Ten days later the low-health rule cools down; an earlier day is refused, exit 2.
    let later = ok_json(
        tenure_env(
            &decide_args(&["run-playbooks", "--dry-run"], &db, "2025-07-10", &c),
            false,
        ),
        "later",
    );
    assert!(later["fires"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["rule"] != "low-health" || !low.contains(f["customer"].as_str().unwrap())));
    let early = tenure_env(
        &decide_args(&["run-playbooks"], &db, "2025-05-31", &c),
        true,
    );
    assert_eq!(early.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&early.stderr);
    assert!(msg.contains("recorded up to 2025-06-30"), "{msg}");
    assert_eq!(count(&outbox(&db), "delivered"), sent);
}

#[test]
fn a_killed_worker_loses_nothing() {
    let dir = scratch("killed");
    let db = company(&dir);
    let receiver = HttpReceiver::start_with_secret(&WebhookSecret::parse(SECRET).unwrap());
    let smtp = SmtpServer::start();
    let cfg = config(
        &dir,
        &receiver.url(),
        smtp.port(),
        "[delivery]\nlease_secs = 2\ntimeout_ms = 1000\n",
    );
    let c = ["--config", cfg.as_str()];
    let run = ok_json(
        tenure_env(&decide_args(&["run-playbooks"], &db, DAY, &c), true),
        "run-playbooks",
    );
    let webhooks = actions(&run, "webhook");
    let emails = actions(&run, "email");
    assert!(webhooks.len() >= 5, "{} webhooks", webhooks.len());

    // A watching worker, slowed by the receiver, killed mid-batch.
    receiver.set_delay(Some(Duration::from_millis(200)));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args(["deliver", "--watch", "--interval", "1", "--db", &db])
        .args(c)
        .env(SECRET_VAR, SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while receiver.received().len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the worker delivered nothing"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the worker stopped: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = receiver.received().len();
    assert!(before < webhooks.len(), "killed too late to test anything");
    let ob = outbox(&db);
    assert!(count(&ob, "sending") > 0, "the killed worker held claims");

    // Another worker takes over once the leases run out: everything arrives.
    receiver.set_delay(None);
    let start = Instant::now();
    loop {
        let out = tenure_env(
            &["deliver", "--db", &db, "--config", &cfg, "--format", "json"],
            true,
        );
        let pass = ok_json(out, "deliver");
        assert_eq!(pass["delivery"]["dead"].as_u64(), Some(0), "{pass}");
        let o = &pass["outbox"];
        if o["pending"].as_u64() == Some(0) && o["sending"].as_u64() == Some(0) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "still not delivered: {pass}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let ob = outbox(&db);
    assert_eq!(
        count(&ob, "delivered"),
        (webhooks.len() + emails.len()) as u64
    );
    let got = receiver.received();
    assert!(got.iter().all(|r| r.signature_ok));
    let ids: BTreeSet<String> = got
        .iter()
        .map(|r| r.request.id().unwrap().to_string())
        .collect();
    // At least once: every id arrived; one cut off by the kill may have arrived twice, with
    // the same id, so a receiver that keys on `webhook-id` does its work once.
    assert_eq!(ids, webhooks);
    assert!(got.len() >= webhooks.len());
    assert_eq!(smtp.messages().len(), emails.len());
}
