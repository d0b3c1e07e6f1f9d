//! `tenure summarize`: transaction log → one recency-frequency-monetary row per customer.

use crate::error::CliError;
use crate::table::Table;
use crate::{write_atomically, Format};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tenure_core::TimeUnit;
use tenure_engine::{
    summarize_file_with_progress, summarize_parquet, write_summaries_to, CdnowId, CsvColumns,
    Engine, EngineError, EngineUsed, MergePeriod, NaiveDate, ParquetColumns, SummaryConfig,
    TransactionFormat,
};

/// Inputs larger than this get a progress bar (when stderr is a terminal).
const PROGRESS_BAR_BYTES: u64 = 16 << 20;

#[derive(Args, Debug)]
pub struct SummarizeArgs {
    /// Transaction log, one purchase per row (customer id, date or timestamp, amount): CSV with a
    /// header, Parquet (a file, or a directory of `.parquet` files), or CDNOW's text format.
    /// Large files are streamed, never read whole. Either this or `--db`.
    #[arg(long, required_unless_present = "db", conflicts_with = "db")]
    pub input: Option<PathBuf>,
    /// Summarize the invoice lines of a store instead of a file: a SQLite file or a
    /// postgres:// URL (`tenure import transactions …` fills it). Each line is dated in UTC;
    /// a customer's lines of one UTC day are one purchase when at least one of them is not a
    /// refund, for the day's net total (refunds included, so it may be ≤ 0); a day of refunds
    /// only is not a purchase and its refunds are not counted. All lines must be in one
    /// currency, or `--currency` picks one.
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
    /// With `--db`: summarize only the lines in this ISO 4217 currency (others are left out,
    /// never converted). Needed when the store holds more than one currency.
    #[arg(long, requires = "db")]
    pub currency: Option<String>,
    #[command(flatten)]
    pub log_format: LogFormatArgs,
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
    /// Engine for Parquet logs: `local` is Apache DataFusion on every core of this machine
    /// (customer id an integer or string, date a DATE or TIMESTAMP, amount a DECIMAL or
    /// integer; other column types go to the row reader, and the output says so); `rows` is
    /// the streaming row reader on one core; `ballista://HOST:PORT` runs the same DataFusion
    /// plan on a Ballista cluster (`tenure cluster`; the Parquet path must be readable at the
    /// same absolute path on every executor). CSV and CDNOW logs are always read row by row.
    /// Default: $TENURE_ENGINE, else `local`.
    #[arg(long, env = "TENURE_ENGINE", default_value = "local", value_parser = parse_engine)]
    pub engine: EngineArg,
}

/// How a transaction log is laid out: its format and column names (shared by the commands
/// that read logs: `summarize`, `validate`).
#[derive(Args, Debug, Clone)]
pub struct LogFormatArgs {
    /// Layout of the input. `auto` reads Parquet when the file starts with `PAR1` or its name
    /// ends in `.parquet`, CSV otherwise.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,
    /// Customer id column (CSV, Parquet). Parquet: a string or integer column.
    #[arg(long, default_value = "customer_id")]
    pub customer_column: String,
    /// Date column (CSV, Parquet): YYYY-MM-DD, YYYYMMDD or RFC 3339 (dated in its own offset).
    /// Parquet: also DATE, or TIMESTAMP of any unit (dated in UTC when stored as UTC, by its
    /// own date when stored without a time zone).
    #[arg(long, default_value = "date")]
    pub date_column: String,
    /// Amount column (CSV, Parquet), read as an exact decimal. Parquet: also DECIMAL, integers
    /// (whole units) and FLOAT/DOUBLE (taken as their shortest decimal, e.g. 0.1).
    #[arg(long, default_value = "amount")]
    pub amount_column: String,
    /// Field separator (CSV), one character.
    #[arg(long, default_value = ",")]
    pub delimiter: char,
}

impl LogFormatArgs {
    /// The format of `input` (auto-detected unless given).
    pub fn format(&self, input: Option<&Path>) -> Result<TransactionFormat, CliError> {
        if !self.delimiter.is_ascii() {
            return Err(CliError::input("--delimiter must be one ASCII character"));
        }
        let columns = CsvColumns {
            customer_id: self.customer_column.clone(),
            date: self.date_column.clone(),
            amount: Some(self.amount_column.clone()),
            delimiter: self.delimiter as u8,
        };
        Ok(match (self.input_format, input) {
            (InputFormat::Auto, Some(input)) if input.is_dir() => {
                TransactionFormat::Parquet(ParquetColumns::from(&columns))
            }
            (InputFormat::Auto, Some(input)) => {
                TransactionFormat::detect(input, columns).map_err(crate::inputs::engine_error)?
            }
            (InputFormat::Auto, None) => TransactionFormat::Csv(columns),
            (InputFormat::Csv, _) => TransactionFormat::Csv(columns),
            (InputFormat::Parquet, _) => TransactionFormat::Parquet(ParquetColumns::from(&columns)),
            (InputFormat::Cdnow, _) => TransactionFormat::Cdnow(CdnowId::Index),
        })
    }
}

#[derive(Clone, Debug)]
pub enum EngineArg {
    Local,
    Rows,
    Ballista(tenure_cluster::SchedulerUrl),
}

