//! The columnar path: a Parquet transaction log (one file or a directory of files) summarised by
//! Apache DataFusion — a parallel Parquet scan and a hash aggregation by customer with the
//! [`tenure_rfm`](rfm_agg) aggregate — instead of row by row.
//!
//! The plan is `SELECT id, tenure_rfm(date, amount, …) FROM log [WHERE date < holdout end + 1
//! day] GROUP BY id`; the per-customer totals it returns go through the same arithmetic as
//! the streaming [`Summarizer`](crate::Summarizer) (`Rules::summary`), so both paths give the
//! same rows, field for field (tested on every accepted column type).
//!
//! Which columns it takes (the rest go to the row reader, which reads everything
//! [`ParquetColumns`] lists): customer id INT8–64 / UINT8–64 or a UTF-8 string (trimmed);
//! date DATE or TIMESTAMP (any unit; INT96 too); amount DECIMAL or an integer. Columns are
//! found by their top-level name, trimmed and ignoring ASCII case.
//!
//! Errors: the columnar engine does not know row numbers, so when it meets a bad value (a null,
//! an empty id) or cannot read a file, the file is read again by the row reader, whose error
//! names the row and column. Nothing here panics on input.

mod fit_score;
mod rfm_agg;
mod score_udf;

pub use fit_score::{
    score_parquet, score_parquet_in, sufficient_stats_in, sufficient_stats_parquet, ScoreSpec,
    StatRow,
};
pub use rfm_agg::TenureRfm;
pub use score_udf::TenureScore;

use crate::error::EngineError;
use crate::parquet_log::ParquetColumns;
use crate::summarize::{sort_by_id, PeriodTotals, Rules};
use crate::{CustomerSummary, MergePeriod, SummaryConfig};
use chrono::Datelike;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StructArray};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Int32Type, Int64Type, Schema, UInt64Type,
};
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{cast, col, lit, AggregateUDF, Expr};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use rust_decimal::Decimal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tenure_core::TimeUnit;

/// How a Parquet log is summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// DataFusion on this machine where the columns' types allow (see the module docs), the
    /// streaming row reader otherwise.
    #[default]
    Local,
    /// Always the streaming row reader (one file, one core).
    Rows,
}

/// Which engine produced a summary, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineUsed {
    /// DataFusion, with this many worker threads.
    DataFusion { threads: usize },
    /// The row reader; `reason` says why when the columnar engine was asked for.
    Rows { reason: Option<String> },
    /// DataFusion on a Ballista cluster (see `tenure-cluster`), at this scheduler.
    Ballista { scheduler: String },
}

/// The log's columns as the columnar plan reads them.
struct Plan {
    id: String,
    id_is_text: bool,
    date: String,
    date_type: DataType,
    /// `None`: no amount column; every amount is 0.
    amount: Option<String>,
    amount_scale: i8,
}

/// Why a schema needs the row reader (`Err`), or the plan for it.
fn plan_for(schema: &Schema, cols: &ParquetColumns) -> Result<Plan, String> {
    let find = |want: &str| -> Result<&datafusion::arrow::datatypes::Field, String> {
        let want = want.trim();
        let mut hits = schema
            .fields()
            .iter()
            .filter(|f| f.name().trim().eq_ignore_ascii_case(want));
        match (hits.next(), hits.next()) {
            (Some(f), None) => Ok(f.as_ref()),
            (None, _) => Err(format!("no top-level column `{want}`")),
            (Some(_), Some(_)) => Err(format!("two columns are named `{want}`")),
        }
    };
    let id = find(&cols.customer_id)?;
    let id_is_text = match id.data_type() {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => false,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        t => return Err(format!("customer id column `{}` is {t}", id.name())),
    };
    let date = find(&cols.date)?;
    match date.data_type() {
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => {}
        t => return Err(format!("date column `{}` is {t}", date.name())),
    }
    let (amount, amount_scale) = match &cols.amount {
        None => (None, 0),
        Some(name) => {
            let a = find(name)?;
            let scale = match a.data_type() {
                DataType::Decimal32(_, s)
                | DataType::Decimal64(_, s)
                | DataType::Decimal128(_, s)
                | DataType::Decimal256(_, s) => *s,
                t if t.is_integer() => 0,
                t => return Err(format!("amount column `{}` is {t}", a.name())),
            };
            if scale < 0 {
                return Err(format!("amount column `{}` has a negative scale", a.name()));
            }
            (Some(a.name().clone()), scale)
        }
    };
    Ok(Plan {
        id: id.name().clone(),
        id_is_text,
        date: date.name().clone(),
        date_type: date.data_type().clone(),
        amount,
        amount_scale,
    })
}

