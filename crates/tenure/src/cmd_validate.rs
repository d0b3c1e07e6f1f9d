//! `tenure validate`: model checking in one command. The log is summarised with a calibration
//! period and a holdout; each model is fitted on the calibration period exactly as `tenure fit`
//! does, predicts the holdout exactly as `tenure predict` does, and is scored against what
//! happened: per customer (MAE, RMSE), by calibration frequency (the conditional-expectations
//! table), over time (the cumulative tracking series), and by AIC/BIC; the best is recommended.

use crate::cmd_fit::{fit_rfm, ModelKind};
use crate::cmd_summarize::{parse_date, progress_bar, LogFormatArgs};
use crate::error::CliError;
use crate::table::{num, Table};
use crate::{write_atomically, Format};
use clap::{Args, ValueEnum};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use tenure_core::TimeUnit;
use tenure_engine::{summarize_tracked_file, NaiveDate, SummaryConfig, TrackedSummary};
use tenure_models::bgnbd::BgNbdParams;
use tenure_models::mbgnbd::MbgNbdParams;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::validate::Cohort;
use tenure_models::{FitOptions, Rfm, RfmModel, RfmRow};
use tenure_reports::validation::{best as best_model, charts, check, pct, Checked, Tracking};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidateModel {
    /// BG/NBD, Pareto/NBD and MBG/NBD.
    All,
    Bgnbd,
    Paretonbd,
    Mbgnbd,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The models to check (several may be named; `all` is BG/NBD, Pareto/NBD and MBG/NBD).
    #[arg(value_enum, num_args = 1.., default_values_t = [ValidateModel::All])]
    pub models: Vec<ValidateModel>,
    /// Transaction log (customer id, date, amount): CSV with a header, Parquet, or CDNOW's text
    /// format (`--input-format cdnow`). Purchases on the same day are one purchase.
    #[arg(long)]
    pub input: PathBuf,
    #[command(flatten)]
    pub log_format: LogFormatArgs,
    /// Last day of the calibration period (inclusive): models are fitted on what happened up to
    /// it, customers who first bought after it are left out.
    #[arg(long)]
    pub calibration_end: String,
    /// Last day of the holdout period (inclusive). Default: the last purchase date in the log.
    #[arg(long)]
    pub holdout_end: Option<String>,
    /// Unit of recency, T, the horizon and the tracking periods: days, weeks, months (30.4375
    /// days) or years (365.25 days).
    #[arg(long, default_value = "weeks")]
    pub unit: String,
    /// Round the summary's times half-up to this many decimals before fitting (as
    /// `tenure summarize --decimals`; the published CDNOW summary has 2).
    #[arg(long)]
    pub decimals: Option<u32>,
    /// The last row of the conditional-expectations table holds this calibration frequency and
    /// above.
    #[arg(long, default_value_t = 7)]
    pub last_bin: u64,
    /// Write one row per customer here (CSV): calibration summary, holdout purchases, and each
    /// model's P(alive) and predicted holdout purchases.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Write the charts here as SVG (folder created if missing): tracking.svg,
    /// conditional_expectations.svg, p_alive.svg.
    #[arg(long)]
    pub plots: Option<PathBuf>,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The cumulative tracking grid: period k (1-based) ends `k` units after the first purchase
/// in the log; only whole periods up to the holdout end.
struct Grid {
    start: NaiveDate,
    unit_days: f64,
    /// End of each period, in units from the start.
    ends: Vec<f64>,
    /// Actual cumulative repeat purchases at each end.
    actual: Vec<f64>,
    /// Periods entirely within the calibration period.
    calibration_periods: usize,
}

/// The model object for fitted parameters (in the papers' order).
pub(crate) fn rfm_model(kind: ModelKind, p: &[f64]) -> Option<Box<dyn RfmModel>> {
    Some(match kind {
        ModelKind::Bgnbd => Box::new(BgNbdParams {
            r: p[0],
            alpha: p[1],
            a: p[2],
            b: p[3],
        }),
        ModelKind::Paretonbd => Box::new(ParetoNbdParams {
            r: p[0],
            alpha: p[1],
            s: p[2],
            beta: p[3],
        }),
        ModelKind::Mbgnbd => Box::new(MbgNbdParams {
            r: p[0],
            alpha: p[1],
            a: p[2],
            b: p[3],
        }),
        _ => return None,
    })
}

fn kinds(models: &[ValidateModel]) -> Vec<ModelKind> {
    let mut out = Vec::new();
    for m in models {
        let add: &[ModelKind] = match m {
            ValidateModel::All => &[ModelKind::Bgnbd, ModelKind::Paretonbd, ModelKind::Mbgnbd],
            ValidateModel::Bgnbd => &[ModelKind::Bgnbd],
            ValidateModel::Paretonbd => &[ModelKind::Paretonbd],
            ValidateModel::Mbgnbd => &[ModelKind::Mbgnbd],
        };
        for k in add {
            if !out.contains(k) {
                out.push(*k);
            }
        }
    }
    out
}

/// A summary's decimal as the models' f64 (NaN if it cannot be one; validation rejects it).
fn decimal_f64<D>(d: &D) -> f64
where
    D: Copy,
    f64: TryFrom<D>,
{
    f64::try_from(*d).unwrap_or(f64::NAN)
}

fn grid(t: &TrackedSummary, calibration_end: NaiveDate, unit: TimeUnit) -> Grid {
    let start = t
        .tracking
        .first_purchases
        .first()
        .map_or(calibration_end, |(d, _)| *d);
    let unit_days = unit.days();
    let span_days = (t.holdout_end - start).num_days() as f64 + 1.0;
    let k = (span_days / unit_days + 1e-9).floor() as usize;
    let ends: Vec<f64> = (1..=k).map(|i| i as f64).collect();
    // Period i holds days d with i − 1 ≤ (d − start) / unit < i.
    let mut actual = vec![0.0; k];
    for (d, n) in &t.tracking.repeat_purchases {
        let off = (*d - start).num_days() as f64 / unit_days;
        let i = off.floor() as usize;
        if i < k {
            actual[i] += *n as f64;
        }
    }
    let mut cum = 0.0;
    for a in actual.iter_mut() {
        cum += *a;
        *a = cum;
    }
    let cal_days = (calibration_end - start).num_days() as f64 + 1.0;
    Grid {
        start,
        unit_days,
        calibration_periods: ((cal_days / unit_days + 1e-9).floor() as usize).min(k),
        ends,
        actual,
    }
}

pub fn run(a: ValidateArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let unit: TimeUnit = a
        .unit
        .parse()
        .map_err(|e| CliError::input(format!("--unit: {e}")))?;
    let calibration_end = parse_date("calibration-end", &a.calibration_end)?;
    let holdout_end = a
        .holdout_end
        .as_deref()
        .map(|s| parse_date("holdout-end", s))
        .transpose()?;
    let format = a.log_format.format(Some(&a.input))?;
    let mut config = SummaryConfig::new(calibration_end, unit);
    config.round = a.decimals;
    let bar = progress_bar(&a.input, &format);
    let tracked = summarize_tracked_file(
        &a.input,
        &format,
        &config,
        holdout_end,
        &mut |done, total| {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(done);
        },
    )
    .map_err(crate::inputs::engine_error);
    bar.finish_and_clear();
    let tracked = tracked?;
    if tracked.rows.is_empty() {
        return Err(CliError::input(format!(
            "{}: no customer made a purchase on or before the calibration end {calibration_end}",
            a.input.display()
        )));
    }
    let rows: Vec<RfmRow> = tracked
        .rows
        .iter()
        .map(|s| RfmRow {
            x: s.frequency as f64,
            t_x: decimal_f64(&s.recency),
            t: decimal_f64(&s.t),
        })
        .collect();
    let actual: Vec<f64> = tracked
        .rows
        .iter()
        .map(|s| s.holdout.as_ref().map_or(0.0, |h| h.frequency as f64))
        .collect();
    let horizon = tracked
        .rows
        .first()
        .and_then(|s| s.holdout.as_ref())
        .map_or(f64::NAN, |h| decimal_f64(&h.duration));
    let data = Rfm::from_rows(&rows, |r| (*r, 1.0)).map_err(|e| {
        CliError::input(format!(
            "{}: the calibration summary cannot be fitted: {e}",
            a.input.display()
        ))
    })?;
    let g = grid(&tracked, calibration_end, unit);
    let cohorts: Vec<Cohort> = tracked
        .tracking
        .first_purchases
        .iter()
        .map(|(d, n)| Cohort {
            birth: (*d - g.start).num_days() as f64 / g.unit_days,
            customers: *n as f64,
        })
        .collect();

    let tracking = Tracking {
        start: g.start.to_string(),
        period: period_name(unit),
        ends: g.ends.clone(),
        actual: g.actual.clone(),
        calibration_periods: g.calibration_periods,
    };
    let opts = FitOptions::default();
    let mut checked = Vec::new();
    for kind in kinds(&a.models) {
        let fit = fit_rfm(kind, &data, &opts).map_err(|e| {
            CliError::failure(format!(
                "{}: {} could not be fitted on the calibration period: {e}",
                a.input.display(),
                kind.name()
            ))
        })?;
        let model = rfm_model(kind, &fit.params)
            .ok_or_else(|| CliError::failure("validate: not a recency-frequency model"))?;
        checked.push(check(
            kind.name(),
            label(kind),
            fit,
            model,
            &rows,
            &actual,
            horizon,
            &cohorts,
            &tracking,
            a.last_bin,
        ));
    }
    let (best, reason) = best_model(&checked).ok_or_else(|| {
        CliError::failure("validate: no model gave finite holdout errors and BIC")
    })?;

    let mut written = Vec::new();
    if let Some(out) = &a.output {
        write_atomically(
            out,
            per_customer_csv(&tracked, &rows, &actual, &checked).as_bytes(),
        )?;
        written.push(out.clone());
    }
    if let Some(dir) = &a.plots {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
        for (name, svg) in charts(&tracking, &checked, best, a.last_bin) {
            let path = dir.join(name);
            write_atomically(&path, svg.as_bytes())?;
            written.push(path);
        }
    }
    let report = Report {
        a: &a,
        unit,
        calibration_end,
        holdout_end: tracked.holdout_end,
        horizon,
        customers: rows.len(),
        repeat_buyers: rows.iter().filter(|r| r.x > 0.0).count(),
        actual_total: actual.iter().sum(),
        grid: &g,
        checked: &checked,
        best,
        reason: &reason,
        written: &written,
        ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    match a.format {
        Format::Json => println!("{}", report.json()),
        Format::Table => print!("{}", report.table()),
    }
    Ok(())
}

fn per_customer_csv(
    tracked: &TrackedSummary,
    rows: &[RfmRow],
    actual: &[f64],
    checked: &[Checked],
) -> String {
    let mut s = String::from("customer_id,frequency,recency,T,holdout_frequency");
    for c in checked {
        let _ = write!(s, ",{m}_p_alive,{m}_expected_holdout", m = c.name);
    }
    s.push('\n');
    for (i, r) in rows.iter().enumerate() {
        let id = &tracked.rows[i].customer_id;
        let id = if id.contains([',', '"', '\n']) {
            format!("\"{}\"", id.replace('"', "\"\""))
        } else {
            id.clone()
        };
        let _ = write!(s, "{id},{},{},{},{}", r.x, r.t_x, r.t, actual[i]);
        for c in checked {
            let (p, e) = c.scores[i];
            let _ = write!(s, ",{p},{e}");
        }
        s.push('\n');
    }
    s
}

/// The models' names in charts and tables.
fn label(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Bgnbd => "BG/NBD",
        ModelKind::Paretonbd => "Pareto/NBD",
        ModelKind::Mbgnbd => "MBG/NBD",
        other => other.name(),
    }
}

fn period_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Days => "day",
        TimeUnit::Weeks => "week",
        TimeUnit::Months => "month",
        TimeUnit::Years => "year",
    }
}

