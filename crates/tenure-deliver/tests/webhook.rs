//! Webhooks against a real HTTP receiver on 127.0.0.1, every request checked by the spec
//! authors' `standardwebhooks` crate — an implementation independent of ours (its own
//! HMAC-SHA256, its own header parsing, its own 5-minute timestamp window on the real clock).
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::TcpListener;
use std::time::{SystemTime, UNIX_EPOCH};

use tenure_deliver::testkit::{HttpReceiver, Request};
use tenure_deliver::{Deliverer, DeliveryConfig, Failure, Message, Target, WebhookSecret};
use ureq::http::{HeaderMap, HeaderValue};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const PAYLOAD: &str =
    r#"{"type":"segment.entered","data":{"customer":"c_42","segment":"at-risk"}}"#;

/// Real seconds: the independent verifier rejects timestamps more than 5 minutes off.
fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// Verification by `standardwebhooks`, as a receiver in another codebase would do it.
fn independent(secret: &str) -> impl Fn(&Request) -> bool + Send + Sync + 'static {
    let webhook = standardwebhooks::Webhook::new(secret).unwrap();
    move |r: &Request| {
        let mut headers = HeaderMap::new();
        for (name, value) in &r.headers {
            let (Ok(name), Ok(value)) = (
                ureq::http::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return false;
            };
            headers.append(name, value);
        }
        webhook.verify(&r.body, &headers).is_ok()
    }
}

fn deliverer() -> Deliverer {
    // A generous timeout: a safety net, never what a test measures.
    Deliverer::new(&DeliveryConfig {
        timeout_ms: 30_000,
        smtp: None,
    })
    .unwrap()
}

fn webhook(id: &str, url: String) -> Message {
    Message {
        id: id.into(),
        payload: PAYLOAD.into(),
        target: Target::Webhook {
            url,
            secret: WebhookSecret::parse(SECRET).unwrap(),
        },
    }
}

#[test]
fn down_then_up_delivers_once_with_a_valid_signature() {
    let receiver = HttpReceiver::start(independent(SECRET));
    let d = deliverer();
    let msg = webhook("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", receiver.url());
    let (t1, t2) = (now(), now() + 30);

    receiver.set_down(true);
    let failure = d.deliver(&msg, t1).unwrap_err();
    assert!(!failure.permanent, "{failure}");
    assert!(failure.reason.contains("HTTP 503"), "{failure}");

    receiver.set_down(false);
    d.deliver(&msg, t2).unwrap();

    let got = receiver.received();
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [503, 200]);
    for (r, t) in got.iter().zip([t1, t2]) {
        assert!(r.signature_ok, "{r:?}");
        let q = &r.request;
        assert_eq!(q.method, "POST");
        assert_eq!(q.id(), Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"));
        assert_eq!(q.timestamp(), Some(t));
        assert_eq!(q.body, PAYLOAD.as_bytes());
        assert_eq!(q.header("content-type"), Some("application/json"));
    }
}

#[test]
fn a_receiver_with_another_secret_rejects_the_signature() {
    let receiver = HttpReceiver::start(independent(OTHER_SECRET));
    let failure = deliverer()
        .deliver(&webhook("m1", receiver.url()), now())
        .unwrap_err();
    // The receiver answers 401 to a bad signature: a 4xx the sender cannot fix by retrying.
    assert!(failure.permanent, "{failure}");
    assert!(
        failure.reason.ends_with("HTTP 401: signature invalid"),
        "{failure}"
    );
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert!(!got[0].signature_ok);
    // The same request passes with the right key: the verifier fails on the key alone.
    assert!(independent(SECRET)(&got[0].request));
}

#[test]
fn the_testkit_own_verifier_agrees() {
    let receiver = HttpReceiver::start_with_secret(&WebhookSecret::parse(SECRET).unwrap());
    deliverer()
        .deliver(&webhook("m1", receiver.url()), 1_614_265_330)
        .unwrap();
    assert!(receiver.received()[0].signature_ok);
    let wrong = HttpReceiver::start_with_secret(&WebhookSecret::parse(OTHER_SECRET).unwrap());
    assert!(deliverer().deliver(&webhook("m1", wrong.url()), 0).is_err());
    assert!(!wrong.received()[0].signature_ok);
}

#[test]
fn status_codes_map_to_permanent_or_retryable() {
    let receiver = HttpReceiver::start(independent(SECRET));
    let d = deliverer();
    let cases = [
        (410, true),
        (400, true),
        (404, true),
        (308, true),
        (408, false),
        (409, false),
        (425, false),
        (429, false),
        (500, false),
        (502, false),
        (302, false),
    ];
    for (status, permanent) in cases {
        receiver.set_status(Some(status));
        let f = d
            .deliver(&webhook("m1", receiver.url()), now())
            .unwrap_err();
        assert_eq!(f.permanent, permanent, "{status}: {f}");
        assert!(f.reason.contains(&format!("HTTP {status}")), "{f}");
    }
    // Redirects are not followed: one request per attempt.
    assert_eq!(receiver.received().len(), cases.len());
    receiver.set_status(Some(204));
    d.deliver(&webhook("m1", receiver.url()), now()).unwrap();
}

#[test]
fn retry_after_is_passed_on() {
    let receiver = HttpReceiver::start(independent(SECRET));
    receiver.set_status(Some(429));
    receiver.set_retry_after(Some(120));
    let f = deliverer()
        .deliver(&webhook("m1", receiver.url()), now())
        .unwrap_err();
    assert_eq!((f.permanent, f.retry_after_secs), (false, Some(120)), "{f}");
}

#[test]
fn connection_refused_is_retryable() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // Closed again: nothing listens there now.
    let url = format!("http://127.0.0.1:{port}/webhook");
    let f: Failure = deliverer().deliver(&webhook("m1", url), now()).unwrap_err();
    assert!(!f.permanent, "{f}");
}

#[test]
fn https_urls_speak_tls() {
    // A bare socket that records the first byte the client sends, then hangs up.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/webhook", listener.local_addr().unwrap());
    let first_byte = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut byte = [0u8; 1];
        conn.read_exact(&mut byte).unwrap();
        byte[0]
    });
    let f = deliverer().deliver(&webhook("m1", url), now()).unwrap_err();
    assert!(!f.permanent, "{f}");
    assert_eq!(first_byte.join().unwrap(), 0x16, "a TLS handshake record");
}

#[test]
fn malformed_urls_are_permanent() {
    for url in [
        "",
        "example.com/hook",
        "ftp://example.com/",
        "http://",
        "http://a b/",
    ] {
        let f = deliverer()
            .deliver(&webhook("m1", url.into()), now())
            .unwrap_err();
        assert!(f.permanent, "{url:?}: {f}");
    }
}
