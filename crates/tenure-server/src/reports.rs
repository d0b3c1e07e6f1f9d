//! `/api/reports/…`: the value, retention, cohort, MRR, survival and campaign-effect reports of
//! `tenure report`, and the model check of `tenure validate`, computed on request from the
//! snapshot's records.
//!
//! Every report takes `end` (the last day observed, inclusive; default and maximum the
//! snapshot's `as_of`, a later day being taken as it) and the same filters: customer attributes (`channel`, `plan`, `region`)
//! and the snapshot's decisions (`segment`, `stage`). Filters combine with *and*; a report of
//! no matching customer is empty, not an error. The computation runs off the async threads.
//!
//! Money is exact decimal strings of the snapshot's currency; MRR figures, kept internally in
//! twelfths of a minor unit, are rounded half away from zero to the minor unit one by one (so
//! a period's movements can differ from `closing − opening` by a minor unit or two).

use crate::api::{Basis, IntervalName, SegmentName, StageName, Q};
use crate::auth::Read;
use crate::error::ErrorBody;
use crate::snapshot::{day_text, Snapshot, Tags};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tenure_reports::calendar::{add_months, Interval};
use tenure_reports::money::div_round;
use tenure_reports::mrr::MrrMonth;
use tenure_reports::retention::{cohort_report, retention_report, CohortRow, RetentionRow};
use tenure_reports::survival::{survival_report, Spells};
use tenure_reports::value::{value_report, Figures, ValueConfig};
use tenure_reports::{mrr_report, GroupBy, Grouping};
use tenure_store::dataset::{day_of_text, Day};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_mrr))
        .routes(routes!(report_cohorts))
        .routes(routes!(report_retention))
        .routes(routes!(report_survival))
        .routes(routes!(report_value))
        .routes(routes!(report_validation))
        .routes(routes!(report_campaigns))
}

/// The filters every report takes, and `end`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filters {
    /// Last day observed, YYYY-MM-DD, inclusive [default: the snapshot's `as_of`; a later day
    /// is taken as `as_of`, the latest a report can observe].
    #[param(format = Date)]
    pub end: Option<String>,
    /// Only customers of this acquisition channel.
    pub channel: Option<String>,
    /// Only customers on this plan.
    pub plan: Option<String>,
    /// Only customers of this region.
    pub region: Option<String>,
    /// Only customers in this CLV segment (the snapshot's).
    pub segment: Option<SegmentName>,
    /// Only customers in this lifecycle stage (the snapshot's).
    pub stage: Option<StageName>,
}

/// A report's period length.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day shown, YYYY-MM-DD: periods (MRR) or cohorts ending before it are left out
    /// [default: from the first].
    #[param(format = Date)]
    pub start: Option<String>,
    /// `month` (default) or `quarter`.
    pub interval: Option<IntervalName>,
}

/// Which customers a report covers and the day it ends.
pub(crate) struct Scope {
    pub(crate) snap: Arc<Snapshot>,
    pub(crate) end: Day,
    /// `Grouping` with one group `match` when filtered; every customer otherwise.
    pub(crate) grouping: Grouping,
    pub(crate) filtered: bool,
    /// Customers acquired by `end` who match.
    customers: u64,
}

impl Scope {
    pub(crate) fn new(snap: Arc<Snapshot>, f: &Filters) -> Result<Scope, ApiError> {
        let Some(as_of) = snap.as_of else {
            return Err(ApiError::invalid(
                "the store holds no records yet: import some first",
            ));
        };
        let end = match &f.end {
            None => as_of,
            Some(s) => day(s, "end")?.min(as_of),
        };
        let data = &snap.data;
        let filtered = f.channel.is_some()
            || f.plan.is_some()
            || f.region.is_some()
            || f.segment.is_some()
            || f.stage.is_some();
        let name = |n: Option<tenure_store::dataset::NameId>| n.map(|n| data.names.name(n));
        let segment = f.segment.map(|s| Tags::segment_of(s.as_str()));
        let stage = f.stage.map(|s| Tags::stage_of(s.as_str()));
        let mut customers = 0;
        let labels: Vec<Option<String>> = data
            .customers
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let pos = snap.position[c];
                let tags = snap.tags.get(pos as usize);
                let ok = (f.channel.is_none() || name(row.channel) == f.channel.as_deref())
                    && (f.plan.is_none() || name(row.plan) == f.plan.as_deref())
                    && (f.region.is_none() || name(row.region) == f.region.as_deref())
                    && segment.is_none_or(|s| tags.is_some_and(|t| t.segment == s))
                    && stage.is_none_or(|s| tags.is_some_and(|t| t.stage == s));
                if ok && row.acquired <= end {
                    customers += 1;
                }
                ok.then(|| "match".to_string())
            })
            .collect();
        let grouping = match filtered {
            true => Grouping::custom("filter", labels),
            false => Grouping::new(data, GroupBy::All),
        };
        Ok(Scope {
            snap,
            end,
            grouping,
            filtered,
            customers,
        })
    }

    /// Whether customer `c` of the snapshot's records matches the filters.
    pub(crate) fn matches(&self, c: tenure_store::dataset::CustomerIdx) -> bool {
        !self.filtered || self.grouping.group(c).is_some()
    }

    /// The filtered group's rows of a report with a total and per-group rows.
    fn pick<T: Clone>(&self, total: T, groups: Vec<T>, empty: T) -> T {
        match self.filtered {
            false => total,
            true => groups.into_iter().next().unwrap_or(empty),
        }
    }

    fn basis(&self) -> ReportBasis {
        ReportBasis {
            basis: crate::api::basis(&self.snap),
            end: day_text(self.end),
            customers: self.customers,
        }
    }

    fn money(&self, minor: i64) -> String {
        self.snap.money(minor)
    }

    /// Twelfths of a minor unit as money rounded to the minor unit.
    fn twelfths(&self, t: i64) -> String {
        self.money(div_round(i128::from(t), 12).unwrap_or(0))
    }
}

