//! The API through the router (no socket), on a generated company imported into SQLite: every
//! documented route refuses a missing, unknown or revoked token (401) and the wrong role (403);
//! the figures agree with each other; pagination is stable; plans and imports change the store
//! as the CLI does, and refused input leaves it unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tenure_core::{Currency, RecordKind};
use tenure_reports::Fx;
use tenure_server::{hash_token, new_token, AppState, Settings};
use tenure_store::tokens::{NewToken, Role};
use tenure_store::{ImportOptions, Location};
use tower::ServiceExt;

struct Fixture {
    app: axum::Router,
    admin: String,
    analyst: String,
    ingest: String,
    revoked: String,
    location: Location,
    dir: PathBuf,
}

fn fixture(name: &str) -> Fixture {
    fixture_with(name, None)
}

/// With `config`: the server's configuration file holds that text (and playbooks are
/// editable).
fn fixture_with(name: &str, config: Option<&str>) -> Fixture {
    let dir = std::env::temp_dir().join(format!("tenure-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let gen = dir.join("company");
    let cfg = tenure_generate::Config {
        customers: 200,
        seed: 3,
        ..Default::default()
    };
    tenure_generate::write_dir(&cfg, &gen).unwrap();
    let location = Location::Sqlite(dir.join("t.db"));
    let mut store = tenure_store::open(&location).unwrap();
    for &kind in RecordKind::ALL {
        let f = gen.join(format!("{}.csv", kind.as_str()));
        store
            .import(kind, &f, &ImportOptions::default(), &mut |_| {})
            .unwrap();
    }
    let mut token = |name: &str, role: Role| {
        let (text, sha256) = new_token();
        assert_eq!(hash_token(&text), sha256);
        store
            .add_token(
                &NewToken {
                    name: name.into(),
                    role,
                    sha256,
                },
                1,
            )
            .unwrap();
        text
    };
    let admin = token("admin", Role::Admin);
    let analyst = token("analyst", Role::Analyst);
    let ingest = token("ingest", Role::Ingest);
    let revoked = token("gone", Role::Admin);
    store.revoke_token("gone", 2).unwrap();
    drop(store);
    let (cfg, source, path) = match config {
        None => (tenure_act::Config::default(), "defaults".to_string(), None),
        Some(text) => {
            let p = dir.join("tenure.toml");
            std::fs::write(&p, text).unwrap();
            let name = p.display().to_string();
            (
                tenure_act::Config::parse(text, &name).unwrap(),
                name,
                Some(p),
            )
        }
    };
    let settings = Settings {
        location: location.clone(),
        config: cfg,
        config_source: source,
        config_path: path,
        fx: Arc::new(|_| {
            Fx::new(Currency::parse("USD").unwrap())
                .with_rate(Currency::parse("EUR").unwrap(), Decimal::new(1087, 3))
        }),
        as_of: tenure_store::dataset::day_of_text("2025-06-30"),
        cors_origins: vec!["https://bi.example.com".into()],
    };
    let app = tenure_server::router(AppState::new(settings).unwrap());
    Fixture {
        app,
        admin,
        analyst,
        ingest,
        revoked,
        location,
        dir,
    }
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Body>,
) -> (StatusCode, Value) {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    let json_body = body.is_none();
    let req = match body {
        Some(b) => r.header("content-type", "text/csv").body(b).unwrap(),
        None => r.body(Body::empty()).unwrap(),
    };
    let _ = json_body;
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 26)
        .await
        .unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, v)
}

async fn send_json(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 26)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get(app: &axum::Router, uri: &str, token: &str) -> Value {
    let (s, v) = call(app, "GET", uri, Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "GET {uri}: {v}");
    v
}

/// Every (method, path) of the OpenAPI document, with sample path parameters.
fn documented_routes() -> Vec<(String, String)> {
    let doc = serde_json::to_value(tenure_server::openapi()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                let p = path
                    .replace("{id}", "1")
                    .replace("{kind}", "customers")
                    .replace("{name}", "low-health");
                out.push((method.to_uppercase(), p));
            }
        }
    }
    out
}

