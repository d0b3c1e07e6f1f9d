//! `tenure serve`: the decision layer and the journal over HTTP.
//!
//! - **The API** lives under `/api/` and is described by an OpenAPI 3.1 document at
//!   `/openapi.json`, generated from the handlers: each route is registered together with its
//!   documentation ([`utoipa_axum`]), so the document lists exactly the routes the server has.
//! - **Every route but `/openapi.json` needs a token** (`Authorization: Bearer tnr_…`), created
//!   with `tenure token create` and stored hashed. Roles: `admin` (everything), `analyst`
//!   (reads), `ingest` (imports only). No token: 401; a token of the wrong role: 403. There are
//!   no default credentials; CORS headers are sent only to the origins configured
//!   (`Settings::cors_origins`), so by default browsers call it only from its own origin.
//! - **A snapshot** of every customer's decisions (segment, stage, health, value) is computed
//!   from the store when the server starts and again after an import or on `POST
//!   /api/snapshot`; reads are served from it. Plans, the outbox and histories are read from
//!   and written to the store directly.
//! - **Errors** are JSON `{"error": {"code", "message"}}` with the matching status; request
//!   bodies are limited ([`BODY_LIMIT`]); lists are paginated (`limit`, `offset`) in a stable
//!   order (by customer id, or the order named, then id).
//!
//! The worker ([`tenure_worker::Worker`]) runs beside the server when one is given, draining the
//! outbox every `interval`.

mod api;
mod auth;
mod error;
mod fits;
mod playbooks;
mod reports;
pub mod snapshot;

pub use auth::{hash_token, new_token};
pub use error::ApiError;
pub use snapshot::{Settings, Snapshot};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tenure_store::{Location, Store};
use tenure_worker::Worker;

/// The largest request body (imports included), bytes.
pub const BODY_LIMIT: usize = 64 << 20;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Replaced whole when a playbook is saved (readers keep the `Arc` they took).
    settings: RwLock<Arc<Settings>>,
    store: Mutex<Box<dyn Store>>,
    /// A second connection for token lookups only, so authentication never waits behind a
    /// long store task (SQLite in WAL mode and PostgreSQL both serve two connections).
    auth: Mutex<Box<dyn Store>>,
    /// Held for the whole of a playbook run (read the journal, plan, write), so two runs
    /// cannot interleave while the store lock is free for everyone else during the planning.
    run_lock: Mutex<()>,
    snapshot: RwLock<Arc<Snapshot>>,
    jobs: fits::Jobs,
}

impl AppState {
    /// Open the store and compute the first snapshot (the slow part: every customer's
    /// decisions).
    pub fn new(settings: Settings) -> Result<AppState, String> {
        let mut store = tenure_store::open(&settings.location).map_err(|e| e.to_string())?;
        let snap = Snapshot::build(store.as_mut(), &settings)?;
        let auth = tenure_store::open(&settings.location).map_err(|e| e.to_string())?;
        Ok(AppState {
            inner: Arc::new(Inner {
                settings: RwLock::new(Arc::new(settings)),
                store: Mutex::new(store),
                auth: Mutex::new(auth),
                run_lock: Mutex::new(()),
                snapshot: RwLock::new(Arc::new(snap)),
                jobs: fits::Jobs::default(),
            }),
        })
    }

    /// The settings now (the configuration changes when a playbook is saved).
    pub fn settings(&self) -> Arc<Settings> {
        match self.inner.settings.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub(crate) fn set_settings(&self, s: Settings) {
        match self.inner.settings.write() {
            Ok(mut g) => *g = Arc::new(s),
            Err(p) => *p.into_inner() = Arc::new(s),
        }
    }

    pub(crate) fn jobs(&self) -> &fits::Jobs {
        &self.inner.jobs
    }

    pub fn location(&self) -> Location {
        self.settings().location.clone()
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.inner.snapshot.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_snapshot(&self, s: Snapshot) {
        match self.inner.snapshot.write() {
            Ok(mut g) => *g = Arc::new(s),
            Err(p) => *p.into_inner() = Arc::new(s),
        }
    }

    pub(crate) fn inner_run_lock(&self) -> &Mutex<()> {
        &self.inner.run_lock
    }

    /// The store, locked (for blocking code that takes and releases it more than once).
    pub(crate) fn lock_store(&self) -> std::sync::MutexGuard<'_, Box<dyn Store>> {
        match self.inner.store.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Run `f` on the token connection off the async threads.
    pub(crate) async fn with_auth_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut g = match me.inner.auth.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            f(g.as_mut())
        })
        .await
        .map_err(|e| ApiError::internal(format!("a token lookup failed: {e}")))?
    }

    /// Run `f` on the store off the async threads.
    pub(crate) async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store, &Settings) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut g = match me.inner.store.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let settings = me.settings();
            f(g.as_mut(), &settings)
        })
        .await
        .map_err(|e| ApiError::internal(format!("a store task failed: {e}")))?
    }

    /// Recompute the snapshot from the store.
    pub(crate) async fn refresh(&self) -> Result<Arc<Snapshot>, ApiError> {
        // The store is locked only while the records are read; the decisions are computed
        // beside the other requests.
        let started = std::time::Instant::now();
        let data = self
            .with_store(|store, _| Snapshot::load(store).map_err(ApiError::internal))
            .await?;
        let settings = self.settings();
        let s = tokio::task::spawn_blocking(move || Snapshot::from_data(data, &settings, started))
            .await
            .map_err(|e| ApiError::internal(format!("a snapshot task failed: {e}")))?
            .map_err(ApiError::internal)?;
        self.set_snapshot(s);
        Ok(self.snapshot())
    }
}

/// The router: the API, `/openapi.json`, JSON 404s, the body limit.
pub fn router(state: AppState) -> axum::Router {
    api::router(state)
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::openapi()
}

/// Serve on `addr` until Ctrl-C (or SIGTERM), with `worker` draining the outbox every
/// `interval` if given. `ready` is called with the bound address once connections are
/// accepted.
pub fn serve(
    addr: SocketAddr,
    state: AppState,
    worker: Option<(Worker, Duration)>,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("the async runtime did not start: {e}"))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        if let Some((w, interval)) = worker {
            spawn_worker(state.clone(), w, interval);
        }
        ready(bound);
        axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| e.to_string())
    })
}

/// Drain the outbox every `interval` on a blocking thread; a failing pass is reported on
/// stderr and retried at the next tick (delivery state lives in the store, so nothing is lost).
fn spawn_worker(state: AppState, worker: Worker, interval: Duration) {
    let worker = Arc::new(Mutex::new(worker));
    tokio::task::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let w = worker.clone();
            let pass = state
                .with_store(move |store, _| {
                    let mut w = match w.lock() {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                    w.drain(store, now_secs())
                        .map_err(|e| ApiError::internal(e.to_string()))
                })
                .await;
            match pass {
                Ok(p) if p.claimed > 0 => eprintln!(
                    "worker: {} attempted, {} delivered, {} to retry, {} dead",
                    p.claimed, p.delivered, p.retried, p.dead
                ),
                Ok(_) => {}
                Err(e) => eprintln!("worker: {}", e.message),
            }
        }
    });
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Unix seconds now.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