struct Report<'a> {
    a: &'a ValidateArgs,
    unit: TimeUnit,
    calibration_end: NaiveDate,
    holdout_end: NaiveDate,
    horizon: f64,
    customers: usize,
    repeat_buyers: usize,
    actual_total: f64,
    grid: &'a Grid,
    checked: &'a [Checked],
    best: usize,
    reason: &'a str,
    written: &'a [PathBuf],
    ms: f64,
}

fn finite(v: f64) -> serde_json::Value {
    if v.is_finite() {
        v.into()
    } else {
        serde_json::Value::Null
    }
}

impl Report<'_> {
    fn json(&self) -> serde_json::Value {
        let g = self.grid;
        let models: Vec<serde_json::Value> = self
            .checked
            .iter()
            .map(|c| {
                let params: serde_json::Map<String, serde_json::Value> = c
                    .fit
                    .names
                    .iter()
                    .zip(&c.fit.params)
                    .map(|(n, v)| (n.to_string(), finite(*v)))
                    .collect();
                let ses: serde_json::Map<String, serde_json::Value> = c
                    .fit
                    .names
                    .iter()
                    .zip(&c.fit.standard_errors)
                    .map(|(n, v)| (n.to_string(), finite(*v)))
                    .collect();
                let h = &c.holdout;
                serde_json::json!({
                    "model": c.name,
                    "params": params,
                    "standard_errors": ses,
                    "log_likelihood": finite(c.fit.log_likelihood),
                    "aic": finite(c.fit.aic),
                    "bic": finite(c.fit.bic),
                    "converged": c.fit.converged,
                    "holdout": {
                        "predicted_repeat_purchases": finite(h.predicted_total),
                        "actual_repeat_purchases": h.actual_total,
                        "error_percent": finite(pct(h.predicted_total, h.actual_total)),
                        "mae_per_customer": finite(h.mae),
                        "rmse_per_customer": finite(h.rmse),
                    },
                    "conditional_expectations": h.by_frequency.iter().map(|b| serde_json::json!({
                        "frequency_from": b.from,
                        "frequency_to": b.to,
                        "customers": b.customers,
                        "actual_mean": finite(b.actual_mean),
                        "predicted_mean": finite(b.predicted_mean),
                    })).collect::<Vec<_>>(),
                    "tracking_mape_holdout_percent": finite(c.tracking_mape),
                    "expected_new_customer_purchases_in_horizon": finite(c.model.expected_purchases(self.horizon)),
                })
            })
            .collect();
        let mut predicted = serde_json::Map::new();
        for c in self.checked {
            predicted.insert(
                c.name.into(),
                c.tracking.iter().map(|v| finite(*v)).collect(),
            );
        }
        serde_json::json!({
            "input": self.a.input.display().to_string(),
            "time_unit": self.unit.name(),
            "calibration_end": self.calibration_end.to_string(),
            "holdout_end": self.holdout_end.to_string(),
            "holdout_duration": finite(self.horizon),
            "customers": self.customers,
            "repeat_buyers": self.repeat_buyers,
            "holdout_actual_repeat_purchases": self.actual_total,
            "models": models,
            "tracking": {
                "start": g.start.to_string(),
                "period": period_name(self.unit),
                "period_days": g.unit_days,
                "calibration_periods": g.calibration_periods,
                "period_end": g.ends,
                "actual_cumulative": g.actual,
                "predicted_cumulative": predicted,
            },
            "recommendation": {
                "model": self.checked[self.best].name,
                "reason": self.reason,
                "rule": format!("the model best on the most of four holdout measures (per-customer MAE and RMSE, error of the holdout total, tracking MAPE; within {:.0}% of the best counts as best); ties to the lowest BIC", 100.0 * tenure_models::validate::TIE),
            },
            "written": self.written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "elapsed_ms": { "total": self.ms },
        })
    }

    fn table(&self) -> String {
        let u = self.unit.name();
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Model check: {} customers ({} with repeat purchases) whose first purchase is on or before {}; holdout {} to {} ({} {u}).",
            self.customers,
            self.repeat_buyers,
            self.calibration_end,
            self.calibration_end.succ_opt().unwrap_or(self.calibration_end),
            self.holdout_end,
            num(self.horizon, 6),
        );
        let _ = writeln!(
            o,
            "Actual repeat purchases in the holdout: {}. Times in {u}.\n",
            num(self.actual_total, 12)
        );
        let mut t = Table::new(&[
            "model",
            "log-likelihood",
            "AIC",
            "BIC",
            "holdout: predicted",
            "actual",
            "error",
            "MAE/customer",
            "RMSE/customer",
            "tracking MAPE (holdout)",
        ]);
        for c in self.checked {
            let h = &c.holdout;
            t.row(vec![
                c.name.into(),
                format!("{:.2}", c.fit.log_likelihood),
                format!("{:.2}", c.fit.aic),
                format!("{:.2}", c.fit.bic),
                format!("{:.1}", h.predicted_total),
                num(h.actual_total, 12),
                format!("{:+.1}%", pct(h.predicted_total, h.actual_total)),
                format!("{:.4}", h.mae),
                format!("{:.4}", h.rmse),
                format!("{:.1}%", c.tracking_mape),
            ]);
        }
        o.push_str(&t.render());
        let b = &self.checked[self.best];
        let _ = writeln!(o, "\nRecommended: {}\n", self.reason);
        let _ = writeln!(
            o,
            "Conditional expectations ({}): mean holdout purchases by calibration frequency",
            b.label
        );
        let mut header = vec!["frequency", "customers", "actual"];
        let names: Vec<&str> = self.checked.iter().map(|c| c.name).collect();
        header.extend(names.iter().copied());
        let mut t = Table::new(&header);
        for (i, bin) in b.holdout.by_frequency.iter().enumerate() {
            let mut row = vec![
                match bin.to {
                    None => format!("{}+", bin.from),
                    Some(_) => bin.from.to_string(),
                },
                bin.customers.to_string(),
                format!("{:.3}", bin.actual_mean),
            ];
            for c in self.checked {
                row.push(
                    c.holdout
                        .by_frequency
                        .get(i)
                        .map_or("-".into(), |x| format!("{:.3}", x.predicted_mean)),
                );
            }
            t.row(row);
        }
        o.push_str(&t.render());
        let g = self.grid;
        let period = period_name(self.unit);
        let _ = writeln!(
            o,
            "\nCumulative repeat purchases by {period} since {} (a row every {} {period}s and at the calibration end; --format json has all):",
            g.start,
            step(g.ends.len())
        );
        let mut header = vec![period, "actual"];
        header.extend(names.iter().copied());
        let mut t = Table::new(&header);
        let s = step(g.ends.len());
        let shown = |k: usize| {
            (k + 1).is_multiple_of(s) || k + 1 == g.ends.len() || k + 1 == g.calibration_periods
        };
        for k in (0..g.ends.len()).filter(|&k| shown(k)) {
            let mut row = vec![
                format!(
                    "{}{}",
                    k + 1,
                    if k + 1 == g.calibration_periods {
                        " (calibration end)"
                    } else {
                        ""
                    }
                ),
                num(g.actual[k], 12),
            ];
            for c in self.checked {
                row.push(format!("{:.1}", c.tracking[k]));
            }
            t.row(row);
        }
        o.push_str(&t.render());
        for p in self.written {
            let _ = writeln!(o, "wrote {}", p.display());
        }
        o
    }
}

/// Show about a dozen rows of the tracking series.
fn step(n: usize) -> usize {
    n.div_ceil(12).max(1)
}
