//! The routes, their request and response types, and the OpenAPI document built from them.

use crate::auth::{Any, Ingest, Read, Write};
use crate::error::ErrorBody;
use crate::snapshot::{day_text, CustomerView, Order, Snapshot, Tags};
use crate::{now_secs, ApiError, AppState, BODY_LIMIT};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use tenure_act::Segment;
use tenure_store::dataset::day_of_text;
use tenure_store::journal::{Goal, GoalStatus, GoalUpdate, NewGoal, OutboxItem, OutboxStatus};
use tenure_store::{ImportOptions, InputFormat, RecordKind};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenure API",
        description = "What each customer is worth and what to do about it. Every route needs `Authorization: Bearer TOKEN` (`tenure token create`); roles: admin (all), analyst (reads), ingest (imports). Money is exact decimal strings of the snapshot's `currency`; days are YYYY-MM-DD; instants are Unix seconds."
    ),
    modifiers(&BearerAuth),
    components(schemas(
        SegmentName, StageName, BandName, StatusName, SortKey, OutboxStatusName, GoalStatusName,
        KindName, FormatName, ReviewFormatName, IntervalName, crate::reports::SpellsName,
        crate::reports::CampaignGroupName
    )),
    security(("bearer" = [])),
    tags(
        (name = "overview"), (name = "customers"), (name = "decisions"),
        (name = "reports"), (name = "fits"), (name = "playbooks"), (name = "plans"), (name = "outbox"), (name = "imports"),
        (name = "server")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn parts() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(whoami))
        .routes(routes!(overview))
        .routes(routes!(list_customers))
        .routes(routes!(get_customer))
        .routes(routes!(customer_review))
        .routes(routes!(segments))
        .routes(routes!(stages))
        .routes(routes!(advocates_list))
        .routes(routes!(list_plans, add_plan))
        .routes(routes!(update_plan))
        .routes(routes!(outbox_list))
        .routes(routes!(outbox_replay))
        .routes(routes!(import_records))
        .routes(routes!(snapshot_info, snapshot_refresh))
        .merge(crate::reports::routes())
        .merge(crate::playbooks::routes())
        .merge(crate::fits::routes())
        .split_for_parts()
}

pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

pub(crate) fn router(state: AppState) -> axum::Router {
    std::sync::LazyLock::force(&CSP);
    let (api, doc) = parts();
    let doc = std::sync::Arc::new(doc);
    api.route(
        "/openapi.json",
        axum::routing::get(move || {
            let d = doc.clone();
            async move { Json(d.as_ref().clone()) }
        }),
    )
    .route(
        "/",
        axum::routing::get(|| async { asset(INDEX_HTML, "text/html; charset=utf-8") }),
    )
    .route(
        "/assets/app.js",
        axum::routing::get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
    )
    .route(
        "/assets/app.css",
        axum::routing::get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
    )
    .route(
        "/favicon.ico",
        axum::routing::get(|| async { StatusCode::NO_CONTENT }),
    )
    .fallback(|| async { ApiError::not_found("no such route (the routes are in /openapi.json)") })
    .layer(DefaultBodyLimit::max(BODY_LIMIT))
    .layer(axum::middleware::from_fn_with_state(state.clone(), cors))
    .with_state(state)
}

/// CORS, only for the origins configured (`--cors-origin`): a preflight from one of them is
/// answered 204 with the methods and headers the API takes, and its requests get
/// `Access-Control-Allow-Origin`. Any other origin, or none configured: no CORS header, so
/// browsers keep the API to the dashboard's own origin. Tokens travel in `Authorization`,
/// never in cookies, so credentials are not allowed.
async fn cors(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue, Method};
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let allowed = origin
        .as_deref()
        .filter(|o| state.settings().cors_origins.iter().any(|a| a == o))
        .and_then(|o| HeaderValue::from_str(o).ok());
    let Some(allowed) = allowed else {
        return next.run(req).await;
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    h.append(header::VARY, HeaderValue::from_static("origin"));
    res
}

// ---------------------------------------------------------------------------------------
// The dashboard: three files compiled into the binary, nothing from elsewhere
// ---------------------------------------------------------------------------------------

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

/// The dashboard's Content-Security-Policy: the page loads and calls only its own origin, so no
/// asset or data can come from, or go to, anywhere else. One inline style is allowed, by its
/// hash: the value review's `<style>` block (`tenure_act::review::CSS`), because the review the
/// dashboard opens from a Blob URL inherits this policy. Computed once, when the router is
/// built.
static CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD
        .encode(sha2::Sha256::digest(tenure_act::review::CSS.as_bytes()));
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'sha256-{hash}'; \
         img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'none'"
    )
});

/// A dashboard file, under [`CSP`].
fn asset(body: &'static str, content_type: &'static str) -> axum::response::Response {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP.as_str()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Extractors whose rejections are JSON errors, and the closed vocabularies of the API
// ---------------------------------------------------------------------------------------

/// `Query<T>` answering a malformed query with a JSON 400.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, s)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// A JSON request body that must be an object (serde would also read a struct from an array),
/// answering anything else with a JSON 400.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, s: &S) -> Result<Self, ApiError> {
        let Json(v) = Json::<serde_json::Value>::from_request(req, s)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        if !v.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        serde_json::from_value(v)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("the body: {e}")))
    }
}

/// `Path<T>` answering a malformed path parameter with a JSON 400.
pub struct P<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, s)
            .await
            .map(|Path(v)| P(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($v),+ }

        #[allow(dead_code)]
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The name in the API; a test checks it is serde's.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }
    };
}

