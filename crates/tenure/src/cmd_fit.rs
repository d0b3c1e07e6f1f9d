//! `tenure fit MODEL --input FILE`: maximum-likelihood fit, printed as a table or one JSON
//! object, optionally saved as a model file for `tenure predict`.

use crate::covariate_cli::{self, CovFitted, CovariateArgs};
use crate::error::CliError;
use crate::inputs::{self, data_error};
use crate::log_input::{self, LogArgs};
use crate::model_file::{InputReport, ModelFile};
use crate::table::{num, Table};
use crate::timing::{fastest_repeat, ms_since};
use crate::{write_atomically, Format};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tenure_core::TimeUnit;
use tenure_models::bgbb::{fit_bgbb, BgBbData, BgBbRow};
use tenure_models::bgnbd::BgNbdParams;
use tenure_models::bootstrap::{
    ages_of, parameter_spreads, replicate, BootstrapOptions, Replicates, Resample, Spread,
};
use tenure_models::fit::normal_quantile_two_sided;
use tenure_models::gammagamma::{fit_gammagamma, SpendData, SpendRow};
use tenure_models::ggomnbd::GGomNbdParams;
use tenure_models::mbgnbd::MbgNbdParams;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::paretonbd_cor::CorrelatedParams;
use tenure_models::sbg::{fit_sbg_records, fit_sbg_survival, SbgRecords, SurvivalSeries};
use tenure_models::{bgnbd, mbgnbd, paretonbd, Fit, FitOptions, ModelError, Rfm, RfmRow};

/// The models `tenure fit` knows, by their command-line names.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// BG/NBD (Fader, Hardie & Lee 2005): params r, alpha, a, b.
    Bgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987): params r, alpha, s, beta.
    Paretonbd,
    /// MBG/NBD (Batislam, Denizel & Filiztekin 2007): params r, alpha, a, b.
    Mbgnbd,
    /// GGom/NBD (Bemmaor & Glady 2012), Gompertz lifetimes: params r, alpha, b, s, beta.
    Ggomnbd,
    /// Pareto/NBD with correlated purchase and dropout rates (Glady, Lemmens & Croux 2015;
    /// Sarmanov): params r, alpha, s, beta and u, which places ω in its bounds; the table and
    /// JSON add ω and corr(λ, μ) with a delta-method interval.
    #[value(name = "paretonbd-cor")]
    ParetonbdCor,
    /// BG/BB (Fader, Hardie & Shang 2010), discrete opportunities: alpha, beta, gamma, delta.
    Bgbb,
    /// Gamma-Gamma spend (Fader, Hardie & Lee 2005; Fader & Hardie 2013): p, q, gamma.
    Gammagamma,
    /// Shifted-beta-geometric (Fader & Hardie 2007), contracts: alpha, beta.
    Sbg,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Bgnbd => "bgnbd",
            ModelKind::Paretonbd => "paretonbd",
            ModelKind::Mbgnbd => "mbgnbd",
            ModelKind::Ggomnbd => "ggomnbd",
            ModelKind::ParetonbdCor => "paretonbd-cor",
            ModelKind::Bgbb => "bgbb",
            ModelKind::Gammagamma => "gammagamma",
            ModelKind::Sbg => "sbg",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            ModelKind::Bgnbd => "BG/NBD (Fader, Hardie & Lee 2005)",
            ModelKind::Paretonbd => "Pareto/NBD (Schmittlein, Morrison & Colombo 1987)",
            ModelKind::Mbgnbd => "MBG/NBD (Batislam, Denizel & Filiztekin 2007)",
            ModelKind::Ggomnbd => "GGom/NBD (Bemmaor & Glady 2012)",
            ModelKind::ParetonbdCor => {
                "Pareto/NBD with correlated rates (Glady, Lemmens & Croux 2015)"
            }
            ModelKind::Bgbb => "BG/BB (Fader, Hardie & Shang 2010)",
            ModelKind::Gammagamma => "Gamma-Gamma spend (Fader, Hardie & Lee 2005)",
            ModelKind::Sbg => "shifted-beta-geometric (Fader & Hardie 2007)",
        }
    }
    pub fn from_name(s: &str) -> Option<ModelKind> {
        <ModelKind as ValueEnum>::from_str(s, true).ok()
    }
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// Which model to fit.
    #[arg(value_enum)]
    pub model: ModelKind,
    /// Input file. Recency-frequency models: customer_id, frequency, recency, T (or ID, x, t_x,
    /// T), or a Parquet transaction log (a file or a directory; with --end), reduced by the
    /// engine to its distinct (frequency, recency, T) rows with customer counts; Gamma-Gamma: frequency and monetary_value (or x, zbar), rows with frequency 0 are
    /// skipped; BG/BB: frequency, recency, periods[, weights]; sBG: a survival series (a period
    /// column and a column of active customers, counts or percentages) or per-customer records
    /// (tenure, churned).
    #[arg(long)]
    pub input: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Save the fitted model (JSON) here, for `tenure predict`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Unit of the times in the input (recency-frequency models): days, weeks, months, years.
    /// For sBG, the length of one period (e.g. years); BG/BB counts opportunities.
    #[arg(long)]
    pub time_unit: Option<String>,
    /// sBG survival series: the column of active customers (default: the second column).
    #[arg(long)]
    pub column: Option<String>,
    /// sBG survival series in percent: the cohort size the percentages are of.
    #[arg(long)]
    pub cohort_size: Option<f64>,
    /// sBG survival series: use periods 0..=K only (e.g. 7 to fit years 0–7).
    #[arg(long)]
    pub periods: Option<usize>,
    /// Confidence level of the parameter intervals in the table.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Also run a parametric bootstrap with this many replications (bgnbd, paretonbd, mbgnbd,
    /// ggomnbd, paretonbd-cor, and bgnbd, paretonbd, ggomnbd with --covariates; summary files): populations drawn from
    /// the fit with every customer's T (and covariates), recencies on a grid of whole days,
    /// each refitted; reports each parameter's bootstrap standard deviation and percentile
    /// interval at --level beside the observed-information ones.
    #[arg(long, value_name = "N")]
    pub bootstrap: Option<usize>,
    /// Seed of the bootstrap's draws (same seed, same replicates, whatever the thread count).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Fitting straight from a Parquet transaction log (bgnbd, paretonbd, mbgnbd).
    #[command(flatten)]
    pub log: LogArgs,
    /// Time-invariant covariates (bgnbd, paretonbd; summary files).
    #[command(flatten)]
    pub cov: CovariateArgs,
    /// Benchmarking: after the timed fit, run the same step (validation, grouping, optimisation,
    /// standard errors) N more times in this process and report the fastest as
    /// `elapsed_ms.fit_warm` (as when a library's fit is called repeatedly); the result is the
    /// first fit's. Summary files with bgnbd, paretonbd, mbgnbd, ggomnbd, paretonbd-cor and
    /// gammagamma, without covariates.
    #[arg(long, value_name = "N")]
    pub repeat_fit: Option<usize>,
}

