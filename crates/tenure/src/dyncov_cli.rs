//! `tenure fit paretonbd --input TRANSACTIONS --time-covariates GRID.csv --end DATE`: Pareto/NBD
//! with time-varying covariates (`tenure_models::paretonbd_dyncov`).
//!
//! The grid file has a `period_start` column (YYYY-MM-DD, one row per period, equally spaced,
//! consecutive) and one column per covariate, used as given (no standardisation: a 0/1 price
//! step stays 0/1). Each customer is summarised from the transaction log as `tenure summarize`
//! does (purchases on the same day merged, times in `--time-unit` from the first purchase, up to
//! `--end`), with the sum of the purchase covariates over the periods of her repeat purchases.
//!
//! `tenure predict --model M.json --input SUMMARY --time-covariates GRID.csv --end DATE
//! --horizon H [--spend GG.json --discount-rate R]` scores such a model ([`predict`]): the same
//! grid file, now covering the prediction window too.

use crate::covariate_cli::CovariateArgs;
use crate::error::CliError;
use crate::model_file::ModelFile;
use crate::table::num;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::Path;
use tenure_core::{Duration, TimeUnit};
use tenure_engine::{read_transactions, SummaryRow, TransactionFormat};
use tenure_models::clv::ClvConfig;
use tenure_models::paretonbd_dyncov::{
    fit_paretonbd_dyncov, DynCustomer, DynFit, DynParams, DynRow, DynScore, TimeGrid,
};
use tenure_models::{Estimate, FitOptions, ModelError, RfmRow};

/// A fit with time-varying covariates and what the report needs.
pub struct DynFitted {
    pub fit: DynFit,
    pub customers: usize,
    pub extra: Vec<(String, String)>,
}

/// The grid file: period starts and the named columns' values.
struct GridFile {
    starts: Vec<NaiveDate>,
    columns: Vec<String>,
    values: Vec<Vec<f64>>,
}

fn read_grid(path: &Path) -> Result<GridFile, CliError> {
    let (mut rdr, header) = crate::covariate_cli::open_csv(path)?;
    let date_col = header
        .iter()
        .position(|h| h == "period_start")
        .ok_or_else(|| {
            CliError::at(
                path,
                1,
                None,
                "no `period_start` column (YYYY-MM-DD per period)",
            )
        })?;
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != date_col)
        .map(|(_, h)| h.clone())
        .collect();
    let mut starts: Vec<NaiveDate> = Vec::new();
    let mut values = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            CliError::at(path, line, None, format!("not a well-formed CSV row: {e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let d = NaiveDate::parse_from_str(&rec[date_col], "%Y-%m-%d").map_err(|_| {
            CliError::at(
                path,
                line,
                Some(date_col + 1),
                format!(
                    "period_start `{}` is not a date (YYYY-MM-DD)",
                    &rec[date_col]
                ),
            )
        })?;
        let mut row = Vec::new();
        for (i, h) in header.iter().enumerate() {
            if i == date_col {
                continue;
            }
            let v: f64 = rec
                .get(i)
                .and_then(|s| s.parse().ok())
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    CliError::at(
                        path,
                        line,
                        Some(i + 1),
                        format!("{h}: `{}` is not a number", rec.get(i).unwrap_or("")),
                    )
                })?;
            row.push(v);
        }
        if let Some(prev) = starts.last() {
            let step = (d - *prev).num_days();
            let first = starts.get(1).map_or(step, |s| (*s - starts[0]).num_days());
            if step <= 0 || step != first {
                return Err(CliError::at(
                    path,
                    line,
                    Some(date_col + 1),
                    format!(
                        "period_start {d}: periods must be consecutive and equally long ({first} days so far)"
                    ),
                ));
            }
        }
        starts.push(d);
        values.push(row);
    }
    if starts.len() < 2 {
        return Err(CliError::input(format!(
            "{}: the grid needs at least two periods",
            path.display()
        )));
    }
    Ok(GridFile {
        starts,
        columns,
        values,
    })
}

