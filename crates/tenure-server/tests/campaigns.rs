//! `GET /api/reports/campaigns` through the router (no socket), on a generated company with
//! every record kind (campaigns and touches among them) in SQLite: its figures are
//! `tenure_reports::campaign_effect_report` on the store's records with the CLI's segments
//! (`--by`, default plan), the filters narrow both arms, a day before any campaign was observed
//! is a 200 with its reason, a bad `by` is 400. And the dashboard's Content-Security-Policy
//! allows the value review's one `<style>` block by its hash.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::sync::Arc;
use tenure_core::Currency;
use tenure_reports::calendar::Interval;
use tenure_reports::campaigns::{CampaignEffectReport, Comparison, ASSOCIATION_NOTE};
use tenure_reports::{campaign_effect_report, CampaignEffectConfig, Fx, GroupBy, Grouping};
use tenure_server::{hash_token, new_token, AppState, Settings};
use tenure_store::dataset::{ymd_of_day, Day};
use tenure_store::tokens::{NewToken, Role};
use tenure_store::{LoadOptions, Location};
use tower::ServiceExt;

fn fx() -> Result<Fx, String> {
    Fx::new(Currency::parse("USD").unwrap())
        .with_rate(Currency::parse("EUR").unwrap(), Decimal::new(1087, 3))
}

async fn call(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::builder().uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 26)
        .await
        .unwrap();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