fn day(s: &str, what: &str) -> Result<Day, ApiError> {
    day_of_text(s).ok_or_else(|| {
        ApiError::bad_request(format!("{what} {s:?}: not a calendar day (YYYY-MM-DD)"))
    })
}

fn interval(i: Option<IntervalName>) -> Interval {
    match i {
        Some(IntervalName::Quarter) => Interval::Quarter,
        _ => Interval::Month,
    }
}

async fn compute<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(Arc<Snapshot>) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let snap = state.snapshot();
    tokio::task::spawn_blocking(move || f(snap))
        .await
        .map_err(|e| ApiError::internal(format!("a report task failed: {e}")))?
}

/// What every report says about itself.
#[derive(Serialize, ToSchema)]
pub struct ReportBasis {
    #[serde(flatten)]
    pub basis: Basis,
    /// The last day observed.
    pub end: String,
    /// Customers acquired by `end` who match the filters.
    pub customers: u64,
}

// ---------------------------------------------------------------------------------------
// MRR movements
// ---------------------------------------------------------------------------------------

/// One period's MRR movements: `closing = opening + new + expansion + reactivation −
/// contraction − churn` (up to the rounding of each figure to the minor unit).
#[derive(Serialize, ToSchema)]
pub struct MrrPeriod {
    /// `2025-03` or `2025-Q1`.
    pub period: String,
    pub first_day: String,
    /// The period's last day, or `end` for the period holding it.
    pub last_day: String,
    pub opening: String,
    pub new: String,
    pub expansion: String,
    pub contraction: String,
    pub churn: String,
    pub reactivation: String,
    pub closing: String,
    /// 12 × closing MRR.
    pub arr: String,
    pub customers_opening: u64,
    pub customers_closing: u64,
    pub new_customers: u64,
    pub reactivated_customers: u64,
    pub churned_customers: u64,
    pub seats_closing: u64,
}

#[derive(Serialize, ToSchema)]
pub struct MrrOut {
    #[serde(flatten)]
    pub basis: ReportBasis,
    /// month or quarter.
    pub interval: String,
    pub periods: Vec<MrrPeriod>,
}

