//! `tenure report value|retention|mrr|cohorts|survival`: the value and retention reports of the
//! `tenure-reports` crate, from the store, as a table, CSV or one JSON object.
//!
//! Amounts are printed as exact decimals of the report currency (named in every output); MRR
//! is kept in twelfths of a minor unit and rounded half away from zero only here. Every time
//! quantity names its unit (days, months). The "as of" day defaults to the last day of any
//! record in the store — never the clock.

use crate::error::CliError;
use crate::table::Table;
use crate::write_atomically;
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;
use tenure_core::{Currency, Decimal, Duration, Rate, TimeUnit, TransactionKind};
use tenure_reports::calendar::{day_from_ymd, ymd_of_day, Day, Interval};
use tenure_reports::money::{div_round, to_decimal};
use tenure_reports::predict::{predict, PredictConfig, Predictions};
use tenure_reports::retention::{cohort_report, retention_report, CohortRow};
use tenure_reports::status::{statuses, CustomerStatus, Status, StatusConfig};
use tenure_reports::survival::{survival_report, Spells};
use tenure_reports::usage::{usage_report, UsageConfig, UsageReport};
use tenure_reports::value::{conduit, explain, value_report, Figures, ValueConfig, ValueReport};
use tenure_reports::{mrr_report, Excluded, Fx, GroupBy, Grouping, KaplanMeier, MrrMonth};
use tenure_store::{open, Dataset, LoadOptions, Location};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Which report: `value` (profit ledger, predicted and lifetime value, status, usage
    /// value), `retention` (logo, gross, net and seat retention over a trailing window),
    /// `cohorts` (retention heatmaps by acquisition cohort), `mrr` (movements per month, ARR,
    /// ARPA), `survival` (Kaplan–Meier of subscription tenure).
    #[arg(value_enum)]
    pub report: Report,
    /// The store: a SQLite file or a postgres:// URL [default: $TENURE_DB, else ./tenure.db].
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
    /// Last day observed (YYYY-MM-DD, inclusive); later records are ignored [default: the last
    /// day of any record in the store].
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Group customers by acquisition `cohort` (month), `quarter`, `channel`, `plan` (the
    /// customer's plan) or `region`. (CLV segments come with `tenure segments`.)
    #[arg(long, value_enum)]
    pub by: Option<By>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Report currency (ISO 4217). Needed when the store holds more than one; amounts in
    /// other currencies are left out and counted unless converted with `--fx`.
    #[arg(long)]
    pub currency: Option<String>,
    /// Convert a currency at a fixed rate: `EUR=1.087` means 1 EUR = 1.087 units of the
    /// report currency (repeatable; results rounded half away from zero to the minor unit).
    #[arg(long, value_name = "CUR=RATE")]
    pub fx: Vec<String>,
    /// value: share of a referred customer's net revenue credited to her referrer (`10%` or
    /// `0.1`).
    #[arg(long, default_value = "10%")]
    pub referral_share: String,
    /// value: list every record behind each figure of this customer's ledger.
    #[arg(long, value_name = "CUSTOMER")]
    pub explain: Option<String>,
    /// value: one row per customer instead of the roll-up.
    #[arg(long)]
    pub customers: bool,
    /// value: discount rate of predicted future profit, per a stated period (`1%/mo`,
    /// `10%/y`).
    #[arg(long, default_value = "1%/mo")]
    pub discount_rate: String,
    /// value: horizon of predicted purchase-customer value (`36mo`, `3y`).
    #[arg(long, default_value = "36mo")]
    pub horizon: String,
    /// value: the usage window of the customer's view (`28d`, `4w`).
    #[arg(long, default_value = "28d")]
    pub usage_window: String,
    /// value: weight of a feature in the usage value index, `FEATURE=WEIGHT` (repeatable;
    /// other features weigh 1).
    #[arg(long, value_name = "FEATURE=WEIGHT")]
    pub weight: Vec<String>,
    /// value: the value event for time to first value, `FEATURE` or `FEATURE>=QUANTITY`
    /// [default: any usage].
    #[arg(long, value_name = "FEATURE[>=Q]")]
    pub value_event: Option<String>,
    /// cohorts: cohort and period length.
    #[arg(long, value_enum, default_value_t = IntervalArg::Month)]
    pub interval: IntervalArg,
    /// cohorts: the metric of the table and CSV heatmap (JSON has all four).
    #[arg(long, value_enum, default_value_t = Metric::Logo)]
    pub metric: Metric,
    /// retention: the trailing window (`12mo`, `1y`, `3mo`).
    #[arg(long, default_value = "12mo")]
    pub window: String,
    /// survival: each customer's `first` subscription, or `all` of them.
    #[arg(long, value_enum, default_value_t = SpellsArg::First)]
    pub spells: SpellsArg,
    /// survival: confidence level of the band and of the median's interval.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    Value,
    Retention,
    Mrr,
    Cohorts,
    Survival,
    /// Retention of campaign-touched customers against comparable untouched ones.
    Campaigns,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Cohort,
    Quarter,
    Channel,
    Plan,
    Region,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalArg {
    Month,
    Quarter,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Logo,
    Grr,
    Nrr,
    Seats,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpellsArg {
    First,
    All,
}

pub(crate) fn date_text(d: Day) -> String {
    let (y, m, dd) = ymd_of_day(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

pub(crate) fn parse_day(flag: &str, s: &str) -> Result<Day, CliError> {
    let bad = || CliError::input(format!("--{flag} `{s}`: not a date (write YYYY-MM-DD)"));
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    use chrono::Datelike;
    Ok(day_from_ymd(d.year(), d.month(), d.day()))
}

/// `10%` → 0.1, `0.25` → 0.25 (exact).
fn parse_share(flag: &str, s: &str) -> Result<Decimal, CliError> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: Decimal = num
        .parse()
        .map_err(|_| CliError::input(format!("--{flag} `{s}`: not a share (write 10% or 0.1)")))?;
    let v = if pct { v / Decimal::from(100) } else { v };
    if v < Decimal::ZERO || v > Decimal::ONE {
        return Err(CliError::input(format!(
            "--{flag} `{s}`: must be between 0 and 100%"
        )));
    }
    Ok(v)
}

pub(crate) fn money(minor: i64, c: Currency) -> String {
    to_decimal(minor, c).to_string()
}

fn mrr_money(twelfths: i64, c: Currency) -> String {
    money(div_round(i128::from(twelfths), 12).unwrap_or(0), c)
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.1}", v * 100.0))
}

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map_or("-".into(), |v| v.to_string())
}

fn ratio(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |v| json!(v))
}

/// The report currency: `--currency`, else the only currency of the records.
pub(crate) fn choose_currency(
    data: &Dataset,
    flag: Option<&str>,
    place: &str,
) -> Result<Currency, CliError> {
    if let Some(c) = flag {
        return Currency::parse(c).map_err(|e| CliError::input(format!("--currency: {e}")));
    }
    let mut seen: Vec<Currency> = Vec::new();
    let mut note = |c: Currency| {
        if !seen.contains(&c) {
            seen.push(c);
        }
    };
    data.transactions.iter().for_each(|t| note(t.currency));
    data.subscriptions.iter().for_each(|s| note(s.currency));
    data.costs.iter().for_each(|k| note(k.currency));
    seen.sort();
    match seen.as_slice() {
        [] => Ok(Currency::parse("USD").map_err(|e| CliError::failure(e.to_string()))?),
        [one] => Ok(*one),
        many => Err(CliError::input(format!(
            "{place}: records are in more than one currency ({}); choose the report currency with \
             --currency (and convert others with --fx CUR=RATE)",
            many.iter().map(|c| c.code()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

pub(crate) fn build_fx(currency: Currency, pairs: &[String]) -> Result<Fx, CliError> {
    let mut fx = Fx::new(currency);
    for p in pairs {
        let bad = |why: &str| CliError::input(format!("--fx `{p}`: {why} (write e.g. EUR=1.087)"));
        let (c, r) = p.split_once('=').ok_or_else(|| bad("not CUR=RATE"))?;
        let c = Currency::parse(c).map_err(|e| bad(&e.to_string()))?;
        let r: Decimal = r
            .trim()
            .parse()
            .map_err(|_| bad("the rate is not a decimal number"))?;
        fx = fx.with_rate(c, r).map_err(|e| bad(&e))?;
    }
    Ok(fx)
}

fn grouping(data: &Dataset, by: Option<By>) -> Grouping {
    Grouping::new(
        data,
        match by {
            None => GroupBy::All,
            Some(By::Cohort) => GroupBy::Cohort(Interval::Month),
            Some(By::Quarter) => GroupBy::Cohort(Interval::Quarter),
            Some(By::Channel) => GroupBy::Channel,
            Some(By::Plan) => GroupBy::Plan,
            Some(By::Region) => GroupBy::Region,
        },
    )
}

fn excluded_json(e: &Excluded) -> Value {
    json!({
        "transactions": e.transactions,
        "subscriptions": e.subscriptions,
        "costs": e.costs,
        "currencies": e.currencies.iter().map(|c| c.code()).collect::<Vec<_>>(),
    })
}

fn excluded_note(e: &Excluded) -> String {
    if e.is_empty() {
        return String::new();
    }
    format!(
        "note: left out (no --fx rate for {}): {} invoice lines, {} subscription rows, {} costs\n",
        e.currencies
            .iter()
            .map(|c| c.code())
            .collect::<Vec<_>>()
            .join(", "),
        e.transactions,
        e.subscriptions,
        e.costs
    )
}

/// What one run needs besides the dataset.
struct Ctx<'a> {
    a: &'a ReportArgs,
    data: &'a Dataset,
    as_of: Day,
    fx: Fx,
    groups: Grouping,
}

pub fn run(a: ReportArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let db = crate::store_location(a.db.as_deref());
    let as_of_flag = a
        .as_of
        .as_deref()
        .map(|s| parse_day("as-of", s))
        .transpose()?;
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(CliError::input(format!(
            "--level {}: must be between 0 and 1",
            a.level
        )));
    }
    if a.explain.is_some() && a.report != Report::Value {
        return Err(CliError::input("--explain goes with `tenure report value`"));
    }
    let opts = match a.report {
        Report::Value => LoadOptions {
            feedback: false,
            ids: a.explain.is_some(),
            ..LoadOptions::all()
        },
        Report::Retention | Report::Cohorts => LoadOptions {
            transactions: true,
            subscriptions: true,
            ..LoadOptions::customers_only()
        },
        Report::Mrr | Report::Survival => LoadOptions {
            subscriptions: true,
            ..LoadOptions::customers_only()
        },
        Report::Campaigns => LoadOptions {
            transactions: true,
            subscriptions: true,
            touches: true,
            campaigns: true,
            ..LoadOptions::customers_only()
        },
    };
    let mut store = open(&Location::parse(&db)).map_err(|e| CliError::failure(e.to_string()))?;
    let place = store.location();
    let data = store
        .load(&opts)
        .map_err(|e| CliError::failure(e.to_string()))?;
    drop(store);
    let loaded = started.elapsed();
    let as_of = match as_of_flag.or_else(|| data.last_day()) {
        Some(d) => d,
        None => {
            return Err(CliError::input(format!(
                "{place}: the store holds no records"
            )))
        }
    };
    // Survival counts days, not money: no currency to choose.
    let currency = if a.report == Report::Survival {
        Currency::parse(a.currency.as_deref().unwrap_or("USD"))
            .map_err(|e| CliError::input(format!("--currency: {e}")))?
    } else {
        choose_currency(&data, a.currency.as_deref(), &place)?
    };
    let fx = build_fx(currency, &a.fx)?;
    let ctx = Ctx {
        groups: grouping(&data, a.by),
        a: &a,
        data: &data,
        as_of,
        fx,
    };
    let out = match a.report {
        Report::Value => match &a.explain {
            Some(id) => explain_customer(&ctx, id)?,
            None => value(&ctx)?,
        },
        Report::Retention => retention(&ctx)?,
        Report::Cohorts => cohorts(&ctx)?,
        Report::Mrr => mrr(&ctx),
        Report::Survival => survival(&ctx)?,
        Report::Campaigns => campaigns(&ctx)?,
    };
    let text = match out {
        Out::Text(t) => t,
        Out::Json(mut v) => {
            v["elapsed_ms"] = json!({
                "load": loaded.as_secs_f64() * 1000.0,
                "total": started.elapsed().as_secs_f64() * 1000.0,
            });
            let mut s = v.to_string();
            s.push('\n');
            s
        }
    };
    emit(a.output.as_deref(), &text)
}

/// Write `text` to `output` (atomically) or to stdout, where a reader that stops early (`|
/// head`) is not a failure.
pub(crate) fn emit(output: Option<&std::path::Path>, text: &str) -> Result<(), CliError> {
    match output {
        Some(p) => write_atomically(p, text.as_bytes()),
        None => {
            use std::io::Write;
            let mut o = std::io::stdout().lock();
            match o.write_all(text.as_bytes()).and_then(|_| o.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| CliError::failure(format!("stdout: {e}"))),
            }
        }
    }
}

enum Out {
    Text(String),
    Json(Value),
}

pub(crate) fn csv_line(cells: &[String]) -> String {
    let mut s = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    s.push('\n');
    s
}

/// Rows to a table or CSV, with a heading above a table.
pub(crate) fn tabular(
    format: ReportFormat,
    heading: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> String {
    match format {
        ReportFormat::Csv => {
            let h: Vec<String> = header.iter().map(|s| s.to_string()).collect();
            let mut s = csv_line(&h);
            for r in &rows {
                s.push_str(&csv_line(r));
            }
            s
        }
        _ => {
            let mut t = Table::new(header);
            for r in rows {
                t.row(r);
            }
            format!("{heading}\n{}", t.render())
        }
    }
}

fn figures_json(f: &Figures, c: Currency) -> Value {
    let mut rev = serde_json::Map::new();
    for k in TransactionKind::ALL {
        rev.insert(k.as_str().into(), json!(money(f.revenue[conduit(*k)], c)));
    }
    json!({
        "revenue": rev,
        "net_revenue": money(f.net_revenue(), c),
        "referral_credit": money(f.referral_credit, c),
        "cogs": money(f.cogs, c),
        "acquisition": { "direct": money(f.acquisition_direct, c), "allocated": money(f.acquisition_allocated, c) },
        "retention": { "direct": money(f.retention_direct, c), "allocated": money(f.retention_allocated, c) },
        "service": { "direct": money(f.service_direct, c), "allocated": money(f.service_allocated, c) },
        "own_profit": money(f.own_profit(), c),
        "profit": money(f.profit(), c),
    })
}

struct ValueAll {
    report: ValueReport,
    predictions: Predictions,
    statuses: Vec<CustomerStatus>,
    usage: UsageReport,
}

fn compute_value(ctx: &Ctx) -> Result<ValueAll, CliError> {
    let a = ctx.a;
    let mut cfg = ValueConfig::new(ctx.as_of, ctx.fx.currency());
    cfg.fx = ctx.fx.clone();
    cfg.referral_share = parse_share("referral-share", &a.referral_share)?;
    let report =
        value_report(ctx.data, &cfg, &ctx.groups).map_err(|e| CliError::input(e.to_string()))?;
    let rate: Rate = a
        .discount_rate
        .parse()
        .map_err(|e| CliError::input(format!("--discount-rate `{}`: {e}", a.discount_rate)))?;
    let horizon: Duration = a
        .horizon
        .parse()
        .map_err(|e| CliError::input(format!("--horizon `{}`: {e}", a.horizon)))?;
    let months = horizon.in_unit(TimeUnit::Months).round();
    if !(1.0..=1200.0).contains(&months) {
        return Err(CliError::input(format!(
            "--horizon `{}`: between 1 and 1200 months",
            a.horizon
        )));
    }
    let pcfg = PredictConfig {
        monthly_discount: rate.compounded_per(TimeUnit::Months),
        horizon_months: months as u32,
    };
    let predictions = predict(ctx.data, &ctx.fx, &report, &pcfg);
    let statuses = statuses(
        ctx.data,
        &ctx.fx,
        ctx.as_of,
        Some(&predictions),
        &StatusConfig::default(),
    );
    let window: Duration = a
        .usage_window
        .parse()
        .map_err(|e| CliError::input(format!("--usage-window `{}`: {e}", a.usage_window)))?;
    let mut ucfg = UsageConfig::new(ctx.as_of);
    let days = window.in_unit(TimeUnit::Days).round();
    if !(1.0..=36_600.0).contains(&days) {
        return Err(CliError::input(format!(
            "--usage-window `{}`: 1 day to 100 years",
            a.usage_window
        )));
    }
    ucfg.window_days = days as u32;
    for w in &a.weight {
        let (f, v) = w
            .rsplit_once('=')
            .ok_or_else(|| CliError::input(format!("--weight `{w}`: write FEATURE=WEIGHT")))?;
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                CliError::input(format!("--weight `{w}`: the weight must be a number ≥ 0"))
            })?;
        ucfg.weights.push((f.trim().to_string(), v));
    }
    if let Some(e) = &a.value_event {
        ucfg.value_event = Some(match e.split_once(">=") {
            Some((f, q)) => {
                let q: f64 = q
                    .trim()
                    .parse()
                    .ok()
                    .filter(|q: &f64| q.is_finite())
                    .ok_or_else(|| {
                        CliError::input(format!(
                            "--value-event `{e}`: the quantity is not a number"
                        ))
                    })?;
                (f.trim().to_string(), q)
            }
            None => (e.trim().to_string(), 0.0),
        });
    }
    let usage =
        usage_report(ctx.data, &ucfg, &ctx.groups).map_err(|e| CliError::input(e.to_string()))?;
    Ok(ValueAll {
        report,
        predictions,
        statuses,
        usage,
    })
}

fn value(ctx: &Ctx) -> Result<Out, CliError> {
    let v = compute_value(ctx)?;
    let c = ctx.fx.currency();
    let data = ctx.data;
    let n = data.len();
    // Per group: predicted future profit, status counts.
    let ng = ctx.groups.len();
    let mut future = vec![(0i64, 0u64); ng + 1];
    let mut status = vec![[0u64; 4]; ng + 1];
    for (cv, p) in v.report.customers.iter().zip(&v.predictions.customers) {
        let slots = [Some(ng), ctx.groups.group(cv.customer)];
        for g in slots.into_iter().flatten() {
            if let Some(f) = p.future_profit {
                future[g].0 += f;
                future[g].1 += 1;
            }
            let s = v.statuses[cv.customer as usize].status;
            let i = Status::ALL.iter().position(|x| *x == s).unwrap_or(0);
            status[g][i] += 1;
        }
    }
    let ustats: Vec<&tenure_reports::usage::UsageGroup> = v
        .usage
        .groups
        .iter()
        .chain(std::iter::once(&v.usage.total))
        .collect();
    let heading = format!(
        "value ledger as of {}, amounts in {c}, referral share {}; {} customers; time unit: months",
        date_text(ctx.as_of),
        ctx.a.referral_share,
        v.report.customers.len()
    );
    if ctx.a.customers {
        let header = [
            "customer",
            "acquired",
            "status",
            "net_revenue",
            "referral_credit",
            "cogs",
            "acquisition",
            "retention",
            "service",
            "profit",
            "breakeven_month",
            "breakeven_after_months",
            "cac_payback_months",
            "predicted_future_profit",
            "lifetime_value",
            "p_alive",
            "usage_index",
            "adoption_breadth",
            "adoption_depth",
            "time_to_first_value_days",
            "method",
        ];
        let rows: Vec<Vec<String>> = v
            .report
            .customers
            .iter()
            .zip(&v.predictions.customers)
            .map(|(cv, p)| {
                let u = &v.usage.customers[cv.customer as usize];
                let t = &cv.totals;
                vec![
                    data.customer_id(cv.customer).to_string(),
                    cv.acquired.to_string(),
                    v.statuses[cv.customer as usize].status.as_str().to_string(),
                    money(t.net_revenue(), c),
                    money(t.referral_credit, c),
                    money(t.cogs, c),
                    money(t.acquisition(), c),
                    money(t.retention(), c),
                    money(t.service(), c),
                    money(t.profit(), c),
                    opt(cv.breakeven),
                    opt(cv.breakeven_after_months),
                    opt(cv.cac_payback_months),
                    p.future_profit.map_or("-".into(), |f| money(f, c)),
                    p.future_profit
                        .map_or("-".into(), |f| money(t.profit() + f, c)),
                    p.p_alive.map_or("-".into(), |x| format!("{x:.4}")),
                    u.index.map_or("-".into(), |x| format!("{x:.1}")),
                    format!("{:.3}", u.breadth),
                    u.depth.map_or("-".into(), |x| format!("{x:.2}")),
                    opt(u.time_to_first_value_days),
                    p.method.describe(),
                ]
            })
            .collect();
        if ctx.a.format == ReportFormat::Json {
            let list: Vec<Value> = v
                .report
                .customers
                .iter()
                .zip(&v.predictions.customers)
                .map(|(cv, p)| {
                    let u = &v.usage.customers[cv.customer as usize];
                    let st = &v.statuses[cv.customer as usize];
                    json!({
                        "customer": data.customer_id(cv.customer),
                        "acquired": cv.acquired.to_string(),
                        "status": st.status.as_str(),
                        "status_reason": st.reason,
                        "figures": figures_json(&cv.totals, c),
                        "breakeven_month": cv.breakeven.map(|m| m.to_string()),
                        "breakeven_after_months": cv.breakeven_after_months,
                        "cac_payback_months": cv.cac_payback_months,
                        "predicted_future_profit": p.future_profit.map(|f| money(f, c)),
                        "lifetime_value": p.future_profit.map(|f| money(cv.totals.profit() + f, c)),
                        "method": p.method.describe(),
                        "p_alive": p.p_alive,
                        "usage": {
                            "index": u.index, "index_previous": u.index_previous,
                            "breadth": u.breadth, "breadth_previous": u.breadth_previous,
                            "depth": u.depth, "depth_previous": u.depth_previous,
                            "time_to_first_value_days": u.time_to_first_value_days,
                        },
                    })
                })
                .collect();
            return Ok(Out::Json(json!({
                "report": "value", "as_of": date_text(ctx.as_of), "currency": c.code(),
                "time_unit": "months", "customers": list,
                "excluded": excluded_json(&v.report.excluded),
            })));
        }
        let mut s = tabular(ctx.a.format, &heading, &header, rows);
        if ctx.a.format == ReportFormat::Table {
            s.push_str(&excluded_note(&v.report.excluded));
        }
        return Ok(Out::Text(s));
    }
    let all: Vec<(&tenure_reports::value::ValueGroup, usize)> = v
        .report
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g, i))
        .chain(std::iter::once((&v.report.total, ng)))
        .collect();
    if ctx.a.format == ReportFormat::Json {
        let groups: Vec<Value> = all
            .iter()
            .map(|(g, i)| {
                let u = ustats[*i];
                json!({
                    "group": g.label,
                    "customers": g.customers,
                    "figures": figures_json(&g.totals, c),
                    "broken_even": g.broken_even,
                    "paid_back": g.paid_back,
                    "median_cac_payback_months": g.median_payback_months,
                    "predicted_future_profit": money(future[*i].0, c),
                    "predicted_customers": future[*i].1,
                    "lifetime_value": money(g.totals.profit() + future[*i].0, c),
                    "status": Status::ALL.iter().zip(status[*i]).map(|(s, n)| (s.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                    "usage": {
                        "active": u.active, "median_index": u.median_index,
                        "mean_breadth": u.mean_breadth, "mean_depth": u.mean_depth,
                        "reached_value": u.reached_value,
                        "median_time_to_first_value_days": u.median_time_to_first_value_days,
                    },
                    "cumulative_profit_by_month": g.by_age.iter().map(|p| json!({
                        "month": p.month_number, "customers": p.customers,
                        "mean_cumulative_profit": money(div_round(i128::from(p.cumulative_profit), i128::from(p.customers.max(1))).unwrap_or(0), c),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let fits: Vec<Value> = v
            .predictions
            .sbg
            .iter()
            .map(|g| {
                json!({
                    "plan": g.plan, "interval": g.interval.as_str(), "customers": g.customers,
                    "churned": g.churned,
                    "alpha": g.params.as_ref().ok().map(|p| p.alpha),
                    "beta": g.params.as_ref().ok().map(|p| p.beta),
                    "error": g.params.as_ref().err(),
                })
            })
            .collect();
        return Ok(Out::Json(json!({
            "report": "value", "as_of": date_text(ctx.as_of), "currency": c.code(),
            "time_unit": "months", "grouping": v.report.grouping, "customers": n,
            "groups": groups,
            "unallocated_costs": money(v.report.allocations.unallocated(), c),
            "models": { "sbg": fits, "bgnbd_gammagamma": v.predictions.bgnbd.as_ref().map(|(m, g)| json!({
                "r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b, "p": g.p, "q": g.q, "gamma": g.gamma,
            })).map_err(|e| e.clone()).unwrap_or_else(|e| json!({ "error": e })) },
            "excluded": excluded_json(&v.report.excluded),
        })));
    }
    let header = [
        "group",
        "customers",
        "net_revenue",
        "referral_credit",
        "cogs",
        "acquisition",
        "retention",
        "service",
        "profit",
        "profit_per_customer",
        "predicted_future_profit",
        "lifetime_value",
        "broken_even_%",
        "median_cac_payback_months",
        "active",
        "reactivated",
        "inactive",
        "churned",
        "median_usage_index",
    ];
    let rows = all
        .iter()
        .map(|(g, i)| {
            let t = &g.totals;
            vec![
                g.label.clone(),
                g.customers.to_string(),
                money(t.net_revenue(), c),
                money(t.referral_credit, c),
                money(t.cogs, c),
                money(t.acquisition(), c),
                money(t.retention(), c),
                money(t.service(), c),
                money(t.profit(), c),
                money(
                    div_round(i128::from(t.profit()), i128::from(g.customers.max(1))).unwrap_or(0),
                    c,
                ),
                money(future[*i].0, c),
                money(t.profit() + future[*i].0, c),
                pct((g.customers > 0).then(|| g.broken_even as f64 / g.customers as f64)),
                opt(g.median_payback_months),
                status[*i][0].to_string(),
                status[*i][1].to_string(),
                status[*i][2].to_string(),
                status[*i][3].to_string(),
                ustats[*i]
                    .median_index
                    .map_or("-".into(), |x| format!("{x:.1}")),
            ]
        })
        .collect();
    let mut s = tabular(ctx.a.format, &heading, &header, rows);
    if ctx.a.format == ReportFormat::Table {
        let un = v.report.allocations.unallocated();
        if un != 0 {
            s.push_str(&format!(
                "note: {} of channel or cohort costs found no customer to allocate to\n",
                money(un, c)
            ));
        }
        s.push_str(&excluded_note(&v.report.excluded));
    }
    Ok(Out::Text(s))
}

fn explain_customer(ctx: &Ctx, id: &str) -> Result<Out, CliError> {
    let c = ctx.fx.currency();
    let mut cfg = ValueConfig::new(ctx.as_of, c);
    cfg.fx = ctx.fx.clone();
    cfg.referral_share = parse_share("referral-share", &ctx.a.referral_share)?;
    let x = explain(ctx.data, &cfg, id).map_err(|e| CliError::input(format!("--explain: {e}")))?;
    if ctx.a.format == ReportFormat::Json {
        return Ok(Out::Json(json!({
            "report": "value", "explain": id, "as_of": date_text(ctx.as_of), "currency": c.code(),
            "totals": figures_json(&x.value.totals, c),
            "breakeven_month": x.value.breakeven.map(|m| m.to_string()),
            "cac_payback_months": x.value.cac_payback_months,
            "months": x.months.iter().map(|m| json!({
                "month": m.month.to_string(), "figures": figures_json(&m.figures, c),
                "cumulative_profit": money(m.cumulative_profit, c),
            })).collect::<Vec<_>>(),
            "items": x.items.iter().map(|i| json!({
                "figure": i.figure.name(), "month": i.month.to_string(), "date": date_text(i.day),
                "record_kind": i.record_kind, "record": i.record, "amount": money(i.amount, c),
                "note": i.note,
            })).collect::<Vec<_>>(),
            "excluded": excluded_json(&x.excluded),
        })));
    }
    let header = ["date", "figure", "record", "amount", "note"];
    let rows: Vec<Vec<String>> = x
        .items
        .iter()
        .map(|i| {
            vec![
                date_text(i.day),
                i.figure.name(),
                format!("{} {}", i.record_kind, i.record.as_deref().unwrap_or("-")),
                money(i.amount, c),
                i.note.clone(),
            ]
        })
        .collect();
    let mut s = tabular(
        ctx.a.format,
        &format!(
            "records behind the ledger of {id} as of {}, amounts in {c}",
            date_text(ctx.as_of)
        ),
        &header,
        rows,
    );
    if ctx.a.format == ReportFormat::Table {
        let mut t = Table::new(&[
            "month",
            "net_revenue",
            "referral_credit",
            "cogs",
            "acquisition",
            "retention",
            "service",
            "profit",
            "cumulative_profit",
        ]);
        for m in &x.months {
            let f = &m.figures;
            t.row(vec![
                m.month.to_string(),
                money(f.net_revenue(), c),
                money(f.referral_credit, c),
                money(f.cogs, c),
                money(f.acquisition(), c),
                money(f.retention(), c),
                money(f.service(), c),
                money(f.profit(), c),
                money(m.cumulative_profit, c),
            ]);
        }
        s.push_str(&format!(
            "\nledger by month (breakeven: {}; CAC payback: {} months)\n{}",
            opt(x.value.breakeven),
            opt(x.value.cac_payback_months),
            t.render()
        ));
        s.push_str(&excluded_note(&x.excluded));
    }
    Ok(Out::Text(s))
}

fn window_months(s: &str) -> Result<u32, CliError> {
    let d: Duration = s
        .parse()
        .map_err(|e| CliError::input(format!("--window `{s}`: {e}")))?;
    let m = d.in_unit(TimeUnit::Months).round();
    if !(1.0..=1200.0).contains(&m) {
        return Err(CliError::input(format!("--window `{s}`: 1 to 1200 months")));
    }
    Ok(m as u32)
}

fn retention(ctx: &Ctx) -> Result<Out, CliError> {
    let months = window_months(&ctx.a.window)?;
    let r = retention_report(ctx.data, &ctx.fx, ctx.as_of, months, &ctx.groups)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let c = ctx.fx.currency();
    let rows: Vec<&tenure_reports::retention::RetentionRow> =
        r.groups.iter().chain(std::iter::once(&r.total)).collect();
    if ctx.a.format == ReportFormat::Json {
        return Ok(Out::Json(json!({
            "report": "retention", "as_of": date_text(r.as_of), "window_start": date_text(r.window_start),
            "window_months": r.window_months, "currency": c.code(), "grouping": r.grouping,
            "groups": rows.iter().map(|g| json!({
                "group": g.label, "customers_start": g.customers_start,
                "customers_retained": g.customers_retained, "logo_retention": ratio(g.logo()),
                "mrr_start": mrr_money(g.mrr_start, c), "mrr_end": mrr_money(g.mrr_end, c),
                "gross_revenue_retention": ratio(g.grr()), "net_revenue_retention": ratio(g.nrr()),
                "seats_start": g.seats_start, "seats_end": g.seats_end, "seat_retention": ratio(g.seats()),
            })).collect::<Vec<_>>(),
            "excluded": excluded_json(&r.excluded),
        })));
    }
    let header = [
        "group",
        "customers_start",
        "retained",
        "logo_%",
        "mrr_start",
        "mrr_end",
        "grr_%",
        "nrr_%",
        "seats_start",
        "seats_end",
        "seat_%",
    ];
    let body = rows
        .iter()
        .map(|g| {
            vec![
                g.label.clone(),
                g.customers_start.to_string(),
                g.customers_retained.to_string(),
                pct(g.logo()),
                mrr_money(g.mrr_start, c),
                mrr_money(g.mrr_end, c),
                pct(g.grr()),
                pct(g.nrr()),
                g.seats_start.to_string(),
                g.seats_end.to_string(),
                pct(g.seats()),
            ]
        })
        .collect();
    let mut s = tabular(
        ctx.a.format,
        &format!(
            "retention over {months} months: customers paying on {} and on {} (MRR in {c} a month)",
            date_text(r.window_start),
            date_text(r.as_of)
        ),
        &header,
        body,
    );
    if ctx.a.format == ReportFormat::Table {
        s.push_str(&excluded_note(&r.excluded));
    }
    Ok(Out::Text(s))
}

fn metric(r: &CohortRow, k: usize, m: Metric) -> Option<f64> {
    match m {
        Metric::Logo => r.logo(k),
        Metric::Grr => r.grr(k),
        Metric::Nrr => r.nrr(k),
        Metric::Seats => r.seats(k),
    }
}

fn cohorts(ctx: &Ctx) -> Result<Out, CliError> {
    let interval = match ctx.a.interval {
        IntervalArg::Month => Interval::Month,
        IntervalArg::Quarter => Interval::Quarter,
    };
    let r = cohort_report(ctx.data, &ctx.fx, ctx.as_of, interval, &ctx.groups)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let c = ctx.fx.currency();
    let mut tables: Vec<(&str, &Vec<CohortRow>)> = r
        .groups
        .iter()
        .map(|(l, rows)| (l.as_str(), rows))
        .collect();
    tables.push(("all", &r.total));
    if ctx.a.by.is_none() {
        tables.drain(..tables.len() - 1);
    }
    let unit = interval.name();
    match ctx.a.format {
        ReportFormat::Json => Ok(Out::Json(json!({
            "report": "cohorts", "as_of": date_text(r.as_of), "interval": unit,
            "currency": c.code(), "grouping": r.grouping,
            "groups": tables.iter().map(|(label, rows)| json!({
                "group": label,
                "cohorts": rows.iter().map(|row| json!({
                    "cohort": row.cohort.to_string(), "customers": row.customers,
                    "subscribers": row.subscribers, "starting_mrr": mrr_money(row.starting_mrr, c),
                    "starting_seats": row.starting_seats,
                    "periods": row.cells.iter().enumerate().map(|(k, cell)| json!({
                        "period": cell.period, "retained": cell.retained,
                        "mrr": mrr_money(cell.mrr, c), "seats": cell.seats,
                        "logo_retention": ratio(row.logo(k)), "gross_revenue_retention": ratio(row.grr(k)),
                        "net_revenue_retention": ratio(row.nrr(k)), "seat_retention": ratio(row.seats(k)),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "excluded": excluded_json(&r.excluded),
        }))),
        ReportFormat::Csv => {
            let header = [
                "group",
                "cohort",
                "customers",
                "subscribers",
                "starting_mrr",
                "starting_seats",
                "period",
                "retained",
                "mrr",
                "seats",
                "logo",
                "grr",
                "nrr",
                "seat_retention",
            ];
            let mut rows = Vec::new();
            for (label, cohorts) in &tables {
                for row in cohorts.iter() {
                    for (k, cell) in row.cells.iter().enumerate() {
                        let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.6}"));
                        rows.push(vec![
                            label.to_string(),
                            row.cohort.to_string(),
                            row.customers.to_string(),
                            row.subscribers.to_string(),
                            mrr_money(row.starting_mrr, c),
                            row.starting_seats.to_string(),
                            cell.period.to_string(),
                            cell.retained.to_string(),
                            mrr_money(cell.mrr, c),
                            cell.seats.to_string(),
                            f(row.logo(k)),
                            f(row.grr(k)),
                            f(row.nrr(k)),
                            f(row.seats(k)),
                        ]);
                    }
                }
            }
            Ok(Out::Text(tabular(ReportFormat::Csv, "", &header, rows)))
        }
        ReportFormat::Table => {
            let name = match ctx.a.metric {
                Metric::Logo => "logo retention",
                Metric::Grr => "gross revenue retention",
                Metric::Nrr => "net revenue retention",
                Metric::Seats => "seat retention",
            };
            let mut s = String::new();
            for (label, rows) in &tables {
                let k = rows.iter().map(|r| r.cells.len()).max().unwrap_or(0);
                let mut header: Vec<String> = vec!["cohort".into(), "customers".into()];
                header.extend((0..k).map(|i| format!("{unit} {i}")));
                let h: Vec<&str> = header.iter().map(String::as_str).collect();
                let mut t = Table::new(&h);
                for row in rows.iter() {
                    let mut cells = vec![row.cohort.to_string(), row.customers.to_string()];
                    cells.extend((0..k).map(|i| pct(metric(row, i, ctx.a.metric))));
                    t.row(cells);
                }
                s.push_str(&format!(
                    "{name} (%) by acquisition {unit} and {unit}s since, at each {unit}'s end, as of {}{}\n{}\n",
                    date_text(r.as_of),
                    if tables.len() > 1 { format!(" — {}: {label}", r.grouping) } else { String::new() },
                    t.render()
                ));
            }
            s.push_str(&excluded_note(&r.excluded));
            Ok(Out::Text(s))
        }
    }
}

fn mrr_row(g: &str, m: &MrrMonth, c: Currency) -> Vec<String> {
    vec![
        g.to_string(),
        m.month.map_or("-".into(), |x| x.to_string()),
        mrr_money(m.opening, c),
        mrr_money(m.new, c),
        mrr_money(m.expansion, c),
        mrr_money(m.contraction, c),
        mrr_money(m.churn, c),
        mrr_money(m.reactivation, c),
        mrr_money(m.closing, c),
        money(m.arr_minor(), c),
        m.customers_closing.to_string(),
        m.arpa().map_or("-".into(), |a| mrr_money(a, c)),
        m.new_customers.to_string(),
        m.churned_customers.to_string(),
        m.reactivated_customers.to_string(),
    ]
}

fn mrr(ctx: &Ctx) -> Out {
    let r = mrr_report(ctx.data, &ctx.fx, ctx.as_of, &ctx.groups);
    let c = ctx.fx.currency();
    let mut series: Vec<&tenure_reports::mrr::MrrSeries> = r.groups.iter().collect();
    series.push(&r.total);
    if ctx.a.by.is_none() {
        series.drain(..series.len() - 1);
    }
    if ctx.a.format == ReportFormat::Json {
        return Out::Json(json!({
            "report": "mrr", "as_of": date_text(r.as_of), "currency": c.code(),
            "unit": "per month", "grouping": r.grouping,
            "groups": series.iter().map(|s| json!({
                "group": s.label,
                "months": s.months.iter().map(|m| json!({
                    "month": m.month.map(|x| x.to_string()),
                    "opening": mrr_money(m.opening, c), "new": mrr_money(m.new, c),
                    "expansion": mrr_money(m.expansion, c), "contraction": mrr_money(m.contraction, c),
                    "churn": mrr_money(m.churn, c), "reactivation": mrr_money(m.reactivation, c),
                    "closing": mrr_money(m.closing, c), "arr": money(m.arr_minor(), c),
                    "customers": m.customers_closing, "arpa": m.arpa().map(|a| mrr_money(a, c)),
                    "new_customers": m.new_customers, "churned_customers": m.churned_customers,
                    "reactivated_customers": m.reactivated_customers, "seats": m.seats_closing,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "excluded": excluded_json(&r.excluded),
        }));
    }
    let header = [
        "group",
        "month",
        "opening",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "closing",
        "arr",
        "customers",
        "arpa",
        "new_customers",
        "churned_customers",
        "reactivated_customers",
    ];
    let rows = series
        .iter()
        .flat_map(|s| s.months.iter().map(|m| mrr_row(&s.label, m, c)))
        .collect();
    let mut s = tabular(
        ctx.a.format,
        &format!(
            "MRR movements by calendar month (amounts in {c} per month; ARR = 12 × MRR; the last month is as of {})",
            date_text(r.as_of)
        ),
        &header,
        rows,
    );
    if ctx.a.format == ReportFormat::Table {
        s.push_str(&excluded_note(&r.excluded));
    }
    Out::Text(s)
}

fn km_json(km: &KaplanMeier) -> Value {
    json!({
        "observations": km.observations, "events": km.events, "level": km.level,
        "median_days": km.median, "median_lower_days": km.median_lower,
        "median_upper_days": km.median_upper,
        "curve": km.points.iter().map(|p| json!({
            "days": p.time, "at_risk": p.at_risk, "events": p.events, "censored": p.censored,
            "survival": p.survival, "lower": p.lower, "upper": p.upper,
        })).collect::<Vec<_>>(),
    })
}

/// `tenure report campaigns`: touched against comparable untouched customers, per campaign and
/// segment (`--by`, default plan), retained = active 180 days after the campaign's day.
fn campaigns(ctx: &Ctx) -> Result<Out, CliError> {
    use tenure_reports::campaigns::Comparison;
    let by_plan;
    let groups = match ctx.a.by {
        Some(_) => &ctx.groups,
        None => {
            by_plan = grouping(ctx.data, Some(By::Plan));
            &by_plan
        }
    };
    let cfg = tenure_reports::CampaignEffectConfig::new(ctx.as_of, ctx.fx.clone());
    let r = tenure_reports::campaign_effect_report(ctx.data, &cfg, groups)
        .map_err(|e| CliError::input(e.to_string()))?;
    let cmp_json = |c: &Comparison| {
        json!({
            "segment": c.segment,
            "touched": c.touched.customers, "touched_retained": c.touched.retained,
            "untouched": c.untouched.customers, "untouched_retained": c.untouched.retained,
            "touched_retention": ratio(c.touched_retention),
            "untouched_retention": ratio(c.untouched_retention),
            "difference": ratio(c.difference),
            "relative_churn": ratio(c.relative_churn),
        })
    };
    let row = |campaign: &str, day: &str, c: &Comparison| {
        vec![
            campaign.to_string(),
            day.to_string(),
            c.segment.clone(),
            c.touched.customers.to_string(),
            pct(c.touched_retention),
            c.untouched.customers.to_string(),
            pct(c.untouched_retention),
            c.difference
                .map_or("-".into(), |d| format!("{:+.1}", d * 100.0)),
            c.relative_churn.map_or("-".into(), |x| format!("{x:.3}")),
        ]
    };
    match ctx.a.format {
        ReportFormat::Json => Ok(Out::Json(json!({
            "report": "campaigns", "as_of": date_text(r.as_of), "window_days": r.window_days,
            "grouping": r.grouping, "note": r.note,
            "campaigns": r.campaigns.iter().map(|m| json!({
                "id": m.id, "name": m.name, "day": date_text(m.day), "observed": m.observed,
                "segments": m.segments.iter().map(cmp_json).collect::<Vec<_>>(),
                "overall": cmp_json(&m.overall),
            })).collect::<Vec<_>>(),
            "segments": r.segments.iter().map(cmp_json).collect::<Vec<_>>(),
            "overall": cmp_json(&r.overall),
        }))),
        format => {
            let header = [
                "campaign",
                "day",
                "segment",
                "touched",
                "retained_%",
                "untouched",
                "retained_%",
                "difference_pts",
                "relative_churn",
            ];
            let mut rows = Vec::new();
            for m in &r.campaigns {
                let day = date_text(m.day);
                if !m.observed {
                    rows.push(vec![
                        m.id.clone(),
                        day,
                        format!("not observed: {} days not yet passed", r.window_days),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                        "-".into(),
                    ]);
                    continue;
                }
                for c in &m.segments {
                    rows.push(row(&m.id, &day, c));
                }
                rows.push(row(&m.id, &day, &m.overall));
            }
            for c in &r.segments {
                rows.push(row("all", "", c));
            }
            rows.push(row("all", "", &r.overall));
            let heading = format!(
                "Campaign effect on retention to {} (retained = active {} days after the campaign's day; segments: {})\n{}\n",
                date_text(r.as_of),
                r.window_days,
                r.grouping,
                r.note
            );
            Ok(Out::Text(tabular(format, &heading, &header, rows)))
        }
    }
}

fn survival(ctx: &Ctx) -> Result<Out, CliError> {
    let spells = match ctx.a.spells {
        SpellsArg::First => Spells::First,
        SpellsArg::All => Spells::All,
    };
    let r = survival_report(ctx.data, ctx.as_of, spells, &ctx.groups, ctx.a.level)
        .map_err(|e| CliError::input(e.to_string()))?;
    let mut groups: Vec<&tenure_reports::survival::SurvivalGroup> = r.groups.iter().collect();
    groups.push(&r.total);
    if ctx.a.by.is_none() {
        groups.drain(..groups.len() - 1);
    }
    match ctx.a.format {
        ReportFormat::Json => Ok(Out::Json(json!({
            "report": "survival", "as_of": date_text(r.as_of), "time_unit": "days",
            "spells": match spells { Spells::First => "first", Spells::All => "all" },
            "method": "Kaplan-Meier; exponential Greenwood (log-log) band; median interval where the band crosses 0.5 (Brookmeyer-Crowley), as lifelines 0.30",
            "grouping": r.grouping,
            "groups": groups.iter().map(|g| { let mut v = km_json(&g.km); v["group"] = json!(g.label); v }).collect::<Vec<_>>(),
        }))),
        ReportFormat::Csv => {
            let header = [
                "group", "days", "at_risk", "events", "censored", "survival", "lower", "upper",
            ];
            let rows = groups
                .iter()
                .flat_map(|g| {
                    g.km.points.iter().map(|p| {
                        vec![
                            g.label.clone(),
                            p.time.to_string(),
                            p.at_risk.to_string(),
                            p.events.to_string(),
                            p.censored.to_string(),
                            format!("{:.6}", p.survival),
                            format!("{:.6}", p.lower),
                            format!("{:.6}", p.upper),
                        ]
                    })
                })
                .collect();
            Ok(Out::Text(tabular(ReportFormat::Csv, "", &header, rows)))
        }
        ReportFormat::Table => {
            let lvl = format!("{:.0}%", ctx.a.level * 100.0);
            let header = [
                "group",
                "subscriptions",
                "churned",
                "median_days",
                "median_months",
                "ci_lower_days",
                "ci_upper_days",
                "S(30d)",
                "S(90d)",
                "S(180d)",
                "S(365d)",
                "S(730d)",
            ];
            let days_to_months =
                |d: u32| format!("{:.1}", f64::from(d) / tenure_core::DAYS_PER_MONTH);
            let rows = groups
                .iter()
                .map(|g| {
                    let k = &g.km;
                    let s_at = |d: u32| {
                        if k.points.last().is_some_and(|p| p.time >= d) {
                            format!("{:.3}", k.survival_at(d))
                        } else {
                            "-".into()
                        }
                    };
                    vec![
                        g.label.clone(),
                        k.observations.to_string(),
                        k.events.to_string(),
                        opt(k.median),
                        k.median.map_or("-".into(), days_to_months),
                        opt(k.median_lower),
                        k.median_upper.map_or("open".into(), |d| d.to_string()),
                        s_at(30),
                        s_at(90),
                        s_at(180),
                        s_at(365),
                        s_at(730),
                    ]
                })
                .collect();
            Ok(Out::Text(tabular(
                ReportFormat::Table,
                &format!(
                    "Kaplan–Meier survival of subscription tenure in days ({} subscription of each customer; censored at {}); median with its {lvl} interval; months of 30.4375 days",
                    match spells { Spells::First => "first", Spells::All => "every" },
                    date_text(r.as_of)
                ),
                &header,
                rows,
            )))
        }
    }
}