/// A finished fit with what the reports need.
pub struct Fitted {
    pub kind: ModelKind,
    pub fit: Fit,
    pub rows: usize,
    pub distinct: usize,
    pub time_unit: Option<String>,
    pub extra: Vec<(String, String)>,
    /// The grouped rows of a recency-frequency fit of a summary file (for `--bootstrap`).
    pub data: Option<Rfm>,
    /// Milliseconds spent reading and parsing the input file.
    pub read_ms: f64,
    /// Milliseconds from the parsed rows to the finished fit: validation, grouping,
    /// optimisation and standard errors (not reading, not writing, not releasing the rows).
    pub fit_ms: f64,
    /// With --repeat-fit: the fastest repeat of the same step, in milliseconds.
    pub fit_warm_ms: Option<f64>,
    /// A fit with covariates (`--covariates`): `fit` is then its fit, names and all.
    pub covariates: Option<CovFitted>,
    /// A Pareto/NBD fit with time-varying covariates (`--time-covariates`).
    pub dynamic: bool,
}

fn model_err(path: &Path, rows: &[tenure_engine::SummaryRow], e: ModelError) -> CliError {
    match e {
        ModelError::Data(d) => data_error(path, rows, d),
        ModelError::Fit(f) => CliError::failure(format!("{}: {f}", path.display())),
    }
}

fn rfm_unit(a: &FitArgs) -> Result<TimeUnit, CliError> {
    a.time_unit
        .as_deref()
        .unwrap_or("weeks")
        .parse()
        .map_err(|e| CliError::input(format!("--time-unit: {e}")))
}

