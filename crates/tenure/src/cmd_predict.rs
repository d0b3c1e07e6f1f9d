//! `tenure predict`: score every customer with a fitted model — P(alive), expected purchases in
//! a horizon with its unit, and with a spend model the expected spend and discounted CLV — each
//! with a delta-method interval. BG/BB and sBG models are scored by
//! [`crate::predict_discrete`]; models fitted with covariates by [`crate::covariate_cli::score`]
//! (each customer with her own parameters, CLV from her own DET); Pareto/NBD with time-varying
//! covariates (`paretonbd-dyncov`) by [`crate::dyncov_cli::predict`], over the covariates' path
//! in the window (its DET too).

use crate::cmd_fit::ModelKind;
use crate::error::CliError;
use crate::inputs::{self, data_error};
use crate::log_input::{self, LogArgs};
use crate::model_file::ModelFile;
use crate::predict_discrete;
use crate::table::{num, Table};
use crate::timing::{fastest_repeat, ms_since};
use crate::{write_atomically_with, Format};
use clap::Args;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tenure_core::{Duration, Rate, TimeUnit};
use tenure_engine::SummaryRow;
use tenure_models::bgnbd::BgNbdParams;
use tenure_models::bootstrap::{prediction_spreads, replicate, BootstrapOptions, Resample, Spread};
use tenure_models::clv::{
    combine_clv, det_estimate, discounted_expected_purchases, ClvConfig, Spend,
};
use tenure_models::data::{group_rows_of, validate_rfm, Grouping};
use tenure_models::fit::{delta_method, normal_quantile_two_sided};
use tenure_models::gammagamma::GammaGammaParams;
use tenure_models::ggomnbd::GGomNbdParams;
use tenure_models::mbgnbd::MbgNbdParams;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::{Estimate, RfmRow, Scale};

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model file written by `tenure fit --output`: bgnbd, paretonbd, mbgnbd or ggomnbd; bgbb
    /// (discrete opportunities) or sbg (contracts).
    #[arg(long)]
    pub model: PathBuf,
    /// Customers to score. bgnbd/paretonbd/mbgnbd: a summary file (customer_id, frequency,
    /// recency, T[, monetary_value]) in the model's time unit. bgbb: a summary file (frequency,
    /// recency, periods[, weights]); weights only weigh the report's totals. sbg: per-customer
    /// records (customer_id (optional), tenure = whole periods completed, churned = true/false);
    /// only active customers are scored, churned ones are written in place with empty
    /// prediction cells. bgnbd/paretonbd/mbgnbd also take a Parquet transaction log (a file or a
    /// directory; with --end): the engine summarises and scores every customer and writes
    /// --output as Parquet (customer_id, frequency, recency, T, p_alive, expected_purchases,
    /// sorted by customer id; no intervals, no spend).
    #[arg(long)]
    pub input: PathBuf,
    /// How far ahead, with its unit: 52w, 12mo, 365d, 1y. bgbb: a bare whole number of future
    /// transaction opportunities (BG/BB has no calendar unit), e.g. 5. sbg: a whole number of
    /// the model's periods, bare (3) or in a calendar unit that converts to whole periods (3y,
    /// 36mo when the model's periods are years).
    #[arg(long)]
    pub horizon: String,
    /// A Gamma-Gamma model file: adds expected_spend and clv (needs monetary_value in the input).
    /// Also with --covariates (each customer's discounted purchases from her own parameters)
    /// and for paretonbd-dyncov models (each period's purchases along the covariates' path).
    #[arg(long)]
    pub spend: Option<PathBuf>,
    /// Share of spend that is profit, for CLV.
    #[arg(long, default_value_t = 1.0)]
    pub margin: f64,
    /// Discount rate per stated period, for CLV: 1%/mo, 10%/y, 0.01/4.345w. The horizon must be
    /// a whole number of these periods. Default: no discounting. sbg: the rate for DERL (the
    /// derl column appears only with it), per the model's period (10%/period) or per a calendar
    /// period, compounded to the model's (1%/mo for yearly periods). Not for bgbb.
    #[arg(long)]
    pub discount_rate: Option<String>,
    /// Where to write one row per customer (CSV, written atomically).
    #[arg(long)]
    pub output: PathBuf,
    /// Confidence level of the per-customer intervals.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Skip the per-customer intervals (faster).
    #[arg(long)]
    pub no_intervals: bool,
    /// Intervals from a parametric bootstrap with this many replications instead of the delta
    /// method (bgnbd, paretonbd, mbgnbd, ggomnbd, paretonbd-cor, and covariate models; not
    /// with --spend): populations like the input (every customer's T and covariates,
    /// recencies on a one-day grid) drawn from the model and refitted; each customer's
    /// P(alive) and expected purchases, and the total, get percentile intervals.
    #[arg(long, value_name = "N", conflicts_with_all = ["no_intervals", "spend"])]
    pub bootstrap: Option<usize>,
    /// Seed of the bootstrap's draws.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Add p_alive_at_horizon: the probability of being alive at the end of the horizon, not
    /// only now — alive now and not dropping out within it (bgnbd, paretonbd, mbgnbd, ggomnbd; a point,
    /// without interval).
    #[arg(long)]
    pub alive_at_horizon: bool,
    /// Add the distribution of each customer's repeat purchases within the horizon:
    /// p_purchases_0 … p_purchases_{K−1} and p_purchases_{K}_plus (bgnbd, paretonbd, mbgnbd,
    /// ggomnbd, paretonbd-cor, and covariate models;
    /// points, without intervals). E.g. 3: none, one, two, three or more.
    #[arg(long, value_name = "K")]
    pub purchase_pmf: Option<u32>,
    /// How to report what was done.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Scoring straight from a Parquet transaction log (bgnbd, paretonbd, mbgnbd).
    #[command(flatten)]
    pub log: LogArgs,
    /// The customers' covariates (CSV with customer_id), for a model fitted with
    /// `--covariates`: each customer is scored with her own parameters (with --spend, her CLV
    /// too; intervals over base parameters and coefficients). Columns are encoded as at
    /// fitting time (stored in the model file).
    #[arg(long, value_name = "FILE", conflicts_with = "time_covariates")]
    pub covariates: Option<PathBuf>,
    /// The covariate grid for a `paretonbd-dyncov` model (`tenure fit paretonbd
    /// --time-covariates`): period_start and the model's columns, covering every customer's
    /// first purchase and the prediction window after --end (the day the summaries end,
    /// required); the window is scored with its covariates (with --spend and --discount-rate,
    /// CLV values each period's expected purchases under that period's covariates).
    #[arg(long, value_name = "GRID")]
    pub time_covariates: Option<PathBuf>,
    /// Benchmarking: after the timed score step, run the same step N more times in this process
    /// and report the fastest as `elapsed_ms.score_warm` (memory, caches and branch history
    /// warmed by the calls before, as when a library function is called repeatedly); the output
    /// is the first step's. Summary files with bgnbd, paretonbd, mbgnbd, ggomnbd and
    /// paretonbd-cor models without covariates.
    #[arg(long, value_name = "N")]
    pub repeat_score: Option<usize>,
}

