//! Delivery through the outbox to real receivers on 127.0.0.1 (an HTTP server and an SMTP
//! server started by the test), in virtual time: the worker is given `now`, so retries and
//! leases run out without sleeping.
//!
//! - receiver down for a while → everything delivered, each id accepted exactly once;
//! - a worker that dies mid-delivery (claimed and sent, outcome never recorded) → the items
//!   are delivered again once the lease runs out: at-least-once, nothing lost, and the
//!   receiver's idempotency key (`webhook-id` / `Message-ID`) makes it exactly-once for it;
//! - permanent failures and exhausted retries go dead; replay delivers them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use tenure_deliver::testkit::{HttpReceiver, SmtpServer, SmtpStage};
use tenure_deliver::{
    Deliverer, DeliveryConfig, Jitter, RetryPolicy, SmtpConfig, SmtpTls, WebhookSecret,
};
use tenure_store::journal::{Channel, Fire, NewAction, OutboxStatus};
use tenure_store::{open, ImportOptions, Location, RecordKind, Store};
use tenure_worker::{Endpoint, Worker};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const T0: i64 = 1_750_000_000;

fn store(name: &str) -> (Box<dyn Store>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tenure-worker-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = open(&Location::Sqlite(dir.join("tenure.db"))).unwrap();
    let mut csv = "id,acquired_at\n".to_string();
    for i in 0..20 {
        csv.push_str(&format!("c{i},2024-01-01\n"));
    }
    std::fs::write(dir.join("customers.csv"), csv).unwrap();
    s.import(
        RecordKind::Customers,
        &dir.join("customers.csv"),
        &ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    (s, dir)
}

/// 20 fires, each with a webhook and an email.
fn fires() -> Vec<Fire> {
    (0..20)
        .map(|i| Fire {
            rule: "detractor".into(),
            customer_id: format!("c{i}"),
            occurrence: "nps:2025-03-01".into(),
            day: "2025-03-02".into(),
            actions: vec![
                NewAction {
                    id: format!("msg_{i}_w"),
                    channel: Channel::Webhook,
                    target: "crm".into(),
                    payload: format!("{{\"customer\":\"c{i}\"}}"),
                },
                NewAction {
                    id: format!("msg_{i}_e"),
                    channel: Channel::Email,
                    target: "csm@example.com".into(),
                    payload: format!(
                        "{{\"subject\":\"Detractor c{i}\",\"body\":\"Call c{i} today.\"}}"
                    ),
                },
            ],
        })
        .collect()
}

fn worker(http: &HttpReceiver, smtp: &SmtpServer, max_attempts: u32) -> Worker {
    let deliverer = Deliverer::new(&DeliveryConfig {
        timeout_ms: 10_000,
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: smtp.port(),
            from: "tenure@example.com".into(),
            auth: None,
            tls: SmtpTls::None,
        }),
    })
    .unwrap();
    let endpoints = HashMap::from([(
        "crm".to_string(),
        Endpoint {
            url: http.url(),
            secret: WebhookSecret::parse(SECRET).unwrap(),
        },
    )]);
    let policy = RetryPolicy {
        base_secs: 30.0,
        factor: 2.0,
        max_delay_secs: 3600.0,
        max_attempts,
        jitter: Jitter::Equal,
    };
    Worker::new(deliverer, endpoints, policy, 60, 7)
}

/// Ids the HTTP receiver accepted (2xx with a valid signature), with how often.
fn accepted_http(r: &HttpReceiver) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for x in r.received() {
        if (200..300).contains(&x.status) {
            assert!(x.signature_ok);
            *n.entry(x.request.id().unwrap().to_string()).or_insert(0) += 1;
        }
    }
    n
}

fn accepted_mail(s: &SmtpServer) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for m in s.messages() {
        let key = m.header("X-Tenure-Idempotency-Key").unwrap().to_string();
        *n.entry(key).or_insert(0) += 1;
    }
    n
}

fn status_count(s: &mut dyn Store, st: OutboxStatus) -> u64 {
    s.outbox_counts()
        .unwrap()
        .into_iter()
        .find(|(x, _)| *x == st)
        .unwrap()
        .1
}

