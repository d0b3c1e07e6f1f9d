//! `/api/fits`: a model fitted to the snapshot's purchase customers as a background job whose
//! progress can be polled.
//!
//! A job summarises each customer of its population (everyone, or only purchase customers —
//! those without subscriptions, whom the value report predicts with BG/NBD) to (x, t_x, T) in
//! weeks from her purchase days up to `end`, by the rules of `tenure summarize --db` (a day with
//! a line that is not a refund is a purchase day; its amount is the net of its lines; lines in
//! other currencies are converted at the snapshot's rates, or left out without one), then fits
//! by maximum likelihood (`tenure_models`, the optimiser of `tenure fit`). Gamma-Gamma fits the
//! mean spend of repeat purchases (minor units of the snapshot's currency).
//!
//! Invariants: jobs live in memory (the newest [`KEEP`]; a restart forgets them); a job reads
//! the snapshot it started on, so later imports do not change it; progress counts only go up.

use crate::api::{JsonBody, P};
use crate::auth::{Read, Write};
use crate::error::ErrorBody;
use crate::reports::{Filters, Scope};
use crate::snapshot::{day_text, Snapshot};
use crate::{now_secs, ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tenure_models::fit::{Fit, FitOptions};
use tenure_models::gammagamma::{SpendData, SpendRow};
use tenure_models::{bgnbd, gammagamma, mbgnbd, paretonbd};
use tenure_models::{Rfm, RfmRow};
use tenure_reports::predict::purchase_days;
use tenure_store::dataset::CustomerIdx;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Jobs kept (finished ones beyond this are forgotten, oldest first).
pub const KEEP: usize = 100;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_fits, start_fit))
        .routes(routes!(get_fit))
}

/// A purchase model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FitModel {
    Bgnbd,
    Paretonbd,
    Mbgnbd,
    Gammagamma,
}

/// Whom a fit summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Population {
    /// Every customer acquired by `end`.
    All,
    /// Customers without subscriptions.
    Purchase,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FitIn {
    pub model: FitModel,
    /// [default: all]
    pub population: Option<Population>,
    /// Last day observed, YYYY-MM-DD [default: the snapshot's `as_of`; later days are taken
    /// as it].
    #[schema(format = Date)]
    pub end: Option<String>,
    /// Only customers of this channel / plan / region.
    pub channel: Option<String>,
    pub plan: Option<String>,
    pub region: Option<String>,
}

const PHASES: [&str; 4] = ["summarising", "fitting", "done", "failed"];

/// One job's shared state: the phase and counts move forward while the job runs.
pub(crate) struct Job {
    id: u64,
    model: FitModel,
    population: Population,
    end: String,
    started_at: i64,
    phase: AtomicU8,
    customers_total: AtomicU64,
    customers_summarised: AtomicU64,
    outcome: Mutex<Option<(i64, Result<FitResult, String>)>>,
}

#[derive(Clone, Serialize, ToSchema)]
pub struct ParamOut {
    pub name: String,
    pub estimate: f64,
    /// From the observed information (Hessian), delta method to θ; `null` where it cannot be
    /// computed (a singular information matrix, a parameter at its bound).
    pub std_error: Option<f64>,
}

#[derive(Clone, Serialize, ToSchema)]
pub struct FitResult {
    /// Rates are per week (x, t_x and T were in weeks); Gamma-Gamma's scale is in minor units.
    pub time_unit: String,
    pub parameters: Vec<ParamOut>,
    /// `null` only if not finite.
    pub log_likelihood: Option<f64>,
    pub aic: Option<f64>,
    pub bic: Option<f64>,
    /// Customers (rows) fitted.
    pub n: f64,
    pub converged: bool,
    pub optimiser: String,
}

#[derive(Serialize, ToSchema)]
pub struct Progress {
    /// summarising, fitting, done or failed.
    pub phase: String,
    /// Customers to summarise, and how many are done.
    pub customers_total: u64,
    pub customers_summarised: u64,
}

