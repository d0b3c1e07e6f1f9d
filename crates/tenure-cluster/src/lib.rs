//! Tenure on an Apache DataFusion Ballista cluster: this crate hosts Ballista's scheduler and
//! executor (so one `tenure` binary runs every role of a cluster) and runs Tenure's columnar
//! plans on one from a client.
//!
//! The plans are the ones `tenure-engine` runs on one machine (a Parquet scan and a hash
//! aggregation by customer with the `tenure_rfm` aggregate, then the sufficient statistics of a
//! fit or the `tenure_score` function); here they are planned by the
//! scheduler, cut into stages and run by the executors. Both functions are registered in all three
//! places that resolve functions by name: the client's session (to build the logical plan), the
//! scheduler's session builder (to plan it) and every executor's function registry (to run it).
//!
//! Invariants:
//! - A scheduler that cannot be reached is an error naming its address, before anything runs.
//! - A failed job is an error (Ballista's message, which names the stage); there is no local
//!   fallback that could hide a cluster's failure. The one file a job writes (scores) is
//!   written under a temporary name and renamed into place only when complete.
//! - Parquet paths are made absolute before they are sent: every executor must see the same
//!   files at the same path (shared storage).

use ballista::prelude::SessionContextExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tenure_engine::{
    CustomerSummary, EngineError, ParquetColumns, ScoreSpec, StatRow, SummaryConfig, TenureRfm,
    TenureScore,
};

/// `ballista://HOST:PORT` (or `df://HOST:PORT`): a scheduler's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerUrl {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for SchedulerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ballista://{}:{}", self.host, self.port)
    }
}