fn merge_code(config: &SummaryConfig) -> i32 {
    match (config.merge, config.unit) {
        (MergePeriod::Day, _) | (MergePeriod::Unit, TimeUnit::Days) => rfm_agg::MERGE_DAY,
        (MergePeriod::Unit, TimeUnit::Weeks) => rfm_agg::MERGE_WEEK,
        (MergePeriod::Unit, TimeUnit::Months) => rfm_agg::MERGE_MONTH,
        (MergePeriod::Unit, TimeUnit::Years) => rfm_agg::MERGE_YEAR,
    }
}

/// A quoted column reference (names are case-sensitive in plans).
fn column(name: &str) -> Expr {
    col(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// Summarise a Parquet log: one `.parquet` file or a directory of them, with `engine`.
/// Progress is `(rows read, rows in the log)`, as for [`crate::summarize_file_with_progress`].
pub fn summarize_parquet(
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    engine: Engine,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(Vec<CustomerSummary>, EngineUsed), EngineError> {
    let rows = |reason: Option<String>,
                progress: &mut dyn FnMut(u64, Option<u64>)|
     -> Result<(Vec<CustomerSummary>, EngineUsed), EngineError> {
        if path.is_dir() {
            return Err(EngineError::ParquetColumn {
                path: path.to_path_buf(),
                column: cols.customer_id.clone(),
                reason: format!(
                    "cannot be summarised by the columnar engine ({}), and the row reader reads one file, not a directory",
                    reason.as_deref().unwrap_or("it was not asked for")
                ),
            });
        }
        let s = crate::summarize_file_with_progress(
            path,
            &crate::TransactionFormat::Parquet(cols.clone()),
            config,
            progress,
        )?;
        Ok((s, EngineUsed::Rows { reason }))
    };
    if engine == Engine::Rows {
        return rows(None, progress);
    }
    config.validate()?;
    match run(path, cols, config, progress) {
        Ok(Ok(done)) => Ok(done),
        // The schema needs the row reader.
        Ok(Err(why)) => rows(Some(why), progress),
        // A bad value or an unreadable file: the row reader names the row; if it finds
        // nothing wrong, its answer stands and the columnar failure is reported with it.
        Err(e) => rows(Some(format!("the columnar engine failed: {e}")), progress),
    }
}

/// `Ok(Err(reason))`: the schema needs the row reader. `Err`: the columnar run failed.
type RunResult = Result<Result<(Vec<CustomerSummary>, EngineUsed), String>, String>;

fn run(
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> RunResult {
    let (runtime, ctx, threads) = local_context()?;
    execute(&runtime, &ctx, path, cols, config, progress)
        .map(|r| r.map(|summaries| (summaries, EngineUsed::DataFusion { threads })))
}

/// A runtime and session on every core of this machine, with Tenure's functions registered.
fn local_context() -> Result<(tokio::runtime::Runtime, SessionContext, usize), String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .build()
        .map_err(|e| format!("cannot start the engine's threads: {e}"))?;
    let ctx = SessionContext::new_with_config(session_config()?.with_target_partitions(threads));
    ctx.register_udaf(AggregateUDF::new_from_impl(TenureRfm::default()));
    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
        TenureScore::default(),
    ));
    Ok((runtime, ctx, threads))
}

/// The session settings of every columnar run, local or on a cluster: DataFusion's own
/// `DATAFUSION_*` environment variables (e.g. DATAFUSION_EXECUTION_BATCH_SIZE) and the partial
/// aggregation always kept (see below).
pub fn session_config() -> Result<SessionConfig, String> {
    let mut base = SessionConfig::from_env().map_err(|e| format!("DATAFUSION_* settings: {e}"))?;
    // Keep the partial (per-partition) aggregation even when its first rows barely reduce: a
    // log in time order shows each customer once in its first 100,000 rows, but ~25 times
    // over a partition, so skipping it (DataFusion's default probe) costs ~10 % at 100M rows.
    const SKIP_PROBE: &str = "DATAFUSION_EXECUTION_SKIP_PARTIAL_AGGREGATION_PROBE_RATIO_THRESHOLD";
    if std::env::var_os(SKIP_PROBE).is_none() {
        base.options_mut()
            .execution
            .skip_partial_aggregation_probe_ratio_threshold = 1.0;
    }
    Ok(base)
}

/// Summarise a Parquet log (a file or a directory) with a context made elsewhere — a Ballista
/// cluster's (`tenure-cluster`) — that has [`TenureRfm`] registered and runs on `runtime`.
/// Unlike [`summarize_parquet`] nothing falls back to the row reader: a failure is returned
/// as it is (`EngineError::Engine`), so a cluster's error is never hidden by a local re-read.
/// `path` must name the same files on every executor (an absolute path on shared storage).
pub fn summarize_parquet_in(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<CustomerSummary>, EngineError> {
    config.validate()?;
    without_fallback(path, execute(runtime, ctx, path, cols, config, progress))
}

/// A run on a context made elsewhere, as an error when it failed or when the log's columns
/// would need the row reader (there is no fallback off this machine).
pub(crate) fn without_fallback<T>(
    path: &Path,
    run: Result<Result<T, String>, String>,
) -> Result<T, EngineError> {
    let fail = |reason: String| EngineError::Engine {
        path: path.to_path_buf(),
        reason,
    };
    match run {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(why)) => Err(fail(format!(
            "the log's columns cannot be read by the columnar engine: {why}"
        ))),
        Err(e) => Err(fail(e)),
    }
}

/// The log opened on `ctx`, with the plan of its columns; `Ok(Err(reason))` when the schema
/// needs the row reader.
fn open(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    path: &Path,
    cols: &ParquetColumns,
) -> Result<Result<(DataFrame, Plan), String>, String> {
    let location = path.to_string_lossy().into_owned();
    let df = runtime
        .block_on(ctx.read_parquet(
            location,
            ParquetReadOptions::default().file_extension(if path.is_dir() {
                ".parquet"
            } else {
                ""
            }),
        ))
        .map_err(|e| e.to_string())?;
    Ok(plan_for(df.schema().as_arrow(), cols).map(|plan| (df, plan)))
}

/// Run `df` to the end on `ctx`, reporting progress as rows scanned of rows in the files.
fn collect(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    df: DataFrame,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<RecordBatch>, String> {
    let physical = runtime
        .block_on(df.create_physical_plan())
        .map_err(|e| e.to_string())?;
    let total = scan_rows(&physical);
    progress(0, total);
    let scans = scan_nodes(&physical);
    let task_ctx = ctx.task_ctx();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = runtime.spawn(async move {
        let r = datafusion::physical_plan::collect(physical, task_ctx).await;
        let _ = tx.send(r);
    });
    let batches = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(r) => break r.map_err(|e| e.to_string())?,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let done: usize = scans
                    .iter()
                    .filter_map(|s| s.metrics())
                    .filter_map(|m| m.output_rows())
                    .sum();
                progress(done as u64, total);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the engine stopped without an answer".into())
            }
        }
    };
    drop(handle);
    if let Some(t) = total {
        progress(t, total);
    }
    Ok(batches)
}