/// --repeat-score is timed on the plain recency-frequency path only; the others refuse it.
fn no_repeat_score(a: &PredictArgs, what: &str) -> Result<(), CliError> {
    match a.repeat_score {
        Some(_) => Err(CliError::input(format!(
            "--repeat-score times the scoring of a summary file by a model without covariates; not {what}"
        ))),
        None => Ok(()),
    }
}

/// One prediction per scored row (see [`Scores::rows_of`]): the point and, with intervals, the
/// bounds (empty without).
struct Column {
    value: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl Column {
    /// Points without intervals, one per scored row.
    fn points(value: Vec<f64>) -> Column {
        Column {
            value,
            lower: Vec::new(),
            upper: Vec::new(),
        }
    }
    /// A column from one estimate per scored row.
    fn from_estimates(e: impl Iterator<Item = Estimate> + Clone, intervals: bool) -> Column {
        Column {
            value: e.clone().map(|e| e.value).collect(),
            lower: if intervals {
                e.clone().map(|e| e.lower).collect()
            } else {
                Vec::new()
            },
            upper: if intervals {
                e.map(|e| e.upper).collect()
            } else {
                Vec::new()
            },
        }
    }
    fn get(&self, i: usize) -> Estimate {
        Estimate {
            value: self.value[i],
            se: f64::NAN,
            lower: self.lower.get(i).copied().unwrap_or(f64::NAN),
            upper: self.upper.get(i).copied().unwrap_or(f64::NAN),
        }
    }
}

/// Every customer's scores. `p_alive`, `expected`, `alive_at` and `pmf` hold one entry per
/// scored row: per distinct (frequency, recency, T) row when `rows_of` maps each customer to
/// hers (the customers sharing a row share its scores, so nothing is copied out per customer),
/// else per customer in input order. `spend` and `clv` are always per customer.
struct Scores {
    p_alive: Column,
    expected: Column,
    /// Customer (input order) → scored row; `None` when the rows are the customers.
    rows_of: Option<Vec<u32>>,
    spend: Option<Vec<Estimate>>,
    clv: Option<Vec<Estimate>>,
    /// With --bootstrap: the replicates made (and failed), and the total expected purchases'
    /// spread over them.
    boot: Option<(usize, usize, Spread)>,
    /// With --alive-at-horizon: P(alive at T + horizon) per scored row.
    alive_at: Option<Vec<f64>>,
    /// With --purchase-pmf K: per scored row, P(0), …, P(K−1) purchases and P(≥ K).
    pmf: Option<Vec<Vec<f64>>>,
    /// Why there are no intervals although they were not turned off (replaces the method in
    /// the report).
    no_intervals_because: Option<String>,
    /// More lines for the report: (JSON key, table label, value).
    extra: Vec<(&'static str, &'static str, String)>,
}

impl Scores {
    /// No customers, no optional columns (a base for struct update).
    fn empty() -> Scores {
        let none = || Column::points(Vec::new());
        Scores {
            p_alive: none(),
            expected: none(),
            rows_of: None,
            spend: None,
            clv: None,
            boot: None,
            alive_at: None,
            pmf: None,
            no_intervals_because: None,
            extra: Vec::new(),
        }
    }
    /// Number of customers.
    fn len(&self) -> usize {
        match &self.rows_of {
            Some(index) => index.len(),
            None => self.p_alive.value.len(),
        }
    }
    /// The scored row of customer `i`.
    fn row(&self, i: usize) -> usize {
        match &self.rows_of {
            Some(index) => index[i] as usize,
            None => i,
        }
    }
    fn p_alive(&self, i: usize) -> Estimate {
        self.p_alive.get(self.row(i))
    }
    fn expected(&self, i: usize) -> Estimate {
        self.expected.get(self.row(i))
    }
    fn spend(&self, i: usize) -> Option<&Estimate> {
        self.spend.as_ref().map(|v| &v[i])
    }
    fn clv(&self, i: usize) -> Option<&Estimate> {
        self.clv.as_ref().map(|v| &v[i])
    }
}

pub(crate) fn point(v: f64) -> Estimate {
    Estimate {
        value: v,
        se: f64::NAN,
        lower: f64::NAN,
        upper: f64::NAN,
    }
}

/// The Gamma-Gamma model of `--spend`, with its covariance when the file has one.
type SpendModel = (GammaGammaParams, Option<Vec<Vec<f64>>>);

/// Read `--spend`, if given: a gammagamma model file.
fn read_spend(a: &PredictArgs) -> Result<Option<SpendModel>, CliError> {
    let Some(p) = &a.spend else {
        return Ok(None);
    };
    let sf = ModelFile::read(p)?;
    if sf.model != "gammagamma" {
        return Err(CliError::input(format!(
            "{}: --spend needs a gammagamma model, this is `{}`",
            p.display(),
            sf.model
        )));
    }
    let th = sf.params_in_order(p, &["p", "q", "gamma"])?;
    Ok(Some((
        GammaGammaParams {
            p: th[0],
            q: th[1],
            gamma: th[2],
        },
        sf.covariance.clone(),
    )))
}

/// Every customer's Gamma-Gamma expected spend per transaction given her frequency and
/// monetary value (with a delta-method interval when `gcov` is given). A customer without a
/// monetary value is an input error at her line.
fn spend_all(
    path: &Path,
    rows: &[SummaryRow],
    gg: &GammaGammaParams,
    gcov: Option<&[Vec<f64>]>,
    z: f64,
) -> Result<Vec<Estimate>, CliError> {
    rows.iter()
        .map(|r| {
            let m = r.monetary.ok_or_else(|| {
                CliError::at(
                    path,
                    r.line as usize,
                    None,
                    "--spend needs a monetary_value (or zbar) for every customer",
                )
            })?;
            spend_estimate(gg, gcov, r.x, m, z)
                .map_err(|e| CliError::at(path, r.line as usize, None, e))
        })
        .collect()
}

/// Every customer's CLV = margin × expected spend × DET (`det(i)`, customer i's), with the
/// delta-method interval of [`combine_clv`] when `intervals` and DET has an interval (a point
/// DET, without one, gives a point CLV); a spend without a standard error counts as known.
fn clv_all<'d>(
    spend: &[Estimate],
    det: impl Fn(usize) -> &'d Estimate,
    margin: f64,
    z: f64,
    intervals: bool,
) -> Vec<Estimate> {
    spend
        .iter()
        .enumerate()
        .map(|(i, sp)| {
            let se = if sp.se.is_finite() { sp.se } else { 0.0 };
            let d = det(i);
            let v = combine_clv(d, Spend { mean: sp.value, se }, margin, z);
            if intervals && !d.lower.is_nan() {
                v
            } else {
                point(v.value)
            }
        })
        .collect()
}