#[derive(Serialize, ToSchema)]
pub struct FitJob {
    pub id: u64,
    pub model: FitModel,
    pub population: Population,
    pub end: String,
    /// queued jobs do not exist: a job runs from its start. running, done or failed.
    pub status: String,
    pub progress: Progress,
    /// Unix seconds.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
    pub result: Option<FitResult>,
}

impl Job {
    fn view(&self) -> FitJob {
        let phase = PHASES[usize::from(self.phase.load(Ordering::Acquire)).min(3)];
        let outcome = match self.outcome.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let (finished_at, error, result) = match outcome {
            None => (None, None, None),
            Some((t, Ok(r))) => (Some(t), None, Some(r)),
            Some((t, Err(e))) => (Some(t), Some(e), None),
        };
        FitJob {
            id: self.id,
            model: self.model,
            population: self.population,
            end: self.end.clone(),
            status: match phase {
                "done" => "done",
                "failed" => "failed",
                _ => "running",
            }
            .to_string(),
            progress: Progress {
                phase: phase.to_string(),
                customers_total: self.customers_total.load(Ordering::Acquire),
                customers_summarised: self.customers_summarised.load(Ordering::Acquire),
            },
            started_at: self.started_at,
            finished_at,
            error,
            result,
        }
    }
}

/// The server's jobs, newest last.
#[derive(Default)]
pub(crate) struct Jobs {
    list: Mutex<Vec<Arc<Job>>>,
    next: AtomicU64,
}

