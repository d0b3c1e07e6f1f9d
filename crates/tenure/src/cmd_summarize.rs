//! `tenure summarize`: transaction log → one recency-frequency-monetary row per customer.

use crate::error::CliError;
use crate::table::Table;
use crate::{write_atomically, Format};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Instant;
use tenure_core::TimeUnit;
use tenure_engine::{
    summarize_file, write_summaries_to, CdnowId, CsvColumns, MergePeriod, NaiveDate, SummaryConfig,
    TransactionFormat,
};

#[derive(Args, Debug)]
pub struct SummarizeArgs {
    /// Transaction log: CSV with a header (customer id, date, amount) or CDNOW's format.
    #[arg(long)]
    pub input: PathBuf,
    /// Layout of the input.
    #[arg(long, value_enum, default_value_t = InputFormat::Csv)]
    pub input_format: InputFormat,
    /// Customer id column (CSV).
    #[arg(long, default_value = "customer_id")]
    pub customer_column: String,
    /// Date column (CSV): YYYY-MM-DD, YYYYMMDD or RFC 3339 (dated in its own offset).
    #[arg(long, default_value = "date")]
    pub date_column: String,
    /// Amount column (CSV), read as an exact decimal.
    #[arg(long, default_value = "amount")]
    pub amount_column: String,
    /// Field separator (CSV), one character.
    #[arg(long, default_value = ",")]
    pub delimiter: char,
    /// Last day observed (inclusive): the end of the calibration period.
    #[arg(long)]
    pub end: String,
    /// Last day of a holdout period (inclusive), after `--end`: adds holdout columns.
    #[arg(long)]
    pub holdout_end: Option<String>,
    /// Unit of recency and T: days, weeks, months (30.4375 days) or years (365.25 days).
    #[arg(long, default_value = "weeks")]
    pub unit: String,
    /// What counts as one purchase: all purchases of a `day`, or of a calendar `unit`.
    #[arg(long, value_enum, default_value_t = Merge::Day)]
    pub merge: Merge,
    /// Round times and money half-up to this many decimals.
    #[arg(long)]
    pub decimals: Option<u32>,
    /// Where to write the summary CSV (written atomically); stdout when absent.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// How to report what was done (with `--output`).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum InputFormat {
    Csv,
    /// Whitespace-separated: customer id, customer index (used as id), YYYYMMDD, count, dollars.
    Cdnow,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Merge {
    Day,
    Unit,
}

fn parse_date(flag: &str, s: &str) -> Result<NaiveDate, CliError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| CliError::input(format!("--{flag} `{s}`: {e} (write YYYY-MM-DD)")))
}

pub fn run(a: SummarizeArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let unit: TimeUnit = a
        .unit
        .parse()
        .map_err(|e| CliError::input(format!("--unit: {e}")))?;
    if !a.delimiter.is_ascii() {
        return Err(CliError::input("--delimiter must be one ASCII character"));
    }
    let format = match a.input_format {
        InputFormat::Csv => TransactionFormat::Csv(CsvColumns {
            customer_id: a.customer_column.clone(),
            date: a.date_column.clone(),
            amount: Some(a.amount_column.clone()),
            delimiter: a.delimiter as u8,
        }),
        InputFormat::Cdnow => TransactionFormat::Cdnow(CdnowId::Index),
    };
    let mut config = SummaryConfig::new(parse_date("end", &a.end)?, unit);
    config.holdout_end = a
        .holdout_end
        .as_deref()
        .map(|s| parse_date("holdout-end", s))
        .transpose()?;
    config.merge = match a.merge {
        Merge::Day => MergePeriod::Day,
        Merge::Unit => MergePeriod::Unit,
    };
    config.round = a.decimals;
    let rows = summarize_file(&a.input, &format, &config).map_err(crate::inputs::engine_error)?;
    let mut buf = Vec::new();
    let out_name = a
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdout>"));
    write_summaries_to(&mut buf, &out_name, &rows).map_err(crate::inputs::engine_error)?;
    let Some(out) = &a.output else {
        use std::io::Write;
        return std::io::stdout()
            .write_all(&buf)
            .map_err(|e| CliError::failure(format!("stdout: {e}")));
    };
    write_atomically(out, &buf)?;
    let customers = rows.len();
    let repeat = rows.iter().filter(|r| r.frequency > 0).count();
    let holdout_buyers = rows
        .iter()
        .filter(|r| r.holdout.as_ref().is_some_and(|h| h.frequency > 0))
        .count();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "output": out.display().to_string(),
                "customers": customers,
                "repeat_buyers": repeat,
                "time_unit": unit.name(),
                "calibration_end": config.calibration_end.to_string(),
                "holdout_end": config.holdout_end.map(|d| d.to_string()),
                "holdout_buyers": config.holdout_end.map(|_| holdout_buyers),
                "elapsed_ms": { "total": ms },
            });
            println!("{v}");
        }
        Format::Table => {
            let mut t = Table::new(&["summary", "value"]);
            t.row(vec!["output".into(), out.display().to_string()]);
            t.row(vec!["customers".into(), customers.to_string()]);
            t.row(vec!["with repeat purchases".into(), repeat.to_string()]);
            t.row(vec!["time unit".into(), unit.name().into()]);
            t.row(vec![
                "calibration end (inclusive)".into(),
                config.calibration_end.to_string(),
            ]);
            if let Some(h) = config.holdout_end {
                t.row(vec!["holdout end (inclusive)".into(), h.to_string()]);
                t.row(vec!["buyers in holdout".into(), holdout_buyers.to_string()]);
            }
            print!("{}", t.render());
        }
    }
    Ok(())
}