/// Read the input and fit; no printing.
pub fn fit_file(a: &FitArgs) -> Result<Fitted, CliError> {
    let opts = FitOptions::default();
    let path = a.input.as_path();
    if a.repeat_fit.is_some()
        && (log_input::is_log(path)
            || a.cov.covariates.is_some()
            || a.cov.time_covariates.is_some()
            || matches!(a.model, ModelKind::Bgbb | ModelKind::Sbg))
    {
        return Err(CliError::input(
            "--repeat-fit times the fit of a summary file by bgnbd, paretonbd, mbgnbd, ggomnbd, paretonbd-cor or gammagamma without covariates",
        ));
    }
    if log_input::is_log(path)
        && !matches!(
            a.model,
            ModelKind::Bgnbd | ModelKind::Paretonbd | ModelKind::Mbgnbd
        )
    {
        return Err(CliError::input(format!(
            "{} is a Parquet transaction log: `tenure fit {}` reads a summary file (`tenure summarize` makes one); logs are read directly by bgnbd, paretonbd and mbgnbd",
            path.display(),
            a.model.name()
        )));
    }
    if let Some(grid) = &a.cov.time_covariates {
        if a.model != ModelKind::Paretonbd {
            return Err(CliError::input(format!(
                "--time-covariates {}: time-varying covariates are for paretonbd",
                grid.display()
            )));
        }
        return fit_dynamic(a, grid);
    }
    if let Some(cov) = &a.cov.covariates {
        if !matches!(
            a.model,
            ModelKind::Bgnbd | ModelKind::Paretonbd | ModelKind::Ggomnbd
        ) || log_input::is_log(path)
        {
            return Err(CliError::input(format!(
                "--covariates {}: covariate fits are for bgnbd, paretonbd and ggomnbd on a summary file",
                cov.display()
            )));
        }
        return fit_with_covariates(a, cov);
    }
    if !a.cov.trans.is_empty() || !a.cov.life.is_empty() || !a.cov.constrain.is_empty() {
        return Err(CliError::input(
            "--trans, --life and --constrain name columns of the --covariates file",
        ));
    }
    match a.model {
        ModelKind::Bgnbd | ModelKind::Paretonbd | ModelKind::Mbgnbd if log_input::is_log(path) => {
            fit_log(a, &opts)
        }
        ModelKind::Bgnbd
        | ModelKind::Paretonbd
        | ModelKind::Mbgnbd
        | ModelKind::Ggomnbd
        | ModelKind::ParetonbdCor => {
            let unit = rfm_unit(a)?;
            let t0 = Instant::now();
            let rows = inputs::summaries(path)?;
            let read_ms = ms_since(t0);
            // Timed: from the parsed rows to the finished fit (validation, grouping,
            // optimisation, standard errors). The rows are released after the clock stops.
            let t_fit = Instant::now();
            let step = || -> Result<(Rfm, Fit), CliError> {
                let data = Rfm::from_rows(&rows, |r| {
                    (
                        RfmRow {
                            x: r.x,
                            t_x: r.t_x,
                            t: r.t,
                        },
                        r.weight,
                    )
                })
                .map_err(|e| data_error(path, &rows, e))?;
                let fit = fit_rfm(a.model, &data, &opts).map_err(|e| model_err(path, &rows, e))?;
                Ok((data, fit))
            };
            let (data, fit) = step()?;
            let fit_ms = ms_since(t_fit);
            let fit_warm_ms = fastest_repeat(a.repeat_fit, step)?;
            let extra = if a.model == ModelKind::ParetonbdCor {
                correlation_lines(&fit, a.level)
            } else {
                vec![]
            };
            Ok(Fitted {
                kind: a.model,
                fit,
                rows: rows.len(),
                distinct: data.distinct(),
                time_unit: Some(unit.name().to_string()),
                extra,
                data: Some(data),
                read_ms,
                fit_ms,
                fit_warm_ms,
                covariates: None,
                dynamic: false,
            })
        }
        ModelKind::Bgbb => {
            let t0 = Instant::now();
            let rows = inputs::summaries(path)?;
            let read_ms = ms_since(t0);
            let t_fit = Instant::now();
            let data = BgBbData::weighted(rows.iter().map(|r| {
                (
                    BgBbRow {
                        x: r.x,
                        t_x: r.t_x,
                        n: r.t,
                    },
                    r.weight,
                )
            }))
            .map_err(|e| data_error(path, &rows, e))?;
            let (_, fit) = fit_bgbb(&data, &opts).map_err(|e| model_err(path, &rows, e))?;
            let fit_ms = ms_since(t_fit);
            Ok(Fitted {
                kind: a.model,
                fit,
                rows: rows.len(),
                distinct: data.distinct(),
                time_unit: Some("opportunities".into()),
                extra: vec![],
                data: None,
                read_ms,
                fit_ms,
                fit_warm_ms: None,
                covariates: None,
                dynamic: false,
            })
        }
        ModelKind::Gammagamma => {
            let t0 = Instant::now();
            let rows = inputs::summaries(path)?;
            let read_ms = ms_since(t0);
            let t_fit = Instant::now();
            let no_monetary = || {
                CliError::input(format!(
                    "{}: the Gamma-Gamma model needs a `monetary_value` (or `zbar`) column",
                    path.display()
                ))
            };
            // A file has a monetary value in every row or in none. Should a row lack one all
            // the same, it reads as NaN, which validation rejects at that row.
            if rows.first().is_some_and(|r| r.monetary.is_none()) {
                return Err(no_monetary());
            }
            let step = || -> Result<(SpendData, Fit), CliError> {
                let data = SpendData::repeat_buyers_from(&rows, |r| {
                    (
                        SpendRow {
                            x: r.x,
                            mean_spend: r.monetary.unwrap_or(f64::NAN),
                        },
                        r.weight,
                    )
                })
                .map_err(|e| match e.row().and_then(|i| rows.get(i)) {
                    Some(r) if r.monetary.is_none() => no_monetary(),
                    _ => data_error(path, &rows, e),
                })?;
                let (_, fit) =
                    fit_gammagamma(&data, &opts).map_err(|e| model_err(path, &rows, e))?;
                Ok((data, fit))
            };
            let (data, fit) = step()?;
            let fit_ms = ms_since(t_fit);
            let fit_warm_ms = fastest_repeat(a.repeat_fit, step)?;
            Ok(Fitted {
                kind: a.model,
                fit,
                rows: rows.len(),
                distinct: data.distinct(),
                time_unit: None,
                extra: vec![(
                    "rows skipped (frequency 0)".into(),
                    data.skipped().to_string(),
                )],
                data: None,
                read_ms,
                fit_ms,
                fit_warm_ms,
                covariates: None,
                dynamic: false,
            })
        }
        ModelKind::Sbg => fit_sbg_file(a),
    }
}

