//! `tenure`: what each customer is worth and what to do about it.
//!
//! The binary is thin: it parses arguments, calls the library crates, formats tables and JSON,
//! and owns exit codes (0 ok, 1 failure, 2 bad input or usage).

mod cmd_act;
mod cmd_cluster;
mod cmd_fit;
mod cmd_generate;
mod cmd_import;
mod cmd_journal;
mod cmd_playbooks;
mod cmd_predict;
mod cmd_report;
mod cmd_review;
mod cmd_serve;
mod cmd_summarize;
mod cmd_validate;
mod covariate_cli;
mod demo;
mod demo_models;
mod dyncov_cli;
mod error;
mod inputs;
mod log_input;
mod model_file;
mod predict_discrete;
mod progress;
mod store_log;
mod table;
mod timing;

use clap::{Parser, Subcommand, ValueEnum};
use error::CliError;
use std::process::ExitCode;

/// mimalloc: per-thread heaps, no arena lock on the engine's many small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tenure: customer lifetime value from both sides, predicted with the models of the
/// marketing-science literature.
#[derive(Parser, Debug)]
#[command(name = "tenure", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fit a model to a summary file and print its parameters (`--format json` for scripts).
    Fit(cmd_fit::FitArgs),
    /// Score customers with a fitted model: P(alive), expected purchases, spend and CLV (sBG:
    /// renewal, survival and DERL).
    Predict(cmd_predict::PredictArgs),
    /// Turn a transaction log into one recency-frequency-monetary row per customer.
    Summarize(cmd_summarize::SummarizeArgs),
    /// Check models on a holdout period: fit on the calibration period, predict the holdout,
    /// compare per customer, by frequency and over time; recommend one.
    Validate(cmd_validate::ValidateArgs),
    /// The whole product on a synthetic company: generate, import into SQLite, fit, compute
    /// every report and serve the dashboard on 127.0.0.1.
    Demo(demo::DemoArgs),
    /// The model pipeline on a simulated transaction log: summarise with a holdout, fit four
    /// models, check them on the holdout, score.
    DemoModels(demo_models::DemoModelsArgs),
    /// Write a seeded synthetic B2B SaaS company: the eleven record files and its parameters.
    Generate(cmd_generate::GenerateArgs),
    /// Import one CSV or JSON-lines file of records into the store: all its rows or none.
    Import(cmd_import::ImportArgs),
    /// Value and retention reports from the store: value, retention, mrr, cohorts, survival.
    Report(cmd_report::ReportArgs),
    /// CLV segments (key, potential key, general, never profitable) with their retention plans.
    Segments(cmd_act::SegmentsArgs),
    /// Health scores, each explained in points per component; one customer's with its history.
    Health(cmd_act::HealthArgs),
    /// Advocacy candidates: tenured, healthy promoters, ranked.
    Advocates(cmd_act::AdvocatesArgs),
    /// Lifecycle stages Deliver → Develop → Retain → Grow: the funnel, each customer's stage and why.
    Stages(cmd_journal::StagesArgs),
    /// Evaluate the playbooks of tenure.toml for a day: record segment and stage moves, enqueue
    /// what fired (webhooks, emails, tasks); --deliver sends what is due.
    RunPlaybooks(cmd_playbooks::RunPlaybooksArgs),
    /// The delivery worker: send the outbox's due webhooks and emails (once, or --watch).
    Deliver(cmd_playbooks::DeliverArgs),
    /// Forecasts: next purchase window, renewal likelihood and expected value, expansion.
    Forecast(cmd_journal::ForecastArgs),
    /// Account plans: goals with owner, target day, status and linked metric.
    Plans(cmd_journal::PlansArgs),
    /// The playbooks' actions outbox: list, replay dead items, close tasks.
    Outbox(cmd_journal::OutboxArgs),
    /// Serve the REST API on 127.0.0.1:8080 (OpenAPI at /openapi.json), with the delivery worker.
    Serve(cmd_serve::ServeArgs),
    /// API tokens: create (printed once), list, revoke.
    Token(cmd_serve::TokenArgs),
    /// Run a role of an Apache DataFusion Ballista cluster (scheduler or executor) for
    /// `--engine ballista://HOST:PORT`.
    Cluster(cmd_cluster::ClusterArgs),
    /// One account's value review for a quarterly business review: a printable HTML page.
    Review(cmd_review::ReviewArgs),
}

/// Output format of a command.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// A readable table.
    #[default]
    Table,
    /// One JSON object.
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Fit(a) => cmd_fit::run(a),
        Command::Predict(a) => cmd_predict::run(a),
        Command::Summarize(a) => cmd_summarize::run(a),
        Command::Validate(a) => cmd_validate::run(a),
        Command::Demo(a) => demo::run(a),
        Command::DemoModels(a) => demo_models::run(a),
        Command::Generate(a) => cmd_generate::run(a),
        Command::Import(a) => cmd_import::run(a),
        Command::Report(a) => cmd_report::run(a),
        Command::Segments(a) => cmd_act::segments(a),
        Command::Health(a) => cmd_act::health_cmd(a),
        Command::Advocates(a) => cmd_act::advocates_cmd(a),
        Command::Stages(a) => cmd_journal::stages(a),
        Command::RunPlaybooks(a) => cmd_playbooks::run_playbooks(a),
        Command::Deliver(a) => cmd_playbooks::deliver(a),
        Command::Forecast(a) => cmd_journal::forecast(a),
        Command::Plans(a) => cmd_journal::plans(a),
        Command::Outbox(a) => cmd_journal::outbox(a),
        Command::Serve(a) => cmd_serve::serve(a),
        Command::Token(a) => cmd_serve::token(a),
        Command::Cluster(a) => cmd_cluster::run(a),
        Command::Review(a) => cmd_review::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenure: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Where the store is when neither `--db` nor `$TENURE_DB` says.
const DEFAULT_DB: &str = "tenure.db";

/// The store of a command: `--db`, else `$TENURE_DB` (when not empty), else ./tenure.db.
pub fn store_location(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("TENURE_DB").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| DEFAULT_DB.to_string())
}

/// Write to a file atomically (temporary name in the same folder, then rename), so a failed
/// run never leaves a half-written output behind.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// [`write_atomically`] for output written piece by piece by `write` (through a buffer), so a
/// large output is never held in memory whole. If `write` fails, the temporary file is removed
/// and `path` is untouched.
pub fn write_atomically_with(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), CliError> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        w.flush()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::io(path, e)
    })
}
