//! `tenure generate`: a seeded synthetic B2B SaaS company as the eleven record files of
//! docs/schema.md plus `parameters.json` (see the `tenure-generate` crate for the model).

use crate::error::CliError;
use crate::table::Table;
use crate::Format;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use tenure_generate::{write_dir, Config, Date, GenerateError, RecordFile};

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Folder for the files (created if missing; files in it with the same names are
    /// replaced, each only once it is complete).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of customers [default: 1000, or the parameters file's].
    #[arg(long)]
    pub customers: Option<usize>,
    /// Seed: the same seed and parameters give byte-identical files [default: 42, or the
    /// parameters file's].
    #[arg(long)]
    pub seed: Option<u64>,
    /// First day of acquisition, YYYY-MM-DD [default: 2023-01-01, or the parameters file's].
    #[arg(long)]
    pub start: Option<String>,
    /// Years of acquisition and observation [default: 3, or the parameters file's].
    #[arg(long)]
    pub years: Option<u32>,
    /// Parameters file (JSON, e.g. a generated parameters.json; fields left out keep their
    /// defaults). The flags above override it.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// How to report what was written.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn config_error(e: GenerateError, params: Option<&PathBuf>) -> CliError {
    match (e, params) {
        (GenerateError::Json(m), Some(p)) => CliError::input(format!("{}: {m}", p.display())),
        (e @ GenerateError::Parameter { .. }, Some(p)) => {
            CliError::input(format!("{}: {e}", p.display()))
        }
        (e @ GenerateError::Io { .. }, _) => CliError::failure(e.to_string()),
        (e, _) => CliError::input(e.to_string()),
    }
}

pub fn run(a: GenerateArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let mut config = match &a.params {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| CliError::io(p, e))?;
            Config::from_json(&text).map_err(|e| config_error(e, a.params.as_ref()))?
        }
        None => Config::default(),
    };
    if let Some(n) = a.customers {
        config.customers = n;
    }
    if let Some(s) = a.seed {
        config.seed = s;
    }
    if let Some(s) = &a.start {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| CliError::input(format!("--start: `{s}` is not a YYYY-MM-DD date")))?;
        config.start = Date(d);
    }
    if let Some(y) = a.years {
        config.years = y;
    }
    // Flags are checked as flags: name them, not the parameters file.
    config.validate().map_err(|e| match e {
        GenerateError::Parameter { name, reason }
            if matches!(name.as_str(), "customers" | "seed" | "start" | "years") =>
        {
            CliError::input(format!("--{name}: {reason}"))
        }
        e => config_error(e, a.params.as_ref()),
    })?;

    let summary = write_dir(&config, &a.out).map_err(|e| match e {
        GenerateError::Io { .. } => CliError::failure(e.to_string()),
        e => CliError::input(e.to_string()),
    })?;
    let elapsed = started.elapsed().as_secs_f64();

    let mut files: Vec<(String, Option<u64>, u64)> = RecordFile::ALL
        .iter()
        .map(|f| {
            (
                f.file_name().to_string(),
                Some(summary.rows[*f as usize]),
                0,
            )
        })
        .collect();
    files.push(("parameters.json".into(), None, 0));
    for (name, _, bytes) in &mut files {
        let p = a.out.join(&*name);
        *bytes = std::fs::metadata(&p)
            .map_err(|e| CliError::io(&p, e))?
            .len();
    }

    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "out": a.out.display().to_string(),
                "customers": summary.customers,
                "seed": config.seed,
                "observed_until": summary.observed_until.to_string(),
                "seconds": elapsed,
                "files": files.iter().map(|(name, rows, bytes)| serde_json::json!({
                    "file": name, "rows": rows, "bytes": bytes,
                })).collect::<Vec<_>>(),
            });
            println!("{v}");
        }
        Format::Table => {
            println!(
                "Generated {} customers (seed {}) observed until {} in {}:",
                summary.customers,
                config.seed,
                summary.observed_until,
                a.out.display()
            );
            let mut t = Table::new(&["file", "rows", "bytes"]);
            for (name, rows, bytes) in &files {
                t.row(vec![
                    name.clone(),
                    rows.map_or("-".into(), |r| r.to_string()),
                    bytes.to_string(),
                ]);
            }
            print!("{}", t.render());
            println!("in {elapsed:.2} s");
        }
    }
    Ok(())
}