/// ω and corr(λ, μ) of a correlated Pareto/NBD fit, the correlation with its delta-method
/// interval at `level` (linear scale).
fn correlation_lines(fit: &Fit, level: f64) -> Vec<(String, String)> {
    use tenure_models::paretonbd_cor::params_of;
    let p = params_of(&fit.params);
    let corr = match &fit.covariance {
        Some(c) => tenure_models::fit::delta_method(
            |t| params_of(t).correlation(),
            &fit.params,
            c,
            tenure_models::Scale::Linear,
            normal_quantile_two_sided(level),
        ),
        None => tenure_models::fit::Estimate {
            value: p.correlation(),
            se: f64::NAN,
            lower: f64::NAN,
            upper: f64::NAN,
        },
    };
    let text = if omega_at_bound(fit) {
        format!(
            "{} — at the bound of what the Sarmanov density allows with these parameters (the data may want a stronger correlation); no interval",
            num(corr.value, 4)
        )
    } else {
        format!(
            "{} (se {}, {}%: {} to {})",
            num(corr.value, 4),
            num(corr.se, 3),
            level * 100.0,
            num(corr.lower, 4),
            num(corr.upper, 4)
        )
    };
    vec![
        ("omega (Sarmanov)".into(), num(p.omega, 6)),
        ("corr(λ, μ)".into(), text),
    ]
}

/// Whether the correlated fit's ω sits at an end of its interval (u so large that the
/// logistic map is flat): then the optimum is on the boundary and intervals mean nothing.
fn omega_at_bound(fit: &Fit) -> bool {
    fit.params.get(4).is_some_and(|u| u.abs() > 14.0)
}