names!(
    /// A CLV segment.
    SegmentName { Key = "key", PotentialKey = "potential_key", General = "general", NeverProfitable = "never_profitable" }
);
names!(
    /// A lifecycle stage.
    StageName { Deliver = "deliver", Develop = "develop", Retain = "retain", Grow = "grow" }
);
names!(
    /// A health band.
    BandName { AtRisk = "at_risk", Neutral = "neutral", Healthy = "healthy" }
);
names!(
    /// A customer's status, derived from her own pattern.
    StatusName { Active = "active", Reactivated = "reactivated", Inactive = "inactive", Churned = "churned" }
);
names!(
    /// What the customer list is sorted by (ties by id).
    SortKey { Id = "id", Health = "health", RealisedProfit = "realised_profit", LifetimeProfit = "lifetime_profit", PAlive = "p_alive", Tenure = "tenure" }
);
names!(
    /// An outbox item's state.
    OutboxStatusName { Pending = "pending", Sending = "sending", Delivered = "delivered", Dead = "dead", Open = "open", Closed = "closed" }
);
names!(
    /// An account-plan goal's state.
    GoalStatusName { Planned = "planned", OnTrack = "on_track", AtRisk = "at_risk", Done = "done", Dropped = "dropped" }
);
names!(
    /// A record kind of `docs/schema.md`.
    KindName { Customers = "customers", Transactions = "transactions", Subscriptions = "subscriptions", Costs = "costs", Usage = "usage", Feedback = "feedback", Cases = "cases", Payments = "payments", Interactions = "interactions", Campaigns = "campaigns", Touches = "touches" }
);
names!(
    /// A report's period length.
    IntervalName { Month = "month", Quarter = "quarter" }
);
names!(
    /// An upload's format.
    FormatName { Csv = "csv", Jsonl = "jsonl", Parquet = "parquet" }
);
names!(
    /// A value review's format.
    ReviewFormatName { Json = "json", Html = "html" }
);

// ---------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------

/// What every answer computed from the snapshot says about it.
#[derive(Serialize, ToSchema)]
pub struct Basis {
    /// The day decided on (`null`: the store holds no records yet).
    pub as_of: Option<String>,
    /// ISO 4217; every money field is in it.
    pub currency: String,
    /// Where the configuration came from (`defaults` or a file).
    pub config: String,
}

pub(crate) fn basis(s: &Snapshot) -> Basis {
    Basis {
        as_of: s.as_of.map(day_text),
        currency: s.currency.code().to_string(),
        config: s.config_source.clone(),
    }
}

fn snap(state: &AppState) -> std::sync::Arc<Snapshot> {
    state.snapshot()
}

fn page_bounds(limit: Option<usize>, offset: Option<usize>) -> Result<(usize, usize), ApiError> {
    let limit = limit.unwrap_or(50);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request("limit: 1 to 1000"));
    }
    if offset.is_some_and(|o| o > i32::MAX as usize) {
        return Err(ApiError::bad_request("offset: 0 to 2147483647"));
    }
    Ok((limit, offset.unwrap_or(0)))
}

// ---------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    /// admin, analyst or ingest.
    pub role: String,
}