/// The CLV valuation in the model's unit: K periods of the discount rate's period.
fn clv_config(
    horizon: &Duration,
    rate: Option<&Rate>,
    unit: TimeUnit,
    margin: f64,
) -> Result<ClvConfig, CliError> {
    let h = horizon.in_unit(unit);
    let cfg = match rate {
        None => ClvConfig::new(1, h, 0.0),
        Some(r) if r.value() == 0.0 => ClvConfig::new(1, h, 0.0),
        Some(r) => {
            let len = r.per().in_unit(unit);
            let k = h / len;
            let whole = k.round();
            if whole < 1.0 || (k - whole).abs() > 1e-6 * whole.max(1.0) {
                return Err(CliError::input(format!(
                    "--horizon {horizon} is {k:.4} discount periods of {}: make it a whole number of periods (or state the rate per a period that divides it)",
                    r.per()
                )));
            }
            ClvConfig::new(whole as u32, len, r.value())
        }
    };
    cfg.and_then(|c| c.with_margin(margin))
        .map_err(|e| CliError::input(format!("CLV settings: {e}")))
}

pub fn run(a: PredictArgs) -> Result<(), CliError> {
    let t_read = Instant::now();
    let mf = ModelFile::read(&a.model)?;
    if mf.model == crate::dyncov_cli::MODEL {
        no_repeat_score(&a, "a paretonbd-dyncov model")?;
        return predict_dyncov(&a, &mf, t_read);
    }
    if let Some(g) = &a.time_covariates {
        return Err(CliError::input(format!(
            "--time-covariates {}: {} is a `{}` model; a covariate grid is for models fitted with `tenure fit paretonbd --time-covariates`",
            g.display(),
            a.model.display(),
            mf.model
        )));
    }
    let kind = ModelKind::from_name(&mf.model).ok_or_else(|| {
        CliError::input(format!(
            "{}: unknown model `{}`",
            a.model.display(),
            mf.model
        ))
    })?;
    if let Some(n) = a.bootstrap {
        if matches!(kind, ModelKind::Bgbb | ModelKind::Sbg) || log_input::is_log(&a.input) {
            return Err(CliError::input(
                "--bootstrap is for bgnbd, paretonbd, mbgnbd, ggomnbd and paretonbd-cor models (with or without covariates) scoring a summary file",
            ));
        }
        if n < 2 {
            return Err(CliError::input("--bootstrap: at least 2 replications"));
        }
    }
    if (a.alive_at_horizon || a.purchase_pmf.is_some())
        && (matches!(kind, ModelKind::Bgbb | ModelKind::Sbg) || log_input::is_log(&a.input))
    {
        return Err(CliError::input(
            "--alive-at-horizon and --purchase-pmf are for bgnbd, paretonbd, mbgnbd, ggomnbd and paretonbd-cor models scoring a summary file",
        ));
    }
    if a.purchase_pmf == Some(0) {
        return Err(CliError::input(
            "--purchase-pmf: at least 1 (1 gives P(no purchase) and P(one or more))",
        ));
    }
    if matches!(kind, ModelKind::Bgbb | ModelKind::Sbg) {
        no_repeat_score(&a, "a bgbb or sbg model")?;
        return predict_discrete::run(&a, &mf, kind, t_read);
    }
    let unit: TimeUnit = mf
        .time_unit
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(|_| {
            CliError::input(format!(
                "{}: `tenure predict` scores recency-frequency models (bgnbd, paretonbd, mbgnbd, ggomnbd) fitted with a time unit, and bgbb and sbg models; this is `{}`",
                a.model.display(),
                mf.model
            ))
        })?;
    let (horizon, rate) = window_args(&a)?;
    if let Some(section) = &mf.covariates {
        no_repeat_score(&a, "a covariate model")?;
        return predict_covariates(&a, &mf, section, unit, &horizon, rate.as_ref(), t_read);
    }
    if a.covariates.is_some() {
        return Err(CliError::input(format!(
            "--covariates: {} was fitted without covariates",
            a.model.display()
        )));
    }
    if log_input::is_log(&a.input) {
        no_repeat_score(&a, "a Parquet log")?;
        return predict_log(&a, &mf, kind, unit, &horizon);
    }
    let spend_model = read_spend(&a)?;
    let cfg = clv_config(&horizon, rate.as_ref(), unit, a.margin)?;
    let rows = inputs::summaries(&a.input)?;
    let read_ms = t_read.elapsed().as_secs_f64() * 1000.0;

    let t_score = Instant::now();
    let ctx = Ctx {
        args: &a,
        rows: &rows,
        cfg: &cfg,
        h: horizon.in_unit(unit),
        spend: spend_model.as_ref().map(|(p, c)| (p, c.as_deref())),
        cov: mf.covariance.as_deref(),
        z: normal_quantile_two_sided(a.level),
        unit,
    };
    // The score step: grouping, validation and scoring (points, and intervals unless
    // --no-intervals), from rows in memory to scores in memory.
    let score = || -> Result<Scores, CliError> {
        Ok(match kind {
        ModelKind::Bgnbd => {
            let th = mf.params_in_order(&a.model, &["r", "alpha", "a", "b"])?;
            score_all(
                &BgNbdParams {
                    r: th[0],
                    alpha: th[1],
                    a: th[2],
                    b: th[3],
                },
                &ctx,
            )?
        }
        ModelKind::Mbgnbd => {
            let th = mf.params_in_order(&a.model, &["r", "alpha", "a", "b"])?;
            score_all(
                &MbgNbdParams {
                    r: th[0],
                    alpha: th[1],
                    a: th[2],
                    b: th[3],
                },
                &ctx,
            )?
        }
        ModelKind::ParetonbdCor => {
            let mut th = mf.params_in_order(&a.model, &["r", "alpha", "s", "beta"])?;
            th.push(mf.real_param(&a.model, "u")?);
            score_all(&tenure_models::paretonbd_cor::params_of(&th), &ctx)?
        }
        ModelKind::Ggomnbd => {
            let th = mf.params_in_order(&a.model, &["r", "alpha", "b", "s", "beta"])?;
            score_all(
                &GGomNbdParams {
                    r: th[0],
                    alpha: th[1],
                    b: th[2],
                    s: th[3],
                    beta: th[4],
                },
                &ctx,
            )?
        }
        ModelKind::Paretonbd => {
            let th = mf.params_in_order(&a.model, &["r", "alpha", "s", "beta"])?;
            score_all(
                &ParetoNbdParams {
                    r: th[0],
                    alpha: th[1],
                    s: th[2],
                    beta: th[3],
                },
                &ctx,
            )?
        }
        other => {
            return Err(CliError::input(format!(
                "{}: `tenure predict` scores bgnbd, paretonbd, mbgnbd, ggomnbd, bgbb and sbg models; `{}` is not one",
                a.model.display(),
                other.name()
            )))
        }
        })
    };
    let scores = score()?;
    let score_ms = ms_since(t_score);
    let warm_ms = fastest_repeat(a.repeat_score, &score)?;
    let intervals = !a.no_intervals && (mf.covariance.is_some() || scores.boot.is_some());
    let out = Scored {
        rows: &rows,
        scores: &scores,
        intervals,
        read_ms,
        score_ms,
        warm_ms,
    };
    out.write_and_report(&a, &mf.model, unit, &horizon, rate.as_ref())
}

