//! Email against a real SMTP server on 127.0.0.1 (the testkit's), through lettre's client.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;

use tenure_deliver::testkit::{SmtpServer, SmtpStage};
use tenure_deliver::{
    Deliverer, DeliveryConfig, Message, SmtpConfig, SmtpCredentials, SmtpTls, Target,
};

/// 2023-11-14T22:13:20Z.
const NOW: i64 = 1_700_000_000;

fn relay(port: u16, tls: SmtpTls) -> Deliverer {
    Deliverer::new(&DeliveryConfig {
        // A safety net, never what a test measures.
        timeout_ms: 30_000,
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            from: "Tenure <tenure@example.com>".into(),
            auth: Some(SmtpCredentials {
                username: "tenure".into(),
                password: "relay-password".into(),
            }),
            tls,
        }),
    })
    .unwrap()
}

fn email(id: &str, to: &str) -> Message {
    Message {
        id: id.into(),
        payload: "{}".into(),
        target: Target::Email {
            to: to.into(),
            subject: "Your renewal".into(),
            body: "Hello Ann,\r\nyour plan renews on Friday.".into(),
        },
    }
}

#[test]
fn delivers_with_envelope_headers_and_idempotency_key() {
    let server = SmtpServer::start();
    relay(server.port(), SmtpTls::None)
        .deliver(&email("pb-7_c-42", "Ann <ann@example.com>"), NOW)
        .unwrap();

    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.from, "tenure@example.com");
    assert_eq!(m.to, ["ann@example.com"]);
    assert_eq!(m.auth_user.as_deref(), Some("tenure"));
    assert_eq!(m.subject(), Some("Your renewal"));
    assert_eq!(m.body, "Hello Ann,\r\nyour plan renews on Friday.");
    assert_eq!(m.header("Message-ID"), Some("<pb-7_c-42@tenure>"));
    assert_eq!(m.header("X-Tenure-Idempotency-Key"), Some("pb-7_c-42"));
    assert_eq!(m.header("From"), Some("Tenure <tenure@example.com>"));
    assert_eq!(m.header("To"), Some("Ann <ann@example.com>"));
    assert_eq!(m.header("Date"), Some("Tue, 14 Nov 2023 22:13:20 +0000"));
    assert_eq!(m.header("Content-Type"), Some("text/plain; charset=utf-8"));
}

#[test]
fn smtp_replies_map_to_permanent_or_retryable() {
    let server = SmtpServer::start();
    let d = relay(server.port(), SmtpTls::None);
    let cases = [
        (SmtpStage::Mail, 421, false),
        (SmtpStage::Rcpt, 550, true),
        (SmtpStage::Rcpt, 450, false),
        (SmtpStage::Data, 451, false),
        (SmtpStage::Data, 554, true),
        (SmtpStage::EndOfData, 452, false),
        (SmtpStage::EndOfData, 552, true),
    ];
    for (stage, code, permanent) in cases {
        server.set_failing(Some((stage, code)));
        let f = d.deliver(&email("m1", "ann@example.com"), NOW).unwrap_err();
        assert_eq!(f.permanent, permanent, "{stage:?} {code}: {f}");
        assert!(f.reason.contains(&code.to_string()), "{f}");
    }
    assert!(server.messages().is_empty());

    // The same deliverer succeeds once the relay recovers.
    server.set_failing(None);
    d.deliver(&email("m1", "ann@example.com"), NOW).unwrap();
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn connection_refused_is_retryable() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let f = relay(port, SmtpTls::None)
        .deliver(&email("m1", "ann@example.com"), NOW)
        .unwrap_err();
    assert!(!f.permanent, "{f}");
}

#[test]
fn an_invalid_recipient_is_permanent() {
    let server = SmtpServer::start();
    let f = relay(server.port(), SmtpTls::None)
        .deliver(&email("m1", "not an address"), NOW)
        .unwrap_err();
    assert!(f.permanent && f.reason.contains("not an address"), "{f}");
    assert!(server.messages().is_empty());
}

#[test]
fn required_starttls_refuses_a_relay_without_it() {
    // The testkit offers no STARTTLS: nothing may be sent in plain text, and retrying the
    // same relay cannot help.
    let server = SmtpServer::start();
    let f = relay(server.port(), SmtpTls::StartTls)
        .deliver(&email("m1", "ann@example.com"), NOW)
        .unwrap_err();
    assert!(f.permanent && f.reason.contains("STARTTLS"), "{f}");
    assert!(server.messages().is_empty());
}