fn date(d: Day) -> String {
    let (y, m, dd) = ymd_of_day(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

/// A comparison as `tenure report campaigns --format json` writes it, read back as the API's
/// answer is: written to text and parsed (serde_json without `float_roundtrip` may read a
/// decimal 1 ulp from the double it was printed from, so both sides use the same parser).
fn cmp_json(c: &Comparison) -> Value {
    let v = json!({
        "segment": c.segment,
        "touched": c.touched.customers, "touched_retained": c.touched.retained,
        "untouched": c.untouched.customers, "untouched_retained": c.untouched.retained,
        "touched_retention": c.touched_retention,
        "untouched_retention": c.untouched_retention,
        "difference": c.difference,
        "relative_churn": c.relative_churn,
    });
    serde_json::from_str(&v.to_string()).unwrap()
}

/// The report's figures in the CLI's JSON layout (without the CLI's `report` and `as_of`, which
/// the API says as `end`).
fn figures(r: &CampaignEffectReport) -> Value {
    json!({
        "end": date(r.as_of), "window_days": r.window_days, "grouping": r.grouping, "note": r.note,
        "campaigns": r.campaigns.iter().map(|m| json!({
            "id": m.id, "name": m.name, "day": date(m.day), "observed": m.observed,
            "segments": m.segments.iter().map(cmp_json).collect::<Vec<_>>(),
            "overall": cmp_json(&m.overall),
        })).collect::<Vec<_>>(),
        "segments": r.segments.iter().map(cmp_json).collect::<Vec<_>>(),
        "overall": cmp_json(&r.overall),
    })
}

/// The API's answer without what only the API says (basis, reason).
fn api_figures(v: &Value) -> Value {
    let mut v = v.clone();
    let o = v.as_object_mut().unwrap();
    for k in ["as_of", "currency", "config", "customers", "reason"] {
        o.remove(k);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_campaign_report_is_the_librarys_on_the_stores_records() {
    let (dir, location, mut store) = common::generated_store("campaigns", 300);
    let (analyst, sha256) = new_token();
    assert_eq!(hash_token(&analyst), sha256);
    store
        .add_token(
            &NewToken {
                name: "analyst".into(),
                role: Role::Analyst,
                sha256,
            },
            1,
        )
        .unwrap();
    let data = store.load(&LoadOptions::all()).unwrap();
    drop(store);
    let as_of = data.last_day().unwrap();
    let settings = Settings {
        location,
        config: tenure_act::Config::default(),
        config_source: "defaults".into(),
        config_path: None,
        fx: Arc::new(|_| fx()),
        as_of: None,
        cors_origins: vec![],
    };
    let app = tenure_server::router(AppState::new(settings).unwrap());
    let token = Some(analyst.as_str());
    let lib = |end: Day, grouping: &Grouping| {
        campaign_effect_report(
            &data,
            &CampaignEffectConfig::new(end, fx().unwrap()),
            grouping,
        )
        .unwrap()
    };
    let by_plan = Grouping::new(&data, GroupBy::Plan);

    // The default segments are plans, as the CLI's.
    let want = lib(as_of, &by_plan);
    assert_eq!(want.note, ASSOCIATION_NOTE);
    let observed = want.campaigns.iter().filter(|m| m.observed).count();
    assert!(
        observed >= 2 && want.overall.touched.customers > 0 && want.segments.len() >= 2,
        "the generated company has observed campaigns with touches in several plans: {want:?}"
    );
    let (s, got) = call(&app, "/api/reports/campaigns", token).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(api_figures(&got), figures(&want));
    assert_eq!(got["reason"], Value::Null);
    assert_eq!(got["as_of"], json!(date(as_of)));
    assert_eq!(got["currency"], json!("USD"));
    let (_, plan) = call(&app, "/api/reports/campaigns?by=plan", token).await;
    assert_eq!(plan, got);

    // Every grouping the CLI's `--by` takes.
    for (by, g) in [
        ("cohort", GroupBy::Cohort(Interval::Month)),
        ("quarter", GroupBy::Cohort(Interval::Quarter)),
        ("channel", GroupBy::Channel),
        ("region", GroupBy::Region),
    ] {
        let (s, got) = call(&app, &format!("/api/reports/campaigns?by={by}"), token).await;
        assert_eq!(s, StatusCode::OK, "{by}: {got}");
        assert_eq!(
            api_figures(&got),
            figures(&lib(as_of, &Grouping::new(&data, g))),
            "{by}"
        );
    }

    // A plan filter with plan segments: each campaign's one segment is the unfiltered one.
    let first = &want
        .segments
        .iter()
        .find(|c| c.segment != tenure_reports::groups::NONE_LABEL)
        .unwrap()
        .segment;
    let (s, one) = call(&app, &format!("/api/reports/campaigns?plan={first}"), token).await;
    assert_eq!(s, StatusCode::OK, "{one}");
    for (m, full) in one["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&want.campaigns)
    {
        let same: Vec<Value> = full
            .segments
            .iter()
            .filter(|c| &c.segment == first)
            .map(cmp_json)
            .collect();
        assert_eq!(m["segments"], json!(same), "{}", full.id);
    }
    assert_eq!(
        one["segments"],
        json!(want
            .segments
            .iter()
            .filter(|c| &c.segment == first)
            .map(cmp_json)
            .collect::<Vec<_>>()),
        "pooled over campaigns, the filtered plan's row"
    );

    // An earlier end: the library to that day.
    let mid = as_of - 365;
    let (s, early) = call(
        &app,
        &format!("/api/reports/campaigns?by=channel&end={}", date(mid)),
        token,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{early}");
    assert_eq!(
        api_figures(&early),
        figures(&lib(mid, &Grouping::new(&data, GroupBy::Channel)))
    );

    // Nothing to report is an answer with its reason, not an error.
    let first_day = want.campaigns.iter().map(|m| m.day).min().unwrap();
    for end in [first_day - 1, first_day + 10] {
        let (s, none) = call(
            &app,
            &format!("/api/reports/campaigns?end={}", date(end)),
            token,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{none}");
        let reason = none["reason"].as_str().unwrap();
        assert!(reason.starts_with("no campaign"), "{}: {reason}", date(end));
        assert_eq!(none["overall"]["touched"], json!(0));
    }
    let (s, nobody) = call(&app, "/api/reports/campaigns?plan=no-such-plan", token).await;
    assert_eq!(s, StatusCode::OK, "{nobody}");
    assert!(
        nobody["reason"]
            .as_str()
            .unwrap()
            .starts_with("no matching customer"),
        "{nobody}"
    );
    assert_eq!(nobody["segments"], json!([]));

    for uri in [
        "/api/reports/campaigns?by=segment",
        "/api/reports/campaigns?end=2025-02-30",
        "/api/reports/campaigns?stage=nowhere",
    ] {
        let (s, v) = call(&app, uri, token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert!(v["error"]["message"].as_str().is_some(), "{v}");
    }
    let (s, _) = call(&app, "/api/reports/campaigns", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_dashboards_policy_allows_the_reviews_style_by_its_hash() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let dir = std::env::temp_dir().join(format!("tenure-api-{}-csp", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let settings = Settings {
        location: Location::Sqlite(dir.join("t.db")),
        config: tenure_act::Config::default(),
        config_source: "defaults".into(),
        config_path: None,
        fx: Arc::new(|_| fx()),
        as_of: None,
        cors_origins: vec![],
    };
    let app = tenure_server::router(AppState::new(settings).unwrap());
    let hash = base64::engine::general_purpose::STANDARD
        .encode(sha2::Sha256::digest(tenure_act::review::CSS.as_bytes()));
    for path in ["/", "/assets/app.js", "/assets/app.css"] {
        let res = app
            .clone()
            .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        assert_eq!(
            directives,
            [
                "default-src 'self'",
                "script-src 'self'",
                &format!("style-src 'self' 'sha256-{hash}'"),
                "img-src 'self'",
                "connect-src 'self'",
                "frame-ancestors 'none'",
                "base-uri 'none'",
                "form-action 'none'",
            ],
            "{path}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