/// Fit Pareto/NBD with time-varying covariates from a transaction log and a grid file.
pub fn fit(
    log: &Path,
    format: &TransactionFormat,
    grid_path: &Path,
    end: NaiveDate,
    unit: TimeUnit,
    a: &CovariateArgs,
) -> Result<DynFitted, CliError> {
    let g = read_grid(grid_path)?;
    let col = |name: &String| -> Result<usize, CliError> {
        g.columns.iter().position(|c| c == name).ok_or_else(|| {
            CliError::input(format!(
                "{}:1: no covariate column `{name}` (found: {})",
                grid_path.display(),
                g.columns.join(", ")
            ))
        })
    };
    if !a.constrain.is_empty() || a.l2_trans != 0.0 || a.l2_life != 0.0 {
        return Err(CliError::input(
            "--constrain and L2 penalties are for --covariates (time-invariant) fits",
        ));
    }
    let (trans, life) = if a.trans.is_empty() && a.life.is_empty() {
        (g.columns.clone(), g.columns.clone())
    } else {
        (a.trans.clone(), a.life.clone())
    };
    let ti: Vec<usize> = trans.iter().map(col).collect::<Result<_, _>>()?;
    let li: Vec<usize> = life.iter().map(col).collect::<Result<_, _>>()?;
    let unit_days = unit.days();
    let origin = g.starts[0];
    let step_days = (g.starts[1] - g.starts[0]).num_days() as f64;
    let grid = TimeGrid {
        origin: 0.0,
        step: step_days / unit_days,
        trans: g
            .values
            .iter()
            .map(|r| ti.iter().map(|j| r[*j]).collect())
            .collect(),
        life: g
            .values
            .iter()
            .map(|r| li.iter().map(|j| r[*j]).collect())
            .collect(),
    };
    let grid_end = origin + chrono::Duration::days((step_days as i64) * g.starts.len() as i64);
    if end >= grid_end {
        return Err(CliError::input(format!(
            "{}: the grid ends on {} but --end is {end}; it must cover every day observed",
            grid_path.display(),
            grid_end - chrono::Duration::days(1)
        )));
    }
    let tx = read_transactions(log, format).map_err(crate::inputs::engine_error)?;
    // Purchase days per customer up to the end (a day counts once), with the log line of the
    // first purchase for messages.
    let mut days: BTreeMap<&str, (u64, Vec<NaiveDate>)> = BTreeMap::new();
    for t in tx.iter().filter(|t| t.date <= end) {
        let e = days.entry(&t.customer_id).or_insert((t.line, Vec::new()));
        e.1.push(t.date);
    }
    let mut rows = Vec::with_capacity(days.len());
    for (id, (line, mut d)) in days {
        d.sort_unstable();
        d.dedup();
        let first = d[0];
        if first < origin {
            return Err(CliError::at(
                log,
                line as usize,
                None,
                format!(
                    "customer `{id}` first bought on {first}, before the grid in {} starts ({origin})",
                    grid_path.display()
                ),
            ));
        }
        let at = |day: NaiveDate| (day - first).num_days() as f64 / unit_days;
        let last = *d.last().unwrap_or(&first);
        let mut sums = vec![0.0; ti.len()];
        for day in &d[1..] {
            let k = grid.period((*day - origin).num_days() as f64 / unit_days);
            for (s, z) in sums.iter_mut().zip(&grid.trans[k]) {
                *s += z;
            }
        }
        rows.push(DynRow {
            birth: (first - origin).num_days() as f64 / unit_days,
            rfm: RfmRow {
                x: (d.len() - 1) as f64,
                t_x: at(last),
                t: at(end),
            },
            purchase_sums: sums,
        });
    }
    if rows.is_empty() {
        return Err(CliError::input(format!(
            "{}: no purchase on or before {end}",
            log.display()
        )));
    }
    // Customers whose first purchase is the end day have T = 0: they carry no information.
    rows.retain(|r| r.rfm.t > 0.0);
    let customers = rows.len();
    let fit = fit_paretonbd_dyncov(grid, rows, &trans, &life, &FitOptions::default()).map_err(
        |e| match e {
            ModelError::Data(d) => CliError::input(format!("{}: {d}", log.display())),
            ModelError::Fit(f) => CliError::failure(format!("{}: {f}", log.display())),
        },
    )?;
    let lr = 2.0 * (fit.fit.log_likelihood - fit.plain.log_likelihood);
    let extra = vec![
        (
            "time-varying covariates".into(),
            format!(
                "{} ({} periods of {} days from {origin}; values as given)",
                grid_path.display(),
                g.starts.len(),
                step_days
            ),
        ),
        (
            "log-likelihood without covariates".into(),
            format!("{:.4}", fit.plain.log_likelihood),
        ),
        (
            "likelihood ratio".into(),
            format!("{} on {} df", num(lr, 6), trans.len() + life.len()),
        ),
    ];
    Ok(DynFitted {
        fit,
        customers,
        extra,
    })
}