/// What every scoring path of `tenure predict` ends with: the customers' rows and scores,
/// whether the output has intervals, the read and score times, and with --repeat-score the
/// fastest repeated score step.
struct Scored<'a> {
    rows: &'a [SummaryRow],
    scores: &'a Scores,
    intervals: bool,
    read_ms: f64,
    score_ms: f64,
    warm_ms: Option<f64>,
}

impl Scored<'_> {
    /// Write the CSV (atomically, in pieces) and print the report.
    fn write_and_report(
        &self,
        a: &PredictArgs,
        model: &str,
        unit: TimeUnit,
        horizon: &Duration,
        rate: Option<&Rate>,
    ) -> Result<(), CliError> {
        let t_write = Instant::now();
        write_atomically_with(&a.output, |w| {
            render_csv(self.rows, self.scores, self.intervals, w)
        })?;
        let write_ms = ms_since(t_write);
        report(
            a,
            model,
            unit,
            horizon,
            rate,
            self.rows,
            self.scores,
            [self.read_ms, self.score_ms, write_ms],
            self.warm_ms,
        );
        Ok(())
    }
}

/// --horizon and --discount-rate parsed, and --level checked (strictly between 0 and 1).
fn window_args(a: &PredictArgs) -> Result<(Duration, Option<Rate>), CliError> {
    let horizon: Duration = a
        .horizon
        .parse()
        .map_err(|e| CliError::input(format!("--horizon: {e}")))?;
    let rate: Option<Rate> = a
        .discount_rate
        .as_deref()
        .map(|s| {
            s.parse()
                .map_err(|e| CliError::input(format!("--discount-rate: {e}")))
        })
        .transpose()?;
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(CliError::input(format!(
            "--level {}: must be strictly between 0 and 1",
            a.level
        )));
    }
    Ok((horizon, rate))
}

/// What the per-customer paths (covariate and dyncov models) share before scoring: the CLV
/// settings, the summary rows, the read time, the score clock (started here), whether there
/// are intervals, their z, and each customer's expected spend with --spend.
struct PerCustomer {
    cfg: ClvConfig,
    rows: Vec<SummaryRow>,
    read_ms: f64,
    t_score: Instant,
    intervals: bool,
    z: f64,
    spend: Option<Vec<Estimate>>,
}

impl PerCustomer {
    /// The end of this path: these customers' `scores`, for [`Scored::write_and_report`]
    /// (the score clock stops here).
    fn scored<'a>(&'a self, scores: &'a Scores) -> Scored<'a> {
        Scored {
            rows: &self.rows,
            scores,
            intervals: self.intervals,
            read_ms: self.read_ms,
            score_ms: ms_since(self.t_score),
            warm_ms: None,
        }
    }

    fn read(
        a: &PredictArgs,
        mf: &ModelFile,
        horizon: &Duration,
        rate: Option<&Rate>,
        unit: TimeUnit,
        t_read: Instant,
    ) -> Result<PerCustomer, CliError> {
        let spend_model = read_spend(a)?;
        let cfg = clv_config(horizon, rate, unit, a.margin)?;
        let rows = inputs::summaries(&a.input)?;
        let read_ms = t_read.elapsed().as_secs_f64() * 1000.0;
        let t_score = Instant::now();
        let intervals = !a.no_intervals && (mf.covariance.is_some() || a.bootstrap.is_some());
        let z = normal_quantile_two_sided(a.level);
        // The spends first: a customer without a monetary value stops the command before
        // scoring.
        let spend = spend_model
            .map(|(gg, gcov)| {
                spend_all(
                    &a.input,
                    &rows,
                    &gg,
                    gcov.as_deref().filter(|_| intervals),
                    z,
                )
            })
            .transpose()?;
        Ok(PerCustomer {
            cfg,
            rows,
            read_ms,
            t_score,
            intervals,
            z,
            spend,
        })
    }
}

