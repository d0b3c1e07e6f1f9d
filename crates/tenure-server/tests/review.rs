//! `GET /api/customers/{id}/review` through the router (no socket), on a generated company with
//! every record kind in SQLite: the JSON is `tenure_act::review` on the store's records with the
//! server's settings and goals, `?format=html` is its page, a malformed period is 400, an unknown
//! customer or a quarter outside her records 404, and the
//! ingest role is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rust_decimal::Decimal;
use serde_json::Value;
use std::sync::Arc;
use tenure_core::Currency;
use tenure_reports::Fx;
use tenure_server::{hash_token, new_token, AppState, Settings};
use tenure_store::tokens::{NewToken, Role};
use tenure_store::LoadOptions;
use tower::ServiceExt;

fn fx() -> Result<Fx, String> {
    Fx::new(Currency::parse("USD").unwrap())
        .with_rate(Currency::parse("EUR").unwrap(), Decimal::new(1087, 3))
}

async fn call(app: &axum::Router, uri: &str, token: &str) -> (StatusCode, String, String) {
    let req = Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 26)
        .await
        .unwrap();
    (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_is_the_librarys_on_the_stores_records() {
    let (dir, location, mut store) = common::generated_store("review", 200);
    let mut token = |name: &str, role: Role| {
        let (text, sha256) = new_token();
        assert_eq!(hash_token(&text), sha256);
        let t = NewToken {
            name: name.into(),
            role,
            sha256,
        };
        store.add_token(&t, 1).unwrap();
        text
    };
    let analyst = token("analyst", Role::Analyst);
    let ingest = token("ingest", Role::Ingest);
    // The customer with the most support cases opened in 2025-Q2 among those who paid in it.
    let (q2, q3) = (
        tenure_store::dataset::day_from_ymd(2025, 4, 1),
        tenure_store::dataset::day_from_ymd(2025, 7, 1),
    );
    let data = store.load(&LoadOptions::all()).unwrap();
    let within = |d: i32| d >= q2 && d < q3;
    let who = (0..data.len() as u32)
        .filter(|&c| {
            data.transactions_of(c)
                .iter()
                .any(|t| within(t.day) && t.amount > 0)
        })
        .max_by_key(|&c| data.cases_of(c).iter().filter(|k| within(k.day)).count())
        .map(|c| data.customer_id(c).to_string())
        .unwrap();
    let who = who.as_str();
    store
        .add_goal(
            &tenure_store::journal::NewGoal {
                customer_id: who.into(),
                title: "Adopt the API".into(),
                owner: "csm.ana".into(),
                target_day: "2025-05-31".into(),
                ..Default::default()
            },
            1,
        )
        .unwrap();
    store
        .add_goal(
            &tenure_store::journal::NewGoal {
                customer_id: who.into(),
                title: "Grow to 40 seats".into(),
                owner: "csm.ana".into(),
                target_day: "2025-12-31".into(),
                metric: Some("seats".into()),
                target: Some("40".into()),
                ..Default::default()
            },
            1,
        )
        .unwrap();
    let goals = store.goals(Some(who)).unwrap();
    drop(store);
    let as_of = tenure_store::dataset::day_of_text("2025-06-30");
    let settings = Settings {
        location,
        config: tenure_act::Config::default(),
        config_source: "defaults".into(),
        config_path: None,
        fx: Arc::new(|_| fx()),
        as_of,
        cors_origins: vec![],
    };
    let app = tenure_server::router(AppState::new(settings).unwrap());

    use tenure_act::review::{render_html, review, Quarter};
    let want = review(
        &data,
        &fx().unwrap(),
        &tenure_act::Config::default(),
        who,
        Quarter::parse("2025-Q2").unwrap(),
        as_of.unwrap(),
        &goals,
    )
    .unwrap();
    assert!(
        want.support.opened > 0 && want.paid.total_minor > 0,
        "{want:?}"
    );
    assert!(want.goals[0].overdue);
    // The goal on seats is measured: seats running on 2025-06-30 against 40.
    let seats = want
        .goals
        .iter()
        .find(|g| g.metric.as_deref() == Some("seats"))
        .unwrap();
    let running: u64 = data
        .subscriptions_of(data.customer(who).unwrap())
        .iter()
        .filter(|r| {
            r.start <= as_of.unwrap()
                && r.end.is_none_or(|e| e > as_of.unwrap())
                && !matches!(
                    r.status,
                    tenure_core::SubscriptionStatus::Trialing
                        | tenure_core::SubscriptionStatus::Paused
                )
        })
        .map(|r| u64::from(r.seats))
        .sum();
    assert_eq!(seats.value, Some(running.to_string()));
    assert_eq!(seats.target_value.as_deref(), Some("40"));
    assert_eq!(seats.progress, Some(running as f64 / 40.0));
    assert_eq!(seats.met, Some(running >= 40));
    // Engagement: the period's interactions and touches.
    let c = data.customer(who).unwrap();
    let n = data
        .interactions_of(c)
        .iter()
        .filter(|i| within(i.day))
        .count();
    assert_eq!(want.engagement.interactions as usize, n);
    let t = data.touches_of(c).iter().filter(|t| within(t.day)).count();
    assert_eq!(want.engagement.touches as usize, t);

    let base = format!("/api/customers/{who}/review");
    let (s, ct, body) = call(&app, &format!("{base}?period=2025-Q2"), &analyst).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    // Byte for byte (parsing floats back could differ in the last bit).
    assert_eq!(body, serde_json::to_string(&want).unwrap());
    let v: Value = serde_json::from_str(&body).unwrap();
    for key in [
        "value",
        "start_value",
        "target_value",
        "progress",
        "met",
        "progress_note",
        "unit",
    ] {
        assert!(v["goals"][1].get(key).is_some(), "goals[1].{key}: {body}");
    }
    assert!(
        v["engagement"]["interactions_by_kind"]["call"].is_u64(),
        "{body}"
    );
    // The default period is the quarter of the server's day.
    let (s, _, body) = call(&app, &base, &analyst).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, serde_json::to_string(&want).unwrap());

    let (s, ct, body) = call(
        &app,
        &format!("{base}?period=2025-Q2&format=html"),
        &analyst,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert_eq!(body, render_html(&want));

    for (uri, status) in [
        (
            "/api/customers/nobody/review".to_string(),
            StatusCode::NOT_FOUND,
        ),
        (format!("{base}?period=2025-Q9"), StatusCode::BAD_REQUEST),
        (format!("{base}?period=2025-Q3"), StatusCode::NOT_FOUND),
        (format!("{base}?period=1969-Q4"), StatusCode::NOT_FOUND),
        (format!("{base}?format=pdf"), StatusCode::BAD_REQUEST),
    ] {
        let (s, ct, body) = call(&app, &uri, &analyst).await;
        assert_eq!(s, status, "{uri}: {body}");
        assert!(ct.starts_with("application/json"), "{uri}: {ct}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"]["message"].as_str().is_some(), "{body}");
    }
    let (s, _, _) = call(&app, &base, &ingest).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let _ = std::fs::remove_dir_all(&dir);
}
