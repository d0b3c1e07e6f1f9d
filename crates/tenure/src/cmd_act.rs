//! `tenure segments`, `tenure health [CUSTOMER]`, `tenure advocates`: the decision layer of
//! `tenure-act` on the store, configured by `tenure.toml`, as a table, CSV or one JSON object.
//!
//! The configuration is `--config`, else `$TENURE_CONFIG`, else `./tenure.toml` when it
//! exists, else the defaults (documented in docs/tenure.toml). Money is printed as exact
//! decimals of the report currency, named in every output.

use crate::cmd_report::{
    build_fx, choose_currency, date_text, emit, money, parse_day, tabular, ReportFormat,
};
use crate::error::CliError;
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tenure_act::advocacy::advocates;
use tenure_act::health::COMPONENTS;
use tenure_act::{facts, health, segment, thresholds, Config, Facts, Health, Segment};
use tenure_core::Currency;
use tenure_reports::calendar::Day;
use tenure_reports::status::Status;
use tenure_reports::Fx;
use tenure_store::{open, Dataset, LoadOptions, Location};

/// What every decision command takes.
#[derive(Args, Debug)]
pub struct ActArgs {
    /// The store: a SQLite file or a postgres:// URL [default: $TENURE_DB, else ./tenure.db].
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
    /// The day to decide on (YYYY-MM-DD); later records are ignored [default: the last day of
    /// any record in the store].
    #[arg(long)]
    pub as_of: Option<String>,
    /// The configuration [default: $TENURE_CONFIG, else ./tenure.toml if present, else the
    /// defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Report currency (ISO 4217) [default: `currency` in the configuration, else the store's
    /// only currency].
    #[arg(long)]
    pub currency: Option<String>,
    /// Convert a currency at a fixed rate: `EUR=1.087` (repeatable).
    #[arg(long, value_name = "CUR=RATE")]
    pub fx: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SegmentsArgs {
    #[command(flatten)]
    pub common: ActArgs,
    /// One row per customer (with her segment's reason and plan) instead of the summary.
    #[arg(long)]
    pub customers: bool,
    /// Only the customers of this segment (implies --customers).
    #[arg(long, value_enum)]
    pub segment: Option<SegmentArg>,
    /// Store the day's moves in the segment history (`tenure segments --history` lists them).
    /// Days are recorded in order: a day before the newest recorded one is refused.
    #[arg(long)]
    pub record: bool,
    /// List the stored segment history (of `--customer`, or all) instead of evaluating.
    #[arg(long)]
    pub history: bool,
    /// With --history: only this customer.
    #[arg(long, requires = "history")]
    pub customer: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentArg {
    Key,
    PotentialKey,
    General,
    NeverProfitable,
}

impl SegmentArg {
    fn segment(self) -> Segment {
        match self {
            SegmentArg::Key => Segment::Key,
            SegmentArg::PotentialKey => Segment::PotentialKey,
            SegmentArg::General => Segment::General,
            SegmentArg::NeverProfitable => Segment::NeverProfitable,
        }
    }
}

#[derive(Args, Debug)]
pub struct HealthArgs {
    #[command(flatten)]
    pub common: ActArgs,
    /// Explain one customer's score: every component's input and points, and its history.
    pub customer: Option<String>,
    /// Only customers in this band.
    #[arg(long, value_enum)]
    pub band: Option<BandArg>,
    /// Also list churned customers (left out by default: their health is moot).
    #[arg(long)]
    pub all: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandArg {
    AtRisk,
    Neutral,
    Healthy,
}

#[derive(Args, Debug)]
pub struct AdvocatesArgs {
    #[command(flatten)]
    pub common: ActArgs,
}

/// The store loaded, the day, the currency and the configuration.
pub(crate) struct Ctx {
    pub data: Dataset,
    pub as_of: Day,
    pub fx: Fx,
    pub cfg: Config,
    config_source: String,
    started: Instant,
}

impl Ctx {
    pub fn currency(&self) -> Currency {
        self.fx.currency()
    }
    pub fn id(&self, f: &Facts) -> &str {
        &self.data.customer_ids[f.customer as usize]
    }
    pub fn facts(&self, as_of: Day) -> Result<Vec<Facts>, CliError> {
        facts(&self.data, &self.fx, as_of, &self.cfg).map_err(|e| CliError::input(e.to_string()))
    }
    pub fn health(&self, f: &Facts) -> Health {
        health(
            f,
            &self.cfg.health,
            self.cfg.usage.window.0,
            self.cfg.usage.baseline.0,
        )
    }
    pub fn m(&self, minor: i64) -> String {
        money(minor, self.currency())
    }
}

/// `--config`, `$TENURE_CONFIG`, `./tenure.toml`, or the defaults.
pub(crate) fn load_config(flag: Option<&Path>) -> Result<(Config, String), CliError> {
    let path = match flag {
        Some(p) => Some(p.to_path_buf()),
        None => match std::env::var_os("TENURE_CONFIG").filter(|s| !s.is_empty()) {
            Some(p) => Some(PathBuf::from(p)),
            None => Some(PathBuf::from("tenure.toml")).filter(|p| p.exists()),
        },
    };
    let Some(path) = path else {
        return Ok((Config::default(), "defaults".into()));
    };
    let name = path.display().to_string();
    let text = std::fs::read(&path).map_err(|e| CliError::input(format!("{name}: {e}")))?;
    let text = String::from_utf8(text).map_err(|e| {
        CliError::input(format!(
            "{name}: not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let cfg = Config::parse(&text, &name).map_err(|e| CliError::input(e.to_string()))?;
    Ok((cfg, name))
}

pub(crate) fn context(a: &ActArgs) -> Result<Ctx, CliError> {
    let started = Instant::now();
    let (cfg, config_source) = load_config(a.config.as_deref())?;
    let as_of_flag = a
        .as_of
        .as_deref()
        .map(|s| parse_day("as-of", s))
        .transpose()?;
    let db = crate::store_location(a.db.as_deref());
    let mut store = open(&Location::parse(&db)).map_err(|e| CliError::failure(e.to_string()))?;
    let place = store.location();
    let data = store
        .load(&LoadOptions::all())
        .map_err(|e| CliError::failure(e.to_string()))?;
    drop(store);
    let as_of = as_of_flag
        .or_else(|| data.last_day())
        .ok_or_else(|| CliError::input(format!("{place}: the store holds no records")))?;
    let flag = a.currency.as_deref().or(cfg.currency.as_deref());
    let currency = choose_currency(&data, flag, &place)?;
    let fx = build_fx(currency, &a.fx)?;
    Ok(Ctx {
        data,
        as_of,
        fx,
        cfg,
        config_source,
        started,
    })
}

pub(crate) fn finish(a: &ActArgs, ctx: &Ctx, out: Result<String, Value>) -> Result<(), CliError> {
    let text = match out {
        Ok(t) => t,
        Err(mut v) => {
            v["as_of"] = json!(date_text(ctx.as_of));
            v["currency"] = json!(ctx.currency().code());
            v["config"] = json!(ctx.config_source);
            v["elapsed_ms"] = json!({ "total": ctx.started.elapsed().as_secs_f64() * 1000.0 });
            format!("{v}\n")
        }
    };
    emit(a.output.as_deref(), &text)
}

pub(crate) fn heading(ctx: &Ctx, what: &str) -> String {
    format!(
        "{what} on {} ({}; configuration: {})",
        date_text(ctx.as_of),
        ctx.currency().code(),
        ctx.config_source
    )
}

pub fn segments(a: SegmentsArgs) -> Result<(), CliError> {
    if a.history {
        return crate::cmd_journal::segment_history(&a.common, a.customer.as_deref());
    }
    let ctx = context(&a.common)?;
    let fs = ctx.facts(ctx.as_of)?;
    let c = ctx.currency();
    let t = thresholds(&fs, &ctx.cfg.segments, c);
    let assigned: Vec<_> = fs.iter().map(|f| segment(f, &t, c)).collect();
    let moved = if a.record {
        let mut store = crate::cmd_journal::open_store(a.common.db.as_deref())?;
        Some(crate::cmd_journal::record_segments(
            store.as_mut(),
            ctx.as_of,
            assigned
                .iter()
                .map(|s| (ctx.data.customer_ids[s.customer as usize].as_str(), s))
                .collect(),
        )?)
    } else {
        None
    };
    let threshold = |v: i64| {
        if v == i64::MAX {
            Value::Null
        } else {
            json!(ctx.m(v))
        }
    };
    let only = a.segment.map(SegmentArg::segment);
    let per_customer = a.customers || only.is_some();
    // Per segment: customers, realised, predicted.
    let mut sums = [(0u64, 0i64, 0i64); 4];
    for (f, s) in fs.iter().zip(&assigned) {
        let k = s.segment as usize;
        sums[k].0 += 1;
        sums[k].1 += f.realised_profit;
        sums[k].2 += f.future_profit.unwrap_or(0);
    }
    let plan_json = |s: Segment| {
        let p = s.plan(&ctx.cfg.segments);
        json!({
            "channels": p.channels,
            "cadence_days": p.cadence.0,
            "budget_per_year": p.budget_per_year.0.to_string(),
        })
    };
    let out = match a.common.format {
        ReportFormat::Json => Err(json!({
            "thresholds": {
                "high_realised": threshold(t.realised),
                "high_predicted": threshold(t.predicted),
            },
            "recorded_moves": moved,
            "segments": Segment::ALL.iter().map(|s| {
                let (n, r, p) = sums[*s as usize];
                json!({
                    "segment": s.as_str(),
                    "customers": n,
                    "realised_profit": ctx.m(r),
                    "predicted_future_profit": ctx.m(p),
                    "plan": plan_json(*s),
                })
            }).collect::<Vec<_>>(),
            "customers": fs.iter().zip(&assigned)
                .filter(|(_, s)| only.is_none_or(|o| o == s.segment))
                .map(|(f, s)| json!({
                    "customer": ctx.id(f),
                    "segment": s.segment.as_str(),
                    "reason": s.reason,
                    "realised_profit": ctx.m(f.realised_profit),
                    "predicted_future_profit": f.future_profit.map(|v| ctx.m(v)),
                    "lifetime_profit": f.lifetime_profit().map(|v| ctx.m(v)),
                    "method": f.method,
                })).collect::<Vec<_>>(),
        })),
        format if per_customer => {
            let rows = fs
                .iter()
                .zip(&assigned)
                .filter(|(_, s)| only.is_none_or(|o| o == s.segment))
                .map(|(f, s)| {
                    let p = s.segment.plan(&ctx.cfg.segments);
                    vec![
                        ctx.id(f).to_string(),
                        s.segment.as_str().to_string(),
                        ctx.m(f.realised_profit),
                        f.future_profit.map_or("-".into(), |v| ctx.m(v)),
                        p.channels.join("+"),
                        s.reason.clone(),
                    ]
                })
                .collect();
            Ok(tabular(
                format,
                &heading(&ctx, "CLV segments, per customer"),
                &[
                    "customer",
                    "segment",
                    "realised profit",
                    "predicted future profit",
                    "plan channels",
                    "why",
                ],
                rows,
            ))
        }
        format => {
            let n = fs.len().max(1) as f64;
            let rows = Segment::ALL
                .iter()
                .map(|s| {
                    let (k, r, p) = sums[*s as usize];
                    let plan = s.plan(&ctx.cfg.segments);
                    vec![
                        s.as_str().to_string(),
                        k.to_string(),
                        format!("{:.1}", k as f64 * 100.0 / n),
                        ctx.m(r),
                        ctx.m(p),
                        plan.channels.join("+"),
                        plan.cadence.0.to_string(),
                        plan.budget_per_year.0.to_string(),
                    ]
                })
                .collect();
            let mut text = tabular(
                format,
                &heading(&ctx, "CLV segments"),
                &[
                    "segment",
                    "customers",
                    "share %",
                    "realised profit",
                    "predicted future profit",
                    "plan channels",
                    "cadence days",
                    "budget per customer per year",
                ],
                rows,
            );
            if format == ReportFormat::Table {
                let show = |v: i64| {
                    if v == i64::MAX {
                        "nobody".to_string()
                    } else {
                        format!("{} {}", ctx.m(v), c.code())
                    }
                };
                text.push_str(&format!(
                    "high realised profit from {}, high predicted future profit from {}\n",
                    show(t.realised),
                    show(t.predicted)
                ));
                if let Some(n) = moved {
                    text.push_str(&format!(
                        "recorded in the segment history: {n} moves on {}\n",
                        date_text(ctx.as_of)
                    ));
                }
            }
            Ok(text)
        }
    };
    finish(&a.common, &ctx, out)
}

fn band_name(h: &Health) -> &'static str {
    h.band.map_or("-", |b| b.as_str())
}

fn score_text(s: Option<f64>) -> String {
    s.map_or("-".into(), |v| format!("{v:.1}"))
}

/// One earlier day and every customer's score on it (indexed by customer index).
type PastScores = (Day, Vec<Option<f64>>);

/// The scores at the earlier days of the configured trend, oldest first.
fn history(ctx: &Ctx) -> Result<Vec<PastScores>, CliError> {
    let h = &ctx.cfg.health;
    let mut out = Vec::new();
    for k in (1..=h.trend_points).rev() {
        let day = ctx.as_of - (k * h.trend_step.0) as i32;
        let mut scores = vec![None; ctx.data.len()];
        for f in ctx.facts(day)? {
            scores[f.customer as usize] = ctx.health(&f).score;
        }
        out.push((day, scores));
    }
    Ok(out)
}

pub fn health_cmd(a: HealthArgs) -> Result<(), CliError> {
    let ctx = context(&a.common)?;
    let fs = ctx.facts(ctx.as_of)?;
    let hs: Vec<Health> = fs.iter().map(|f| ctx.health(f)).collect();
    let past = history(&ctx)?;
    let trend = |f: &Facts, h: &Health| -> Option<f64> {
        let (_, first) = past.last()?;
        Some(h.score? - first[f.customer as usize]?)
    };
    if let Some(id) = &a.customer {
        let i = fs.iter().position(|f| ctx.id(f) == id).ok_or_else(|| {
            CliError::input(format!(
                "customer `{id}`: not in the store, or acquired after {}",
                date_text(ctx.as_of)
            ))
        })?;
        let (f, h) = (&fs[i], &hs[i]);
        let hist: Vec<(String, Option<f64>)> = past
            .iter()
            .map(|(d, s)| (date_text(*d), s[f.customer as usize]))
            .chain(std::iter::once((date_text(ctx.as_of), h.score)))
            .collect();
        let out = match a.common.format {
            ReportFormat::Json => Err(json!({
                "customer": id,
                "score": h.score,
                "band": h.band.map(|b| b.as_str()),
                "components": h.components.iter().map(|c| json!({
                    "component": c.name,
                    "input": c.input,
                    "present": c.fraction.is_some(),
                    "fraction": c.fraction,
                    "points": c.points,
                    "max_points": c.max_points,
                })).collect::<Vec<_>>(),
                "history": hist.iter().map(|(d, s)| json!({ "as_of": d, "score": s })).collect::<Vec<_>>(),
            })),
            format => {
                let rows = h
                    .components
                    .iter()
                    .map(|c| {
                        vec![
                            c.name.to_string(),
                            if c.fraction.is_some() {
                                format!("{:.1}", c.points)
                            } else {
                                "missing".into()
                            },
                            format!("{:.1}", c.max_points),
                            c.input.clone(),
                        ]
                    })
                    .collect();
                let mut text = tabular(
                    format,
                    &format!(
                        "{}: health {} ({})",
                        heading(&ctx, &format!("customer {id}")),
                        score_text(h.score),
                        band_name(h)
                    ),
                    &["component", "points", "of", "input"],
                    rows,
                );
                if format == ReportFormat::Table {
                    text.push_str(
                        "missing components are left out and the others re-weighted\nhistory: ",
                    );
                    text.push_str(
                        &hist
                            .iter()
                            .map(|(d, s)| format!("{d} {}", score_text(*s)))
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                    text.push('\n');
                }
                Ok(text)
            }
        };
        return finish(&a.common, &ctx, out);
    }
    let want = a.band.map(|b| match b {
        BandArg::AtRisk => tenure_act::Band::AtRisk,
        BandArg::Neutral => tenure_act::Band::Neutral,
        BandArg::Healthy => tenure_act::Band::Healthy,
    });
    // Lowest score first: who needs attention.
    let listed = |i: usize| a.all || fs[i].status != Status::Churned;
    let mut order: Vec<usize> = (0..fs.len())
        .filter(|&i| listed(i) && want.is_none_or(|b| hs[i].band == Some(b)))
        .collect();
    order.sort_by(|&x, &y| {
        let s = |i: usize| hs[i].score.unwrap_or(f64::INFINITY);
        s(x).total_cmp(&s(y)).then(x.cmp(&y))
    });
    let mut bands = [0u64; 3];
    let mut no_score = 0u64;
    for (_, h) in hs.iter().enumerate().filter(|(i, _)| listed(*i)) {
        match h.band {
            Some(b) => bands[b as usize] += 1,
            None => no_score += 1,
        }
    }
    let out = match a.common.format {
        ReportFormat::Json => Err(json!({
            "bands": {
                "at_risk": bands[0], "neutral": bands[1], "healthy": bands[2],
                "no_score": no_score,
            },
            "trend_from": past.last().map(|(d, _)| date_text(*d)),
            "customers": order.iter().map(|&i| {
                let (f, h) = (&fs[i], &hs[i]);
                let mut points = serde_json::Map::new();
                for c in &h.components {
                    points.insert(c.name.into(), c.fraction.map_or(Value::Null, |_| json!(c.points)));
                }
                json!({
                    "customer": ctx.id(f),
                    "status": f.status.as_str(),
                    "score": h.score,
                    "band": h.band.map(|b| b.as_str()),
                    "trend": trend(f, h),
                    "points": points,
                })
            }).collect::<Vec<_>>(),
        })),
        format => {
            let rows = order
                .iter()
                .map(|&i| {
                    let (f, h) = (&fs[i], &hs[i]);
                    let mut r = vec![
                        ctx.id(f).to_string(),
                        f.status.as_str().to_string(),
                        score_text(h.score),
                        band_name(h).to_string(),
                        trend(f, h).map_or("-".into(), |t| format!("{t:+.1}")),
                    ];
                    for c in &h.components {
                        r.push(if c.fraction.is_some() {
                            format!("{:.1}/{:.1}", c.points, c.max_points)
                        } else {
                            "-".into()
                        });
                    }
                    r.push(
                        h.biggest_losses()
                            .first()
                            .map_or(String::new(), |c| c.input.clone()),
                    );
                    r
                })
                .collect();
            let trend_head = format!(
                "change since {}",
                past.last().map_or("-".into(), |(d, _)| date_text(*d))
            );
            let mut header = vec!["customer", "status", "score", "band", trend_head.as_str()];
            header.extend(COMPONENTS);
            header.push("biggest loss");
            let mut text = tabular(format, &heading(&ctx, "Health"), &header, rows);
            if format == ReportFormat::Table {
                text.push_str(&format!(
                    "{} at risk, {} neutral, {} healthy{}; points earned/possible per component (missing: -, re-weighted)\n",
                    bands[0], bands[1], bands[2],
                    if a.all { "" } else { " (churned customers left out: --all)" }
                ));
            }
            Ok(text)
        }
    };
    finish(&a.common, &ctx, out)
}

pub fn advocates_cmd(a: AdvocatesArgs) -> Result<(), CliError> {
    let ctx = context(&a.common)?;
    let fs = ctx.facts(ctx.as_of)?;
    let hs: Vec<Health> = fs.iter().map(|f| ctx.health(f)).collect();
    let list = advocates(&fs, &hs, &ctx.cfg.advocacy);
    let out = match a.common.format {
        ReportFormat::Json => Err(json!({
            "criteria": {
                "min_nps": ctx.cfg.advocacy.min_nps,
                "min_health": ctx.cfg.advocacy.min_health,
                "min_tenure_days": ctx.cfg.advocacy.min_tenure.0,
            },
            "advocates": list.iter().enumerate().map(|(k, c)| {
                let f = &fs[c.index];
                json!({
                    "rank": k + 1,
                    "customer": ctx.id(f),
                    "nps": c.nps,
                    "health": c.health,
                    "tenure_days": f.tenure_days,
                    "referrals": f.referrals,
                    "referral_credit": ctx.m(f.referral_credit),
                    "realised_profit": ctx.m(f.realised_profit),
                })
            }).collect::<Vec<_>>(),
        })),
        format => {
            let rows = list
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let f = &fs[c.index];
                    vec![
                        (k + 1).to_string(),
                        ctx.id(f).to_string(),
                        c.nps.to_string(),
                        format!("{:.1}", c.health),
                        f.tenure_days.to_string(),
                        f.referrals.to_string(),
                        ctx.m(f.referral_credit),
                        ctx.m(f.realised_profit),
                    ]
                })
                .collect();
            let mut text = tabular(
                format,
                &heading(&ctx, "Advocates"),
                &[
                    "rank",
                    "customer",
                    "NPS",
                    "health",
                    "tenure days",
                    "referrals",
                    "referral credit",
                    "realised profit",
                ],
                rows,
            );
            if format == ReportFormat::Table {
                text.push_str(&format!(
                    "promoters (NPS ≥ {}) with health ≥ {} and tenure ≥ {} days, not churned; at most {}\n",
                    ctx.cfg.advocacy.min_nps,
                    ctx.cfg.advocacy.min_health,
                    ctx.cfg.advocacy.min_tenure.0,
                    ctx.cfg.advocacy.limit
                ));
            }
            Ok(text)
        }
    };
    finish(&a.common, &ctx, out)
}