/// Score a summary file with a covariate model (`tenure fit --covariates`), each customer with
/// her own parameters: P(alive) and expected purchases with delta-method intervals over every
/// parameter (base and coefficients), --alive-at-horizon and --purchase-pmf as points, and
/// with --spend the expected spend and CLV = margin × spend × DET of her own model, as for the
/// plain models; with --bootstrap N, percentile intervals from a parametric bootstrap of the
/// covariate model instead of the delta method. No Parquet logs yet.
fn predict_covariates(
    a: &PredictArgs,
    mf: &ModelFile,
    section: &crate::covariate_cli::CovariateSection,
    unit: TimeUnit,
    horizon: &Duration,
    rate: Option<&Rate>,
    t_read: Instant,
) -> Result<(), CliError> {
    let Some(cov_path) = &a.covariates else {
        return Err(CliError::input(format!(
            "{} was fitted with covariates: give the customers' covariates with --covariates FILE",
            a.model.display()
        )));
    };
    if log_input::is_log(&a.input) {
        return Err(CliError::input(
            "a covariate model scores a summary file (P(alive), expected purchases, --alive-at-horizon, --purchase-pmf, --spend, --bootstrap); Parquet logs are not available with it yet",
        ));
    }
    let mut pc = PerCustomer::read(a, mf, horizon, rate, unit, t_read)?;
    let (cfg, z, intervals) = (&pc.cfg, pc.z, pc.intervals);
    let scored = crate::covariate_cli::score(
        a,
        mf,
        section,
        &pc.rows,
        cov_path,
        horizon.in_unit(unit),
        pc.spend.is_some().then_some(cfg),
    )?;
    // With --bootstrap (never with --spend): the points stay the model's own, the intervals
    // are the bootstrap's percentiles.
    let boot = match a.bootstrap {
        Some(_) => Some(crate::covariate_cli::bootstrap(
            a,
            mf,
            section,
            &pc.rows,
            cov_path,
            horizon.in_unit(unit),
            1.0 / unit.days(),
        )?),
        None => None,
    };
    let unvalued = point(f64::NAN);
    let clv = pc.spend.as_ref().map(|sp| {
        clv_all(
            sp,
            |i| scored[i].det.as_ref().unwrap_or(&unvalued),
            cfg.margin(),
            z,
            intervals,
        )
    });
    let scores = Scores {
        spend: pc.spend.take(),
        clv,
        p_alive: Column::from_estimates(
            scored.iter().enumerate().map(|(i, s)| match &boot {
                Some((b, _)) => with_spread(s.p_alive.value, &b.p_alive[i]),
                None => s.p_alive,
            }),
            intervals,
        ),
        expected: Column::from_estimates(
            scored.iter().enumerate().map(|(i, s)| match &boot {
                Some((b, _)) => with_spread(s.expected.value, &b.expected[i]),
                None => s.expected,
            }),
            intervals,
        ),
        boot: boot
            .as_ref()
            .map(|(b, failed)| (a.bootstrap.unwrap_or(0), *failed, b.total)),
        alive_at: a.alive_at_horizon.then(|| {
            scored
                .iter()
                .map(|s| s.alive_at.unwrap_or(f64::NAN))
                .collect()
        }),
        pmf: a.purchase_pmf.map(|_| {
            scored
                .iter()
                .map(|s| s.pmf.clone().unwrap_or_default())
                .collect()
        }),
        ..Scores::empty()
    };
    pc.scored(&scores).write_and_report(
        a,
        &format!("{} with covariates", mf.model),
        unit,
        horizon,
        rate,
    )
}

/// Score a summary file with Pareto/NBD with time-varying covariates (`paretonbd-dyncov`):
/// P(alive), expected purchases over the covariates' path in the window (delta-method
/// intervals over every parameter, as for the plain models), with --alive-at-horizon
/// P(alive at the horizon), and with --spend the expected spend and CLV = margin × spend ×
/// DET, DET discounting each period's expected purchases along the same path. The summaries
/// must end on --end; the grid must cover the window. No bootstrap or purchase distribution.
fn predict_dyncov(a: &PredictArgs, mf: &ModelFile, t_read: Instant) -> Result<(), CliError> {
    let model = crate::dyncov_cli::MODEL;
    if let Some(c) = &a.covariates {
        return Err(CliError::input(format!(
            "--covariates {}: {} has time-varying covariates; give its grid with --time-covariates",
            c.display(),
            a.model.display()
        )));
    }
    let Some(grid) = &a.time_covariates else {
        return Err(CliError::input(format!(
            "{} is a `{model}` model (fitted with time-varying covariates): give the covariate grid covering the prediction window with --time-covariates GRID.csv, and --end YYYY-MM-DD (the day the summaries end)",
            a.model.display()
        )));
    };
    if a.bootstrap.is_some() || a.purchase_pmf.is_some() || log_input::is_log(&a.input) {
        return Err(CliError::input(format!(
            "a `{model}` model scores a summary file with P(alive), expected purchases, --alive-at-horizon and --spend (CLV, with --discount-rate); --bootstrap, --purchase-pmf and Parquet logs are not available with it yet"
        )));
    }
    let end = a.log.end.as_deref().ok_or_else(|| {
        CliError::input(format!(
            "--time-covariates {} needs --end YYYY-MM-DD: the last day the summaries observe, where the prediction window starts",
            grid.display()
        ))
    })?;
    let end = crate::cmd_summarize::parse_date("end", end)?;
    let unit: TimeUnit = mf.time_unit.as_deref().unwrap_or("").parse().map_err(|_| {
        CliError::input(format!(
            "{}: a `{model}` model needs its time unit (time_unit)",
            a.model.display()
        ))
    })?;
    let (horizon, rate) = window_args(a)?;
    let mut pc = PerCustomer::read(a, mf, &horizon, rate.as_ref(), unit, t_read)?;
    let (cfg, z, intervals) = (&pc.cfg, pc.z, pc.intervals);
    let predicted = crate::dyncov_cli::predict(&crate::dyncov_cli::DynPredictInput {
        model_path: &a.model,
        model: mf,
        input: &a.input,
        rows: &pc.rows,
        grid_path: grid,
        end,
        unit,
        horizon: &horizon,
        z: intervals.then_some(z),
        clv: pc.spend.is_some().then_some(cfg),
    })?;
    let (scored, note) = (&predicted.scores, predicted.note.clone());
    let clv = match (&pc.spend, &predicted.det) {
        (Some(sp), Some(det)) => Some(clv_all(sp, |i| &det[i], cfg.margin(), z, intervals)),
        _ => None,
    };
    let scores = Scores {
        spend: pc.spend.take(),
        clv,
        p_alive: Column::from_estimates(scored.iter().map(|s| s.p_alive), intervals),
        expected: Column::from_estimates(scored.iter().map(|s| s.expected_purchases), intervals),
        alive_at: a
            .alive_at_horizon
            .then(|| scored.iter().map(|s| s.p_alive_at_horizon).collect()),
        no_intervals_because: (!a.no_intervals && !intervals).then(|| {
            "the model file has no covariance (its observed information was singular)".into()
        }),
        extra: vec![("time_covariates", "time-varying covariates", note)],
        ..Scores::empty()
    };
    pc.scored(&scores)
        .write_and_report(a, model, unit, &horizon, rate.as_ref())
}

struct Ctx<'a> {
    args: &'a PredictArgs,
    rows: &'a [SummaryRow],
    cfg: &'a ClvConfig,
    h: f64,
    spend: Option<(&'a GammaGammaParams, Option<&'a [Vec<f64>]>)>,
    cov: Option<&'a [Vec<f64>]>,
    z: f64,
    unit: TimeUnit,
}