/// Who may call a route (the rule the handlers implement, restated independently).
fn allowed(method: &str, path: &str) -> &'static [&'static str] {
    if path == "/api/me" {
        &["admin", "analyst", "ingest"]
    } else if path.starts_with("/api/imports/") {
        &["admin", "ingest"]
    } else if method == "GET" {
        &["admin", "analyst"]
    } else {
        &["admin"]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_the_token_and_its_role() {
    let f = fixture("auth");
    let routes = documented_routes();
    assert!(routes.len() >= 14, "{routes:?}");
    for (method, path) in &routes {
        for (what, tok) in [
            ("no token", None),
            ("an unknown token", Some("tnr_not-a-token")),
            ("a revoked token", Some(f.revoked.as_str())),
        ] {
            let (s, v) = call(&f.app, method, path, tok, None).await;
            assert_eq!(
                s,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {what}: {v}"
            );
            assert_eq!(v["error"]["code"], "unauthorized", "{method} {path}");
        }
        let ok = allowed(method, path);
        for (role, tok) in [
            ("admin", &f.admin),
            ("analyst", &f.analyst),
            ("ingest", &f.ingest),
        ] {
            let (s, v) = call(&f.app, method, path, Some(tok), None).await;
            if ok.contains(&role) {
                assert!(
                    s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN,
                    "{method} {path} as {role}: {s} {v}"
                );
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path} as {role}: {v}");
                assert_eq!(v["error"]["code"], "forbidden");
            }
        }
    }
    // The document itself is public; an unknown route is a JSON 404.
    let (s, doc) = call(&f.app, "GET", "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let (s, v) = call(&f.app, "GET", "/api/nothing", Some(&f.admin), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
    // The dashboard's three files are public, served with a policy that allows nothing from
    // another origin, and refer to nothing outside the binary.
    for (path, kind) in [
        ("/", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
    ] {
        let res = f
            .app
            .clone()
            .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers().clone();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"));
        let body = axum::body::to_bytes(res.into_body(), 1 << 22)
            .await
            .unwrap();
        // The SVG namespace is a name, not an address anything is loaded from.
        let text = String::from_utf8(body.to_vec())
            .unwrap()
            .replace("\"http://www.w3.org/2000/svg\"", "SVG_NS");
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path} refers elsewhere"
        );
        assert!(
            !text.contains("innerHTML"),
            "{path} writes markup from data"
        );
    }
    let me = get(&f.app, "/api/me", &f.analyst).await;
    assert_eq!(me, json!({"name": "analyst", "role": "analyst"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_agree_and_pages_are_stable() {
    let f = fixture("figures");
    let t = f.analyst.as_str();
    let o = get(&f.app, "/api/overview", t).await;
    assert_eq!(o["as_of"], "2025-06-30");
    assert_eq!(o["currency"], "USD");
    let n = o["customers"].as_u64().unwrap();
    assert!(n > 50, "{o}");
    let sum = |v: &Value, field: &str| -> u64 {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r[field].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum(&o["segments"], "customers"), n);
    assert_eq!(sum(&o["by_status"], "customers"), n);
    assert_eq!(sum(&o["funnel"], "customers"), n);
    let seg = get(&f.app, "/api/segments", t).await;
    for (a, b) in o["segments"]
        .as_array()
        .unwrap()
        .iter()
        .zip(seg["segments"].as_array().unwrap())
    {
        assert_eq!(a["name"], b["segment"]);
        assert_eq!(a["customers"], b["customers"]);
    }
    let st = get(&f.app, "/api/stages", t).await;
    assert_eq!(st["funnel"], o["funnel"]);
    assert!(o["mrr"].as_str().unwrap().parse::<Decimal>().unwrap() > Decimal::ZERO);

    // Pages of 37 concatenate to the whole list, in id order, each customer once.
    let all = get(&f.app, "/api/customers?limit=1000", t).await;
    assert_eq!(all["total"].as_u64(), Some(n));
    let ids: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted);
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let p = get(
            &f.app,
            &format!("/api/customers?limit=37&offset={offset}"),
            t,
        )
        .await;
        let items = p["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        paged.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        offset += 37;
    }
    assert_eq!(paged, ids);

    // Filters count what the overview counts; a sort is ordered, missing values last.
    let at_risk = get(&f.app, "/api/customers?band=at_risk&limit=1000", t).await;
    assert_eq!(at_risk["total"], o["at_risk"]);
    assert!(at_risk["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["band"] == "at_risk"));
    let key = get(&f.app, "/api/customers?segment=key&limit=1000", t).await;
    assert_eq!(key["total"], o["segments"][0]["customers"]);
    let by_health = get(&f.app, "/api/customers?sort=health&desc=true&limit=1000", t).await;
    let hs: Vec<Option<f64>> = by_health["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["health"].as_f64())
        .collect();
    let present: Vec<f64> = hs.iter().map_while(|h| *h).collect();
    assert!(present.windows(2).all(|w| w[0] >= w[1]));
    assert!(hs[present.len()..].iter().all(Option::is_none));
    // Ties keep id order, so pages of a sorted list are stable too.
    let by_tenure = get(&f.app, "/api/customers?sort=tenure&limit=1000", t).await;
    let items = by_tenure["items"].as_array().unwrap();
    assert_eq!(items.len() as u64, n);
    for w in items.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ta, tb) = (a["tenure_days"].as_i64(), b["tenure_days"].as_i64());
        assert!(
            ta < tb || (ta == tb && a["id"].as_str() < b["id"].as_str()),
            "{a} {b}"
        );
    }
    let desc = get(&f.app, "/api/customers?sort=tenure&desc=true&limit=1000", t).await;
    let d = desc["items"].as_array().unwrap();
    for w in d.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ta, tb) = (a["tenure_days"].as_i64(), b["tenure_days"].as_i64());
        assert!(
            ta > tb || (ta == tb && a["id"].as_str() < b["id"].as_str()),
            "{a} {b}"
        );
    }
    let page2 = get(
        &f.app,
        "/api/customers?sort=tenure&desc=true&limit=10&offset=10",
        t,
    )
    .await;
    assert_eq!(page2["items"].as_array().unwrap()[..], d[10..20]);
    for bad in [
        "/api/customers?limit=0",
        "/api/customers?limit=1001",
        "/api/customers?segment=gold",
        "/api/customers?sort=name",
        "/api/customers?limit=x",
    ] {
        let (s, v) = call(&f.app, "GET", bad, Some(t), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }

    // A customer 360 repeats her row and explains her score in points that add up to it.
    let first = &all["items"][0];
    let id = first["id"].as_str().unwrap();
    let c = get(&f.app, &format!("/api/customers/{id}"), t).await;
    assert_eq!(&c["customer"], first);
    if let Some(score) = first["health"].as_f64() {
        let points: f64 = c["health_components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k["points"].as_f64())
            .sum();
        assert!((points - score).abs() < 1e-6, "{points} vs {score}");
    }
    assert!(!c["segment_reason"].as_str().unwrap().is_empty());
    assert!(c["retention_plan"]["cadence_days"].as_u64().unwrap() > 0);
    let (s, v) = call(&f.app, "GET", "/api/customers/nobody", Some(t), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Advocates are ranked customers of the list.
    let adv = get(&f.app, "/api/advocates", t).await;
    let adv = adv["advocates"].as_array().unwrap();
    assert_eq!(adv.len() as u64, o["advocates"].as_u64().unwrap());
    for (k, a) in adv.iter().enumerate() {
        assert_eq!(a["advocate_rank"].as_u64(), Some(k as u64 + 1));
        assert!(a["nps"].as_u64().unwrap() >= 9);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_plans_over_the_api() {
    let f = fixture("plans");
    let all = get(&f.app, "/api/customers?limit=1", &f.admin).await;
    let id = all["items"][0]["id"].as_str().unwrap().to_string();
    let goal = json!({
        "customer": id, "title": "Second team live", "owner": "ana@example.com",
        "target_day": "2025-09-30", "metric": "seats", "target": "40"
    });
    let (s, v) = send_json(&f.app, "POST", "/api/plans", &f.analyst, goal.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, g) = send_json(&f.app, "POST", "/api/plans", &f.admin, goal.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    assert_eq!(g["status"], "planned");
    let gid = g["id"].as_i64().unwrap();
    let (s, u) = send_json(
        &f.app,
        "PATCH",
        &format!("/api/plans/{gid}"),
        &f.admin,
        json!({"status": "on_track", "note": "kickoff done"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["status"], "on_track");
    assert_eq!(u["title"], "Second team live");
    assert_eq!(u["target"], "40");
    // Refused input, nothing stored: 400 for a body that is not the documented shape, 404 for
    // a customer or goal that does not exist, 422 for a value the shape allows but the rules
    // do not (an impossible day, a blank title).
    for (method, uri, body, want) in [
        (
            "POST",
            "/api/plans".to_string(),
            json!({"customer": "nobody", "title": "x", "owner": "o", "target_day": "2025-09-30"}),
            404,
        ),
        (
            "POST",
            "/api/plans".to_string(),
            json!({"customer": id, "title": "x", "owner": "o", "target_day": "2025-02-30"}),
            422,
        ),
        (
            "POST",
            "/api/plans".to_string(),
            json!({"customer": id, "title": " ", "owner": "o", "target_day": "2025-09-30"}),
            422,
        ),
        (
            "POST",
            "/api/plans".to_string(),
            json!({"customer": id, "title": "x", "owner": "o", "target_day": "2025-09-30", "colour": "red"}),
            400,
        ),
        (
            "PATCH",
            format!("/api/plans/{gid}"),
            json!({"status": "finished"}),
            400,
        ),
        (
            "PATCH",
            format!("/api/plans/{gid}"),
            json!({"target_day": "2025-13-01"}),
            422,
        ),
        (
            "PATCH",
            "/api/plans/999999".to_string(),
            json!({"status": "done"}),
            404,
        ),
        (
            "PATCH",
            "/api/plans/x".to_string(),
            json!({"status": "done"}),
            400,
        ),
    ] {
        let (s, v) = send_json(&f.app, method, &uri, &f.admin, body.clone()).await;
        assert_eq!(s.as_u16(), want, "{method} {uri} {body}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    let goals = get(&f.app, &format!("/api/plans?customer={id}"), &f.analyst).await;
    let goals = goals["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 1);
    assert_eq!(goals[0]["note"], "kickoff done");
    // The same goal is in the store, where the CLI reads it, and in her 360.
    let mut store = tenure_store::open(&f.location).unwrap();
    let stored = store.goals(Some(&id)).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].status.as_str(), "on_track");
    drop(store);
    let c = get(&f.app, &format!("/api/customers/{id}"), &f.analyst).await;
    assert_eq!(c["goals"][0]["id"].as_i64(), Some(gid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_over_the_api_are_all_or_nothing() {
    let f = fixture("imports");
    let before = get(&f.app, "/api/overview", &f.admin).await["customers"]
        .as_u64()
        .unwrap();
    let count = || {
        let mut s = tenure_store::open(&f.location).unwrap();
        s.count(RecordKind::Customers).unwrap()
    };
    let stored = count();
    // A bad row: 422 naming the line and column; the store and the snapshot unchanged.
    let bad = "id,acquired_at\nZ-NEW-1,2025-01-15\nZ-NEW-2,2025-13-01\n";
    let (s, v) = call(
        &f.app,
        "POST",
        "/api/imports/customers",
        Some(&f.ingest),
        Some(Body::from(bad)),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(":3:") && msg.contains("acquired_at"), "{msg}");
    assert!(!msg.contains("tenure-upload-"), "{msg}");
    assert_eq!(count(), stored);
    // A good file: imported and decided on at once.
    let good = "id,acquired_at\nZ-NEW-1,2025-01-15\nZ-NEW-2,2025-02-01\n";
    let (s, v) = call(
        &f.app,
        "POST",
        "/api/imports/customers",
        Some(&f.ingest),
        Some(Body::from(good)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["inserted"].as_u64(), Some(2));
    assert_eq!(v["snapshot"]["customers"].as_u64(), Some(before + 2));
    assert_eq!(count(), stored + 2);
    let c = get(&f.app, "/api/customers/Z-NEW-1", &f.admin).await;
    assert_eq!(c["customer"]["acquired"], "2025-01-15");
    // The same file again changes nothing (imports are idempotent).
    let (s, v) = call(
        &f.app,
        "POST",
        "/api/imports/customers",
        Some(&f.admin),
        Some(Body::from(good)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["unchanged"].as_u64(), Some(2));
    let (s, _) = call(
        &f.app,
        "POST",
        "/api/imports/widgets",
        Some(&f.ingest),
        Some(Body::from(good)),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&f.dir);
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a money string"))
        .parse()
        .unwrap()
}

/// The reports agree with the overview, with each other, and across their filters: what the
/// channels hold adds up to the whole, quarters fold their months, filters narrow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_agree_with_the_overview_and_across_filters() {
    let f = fixture("reports");
    let t = f.analyst.as_str();
    let o = get(&f.app, "/api/overview", t).await;
    let n = o["customers"].as_u64().unwrap();

    // MRR: the last month closes at the overview's MRR; each month balances.
    let m = get(&f.app, "/api/reports/mrr", t).await;
    assert_eq!(m["end"], "2025-06-30");
    assert_eq!(m["customers"].as_u64(), Some(n));
    let months = m["periods"].as_array().unwrap();
    assert!(months.len() >= 12, "{m}");
    let last = months.last().unwrap();
    assert_eq!(last["period"], "2025-06");
    assert_eq!(last["closing"], o["mrr"]);
    assert_eq!(last["customers_closing"], o["paying_customers"]);
    for p in months {
        let flows =
            dec(&p["opening"]) + dec(&p["new"]) + dec(&p["expansion"]) + dec(&p["reactivation"])
                - dec(&p["contraction"])
                - dec(&p["churn"]);
        assert!(
            (flows - dec(&p["closing"])).abs() <= Decimal::new(5, 2),
            "{p}"
        );
    }
    for w in months.windows(2) {
        assert_eq!(w[0]["closing"], w[1]["opening"], "{} → {}", w[0], w[1]);
    }
    // Quarters: the closing of a quarter is that of its last month, flows are sums.
    let q = get(&f.app, "/api/reports/mrr?interval=quarter", t).await;
    let q2 = q["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"] == "2025-Q1")
        .unwrap();
    let in_q1: Vec<&Value> = months
        .iter()
        .filter(|p| ["2025-01", "2025-02", "2025-03"].contains(&p["period"].as_str().unwrap()))
        .collect();
    assert_eq!(q2["closing"], in_q1[2]["closing"]);
    assert_eq!(q2["opening"], in_q1[0]["opening"]);
    let new_q1: u64 = in_q1
        .iter()
        .map(|p| p["new_customers"].as_u64().unwrap())
        .sum();
    assert_eq!(q2["new_customers"].as_u64(), Some(new_q1));
    let from = get(&f.app, "/api/reports/mrr?start=2025-03-15", t).await;
    assert_eq!(from["periods"][0]["period"], "2025-03");
    let late = get(&f.app, "/api/reports/mrr?end=2030-01-01", t).await;
    assert_eq!(
        late["end"], "2025-06-30",
        "a later end is the snapshot's day"
    );
    let early = get(&f.app, "/api/reports/mrr?end=2025-03-31", t).await;
    assert_eq!(
        early["periods"].as_array().unwrap().last().unwrap()["closing"],
        in_q1[2]["closing"],
        "a report ending earlier sees the same past"
    );

    // Retention: the overview's trailing 12 months.
    let r = get(&f.app, "/api/reports/retention", t).await;
    assert_eq!(r["start"], "2024-06-30");
    for k in ["logo", "grr", "nrr", "seats"] {
        assert_eq!(r[k], o["retention"][k], "{k}");
    }
    let grr = r["grr"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&grr) && grr <= r["nrr"].as_f64().unwrap() + 1e-12);

    // Cohorts: period-0 customers add up to everyone acquired by `end`.
    let c = get(&f.app, "/api/reports/cohorts", t).await;
    let cohorts = c["cohorts"].as_array().unwrap();
    let total: u64 = cohorts
        .iter()
        .map(|r| r["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(total, n);
    for row in cohorts {
        for cell in row["cells"].as_array().unwrap() {
            let logo = cell["logo"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&logo), "{cell}");
        }
    }
    let cq = get(&f.app, "/api/reports/cohorts?interval=quarter", t).await;
    let total_q: u64 = cq["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(total_q, n);

    // Filters: the channels partition the company in every report.
    let channels: Vec<String> = {
        let list = get(&f.app, "/api/customers?limit=1000", t).await;
        let mut v: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["channel"].as_str().map(String::from))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert!(channels.len() >= 2, "{channels:?}");
    let mut customers = 0;
    let mut closing = Decimal::ZERO;
    let mut profit = Decimal::ZERO;
    let mut observations = 0;
    for ch in &channels {
        let m = get(&f.app, &format!("/api/reports/mrr?channel={ch}"), t).await;
        customers += m["customers"].as_u64().unwrap();
        if let Some(l) = m["periods"].as_array().unwrap().last() {
            assert_eq!(l["period"], "2025-06");
            closing += dec(&l["closing"]);
        }
        let v = get(&f.app, &format!("/api/reports/value?channel={ch}"), t).await;
        profit += dec(&v["ledger"]["profit"]);
        let s = get(&f.app, &format!("/api/reports/survival?channel={ch}"), t).await;
        observations += s["observations"].as_u64().unwrap();
    }
    assert_eq!(customers, n);
    // Rounding per channel to the cent: within a cent a channel.
    assert!((closing - dec(&o["mrr"])).abs() <= Decimal::new(channels.len() as i64, 2));
    let v = get(&f.app, "/api/reports/value", t).await;
    assert_eq!(profit, dec(&v["ledger"]["profit"]), "profit is exact");
    assert_eq!(dec(&v["ledger"]["profit"]), dec(&o["realised_profit"]));
    let s = get(&f.app, "/api/reports/survival", t).await;
    assert_eq!(observations, s["observations"].as_u64().unwrap());
    let pts = s["points"].as_array().unwrap();
    for w in pts.windows(2) {
        assert!(w[1]["survival"].as_f64() <= w[0]["survival"].as_f64());
    }
    // Value distributions count every customer once.
    let bars = |v: &Value, k: &str| -> u64 {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|b| b["customers"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(bars(&v, "realised"), n);
    assert_eq!(bars(&v, "lifetime"), n);

    // A segment filter narrows to the overview's count of that segment.
    for seg in o["segments"].as_array().unwrap() {
        let name = seg["name"].as_str().unwrap();
        let m = get(&f.app, &format!("/api/reports/value?segment={name}"), t).await;
        assert_eq!(m["customers"], seg["customers"], "{name}");
        assert_eq!(bars(&m, "lifetime"), seg["customers"].as_u64().unwrap());
    }
    // A filter nobody matches is an empty report, not an error.
    let none = get(&f.app, "/api/reports/cohorts?region=nowhere", t).await;
    assert_eq!(none["customers"], 0);
    assert_eq!(none["cohorts"], json!([]));

    // Bad parameters: 400 with a message naming the parameter.
    for (uri, word) in [
        ("/api/reports/mrr?end=yesterday", "end"),
        ("/api/reports/cohorts?interval=week", "interval"),
        ("/api/reports/retention?months=0", "months"),
        ("/api/reports/survival?level=1.5", "level"),
        ("/api/reports/value?bins=1", "bins"),
        ("/api/reports/value?segment=vip", "segment"),
    ] {
        let (st, v) = call(&f.app, "GET", uri, Some(t), None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{uri}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(word), "{uri}: {msg}");
    }
    let _ = std::fs::remove_dir_all(&f.dir);
}

const PLAYBOOKS: &str = r#"# The team's rules. This comment must survive saves from the API.
currency = "USD"

# Above the rule: kept when the rule is replaced.
[[playbooks]]
name = "low-health"   # a call before it is too late
when = { health_below = { score = 1 } }
cooldown = "30d"
then = [{ task = "cs-queue", title = "Call {customer_id}" }]
"#;

/// Playbooks over the API: edited in the file (comments kept, refused edits change nothing),
/// a run enqueues each fire once, and the outbox shows the actions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playbooks_edit_the_file_and_runs_enqueue_once() {
    let f = fixture_with("playbooks", Some(PLAYBOOKS));
    let a = f.admin.as_str();
    let file = f.dir.join("tenure.toml");
    let l = get(&f.app, "/api/playbooks", f.analyst.as_str()).await;
    assert_eq!(l["editable"], true);
    assert_eq!(l["as_of"], "2025-06-30");
    let p = &l["playbooks"][0];
    assert_eq!(p["name"], "low-health");
    assert_eq!(p["trigger"], "health_below");
    assert_eq!(p["cooldown_days"], 30);
    assert_eq!(p["actions"], json!(["task cs-queue"]));
    assert!(p["toml"].as_str().unwrap().contains("score = 1"), "{p}");

    // Nobody is below 1: nothing fires.
    let (s, r) = send_json(&f.app, "POST", "/api/playbooks/run", a, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["new_outbox_items"], 0);
    let before = std::fs::read_to_string(&file).unwrap();

    // Refused edits: bad TOML, an invalid rule, a different name, an analyst. File unchanged.
    for (body, status, word) in [
        (
            json!({"toml": "when = {"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "TOML",
        ),
        (
            json!({"toml": "when = { health_below = { score = 60 } }\nthen = [{ task = \"q\" }]"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "cooldown",
        ),
        (
            json!({"toml": "when = { health_below = { score = 500 } }\ncooldown = \"1d\"\nthen = [{ task = \"q\" }]"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "score",
        ),
        (
            json!({"toml": "name = \"other\"\nwhen = { health_below = { score = 60 } }"}),
            StatusCode::BAD_REQUEST,
            "name",
        ),
        (json!({"text": "x"}), StatusCode::BAD_REQUEST, "toml"),
    ] {
        let (s, v) = send_json(&f.app, "PUT", "/api/playbooks/low-health", a, body.clone()).await;
        assert_eq!(s, status, "{body}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(word), "{body}: {msg}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "{body}");
    }
    let (s, _) = send_json(
        &f.app,
        "PUT",
        "/api/playbooks/low-health",
        f.analyst.as_str(),
        json!({"toml": ""}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Raise the threshold to 60: the run now fires for every customer scoring below 60.
    let rule = "when = { health_below = { score = 60 } }\ncooldown = \"30d\"\nthen = [{ task = \"cs-queue\", title = \"Call {customer_id}\" }]\n";
    let (s, v) = send_json(
        &f.app,
        "PUT",
        "/api/playbooks/low-health",
        a,
        json!({ "toml": rule }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# The team's rules. This comment must survive"),
        "{text}"
    );
    assert!(
        text.contains("# Above the rule: kept when the rule is replaced.\n[[playbooks]]"),
        "{text}"
    );
    assert!(
        text.contains("score = 60") && !text.contains("score = 1 "),
        "{text}"
    );
    let below: usize = {
        let list = get(&f.app, "/api/customers?limit=1000", a).await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["health"].as_f64().is_some_and(|h| h < 60.0))
            .count()
    };
    assert!(below > 0);
    let (s, dry) = send_json(
        &f.app,
        "POST",
        "/api/playbooks/run",
        a,
        json!({"dry_run": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{dry}");
    assert_eq!(dry["fires"].as_array().unwrap().len(), below);
    assert_eq!(dry["new_outbox_items"], 0);
    let (_, r) = send_json(&f.app, "POST", "/api/playbooks/run", a, json!({})).await;
    assert_eq!(r["new_fires"].as_u64(), Some(below as u64), "{r}");
    assert_eq!(r["new_outbox_items"].as_u64(), Some(below as u64));
    assert_eq!(r["rules"], json!([{"rule": "low-health", "fires": below}]));
    let (_, again) = send_json(&f.app, "POST", "/api/playbooks/run", a, json!({})).await;
    assert_eq!(again["new_outbox_items"], 0, "a re-run enqueues nothing");
    assert_eq!(again["already_recorded_fires"].as_u64(), Some(below as u64));
    let outbox = get(&f.app, "/api/outbox?status=open&limit=1000", a).await;
    let open = outbox["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "open")
        .unwrap();
    assert_eq!(open["customers"].as_u64(), Some(below as u64));
    assert_eq!(outbox["items"].as_array().unwrap().len(), below);
    assert_eq!(outbox["total"].as_u64(), Some(below as u64));
    // Pages of 7 walk the same items in the same order, each once.
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mut paged = Vec::new();
    for off in (0..below).step_by(7) {
        let p = get(
            &f.app,
            &format!("/api/outbox?status=open&limit=7&offset={off}"),
            a,
        )
        .await;
        paged.extend(ids(&p));
    }
    assert_eq!(paged, ids(&outbox));
    let first = &r["fires"][0];
    let c = get(
        &f.app,
        &format!("/api/customers/{}", first["customer"].as_str().unwrap()),
        a,
    )
    .await;
    assert!(c
        .to_string()
        .contains(first["actions"][0]["id"].as_str().unwrap()));
    let l = get(&f.app, "/api/playbooks", a).await;
    assert_eq!(l["playbooks"][0]["fires"].as_u64(), Some(below as u64));

    // Add a second rule, then delete it.
    let (s, v) = send_json(
        &f.app,
        "PUT",
        "/api/playbooks/detractors",
        a,
        json!({"toml": "when = { nps_detractor = {} }\nthen = [{ task = \"cs-queue\" }]"}),
    )
    .await;
    assert_eq!(
        (s, v["created"].clone()),
        (StatusCode::OK, json!(true)),
        "{v}"
    );
    let l = get(&f.app, "/api/playbooks", a).await;
    assert_eq!(l["playbooks"].as_array().unwrap().len(), 2);
    let (s, _) = call(&f.app, "DELETE", "/api/playbooks/detractors", Some(a), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&f.app, "DELETE", "/api/playbooks/detractors", Some(a), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("detractors") && text.contains("score = 60"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&f.dir);

    // Without a configuration file, playbooks are read-only.
    let g = fixture("playbooks-ro");
    let (s, v) = send_json(
        &g.app,
        "PUT",
        "/api/playbooks/x",
        g.admin.as_str(),
        json!({"toml": "when = { nps_detractor = {} }\nthen = [{ task = \"q\" }]"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(
        get(&g.app, "/api/playbooks", g.admin.as_str()).await["editable"],
        false
    );
    let _ = std::fs::remove_dir_all(&g.dir);
}

/// A fit job runs to `done` with its progress counted, and its parameters are those of the
/// same model fitted to rows summarised here independently from the store's records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fit_jobs_report_progress_and_fit_the_summarised_rows() {
    let f = fixture("fits");
    let a = f.admin.as_str();
    let (s, job) = send_json(
        &f.app,
        "POST",
        "/api/fits",
        a,
        json!({"model": "bgnbd", "end": "2025-06-30"}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_u64().unwrap();
    let done = loop {
        let j = get(&f.app, &format!("/api/fits/{id}"), f.analyst.as_str()).await;
        let p = &j["progress"];
        assert!(p["customers_summarised"].as_u64() <= p["customers_total"].as_u64());
        if j["status"] != "running" {
            break j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["progress"]["phase"], "done");
    assert_eq!(
        done["progress"]["customers_summarised"],
        done["progress"]["customers_total"]
    );

    // The same rows, summarised here from the records: a purchase day is a day with a line
    // that is not a refund; weeks from the first purchase day.
    let mut store = tenure_store::open(&f.location).unwrap();
    let data = store.load(&tenure_store::LoadOptions::all()).unwrap();
    let end = tenure_store::dataset::day_of_text("2025-06-30").unwrap();
    let mut rows = Vec::new();
    for c in 0..data.len() as u32 {
        if data.customers[c as usize].acquired > end {
            continue;
        }
        let mut days: Vec<i32> = data
            .transactions_of(c)
            .iter()
            .filter(|t| t.day <= end && t.kind != tenure_core::TransactionKind::Refund)
            .map(|t| t.day)
            .collect();
        days.sort_unstable();
        days.dedup();
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            continue;
        };
        let t = f64::from(end - first) / 7.0;
        if t > 0.0 {
            rows.push(tenure_models::RfmRow {
                x: (days.len() - 1) as f64,
                t_x: f64::from(last - first) / 7.0,
                t,
            });
        }
    }
    let rfm = tenure_models::Rfm::new(&rows).unwrap();
    let (_, fit) =
        tenure_models::bgnbd::fit_bgnbd(&rfm, &tenure_models::FitOptions::default()).unwrap();
    let r = &done["result"];
    assert_eq!(r["n"].as_f64(), Some(fit.n));
    for (k, p) in r["parameters"].as_array().unwrap().iter().enumerate() {
        assert_eq!(p["name"], fit.names[k]);
        let (a, b) = (p["estimate"].as_f64().unwrap(), fit.params[k]);
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{p} vs {b}");
    }
    assert!((r["log_likelihood"].as_f64().unwrap() - fit.log_likelihood).abs() < 1e-6);

    // The list, a purchase-only job (this company has none: a failed job with the reason),
    // refusals.
    let l = get(&f.app, "/api/fits", a).await;
    assert_eq!(l["jobs"][0]["id"].as_u64(), Some(id));
    let (_, j2) = send_json(
        &f.app,
        "POST",
        "/api/fits",
        a,
        json!({"model": "paretonbd", "population": "purchase"}),
    )
    .await;
    let id2 = j2["id"].as_u64().unwrap();
    let failed = loop {
        let j = get(&f.app, &format!("/api/fits/{id2}"), a).await;
        if j["status"] != "running" {
            break j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(failed["progress"]["customers_total"], 0);
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().len() > 5);
    let (s, _) = call(&f.app, "GET", "/api/fits/999", Some(a), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = send_json(&f.app, "POST", "/api/fits", a, json!({"model": "cox"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = send_json(
        &f.app,
        "POST",
        "/api/fits",
        f.analyst.as_str(),
        json!({"model": "bgnbd"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// Every customer's 360 ledger adds up to her realised profit (the list's), month by month, and
/// her timeline is newest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_360_ledger_is_her_realised_profit_and_the_timeline_is_ordered() {
    let f = fixture("ledger");
    let t = f.analyst.as_str();
    let list = get(&f.app, "/api/customers?limit=1000", t).await;
    let mut total = Decimal::ZERO;
    let mut breakeven = 0;
    for row in list["items"].as_array().unwrap() {
        let id = row["id"].as_str().unwrap();
        let c = get(&f.app, &format!("/api/customers/{id}"), t).await;
        let l = &c["ledger"];
        assert_eq!(l["totals"]["profit"], row["realised_profit"], "{id}");
        let months = l["months"].as_array().unwrap();
        let sum: Decimal = months.iter().map(|m| dec(&m["profit"])).sum();
        assert_eq!(sum, dec(&row["realised_profit"]), "{id}");
        if let Some(last) = months.last() {
            assert_eq!(last["cumulative_profit"], row["realised_profit"], "{id}");
        }
        if let Some(b) = l["breakeven_month"].as_str() {
            breakeven += 1;
            let m = months.iter().find(|m| m["month"] == b).unwrap();
            assert!(dec(&m["cumulative_profit"]) >= Decimal::ZERO, "{id}");
        }
        let tl = c["timeline"].as_array().unwrap();
        assert!(c["timeline_total"].as_u64().unwrap() as usize >= tl.len());
        for w in tl.windows(2) {
            assert!(w[0]["day"].as_str() >= w[1]["day"].as_str(), "{id}");
            assert!(w[0]["day"].as_str() <= Some("2025-06-30"));
        }
        total += dec(&l["totals"]["profit"]);
    }
    let o = get(&f.app, "/api/overview", t).await;
    assert_eq!(total, dec(&o["realised_profit"]));
    assert!(breakeven > 0);
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// The 360 timeline shows every kind of record: for each customer, as many opened cases,
/// payment events, interactions and campaign touches as the generated files hold for her
/// (up to the snapshot's day), in day order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_360_timeline_shows_cases_payments_interactions_and_touches() {
    let f = fixture("timeline");
    let t = f.analyst.as_str();
    let as_of = "2025-06-30";
    // (file, the customer column, the day column, the timeline's kind prefix)
    let kinds = [
        ("cases", "opened_at", "case_opened"),
        ("payments", "occurred_at", "payment_"),
        ("interactions", "occurred_at", "interaction"),
        ("touches", "sent_at", "campaign_touch"),
    ];
    let mut expected: std::collections::HashMap<(String, &str), usize> = Default::default();
    for (file, day_col, prefix) in kinds {
        let text =
            std::fs::read_to_string(f.dir.join("company").join(format!("{file}.csv"))).unwrap();
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let (ci, di) = (
            head.iter().position(|h| *h == "customer_id").unwrap(),
            head.iter().position(|h| *h == day_col).unwrap(),
        );
        for l in lines {
            let cells: Vec<&str> = l.split(',').collect();
            if cells[di][..10] <= *as_of {
                *expected.entry((cells[ci].to_string(), prefix)).or_default() += 1;
            }
        }
    }
    let list = get(&f.app, "/api/customers?limit=1000", t).await;
    let mut seen = [0usize; 4];
    for row in list["items"].as_array().unwrap() {
        let id = row["id"].as_str().unwrap();
        let c = get(&f.app, &format!("/api/customers/{id}"), t).await;
        let tl = c["timeline"].as_array().unwrap();
        if c["timeline_total"].as_u64().unwrap() as usize > tl.len() {
            continue; // truncated to the newest 200: counts would not match
        }
        for (k, (_, _, prefix)) in kinds.iter().enumerate() {
            let n = tl
                .iter()
                .filter(|e| e["kind"].as_str().unwrap().starts_with(prefix))
                .count();
            let want = expected
                .get(&(id.to_string(), *prefix))
                .copied()
                .unwrap_or(0);
            assert_eq!(n, want, "{id} {prefix}");
            seen[k] += n;
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "every kind appears: {seen:?}");
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// CORS only for the configured origin: its preflight is answered and its requests carry the
/// header; another origin gets none (and a request without a token is still 401).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_only_for_the_configured_origin() {
    let f = fixture("cors");
    let req = |method: &str, origin: &str, preflight: bool, token: Option<&str>| {
        let mut r = Request::builder()
            .method(method)
            .uri("/api/overview")
            .header("origin", origin);
        if preflight {
            r = r
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization");
        }
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.body(Body::empty()).unwrap()
    };
    let acao = |res: &axum::response::Response| {
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let ok = "https://bi.example.com";
    let res = f
        .app
        .clone()
        .oneshot(req("OPTIONS", ok, true, None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(acao(&res).as_deref(), Some(ok));
    assert!(res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("authorization"));
    let res = f
        .app
        .clone()
        .oneshot(req("GET", ok, false, Some(&f.analyst)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(acao(&res).as_deref(), Some(ok));
    let res = f
        .app
        .clone()
        .oneshot(req("GET", ok, false, None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    for evil in [
        "https://evil.example.com",
        "https://bi.example.com.evil.com",
        "null",
    ] {
        let res = f
            .app
            .clone()
            .oneshot(req("OPTIONS", evil, true, None))
            .await
            .unwrap();
        assert_eq!(acao(&res), None, "{evil}");
        assert_ne!(res.status(), StatusCode::NO_CONTENT, "{evil}");
        let res = f
            .app
            .clone()
            .oneshot(req("GET", evil, false, Some(&f.analyst)))
            .await
            .unwrap();
        assert_eq!(acao(&res), None, "{evil}");
    }
    assert!(f
        .app
        .clone()
        .oneshot(req("GET", ok, false, Some(&f.analyst)))
        .await
        .unwrap()
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// The model check: the calibration summary and the holdout counts are the records' (purchase
/// days summarised here), BG/NBD's holdout forecast is the library's on those rows, the charts
/// are SVG, and bad days are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_checks_the_models_on_the_records() {
    let f = fixture("validation");
    let a = f.analyst.as_str();
    let v = get(
        &f.app,
        "/api/reports/validation?calibration_end=2025-01-31&end=2025-06-30",
        a,
    )
    .await;
    assert_eq!(v["calibration_end"], "2025-01-31", "{v}");
    assert_eq!(v["end"], "2025-06-30");
    let mut store = tenure_store::open(&f.location).unwrap();
    let data = store.load(&tenure_store::LoadOptions::all()).unwrap();
    let day = |s: &str| tenure_store::dataset::day_of_text(s).unwrap();
    let (cal, end) = (day("2025-01-31"), day("2025-06-30"));
    let (mut rows, mut holdout) = (Vec::new(), 0.0);
    for c in 0..data.len() as u32 {
        let mut days: Vec<i32> = data
            .transactions_of(c)
            .iter()
            .filter(|t| t.day <= end && t.kind != tenure_core::TransactionKind::Refund)
            .map(|t| t.day)
            .collect();
        days.sort_unstable();
        days.dedup();
        let Some(&first) = days.first() else { continue };
        if first >= cal {
            continue;
        }
        let in_cal: Vec<i32> = days.iter().copied().filter(|d| *d <= cal).collect();
        rows.push(tenure_models::RfmRow {
            x: (in_cal.len() - 1) as f64,
            t_x: f64::from(in_cal[in_cal.len() - 1] - first) / 7.0,
            t: f64::from(cal - first) / 7.0,
        });
        holdout += days.iter().filter(|d| **d > cal).count() as f64;
    }
    assert_eq!(v["customers_checked"].as_u64(), Some(rows.len() as u64));
    assert_eq!(v["holdout_actual_repeat_purchases"].as_f64(), Some(holdout));
    let rfm = tenure_models::Rfm::new(&rows).unwrap();
    let (m, _) =
        tenure_models::bgnbd::fit_bgnbd(&rfm, &tenure_models::FitOptions::default()).unwrap();
    let horizon = f64::from(end - cal) / 7.0;
    let expected: f64 = rows
        .iter()
        .map(|r| {
            tenure_models::RfmModel::conditional_expected_purchases(&m, horizon, r.x, r.t_x, r.t)
        })
        .sum();
    let got = v["models"][0]["predicted_repeat_purchases"]
        .as_f64()
        .unwrap();
    assert_eq!(v["models"][0]["model"], "bgnbd");
    assert!(
        (got - expected).abs() < 1e-6 * expected,
        "{got} vs {expected}"
    );
    let names: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert!(names.contains(&v["recommended"].as_str().unwrap()));
    for k in ["tracking", "conditional_expectations", "p_alive"] {
        assert!(v["charts"][k].as_str().unwrap().starts_with("<svg"), "{k}");
    }
    // Nothing to check is an answer that says why, not an error; a bad day is.
    for (q, why) in [
        ("calibration_end=2025-06-30&end=2025-06-30", "no holdout"),
        ("calibration_end=2000-01-01", "no matching customer"),
    ] {
        let v = get(&f.app, &format!("/api/reports/validation?{q}"), a).await;
        assert!(v["recommended"].is_null() && v["charts"].is_null(), "{v}");
        assert!(v["reason"].as_str().unwrap().starts_with(why), "{v}");
    }
    let (s, _) = call(
        &f.app,
        "GET",
        "/api/reports/validation?calibration_end=2025-13-01",
        Some(a),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let _ = std::fs::remove_dir_all(&f.dir);
}