pub(crate) fn parse_engine(s: &str) -> Result<EngineArg, String> {
    match s.trim() {
        "local" => Ok(EngineArg::Local),
        "rows" => Ok(EngineArg::Rows),
        other if other.starts_with("ballista://") || other.starts_with("df://") => {
            other.parse().map(EngineArg::Ballista)
        }
        other => Err(format!(
            "`{other}`: write local, rows or ballista://HOST:PORT"
        )),
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum InputFormat {
    /// Parquet if the file starts with `PAR1` or ends in `.parquet`, otherwise CSV.
    Auto,
    /// CSV with a header row; columns found by name.
    Csv,
    /// Apache Parquet (uncompressed, Snappy, gzip, LZ4 or Zstandard); columns found by name.
    Parquet,
    /// Whitespace-separated: customer id, customer index (used as id), YYYYMMDD, count, dollars.
    Cdnow,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Merge {
    Day,
    Unit,
}

pub(crate) fn parse_date(flag: &str, s: &str) -> Result<NaiveDate, CliError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| CliError::input(format!("--{flag} `{s}`: {e} (write YYYY-MM-DD)")))
}

/// Some corrupt Parquet files make the `parquet` decoder panic; the engine catches that and
/// reports the file as corrupt. Keep the panic hook from also printing the panic as if Tenure
/// had crashed; panics anywhere else are printed as usual.
pub(crate) fn quiet_parquet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_parquet = info
            .location()
            .is_some_and(|l| l.file().contains("parquet-"));
        if !in_parquet {
            default(info);
        }
    }));
}

/// A progress bar on stderr for directories and inputs over [`PROGRESS_BAR_BYTES`] when stderr is a terminal;
/// a hidden one otherwise (pipes, files, tests). Parquet progress is in rows, text in bytes.
pub(crate) fn progress_bar(input: &Path, format: &TransactionFormat) -> ProgressBar {
    let large = std::fs::metadata(input).is_ok_and(|m| m.is_dir() || m.len() > PROGRESS_BAR_BYTES);
    if !large || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let counts = match format {
        TransactionFormat::Parquet(_) => "{human_pos}/{human_len} rows",
        _ => "{binary_bytes}/{binary_total_bytes}",
    };
    let template = format!("{{msg}} [{{wide_bar}}] {counts}, {{eta}} left");
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    let name = input.file_name().map_or_else(
        || input.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    bar.set_message(format!("reading {name}"));
    bar
}

/// Summarize a transaction file (or a directory of Parquet files), with a progress bar for
/// large ones. Returns the rows and the engine that made them.
fn summarize_input(
    input: &Path,
    format: &TransactionFormat,
    config: &SummaryConfig,
    engine: &EngineArg,
) -> Result<(Vec<tenure_engine::CustomerSummary>, EngineUsed), CliError> {
    let bar = progress_bar(input, format);
    let mut progress = |done: u64, total: Option<u64>| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    };
    let rows = match format {
        TransactionFormat::Parquet(cols) => {
            quiet_parquet_panics();
            let engine = match engine {
                EngineArg::Local => Engine::Local,
                EngineArg::Rows => Engine::Rows,
                EngineArg::Ballista(url) => {
                    // Unreachable scheduler: exit 1 naming it; a failed job: exit 1 with
                    // Ballista's message (never the row reader's answer in its place).
                    let client = tenure_cluster::Client::connect(url).map_err(CliError::failure)?;
                    let rows = client
                        .summarize_parquet(input, cols, config, &mut progress)
                        .map_err(|e| match e {
                            e @ EngineError::Engine { .. } => CliError::failure(e.to_string()),
                            other => crate::inputs::engine_error(other),
                        });
                    bar.finish_and_clear();
                    return rows.map(|r| {
                        (
                            r,
                            EngineUsed::Ballista {
                                scheduler: url.to_string(),
                            },
                        )
                    });
                }
            };
            summarize_parquet(input, cols, config, engine, &mut progress)
        }
        _ => summarize_file_with_progress(input, format, config, &mut progress)
            .map(|rows| (rows, EngineUsed::Rows { reason: None })),
    };
    bar.finish_and_clear();
    rows.map_err(crate::inputs::engine_error)
}

/// What the output says about the engine: its name, and why the row reader was used.
pub(crate) fn engine_report(used: &EngineUsed) -> (String, Option<String>) {
    match used {
        EngineUsed::DataFusion { threads } => (format!("datafusion ({threads} threads)"), None),
        EngineUsed::Rows { reason } => ("rows".into(), reason.clone()),
        EngineUsed::Ballista { scheduler } => (format!("ballista ({scheduler})"), None),
    }
}

pub fn run(a: SummarizeArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let unit: TimeUnit = a
        .unit
        .parse()
        .map_err(|e| CliError::input(format!("--unit: {e}")))?;
    let format = a.log_format.format(a.input.as_deref())?;
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
    let (rows, used) = match (&a.input, &a.db) {
        (_, Some(db)) => (
            crate::store_log::summarize_store(db, config.clone(), a.currency.as_deref())?,
            EngineUsed::Rows { reason: None },
        ),
        (Some(input), None) => summarize_input(input, &format, &config, &a.engine)?,
        (None, None) => return Err(CliError::input("give --input FILE or --db PATH|URL")),
    };
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
    let (engine, engine_note) = engine_report(&used);
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
                "engine": engine,
                "engine_note": engine_note,
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
            t.row(vec!["engine".into(), engine]);
            if let Some(note) = engine_note {
                t.row(vec!["engine note".into(), note]);
            }
            print!("{}", t.render());
        }
    }
    Ok(())
}