/// Score every row; purchase predictions (and DET, for CLV) once per distinct (x, t_x, T), then
/// one entry per customer. Points without intervals come from [`tenure_models::RfmModel::score_rows`], which
/// shares work between distinct rows.
fn score_all<M: Resample>(model: &M, c: &Ctx<'_>) -> Result<Scores, CliError> {
    let path = c.args.input.as_path();
    let g = group_rows_of(c.rows, |r| RfmRow {
        x: r.x,
        t_x: r.t_x,
        t: r.t,
    });
    for (j, row) in g.distinct.iter().enumerate() {
        validate_rfm(g.first[j], row).map_err(|e| data_error(path, c.rows, e))?;
    }
    let mut scores = match c.args.bootstrap {
        Some(n) => score_bootstrap(model, c, &g, n)?,
        None => score_points_and_delta(model, c, &g)?,
    };
    if c.args.alive_at_horizon {
        let per: Vec<f64> = g
            .distinct
            .iter()
            .map(|r| model.p_alive_at(c.h, r.x, r.t_x, r.t))
            .collect();
        scores.alive_at = Some(per);
    }
    if let Some(k) = c.args.purchase_pmf {
        let per: Vec<Vec<f64>> = g
            .distinct
            .iter()
            .map(|r| {
                let mut head: Vec<f64> = (0..k)
                    .map(|n| model.prob_future_purchases(c.h, n, r.x, r.t_x, r.t))
                    .collect();
                // P(≥ K) = 1 − P(< K), never below 0 from rounding.
                let rest = (1.0 - head.iter().sum::<f64>()).max(0.0);
                head.push(rest);
                head
            })
            .collect();
        scores.pmf = Some(per);
    }
    scores.rows_of = Some(g.index);
    Ok(scores)
}

/// Points, and delta-method intervals when the model file has a covariance.
fn score_points_and_delta<M: Resample>(
    model: &M,
    c: &Ctx<'_>,
    g: &Grouping,
) -> Result<Scores, CliError> {
    let path = c.args.input.as_path();
    let cov = c.cov.filter(|_| !c.args.no_intervals);
    let theta = model.params();
    let mut det = Vec::with_capacity(if c.spend.is_some() {
        g.distinct.len()
    } else {
        0
    });
    let (p_alive, expected) = match cov {
        Some(cov) => {
            let (p, e): (Vec<Estimate>, Vec<Estimate>) = g
                .distinct
                .iter()
                .map(|row| {
                    let (x, tx, t) = (row.x, row.t_x, row.t);
                    let p = delta_method(
                        |th| model.with_params(th).p_alive(x, tx, t),
                        &theta,
                        cov,
                        Scale::Logit,
                        c.z,
                    );
                    let e = delta_method(
                        |th| {
                            model
                                .with_params(th)
                                .conditional_expected_purchases(c.h, x, tx, t)
                        },
                        &theta,
                        cov,
                        Scale::Log,
                        c.z,
                    );
                    (p, e)
                })
                .unzip();
            (
                Column::from_estimates(p.into_iter(), true),
                Column::from_estimates(e.into_iter(), true),
            )
        }
        None => {
            let (p, e) = model.score_rows(c.h, &g.distinct).into_iter().unzip();
            (Column::points(p), Column::points(e))
        }
    };
    if c.spend.is_some() {
        for row in &g.distinct {
            det.push(match cov {
                Some(cov) => det_estimate(model, row, c.cfg, cov, c.z),
                None => point(
                    discounted_expected_purchases(model, row, c.cfg)
                        .map_err(|e| CliError::failure(e.to_string()))?,
                ),
            });
        }
    }
    let (spend, clv) = match c.spend {
        None => (None, None),
        Some((gg, gcov)) => {
            let gcov = gcov.filter(|_| cov.is_some());
            let spend = spend_all(path, c.rows, gg, gcov, c.z)?;
            let clv = clv_all(
                &spend,
                |i| &det[g.index[i] as usize],
                c.cfg.margin(),
                c.z,
                cov.is_some(),
            );
            (Some(spend), Some(clv))
        }
    };
    Ok(Scores {
        p_alive,
        expected,
        rows_of: None,
        spend,
        clv,
        boot: None,
        alive_at: None,
        pmf: None,
        no_intervals_because: None,
        extra: Vec::new(),
    })
}

/// [`score_all`] with parametric-bootstrap intervals: replicates drawn like the input (every
/// customer's T, recencies on a one-day grid), each customer's predictions scored under every
/// replicate, percentile intervals; the points are the model's own.
fn score_bootstrap<M: Resample>(
    model: &M,
    c: &Ctx<'_>,
    g: &Grouping,
    n: usize,
) -> Result<Scores, CliError> {
    let mut counts = vec![0.0; g.distinct.len()];
    let mut ages = Vec::with_capacity(c.rows.len());
    for (i, r) in c.rows.iter().enumerate() {
        counts[g.index[i] as usize] += r.weight;
        ages.extend(std::iter::repeat_n(r.t, r.weight.round().max(0.0) as usize));
    }
    let opts = BootstrapOptions {
        replications: n,
        seed: c.args.seed,
        grid: Some(1.0 / c.unit.days()),
        threads: 0,
    };
    let bar = crate::progress::bar(n as u64, "bootstrap");
    let reps = replicate(model, &ages, &opts, &|d| bar.set_position(d as u64));
    bar.finish_and_clear();
    if reps.params.len() < 2 {
        return Err(CliError::failure(format!(
            "--bootstrap: {} of {n} replicates could not be refitted",
            reps.failed
        )));
    }
    let (spreads, total) = prediction_spreads::<M>(&reps, c.h, &g.distinct, &counts, c.args.level);
    let points = model.score_rows(c.h, &g.distinct);
    let (p_alive, expected): (Vec<Estimate>, Vec<Estimate>) = points
        .iter()
        .zip(&spreads)
        .map(|(&(p, e), (sp, se))| (with_spread(p, sp), with_spread(e, se)))
        .unzip();
    Ok(Scores {
        p_alive: Column::from_estimates(p_alive.into_iter(), true),
        expected: Column::from_estimates(expected.into_iter(), true),
        rows_of: None,
        spend: None,
        clv: None,
        boot: Some((reps.params.len() + reps.failed, reps.failed, total)),
        alive_at: None,
        pmf: None,
        no_intervals_because: None,
        extra: Vec::new(),
    })
}

/// A point with a bootstrap spread's sd and percentile interval.
fn with_spread(value: f64, s: &Spread) -> Estimate {
    Estimate {
        value,
        se: s.sd,
        lower: s.lower,
        upper: s.upper,
    }
}