#[test]
fn receivers_down_for_a_while_then_everything_arrives_exactly_once() {
    let (mut s, dir) = store("down");
    let http = HttpReceiver::start_with_secret(&WebhookSecret::parse(SECRET).unwrap());
    let smtp = SmtpServer::start();
    let mut w = worker(&http, &smtp, 12);
    s.enqueue(&fires(), T0).unwrap();
    http.set_down(true);
    smtp.set_failing(Some((SmtpStage::Data, 451)));
    let mut now = T0;
    // Three hours of outage, the worker passing every minute.
    while now < T0 + 3 * 3600 {
        w.drain(s.as_mut(), now).unwrap();
        now += 60;
    }
    assert!(accepted_http(&http).is_empty());
    assert!(smtp.messages().is_empty());
    assert_eq!(status_count(s.as_mut(), OutboxStatus::Pending), 40);
    let tried: Vec<u32> = s
        .outbox(Some(OutboxStatus::Pending), 100, 0)
        .unwrap()
        .iter()
        .map(|i| i.attempts)
        .collect();
    // Backoff: ~30 s, 60 s, … capped at an hour: well under 180 attempts in 3 h.
    assert!(tried.iter().all(|&a| (5..=12).contains(&a)), "{tried:?}");

    http.set_down(false);
    smtp.set_failing(None);
    while now < T0 + 6 * 3600 {
        w.drain(s.as_mut(), now).unwrap();
        now += 60;
    }
    let h = accepted_http(&http);
    let m = accepted_mail(&smtp);
    assert_eq!(h.len(), 20);
    assert_eq!(m.len(), 20);
    assert!(h.values().all(|&n| n == 1), "{h:?}");
    assert!(m.values().all(|&n| n == 1), "{m:?}");
    assert_eq!(status_count(s.as_mut(), OutboxStatus::Delivered), 40);
    let mail = &smtp.messages()[0];
    assert!(mail.subject().unwrap().starts_with("Detractor c"));
    assert_eq!(
        mail.header("Message-ID").unwrap(),
        format!(
            "<{}@tenure>",
            mail.header("X-Tenure-Idempotency-Key").unwrap()
        )
    );
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn worker_dying_mid_delivery_loses_nothing_and_receiver_dedupes() {
    let (mut s, dir) = store("killed");
    let http = HttpReceiver::start_with_secret(&WebhookSecret::parse(SECRET).unwrap());
    let smtp = SmtpServer::start();
    s.enqueue(&fires(), T0).unwrap();
    // The first worker claims a batch, sends half of it and dies: nothing recorded.
    {
        let mut dying = worker(&http, &smtp, 12);
        let claimed = s.claim_due(T0, 60, 100).unwrap();
        assert_eq!(claimed.len(), 40);
        for item in claimed.iter().take(20) {
            let _ = dying.attempt(item, T0);
        }
    }
    let before: HashSet<String> = accepted_http(&http)
        .into_keys()
        .chain(accepted_mail(&smtp).into_keys())
        .collect();
    assert_eq!(before.len(), 20);
    // A new worker during the lease: nothing is due yet.
    let mut w = worker(&http, &smtp, 12);
    assert_eq!(w.drain(s.as_mut(), T0 + 30).unwrap().claimed, 0);
    // After the lease: all 40 are claimed again and delivered.
    let p = w.drain(s.as_mut(), T0 + 61).unwrap();
    assert_eq!((p.claimed, p.delivered), (40, 40));
    let h = accepted_http(&http);
    let m = accepted_mail(&smtp);
    let ids: HashSet<&String> = h.keys().chain(m.keys()).collect();
    assert_eq!(ids.len(), 40, "nothing lost");
    // At-least-once: the 20 sent before the crash arrived twice, the rest once.
    let twice: HashSet<String> = h
        .iter()
        .chain(m.iter())
        .filter(|(_, &n)| n == 2)
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(twice, before);
    assert!(h.values().chain(m.values()).all(|&n| n <= 2));
    let attempts: Vec<u32> = s
        .outbox(Some(OutboxStatus::Delivered), 100, 0)
        .unwrap()
        .iter()
        .map(|i| i.attempts)
        .collect();
    assert!(attempts.iter().all(|&a| a == 2));
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn permanent_failures_and_exhausted_retries_go_dead_and_replay_delivers() {
    let (mut s, dir) = store("dead");
    let http = HttpReceiver::start_with_secret(&WebhookSecret::parse(SECRET).unwrap());
    let smtp = SmtpServer::start();
    let mut w = worker(&http, &smtp, 3);
    s.enqueue(&fires(), T0).unwrap();
    http.set_status(Some(410));
    smtp.set_failing(Some((SmtpStage::Data, 451)));
    let mut now = T0;
    while now < T0 + 3600 {
        w.drain(s.as_mut(), now).unwrap();
        now += 30;
    }
    let dead = s.outbox(Some(OutboxStatus::Dead), 100, 0).unwrap();
    assert_eq!(dead.len(), 40);
    for d in &dead {
        match d.channel {
            Channel::Webhook => assert_eq!(d.attempts, 1, "410 is permanent"),
            _ => assert_eq!(d.attempts, 3, "451 retried up to max_attempts"),
        }
        assert!(d.last_error.is_some());
    }
    http.set_status(None);
    smtp.set_failing(None);
    assert_eq!(s.replay(None, now).unwrap(), 40);
    let p = w.drain(s.as_mut(), now).unwrap();
    assert_eq!(p.delivered, 40);
    assert_eq!(accepted_http(&http).len(), 20);
    assert_eq!(accepted_mail(&smtp).len(), 20);
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}