/// ω and corr(λ, μ) with its delta-method interval, for `--format json`.
fn correlation_json(fit: &Fit, level: f64) -> serde_json::Value {
    use tenure_models::paretonbd_cor::params_of;
    let p = params_of(&fit.params);
    let fin = |v: f64| {
        if v.is_finite() {
            serde_json::json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    let e = fit.covariance.as_ref().map(|c| {
        tenure_models::fit::delta_method(
            |t| params_of(t).correlation(),
            &fit.params,
            c,
            tenure_models::Scale::Linear,
            normal_quantile_two_sided(level),
        )
    });
    let bound = omega_at_bound(fit);
    let e = e.filter(|_| !bound);
    serde_json::json!({
        "omega": fin(p.omega),
        "correlation": fin(p.correlation()),
        "at_bound": bound,
        "se": e.map(|e| fin(e.se)),
        "lower": e.map(|e| fin(e.lower)),
        "upper": e.map(|e| fin(e.upper)),
        "level": level,
        "method": "delta method (observed information)",
    })
}

/// Pareto/NBD with time-varying covariates: a transaction log and a grid file.
fn fit_dynamic(a: &FitArgs, grid: &Path) -> Result<Fitted, CliError> {
    let path = a.input.as_path();
    let unit = rfm_unit(a)?;
    let end = a.log.end.as_deref().ok_or_else(|| {
        CliError::input("--time-covariates needs --end YYYY-MM-DD (the last day observed)")
    })?;
    let end = crate::cmd_summarize::parse_date("end", end)?;
    let columns = tenure_engine::CsvColumns {
        customer_id: a.log.customer_column.clone(),
        date: a.log.date_column.clone(),
        amount: None,
        delimiter: b',',
    };
    let format =
        tenure_engine::TransactionFormat::detect(path, columns).map_err(inputs::engine_error)?;
    let t0 = Instant::now();
    let d = crate::dyncov_cli::fit(path, &format, grid, end, unit, &a.cov)?;
    let fit_ms = ms_since(t0);
    Ok(Fitted {
        kind: a.model,
        fit: d.fit.fit.clone(),
        rows: d.customers,
        distinct: d.customers,
        time_unit: Some(unit.name().to_string()),
        extra: d.extra,
        data: None,
        read_ms: 0.0,
        fit_ms,
        fit_warm_ms: None,
        covariates: None,
        dynamic: true,
    })
}

/// A BG/NBD or Pareto/NBD fit with covariates from `--covariates`.
fn fit_with_covariates(a: &FitArgs, cov: &Path) -> Result<Fitted, CliError> {
    let path = a.input.as_path();
    let unit = rfm_unit(a)?;
    let t0 = Instant::now();
    let rows = inputs::summaries(path)?;
    let read_ms = ms_since(t0);
    let t_fit = Instant::now();
    let model = match a.model {
        ModelKind::Bgnbd => tenure_models::covariates::CovariateModel::BgNbd,
        ModelKind::Ggomnbd => tenure_models::covariates::CovariateModel::GGomNbd,
        _ => tenure_models::covariates::CovariateModel::ParetoNbd,
    };
    let c = covariate_cli::fit(model, path, &rows, &a.cov, cov)?;
    let fit_ms = ms_since(t_fit);
    Ok(Fitted {
        kind: a.model,
        fit: c.fit.fit.clone(),
        rows: rows.len(),
        distinct: c.distinct,
        time_unit: Some(unit.name().to_string()),
        extra: vec![("covariates".into(), cov.display().to_string())],
        data: None,
        read_ms,
        fit_ms,
        fit_warm_ms: None,
        covariates: Some(c),
        dynamic: false,
    })
}

/// Fit a recency-frequency model (BG/NBD, Pareto/NBD, GGom/NBD, or MBG/NBD for any other kind).
pub(crate) fn fit_rfm(kind: ModelKind, data: &Rfm, opts: &FitOptions) -> Result<Fit, ModelError> {
    match kind {
        ModelKind::Bgnbd => bgnbd::fit_bgnbd(data, opts).map(|f| f.1),
        ModelKind::Paretonbd => paretonbd::fit_paretonbd(data, opts).map(|f| f.1),
        ModelKind::Ggomnbd => tenure_models::ggomnbd::fit_ggomnbd(data, opts).map(|f| f.1),
        ModelKind::ParetonbdCor => {
            tenure_models::paretonbd_cor::fit_paretonbd_correlated(data, opts).map(|f| f.fit)
        }
        _ => mbgnbd::fit_mbgnbd(data, opts).map(|f| f.1),
    }
}

/// A recency-frequency fit from a Parquet transaction log: the engine (local or a cluster)
/// reduces the log to distinct (frequency, recency, T) rows with customer counts, sorted; the
/// optimiser runs here on those rows.
fn fit_log(a: &FitArgs, opts: &FitOptions) -> Result<Fitted, CliError> {
    let path = a.input.as_path();
    let unit = rfm_unit(a)?;
    let config = a.log.config(path, unit)?;
    let cols = a.log.columns();
    crate::cmd_summarize::quiet_parquet_panics();
    let t0 = Instant::now();
    let mut progress = |_: u64, _: Option<u64>| {};
    let (stats, used) = match a.log.client()? {
        Some(client) => (
            client
                .sufficient_stats(path, &cols, &config, &mut progress)
                .map_err(log_input::engine_error)?,
            None,
        ),
        None => {
            let engine = a.log.local_engine().unwrap_or_default();
            let (rows, used) = tenure_engine::sufficient_stats_parquet(
                path,
                &cols,
                &config,
                engine,
                &mut progress,
            )
            .map_err(inputs::engine_error)?;
            (rows, Some(used))
        }
    };
    let read_ms = ms_since(t0);
    let t_fit = Instant::now();
    let customers: u64 = stats.iter().map(|r| r.customers).sum();
    let data =
        Rfm::weighted(stats.iter().map(|r| (r.rfm_row(), r.customers as f64))).map_err(|e| {
            let row = e.row().and_then(|i| stats.get(i));
            let which = row.map_or_else(String::new, |r| {
                format!(
                    " ({} customers with frequency {}, recency {}, T {})",
                    r.customers, r.frequency, r.recency, r.t
                )
            });
            CliError::input(format!(
                "{} (summarised to {}): {e}{which}",
                path.display(),
                config.calibration_end
            ))
        })?;
    let fit = fit_rfm(a.model, &data, opts).map_err(|e| match e {
        ModelError::Data(d) => CliError::input(format!("{}: {d}", path.display())),
        ModelError::Fit(f) => CliError::failure(format!("{}: {f}", path.display())),
    })?;
    let fit_ms = ms_since(t_fit);
    Ok(Fitted {
        kind: a.model,
        fit,
        rows: customers as usize,
        distinct: data.distinct(),
        time_unit: Some(unit.name().to_string()),
        extra: vec![
            ("input".into(), "Parquet transaction log".into()),
            (
                "calibration end (inclusive)".into(),
                config.calibration_end.to_string(),
            ),
            ("engine".into(), a.log.describe(used.as_ref())),
        ],
        data: None,
        read_ms,
        fit_ms,
        fit_warm_ms: None,
        covariates: None,
        dynamic: false,
    })
}

fn fit_sbg_file(a: &FitArgs) -> Result<Fitted, CliError> {
    let opts = FitOptions::default();
    let path = a.input.as_path();
    let unit = a.time_unit.clone().unwrap_or_else(|| "periods".into());
    let t0 = Instant::now();
    let mut table = inputs::SmallCsv::read(path)?;
    let read_ms = ms_since(t0);
    let t_fit = Instant::now();
    let no_rows = || vec![];
    let fit_err = |e: ModelError| model_err(path, &no_rows(), e);
    if table.has("tenure") && table.has("churned") {
        let records = inputs::sbg_records(&table)?;
        let data = SbgRecords::new(&records).map_err(|e| table.row_error(e))?;
        let (_, fit) = fit_sbg_records(&data, &opts).map_err(fit_err)?;
        let fit_ms = ms_since(t_fit);
        return Ok(Fitted {
            kind: ModelKind::Sbg,
            fit,
            rows: records.len(),
            distinct: data.distinct(),
            time_unit: Some(unit),
            extra: vec![("input".into(), "per-customer records".into())],
            data: None,
            read_ms,
            fit_ms,
            fit_warm_ms: None,
            covariates: None,
            dynamic: false,
        });
    }
    let column = match &a.column {
        Some(c) => c.clone(),
        None => table.header.get(1).cloned().ok_or_else(|| {
            CliError::input(format!(
                "{}: a survival series needs a period column and a column of active customers",
                path.display()
            ))
        })?,
    };
    if let Some(k) = a.periods {
        if k + 1 > table.rows.len() {
            return Err(CliError::input(format!(
                "--periods {k}: {} has only periods 0..{}",
                path.display(),
                table.rows.len().saturating_sub(1)
            )));
        }
        table.rows.truncate(k + 1);
    }
    let values = table.numbers(&column)?;
    let series = match a.cohort_size {
        Some(c) => SurvivalSeries::from_percentages(&values, c),
        None => SurvivalSeries::from_counts(&values),
    }
    .map_err(|e| table.row_error(e))?;
    let (_, fit) = fit_sbg_survival(&series, &opts).map_err(fit_err)?;
    let fit_ms = ms_since(t_fit);
    Ok(Fitted {
        kind: ModelKind::Sbg,
        fit,
        rows: values.len(),
        distinct: values.len(),
        time_unit: Some(unit),
        extra: vec![
            ("input".into(), format!("survival series `{column}`")),
            ("cohort size".into(), num(series.active()[0], 12)),
            ("periods".into(), format!("0..{}", values.len() - 1)),
        ],
        data: None,
        read_ms,
        fit_ms,
        fit_warm_ms: None,
        covariates: None,
        dynamic: false,
    })
}

pub fn run(a: FitArgs) -> Result<(), CliError> {
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(CliError::input(format!(
            "--level {}: must be strictly between 0 and 1",
            a.level
        )));
    }
    let fitted = fit_file(&a)?;
    let fit_ms = fitted.fit_ms;
    let boot = match a.bootstrap {
        Some(_) if fitted.dynamic => {
            return Err(CliError::input(
                "--bootstrap is not available for fits with time-varying covariates yet: their intervals come from the observed information",
            ))
        }
        Some(n) => Some(run_bootstrap(&a, &fitted, n)?),
        None => None,
    };
    let mut file = ModelFile::from_fit(
        if fitted.dynamic {
            "paretonbd-dyncov"
        } else {
            fitted.kind.name()
        },
        &fitted.fit,
        fitted.time_unit.as_deref(),
        InputReport {
            file: a.input.display().to_string(),
            rows: fitted.rows,
            distinct_rows: fitted.distinct,
        },
    );
    file.covariates = fitted.covariates.as_ref().map(|c| c.section.clone());
    if let Some(out) = &a.output {
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| CliError::failure(format!("serialising the model: {e}")))?;
        write_atomically(out, text.as_bytes())?;
    }
    match a.format {
        Format::Json => {
            let mut v = serde_json::to_value(&file)
                .map_err(|e| CliError::failure(format!("serialising the model: {e}")))?;
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "elapsed_ms".into(),
                    serde_json::json!({ "read": fitted.read_ms, "fit": fit_ms }),
                );
                if let (Some(w), Some(e)) = (fitted.fit_warm_ms, o["elapsed_ms"].as_object_mut()) {
                    e.insert("fit_warm".into(), w.into());
                }
                if let Some(b) = &boot {
                    o.insert("bootstrap".into(), b.json(&fitted.fit, a.level));
                }
                if fitted.kind == ModelKind::ParetonbdCor {
                    o.insert("correlation".into(), correlation_json(&fitted.fit, a.level));
                }
            }
            println!("{v}");
        }
        Format::Table => {
            print!("{}", render_fit(&fitted, &a, fit_ms));
            if let Some(c) = &fitted.covariates {
                print!("{}", covariate_cli::render(c));
            }
            if let Some(b) = &boot {
                print!("{}", b.table(&fitted.fit, a.level));
            }
        }
    }
    if !fitted.fit.converged {
        eprintln!(
            "tenure: warning: the optimiser did not converge (gradient norm {:.2e}); treat the estimates with care",
            fitted.fit.gradient_norm
        );
    }
    Ok(())
}