/// The plan, run to the end on `ctx`: `Ok(Err(reason))` when the schema needs the row reader.
fn execute(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Result<Vec<CustomerSummary>, String>, String> {
    let (df, plan) = match open(runtime, ctx, path, cols)? {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let df = build(df, &plan, config).map_err(|e| e.to_string())?;
    let batches = collect(runtime, ctx, df, progress)?;
    let rules = Rules::new(config);
    let mut out = Vec::new();
    for b in &batches {
        to_summaries(b, &plan, &rules, &mut out)?;
    }
    sort_by_id(&mut out);
    Ok(Ok(out))
}

/// The aggregation, on the DataFrame API so the same logical plan can be sent to a cluster.
fn build(
    df: datafusion::dataframe::DataFrame,
    plan: &Plan,
    config: &SummaryConfig,
) -> datafusion::common::Result<datafusion::dataframe::DataFrame> {
    let last = config.holdout_end.unwrap_or(config.calibration_end);
    let amount = match &plan.amount {
        Some(a) => cast(column(a), DataType::Decimal128(38, plan.amount_scale)),
        None => lit(ScalarValue::Decimal128(Some(0), 38, 0)),
    };
    let id = if plan.id_is_text {
        datafusion::functions::expr_fn::btrim(vec![column(&plan.id)])
    } else {
        column(&plan.id)
    };
    let rfm = AggregateUDF::new_from_impl(TenureRfm::default()).call(vec![
        column(&plan.date),
        amount,
        lit(config.calibration_end.num_days_from_ce()),
        lit(last.num_days_from_ce()),
        lit(merge_code(config)),
    ]);
    // Days after the last end are dropped by the aggregate; this filter on the raw column (no
    // cast, so no time-zone arithmetic per row) lets the scan skip row groups and pages that
    // hold only later dates.
    let df = match first_instant_after(last, &plan.date_type) {
        Some(after) => df.filter(column(&plan.date).lt(lit(after)))?,
        None => df,
    };
    df.aggregate(vec![id.alias("id")], vec![rfm.alias("rfm")])
}

/// Midnight after `last` as a value of the date column's type: a date, or a timestamp whose
/// raw value is that day's start (UTC for a zoned timestamp, wall clock for a naive one — the
/// same number, as both count from 1970-01-01 00:00).
fn first_instant_after(last: chrono::NaiveDate, t: &DataType) -> Option<ScalarValue> {
    use datafusion::arrow::datatypes::TimeUnit as U;
    let secs = last.succ_opt()?.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    let days = i32::try_from(secs / 86_400).ok()?;
    Some(match t {
        DataType::Date32 => ScalarValue::Date32(Some(days)),
        DataType::Date64 => ScalarValue::Date64(Some(secs.checked_mul(1_000)?)),
        DataType::Timestamp(U::Second, tz) => ScalarValue::TimestampSecond(Some(secs), tz.clone()),
        DataType::Timestamp(U::Millisecond, tz) => {
            ScalarValue::TimestampMillisecond(Some(secs.checked_mul(1_000)?), tz.clone())
        }
        DataType::Timestamp(U::Microsecond, tz) => {
            ScalarValue::TimestampMicrosecond(Some(secs.checked_mul(1_000_000)?), tz.clone())
        }
        DataType::Timestamp(U::Nanosecond, tz) => {
            ScalarValue::TimestampNanosecond(Some(secs.checked_mul(1_000_000_000)?), tz.clone())
        }
        _ => return None,
    })
}

fn scan_nodes(plan: &Arc<dyn ExecutionPlan>) -> Vec<Arc<dyn ExecutionPlan>> {
    let mut out = Vec::new();
    let mut stack = vec![Arc::clone(plan)];
    while let Some(p) = stack.pop() {
        if p.name() == "DataSourceExec" {
            out.push(Arc::clone(&p));
        }
        stack.extend(p.children().into_iter().cloned());
    }
    out
}

/// Rows in the scanned files, from their footers, when known.
fn scan_rows(plan: &Arc<dyn ExecutionPlan>) -> Option<u64> {
    use datafusion::physical_plan::{StatisticsArgs, StatisticsContext};
    let mut total = 0u64;
    for s in scan_nodes(plan) {
        let stats = StatisticsContext::new()
            .compute(s.as_ref(), &StatisticsArgs::new())
            .ok()?;
        total += *stats.num_rows.get_value()? as u64;
    }
    Some(total)
}

fn to_summaries(
    b: &RecordBatch,
    plan: &Plan,
    rules: &Rules,
    out: &mut Vec<CustomerSummary>,
) -> Result<(), String> {
    let ids = b.column(0);
    if ids.null_count() > 0 {
        return Err("a customer id is null".into());
    }
    let ids: Vec<String> = id_strings(ids)?;
    let rfm: &StructArray = b.column(1).as_struct();
    let int64 = |i: usize| rfm.column(i).as_primitive::<Int64Type>();
    let int32 = |i: usize| rfm.column(i).as_primitive::<Int32Type>();
    let dec = |i: usize| rfm.column(i).as_primitive::<Decimal128Type>();
    let (n_cal, first, last) = (int64(0), int32(1), int32(2));
    let (sum_cal, first_sum, n_hold, sum_hold) = (dec(3), dec(4), int64(5), dec(6));
    let scale = plan.amount_scale as u32;
    for (i, id) in ids.into_iter().enumerate() {
        if n_cal.value(i) == 0 {
            continue;
        }
        if id.is_empty() {
            return Err("a customer id is empty".into());
        }
        let money = |v: i128| {
            Decimal::try_from_i128_with_scale(v, scale)
                .map_err(|_| format!("customer {id}: the sum of amounts overflows a decimal"))
        };
        let totals = PeriodTotals {
            first: first.value(i),
            last: last.value(i),
            n_cal: n_cal.value(i) as u64,
            repeat_total: money(sum_cal.value(i) - first_sum.value(i))?,
            n_hold: n_hold.value(i) as u64,
            hold_total: money(sum_hold.value(i))?,
        };
        out.push(rules.summary(id, &totals).map_err(|e| e.to_string())?);
    }
    Ok(())
}

fn id_strings(a: &ArrayRef) -> Result<Vec<String>, String> {
    use datafusion::arrow::compute::cast;
    if matches!(a.data_type(), DataType::UInt64) {
        return Ok(a
            .as_primitive::<UInt64Type>()
            .values()
            .iter()
            .map(u64::to_string)
            .collect());
    }
    if a.data_type().is_integer() {
        let v = cast(a, &DataType::Int64).map_err(|e| e.to_string())?;
        return Ok(v
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(i64::to_string)
            .collect());
    }
    let v = cast(a, &DataType::Utf8).map_err(|e| e.to_string())?;
    Ok(v.as_string::<i32>()
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect())
}