impl Jobs {
    fn all(&self) -> Vec<Arc<Job>> {
        match self.list.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
    fn add(&self, job: Arc<Job>) {
        let mut g = match self.list.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.push(job);
        while g.len() > KEEP {
            match g.iter().position(|j| j.phase.load(Ordering::Acquire) >= 2) {
                Some(i) => {
                    g.remove(i);
                }
                None => break,
            }
        }
    }
}

/// JSON has no NaN or infinity (serde_json would write `null` where the schema says number).
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn fit_out(fit: &Fit, unit: &str) -> FitResult {
    FitResult {
        time_unit: unit.to_string(),
        parameters: fit
            .names
            .iter()
            .zip(&fit.params)
            .zip(&fit.standard_errors)
            .map(|((n, e), s)| ParamOut {
                name: n.to_string(),
                estimate: *e,
                std_error: finite(*s),
            })
            .collect(),
        log_likelihood: finite(fit.log_likelihood),
        aic: finite(fit.aic),
        bic: finite(fit.bic),
        n: fit.n,
        converged: fit.converged,
        optimiser: fit.method.to_string(),
    }
}

/// Summarise and fit; the job's counts move as it goes.
fn run(
    job: &Job,
    snap: &Snapshot,
    customers: &[CustomerIdx],
    end: tenure_store::dataset::Day,
) -> Result<FitResult, String> {
    let data = &snap.data;
    let mut rows: Vec<RfmRow> = Vec::new();
    let mut spend: Vec<SpendRow> = Vec::new();
    for &c in customers {
        let days = purchase_days(data, &snap.fx, c, end);
        job.customers_summarised.fetch_add(1, Ordering::AcqRel);
        let Some(first) = days.first() else { continue };
        let t = f64::from(end - first.0) / 7.0;
        if !(t > 0.0) {
            continue;
        }
        let x = (days.len() - 1) as f64;
        let t_x = f64::from(days[days.len() - 1].0 - first.0) / 7.0;
        rows.push(RfmRow { x, t_x, t });
        if days.len() > 1 {
            let sum: i64 = days[1..].iter().map(|d| d.1).sum();
            let mean = sum as f64 / (days.len() - 1) as f64;
            if mean > 0.0 {
                spend.push(SpendRow {
                    x,
                    mean_spend: mean,
                });
            }
        }
    }
    job.phase.store(1, Ordering::Release);
    let opts = FitOptions::default();
    let e = |e: tenure_models::ModelError| e.to_string();
    if job.model == FitModel::Gammagamma {
        let sd = SpendData::new(&spend).map_err(|e| e.to_string())?;
        let (_, fit) = gammagamma::fit_gammagamma(&sd, &opts).map_err(e)?;
        return Ok(fit_out(&fit, "minor units of spend"));
    }
    let rfm = Rfm::new(&rows).map_err(|e| e.to_string())?;
    let fit = match job.model {
        FitModel::Bgnbd => bgnbd::fit_bgnbd(&rfm, &opts).map_err(e)?.1,
        FitModel::Paretonbd => paretonbd::fit_paretonbd(&rfm, &opts).map_err(e)?.1,
        _ => mbgnbd::fit_mbgnbd(&rfm, &opts).map_err(e)?.1,
    };
    if fit.params.iter().any(|p| !p.is_finite()) {
        return Err(format!(
            "the fit did not converge to finite parameters: {:?}",
            fit.params
        ));
    }
    Ok(fit_out(&fit, "weeks"))
}

/// Start fitting a purchase model to the snapshot's customers; poll
/// `GET /api/fits/{id}` for progress and the result.
#[utoipa::path(post, path = "/api/fits", tag = "fits", request_body = FitIn,
    responses((status = 202, body = FitJob), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_fit(
    State(state): State<AppState>,
    _: Write,
    JsonBody(body): JsonBody<FitIn>,
) -> Result<impl IntoResponse, ApiError> {
    let population = body.population.unwrap_or(Population::All);
    let filters = Filters {
        end: body.end.clone(),
        channel: body.channel.clone(),
        plan: body.plan.clone(),
        region: body.region.clone(),
        segment: None,
        stage: None,
    };
    let sc = Scope::new(state.snapshot(), &filters)?;
    let (snap, end) = (sc.snap.clone(), sc.end);
    let data = &snap.data;
    let customers: Vec<CustomerIdx> = (0..data.len() as CustomerIdx)
        .filter(|&c| {
            data.customers[c as usize].acquired <= end
                && (population == Population::All || data.subscriptions_of(c).is_empty())
                && sc.matches(c)
        })
        .collect();
    drop(sc);
    let jobs = state.jobs();
    let job = Arc::new(Job {
        id: jobs.next.fetch_add(1, Ordering::AcqRel) + 1,
        model: body.model,
        population,
        end: day_text(end),
        started_at: now_secs(),
        phase: AtomicU8::new(0),
        customers_total: AtomicU64::new(customers.len() as u64),
        customers_summarised: AtomicU64::new(0),
        outcome: Mutex::new(None),
    });
    jobs.add(job.clone());
    let j = job.clone();
    tokio::task::spawn_blocking(move || {
        let r = run(&j, &snap, &customers, end);
        let failed = r.is_err();
        match j.outcome.lock() {
            Ok(mut g) => *g = Some((now_secs(), r)),
            Err(p) => *p.into_inner() = Some((now_secs(), r)),
        }
        j.phase.store(if failed { 3 } else { 2 }, Ordering::Release);
    });
    Ok((StatusCode::ACCEPTED, Json(job.view())))
}

#[derive(Serialize, ToSchema)]
pub struct FitJobs {
    /// Newest first.
    pub jobs: Vec<FitJob>,
}

/// The fit jobs the server remembers, newest first.
#[utoipa::path(get, path = "/api/fits", tag = "fits",
    responses((status = 200, body = FitJobs), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_fits(State(state): State<AppState>, _: Read) -> Json<FitJobs> {
    Json(FitJobs {
        jobs: state.jobs().all().iter().rev().map(|j| j.view()).collect(),
    })
}

/// One fit job: its progress, and its parameters once done.
#[utoipa::path(get, path = "/api/fits/{id}", tag = "fits",
    params(("id" = u64, Path, description = "The job id")),
    responses((status = 200, body = FitJob), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_fit(
    State(state): State<AppState>,
    _: Read,
    P(id): P<u64>,
) -> Result<Json<FitJob>, ApiError> {
    state
        .jobs()
        .all()
        .iter()
        .find(|j| j.id == id)
        .map(|j| Json(j.view()))
        .ok_or_else(|| ApiError::not_found(format!("there is no fit job {id}")))
}