/// The calling token's name and role.
#[utoipa::path(get, path = "/api/me", tag = "server",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn whoami(Any(c): Any) -> Json<Me> {
    Json(Me {
        name: c.name,
        role: c.role.as_str().to_string(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct SnapshotInfo {
    #[serde(flatten)]
    pub basis: Basis,
    pub customers: usize,
    /// Unix seconds.
    pub built_at: i64,
    pub build_ms: f64,
}

fn snapshot_json(s: &Snapshot) -> SnapshotInfo {
    SnapshotInfo {
        basis: basis(s),
        customers: s.customers.len(),
        built_at: s.built_at,
        build_ms: s.build_ms,
    }
}

/// When the decisions served were computed.
#[utoipa::path(get, path = "/api/snapshot", tag = "server",
    responses((status = 200, body = SnapshotInfo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn snapshot_info(State(state): State<AppState>, _: Read) -> Json<SnapshotInfo> {
    Json(snapshot_json(&snap(&state)))
}

/// Recompute every customer's decisions from the store now.
#[utoipa::path(post, path = "/api/snapshot", tag = "server",
    responses((status = 200, body = SnapshotInfo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn snapshot_refresh(
    State(state): State<AppState>,
    _: Write,
) -> Result<Json<SnapshotInfo>, ApiError> {
    let s = state.refresh().await?;
    Ok(Json(snapshot_json(&s)))
}

// ---------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct Count {
    pub name: String,
    pub customers: usize,
}

#[derive(Serialize, ToSchema)]
pub struct FunnelStage {
    /// deliver, develop, retain, grow.
    pub stage: String,
    pub customers: usize,
    pub median_days_in_stage: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct Overview {
    #[serde(flatten)]
    pub basis: Basis,
    /// Customers acquired by `as_of`.
    pub customers: usize,
    /// By derived status (active, inactive, churned, …).
    pub by_status: Vec<Count>,
    /// Key, potential key, general, never profitable.
    pub segments: Vec<Count>,
    pub at_risk: usize,
    pub healthy: usize,
    /// Monthly recurring revenue on `as_of` and 12 × it.
    pub mrr: String,
    pub arr: String,
    /// Customers paying MRR on `as_of`.
    pub paying_customers: u64,
    /// Sum of realised profit to date.
    pub realised_profit: String,
    /// Sum of predicted future profit (customers with a prediction).
    pub predicted_future_profit: String,
    /// Mean of realised + predicted future profit over customers with a prediction.
    pub average_lifetime_profit: Option<String>,
    /// Realised plus predicted future profit of every customer.
    pub total_lifetime_profit: String,
    pub advocates: usize,
    pub funnel: Vec<FunnelStage>,
    pub retention: RetentionFigures,
}

/// Retention over the trailing window before `as_of`, of the customers paying at its start
/// (ratios in [0, 1] except net revenue retention, which expansion can lift above 1; `null`
/// when no one paid at the start).
#[derive(Serialize, ToSchema)]
pub struct RetentionFigures {
    pub window_months: u32,
    pub customers_start: u64,
    pub customers_retained: u64,
    /// Logo retention: customers still paying / customers paying at the start.
    pub logo: Option<f64>,
    /// Gross revenue retention: Σ min(MRR now, MRR at start) / Σ MRR at start.
    pub grr: Option<f64>,
    /// Net revenue retention: Σ MRR now / Σ MRR at start (new customers excluded).
    pub nrr: Option<f64>,
    /// Seats now / seats at the start.
    pub seats: Option<f64>,
}

fn funnel_rows(s: &Snapshot) -> Vec<FunnelStage> {
    s.funnel
        .iter()
        .map(|r| FunnelStage {
            stage: r.stage.as_str().to_string(),
            customers: r.customers,
            median_days_in_stage: r.median_days,
        })
        .collect()
}

/// The headline figures of the snapshot.
#[utoipa::path(get, path = "/api/overview", tag = "overview",
    responses((status = 200, body = Overview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn overview(State(state): State<AppState>, _: Read) -> Json<Overview> {
    let s = snap(&state);
    let t = &s.totals;
    let counts = |v: &[(&str, usize)]| -> Vec<Count> {
        v.iter()
            .map(|(n, k)| Count {
                name: n.to_string(),
                customers: *k,
            })
            .collect()
    };
    Json(Overview {
        basis: basis(&s),
        customers: s.customers.len(),
        by_status: counts(&t.by_status),
        segments: t
            .segments
            .iter()
            .map(|k| Count {
                name: k.segment.as_str().to_string(),
                customers: k.customers,
            })
            .collect(),
        at_risk: t.at_risk,
        healthy: t.healthy,
        mrr: s.money(s.mrr),
        arr: s.money(s.mrr * 12),
        paying_customers: s.mrr_customers,
        realised_profit: s.money(t.realised_profit),
        predicted_future_profit: s.money(t.future_profit),
        average_lifetime_profit: t.average_lifetime_profit.map(|a| s.money(a)),
        total_lifetime_profit: s.money(t.realised_profit + t.future_profit),
        advocates: s.advocates.len(),
        funnel: funnel_rows(&s),
        retention: RetentionFigures {
            window_months: crate::snapshot::RETENTION_MONTHS,
            customers_start: s.retention.as_ref().map_or(0, |r| r.customers_start),
            customers_retained: s.retention.as_ref().map_or(0, |r| r.customers_retained),
            logo: s.retention.as_ref().and_then(|r| r.logo()),
            grr: s.retention.as_ref().and_then(|r| r.grr()),
            nrr: s.retention.as_ref().and_then(|r| r.nrr()),
            seats: s.retention.as_ref().and_then(|r| r.seats()),
        },
    })
}

// ---------------------------------------------------------------------------------------
// Customers
// ---------------------------------------------------------------------------------------

/// One row of the customer list.
#[derive(Serialize, ToSchema)]
pub struct CustomerRow {
    pub id: String,
    pub acquired: String,
    pub tenure_days: i32,
    pub channel: Option<String>,
    pub plan: Option<String>,
    pub region: Option<String>,
    pub status: String,
    pub subscribed: bool,
    pub segment: String,
    pub stage: String,
    pub stage_since: String,
    /// 0–100; `null` without any input.
    pub health: Option<f64>,
    /// at_risk, neutral, healthy.
    pub band: Option<String>,
    /// P(alive) (purchase customers) or the probability of the next renewal (subscribers).
    pub p_alive: Option<f64>,
    pub realised_profit: String,
    pub predicted_future_profit: Option<String>,
    pub lifetime_profit: Option<String>,
    pub nps: Option<u8>,
    pub advocate_rank: Option<usize>,
}

fn row(s: &Snapshot, c: &CustomerView) -> CustomerRow {
    CustomerRow {
        id: c.id.clone(),
        acquired: c.acquired.clone(),
        tenure_days: c.tenure_days,
        channel: c.channel.clone(),
        plan: c.plan.clone(),
        region: c.region.clone(),
        status: c.status.to_string(),
        subscribed: c.subscribed,
        segment: c.segment.to_string(),
        stage: c.stage.to_string(),
        stage_since: c.stage_since.clone(),
        health: c.health,
        band: c.band.map(str::to_string),
        p_alive: c.p_alive,
        realised_profit: s.money(c.realised_profit),
        predicted_future_profit: c.future_profit.map(|f| s.money(f)),
        lifetime_profit: c.future_profit.map(|f| s.money(f + c.realised_profit)),
        nps: c.nps,
        advocate_rank: c.advocate_rank,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Page size (50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Rows to skip (0).
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<u32>,
    pub segment: Option<SegmentName>,
    pub stage: Option<StageName>,
    pub band: Option<BandName>,
    pub status: Option<StatusName>,
    pub plan: Option<String>,
    pub channel: Option<String>,
    pub region: Option<String>,
    /// Customers whose id contains this (case-insensitive).
    pub q: Option<String>,
    /// id (default); missing values last; ties by id.
    pub sort: Option<SortKey>,
    /// Descending (false).
    pub desc: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    #[serde(flatten)]
    pub basis: Basis,
    /// Rows matching the filters, all pages.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub items: Vec<CustomerRow>,
}

/// Customers, filtered, sorted and paginated (stable: ties are broken by id).
#[utoipa::path(get, path = "/api/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = CustomerPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_customers(
    State(state): State<AppState>,
    _: Read,
    Q(q): Q<CustomerQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let s = snap(&state);
    let (limit, offset) = page_bounds(q.limit, q.offset.map(|o| o as usize))?;
    // The categories by their small numbers (a dense walk); the free-text filters only when
    // given.
    let (w_seg, w_stage, w_band, w_status) = (
        q.segment.map(|v| Tags::segment_of(v.as_str())),
        q.stage.map(|v| Tags::stage_of(v.as_str())),
        q.band.map(|v| Tags::band_of(v.as_str())),
        q.status.map(|v| Tags::status_of(v.as_str())),
    );
    let needle = q.q.as_deref().map(str::to_lowercase);
    let free = q.plan.is_some() || q.channel.is_some() || q.region.is_some() || needle.is_some();
    let eq =
        |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have == Some(w));
    let order = match q.sort {
        None | Some(SortKey::Id) => None,
        Some(SortKey::Health) => Some(Order::Health),
        Some(SortKey::RealisedProfit) => Some(Order::RealisedProfit),
        Some(SortKey::LifetimeProfit) => Some(Order::LifetimeProfit),
        Some(SortKey::PAlive) => Some(Order::PAlive),
        Some(SortKey::Tenure) => Some(Order::Tenure),
    };
    // One pass: count every match, keep only the page's.
    let mut total = 0usize;
    let mut page = Vec::with_capacity(limit);
    for i in s.ordered(order, q.desc.unwrap_or(false)).filter(|&i| {
        let t = s.tags[i];
        w_seg.is_none_or(|v| t.segment == v)
            && w_stage.is_none_or(|v| t.stage == v)
            && w_band.is_none_or(|v| t.band == v)
            && w_status.is_none_or(|v| t.status == v)
            && (!free || {
                let c = &s.customers[i];
                eq(&q.plan, c.plan.as_deref())
                    && eq(&q.channel, c.channel.as_deref())
                    && eq(&q.region, c.region.as_deref())
                    && needle
                        .as_deref()
                        .is_none_or(|n| c.id.to_lowercase().contains(n))
            })
    }) {
        if total >= offset && page.len() < limit {
            page.push(row(&s, &s.customers[i]));
        }
        total += 1;
    }
    Ok(Json(CustomerPage {
        basis: basis(&s),
        total,
        limit,
        offset,
        items: page,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Component {
    pub name: String,
    /// The input as a reader would say it, or why it is missing.
    pub input: String,
    /// Points earned (`null`: input missing, left out and the rest re-weighted).
    pub points: Option<f64>,
    pub max_points: f64,
}

#[derive(Serialize, ToSchema)]
pub struct RetentionPlan {
    pub channels: Vec<String>,
    pub cadence_days: u32,
    pub budget_per_year: String,
}

fn plan_out(p: &tenure_act::config::RetentionPlan) -> RetentionPlan {
    RetentionPlan {
        channels: p.channels.clone(),
        cadence_days: p.cadence.0,
        budget_per_year: p.budget_per_year.0.to_string(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Move {
    pub day: String,
    pub from: Option<String>,
    pub to: String,
    /// Stage moves: the day she entered the stage.
    pub since: Option<String>,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct GoalOut {
    pub id: i64,
    pub customer: String,
    pub title: String,
    pub owner: String,
    pub target_day: String,
    /// planned, on_track, at_risk, done, dropped.
    pub status: String,
    pub metric: Option<String>,
    pub target: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn goal_out(g: Goal) -> GoalOut {
    GoalOut {
        id: g.id,
        customer: g.customer_id,
        title: g.title,
        owner: g.owner,
        target_day: g.target_day,
        status: g.status.as_str().to_string(),
        metric: g.metric,
        target: g.target,
        note: g.note,
        created_at: g.created_at,
        updated_at: g.updated_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct Action {
    pub id: String,
    pub rule: String,
    pub customer: String,
    pub day: String,
    /// webhook, email, task, record.
    pub channel: String,
    pub target: String,
    /// pending, sending, delivered, dead, open, closed.
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    /// What is sent (webhooks, tasks: a Standard Webhooks envelope; emails: subject and body).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

fn action(o: OutboxItem) -> Action {
    Action {
        payload: serde_json::from_str(&o.payload).unwrap_or(serde_json::Value::String(o.payload)),
        id: o.id,
        rule: o.rule,
        customer: o.customer_id,
        day: o.day,
        channel: o.channel.as_str().to_string(),
        target: o.target,
        status: o.status.as_str().to_string(),
        attempts: o.attempts,
        next_attempt_at: o.next_attempt_at,
        last_error: o.last_error,
        created_at: o.created_at,
        delivered_at: o.delivered_at,
    }
}

/// Everything about one customer.
#[derive(Serialize, ToSchema)]
pub struct Customer360 {
    #[serde(flatten)]
    pub basis: Basis,
    pub customer: CustomerRow,
    /// How the future was predicted.
    pub method: String,
    pub segment_reason: String,
    pub retention_plan: RetentionPlan,
    pub stage_reason: String,
    pub days_in_stage: i32,
    pub stage_overdue: bool,
    pub referrals: u32,
    /// The score explained: points per component, out of 100.
    pub health_components: Vec<Component>,
    pub segment_history: Vec<Move>,
    pub stage_history: Vec<Move>,
    pub goals: Vec<GoalOut>,
    /// Playbook actions for her, newest first (at most 200).
    pub actions: Vec<Action>,
    /// Her realised value to `as_of`, by conduit and cost, month by month.
    pub ledger: CustomerLedger,
    /// Her invoice lines, subscription changes, feedback, support cases, payment events, CRM
    /// interactions and campaign touches, newest first (at most 200).
    pub timeline: Vec<Event>,
    /// Events in all (the timeline may show fewer).
    pub timeline_total: usize,
}

/// One customer's ledger (the `tenure report value --explain` figures).
#[derive(Serialize, ToSchema)]
pub struct CustomerLedger {
    pub totals: crate::reports::Ledger,
    /// The first month her cumulative profit reached 0 (`YYYY-MM`), and its number (the
    /// acquisition month is 1).
    pub breakeven_month: Option<String>,
    pub breakeven_after_months: Option<u32>,
    /// The month number by which contribution covered her acquisition cost.
    pub cac_payback_months: Option<u32>,
    pub months: Vec<LedgerMonthOut>,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerMonthOut {
    /// `YYYY-MM`.
    pub month: String,
    pub net_revenue: String,
    /// COGS, acquisition, retention and service costs of the month.
    pub costs: String,
    pub profit: String,
    pub cumulative_profit: String,
}

/// Something that happened to a customer.
#[derive(Serialize, ToSchema)]
pub struct Event {
    pub day: String,
    /// invoice, subscription_start, subscription_end, nps, csat, case_opened, case_closed,
    /// payment_<kind> (payment_failed, payment_dunning_started, …), interaction,
    /// campaign_touch.
    pub kind: String,
    pub text: String,
    /// Money of the event in its own currency (invoice lines, subscription amounts).
    pub amount: Option<String>,
    pub currency: Option<String>,
}

fn timeline(s: &Snapshot, c: tenure_store::dataset::CustomerIdx) -> Vec<Event> {
    let d = &s.data;
    let money = |minor: i64, cur: tenure_core::Currency| {
        tenure_reports::money::to_decimal(minor, cur).to_string()
    };
    let mut ev: Vec<Event> = Vec::new();
    for t in d.transactions_of(c) {
        ev.push(Event {
            day: day_text(t.day),
            kind: "invoice".into(),
            text: t.kind.as_str().to_string(),
            amount: Some(money(t.amount, t.currency)),
            currency: Some(t.currency.code().to_string()),
        });
    }
    for r in d.subscriptions_of(c) {
        let what = format!(
            "{} × {} seats, {} per {}",
            d.name(r.plan),
            r.seats,
            money(r.amount, r.currency),
            r.interval.as_str()
        );
        ev.push(Event {
            day: day_text(r.start),
            kind: "subscription_start".into(),
            text: what.clone(),
            amount: Some(money(r.amount, r.currency)),
            currency: Some(r.currency.code().to_string()),
        });
        if let Some(end) = r.end.filter(|&e| s.as_of.is_none_or(|a| e <= a)) {
            ev.push(Event {
                day: day_text(end),
                kind: "subscription_end".into(),
                text: format!("{what} ({})", r.status.as_str()),
                amount: None,
                currency: None,
            });
        }
    }
    for f in d.feedback_of(c) {
        ev.push(Event {
            day: day_text(f.day),
            kind: f.kind.as_str().to_string(),
            text: format!("score {}", f.score),
            amount: None,
            currency: None,
        });
    }
    let plain = |day, kind: &str, text: String| Event {
        day: day_text(day),
        kind: kind.to_string(),
        text,
        amount: None,
        currency: None,
    };
    for k in d.cases_of(c) {
        let mut what = format!("severity {}", k.severity);
        for v in [k.category, k.product].into_iter().flatten() {
            what += &format!(", {}", d.name(v));
        }
        if let Some(o) = k.owner {
            what += &format!(", owner {}", d.name(o));
        }
        if k.escalated {
            what += &match k.escalated_to {
                Some(to) => format!(", escalated to {}", d.name(to)),
                None => ", escalated".to_string(),
            };
        }
        ev.push(plain(
            k.day,
            "case_opened",
            format!("{what} ({})", k.status.as_str()),
        ));
        if let Some(closed) = k.closed {
            let rating = k
                .satisfaction
                .map_or(String::new(), |r| format!(", satisfaction {r}/5"));
            ev.push(plain(
                closed,
                "case_closed",
                format!("severity {} case {}{rating}", k.severity, k.status.as_str()),
            ));
        }
    }
    for p in d.payments_of(c) {
        ev.push(Event {
            day: day_text(p.day),
            kind: format!("payment_{}", p.kind.as_str()),
            text: p.kind.as_str().replace('_', " "),
            amount: p.amount.map(|a| money(a.units(), a.currency())),
            currency: p.amount.map(|a| a.currency().code().to_string()),
        });
    }
    for i in d.interactions_of(c) {
        let by = i
            .owner
            .map_or(String::new(), |o| format!(" by {}", d.name(o)));
        ev.push(plain(
            i.day,
            "interaction",
            format!("{}{by}", i.kind.as_str()),
        ));
    }
    for t in d.touches_of(c) {
        let name = d.campaigns.get(t.campaign as usize).map_or_else(
            || d.campaign_id(t.campaign).to_string(),
            |m| d.name(m.name).to_string(),
        );
        let mut what = format!("campaign {name}");
        for (flag, word) in [
            (t.opened, "opened"),
            (t.clicked, "clicked"),
            (t.replied, "replied"),
        ] {
            if flag {
                what += &format!(", {word}");
            }
        }
        ev.push(plain(t.day, "campaign_touch", what));
    }
    if let Some(a) = s.as_of.map(day_text) {
        ev.retain(|e| e.day <= a);
    }
    ev.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.kind.cmp(&b.kind)));
    ev
}

fn ledger_of(s: &Snapshot, c: tenure_store::dataset::CustomerIdx) -> CustomerLedger {
    use tenure_reports::value::{customer_ledger, Context};
    let ctx = Context::new(&s.data, &s.value_cfg, &s.allocations);
    let (v, months) = customer_ledger(&ctx, c, &mut tenure_reports::Excluded::default(), None);
    let m = |x: i64| s.money(x);
    CustomerLedger {
        totals: crate::reports::ledger_money(&|x| s.money(x), &v.totals),
        breakeven_month: v.breakeven.map(|b| b.to_string()),
        breakeven_after_months: v.breakeven_after_months,
        cac_payback_months: v.cac_payback_months,
        months: months
            .iter()
            .map(|lm| {
                let f = &lm.figures;
                LedgerMonthOut {
                    month: lm.month.to_string(),
                    net_revenue: m(f.net_revenue()),
                    costs: m(f.cogs + f.acquisition() + f.retention() + f.service()),
                    profit: m(f.profit()),
                    cumulative_profit: m(lm.cumulative_profit),
                }
            })
            .collect(),
    }
}

/// A customer 360: value, health explained, segment and plan, stage, histories, goals,
/// playbook actions.
#[utoipa::path(get, path = "/api/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "The customer id")),
    responses((status = 200, body = Customer360), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_customer(
    State(state): State<AppState>,
    _: Read,
    P(id): P<String>,
) -> Result<Json<Customer360>, ApiError> {
    let s = snap(&state);
    let Some(&i) = s.index.get(&id) else {
        return Err(ApiError::not_found(format!(
            "no customer `{id}` acquired by {}",
            s.as_of.map_or("now".into(), day_text)
        )));
    };
    let c = &s.customers[i];
    let who = id.clone();
    let (segs, stages, goals, actions) = state
        .with_store(move |store, _| {
            let e = ApiError::store;
            let segs = store.segment_history(Some(&who)).map_err(e)?;
            let stages = store.stage_history(Some(&who)).map_err(e)?;
            let goals = store.goals(Some(&who)).map_err(e)?;
            let actions = store.customer_outbox(&who, 200).map_err(e)?;
            Ok((segs, stages, goals, actions))
        })
        .await?;
    let cidx = s.customer_idx[i];
    let events = timeline(&s, cidx);
    let seg = Segment::ALL
        .get(s.tags[i].segment as usize)
        .copied()
        .unwrap_or(Segment::General);
    Ok(Json(Customer360 {
        basis: basis(&s),
        customer: row(&s, c),
        method: c.method.clone(),
        segment_reason: c.segment_reason.clone(),
        retention_plan: plan_out(seg.plan(&state.settings().config.segments)),
        stage_reason: c.stage_reason.clone(),
        days_in_stage: c.days_in_stage,
        stage_overdue: c.stage_overdue,
        referrals: c.referrals,
        health_components: c
            .components
            .iter()
            .map(|k| Component {
                name: k.name.to_string(),
                input: k.input.clone(),
                points: k.points,
                max_points: k.max_points,
            })
            .collect(),
        segment_history: segs
            .into_iter()
            .map(|m| Move {
                day: m.day,
                from: m.previous,
                to: m.segment,
                since: None,
                reason: m.reason,
            })
            .collect(),
        stage_history: stages
            .into_iter()
            .map(|m| Move {
                day: m.day,
                from: m.previous,
                to: m.stage,
                since: Some(m.since),
                reason: m.reason,
            })
            .collect(),
        goals: goals.into_iter().map(goal_out).collect(),
        actions: actions.into_iter().map(action).collect(),
        ledger: ledger_of(&s, cidx),
        timeline_total: events.len(),
        timeline: events.into_iter().take(200).collect(),
    }))
}

// ---------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct SegmentRow {
    /// key, potential_key, general, never_profitable.
    pub segment: String,
    pub customers: usize,
    pub realised_profit: String,
    pub predicted_future_profit: String,
    pub plan: RetentionPlan,
}

#[derive(Serialize, ToSchema)]
pub struct Segments {
    #[serde(flatten)]
    pub basis: Basis,
    /// The realised-profit amount that counts as high (`null`: no customer reaches it).
    pub high_realised: Option<String>,
    pub high_predicted: Option<String>,
    pub segments: Vec<SegmentRow>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// The quarter reviewed, `YYYY-Qn` (default: the quarter of the snapshot's day). A quarter
    /// wholly after the snapshot's day, or before the customer's acquisition, is 404.
    #[param(pattern = r"^[0-9]{4}-Q[1-4]$")]
    pub period: Option<String>,
    /// json (default): the figures; html: the printable page (`tenure review`).
    pub format: Option<ReviewFormatName>,
}

/// One account's value review (`tenure_act::review::Review`): goals, value received, support,
/// what was paid, the stage and what comes next. Its layout is the library's, serialised as is.
#[derive(Serialize)]
#[serde(transparent)]
pub struct ReviewOut(pub tenure_act::review::Review);

impl utoipa::PartialSchema for ReviewOut {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .description(Some(
                "The review's figures: customer, period, start, as_of, currency, acquired, tenure_days, realised_profit, future_profit, goals (with each metric's value, start value, target, progress and met), value, support, paid, engagement, lifecycle",
            ))
            .into()
    }
}

impl ToSchema for ReviewOut {}

/// A one-account value review for a quarterly business review, as `tenure review` makes it:
/// computed from the store's records (usage included) with the server's settings, up to the
/// snapshot's day.
#[utoipa::path(get, path = "/api/customers/{id}/review", tag = "customers",
    params(("id" = String, Path, description = "The customer id"), ReviewQuery),
    responses(
        (status = 200, content((ReviewOut = "application/json"), (String = "text/html"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn customer_review(
    State(state): State<AppState>,
    _: Read,
    P(id): P<String>,
    Q(q): Q<ReviewQuery>,
) -> Result<axum::response::Response, ApiError> {
    use tenure_act::review::{render_html, review, Quarter, ReviewError};
    let period = q
        .period
        .as_deref()
        .map(Quarter::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let s = snap(&state);
    let Some(as_of) = s.as_of else {
        return Err(ApiError::not_found(format!(
            "no customer `{id}`: the store holds no records"
        )));
    };
    if s.data.customer(&id).is_none() {
        return Err(ApiError::not_found(format!("no customer `{id}`")));
    }
    let period = period.unwrap_or_else(|| Quarter::of_day(as_of));
    let r = state
        .with_store(move |store, settings| {
            let data = store
                .load(&tenure_store::LoadOptions::all())
                .map_err(ApiError::store)?;
            let fx = (settings.fx)(&data).map_err(ApiError::invalid)?;
            let goals = store.goals(Some(&id)).map_err(ApiError::store)?;
            review(&data, &fx, &settings.config, &id, period, as_of, &goals).map_err(|e| match e {
                ReviewError::UnknownCustomer(_)
                | ReviewError::NotYetAcquired { .. }
                | ReviewError::AfterRecords { .. } => ApiError::not_found(e.to_string()),
                ReviewError::BadPeriod(_) => ApiError::bad_request(e.to_string()),
                ReviewError::Report(e) => ApiError::invalid(e.to_string()),
            })
        })
        .await?;
    Ok(match q.format {
        Some(ReviewFormatName::Html) => (
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            render_html(&r),
        )
            .into_response(),
        _ => Json(ReviewOut(r)).into_response(),
    })
}

/// CLV segments with their retention plans (as `tenure segments`).
#[utoipa::path(get, path = "/api/segments", tag = "decisions",
    responses((status = 200, body = Segments), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn segments(State(state): State<AppState>, _: Read) -> Json<Segments> {
    let s = snap(&state);
    let settings = state.settings();
    let cfg = &settings.config.segments;
    let th = |v: i64| (v != i64::MAX).then(|| s.money(v));
    Json(Segments {
        basis: basis(&s),
        high_realised: th(s.thresholds.0),
        high_predicted: th(s.thresholds.1),
        segments: s
            .totals
            .segments
            .iter()
            .map(|k| SegmentRow {
                segment: k.segment.as_str().to_string(),
                customers: k.customers,
                realised_profit: s.money(k.realised_profit),
                predicted_future_profit: s.money(k.future_profit),
                plan: plan_out(k.segment.plan(cfg)),
            })
            .collect(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct Stages {
    #[serde(flatten)]
    pub basis: Basis,
    pub funnel: Vec<FunnelStage>,
}

/// The lifecycle funnel Deliver → Develop → Retain → Grow (as `tenure stages`).
#[utoipa::path(get, path = "/api/stages", tag = "decisions",
    responses((status = 200, body = Stages), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn stages(State(state): State<AppState>, _: Read) -> Json<Stages> {
    let s = snap(&state);
    Json(Stages {
        basis: basis(&s),
        funnel: funnel_rows(&s),
    })
}

#[derive(Serialize, ToSchema)]
pub struct Advocates {
    #[serde(flatten)]
    pub basis: Basis,
    /// Ranked: NPS, health, referrals made, realised profit.
    pub advocates: Vec<CustomerRow>,
}

/// Advocacy candidates (as `tenure advocates`).
#[utoipa::path(get, path = "/api/advocates", tag = "decisions",
    responses((status = 200, body = Advocates), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn advocates_list(State(state): State<AppState>, _: Read) -> Json<Advocates> {
    let s = snap(&state);
    Json(Advocates {
        basis: basis(&s),
        advocates: s
            .advocates
            .iter()
            .map(|&i| row(&s, &s.customers[i]))
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------
// Account plans
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// Only this customer's goals.
    pub customer: Option<String>,
    /// At most this many (50, up to 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct Goals {
    /// Goals in all (all pages).
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    /// By customer, target day, id.
    pub goals: Vec<GoalOut>,
}

/// Account-plan goals (all, or one customer's).
#[utoipa::path(get, path = "/api/plans", tag = "plans", params(PlanQuery),
    responses((status = 200, body = Goals), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_plans(
    State(state): State<AppState>,
    _: Read,
    Q(q): Q<PlanQuery>,
) -> Result<Json<Goals>, ApiError> {
    let (limit, offset) = page_bounds(q.limit, q.offset)?;
    let goals = state
        .with_store(move |store, _| store.goals(q.customer.as_deref()).map_err(ApiError::store))
        .await?;
    Ok(Json(Goals {
        total: goals.len(),
        limit,
        offset,
        goals: goals
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(goal_out)
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGoalIn {
    #[schema(min_length = 1)]
    pub customer: String,
    #[schema(pattern = r"\S")]
    pub title: String,
    #[schema(pattern = r"\S")]
    pub owner: String,
    #[schema(format = Date)]
    pub target_day: String,
    /// planned (default).
    pub status: Option<GoalStatusName>,
    /// The linked metric, e.g. `health`, `mrr`, `usage:report_run`.
    pub metric: Option<String>,
    pub target: Option<String>,
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalPatch {
    #[schema(pattern = r"\S")]
    pub title: Option<String>,
    #[schema(pattern = r"\S")]
    pub owner: Option<String>,
    #[schema(format = Date)]
    pub target_day: Option<String>,
    pub status: Option<GoalStatusName>,
    pub metric: Option<String>,
    pub target: Option<String>,
    pub note: Option<String>,
}

fn check_day(what: &str, s: &str) -> Result<(), ApiError> {
    match day_of_text(s) {
        Some(d) if day_text(d) == s => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "{what}: `{s}` is not a day (YYYY-MM-DD)"
        ))),
    }
}

fn status_of(s: Option<GoalStatusName>) -> Result<Option<GoalStatus>, ApiError> {
    s.map(|s| {
        s.as_str()
            .parse()
            .map_err(|e: String| ApiError::invalid(format!("status: {e}")))
    })
    .transpose()
}

fn non_empty(what: &str, s: &Option<String>) -> Result<(), ApiError> {
    match s {
        Some(v) if v.trim().is_empty() => Err(ApiError::invalid(format!("{what}: empty"))),
        _ => Ok(()),
    }
}

/// Add a goal to a customer's account plan.
#[utoipa::path(post, path = "/api/plans", tag = "plans", request_body = NewGoalIn,
    responses((status = 201, body = GoalOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_plan(
    State(state): State<AppState>,
    _: Write,
    JsonBody(g): JsonBody<NewGoalIn>,
) -> Result<impl IntoResponse, ApiError> {
    check_day("target_day", &g.target_day)?;
    non_empty("title", &Some(g.title.clone()))?;
    non_empty("owner", &Some(g.owner.clone()))?;
    let new = NewGoal {
        customer_id: g.customer,
        title: g.title,
        owner: g.owner,
        target_day: g.target_day,
        status: status_of(g.status)?,
        metric: g.metric,
        target: g.target,
        note: g.note,
    };
    let goal = state
        .with_store(move |store, _| store.add_goal(&new, now_secs()).map_err(ApiError::store))
        .await?;
    Ok((StatusCode::CREATED, Json(goal_out(goal))))
}

/// Change a goal: only the fields given.
#[utoipa::path(patch, path = "/api/plans/{id}", tag = "plans", request_body = GoalPatch,
    params(("id" = i64, Path, description = "The goal id")),
    responses((status = 200, body = GoalOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_plan(
    State(state): State<AppState>,
    _: Write,
    P(id): P<i64>,
    JsonBody(p): JsonBody<GoalPatch>,
) -> Result<Json<GoalOut>, ApiError> {
    if let Some(d) = &p.target_day {
        check_day("target_day", d)?;
    }
    non_empty("title", &p.title)?;
    non_empty("owner", &p.owner)?;
    let u = GoalUpdate {
        title: p.title,
        owner: p.owner,
        target_day: p.target_day,
        status: status_of(p.status)?,
        metric: p.metric,
        target: p.target,
        note: p.note,
    };
    let goal = state
        .with_store(move |store, _| {
            store
                .update_goal(id, &u, now_secs())
                .map_err(ApiError::store)
        })
        .await?;
    Ok(Json(goal_out(goal)))
}

// ---------------------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    pub status: Option<OutboxStatusName>,
    /// Newest first, ties by id (50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct Outbox {
    /// Items per status.
    pub counts: Vec<Count>,
    /// Items of the status asked for (all when none), all pages.
    pub total: u64,
    pub limit: usize,
    pub offset: usize,
    pub items: Vec<Action>,
}

/// The playbook actions outbox: counts per status and the newest items.
#[utoipa::path(get, path = "/api/outbox", tag = "outbox", params(OutboxQuery),
    responses((status = 200, body = Outbox), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn outbox_list(
    State(state): State<AppState>,
    _: Read,
    Q(q): Q<OutboxQuery>,
) -> Result<Json<Outbox>, ApiError> {
    let (limit, offset) = page_bounds(q.limit, q.offset)?;
    let status: Option<OutboxStatus> = q
        .status
        .map(|s| {
            s.as_str()
                .parse()
                .map_err(|e: String| ApiError::bad_request(format!("status: {e}")))
        })
        .transpose()?;
    let (counts, items) = state
        .with_store(move |store, _| {
            let counts = store.outbox_counts().map_err(ApiError::store)?;
            let items = store
                .outbox(status, limit, offset)
                .map_err(ApiError::store)?;
            Ok((counts, items))
        })
        .await?;
    let total = counts
        .iter()
        .filter(|(k, _)| status.is_none_or(|s| s == *k))
        .map(|(_, n)| *n)
        .sum();
    Ok(Json(Outbox {
        total,
        limit,
        offset,
        counts: OutboxStatus::ALL
            .iter()
            .map(|s| Count {
                name: s.as_str().to_string(),
                customers: counts
                    .iter()
                    .find(|(k, _)| k == s)
                    .map_or(0, |(_, n)| *n as usize),
            })
            .collect(),
        items: items.into_iter().map(action).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Replayed {
    /// Items moved back to pending (0 or 1).
    pub replayed: u64,
}

/// Send a dead item again (back to pending, due now).
#[utoipa::path(post, path = "/api/outbox/{id}/replay", tag = "outbox",
    params(("id" = String, Path, description = "The outbox item id")),
    responses((status = 200, body = Replayed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn outbox_replay(
    State(state): State<AppState>,
    _: Write,
    P(id): P<String>,
) -> Result<Json<Replayed>, ApiError> {
    let who = id.clone();
    let n = state
        .with_store(move |store, _| {
            store
                .replay(Some(&who), now_secs())
                .map_err(ApiError::store)
        })
        .await?;
    if n == 0 {
        return Err(ApiError::not_found(format!("`{id}` is not a dead item")));
    }
    Ok(Json(Replayed { replayed: n }))
}

// ---------------------------------------------------------------------------------------
// Imports
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// csv (default).
    pub format: Option<FormatName>,
}

#[derive(Serialize, ToSchema)]
pub struct Imported {
    pub kind: String,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// File columns that name no schema column and were not read.
    pub ignored_columns: Vec<String>,
    /// The snapshot was recomputed with the new records.
    pub snapshot: SnapshotInfo,
}

/// Import records: the body is one file of the kind (CSV with a header, JSON lines or
/// Parquet), validated as `tenure import` does, all rows or none. A refused file answers 422
/// naming the line, column and reason, and the store is unchanged.
#[utoipa::path(post, path = "/api/imports/{kind}", tag = "imports",
    params(("kind" = KindName, Path, description = "The record kind"), ImportQuery),
    request_body(content = String, description = "The file's bytes", content_type = "text/csv"),
    responses((status = 200, body = Imported), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_records(
    State(state): State<AppState>,
    _: Ingest,
    P(kind): P<String>,
    Q(q): Q<ImportQuery>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Imported>, ApiError> {
    let body = body.map_err(|e| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("{} (the limit is {} MiB)", e.body_text(), BODY_LIMIT >> 20),
        )
    })?;
    let kind: RecordKind = RecordKind::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| ApiError::not_found(format!("`{kind}` is not a record kind")))?;
    let (format, ext) = match q.format {
        None | Some(FormatName::Csv) => (InputFormat::Csv, "csv"),
        Some(FormatName::Jsonl) => (InputFormat::Jsonl, "jsonl"),
        Some(FormatName::Parquet) => (InputFormat::Parquet, "parquet"),
    };
    let report = state
        .with_store(move |store, _| {
            let mut file = tempfile::Builder::new()
                .prefix("tenure-upload-")
                .suffix(&format!(".{ext}"))
                .tempfile()
                .map_err(|e| ApiError::internal(format!("a temporary file: {e}")))?;
            file.write_all(&body)
                .and_then(|_| file.flush())
                .map_err(|e| ApiError::internal(format!("a temporary file: {e}")))?;
            let opts = ImportOptions {
                format: Some(format),
                map: Vec::new(),
            };
            store
                .import(kind, file.path(), &opts, &mut |_| {})
                .map_err(|e| {
                    // Every reported row, then the summary; named as the upload, not the
                    // temporary file.
                    let mut msg = match &e {
                        tenure_store::ImportError::Rejected(r) => {
                            let mut l = r.lines();
                            l.push(r.to_string());
                            l.join("\n")
                        }
                        e => e.to_string(),
                    };
                    msg = msg.replace(
                        &file.path().display().to_string(),
                        &format!("upload ({})", kind.as_str()),
                    );
                    if e.is_bad_input() {
                        ApiError::invalid(msg)
                    } else {
                        ApiError::internal(msg)
                    }
                })
        })
        .await?;
    let s = state.refresh().await?;
    Ok(Json(Imported {
        kind: report.kind.as_str().to_string(),
        rows: report.rows,
        inserted: report.inserted,
        updated: report.updated,
        unchanged: report.unchanged,
        ignored_columns: report.ignored_columns,
        snapshot: snapshot_json(&s),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` is what serde writes and reads, for every value of every vocabulary.
    #[test]
    fn names_are_serdes() {
        fn check<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + Copy>(
            all: &[T],
            name: fn(T) -> &'static str,
        ) {
            for &v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), name(v), "{v:?}");
                let back: T = serde_json::from_value(name(v).into()).unwrap();
                assert_eq!(back, v);
            }
        }
        check(SegmentName::ALL, SegmentName::as_str);
        check(StageName::ALL, StageName::as_str);
        check(BandName::ALL, BandName::as_str);
        check(StatusName::ALL, StatusName::as_str);
        check(SortKey::ALL, SortKey::as_str);
        check(OutboxStatusName::ALL, OutboxStatusName::as_str);
        check(GoalStatusName::ALL, GoalStatusName::as_str);
        check(KindName::ALL, KindName::as_str);
        check(FormatName::ALL, FormatName::as_str);
        // And they are the library's names.
        let segs: Vec<&str> = Segment::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            SegmentName::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            segs
        );
        assert_eq!(
            StageName::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            tenure_act::playbooks::STAGES
        );
        let st: Vec<&str> = tenure_reports::status::Status::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            StatusName::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            st
        );
        let ob: Vec<&str> = OutboxStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            OutboxStatusName::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            ob
        );
        let gs: Vec<&str> = GoalStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            GoalStatusName::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            gs
        );
        assert_eq!(
            BandName::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            Tags::BANDS
        );
        for b in [
            tenure_act::Band::AtRisk,
            tenure_act::Band::Neutral,
            tenure_act::Band::Healthy,
        ] {
            assert!(Tags::BANDS.contains(&b.as_str()), "{b:?}");
        }
        let ks: Vec<&str> = RecordKind::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            KindName::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ks
        );
    }
}
