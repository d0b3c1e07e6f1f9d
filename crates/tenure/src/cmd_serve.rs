//! `tenure serve` (the REST API of `tenure-server`, with the delivery worker beside it) and
//! `tenure token create|list|revoke` (its credentials).
//!
//! Invariants: a token's text is printed once, at creation, and never stored (only its
//! SHA-256); there are no default credentials, so a fresh server answers 401 until a token is
//! created.

use crate::cmd_act::load_config;
use crate::cmd_journal::{instant_text, now_secs, open_store, store_err};
use crate::cmd_report::{build_fx, choose_currency, emit, parse_day, tabular, ReportFormat};
use crate::error::CliError;
use clap::{Args, Subcommand};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tenure_store::tokens::{NewToken, Role};
use tenure_store::Location;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,
    /// The store: a SQLite file or a postgres:// URL [default: $TENURE_DB, else ./tenure.db].
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
    /// The configuration [default: $TENURE_CONFIG, else ./tenure.toml if present, else the
    /// defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Decide on this day (YYYY-MM-DD) [default: the newest record's day, at each refresh].
    #[arg(long)]
    pub as_of: Option<String>,
    /// Report currency (ISO 4217) [default: `currency` in the configuration, else the store's
    /// only currency].
    #[arg(long)]
    pub currency: Option<String>,
    /// Convert a currency at a fixed rate: `EUR=1.087` (repeatable).
    #[arg(long, value_name = "CUR=RATE")]
    pub fx: Vec<String>,
    /// Let a browser page of this origin call the API (`https://bi.example.com`; repeatable).
    /// Without it no CORS headers are sent: only the dashboard's own origin can call.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,
    /// Do not run the delivery worker (another `tenure deliver --watch` does).
    #[arg(long)]
    pub no_worker: bool,
    /// Seconds between the worker's passes over the outbox.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub worker_interval: u64,
}

/// `tenure serve`.
pub fn serve(a: ServeArgs) -> Result<(), CliError> {
    let (cfg, config_source) = load_config(a.config.as_deref())?;
    let as_of = a
        .as_of
        .as_deref()
        .map(|s| parse_day("as-of", s))
        .transpose()?;
    let addr: SocketAddr = a.addr.parse().map_err(|_| {
        CliError::input(format!(
            "--addr `{}`: not HOST:PORT (e.g. 127.0.0.1:8080)",
            a.addr
        ))
    })?;
    // The rates are checked now, so a typo is exit 2 before anything starts.
    build_fx(
        tenure_core::Currency::parse("USD").map_err(|e| CliError::failure(e.to_string()))?,
        &a.fx,
    )?;
    for o in &a.cors_origin {
        let ok = (o.starts_with("https://") || o.starts_with("http://"))
            && !o.ends_with('/')
            && !o.contains(char::is_whitespace)
            && o.split("://")
                .nth(1)
                .is_some_and(|h| !h.is_empty() && !h.contains('/'));
        if !ok {
            return Err(CliError::input(format!(
                "--cors-origin `{o}`: an origin is scheme://host[:port], e.g. https://bi.example.com"
            )));
        }
    }
    let db = crate::store_location(a.db.as_deref());
    let location = Location::parse(&db);
    let flag = a.currency.clone().or_else(|| cfg.currency.clone());
    let pairs = a.fx.clone();
    let place = db.clone();
    let fx: tenure_server::snapshot::FxRule = Arc::new(move |data| {
        let c = choose_currency(data, flag.as_deref(), &place).map_err(|e| e.to_string())?;
        build_fx(c, &pairs).map_err(|e| e.to_string())
    });
    let worker = if a.no_worker {
        None
    } else {
        Some((
            crate::cmd_playbooks::worker(&cfg, now_secs())?,
            Duration::from_secs(a.worker_interval),
        ))
    };
    eprintln!("tenure serve: computing every customer's decisions from {db} …");
    let state = tenure_server::AppState::new(tenure_server::Settings {
        location,
        config_path: (config_source != "defaults").then(|| PathBuf::from(&config_source)),
        config: cfg,
        config_source,
        fx,
        as_of,
        cors_origins: a.cors_origin.clone(),
    })
    .map_err(CliError::failure)?;
    let n = state.snapshot().customers.len();
    let worker_note = match &worker {
        Some((_, d)) => format!("the delivery worker runs every {} s", d.as_secs()),
        None => "no delivery worker (--no-worker)".to_string(),
    };
    tenure_server::serve(addr, state, worker, |bound| {
        println!("Tenure API on http://{bound}/api/ — {n} customers; OpenAPI at http://{bound}/openapi.json; {worker_note}; Ctrl-C stops");
    })
    .map_err(CliError::failure)
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The store: a SQLite file or a postgres:// URL [default: $TENURE_DB, else ./tenure.db].
    #[arg(long, value_name = "PATH|URL", global = true)]
    pub db: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table, global = true)]
    pub format: ReportFormat,
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(Subcommand, Debug)]
pub enum TokenAction {
    /// Create a token and print it (once: only its SHA-256 is stored).
    Create {
        /// A unique name: who or what uses it (`ci`, `ana@example.com`).
        name: String,
        /// admin (everything), analyst (read only), ingest (imports only).
        #[arg(long)]
        role: String,
    },
    /// List the tokens: name, role, created, last used, revoked.
    List,
    /// Revoke a token: it never authenticates again.
    Revoke { name: String },
}

