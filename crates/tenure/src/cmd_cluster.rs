//! `tenure cluster scheduler|executor`: the roles of an Apache DataFusion Ballista cluster,
//! hosted by this binary (so the executors know Tenure's functions). See the README's
//! "Past one machine" section for a multi-host setup.

use crate::error::CliError;
use clap::{Args, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tenure_cluster::{ExecutorOptions, SchedulerOptions, SchedulerUrl};

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub role: Role,
}

#[derive(Subcommand, Debug)]
pub enum Role {
    /// Run the scheduler: clients submit plans here, executors register here.
    Scheduler(SchedulerArgs),
    /// Run an executor: it registers with the scheduler and runs the tasks it is given.
    Executor(ExecutorArgs),
}

#[derive(Args, Debug)]
pub struct SchedulerArgs {
    /// Where to listen (gRPC for clients and executors); port 0 picks a free one, printed.
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub addr: SocketAddr,
    /// The host name clients and executors use to reach this scheduler (default: --addr's IP).
    #[arg(long)]
    pub external_host: Option<String>,
    /// Seconds without a heartbeat after which an executor is lost and its tasks re-run.
    #[arg(long, default_value_t = 30)]
    pub executor_timeout_secs: u64,
}

#[derive(Args, Debug)]
pub struct ExecutorArgs {
    /// The scheduler: HOST:PORT or ballista://HOST:PORT.
    #[arg(long)]
    pub scheduler: String,
    /// Where to serve shuffle data and results (Arrow Flight); a fixed port.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,
    /// The port the scheduler pushes tasks to (gRPC), on --addr's IP.
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// The host name others use to reach this executor (default: --addr's IP).
    #[arg(long)]
    pub external_host: Option<String>,
    /// Directory for shuffle files (default: a fresh temporary directory).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Tasks run at once (default: this machine's cores).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Seconds between heartbeats to the scheduler (keep below its --executor-timeout-secs).
    #[arg(long, default_value_t = 5)]
    pub heartbeat_secs: u64,
}

/// Parse `--engine`'s cluster form, or a bare HOST:PORT.
pub fn scheduler_url(s: &str) -> Result<SchedulerUrl, CliError> {
    let full = if s.contains("://") {
        s.to_string()
    } else {
        format!("ballista://{s}")
    };
    full.parse().map_err(CliError::input)
}

pub fn run(a: ClusterArgs) -> Result<(), CliError> {
    match a.role {
        Role::Scheduler(s) => {
            let opts = SchedulerOptions {
                addr: s.addr,
                external_host: s.external_host,
                executor_timeout: Duration::from_secs(s.executor_timeout_secs),
            };
            tenure_cluster::run_scheduler(&opts, |addr| {
                // The one line a script waits for.
                println!("scheduler listening on {addr}");
                let _ = std::io::stdout().flush();
            })
            .map_err(CliError::failure)
        }
        Role::Executor(e) => {
            if let Some(dir) = &e.work_dir {
                std::fs::create_dir_all(dir).map_err(|err| CliError::io(dir, err))?;
            }
            let opts = ExecutorOptions {
                scheduler: scheduler_url(&e.scheduler)?,
                addr: e.addr,
                grpc_port: e.grpc_port,
                external_host: e.external_host,
                work_dir: e.work_dir,
                concurrency: e.concurrency,
                heartbeat: Duration::from_secs(e.heartbeat_secs),
            };
            println!(
                "executor on {} (tasks on port {}), scheduler {}",
                opts.addr, opts.grpc_port, opts.scheduler
            );
            let _ = std::io::stdout().flush();
            tenure_cluster::run_executor(&opts).map_err(CliError::failure)
        }
    }
}