/// The kind of model file a fit with `--time-covariates` writes.
pub const MODEL: &str = "paretonbd-dyncov";

/// `tenure predict` with a `paretonbd-dyncov` model: what to score and with what.
pub struct DynPredictInput<'a> {
    pub model_path: &'a Path,
    pub model: &'a ModelFile,
    /// The summary file (for messages) and its rows, summarised to `end`.
    pub input: &'a Path,
    pub rows: &'a [SummaryRow],
    pub grid_path: &'a Path,
    /// The last day the summaries observe (their `--end`).
    pub end: NaiveDate,
    pub unit: TimeUnit,
    pub horizon: &'a Duration,
    /// The normal quantile of the intervals, or None for points only.
    pub z: Option<f64>,
    /// With a CLV valuation (for `--spend`): each customer's discounted expected purchases
    /// too, over K periods of L after T.
    pub clv: Option<&'a ClvConfig>,
}

/// What [`predict`] computes: every customer's scores, with a CLV valuation her DET (with a
/// delta-method interval when intervals are on), and a line describing the grid.
pub struct DynPredicted {
    pub scores: Vec<DynScore>,
    pub det: Option<Vec<Estimate>>,
    pub note: String,
}

/// Every customer's P(alive), expected purchases in (T, T + horizon] and P(alive at T +
/// horizon) (`tenure_models::paretonbd_dyncov::DynParams::score`), with the covariates of the
/// grid file over the window; with `clv`, her discounted expected purchases period by period
/// along the same path (`DynParams::score_det`); and a line describing the grid for the report.
///
/// A summary row does not say when the customer first bought: she was observed for T up to
/// `end`, so she first bought at `end` − T in calendar time, as in the fit. The grid must cover
/// every first purchase and the window (`end`, `end` + horizon]; otherwise an input error
/// names the grid file and the first period missing from it.
pub fn predict(p: &DynPredictInput<'_>) -> Result<DynPredicted, CliError> {
    let path = p.model_path;
    let names: Vec<&String> = p.model.params.keys().collect();
    let base = ["r", "alpha", "s", "beta"];
    let trans: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_prefix("trans."))
        .collect();
    let life: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_prefix("life."))
        .collect();
    // The covariance is in the file's parameter order: it must be the fit's.
    let expected: Vec<String> = base
        .iter()
        .map(|s| s.to_string())
        .chain(trans.iter().map(|n| format!("trans.{n}")))
        .chain(life.iter().map(|n| format!("life.{n}")))
        .collect();
    if names
        .iter()
        .map(|s| s.as_str())
        .ne(expected.iter().map(String::as_str))
    {
        return Err(CliError::input(format!(
            "{}: a {MODEL} model's parameters are r, alpha, s, beta, then trans.NAME and life.NAME coefficients; found {}",
            path.display(),
            names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut theta = p.model.params_in_order(path, &base)?;
    for n in &expected[4..] {
        theta.push(p.model.real_param(path, n)?);
    }
    let params = DynParams::from_theta(&theta, trans.len());

    let g = read_grid(p.grid_path)?;
    let col = |name: &str| -> Result<usize, CliError> {
        g.columns.iter().position(|c| c == name).ok_or_else(|| {
            CliError::input(format!(
                "{}:1: no covariate column `{name}`, which {} was fitted with (found: {})",
                p.grid_path.display(),
                path.display(),
                g.columns.join(", ")
            ))
        })
    };
    let ti: Vec<usize> = trans.iter().map(|n| col(n)).collect::<Result<_, _>>()?;
    let li: Vec<usize> = life.iter().map(|n| col(n)).collect::<Result<_, _>>()?;
    let unit_days = p.unit.days();
    let origin = g.starts[0];
    let step_days = (g.starts[1] - g.starts[0]).num_days();
    let grid = TimeGrid {
        origin: 0.0,
        step: step_days as f64 / unit_days,
        trans: g
            .values
            .iter()
            .map(|r| ti.iter().map(|j| r[*j]).collect())
            .collect(),
        life: g
            .values
            .iter()
            .map(|r| li.iter().map(|j| r[*j]).collect())
            .collect(),
    };
    let periods = g.starts.len() as i64;
    let grid_end = origin + chrono::Duration::days(step_days * periods);
    let h = p.horizon.in_unit(p.unit);
    // The CLV's K·L equals the horizon up to rounding (`clv_config` checks that).
    let reach = p.clv.map_or(h, |c| c.horizon().max(h));
    let e = (p.end - origin).num_days() as f64 / unit_days;
    // The window's last instant, as a day: end + horizon, rounded up to whole days.
    let window_days = (h * unit_days - 1e-9).ceil().max(0.0) as i64;
    let window_end = p.end + chrono::Duration::days(window_days);
    if p.end < origin {
        return Err(CliError::input(format!(
            "{}: the grid starts on {origin}, after --end {}",
            p.grid_path.display(),
            p.end
        )));
    }
    if e + reach > grid.end() + 1e-9 * grid.step {
        return Err(CliError::input(format!(
            "{}: the covariates must cover the prediction window, {} to {window_end} (--end and --horizon {}), but they end on {}: the first missing period starts on {grid_end}",
            p.grid_path.display(),
            p.end,
            p.horizon,
            grid_end - chrono::Duration::days(1),
        )));
    }
    let mut customers = Vec::with_capacity(p.rows.len());
    for r in p.rows {
        // Summaries of whole days (as `tenure summarize` writes them) give the first purchase
        // day exactly, and then the fit's calendar time to the bit.
        let days = r.t * unit_days;
        let birth = if (days - days.round()).abs() < 1e-6 {
            (p.end - chrono::Duration::days(days.round() as i64) - origin).num_days() as f64
                / unit_days
        } else {
            e - r.t
        };
        if birth < -1e-9 * grid.step {
            let first = p.end - chrono::Duration::days((r.t * unit_days).round() as i64);
            return Err(CliError::input(format!(
                "{}: customer `{}` (T = {} {}) first bought on {first}, before the grid in {} starts ({origin})",
                p.input.display(),
                r.id,
                r.t,
                p.unit.name(),
                p.grid_path.display()
            )));
        }
        customers.push(DynCustomer {
            birth: birth.max(0.0),
            rfm: RfmRow {
                x: r.x,
                t_x: r.t_x,
                t: r.t,
            },
        });
    }
    let cov = match (p.z, &p.model.covariance) {
        (Some(z), Some(c)) => Some((c.as_slice(), z)),
        _ => None,
    };
    let model_error = |e: ModelError| match e {
        ModelError::Data(d) => CliError::input(format!("{}: {d}", p.input.display())),
        ModelError::Fit(f) => CliError::failure(format!("{}: {f}", p.input.display())),
    };
    let scores = params
        .score(&grid, &customers, h, cov)
        .map_err(model_error)?;
    let det = p
        .clv
        .map(|cfg| params.score_det(&grid, &customers, cfg, cov))
        .transpose()
        .map_err(model_error)?;
    let note = format!(
        "{} ({} periods of {step_days} days from {origin}; customers observed to {}, the window to {window_end})",
        p.grid_path.display(),
        periods,
        p.end
    );
    Ok(DynPredicted { scores, det, note })
}
