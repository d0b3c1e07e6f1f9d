//! The commands that read or write the decision layer's journal in the store: segment
//! history, forecasts, account plans and the actions outbox.

use crate::cmd_act::{context, finish, heading, ActArgs};
use crate::cmd_report::{date_text, emit, parse_day, tabular, ReportFormat};
use crate::error::CliError;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use tenure_act::forecast::ForecastKind;
use tenure_act::{forecasts, Assignment};
use tenure_store::dataset::Day;
use tenure_store::journal::{
    Goal, GoalStatus, GoalUpdate, NewGoal, OutboxItem, OutboxStatus, SegmentMove,
};
use tenure_store::{open, Store, StoreError};

/// Store errors the user can fix (no such customer, an earlier day) are input errors (exit 2).
pub(crate) fn store_err(e: StoreError) -> CliError {
    match e {
        StoreError::Other(m) => CliError::input(m),
        e => CliError::failure(e.to_string()),
    }
}

pub(crate) fn open_store(db: Option<&str>) -> Result<Box<dyn Store>, CliError> {
    let db = crate::store_location(db);
    open(&tenure_store::Location::parse(&db)).map_err(|e| CliError::failure(e.to_string()))
}

/// Unix seconds now (goal and outbox timestamps).
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-12-04 11:02:03Z` from Unix seconds.
pub(crate) fn instant_text(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// Store the day's segment moves: every customer whose segment differs from her newest
/// stored one (or who has none). Returns how many moves were stored.
pub(crate) fn record_segments(
    store: &mut dyn Store,
    as_of: Day,
    assigned: Vec<(&str, &Assignment)>,
) -> Result<usize, CliError> {
    let last = store.last_segments().map_err(store_err)?;
    let day = date_text(as_of);
    let moves: Vec<SegmentMove> = assigned
        .into_iter()
        .filter_map(|(id, s)| {
            let now = s.segment.as_str();
            let previous = last.get(id).map(|(seg, _)| seg.clone());
            (previous.as_deref() != Some(now)).then(|| SegmentMove {
                customer_id: id.to_string(),
                day: day.clone(),
                segment: now.to_string(),
                previous,
                reason: s.reason.clone(),
            })
        })
        .collect();
    store.record_segments(&day, &moves).map_err(store_err)?;
    Ok(moves.len())
}

/// `tenure segments --history [--customer ID]`.
pub(crate) fn segment_history(a: &ActArgs, customer: Option<&str>) -> Result<(), CliError> {
    let mut store = open_store(a.db.as_deref())?;
    let moves = store.segment_history(customer).map_err(store_err)?;
    let text = match a.format {
        ReportFormat::Json => serde_json::to_string_pretty(&json!({
            "moves": moves.iter().map(|m| json!({
                "customer": m.customer_id,
                "day": m.day,
                "from": m.previous,
                "to": m.segment,
                "reason": m.reason,
            })).collect::<Vec<_>>(),
        }))
        .map(|s| s + "\n")
        .map_err(|e| CliError::failure(e.to_string()))?,
        format => {
            let rows = moves
                .iter()
                .map(|m| {
                    vec![
                        m.day.clone(),
                        m.customer_id.clone(),
                        m.previous.clone().unwrap_or_else(|| "(first)".into()),
                        m.segment.clone(),
                        m.reason.clone(),
                    ]
                })
                .collect();
            let what = match customer {
                Some(c) => format!("Segment history of {c}"),
                None => "Segment history".to_string(),
            };
            let mut t = tabular(
                format,
                &format!("{what}: {} moves", moves.len()),
                &["day", "customer", "from", "to", "reason"],
                rows,
            );
            if format == ReportFormat::Table && moves.is_empty() {
                t.push_str("nothing recorded yet: `tenure segments --record` stores a day\n");
            }
            t
        }
    };
    emit(a.output.as_deref(), &text)
}

#[derive(Args, Debug)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub common: ActArgs,
    /// Only this customer.
    #[arg(long)]
    pub customer: Option<String>,
    /// Only customers with this kind of forecast.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindArg {
    Purchase,
    Subscription,
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// `tenure forecast`: next purchase window, renewal likelihood and value, expansion propensity.
pub fn forecast(a: ForecastArgs) -> Result<(), CliError> {
    let ctx = context(&a.common)?;
    let all = forecasts(&ctx.data, &ctx.fx, ctx.as_of, &ctx.cfg)
        .map_err(|e| CliError::input(e.to_string()))?;
    let wanted =
        match &a.customer {
            Some(id) => Some(ctx.data.customer(id).ok_or_else(|| {
                CliError::input(format!("--customer: there is no customer `{id}`"))
            })?),
            None => None,
        };
    let list: Vec<_> = all
        .iter()
        .filter(|f| wanted.is_none_or(|c| c == f.customer))
        .filter(|f| match a.kind {
            None => true,
            Some(KindArg::Purchase) => f.kind == ForecastKind::Purchase,
            Some(KindArg::Subscription) => f.kind == ForecastKind::Subscription,
        })
        .collect();
    let id = |f: &tenure_act::Forecast| ctx.data.customer_ids[f.customer as usize].clone();
    let day = |d: Option<Day>| d.map(date_text);
    let out = match a.common.format {
        ReportFormat::Json => Err(json!({
            "horizon_days": ctx.cfg.value.horizon.0,
            "customers": list.iter().map(|f| {
                let kind = match &f.kind {
                    ForecastKind::Purchase => json!("purchase"),
                    ForecastKind::Subscription => json!("subscription"),
                    ForecastKind::None(r) => json!({"none": r}),
                };
                json!({
                    "customer": id(f),
                    "kind": kind,
                    "purchase": f.purchase.as_ref().map(|p| json!({
                        "p_alive": p.p_alive,
                        "p_purchase_30_days": p.p_purchase_30_days,
                        "p_purchase_90_days": p.p_purchase_90_days,
                        "p_never": p.p_never,
                        "window": p.window.map(|w| json!({
                            "early_days": w.early_days,
                            "median_days": w.median_days,
                            "late_days": w.late_days,
                            "earliest": day(w.earliest),
                            "likely": day(w.likely),
                            "latest": day(w.latest),
                        })),
                        "expected_purchases": p.expected_purchases,
                        "expected_spend": p.expected_spend.map(|m| ctx.m(m)),
                    })),
                    "renewal": f.renewal.as_ref().map(|r| json!({
                        "plan": r.plan,
                        "pooled": r.pooled,
                        "renewals": r.renewals,
                        "next_renewal": date_text(r.next_renewal),
                        "days_to_renewal": r.days_to_renewal,
                        "likelihood": r.likelihood,
                        "amount": ctx.m(r.amount),
                        "expected_value": ctx.m(r.expected_value),
                    })),
                    "expansion": f.expansion.as_ref().map(|e| json!({
                        "score": e.score,
                        "explanation": e.explanation,
                    })),
                })
            }).collect::<Vec<_>>(),
        })),
        format => {
            let rows = list
                .iter()
                .map(|f| {
                    let (kind, p_next, window, value) = match (&f.kind, &f.purchase, &f.renewal) {
                        (ForecastKind::Purchase, Some(p), _) => (
                            "purchase".to_string(),
                            format!(
                                "{} in 30 d, {} in 90 d",
                                pct(p.p_purchase_30_days),
                                pct(p.p_purchase_90_days)
                            ),
                            p.window.map_or("—".into(), |w| {
                                format!(
                                    "{} … {} … {}",
                                    day(w.earliest).unwrap_or("later".into()),
                                    day(w.likely).unwrap_or("later".into()),
                                    day(w.latest).unwrap_or("later".into())
                                )
                            }),
                            p.expected_spend.map_or("—".into(), |m| ctx.m(m)),
                        ),
                        (ForecastKind::Subscription, _, Some(r)) => (
                            "subscription".to_string(),
                            format!("{} renews", pct(r.likelihood)),
                            format!("{} (in {} d)", date_text(r.next_renewal), r.days_to_renewal),
                            ctx.m(r.expected_value),
                        ),
                        (ForecastKind::None(r), _, _) => {
                            (format!("none: {r}"), "—".into(), "—".into(), "—".into())
                        }
                        _ => ("—".into(), "—".into(), "—".into(), "—".into()),
                    };
                    vec![
                        id(f),
                        kind,
                        p_next,
                        window,
                        value,
                        f.expansion.as_ref().map_or("—".into(), |e| pct(e.score)),
                    ]
                })
                .collect();
            let mut text = tabular(
                format,
                &heading(&ctx, "Forecasts"),
                &[
                    "customer",
                    "kind",
                    "next purchase / renewal",
                    "window (early … likely … late) / renewal day",
                    "expected value",
                    "expansion in 90 d",
                ],
                rows,
            );
            if format == ReportFormat::Table {
                text.push_str(&format!(
                    "purchase: BG/NBD P(a purchase within 30 / 90 days), the window's 10 %, 50 % and 90 % waiting-time quantiles among customers who buy again, spend over the {} -day horizon (undiscounted, before margin); subscription: sBG renewal likelihood × her recurring amount; expansion: her bucket's rate over the past 90 days (`--format json` explains each)\n",
                    ctx.cfg.value.horizon.0
                ));
            }
            Ok(text)
        }
    };
    finish(&a.common, &ctx, out)
}

/// The store and output flags of the commands that need no dataset.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The store: a SQLite file or a postgres:// URL [default: $TENURE_DB, else ./tenure.db].
    #[arg(long, value_name = "PATH|URL", global = true)]
    pub db: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table, global = true)]
    pub format: ReportFormat,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long, global = true)]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PlansArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub action: PlansAction,
}

#[derive(Subcommand, Debug)]
pub enum PlansAction {
    /// Add a goal to a customer's account plan.
    Add {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        owner: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        target_day: String,
        /// planned, on_track, at_risk, done, dropped [default: planned].
        #[arg(long)]
        status: Option<String>,
        /// The linked metric, e.g. `health`, `mrr`, `usage:report_run`.
        #[arg(long)]
        metric: Option<String>,
        /// The metric's target, e.g. `80`.
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Change a goal: only the fields given.
    Update {
        id: i64,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        target_day: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        metric: Option<String>,
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// List the goals (of one customer, or all).
    List {
        #[arg(long)]
        customer: Option<String>,
    },
}

fn goal_status(s: Option<String>) -> Result<Option<GoalStatus>, CliError> {
    s.map(|s| {
        s.parse()
            .map_err(|e: String| CliError::input(format!("--status: {e}")))
    })
    .transpose()
}

fn check_day(flag: &str, s: &Option<String>) -> Result<(), CliError> {
    if let Some(s) = s {
        parse_day(flag, s)?;
    }
    Ok(())
}

fn goal_json(g: &Goal) -> Value {
    json!({
        "id": g.id,
        "customer": g.customer_id,
        "title": g.title,
        "owner": g.owner,
        "target_day": g.target_day,
        "status": g.status.as_str(),
        "metric": g.metric,
        "target": g.target,
        "note": g.note,
        "created_at": instant_text(g.created_at),
        "updated_at": instant_text(g.updated_at),
    })
}

fn goals_out(s: &StoreArgs, heading: &str, goals: &[Goal]) -> Result<(), CliError> {
    let text = match s.format {
        ReportFormat::Json => serde_json::to_string_pretty(
            &json!({ "goals": goals.iter().map(goal_json).collect::<Vec<_>>() }),
        )
        .map(|t| t + "\n")
        .map_err(|e| CliError::failure(e.to_string()))?,
        format => tabular(
            format,
            heading,
            &[
                "id",
                "customer",
                "title",
                "owner",
                "target day",
                "status",
                "metric",
                "target",
                "note",
            ],
            goals
                .iter()
                .map(|g| {
                    vec![
                        g.id.to_string(),
                        g.customer_id.clone(),
                        g.title.clone(),
                        g.owner.clone(),
                        g.target_day.clone(),
                        g.status.as_str().to_string(),
                        g.metric.clone().unwrap_or_default(),
                        g.target.clone().unwrap_or_default(),
                        g.note.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        ),
    };
    emit(s.output.as_deref(), &text)
}

/// `tenure plans add|update|list`.
pub fn plans(a: PlansArgs) -> Result<(), CliError> {
    let mut store = open_store(a.store.db.as_deref())?;
    match a.action {
        PlansAction::Add {
            customer,
            title,
            owner,
            target_day,
            status,
            metric,
            target,
            note,
        } => {
            parse_day("target-day", &target_day)?;
            let g = NewGoal {
                customer_id: customer,
                title,
                owner,
                target_day,
                status: goal_status(status)?,
                metric,
                target,
                note,
            };
            let g = store.add_goal(&g, now_secs()).map_err(store_err)?;
            goals_out(&a.store, &format!("Goal {} added", g.id), &[g])
        }
        PlansAction::Update {
            id,
            title,
            owner,
            target_day,
            status,
            metric,
            target,
            note,
        } => {
            check_day("target-day", &target_day)?;
            let u = GoalUpdate {
                title,
                owner,
                target_day,
                status: goal_status(status)?,
                metric,
                target,
                note,
            };
            let g = store.update_goal(id, &u, now_secs()).map_err(store_err)?;
            goals_out(&a.store, &format!("Goal {id} updated"), &[g])
        }
        PlansAction::List { customer } => {
            let goals = store.goals(customer.as_deref()).map_err(store_err)?;
            let what = match &customer {
                Some(c) => format!("Account plan of {c}: {} goals", goals.len()),
                None => format!("Account plans: {} goals", goals.len()),
            };
            goals_out(&a.store, &what, &goals)
        }
    }
}

#[derive(Args, Debug)]
pub struct OutboxArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
    /// List only items of this status: pending, sending, delivered, dead, open, closed.
    #[arg(long)]
    pub status: Option<String>,
    /// At most this many items, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Subcommand, Debug)]
pub enum OutboxAction {
    /// Dead items back to pending (one, or `--all`), to be delivered again.
    Replay {
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Close an open task.
    Close { id: String },
}

fn item_json(o: &OutboxItem) -> Value {
    json!({
        "id": o.id,
        "rule": o.rule,
        "customer": o.customer_id,
        "day": o.day,
        "channel": o.channel.as_str(),
        "target": o.target,
        "status": o.status.as_str(),
        "attempts": o.attempts,
        "next_attempt_at": instant_text(o.next_attempt_at),
        "last_error": o.last_error,
        "created_at": instant_text(o.created_at),
        "delivered_at": o.delivered_at.map(instant_text),
        "payload": serde_json::from_str::<Value>(&o.payload).unwrap_or(Value::String(o.payload.clone())),
    })
}

/// `tenure outbox [--status S]`, `tenure outbox replay ID|--all`, `tenure outbox close ID`.
pub fn outbox(a: OutboxArgs) -> Result<(), CliError> {
    let mut store = open_store(a.store.db.as_deref())?;
    let now = now_secs();
    match a.action {
        Some(OutboxAction::Replay { id, all }) => {
            if id.is_none() && !all {
                return Err(CliError::input(
                    "outbox replay: name an item id, or --all for every dead item",
                ));
            }
            let n = store.replay(id.as_deref(), now).map_err(store_err)?;
            if n == 0 {
                if let Some(id) = id {
                    return Err(CliError::input(format!(
                        "outbox replay: `{id}` is not a dead item"
                    )));
                }
            }
            emit(
                a.store.output.as_deref(),
                &format!("{n} items back to pending\n"),
            )
        }
        Some(OutboxAction::Close { id }) => {
            if !store.close_task(&id, now).map_err(store_err)? {
                return Err(CliError::input(format!(
                    "outbox close: `{id}` is not an open task"
                )));
            }
            emit(a.store.output.as_deref(), &format!("task {id} closed\n"))
        }
        None => {
            let status = a
                .status
                .as_deref()
                .map(|s| {
                    s.parse::<OutboxStatus>()
                        .map_err(|e| CliError::input(format!("--status: {e}")))
                })
                .transpose()?;
            let items = store.outbox(status, a.limit, 0).map_err(store_err)?;
            let counts: HashMap<OutboxStatus, u64> = store
                .outbox_counts()
                .map_err(store_err)?
                .into_iter()
                .collect();
            let count_text = OutboxStatus::ALL
                .iter()
                .map(|s| format!("{} {}", counts.get(s).copied().unwrap_or(0), s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let text = match a.store.format {
                ReportFormat::Json => serde_json::to_string_pretty(&json!({
                    "counts": OutboxStatus::ALL.iter().map(|s| (s.as_str().to_string(), json!(counts.get(s).copied().unwrap_or(0)))).collect::<serde_json::Map<_, _>>(),
                    "items": items.iter().map(item_json).collect::<Vec<_>>(),
                }))
                .map(|t| t + "\n")
                .map_err(|e| CliError::failure(e.to_string()))?,
                format => {
                    let mut t = tabular(
                        format,
                        &format!("Outbox: {count_text}"),
                        &["id", "rule", "customer", "day", "channel", "target", "status", "attempts", "next attempt / delivered", "last error"],
                        items
                            .iter()
                            .map(|o| {
                                vec![
                                    o.id.clone(),
                                    o.rule.clone(),
                                    o.customer_id.clone(),
                                    o.day.clone(),
                                    o.channel.as_str().to_string(),
                                    o.target.clone(),
                                    o.status.as_str().to_string(),
                                    o.attempts.to_string(),
                                    match (o.status, o.delivered_at) {
                                        (_, Some(d)) => instant_text(d),
                                        (OutboxStatus::Pending | OutboxStatus::Sending, _) => {
                                            instant_text(o.next_attempt_at)
                                        }
                                        _ => String::new(),
                                    },
                                    o.last_error.clone().unwrap_or_default(),
                                ]
                            })
                            .collect(),
                    );
                    if format == ReportFormat::Table && items.len() == a.limit {
                        t.push_str(&format!("the newest {} shown (--limit)\n", a.limit));
                    }
                    t
                }
            };
            emit(a.store.output.as_deref(), &text)
        }
    }
}

#[derive(Args, Debug)]
pub struct StagesArgs {
    #[command(flatten)]
    pub common: ActArgs,
    /// List every customer with her stage, since when and why (the funnel alone otherwise).
    #[arg(long)]
    pub customers: bool,
    /// Store the day's stage moves in the stage history (days in order, as for segments).
    #[arg(long)]
    pub record: bool,
    /// List the stored stage history (of `--customer`, or all) instead of evaluating.
    #[arg(long)]
    pub history: bool,
    /// With --history: only this customer.
    #[arg(long, requires = "history")]
    pub customer: Option<String>,
}

/// `tenure stages`: the lifecycle funnel Deliver → Develop → Retain → Grow.
pub fn stages(a: StagesArgs) -> Result<(), CliError> {
    use tenure_act::stages::funnel;
    if a.history {
        return stage_history(&a.common, a.customer.as_deref());
    }
    let ctx = context(&a.common)?;
    let fs = ctx.facts(ctx.as_of)?;
    let (assigned, _) = assign_stages(&ctx, &fs);
    let moved = if a.record {
        let mut store = open_store(a.common.db.as_deref())?;
        Some(record_stages(store.as_mut(), &ctx, &assigned)?)
    } else {
        None
    };
    let rows = funnel(&assigned, ctx.as_of);
    let id = |s: &tenure_act::stages::StageAssignment| {
        ctx.data.customer_ids[s.customer as usize].clone()
    };
    let out = match a.common.format {
        ReportFormat::Json => Err(json!({
            "funnel": rows.iter().map(|r| json!({
                "stage": r.stage.as_str(),
                "customers": r.customers,
                "median_days_in_stage": r.median_days,
            })).collect::<Vec<_>>(),
            "customers": if a.customers {
                json!(assigned.iter().map(|s| json!({
                    "customer": id(s),
                    "stage": s.stage.as_str(),
                    "since": date_text(s.since),
                    "days_in_stage": s.days_in_stage(ctx.as_of),
                    "overdue": s.overdue,
                    "reason": s.reason,
                })).collect::<Vec<_>>())
            } else {
                Value::Null
            },
            "recorded_moves": moved,
        })),
        format => {
            let mut text = if a.customers {
                tabular(
                    format,
                    &heading(&ctx, "Lifecycle stages"),
                    &["customer", "stage", "since", "days in stage", "reason"],
                    assigned
                        .iter()
                        .map(|s| {
                            vec![
                                id(s),
                                s.stage.as_str().to_string(),
                                date_text(s.since),
                                s.days_in_stage(ctx.as_of).to_string(),
                                s.reason.clone(),
                            ]
                        })
                        .collect(),
                )
            } else {
                tabular(
                    format,
                    &heading(&ctx, "Lifecycle funnel"),
                    &["stage", "customers", "median days in stage"],
                    rows.iter()
                        .map(|r| {
                            vec![
                                r.stage.as_str().to_string(),
                                r.customers.to_string(),
                                r.median_days.map_or("—".into(), |d| format!("{d:.1}")),
                            ]
                        })
                        .collect(),
                )
            };
            if format == ReportFormat::Table {
                if let Some(n) = moved {
                    text.push_str(&format!(
                        "recorded in the stage history: {n} moves on {}\n",
                        date_text(ctx.as_of)
                    ));
                }
            }
            Ok(text)
        }
    };
    finish(&a.common, &ctx, out)
}

/// Every customer's stage on the day (in `fs` order) and her next renewal day (by customer).
pub(crate) fn assign_stages(
    ctx: &crate::cmd_act::Ctx,
    fs: &[tenure_act::Facts],
) -> (Vec<tenure_act::stages::StageAssignment>, Vec<Option<Day>>) {
    use tenure_act::stages::{progress, renewal_days, stage};
    let cfg = &ctx.cfg.stages;
    let prog = progress(&ctx.data, ctx.as_of, cfg);
    let renewals = renewal_days(&ctx.data, ctx.as_of, cfg);
    let assigned = fs
        .iter()
        .map(|f| {
            let c = f.customer as usize;
            stage(f, &ctx.health(f), &prog[c], renewals[c], ctx.as_of, cfg)
        })
        .collect();
    (assigned, renewals)
}

/// Store the day's stage moves: every customer whose stage differs from her newest stored one
/// (or who has none). Returns how many moves were stored.
pub(crate) fn record_stages(
    store: &mut dyn Store,
    ctx: &crate::cmd_act::Ctx,
    assigned: &[tenure_act::stages::StageAssignment],
) -> Result<usize, CliError> {
    let last = store.last_stages().map_err(store_err)?;
    let day = date_text(ctx.as_of);
    let moves: Vec<_> = assigned
        .iter()
        .filter_map(|s| {
            let id = &ctx.data.customer_ids[s.customer as usize];
            let previous = last.get(id.as_str()).map(|m| m.stage.clone());
            (previous.as_deref() != Some(s.stage.as_str())).then(|| {
                tenure_store::journal::StageMove {
                    customer_id: id.clone(),
                    day: day.clone(),
                    stage: s.stage.as_str().to_string(),
                    previous,
                    since: date_text(s.since),
                    reason: s.reason.clone(),
                }
            })
        })
        .collect();
    store.record_stages(&day, &moves).map_err(store_err)?;
    Ok(moves.len())
}

fn stage_history(a: &ActArgs, customer: Option<&str>) -> Result<(), CliError> {
    let mut store = open_store(a.db.as_deref())?;
    let moves = store.stage_history(customer).map_err(store_err)?;
    let text = match a.format {
        ReportFormat::Json => serde_json::to_string_pretty(&json!({
            "moves": moves.iter().map(|m| json!({
                "customer": m.customer_id,
                "day": m.day,
                "from": m.previous,
                "to": m.stage,
                "since": m.since,
                "reason": m.reason,
            })).collect::<Vec<_>>(),
        }))
        .map(|s| s + "\n")
        .map_err(|e| CliError::failure(e.to_string()))?,
        format => tabular(
            format,
            &format!("Stage history: {} moves", moves.len()),
            &["day", "customer", "from", "to", "since", "reason"],
            moves
                .iter()
                .map(|m| {
                    vec![
                        m.day.clone(),
                        m.customer_id.clone(),
                        m.previous.clone().unwrap_or_else(|| "(first)".into()),
                        m.stage.clone(),
                        m.since.clone(),
                        m.reason.clone(),
                    ]
                })
                .collect(),
        ),
    };
    emit(a.output.as_deref(), &text)
}
