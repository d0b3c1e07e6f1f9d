//! `tenure run-playbooks` (evaluate the rules of `tenure.toml` for one day, record the day's
//! segment and stage moves, enqueue what fired) and `tenure deliver` (the delivery worker).
//!
//! Invariants:
//! - Re-running a day is harmless: a customer's *previous* segment and stage are the newest
//!   stored moves dated before the day, so a re-run sees the same changes, and a fire already
//!   recorded (same rule, customer and occurrence) is skipped with its actions.
//! - `--dry-run` writes nothing to the store.
//! - Secrets come from the environment variables the configuration names, never from the file.

use crate::cmd_act::{context, finish, heading, load_config, ActArgs, Ctx};
use crate::cmd_journal::{instant_text, now_secs, open_store, store_err};
use crate::cmd_report::{emit, tabular, ReportFormat};
use crate::error::CliError;
use clap::Args;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use tenure_act::playbooks::{self, Firing};
use tenure_act::{plan_day, Config, Journaled};
use tenure_deliver::{DeliveryConfig, RetryPolicy, SmtpConfig, SmtpCredentials, WebhookSecret};
use tenure_store::Store;
use tenure_worker::{Endpoint, Pass, Worker};

#[derive(Args, Debug)]
pub struct RunPlaybooksArgs {
    #[command(flatten)]
    pub common: ActArgs,
    /// Evaluate and list what would fire; store nothing (no moves, no fires, no outbox items).
    #[arg(long)]
    pub dry_run: bool,
    /// Then deliver what is due (as `tenure deliver` does once).
    #[arg(long, conflicts_with = "dry_run")]
    pub deliver: bool,
}

/// `tenure run-playbooks`.
pub fn run_playbooks(a: RunPlaybooksArgs) -> Result<(), CliError> {
    let ctx = context(&a.common)?;
    let mut store = open_store(a.common.db.as_deref())?;
    let journaled = Journaled {
        segments: store.segment_history(None).map_err(store_err)?,
        stages: store.stage_history(None).map_err(store_err)?,
        last_fires: store.last_fires().map_err(store_err)?,
    };
    let plan = plan_day(&ctx.data, &ctx.fx, ctx.as_of, &ctx.cfg, &journaled)
        .map_err(|e| CliError::input(e.to_string()))?;
    // Checked here, before anything is written, so the three writes below cannot half-happen
    // on a day out of order.
    if !a.dry_run && plan.out_of_order() {
        return Err(CliError::input(format!(
            "the segment and stage histories are recorded up to {}; {} is earlier \
             (histories are kept in day order: evaluate a later day, or use --dry-run)",
            plan.latest.as_deref().unwrap_or(""),
            plan.day
        )));
    }
    // The worker first: a missing secret must fail before anything is stored.
    let mut worker = match a.deliver {
        true => Some(worker(&ctx.cfg, now_secs())?),
        false => None,
    };
    let mut recorded = None;
    let mut delivered = None;
    if !a.dry_run {
        store
            .record_segments(&plan.day, &plan.segment_moves)
            .map_err(store_err)?;
        store
            .record_stages(&plan.day, &plan.stage_moves)
            .map_err(store_err)?;
        let now = now_secs();
        let enqueued = store.enqueue(&plan.fires(), now).map_err(store_err)?;
        recorded = Some((plan.segment_moves.len(), plan.stage_moves.len(), enqueued));
        if let Some(w) = worker.as_mut() {
            delivered = Some(w.drain(store.as_mut(), now).map_err(store_err)?);
        }
    }
    let firings = plan.firings;
    let out = report(&a, &ctx, &firings, recorded, delivered);
    finish(&a.common, &ctx, out)
}

type Recorded = (usize, usize, tenure_store::journal::Enqueued);