impl std::str::FromStr for SchedulerUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("ballista://")
            .or_else(|| s.strip_prefix("df://"))
            .ok_or_else(|| format!("`{s}` is not ballista://HOST:PORT"))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| {
            format!("`{s}`: the scheduler's port is missing (ballista://HOST:PORT)")
        })?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{s}`: `{port}` is not a port number"))?;
        if host.is_empty() || port == 0 {
            return Err(format!("`{s}`: give a host and a port other than 0"));
        }
        Ok(SchedulerUrl {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
        })
    }
}

fn rfm_udaf() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(TenureRfm::default()))
}

fn score_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(TenureScore::default()))
}

fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime, String> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(t) = threads {
        b.worker_threads(t.max(1));
    }
    b.enable_all()
        .build()
        .map_err(|e| format!("cannot start threads: {e}"))
}

/// How a scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Where it listens for clients and executors (gRPC). Port 0 picks a free port.
    pub addr: SocketAddr,
    /// The host name executors and clients reach it by (default: the address's IP).
    pub external_host: Option<String>,
    /// An executor silent this long is taken as lost and its tasks re-run elsewhere.
    pub executor_timeout: Duration,
}

/// Run a scheduler until the process is stopped. `ready` is called once with the address it
/// listens on (the port is the real one when 0 was asked for).
pub fn run_scheduler(
    opts: &SchedulerOptions,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let rt = runtime(None)?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", opts.addr))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {}: {e}", opts.addr))?;
        let timeout = opts.executor_timeout.as_secs().max(1);
        let mut config = SchedulerConfig {
            bind_host: local.ip().to_string(),
            bind_port: local.port(),
            external_host: opts
                .external_host
                .clone()
                .unwrap_or_else(|| local.ip().to_string()),
            executor_timeout_seconds: timeout,
            expire_dead_executor_interval_seconds: timeout.clamp(1, 15),
            no_executors_grace_period_seconds: timeout,
            ..SchedulerConfig::default()
        };
        config = config.with_override_session_builder(Arc::new(|c: SessionConfig| {
            let mut state = ballista_core::utils::default_session_builder(c)?;
            state.register_udaf(rfm_udaf())?;
            state.register_udf(score_udf())?;
            Ok(state)
        }));
        let config = Arc::new(config);
        let cluster = BallistaCluster::new_from_config(&config)
            .await
            .map_err(|e| format!("scheduler: {e}"))?;
        let scheduler = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, config)
            .await
            .map_err(|e| format!("scheduler: {e}"))?;
        ready(local);
        start_grpc_service_with_listener(listener, scheduler)
            .await
            .map_err(|e| format!("scheduler: {e}"))
    })
}

/// How an executor runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub scheduler: SchedulerUrl,
    /// Where it serves shuffle data and results (Arrow Flight). Port 0 is not allowed: the
    /// scheduler hands this address to other executors and clients.
    pub addr: SocketAddr,
    /// Where the scheduler pushes tasks (gRPC).
    pub grpc_port: u16,
    /// The host name others reach it by (default: the address's IP).
    pub external_host: Option<String>,
    /// Shuffle files; a fresh temporary directory when absent.
    pub work_dir: Option<PathBuf>,
    /// Tasks run at once (default: the machine's cores).
    pub concurrency: Option<usize>,
    /// How often it tells the scheduler it is alive.
    pub heartbeat: Duration,
}

/// Run an executor until the process is stopped. It registers with the scheduler, which must
/// be reachable.
pub fn run_executor(opts: &ExecutorOptions) -> Result<(), String> {
    if opts.addr.port() == 0 || opts.grpc_port == 0 {
        return Err("an executor needs fixed ports (--addr HOST:PORT, --grpc-port)".into());
    }
    let rt = runtime(None)?;
    rt.block_on(async {
        reachable(&opts.scheduler).await?;
        let mut registry = BallistaFunctionRegistry::default();
        let udaf = rfm_udaf();
        registry
            .aggregate_functions
            .insert(udaf.name().to_string(), udaf);
        let udf = score_udf();
        registry
            .scalar_functions
            .insert(udf.name().to_string(), udf);
        let defaults = ExecutorProcessConfig::default();
        let config = ExecutorProcessConfig {
            bind_host: opts.addr.ip().to_string(),
            external_host: Some(
                opts.external_host
                    .clone()
                    .unwrap_or_else(|| opts.addr.ip().to_string()),
            ),
            port: opts.addr.port(),
            grpc_port: opts.grpc_port,
            scheduler_host: opts.scheduler.host.clone(),
            scheduler_port: opts.scheduler.port,
            vcores: opts.concurrency.unwrap_or(defaults.vcores).max(1),
            work_dir: opts
                .work_dir
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            executor_heartbeat_interval_seconds: opts.heartbeat.as_secs().max(1),
            print_thread_info: false,
            override_function_registry: Some(Arc::new(registry)),
            ..defaults
        };
        start_executor_process(Arc::new(config))
            .await
            .map_err(|e| format!("executor: {e}"))
    })
}

/// Fail with the address when nothing answers there (5 s).
async fn reachable(s: &SchedulerUrl) -> Result<(), String> {
    let target = format!("{}:{}", s.host, s.port);
    match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(&target),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("cannot reach the Ballista scheduler at {s}: {e}")),
        Err(_) => Err(format!(
            "cannot reach the Ballista scheduler at {s}: no answer in 5 s"
        )),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, EngineError> {
    std::path::absolute(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A client of one scheduler: a DataFusion session whose plans run on the cluster.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
    scheduler: SchedulerUrl,
}

impl Client {
    /// Connect (the scheduler must answer).
    pub fn connect(scheduler: &SchedulerUrl) -> Result<Client, String> {
        let runtime = runtime(Some(2))?;
        let ctx = runtime.block_on(async {
            reachable(scheduler).await?;
            let mut state = SessionStateBuilder::new()
                .with_default_features()
                .with_config(tenure_engine::session_config()?)
                .build();
            state.register_udaf(rfm_udaf()).map_err(|e| e.to_string())?;
            state.register_udf(score_udf()).map_err(|e| e.to_string())?;
            SessionContext::remote_with_state(&scheduler.to_string(), state)
                .await
                .map_err(|e| format!("Ballista scheduler at {scheduler}: {e}"))
        })?;
        Ok(Client {
            runtime,
            ctx,
            scheduler: scheduler.clone(),
        })
    }

    pub fn scheduler(&self) -> &SchedulerUrl {
        &self.scheduler
    }

    /// Summarise a Parquet log (a file or a directory of `.parquet` files) on the cluster;
    /// the same rows as the local engine's, sorted the same way.
    pub fn summarize_parquet(
        &self,
        path: &Path,
        cols: &ParquetColumns,
        config: &SummaryConfig,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Vec<CustomerSummary>, EngineError> {
        self.on_cluster(path, |rt, ctx, abs| {
            tenure_engine::summarize_parquet_in(rt, ctx, abs, cols, config, progress)
        })
    }

    /// A fit's sufficient statistics — distinct (frequency, recency, T) rows with customer
    /// counts — reduced on the executors; the same rows as
    /// [`tenure_engine::sufficient_stats_parquet`] on this machine.
    pub fn sufficient_stats(
        &self,
        path: &Path,
        cols: &ParquetColumns,
        config: &SummaryConfig,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Vec<StatRow>, EngineError> {
        self.on_cluster(path, |rt, ctx, abs| {
            tenure_engine::sufficient_stats_in(rt, ctx, abs, cols, config, progress)
        })
    }

    /// Score every customer on the executors and have the cluster write the Parquet file
    /// `out` (a path the executors share); see [`tenure_engine::score_parquet`]. Returns the
    /// rows written.
    pub fn score_parquet(
        &self,
        path: &Path,
        cols: &ParquetColumns,
        config: &SummaryConfig,
        spec: &ScoreSpec,
        out: &Path,
    ) -> Result<u64, EngineError> {
        let out = absolute(out)?;
        self.on_cluster(path, |rt, ctx, abs| {
            tenure_engine::score_parquet_in(rt, ctx, abs, cols, config, spec, &out)
        })
    }

    /// Run one of the engine's `_in` plans on the cluster with `path` made absolute; an engine
    /// failure names the scheduler.
    fn on_cluster<T>(
        &self,
        path: &Path,
        run: impl FnOnce(&tokio::runtime::Runtime, &SessionContext, &Path) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let abs = absolute(path)?;
        run(&self.runtime, &self.ctx, &abs).map_err(|e| match e {
            EngineError::Engine { path, reason } => EngineError::Engine {
                path,
                reason: format!("on the cluster at {}: {reason}", self.scheduler),
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_urls() {
        let u: SchedulerUrl = "ballista://10.0.0.5:50050".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("10.0.0.5", 50050));
        assert_eq!(u.to_string(), "ballista://10.0.0.5:50050");
        let u: SchedulerUrl = "df://sched.example:7/".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("sched.example", 7));
        for bad in [
            "http://h:1",
            "ballista://h",
            "ballista://h:x",
            "ballista://:5",
            "ballista://h:0",
            "ballista://h:70000",
        ] {
            assert!(bad.parse::<SchedulerUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unreachable_scheduler_is_named() {
        // A port nobody listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url: SchedulerUrl = format!("ballista://127.0.0.1:{port}").parse().unwrap();
        let err = Client::connect(&url).err().expect("nobody listens there");
        assert!(
            err.contains(&format!("ballista://127.0.0.1:{port}")),
            "{err}"
        );
    }
}