fn render_fit(f: &Fitted, a: &FitArgs, fit_ms: f64) -> String {
    let z = normal_quantile_two_sided(a.level);
    let fit = &f.fit;
    let pct = format!("{}%", a.level * 100.0);
    let lo = format!("{pct} lower");
    let hi = format!("{pct} upper");
    let mut t = Table::new(&["parameter", "estimate", "std. error", &lo, &hi]);
    for (i, name) in fit.names.iter().enumerate() {
        let (v, se) = (fit.params[i], fit.standard_errors[i]);
        // Intervals on the log scale for the positive parameters, as the fit is in
        // log-parameters; linear for covariate coefficients (after the four base parameters).
        let coefficient = ((f.covariates.is_some() || f.dynamic) && i >= 4)
            || (f.kind == ModelKind::ParetonbdCor && i == 4);
        let (l, h) = if coefficient && se.is_finite() {
            (v - z * se, v + z * se)
        } else if se.is_finite() && v > 0.0 {
            let s = se / v;
            (v * (-z * s).exp(), v * (z * s).exp())
        } else {
            (f64::NAN, f64::NAN)
        };
        t.row(vec![
            name.to_string(),
            num(v, 7),
            num(se, 4),
            num(l, 5),
            num(h, 5),
        ]);
    }
    let mut s = format!("{}\n", f.kind.title());
    s += &format!(
        "input: {} ({} rows, {} distinct)\n",
        a.input.display(),
        f.rows,
        f.distinct
    );
    if let Some(u) = &f.time_unit {
        s += &format!("time unit: {u}\n");
    }
    for (k, v) in &f.extra {
        s += &format!("{k}: {v}\n");
    }
    s += "\n";
    s += &t.render();
    s += "\n";
    let mut g = Table::new(&["fit", "value"]);
    g.row(vec![
        "log-likelihood".into(),
        format!("{:.4}", fit.log_likelihood),
    ]);
    g.row(vec!["n".into(), fit.n.to_string()]);
    g.row(vec!["AIC".into(), format!("{:.4}", fit.aic)]);
    g.row(vec!["BIC".into(), format!("{:.4}", fit.bic)]);
    g.row(vec![
        "converged".into(),
        if fit.converged { "yes" } else { "NO" }.into(),
    ]);
    g.row(vec!["optimiser".into(), fit.method.into()]);
    g.row(vec!["iterations".into(), fit.iterations.to_string()]);
    g.row(vec![
        "gradient norm (ln-params, per customer)".into(),
        format!("{:.2e}", fit.gradient_norm),
    ]);
    g.row(vec![
        "time".into(),
        format!("{fit_ms:.1} ms fit, {:.1} ms reading", f.read_ms),
    ]);
    s += &g.render();
    let linear = f.covariates.is_some() || f.dynamic || f.kind == ModelKind::ParetonbdCor;
    s += &format!(
        "\nIntervals: delta method, {pct} (observed information): on the log scale{}.\n",
        if linear {
            " for the positive parameters, linear for coefficients and u"
        } else {
            ""
        }
    );
    s
}