/// MRR movements per month or quarter (new, expansion, contraction, churn, reactivation),
/// with ARR and paying customers.
#[utoipa::path(get, path = "/api/reports/mrr", tag = "reports",
    params(Filters, PeriodQuery),
    responses((status = 200, body = MrrOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_mrr(
    State(state): State<AppState>,
    _: Read,
    Q(f): Q<Filters>,
    Q(p): Q<PeriodQuery>,
) -> Result<Json<MrrOut>, ApiError> {
    compute(&state, move |snap| {
        let sc = Scope::new(snap, &f)?;
        let start = p.start.as_deref().map(|s| day(s, "start")).transpose()?;
        let iv = interval(p.interval);
        let r = mrr_report(&sc.snap.data, &sc.snap.fx, sc.end, &sc.grouping);
        let months = sc
            .pick(
                Some(r.total),
                r.groups.into_iter().map(Some).collect(),
                None,
            )
            .map(|s| s.months)
            .unwrap_or_default();
        // Fold months into periods: opening of the first, closing of the last, flows summed.
        let mut periods: Vec<(tenure_reports::calendar::Period, MrrMonth)> = Vec::new();
        for m in months {
            let Some(month) = m.month else { continue };
            let key = iv.period_of(month.first_day());
            match periods.last_mut() {
                Some((k, acc)) if *k == key => {
                    acc.new += m.new;
                    acc.expansion += m.expansion;
                    acc.contraction += m.contraction;
                    acc.churn += m.churn;
                    acc.reactivation += m.reactivation;
                    acc.new_customers += m.new_customers;
                    acc.reactivated_customers += m.reactivated_customers;
                    acc.churned_customers += m.churned_customers;
                    acc.closing = m.closing;
                    acc.customers_closing = m.customers_closing;
                    acc.seats_closing = m.seats_closing;
                }
                _ => periods.push((key, m)),
            }
        }
        let periods = periods
            .into_iter()
            .filter(|(k, _)| start.is_none_or(|s| k.last_day() >= s))
            .map(|(k, m)| MrrPeriod {
                period: k.to_string(),
                first_day: day_text(k.first_day()),
                last_day: day_text(k.last_day().min(sc.end)),
                opening: sc.twelfths(m.opening),
                new: sc.twelfths(m.new),
                expansion: sc.twelfths(m.expansion),
                contraction: sc.twelfths(m.contraction),
                churn: sc.twelfths(m.churn),
                reactivation: sc.twelfths(m.reactivation),
                closing: sc.twelfths(m.closing),
                arr: sc.money(m.arr_minor()),
                customers_opening: m.customers_opening,
                customers_closing: m.customers_closing,
                new_customers: m.new_customers,
                reactivated_customers: m.reactivated_customers,
                churned_customers: m.churned_customers,
                seats_closing: m.seats_closing,
            })
            .collect();
        Ok(Json(MrrOut {
            basis: sc.basis(),
            interval: iv_name(iv).to_string(),
            periods,
        }))
    })
    .await
}

fn iv_name(i: Interval) -> &'static str {
    match i {
        Interval::Month => "month",
        Interval::Quarter => "quarter",
    }
}

// ---------------------------------------------------------------------------------------
// Cohorts
// ---------------------------------------------------------------------------------------

/// A cohort at the end of its k-th period (k = 0: the period of acquisition).
#[derive(Serialize, ToSchema)]
pub struct CohortCellOut {
    pub period: u32,
    /// Customers retained: paying MRR (subscribers) or with a purchase in the period.
    pub retained: u64,
    /// retained / cohort customers.
    pub logo: Option<f64>,
    /// Σ MRR / Σ starting MRR of the cohort's subscribers.
    pub nrr: Option<f64>,
    /// Σ min(MRR, starting MRR) / Σ starting MRR.
    pub grr: Option<f64>,
    /// Seats / starting seats.
    pub seats: Option<f64>,
    pub mrr: String,
}

#[derive(Serialize, ToSchema)]
pub struct CohortOut {
    /// `2025-03` or `2025-Q1`: when its customers were acquired.
    pub cohort: String,
    pub customers: u64,
    pub subscribers: u64,
    pub starting_mrr: String,
    pub starting_seats: u64,
    pub cells: Vec<CohortCellOut>,
}

#[derive(Serialize, ToSchema)]
pub struct CohortsOut {
    #[serde(flatten)]
    pub basis: ReportBasis,
    pub interval: String,
    pub cohorts: Vec<CohortOut>,
}

fn cohort_out(sc: &Scope, r: &CohortRow) -> CohortOut {
    CohortOut {
        cohort: r.cohort.to_string(),
        customers: r.customers,
        subscribers: r.subscribers,
        starting_mrr: sc.twelfths(r.starting_mrr),
        starting_seats: r.starting_seats,
        cells: r
            .cells
            .iter()
            .enumerate()
            .map(|(k, c)| CohortCellOut {
                period: c.period,
                retained: c.retained,
                logo: r.logo(k),
                nrr: r.nrr(k),
                grr: r.grr(k),
                seats: r.seats(k),
                mrr: sc.twelfths(c.mrr),
            })
            .collect(),
    }
}

/// Retention by acquisition cohort: for each cohort and each period since, customers, revenue
/// (net and gross) and seats retained — the heatmap.
#[utoipa::path(get, path = "/api/reports/cohorts", tag = "reports",
    params(Filters, PeriodQuery),
    responses((status = 200, body = CohortsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_cohorts(
    State(state): State<AppState>,
    _: Read,
    Q(f): Q<Filters>,
    Q(p): Q<PeriodQuery>,
) -> Result<Json<CohortsOut>, ApiError> {
    compute(&state, move |snap| {
        let sc = Scope::new(snap, &f)?;
        let start = p.start.as_deref().map(|s| day(s, "start")).transpose()?;
        let iv = interval(p.interval);
        let r = cohort_report(&sc.snap.data, &sc.snap.fx, sc.end, iv, &sc.grouping)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let rows = sc.pick(
            r.total,
            r.groups.into_iter().map(|(_, rows)| rows).collect(),
            Vec::new(),
        );
        let cohorts = rows
            .iter()
            .filter(|r| start.is_none_or(|s| r.cohort.last_day() >= s))
            .map(|r| cohort_out(&sc, r))
            .collect();
        Ok(Json(CohortsOut {
            basis: sc.basis(),
            interval: iv_name(iv).to_string(),
            cohorts,
        }))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Trailing-window retention
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// The window before `end`, months: 1 to 120 [default: 12].
    #[param(minimum = 1, maximum = 120)]
    pub months: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RetentionOut {
    #[serde(flatten)]
    pub basis: ReportBasis,
    /// The window's first day (`end` minus `months`).
    pub start: String,
    pub months: u32,
    /// Customers paying MRR on `start`, and how many still pay on `end`.
    pub customers_start: u64,
    pub customers_retained: u64,
    pub mrr_start: String,
    /// Their MRR on `end` (customers new in the window excluded).
    pub mrr_end: String,
    pub seats_start: u64,
    pub seats_end: u64,
    pub logo: Option<f64>,
    pub grr: Option<f64>,
    pub nrr: Option<f64>,
    pub seats: Option<f64>,
}

/// Logo, gross and net revenue and seat retention over a trailing window.
#[utoipa::path(get, path = "/api/reports/retention", tag = "reports",
    params(Filters, WindowQuery),
    responses((status = 200, body = RetentionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_retention(
    State(state): State<AppState>,
    _: Read,
    Q(f): Q<Filters>,
    Q(w): Q<WindowQuery>,
) -> Result<Json<RetentionOut>, ApiError> {
    let months = w.months.unwrap_or(12);
    if !(1..=120).contains(&months) {
        return Err(ApiError::bad_request("months: 1 to 120"));
    }
    compute(&state, move |snap| {
        let sc = Scope::new(snap, &f)?;
        let r = retention_report(&sc.snap.data, &sc.snap.fx, sc.end, months, &sc.grouping)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let empty = RetentionRow {
            label: "match".into(),
            customers_start: 0,
            customers_retained: 0,
            mrr_start: 0,
            mrr_end: 0,
            mrr_end_capped: 0,
            seats_start: 0,
            seats_end: 0,
        };
        let row = sc.pick(r.total, r.groups, empty);
        Ok(Json(RetentionOut {
            basis: sc.basis(),
            start: day_text(add_months(sc.end, -(months as i32))),
            months,
            customers_start: row.customers_start,
            customers_retained: row.customers_retained,
            mrr_start: sc.twelfths(row.mrr_start),
            mrr_end: sc.twelfths(row.mrr_end),
            seats_start: row.seats_start,
            seats_end: row.seats_end,
            logo: row.logo(),
            grr: row.grr(),
            nrr: row.nrr(),
            seats: row.seats(),
        }))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Survival
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpellsName {
    /// Each customer's first subscription.
    First,
    /// Every subscription chain.
    All,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurvivalQuery {
    /// `first` (default) or `all`.
    pub spells: Option<SpellsName>,
    /// Confidence level of the band and the median's interval, in (0, 1) [default: 0.95].
    #[param(exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    pub level: Option<f64>,
}

/// S(t) at one point of the Kaplan–Meier timeline.
#[derive(Serialize, ToSchema)]
pub struct SurvivalPoint {
    pub days: u32,
    pub at_risk: u64,
    pub events: u64,
    pub censored: u64,
    pub survival: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Serialize, ToSchema)]
pub struct SurvivalOut {
    #[serde(flatten)]
    pub basis: ReportBasis,
    pub spells: String,
    pub level: f64,
    /// Subscriptions observed and how many ended.
    pub observations: u64,
    pub events: u64,
    /// Median tenure, days, with its interval (`null`: not reached).
    pub median_days: Option<u32>,
    pub median_lower_days: Option<u32>,
    pub median_upper_days: Option<u32>,
    pub points: Vec<SurvivalPoint>,
}

/// Kaplan–Meier survival of subscription tenure, days, with an exponential Greenwood band.
#[utoipa::path(get, path = "/api/reports/survival", tag = "reports",
    params(Filters, SurvivalQuery),
    responses((status = 200, body = SurvivalOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_survival(
    State(state): State<AppState>,
    _: Read,
    Q(f): Q<Filters>,
    Q(q): Q<SurvivalQuery>,
) -> Result<Json<SurvivalOut>, ApiError> {
    let level = q.level.unwrap_or(0.95);
    if !(level > 0.0 && level < 1.0) {
        return Err(ApiError::bad_request("level: between 0 and 1"));
    }
    let spells = q.spells.unwrap_or(SpellsName::First);
    compute(&state, move |snap| {
        let sc = Scope::new(snap, &f)?;
        let which = match spells {
            SpellsName::First => Spells::First,
            SpellsName::All => Spells::All,
        };
        let r = survival_report(&sc.snap.data, sc.end, which, &sc.grouping, level)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let g = match sc.filtered {
            false => Some(r.total),
            true => r.groups.into_iter().next(),
        };
        let km = g.map(|g| g.km);
        Ok(Json(SurvivalOut {
            basis: sc.basis(),
            spells: match spells {
                SpellsName::First => "first",
                SpellsName::All => "all",
            }
            .to_string(),
            level,
            observations: km.as_ref().map_or(0, |k| k.observations),
            events: km.as_ref().map_or(0, |k| k.events),
            median_days: km.as_ref().and_then(|k| k.median),
            median_lower_days: km.as_ref().and_then(|k| k.median_lower),
            median_upper_days: km.as_ref().and_then(|k| k.median_upper),
            points: km
                .map(|k| {
                    k.points
                        .iter()
                        .map(|p| SurvivalPoint {
                            days: p.time,
                            at_risk: p.at_risk,
                            events: p.events,
                            censored: p.censored,
                            survival: p.survival,
                            lower: p.lower,
                            upper: p.upper,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Value
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValueQuery {
    /// Bars of each distribution: 2 to 100 [default: 20].
    #[param(minimum = 2, maximum = 100)]
    pub bins: Option<usize>,
}

/// The ledger of the matching customers to `end` (minor units as decimal strings; costs
/// positive).
#[derive(Serialize, ToSchema)]
pub struct Ledger {
    pub new: String,
    pub upsell: String,
    pub expansion: String,
    pub renewal: String,
    pub change_order: String,
    pub one_off: String,
    /// ≤ 0.
    pub refund: String,
    pub net_revenue: String,
    pub referral_credit: String,
    pub cogs: String,
    pub acquisition: String,
    pub retention: String,
    pub service: String,
    pub profit: String,
}

/// One bar: customers with `lower ≤ value < upper` (`null`: unbounded; the last bar includes
/// its upper edge).
#[derive(Serialize, ToSchema)]
pub struct Bin {
    pub lower: Option<String>,
    pub upper: Option<String>,
    pub customers: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ValueOut {
    #[serde(flatten)]
    pub basis: ReportBasis,
    pub ledger: Ledger,
    /// Customers whose cumulative profit has reached 0, and whose acquisition cost is paid
    /// back; the median payback, months.
    pub broken_even: u64,
    pub paid_back: u64,
    pub median_payback_months: Option<u32>,
    /// Realised profit per customer to `end`.
    pub realised: Vec<Bin>,
    /// Realised plus predicted future profit per customer, at the snapshot's `as_of` (only
    /// when `end` is that day; customers without a prediction count their realised profit).
    pub lifetime: Vec<Bin>,
}

/// Bars between the 1st and 99th percentiles, the first and last open-ended when values lie
/// beyond (so one outlier does not flatten the chart). Invariant: the counts sum to `v.len()`.
pub(crate) fn histogram(mut v: Vec<i64>, bins: usize) -> Vec<(Option<i64>, Option<i64>, u64)> {
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_unstable();
    let n = v.len();
    let q = |p: f64| v[((n - 1) as f64 * p).round() as usize];
    let (min, max) = (v[0], v[n - 1]);
    let (lo, hi) = (q(0.01), q(0.99));
    if lo == hi {
        return vec![(Some(min), Some(max), n as u64)];
    }
    let width = ((i128::from(hi) - i128::from(lo)) + bins as i128 - 1) / bins as i128;
    let width = width.max(1);
    let edge = |k: usize| (i128::from(lo) + width * k as i128).min(i128::from(i64::MAX)) as i64;
    let mut counts = vec![0u64; bins];
    for &x in &v {
        let k = ((i128::from(x) - i128::from(lo)).div_euclid(width)).clamp(0, bins as i128 - 1);
        counts[k as usize] += 1;
    }
    (0..bins)
        .map(|k| {
            let lower = if k == 0 && min < lo {
                None
            } else {
                Some(edge(k))
            };
            let upper = if k == bins - 1 && max > edge(bins) {
                None
            } else {
                Some(edge(k + 1))
            };
            (lower, upper, counts[k])
        })
        .collect()
}

fn ledger(sc: &Scope, t: &Figures) -> Ledger {
    ledger_money(&|x| sc.money(x), t)
}

/// A ledger's figures as money.
pub(crate) fn ledger_money(money: &dyn Fn(i64) -> String, t: &Figures) -> Ledger {
    let r = t.revenue;
    Ledger {
        new: money(r[0]),
        upsell: money(r[1]),
        expansion: money(r[2]),
        renewal: money(r[3]),
        change_order: money(r[4]),
        one_off: money(r[5]),
        refund: money(r[6]),
        net_revenue: money(t.net_revenue()),
        referral_credit: money(t.referral_credit),
        cogs: money(t.cogs),
        acquisition: money(t.acquisition()),
        retention: money(t.retention()),
        service: money(t.service()),
        profit: money(t.profit()),
    }
}

/// The value ledger by revenue conduit and cost, break-even and payback, and the
/// distributions of realised and lifetime profit per customer.
#[utoipa::path(get, path = "/api/reports/value", tag = "reports",
    params(Filters, ValueQuery),
    responses((status = 200, body = ValueOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_value(
    State(state): State<AppState>,
    _: Read,
    Q(f): Q<Filters>,
    Q(q): Q<ValueQuery>,
) -> Result<Json<ValueOut>, ApiError> {
    let bins = q.bins.unwrap_or(20);
    if !(2..=100).contains(&bins) {
        return Err(ApiError::bad_request("bins: 2 to 100"));
    }
    compute(&state, move |snap| {
        let sc = Scope::new(snap, &f)?;
        // The snapshot's ledger settings, observed to `end`.
        let vcfg = ValueConfig {
            as_of: sc.end,
            ..sc.snap.value_cfg.clone()
        };
        let r = value_report(&sc.snap.data, &vcfg, &sc.grouping)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let matches = |c| sc.matches(c);
        let realised: Vec<i64> = r
            .customers
            .iter()
            .filter(|c| matches(c.customer))
            .map(|c| c.totals.profit())
            .collect();
        let lifetime: Vec<i64> = match Some(sc.end) == sc.snap.as_of {
            false => Vec::new(),
            true => sc
                .snap
                .position
                .iter()
                .enumerate()
                .filter(|&(c, &p)| p != u32::MAX && matches(c as u32))
                .map(|(_, &p)| {
                    let v = &sc.snap.customers[p as usize];
                    v.realised_profit + v.future_profit.unwrap_or(0)
                })
                .collect(),
        };
        let group = sc.pick(
            Some(r.total),
            r.groups.into_iter().map(Some).collect(),
            None,
        );
        let bars = |v: Vec<i64>| -> Vec<Bin> {
            histogram(v, bins)
                .into_iter()
                .map(|(l, u, k)| Bin {
                    lower: l.map(|x| sc.money(x)),
                    upper: u.map(|x| sc.money(x)),
                    customers: k,
                })
                .collect()
        };
        Ok(Json(ValueOut {
            basis: sc.basis(),
            ledger: ledger(&sc, &group.as_ref().map(|g| g.totals).unwrap_or_default()),
            broken_even: group.as_ref().map_or(0, |g| g.broken_even),
            paid_back: group.as_ref().map_or(0, |g| g.paid_back),
            median_payback_months: group.as_ref().and_then(|g| g.median_payback_months),
            realised: bars(realised),
            lifetime: bars(lifetime),
        }))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::histogram;

    #[test]
    fn histogram_counts_every_value_once_and_opens_its_ends_for_outliers() {
        let mut v: Vec<i64> = (0..1000).collect();
        v.push(1_000_000);
        v.push(-5_000);
        let h = histogram(v.clone(), 10);
        assert_eq!(h.len(), 10);
        assert_eq!(h.iter().map(|b| b.2).sum::<u64>(), v.len() as u64);
        assert_eq!(h[0].0, None, "the outlier below opens the first bar");
        assert_eq!(h[9].1, None, "the outlier above opens the last bar");
        for w in h.windows(2) {
            assert_eq!(w[0].1, w[1].0, "edges meet");
        }
        let flat = histogram(vec![7; 50], 10);
        assert_eq!(flat, vec![(Some(7), Some(7), 50)]);
        assert!(histogram(Vec::new(), 5).is_empty());
    }
}

/// The model check's own parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValidationQuery {
    /// Last day of the calibration period, YYYY-MM-DD [default: 26 weeks before `end`, the
    /// holdout's last day].
    #[param(format = Date)]
    pub calibration_end: Option<String>,
    /// `all` (default) or `purchase`: only customers without subscriptions.
    pub population: Option<crate::fits::Population>,
}

/// One model's holdout check.
#[derive(Serialize, ToSchema)]
pub struct ValidationModel {
    /// `bgnbd`, `paretonbd` or `mbgnbd`.
    pub model: String,
    /// Calibration-period fit; `null` only if not finite.
    pub log_likelihood: Option<f64>,
    pub bic: Option<f64>,
    /// Σ expected repeat purchases in the holdout over the customers.
    pub predicted_repeat_purchases: Option<f64>,
    /// (predicted − actual) / actual, percent.
    pub error_percent: Option<f64>,
    pub mae_per_customer: Option<f64>,
    pub rmse_per_customer: Option<f64>,
    /// MAPE of the weekly cumulative tracking over the holdout weeks, percent.
    pub tracking_mape_percent: Option<f64>,
}

/// The three charts as standalone SVG documents.
#[derive(Serialize, ToSchema)]
pub struct ValidationCharts {
    /// Cumulative repeat purchases by week, actual and every model.
    pub tracking: String,
    /// Mean holdout purchases by calibration frequency, actual and every model.
    pub conditional_expectations: String,
    /// The recommended model's P(alive) at the calibration end.
    pub p_alive: String,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationOut {
    #[serde(flatten)]
    pub basis: ReportBasis,
    pub calibration_end: String,
    /// Times are in weeks.
    pub time_unit: String,
    /// Holdout length, weeks.
    pub holdout_weeks: f64,
    /// Customers whose first purchase is on or before the calibration end (and before it, so
    /// they were observed for some time), matching the filters.
    pub customers_checked: u64,
    pub holdout_actual_repeat_purchases: f64,
    /// Empty when there was nothing to check (see `reason`).
    pub models: Vec<ValidationModel>,
    /// The recommended model (best on the most of four holdout measures, ties to the lowest
    /// BIC — as `tenure validate`); `null` when nothing could be checked.
    pub recommended: Option<String>,
    /// Why this model — or why nothing was checked (no holdout, no customer, no fit).
    pub reason: String,
    /// `null` when nothing was checked.
    pub charts: Option<ValidationCharts>,
}

/// Model check on a holdout (as `tenure validate`): BG/NBD, Pareto/NBD and MBG/NBD fitted to
/// purchase days (weeks) up to `calibration_end`, their holdout predictions compared with what
/// happened up to `end`, a recommendation, and the three charts as SVG.
#[utoipa::path(get, path = "/api/reports/validation", tag = "reports",
    params(Filters, ValidationQuery),
    responses((status = 200, body = ValidationOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_validation(
    State(state): State<AppState>,
    _: Read,
    Q(f): Q<Filters>,
    Q(q): Q<ValidationQuery>,
) -> Result<Json<ValidationOut>, ApiError> {
    compute(&state, move |snap| {
        let sc = Scope::new(snap, &f)?;
        let end = sc.end;
        let cal_end = match &q.calibration_end {
            Some(s) => day(s, "calibration_end")?,
            None => end - 182,
        };
        let purchase_only = q.population == Some(crate::fits::Population::Purchase);
        let checked = if cal_end >= end {
            Err(format!(
                "no holdout: calibration_end {} is not before the last day {}",
                day_text(cal_end),
                day_text(end)
            ))
        } else {
            validation(&sc, cal_end, purchase_only)
        };
        Ok(checked.unwrap_or_else(|reason| ValidationOut {
            basis: sc.basis(),
            calibration_end: day_text(cal_end),
            time_unit: "weeks".into(),
            holdout_weeks: f64::from(end - cal_end) / 7.0,
            customers_checked: 0,
            holdout_actual_repeat_purchases: 0.0,
            models: Vec::new(),
            recommended: None,
            reason,
            charts: None,
        }))
    })
    .await
    .map(Json)
}

/// The check, or why there is nothing to check.
fn validation(sc: &Scope, cal_end: Day, purchase_only: bool) -> Result<ValidationOut, String> {
    use tenure_models::validate::Cohort;
    use tenure_models::{bgnbd, mbgnbd, paretonbd, FitOptions, Rfm, RfmRow};
    use tenure_reports::validation::{best, charts, check, pct, Tracking};
    let (snap, end) = (&sc.snap, sc.end);
    let data = &snap.data;
    let week = 7.0;
    let mut rows: Vec<RfmRow> = Vec::new();
    let mut actual: Vec<f64> = Vec::new();
    let mut firsts: Vec<Day> = Vec::new();
    let mut repeats: Vec<Day> = Vec::new();
    for c in 0..data.len() as tenure_store::dataset::CustomerIdx {
        if !sc.matches(c) || (purchase_only && !data.subscriptions_of(c).is_empty()) {
            continue;
        }
        let days = tenure_reports::predict::purchase_days(data, &snap.fx, c, end);
        let Some(&(first, _)) = days.first() else {
            continue;
        };
        if first >= cal_end {
            continue;
        }
        let cal: Vec<Day> = days.iter().map(|d| d.0).filter(|d| *d <= cal_end).collect();
        let last = *cal.last().unwrap_or(&first);
        rows.push(RfmRow {
            x: (cal.len() - 1) as f64,
            t_x: f64::from(last - first) / week,
            t: f64::from(cal_end - first) / week,
        });
        actual.push(days.iter().filter(|d| d.0 > cal_end).count() as f64);
        firsts.push(first);
        repeats.extend(days[1..].iter().map(|d| d.0));
    }
    if rows.is_empty() {
        return Err(format!(
            "no matching customer made a first purchase before {}",
            day_text(cal_end)
        ));
    }
    let start = *firsts.iter().min().unwrap_or(&cal_end);
    let k = (f64::from(end - start + 1) / week).floor() as usize;
    let mut cum = vec![0.0; k];
    for d in &repeats {
        let i = (f64::from(d - start) / week).floor() as usize;
        if i < k {
            cum[i] += 1.0;
        }
    }
    for i in 1..k {
        cum[i] += cum[i - 1];
    }
    let mut births: std::collections::BTreeMap<Day, f64> = std::collections::BTreeMap::new();
    for f in &firsts {
        *births.entry(*f).or_default() += 1.0;
    }
    let cohorts: Vec<Cohort> = births
        .iter()
        .map(|(d, n)| Cohort {
            birth: f64::from(d - start) / week,
            customers: *n,
        })
        .collect();
    let grid = Tracking {
        start: day_text(start),
        period: "week",
        ends: (1..=k).map(|i| i as f64).collect(),
        actual: cum,
        calibration_periods: ((f64::from(cal_end - start + 1) / week).floor() as usize).min(k),
    };
    let horizon = f64::from(end - cal_end) / week;
    let rfm = Rfm::new(&rows).map_err(|e| e.to_string())?;
    let opts = FitOptions::default();
    let fail = |e: tenure_models::ModelError| {
        format!("the models could not be fitted on the calibration period: {e}")
    };
    let last_bin = 7;
    let mut checked = Vec::new();
    let (p, fit) = bgnbd::fit_bgnbd(&rfm, &opts).map_err(fail)?;
    checked.push(check(
        "bgnbd",
        "BG/NBD",
        fit,
        Box::new(p),
        &rows,
        &actual,
        horizon,
        &cohorts,
        &grid,
        last_bin,
    ));
    let (p, fit) = paretonbd::fit_paretonbd(&rfm, &opts).map_err(fail)?;
    checked.push(check(
        "paretonbd",
        "Pareto/NBD",
        fit,
        Box::new(p),
        &rows,
        &actual,
        horizon,
        &cohorts,
        &grid,
        last_bin,
    ));
    let (p, fit) = mbgnbd::fit_mbgnbd(&rfm, &opts).map_err(fail)?;
    checked.push(check(
        "mbgnbd",
        "MBG/NBD",
        fit,
        Box::new(p),
        &rows,
        &actual,
        horizon,
        &cohorts,
        &grid,
        last_bin,
    ));
    let (b, reason) =
        best(&checked).ok_or_else(|| "no model gave finite holdout errors and BIC".to_string())?;
    let svgs = charts(&grid, &checked, b, last_bin);
    let svg = |name: &str| {
        svgs.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    };
    let fin = |v: f64| v.is_finite().then_some(v);
    Ok(ValidationOut {
        basis: sc.basis(),
        calibration_end: day_text(cal_end),
        time_unit: "weeks".into(),
        holdout_weeks: horizon,
        customers_checked: rows.len() as u64,
        holdout_actual_repeat_purchases: actual.iter().sum(),
        models: checked
            .iter()
            .map(|c| ValidationModel {
                model: c.name.into(),
                log_likelihood: fin(c.fit.log_likelihood),
                bic: fin(c.fit.bic),
                predicted_repeat_purchases: fin(c.holdout.predicted_total),
                error_percent: fin(pct(c.holdout.predicted_total, c.holdout.actual_total)),
                mae_per_customer: fin(c.holdout.mae),
                rmse_per_customer: fin(c.holdout.rmse),
                tracking_mape_percent: fin(c.tracking_mape),
            })
            .collect(),
        recommended: Some(checked[b].name.into()),
        reason,
        charts: Some(ValidationCharts {
            tracking: svg("tracking.svg"),
            conditional_expectations: svg("conditional_expectations.svg"),
            p_alive: svg("p_alive.svg"),
        }),
    })
}

// ---------------------------------------------------------------------------------------
// Campaign effect
// ---------------------------------------------------------------------------------------

/// How the campaign-effect report segments customers (`tenure report campaigns --by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignGroupName {
    /// The customer's plan (the default).
    Plan,
    /// Month of acquisition.
    Cohort,
    /// Quarter of acquisition.
    Quarter,
    Channel,
    Region,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignsQuery {
    /// The segments within which touched and untouched customers are compared: `plan`
    /// (default), `cohort` (month of acquisition), `quarter`, `channel` or `region`.
    pub by: Option<CampaignGroupName>,
}

/// Touched against comparable untouched customers, for one segment or pooled
/// (`tenure_reports::campaigns::Comparison`; the fields of `tenure report campaigns --format
/// json`).
#[derive(Serialize, ToSchema)]
pub struct CampaignComparison {
    /// The segment's label, or `all` for a pooled row.
    pub segment: String,
    /// Customers of the segment acquired and active on the campaign's day whom it touched,
    /// and how many of them were still active `window_days` later.
    pub touched: u64,
    pub touched_retained: u64,
    /// The other customers of the segment acquired and active on that day.
    pub untouched: u64,
    pub untouched_retained: u64,
    /// touched_retained / touched (`null`: no touched customer).
    pub touched_retention: Option<f64>,
    /// untouched_retained / untouched; for a pooled row, standardised to the touched
    /// customers' segments (Σ touched · untouched retention / Σ touched over segments with
    /// both arms).
    pub untouched_retention: Option<f64>,
    /// touched − untouched retention.
    pub difference: Option<f64>,
    /// Churn of the touched over churn of the untouched (below 1: touched customers left
    /// less); `null` when either retention is unknown or no untouched customer churned.
    pub relative_churn: Option<f64>,
}

fn comparison(c: &tenure_reports::campaigns::Comparison) -> CampaignComparison {
    CampaignComparison {
        segment: c.segment.clone(),
        touched: c.touched.customers,
        touched_retained: c.touched.retained,
        untouched: c.untouched.customers,
        untouched_retained: c.untouched.retained,
        touched_retention: c.touched_retention,
        untouched_retention: c.untouched_retention,
        difference: c.difference,
        relative_churn: c.relative_churn,
    }
}

/// One campaign.
#[derive(Serialize, ToSchema)]
pub struct CampaignOut {
    pub id: String,
    pub name: String,
    /// Its day: when it started, or its first touch when it has no start.
    pub day: String,
    /// Whether `day` + `window_days` is on or before `end`; when not, `segments` is empty and
    /// `overall` counts no customer.
    pub observed: bool,
    /// The segments with a customer on its day, in label order.
    pub segments: Vec<CampaignComparison>,
    /// Its segments pooled.
    pub overall: CampaignComparison,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignsOut {
    #[serde(flatten)]
    pub basis: ReportBasis,
    /// Retained = active this many days after the campaign's day.
    pub window_days: u32,
    /// What the segments are (`plan`, `channel`, `region`, `cohort`, `quarter`).
    pub grouping: String,
    /// The report's reading: an association within segments, not a measured cause.
    pub note: String,
    /// Why there is nothing to compare (no campaign, none observed for a whole window by
    /// `end`, no matching customer on an observed campaign's day, none of them touched);
    /// `null` when there are figures.
    pub reason: Option<String>,
    /// Campaigns started or touching a customer by `end`, in id order.
    pub campaigns: Vec<CampaignOut>,
    /// Every observed campaign pooled, per segment (the counts are of (customer, campaign)
    /// pairs).
    pub segments: Vec<CampaignComparison>,
    /// Every observed campaign pooled.
    pub overall: CampaignComparison,
}

/// Campaign effect on retention (as `tenure report campaigns`): per campaign and segment, the
/// customers it touched against the comparable untouched ones (same segment, acquired and
/// active on the campaign's day), retained = still active 180 days later. An association, not
/// a measured cause. The filters narrow both arms.
#[utoipa::path(get, path = "/api/reports/campaigns", tag = "reports",
    params(Filters, CampaignsQuery),
    responses((status = 200, body = CampaignsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_campaigns(
    State(state): State<AppState>,
    _: Read,
    Q(f): Q<Filters>,
    Q(q): Q<CampaignsQuery>,
) -> Result<Json<CampaignsOut>, ApiError> {
    use tenure_reports::{campaign_effect_report, CampaignEffectConfig};
    compute(&state, move |snap| {
        let sc = Scope::new(snap, &f)?;
        let data = &sc.snap.data;
        let by = match q.by.unwrap_or(CampaignGroupName::Plan) {
            CampaignGroupName::Plan => GroupBy::Plan,
            CampaignGroupName::Cohort => GroupBy::Cohort(Interval::Month),
            CampaignGroupName::Quarter => GroupBy::Cohort(Interval::Quarter),
            CampaignGroupName::Channel => GroupBy::Channel,
            CampaignGroupName::Region => GroupBy::Region,
        };
        // The segments as the CLI makes them; customers the filters leave out are in none.
        let mut grouping = Grouping::new(data, by);
        for (c, g) in grouping.of.iter_mut().enumerate() {
            if !sc.matches(c as tenure_store::dataset::CustomerIdx) {
                *g = None;
            }
        }
        let cfg = CampaignEffectConfig::new(sc.end, sc.snap.fx.clone());
        let r = campaign_effect_report(data, &cfg, &grouping)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let end = day_text(sc.end);
        let reason = if r.campaigns.is_empty() {
            Some(match data.campaigns.is_empty() {
                true => "the store holds no campaigns".to_string(),
                false => format!("no campaign started or touched a customer by {end}"),
            })
        } else if !r.campaigns.iter().any(|m| m.observed) {
            Some(format!(
                "no campaign has been observed for a whole {} days by {end}: the first one's day is {}",
                r.window_days,
                day_text(r.campaigns.iter().map(|m| m.day).min().unwrap_or(sc.end))
            ))
        } else if r.overall.touched.customers + r.overall.untouched.customers == 0 {
            Some(format!(
                "no matching customer was active on the day of a campaign observed by {end}"
            ))
        } else if r.overall.touched.customers == 0 {
            Some(format!(
                "no matching customer was touched by a campaign observed by {end}"
            ))
        } else {
            None
        };
        Ok(Json(CampaignsOut {
            basis: sc.basis(),
            window_days: r.window_days,
            grouping: r.grouping.clone(),
            note: r.note.clone(),
            reason,
            campaigns: r
                .campaigns
                .iter()
                .map(|m| CampaignOut {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    day: day_text(m.day),
                    observed: m.observed,
                    segments: m.segments.iter().map(comparison).collect(),
                    overall: comparison(&m.overall),
                })
                .collect(),
            segments: r.segments.iter().map(comparison).collect(),
            overall: comparison(&r.overall),
        }))
    })
    .await
}
