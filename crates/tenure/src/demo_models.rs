//! `tenure demo-models`: the model pipeline on a simulated transaction log, the way a user
//! would run it on a file — the log is written, summarised with a holdout period, every
//! purchase model is fitted and checked against the holdout, and every customer is scored.

use crate::cmd_fit::{fit_file, FitArgs, ModelKind};
use crate::cmd_predict::{self, PredictArgs};
use crate::error::CliError;
use crate::table::{num, Table};
use crate::{write_atomically, Format};
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use tenure_core::TimeUnit;
use tenure_engine::{
    summarize_file, write_summaries_to, NaiveDate, SummaryConfig, TransactionFormat,
};
use tenure_models::simulate::{simulate_bgnbd_purchases, uniform_ages};
use tenure_models::RfmModel;

#[derive(Args, Debug)]
pub struct DemoModelsArgs {
    /// Folder for the demo's files (created if missing).
    #[arg(long, default_value = "tenure-demo-models")]
    pub dir: PathBuf,
    /// Number of customers in the synthetic company.
    #[arg(long, default_value_t = 5000)]
    pub customers: usize,
    /// Seed of the synthetic company (same seed, same company).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// The synthetic company: customers acquired evenly through 2024, observed to the end of 2025.
const FIRST_DAY: (i32, u32, u32) = (2024, 1, 1);
const CALIBRATION_END: (i32, u32, u32) = (2025, 6, 30);
const HOLDOUT_END: (i32, u32, u32) = (2025, 12, 31);
/// The truth the company is drawn from (weeks; dollars).
const TRUE_BGNBD: (f64, f64, f64, f64) = (0.6, 9.0, 0.9, 4.0);
const TRUE_SPEND: (f64, f64, f64) = (5.0, 4.0, 30.0);

fn date((y, m, d): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("the demo's dates are valid calendar dates")
}

fn step(n: usize, total: usize, what: &str, started: Instant) {
    eprintln!(
        "[{n}/{total}] {what} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

pub fn run(a: DemoModelsArgs) -> Result<(), CliError> {
    let started = Instant::now();
    if a.customers < 100 {
        return Err(CliError::input(
            "--customers: the demo needs at least 100 customers",
        ));
    }
    std::fs::create_dir_all(&a.dir).map_err(|e| CliError::io(&a.dir, e))?;
    let steps = 5;

    // 1. The transaction log.
    step(
        1,
        steps,
        &format!("generating a company of {} customers", a.customers),
        started,
    );
    let first = date(FIRST_DAY);
    let end = date(HOLDOUT_END);
    let acquired_over = 366.0; // 2024 is a leap year
    let offsets = uniform_ages(a.customers, 1e-9, acquired_over, a.seed)
        .map_err(|e| CliError::failure(format!("demo: {e}")))?;
    let ages: Vec<f64> = offsets
        .iter()
        .map(|o| ((end - first).num_days() as f64 - o.floor()) / 7.0)
        .collect();
    let purchases = simulate_bgnbd_purchases(TRUE_BGNBD, TRUE_SPEND, &ages, a.seed)
        .map_err(|e| CliError::failure(format!("demo: {e}")))?;
    let mut log = String::from("customer_id,date,amount\n");
    let mut n_tx = 0usize;
    for (i, (o, ps)) in offsets.iter().zip(&purchases).enumerate() {
        let day0 = first + chrono::Days::new(o.floor() as u64);
        for p in ps {
            let d = day0 + chrono::Days::new((p.time * 7.0).floor() as u64);
            if d > end {
                continue;
            }
            let _ = writeln!(log, "C{:05},{d},{:.2}", i + 1, p.value);
            n_tx += 1;
        }
    }
    let tx_path = a.dir.join("transactions.csv");
    write_atomically(&tx_path, log.as_bytes())?;

    // 2. Summaries with a holdout period.
    step(
        2,
        steps,
        &format!(
            "summarising {n_tx} transactions (calibration to {}, holdout to {})",
            date(CALIBRATION_END),
            end
        ),
        started,
    );
    let mut cfg = SummaryConfig::new(date(CALIBRATION_END), TimeUnit::Weeks);
    cfg.holdout_end = Some(end);
    cfg.round = Some(4);
    let summary = summarize_file(&tx_path, &TransactionFormat::default(), &cfg)
        .map_err(crate::inputs::engine_error)?;
    let summary_path = a.dir.join("summary.csv");
    let mut buf = Vec::new();
    write_summaries_to(&mut buf, &summary_path, &summary).map_err(crate::inputs::engine_error)?;
    write_atomically(&summary_path, &buf)?;

    // 3. Fit every purchase model and the spend model, exactly as `tenure fit` does.
    step(
        3,
        steps,
        "fitting BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma",
        started,
    );
    let fit_args = |model: ModelKind| FitArgs {
        model,
        input: summary_path.clone(),
        format: Format::Json,
        output: None,
        time_unit: Some("weeks".into()),
        column: None,
        cohort_size: None,
        periods: None,
        level: 0.95,
        bootstrap: None,
        seed: 42,
        log: Default::default(),
        cov: Default::default(),
        repeat_fit: None,
    };
    let mut fitted = Vec::new();
    for kind in [
        ModelKind::Bgnbd,
        ModelKind::Paretonbd,
        ModelKind::Mbgnbd,
        ModelKind::Gammagamma,
    ] {
        let f = fit_file(&fit_args(kind))?;
        let path = a.dir.join(format!("{}.json", kind.name()));
        let mf = crate::model_file::ModelFile::from_fit(
            kind.name(),
            &f.fit,
            f.time_unit.as_deref(),
            crate::model_file::InputReport {
                file: summary_path.display().to_string(),
                rows: f.rows,
                distinct_rows: f.distinct,
            },
        );
        let text = serde_json::to_string_pretty(&mf)
            .map_err(|e| CliError::failure(format!("serialising the model: {e}")))?;
        write_atomically(&path, text.as_bytes())?;
        fitted.push((kind, f, path));
    }

    // 4. Holdout check: predicted vs actual purchases after the calibration end.
    step(
        4,
        steps,
        "checking each model against the holdout period",
        started,
    );
    let actual: f64 = summary
        .iter()
        .map(|s| s.holdout.as_ref().map_or(0, |h| h.frequency) as f64)
        .sum();
    let horizon: f64 = summary
        .first()
        .and_then(|s| s.holdout.as_ref())
        .map(|h| h.duration.try_into().unwrap_or(0.0))
        .unwrap_or(0.0);
    let rows: Vec<(f64, f64, f64)> = summary
        .iter()
        .map(|s| {
            (
                s.frequency as f64,
                f64::try_from(s.recency).unwrap_or(f64::NAN),
                f64::try_from(s.t).unwrap_or(f64::NAN),
            )
        })
        .collect();
    let predicted = |m: &dyn RfmModel| -> f64 {
        rows.iter()
            .map(|&(x, tx, t)| m.conditional_expected_purchases(horizon, x, tx, t))
            .sum()
    };
    let mut t = Table::new(&[
        "model",
        "log-likelihood",
        "BIC",
        "holdout purchases: predicted",
        "actual",
        "error",
    ]);
    let mut best: Option<(f64, usize)> = None;
    for (i, (kind, f, _)) in fitted.iter().enumerate() {
        let Some(model) = crate::cmd_validate::rfm_model(*kind, &f.fit.params) else {
            continue;
        };
        let pred = predicted(model.as_ref());
        if best.is_none_or(|(b, _)| f.fit.bic < b) {
            best = Some((f.fit.bic, i));
        }
        t.row(vec![
            kind.title().into(),
            format!("{:.2}", f.fit.log_likelihood),
            format!("{:.2}", f.fit.bic),
            num(pred, 6),
            num(actual, 6),
            format!("{:+.1}%", 100.0 * (pred - actual) / actual.max(1.0)),
        ]);
    }
    let (_, best) = best.ok_or_else(|| CliError::failure("demo: no purchase model was fitted"))?;

    // 5. Score every customer with the model of lowest BIC, as `tenure predict` does.
    let (best_kind, _, best_path) = &fitted[best];
    step(
        5,
        steps,
        &format!(
            "scoring every customer with {} (lowest BIC)",
            best_kind.title()
        ),
        started,
    );
    let repeat = summary.iter().filter(|s| s.frequency > 0).count();
    println!("Tenure model demo: a synthetic company of {} customers, {} transactions ({} repeat buyers by {}).",
        a.customers, n_tx, repeat, date(CALIBRATION_END));
    println!(
        "Times in weeks; money in the log's currency (dollars). Files in {}.\n",
        a.dir.display()
    );
    println!(
        "Models fitted on the calibration period, checked on the holdout ({} weeks to {end}):",
        num(horizon, 4)
    );
    print!("{}", t.render());
    println!();
    cmd_predict::run(PredictArgs {
        model: best_path.clone(),
        input: summary_path.clone(),
        horizon: "12mo".into(),
        spend: Some(a.dir.join("gammagamma.json")),
        margin: 0.3,
        discount_rate: Some("1%/mo".into()),
        output: a.dir.join("scores.csv"),
        level: 0.95,
        no_intervals: false,
        bootstrap: None,
        seed: 42,
        alive_at_horizon: false,
        purchase_pmf: None,
        format: Format::Table,
        log: Default::default(),
        covariates: None,
        time_covariates: None,
        repeat_score: None,
    })?;
    println!(
        "\nThe same by hand:\n  tenure summarize --input {tx} --end {ce} --holdout-end {end} --output {s}\n  tenure fit {m} --input {s} --output {mp}\n  tenure fit gammagamma --input {s} --output {g}\n  tenure predict --model {mp} --input {s} --horizon 12mo --spend {g} --margin 0.3 --discount-rate 1%/mo --output {o}",
        tx = tx_path.display(),
        ce = date(CALIBRATION_END),
        s = summary_path.display(),
        m = best_kind.name(),
        mp = best_path.display(),
        g = a.dir.join("gammagamma.json").display(),
        o = a.dir.join("scores.csv").display(),
    );
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
