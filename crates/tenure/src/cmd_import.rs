//! `tenure import <kind> FILE`: one CSV, JSON-lines or Parquet file into the store, all its rows or
//! none. Bad rows are listed on stderr (`FILE:LINE:COLUMN: field: reason`, at most 100, then a
//! count of the rest) with exit status 2 and the store unchanged; a store failure is exit 1.

use crate::error::CliError;
use crate::table::Table;
use crate::Format;
use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;
use tenure_store::{
    open, parse_mapping, ImportError, ImportOptions, InputFormat, Location, Progress, RecordKind,
    Stage,
};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// What the file holds (columns: docs/schema.md).
    #[arg(value_enum)]
    pub kind: Kind,
    /// The file: CSV with a header row, JSON lines (one object per line), or Parquet (flat
    /// columns named like the CSV header; each value read as the text a CSV would hold: DECIMAL
    /// exactly, DATE as YYYY-MM-DD, TIMESTAMP as UTC, FLOAT/DOUBLE as their shortest decimal,
    /// null as absent).
    pub file: PathBuf,
    /// Layout of the file [default: Parquet when it starts and ends with `PAR1`, else from its
    /// extension: .csv; .jsonl, .ndjson, .json; .parquet, .parq, .pq].
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormatArg>,
    /// Read a file column as a schema column, e.g. --map "Customer ID=customer_id"
    /// (repeatable).
    #[arg(long = "map", value_name = "FILE_COLUMN=COLUMN", value_parser = parse_mapping)]
    pub map: Vec<(String, String)>,
    /// The store: a SQLite file or a postgres:// URL [default: $TENURE_DB, else ./tenure.db].
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
    /// How to report what was done.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Kind {
    Customers,
    Transactions,
    Subscriptions,
    Costs,
    Usage,
    Feedback,
    Cases,
    Payments,
    Interactions,
    Campaigns,
    Touches,
}

impl From<Kind> for RecordKind {
    fn from(k: Kind) -> RecordKind {
        match k {
            Kind::Customers => RecordKind::Customers,
            Kind::Transactions => RecordKind::Transactions,
            Kind::Subscriptions => RecordKind::Subscriptions,
            Kind::Costs => RecordKind::Costs,
            Kind::Usage => RecordKind::Usage,
            Kind::Feedback => RecordKind::Feedback,
            Kind::Cases => RecordKind::Cases,
            Kind::Payments => RecordKind::Payments,
            Kind::Interactions => RecordKind::Interactions,
            Kind::Campaigns => RecordKind::Campaigns,
            Kind::Touches => RecordKind::Touches,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum InputFormatArg {
    Csv,
    Jsonl,
    Parquet,
}

/// A byte-count progress bar on stderr, only when stderr is a terminal.
/// Move `bar` (if any) to where an import is.
pub(crate) fn show_progress(bar: Option<&indicatif::ProgressBar>, p: Progress) {
    if let Some(b) = bar {
        b.set_position(p.bytes_read);
        b.set_message(match p.stage {
            Stage::Reading => "reading",
            Stage::Checking => "checking",
            Stage::Writing => "writing",
            Stage::Done => "done",
        });
    }
}

pub(crate) fn progress_bar(file: &std::path::Path) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:9} [{bar:40}] {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("reading");
    Some(bar)
}

pub fn run(a: ImportArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let db = crate::store_location(a.db.as_deref());
    let location = Location::parse(&db);
    let kind = RecordKind::from(a.kind);
    let options = ImportOptions {
        format: a.input_format.map(|f| match f {
            InputFormatArg::Csv => InputFormat::Csv,
            InputFormatArg::Jsonl => InputFormat::Jsonl,
            InputFormatArg::Parquet => InputFormat::Parquet,
        }),
        map: a.map.clone(),
    };
    let mut store = open(&location).map_err(|e| CliError::failure(e.to_string()))?;
    let bar = progress_bar(&a.file);
    let mut on_progress = |p: Progress| show_progress(bar.as_ref(), p);
    let result = store.import(kind, &a.file, &options, &mut on_progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = match result {
        Ok(r) => r,
        Err(ImportError::Rejected(r)) => {
            for line in r.lines() {
                eprintln!("{line}");
            }
            return Err(CliError::input(r.to_string()));
        }
        Err(e) if e.is_bad_input() => return Err(CliError::input(e.to_string())),
        Err(e) => return Err(CliError::failure(e.to_string())),
    };
    let secs = started.elapsed().as_secs_f64();
    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "kind": kind.as_str(),
                "file": report.file.display().to_string(),
                "store": store.location(),
                "rows": report.rows,
                "inserted": report.inserted,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "ignored_columns": report.ignored_columns,
                "elapsed_ms": { "total": secs * 1000.0 },
            });
            println!("{v}");
        }
        Format::Table => {
            if !report.ignored_columns.is_empty() {
                eprintln!(
                    "note: ignored columns that are not in the {kind} schema: {}",
                    report.ignored_columns.join(", ")
                );
            }
            let mut t = Table::new(&[
                "kind",
                "file",
                "rows",
                "inserted",
                "updated",
                "unchanged",
                "elapsed",
            ]);
            t.row(vec![
                kind.as_str().into(),
                report.file.display().to_string(),
                report.rows.to_string(),
                report.inserted.to_string(),
                report.updated.to_string(),
                report.unchanged.to_string(),
                format!("{secs:.3} s"),
            ]);
            print!("{}", t.render());
        }
    }
    Ok(())
}