fn spend_estimate(
    gg: &GammaGammaParams,
    cov: Option<&[Vec<f64>]>,
    x: f64,
    m: f64,
    z: f64,
) -> Result<Estimate, String> {
    let value = gg
        .conditional_expected_spend(x, m)
        .map_err(|e| e.to_string())?;
    Ok(match cov {
        Some(cov) => delta_method(
            |t| {
                GammaGammaParams {
                    p: t[0],
                    q: t[1],
                    gamma: t[2],
                }
                .conditional_expected_spend(x, m)
                .unwrap_or(f64::NAN)
            },
            &[gg.p, gg.q, gg.gamma],
            cov,
            Scale::Log,
            z,
        ),
        None => point(value),
    })
}

/// The output CSV, one row per customer in input order, written to `w` in pieces of about
/// [`CHUNK_BYTES`].
fn render_csv(
    rows: &[SummaryRow],
    scores: &Scores,
    intervals: bool,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut s = String::with_capacity(CHUNK_BYTES + 4096);
    let has_spend = scores.spend.is_some();
    s.push_str("customer_id,p_alive");
    if intervals {
        s.push_str(",p_alive_lower,p_alive_upper");
    }
    s.push_str(",expected_purchases");
    if intervals {
        s.push_str(",expected_purchases_lower,expected_purchases_upper");
    }
    if scores.alive_at.is_some() {
        s.push_str(",p_alive_at_horizon");
    }
    if let Some(first) = scores.pmf.as_ref().and_then(|p| p.first()) {
        let k = first.len() - 1;
        for n in 0..k {
            let _ = write!(s, ",p_purchases_{n}");
        }
        let _ = write!(s, ",p_purchases_{k}_plus");
    }
    if has_spend {
        s.push_str(",expected_spend");
        if intervals {
            s.push_str(",expected_spend_lower,expected_spend_upper");
        }
        s.push_str(",clv");
        if intervals {
            s.push_str(",clv_lower,clv_upper");
        }
    }
    s.push('\n');
    let est = |s: &mut String, e: &Estimate| {
        push_num(s, e.value);
        if intervals {
            push_num(s, e.lower);
            push_num(s, e.upper);
        }
    };
    // The columns of a scored row (P(alive), expected purchases, P(alive at the horizon), the
    // purchase pmf) as text, formatted once per scored row: customers sharing a row share it.
    let scored = match &scores.rows_of {
        Some(_) => scores.p_alive.value.len(),
        None => rows.len(),
    };
    let mut shared = String::with_capacity(scored * if intervals { 120 } else { 40 });
    let mut ends = Vec::with_capacity(scored + 1);
    ends.push(0);
    for j in 0..scored {
        est(&mut shared, &scores.p_alive.get(j));
        est(&mut shared, &scores.expected.get(j));
        if let Some(a) = &scores.alive_at {
            push_num(&mut shared, a[j]);
        }
        if let Some(p) = &scores.pmf {
            for v in &p[j] {
                push_num(&mut shared, *v);
            }
        }
        ends.push(shared.len());
    }
    for (i, r) in rows.iter().enumerate() {
        push_csv_field(&mut s, &r.id);
        let j = scores.row(i);
        s.push_str(&shared[ends[j]..ends[j + 1]]);
        if let (Some(sp), Some(clv)) = (scores.spend(i), scores.clv(i)) {
            est(&mut s, sp);
            est(&mut s, clv);
        }
        s.push('\n');
        if s.len() >= CHUNK_BYTES {
            w.write_all(s.as_bytes())?;
            s.clear();
        }
    }
    w.write_all(s.as_bytes())
}

/// How much output [`render_csv`] collects before handing it to the writer.
const CHUNK_BYTES: usize = 1 << 20;

/// A CSV cell for a number: `,` and the shortest representation that reads back to the same
/// f64; `,` alone (an empty cell) for NaN and infinities.
pub(crate) fn push_num(s: &mut String, v: f64) {
    s.push(',');
    if v.is_finite() {
        let _ = write!(s, "{v}");
    }
}

/// A text CSV cell: as it is, or quoted (inner quotes doubled) when it holds a comma, a quote
/// or a line break.
pub(crate) fn push_csv_field(s: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        s.push('"');
        s.push_str(&field.replace('"', "\"\""));
        s.push('"');
    } else {
        s.push_str(field);
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    a: &PredictArgs,
    model: &str,
    unit: TimeUnit,
    horizon: &Duration,
    rate: Option<&Rate>,
    rows: &[SummaryRow],
    scores: &Scores,
    ms: [f64; 3],
    warm_ms: Option<f64>,
) {
    let n = scores.len();
    let mean_alive = (0..n).map(|i| scores.p_alive(i).value).sum::<f64>() / n as f64;
    let total_purchases: f64 = (0..n).map(|i| scores.expected(i).value).sum();
    let total_clv: Option<f64> = scores.clv.as_ref().map(|v| v.iter().map(|c| c.value).sum());
    let method = if a.no_intervals {
        "none".to_string()
    } else if let Some(why) = &scores.no_intervals_because {
        format!("none: {why}")
    } else if let Some((n, failed, _)) = scores.boot {
        format!(
            "parametric bootstrap ({n} replications, {failed} failed, seed {}), percentile, {}%",
            a.seed,
            num(a.level * 100.0, 3)
        )
    } else {
        format!(
            "delta method (observed information), {}%",
            num(a.level * 100.0, 3)
        )
    };
    let discount = rate.map(|r| r.to_string()).unwrap_or_else(|| "none".into());
    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "model": model,
                "output": a.output.display().to_string(),
                "customers": rows.len(),
                "time_unit": unit.name(),
                "horizon": { "amount": horizon.amount(), "unit": horizon.unit().name(),
                             "in_model_unit": horizon.in_unit(unit) },
                "discount_rate": rate.map(|r| serde_json::json!({
                    "value": r.value(), "per": { "amount": r.per().amount(), "unit": r.per().unit().name() } })),
                "margin": a.margin,
                "mean_p_alive": mean_alive,
                "total_expected_purchases": total_purchases,
                "total_expected_purchases_interval": scores.boot.map(|(_, _, s)| serde_json::json!({
                    "sd": s.sd, "lower": s.lower, "upper": s.upper })),
                "total_clv": total_clv,
                "intervals": method,
                "elapsed_ms": { "read": ms[0], "score": ms[1], "write": ms[2] },
            });
            let mut v = v;
            if let (Some(w), Some(e)) = (warm_ms, v["elapsed_ms"].as_object_mut()) {
                e.insert("score_warm".into(), w.into());
            }
            if let Some(o) = v.as_object_mut() {
                for (key, _, value) in &scores.extra {
                    o.insert((*key).into(), value.clone().into());
                }
            }
            println!("{v}");
        }
        Format::Table => {
            let mut t = Table::new(&["prediction", "value"]);
            t.row(vec!["model".into(), model.into()]);
            t.row(vec!["customers".into(), rows.len().to_string()]);
            t.row(vec![
                "horizon".into(),
                format!(
                    "{horizon} (= {} {})",
                    num(horizon.in_unit(unit), 6),
                    unit.name()
                ),
            ]);
            for (_, label, value) in &scores.extra {
                t.row(vec![(*label).into(), value.clone()]);
            }
            t.row(vec!["mean P(alive)".into(), num(mean_alive, 4)]);
            t.row(vec![
                format!("expected purchases in the next {horizon}"),
                match scores.boot {
                    Some((_, _, s)) => format!(
                        "{} ({} – {})",
                        num(total_purchases, 6),
                        num(s.lower, 6),
                        num(s.upper, 6)
                    ),
                    None => num(total_purchases, 6),
                },
            ]);
            if let Some(c) = total_clv {
                t.row(vec!["discount rate".into(), discount]);
                t.row(vec!["margin".into(), num(a.margin, 4)]);
                t.row(vec!["total CLV (input currency)".into(), format!("{c:.2}")]);
            }
            t.row(vec!["intervals".into(), method]);
            t.row(vec!["output".into(), a.output.display().to_string()]);
            print!("{}", t.render());
            print_top(rows, scores, horizon);
        }
    }
}