/// `tenure token`.
pub fn token(a: TokenArgs) -> Result<(), CliError> {
    let mut store = open_store(a.db.as_deref())?;
    match a.action {
        TokenAction::Create { name, role } => {
            let role: Role = role
                .parse()
                .map_err(|e: String| CliError::input(format!("--role: {e}")))?;
            let (text, sha256) = tenure_server::new_token();
            store
                .add_token(
                    &NewToken {
                        name: name.clone(),
                        role,
                        sha256,
                    },
                    now_secs(),
                )
                .map_err(store_err)?;
            let out = match a.format {
                ReportFormat::Json => format!(
                    "{}\n",
                    json!({"name": name, "role": role.as_str(), "token": text})
                ),
                _ => format!(
                    "token `{name}` ({}): {text}\nshown once: keep it in a secret store; send it as `Authorization: Bearer {text}`\n",
                    role.as_str()
                ),
            };
            emit(None, &out)
        }
        TokenAction::List => {
            let tokens = store.tokens().map_err(store_err)?;
            let out = match a.format {
                ReportFormat::Json => format!(
                    "{}\n",
                    json!({"tokens": tokens.iter().map(|t| json!({
                        "name": t.name,
                        "role": t.role.as_str(),
                        "created_at": instant_text(t.created_at),
                        "last_used_at": t.last_used_at.map(instant_text),
                        "revoked_at": t.revoked_at.map(instant_text),
                    })).collect::<Vec<_>>()})
                ),
                f => tabular(
                    f,
                    &format!("API tokens: {}", tokens.len()),
                    &["name", "role", "created", "last used", "revoked"],
                    tokens
                        .iter()
                        .map(|t| {
                            vec![
                                t.name.clone(),
                                t.role.as_str().to_string(),
                                instant_text(t.created_at),
                                t.last_used_at.map_or("—".into(), instant_text),
                                t.revoked_at.map_or("—".into(), instant_text),
                            ]
                        })
                        .collect(),
                ),
            };
            emit(None, &out)
        }
        TokenAction::Revoke { name } => {
            if !store.revoke_token(&name, now_secs()).map_err(store_err)? {
                return Err(CliError::input(format!(
                    "token revoke: no live token named `{name}`"
                )));
            }
            emit(None, &format!("token `{name}` revoked\n"))
        }
    }
}