/// A parametric bootstrap of a recency-frequency fit (`--bootstrap N`).
struct Boot {
    replicates: Replicates,
    seed: u64,
    grid: f64,
    unit: String,
    ms: f64,
}

impl Boot {
    fn spreads(&self, fit: &Fit, level: f64) -> Vec<Spread> {
        parameter_spreads(&self.replicates, fit.params.len(), level)
    }

    fn json(&self, fit: &Fit, level: f64) -> serde_json::Value {
        let fin = |v: f64| {
            if v.is_finite() {
                serde_json::Value::from(v)
            } else {
                serde_json::Value::Null
            }
        };
        let params: serde_json::Map<String, serde_json::Value> = fit
            .names
            .iter()
            .zip(self.spreads(fit, level))
            .map(|(n, s)| {
                (
                    n.to_string(),
                    serde_json::json!({ "sd": fin(s.sd), "lower": fin(s.lower), "upper": fin(s.upper) }),
                )
            })
            .collect();
        serde_json::json!({
            "method": "parametric bootstrap: populations drawn from the fit with every customer's T, recencies on the grid, refitted; percentile intervals",
            "replications": self.replicates.params.len() + self.replicates.failed,
            "failed": self.replicates.failed,
            "seed": self.seed,
            "grid": self.grid,
            "grid_unit": self.unit,
            "level": level,
            "params": params,
            "elapsed_ms": self.ms,
        })
    }