/// The ten customers with the highest CLV (or expected purchases without a spend model).
fn print_top(rows: &[SummaryRow], scores: &Scores, horizon: &Duration) {
    let key = |i: usize| {
        scores
            .clv(i)
            .map(|c| c.value)
            .unwrap_or(scores.expected(i).value)
    };
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&i, &j| key(j).total_cmp(&key(i)).then(i.cmp(&j)));
    let has_clv = scores.clv.is_some();
    let exp = format!("E[purchases, {horizon}]");
    let mut head = vec!["customer", "P(alive)", exp.as_str()];
    if has_clv {
        head.extend(["E[spend]", "CLV", "CLV interval"]);
    }
    let mut t = Table::new(&head);
    for &i in idx.iter().take(10) {
        let mut cells = vec![
            rows[i].id.clone(),
            num(scores.p_alive(i).value, 3),
            num(scores.expected(i).value, 4),
        ];
        if let (Some(sp), Some(c)) = (scores.spend(i), scores.clv(i)) {
            cells.push(format!("{:.2}", sp.value));
            cells.push(format!("{:.2}", c.value));
            cells.push(if c.lower.is_finite() {
                format!("{:.2} – {:.2}", c.lower, c.upper)
            } else {
                "-".into()
            });
        }
        t.row(cells);
    }
    println!(
        "\nTop customers by {}:",
        if has_clv { "CLV" } else { "expected purchases" }
    );
    print!("{}", t.render());
}

/// Score a Parquet transaction log on the engine (this machine, or a cluster's executors, which
/// also write the file); see [`tenure_engine::score_parquet`].
fn predict_log(
    a: &PredictArgs,
    mf: &ModelFile,
    kind: ModelKind,
    unit: TimeUnit,
    horizon: &Duration,
) -> Result<(), CliError> {
    let started = Instant::now();
    let names: &[&str] = match kind {
        ModelKind::Bgnbd | ModelKind::Mbgnbd => &["r", "alpha", "a", "b"],
        ModelKind::Paretonbd => &["r", "alpha", "s", "beta"],
        other => {
            return Err(CliError::input(format!(
                "{}: a transaction log is scored with bgnbd, paretonbd or mbgnbd models, not `{}`",
                a.model.display(),
                other.name()
            )))
        }
    };
    if a.spend.is_some() || a.discount_rate.is_some() {
        return Err(CliError::input(format!(
            "{} is a transaction log: --spend and --discount-rate need a summary file (`tenure summarize`)",
            a.input.display()
        )));
    }
    if !a
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    {
        return Err(CliError::input(format!(
            "--output {}: scores of a transaction log are written as Parquet; name the file *.parquet",
            a.output.display()
        )));
    }
    let th = mf.params_in_order(&a.model, names)?;
    let spec = tenure_engine::ScoreSpec {
        model: kind.name().to_string(),
        params: [th[0], th[1], th[2], th[3]],
        horizon: horizon.in_unit(unit),
    };
    let config = a.log.config(&a.input, unit)?;
    let cols = a.log.columns();
    crate::cmd_summarize::quiet_parquet_panics();
    let (rows, used) = match a.log.client()? {
        Some(client) => (
            client
                .score_parquet(&a.input, &cols, &config, &spec, &a.output)
                .map_err(log_input::engine_error)?,
            None,
        ),
        None => {
            let (n, used) =
                tenure_engine::score_parquet(&a.input, &cols, &config, &spec, &a.output)
                    .map_err(inputs::engine_error)?;
            (n, Some(used))
        }
    };
    let engine = a.log.describe(used.as_ref());
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match a.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "model": mf.model,
                "output": a.output.display().to_string(),
                "customers": rows,
                "horizon": horizon.to_string(),
                "time_unit": unit.name(),
                "calibration_end": config.calibration_end.to_string(),
                "engine": engine,
                "elapsed_ms": { "total": ms },
            })
        ),
        Format::Table => {
            let mut t = Table::new(&["scores", "value"]);
            t.row(vec![
                "output (Parquet)".into(),
                a.output.display().to_string(),
            ]);
            t.row(vec!["customers".into(), rows.to_string()]);
            t.row(vec!["model".into(), mf.model.clone()]);
            t.row(vec![
                "horizon".into(),
                format!("{horizon} ({} {})", num(spec.horizon, 6), unit.name()),
            ]);
            t.row(vec![
                "calibration end (inclusive)".into(),
                config.calibration_end.to_string(),
            ]);
            t.row(vec!["engine".into(), engine]);
            t.row(vec!["time".into(), format!("{:.1} s", ms / 1000.0)]);
            print!("{}", t.render());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{push_csv_field, push_num};

    #[test]
    fn cells_read_back_as_written() {
        let mut s = String::new();
        for v in [0.1 + 0.2, 1.0, -0.0025, f64::NAN, f64::INFINITY] {
            push_num(&mut s, v);
        }
        assert_eq!(s, ",0.30000000000000004,1,-0.0025,,");
        let mut s = String::new();
        for id in ["C1", "a,b", "say \"hi\"", "two\nlines"] {
            push_csv_field(&mut s, id);
            s.push(';');
        }
        assert_eq!(s, "C1;\"a,b\";\"say \"\"hi\"\"\";\"two\nlines\";");
    }
}
