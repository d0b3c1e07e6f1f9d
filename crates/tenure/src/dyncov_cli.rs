//! `tenure fit paretonbd --input TRANSACTIONS --time-covariates GRID.csv --end DATE`: Pareto/NBD
//! with time-varying covariates (`tenure_models::paretonbd_dyncov`).
//!
//! The grid file has a `period_start` column (YYYY-MM-DD, one row per period, equally spaced,
//! consecutive) and one column per covariate, used as given (no standardisation: a 0/1 price
//! step stays 0/1). Each customer is summarised from the transaction log as `tenure summarize`
//! does (purchases on the same day merged, times in `--time-unit` from the first purchase, up to
//! `--end`), with the sum of the purchase covariates over the periods of her repeat purchases.

use crate::covariate_cli::CovariateArgs;
use crate::error::CliError;
use crate::table::num;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::Path;
use tenure_core::TimeUnit;
use tenure_engine::{read_transactions, TransactionFormat};
use tenure_models::paretonbd_dyncov::{fit_paretonbd_dyncov, DynFit, DynRow, TimeGrid};
use tenure_models::{FitOptions, ModelError, RfmRow};

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