    fn table(&self, fit: &Fit, level: f64) -> String {
        let pct = format!("{}%", level * 100.0);
        let lo = format!("{pct} lower");
        let hi = format!("{pct} upper");
        let mut t = Table::new(&["parameter", "estimate", "bootstrap sd", &lo, &hi]);
        for ((name, v), s) in fit
            .names
            .iter()
            .zip(&fit.params)
            .zip(self.spreads(fit, level))
        {
            t.row(vec![
                name.to_string(),
                num(*v, 7),
                num(s.sd, 4),
                num(s.lower, 5),
                num(s.upper, 5),
            ]);
        }
        format!(
            "\nParametric bootstrap: {} replications ({} failed), seed {}, recencies on a grid of {} {} (one day), {:.1} s\n{}Intervals: percentiles of the replicates, {pct}.\n",
            self.replicates.params.len() + self.replicates.failed,
            self.replicates.failed,
            self.seed,
            num(self.grid, 6),
            self.unit,
            self.ms / 1000.0,
            t.render()
        )
    }
}

/// `--bootstrap N` for a fit: the options (seed, one-day grid in the fit's unit), a progress
/// bar, and the replicates `draw` makes with them (at least 2 refitted, else an error).
/// Covariate fits keep every customer's covariates and T and refit with the fit's spec
/// (constraints, L2 penalties); the others draw ages from the fit's grouped rows.
fn run_bootstrap(a: &FitArgs, fitted: &Fitted, n: usize) -> Result<Boot, CliError> {
    if fitted.covariates.is_none()
        && !matches!(
            fitted.kind,
            ModelKind::Bgnbd
                | ModelKind::Paretonbd
                | ModelKind::Mbgnbd
                | ModelKind::Ggomnbd
                | ModelKind::ParetonbdCor
        )
    {
        return Err(CliError::input(format!(
            "--bootstrap: the parametric bootstrap is for bgnbd, paretonbd, mbgnbd, ggomnbd and paretonbd-cor, not {}",
            fitted.kind.name()
        )));
    }
    if log_input::is_log(&a.input) {
        return Err(CliError::input(
            "--bootstrap needs a summary file as --input (`tenure summarize` makes one from a log)",
        ));
    }
    if n < 2 {
        return Err(CliError::input("--bootstrap: at least 2 replications"));
    }
    let unit = rfm_unit(a)?;
    let grid = 1.0 / unit.days();
    let opts = BootstrapOptions {
        replications: n,
        seed: a.seed,
        grid: Some(grid),
        threads: 0,
    };
    let bar = crate::progress::bar(n as u64, "bootstrap");
    let progress = |done: usize| bar.set_position(done as u64);
    let t0 = Instant::now();
    let p = &fitted.fit.params;
    let replicates = if let Some(c) = &fitted.covariates {
        tenure_models::bootstrap_covariates::replicate_covariates(
            &c.fit.params,
            &c.design,
            &c.ages,
            &FitOptions::default(),
            &opts,
            &progress,
        )
        .map_err(|e| CliError::failure(format!("--bootstrap: {e}")))?
    } else {
        let data = fitted.data.as_ref().ok_or_else(|| {
            CliError::failure("--bootstrap: the fit kept no grouped rows to draw ages from")
        })?;
        let ages = ages_of(data);
        match fitted.kind {
            ModelKind::Bgnbd => replicate(&BgNbdParams::from_params(p), &ages, &opts, &progress),
            ModelKind::Paretonbd => {
                replicate(&ParetoNbdParams::from_params(p), &ages, &opts, &progress)
            }
            ModelKind::Ggomnbd => {
                replicate(&GGomNbdParams::from_params(p), &ages, &opts, &progress)
            }
            ModelKind::ParetonbdCor => {
                replicate(&CorrelatedParams::from_params(p), &ages, &opts, &progress)
            }
            _ => replicate(&MbgNbdParams::from_params(p), &ages, &opts, &progress),
        }
    };
    bar.finish_and_clear();
    if replicates.params.len() < 2 {
        return Err(CliError::failure(format!(
            "--bootstrap: {} of {n} replicates could not be refitted",
            replicates.failed
        )));
    }
    Ok(Boot {
        replicates,
        seed: a.seed,
        grid,
        unit: unit.name().to_string(),
        ms: ms_since(t0),
    })
}
