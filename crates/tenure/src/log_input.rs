//! `tenure fit` and `tenure predict` straight from a Parquet transaction log: the options that
//! say how to summarise it and where (this machine or a Ballista cluster), shared by both.
//!
//! A Parquet `--input` (a `.parquet` file, a file starting with `PAR1`, or a directory) is a
//! transaction log; a CSV `--input` is a summary file, as before.

use crate::cmd_summarize::{engine_report, parse_date, parse_engine, EngineArg, Merge};
use crate::error::CliError;
use clap::Args;
use std::io::Read;
use std::path::Path;
use tenure_core::TimeUnit;
use tenure_engine::{Engine, EngineError, MergePeriod, ParquetColumns, SummaryConfig};

#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// With a Parquet transaction log as --input: the last day observed (inclusive), as for
    /// `tenure summarize --end`. Required with a log.
    #[arg(long)]
    pub end: Option<String>,
    /// With a log: what counts as one purchase, all purchases of a `day` or of a calendar `unit`.
    #[arg(long, value_enum, default_value_t = Merge::Day)]
    pub merge: Merge,
    /// With a log: the customer id column.
    #[arg(long, default_value = "customer_id")]
    pub customer_column: String,
    /// With a log: the date column.
    #[arg(long, default_value = "date")]
    pub date_column: String,
    /// With a log: where it is summarised — `local` (Apache DataFusion on this machine) or
    /// `ballista://HOST:PORT` (a `tenure cluster`; the log, and for `predict` the output, at
    /// the same absolute path on every executor). Default: $TENURE_ENGINE, else `local`.
    #[arg(long, env = "TENURE_ENGINE", default_value = "local", value_parser = parse_engine)]
    pub engine: EngineArg,
}

impl Default for LogArgs {
    fn default() -> Self {
        LogArgs {
            end: None,
            merge: Merge::Day,
            customer_column: "customer_id".into(),
            date_column: "date".into(),
            engine: EngineArg::Local,
        }
    }
}

/// Whether `path` is a Parquet transaction log rather than a summary file.
pub fn is_log(path: &Path) -> bool {
    if path.is_dir()
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    {
        return true;
    }
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| &head == b"PAR1")
}

impl LogArgs {
    /// The summary settings for a log in `unit`.
    pub fn config(&self, input: &Path, unit: TimeUnit) -> Result<SummaryConfig, CliError> {
        let end = self.end.as_deref().ok_or_else(|| {
            CliError::input(format!(
                "{} is a transaction log: give --end YYYY-MM-DD, the last day observed",
                input.display()
            ))
        })?;
        let mut config = SummaryConfig::new(parse_date("end", end)?, unit);
        config.merge = match self.merge {
            Merge::Day => MergePeriod::Day,
            Merge::Unit => MergePeriod::Unit,
        };
        Ok(config)
    }

    /// The log's columns (amounts are not needed to fit or score purchase counts).
    pub fn columns(&self) -> ParquetColumns {
        ParquetColumns {
            customer_id: self.customer_column.clone(),
            date: self.date_column.clone(),
            amount: None,
        }
    }

    /// The engine for the local path (`None`: a cluster).
    pub fn local_engine(&self) -> Option<Engine> {
        match self.engine {
            EngineArg::Local => Some(Engine::Local),
            EngineArg::Rows => Some(Engine::Rows),
            EngineArg::Ballista(_) => None,
        }
    }

    /// How the engine is named in reports.
    pub fn describe(&self, used: Option<&tenure_engine::EngineUsed>) -> String {
        match (&self.engine, used) {
            (EngineArg::Ballista(url), _) => format!("ballista ({url})"),
            (_, Some(u)) => {
                let (name, note) = engine_report(u);
                match note {
                    Some(n) => format!("{name}: {n}"),
                    None => name,
                }
            }
            (_, None) => "datafusion".into(),
        }
    }

    /// Connect to the cluster, when one was asked for (exit 1 naming it when unreachable).
    pub fn client(&self) -> Result<Option<tenure_cluster::Client>, CliError> {
        match &self.engine {
            EngineArg::Ballista(url) => tenure_cluster::Client::connect(url)
                .map(Some)
                .map_err(CliError::failure),
            _ => Ok(None),
        }
    }
}

/// A cluster's failure is exit 1 (with Ballista's message); a bad log is exit 2.
pub fn engine_error(e: EngineError) -> CliError {
    match e {
        e @ EngineError::Engine { .. } => CliError::failure(e.to_string()),
        other => crate::inputs::engine_error(other),
    }
}