fn report(
    a: &RunPlaybooksArgs,
    ctx: &Ctx,
    firings: &[Firing],
    recorded: Option<Recorded>,
    delivered: Option<Pass>,
) -> Result<String, serde_json::Value> {
    let mut per_rule: Vec<(String, u64)> = ctx
        .cfg
        .playbooks
        .iter()
        .map(|r| (r.name.clone(), 0))
        .collect();
    for f in firings {
        if let Some(r) = per_rule.iter_mut().find(|(n, _)| *n == f.fire.rule) {
            r.1 += 1;
        }
    }
    let action = |x: &tenure_store::journal::NewAction| {
        format!("{} {} ({})", x.channel.as_str(), x.target, x.id)
    };
    match a.common.format {
        ReportFormat::Json => Err(json!({
            "dry_run": a.dry_run,
            "rules": per_rule.iter().map(|(n, k)| json!({"rule": n, "fires": k})).collect::<Vec<_>>(),
            "fires": firings.iter().map(|f| json!({
                "rule": f.fire.rule,
                "customer": f.fire.customer_id,
                "occurrence": f.fire.occurrence,
                "reason": f.reason,
                "actions": f.fire.actions.iter().map(|x| json!({
                    "id": x.id,
                    "channel": x.channel.as_str(),
                    "target": x.target,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "recorded": recorded.map(|(s, st, e)| json!({
                "segment_moves": s,
                "stage_moves": st,
                "new_fires": e.fires,
                "new_outbox_items": e.items,
                "new_records": e.records,
                "already_recorded_fires": e.duplicates,
            })),
            "delivery": delivered.map(pass_json),
        })),
        format => {
            let mut text = tabular(
                format,
                &heading(ctx, "Playbook fires"),
                &["rule", "customer", "occurrence", "reason", "actions"],
                firings
                    .iter()
                    .map(|f| {
                        vec![
                            f.fire.rule.clone(),
                            f.fire.customer_id.clone(),
                            f.fire.occurrence.clone(),
                            f.reason.clone(),
                            f.fire
                                .actions
                                .iter()
                                .map(action)
                                .collect::<Vec<_>>()
                                .join("; "),
                        ]
                    })
                    .collect(),
            );
            if format == ReportFormat::Table {
                if ctx.cfg.playbooks.is_empty() {
                    text.push_str(
                        "no [[playbooks]] in the configuration: nothing to evaluate (docs/tenure.toml shows the rules)\n",
                    );
                }
                for (n, k) in &per_rule {
                    text.push_str(&format!("rule {n}: {k} fires\n"));
                }
                match recorded {
                    None => text.push_str("dry run: nothing stored\n"),
                    Some((s, st, e)) => text.push_str(&format!(
                        "stored: {s} segment moves, {st} stage moves, {} new fires with {} outbox items, {} new records (cases, interactions) ({} fires already recorded)\n",
                        e.fires, e.items, e.records, e.duplicates
                    )),
                }
                if let Some(p) = delivered {
                    text.push_str(&pass_text(&p));
                }
            }
            Ok(text)
        }
    }
}

fn pass_json(p: Pass) -> serde_json::Value {
    json!({"claimed": p.claimed, "delivered": p.delivered, "retried": p.retried, "dead": p.dead})
}

fn pass_text(p: &Pass) -> String {
    format!(
        "delivery: {} attempted, {} delivered, {} to retry, {} dead\n",
        p.claimed, p.delivered, p.retried, p.dead
    )
}

/// An environment variable the configuration names; `key` is where it is named.
fn secret(key: &str, var: &str) -> Result<String, CliError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(CliError::input(format!(
            "{key} = \"{var}\": the environment variable {var} is not set"
        ))),
    }
}

/// The delivery worker the configuration describes. Every `[webhooks.NAME]` secret and the
/// SMTP password must be in the environment (exit 2 naming the variable otherwise).
pub(crate) fn worker(cfg: &Config, seed: i64) -> Result<Worker, CliError> {
    let mut endpoints = HashMap::new();
    for (name, w) in &cfg.webhooks {
        let key = format!("webhooks.{name}.secret_env");
        let s = secret(&key, &w.secret_env)?;
        let secret = WebhookSecret::parse(&s)
            .map_err(|e| CliError::input(format!("{key} = \"{}\": {e}", w.secret_env)))?;
        endpoints.insert(
            name.clone(),
            Endpoint {
                url: w.url.clone(),
                secret,
            },
        );
    }
    let smtp = match &cfg.smtp {
        None => None,
        Some(s) => {
            let auth =
                match (&s.username, &s.password_env) {
                    (Some(u), Some(p)) => Some(SmtpCredentials {
                        username: u.clone(),
                        password: secret("smtp.password_env", p)?,
                    }),
                    (Some(_), None) => return Err(CliError::input(
                        "smtp.username needs smtp.password_env (the variable holding the password)",
                    )),
                    _ => None,
                };
            Some(SmtpConfig {
                host: s.host.clone(),
                port: s.port,
                from: s.from.clone(),
                auth,
                tls: match s.tls {
                    playbooks::SmtpTls::None => tenure_deliver::SmtpTls::None,
                    playbooks::SmtpTls::Starttls => tenure_deliver::SmtpTls::StartTls,
                    playbooks::SmtpTls::Implicit => tenure_deliver::SmtpTls::Implicit,
                },
            })
        }
    };
    let d = &cfg.delivery;
    let deliverer = tenure_deliver::Deliverer::new(&DeliveryConfig {
        timeout_ms: d.timeout_ms,
        smtp,
    })
    .map_err(|e| CliError::input(format!("[smtp]/[delivery]: {e}")))?;
    let policy = RetryPolicy {
        base_secs: d.base_delay_secs as f64,
        factor: d.backoff_factor,
        max_delay_secs: d.max_delay_secs as f64,
        max_attempts: d.max_attempts,
        jitter: match d.jitter {
            playbooks::Jitter::None => tenure_deliver::Jitter::None,
            playbooks::Jitter::Full => tenure_deliver::Jitter::Full,
            playbooks::Jitter::Equal => tenure_deliver::Jitter::Equal,
        },
    };
    let seed = seed as u64 ^ u64::from(std::process::id()).rotate_left(32);
    Ok(Worker::new(
        deliverer,
        endpoints,
        policy,
        d.lease_secs as i64,
        seed,
    ))
}

#[derive(Args, Debug)]
pub struct DeliverArgs {
    /// The store: a SQLite file or a postgres:// URL [default: $TENURE_DB, else ./tenure.db].
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
    /// The configuration [default: $TENURE_CONFIG, else ./tenure.toml if present, else the
    /// defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Keep running: deliver what is due, wait `--interval`, again, until stopped (Ctrl-C).
    /// Any number of workers may run against one store (claims are leased).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between passes with --watch.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: u64,
    /// Output format (of the summary; with --watch, one line per pass that did something).
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

/// `tenure deliver`: attempt every webhook and email due now, once (or forever with --watch).
pub fn deliver(a: DeliverArgs) -> Result<(), CliError> {
    let (cfg, _) = load_config(a.config.as_deref())?;
    let mut store = open_store(a.db.as_deref())?;
    let mut worker = worker(&cfg, now_secs())?;
    loop {
        let now = now_secs();
        let p = worker.drain(store.as_mut(), now).map_err(store_err)?;
        let text = match a.format {
            ReportFormat::Json => format!(
                "{}\n",
                json!({"at": instant_text(now), "delivery": pass_json(p), "outbox": counts(store.as_mut())?})
            ),
            _ => format!("{} {}", instant_text(now), pass_text(&p)),
        };
        if !a.watch {
            return emit(None, &text);
        }
        if p.claimed > 0 {
            emit(None, &text)?;
        }
        std::thread::sleep(std::time::Duration::from_secs(a.interval));
    }
}

fn counts(store: &mut dyn Store) -> Result<serde_json::Value, CliError> {
    let c = store.outbox_counts().map_err(store_err)?;
    Ok(serde_json::Value::Object(
        c.into_iter()
            .map(|(s, n)| (s.as_str().to_string(), json!(n)))
            .collect(),
    ))
}
