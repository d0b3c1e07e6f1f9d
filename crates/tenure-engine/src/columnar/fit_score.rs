//! Fitting and scoring straight from a Parquet log, on this machine or a Ballista cluster: the
//! same DataFusion plans on either context.
//!
//! - **Sufficient statistics** (what a recency-frequency fit needs): the per-customer
//!   `tenure_rfm` aggregation, then a second aggregation by (periods bought, first period, last
//!   period) counting customers. Those three integers determine (frequency, recency, T), so the
//!   engine's output has one row per distinct summary, not per customer; the keys are mapped to
//!   times with the summary's own decimal arithmetic and merged again where rounding makes two
//!   equal. The rows come out sorted by (frequency, recency, T), so a fit on them does not depend
//!   on the engine or the number of partitions.
//! - **Scoring**: the same aggregation, then [`tenure_score`](super::score_udf) per customer (a
//!   projection: on a cluster, one task per partition on the executors), sorted by customer id
//!   and written as one Parquet file by the engine — to a temporary name beside the output,
//!   renamed into place only when the whole file is written.

use super::score_udf::{TenureScore, MODEL_NAMES, UNIT_CODES};
use super::{build, collect, local_context, open, without_fallback, EngineUsed, Plan};
use crate::error::EngineError;
use crate::summarize::{PeriodTotals, Rules};
use crate::{CustomerSummary, Engine, MergePeriod, ParquetColumns, SummaryConfig};
use chrono::Datelike;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int32Type, Int64Type, UInt64Type};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions_aggregate::expr_fn::{count, sum};
use datafusion::logical_expr::{col, lit, when, Expr, ScalarUDF};
use datafusion::prelude::SessionContext;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tenure_models::RfmRow;

/// The customers of one distinct (frequency, recency, T), in the summary's unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    pub frequency: u64,
    pub recency: Decimal,
    pub t: Decimal,
    pub customers: u64,
}

impl StatRow {
    /// The row as the models take it: times as the `f64` nearest their decimals, as reading
    /// the summary file gives them (so a fit of these rows equals a fit of that file).
    pub fn rfm_row(&self) -> RfmRow {
        RfmRow {
            x: self.frequency as f64,
            t_x: decimal_f64(self.recency),
            t: decimal_f64(self.t),
        }
    }
}

/// The `f64` a summary file's decimal reads back as (correctly rounded, like the CSV reader):
/// the one conversion from the summary's decimals to the models' floats.
pub(crate) fn decimal_f64(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// Group summaries into [`StatRow`]s, sorted by (frequency, recency, T).
fn group_summaries(rows: &[CustomerSummary]) -> Vec<StatRow> {
    let mut map: BTreeMap<(u64, Decimal, Decimal), u64> = BTreeMap::new();
    for r in rows {
        *map.entry((r.frequency, r.recency, r.t)).or_default() += 1;
    }
    into_rows(map)
}

fn into_rows(map: BTreeMap<(u64, Decimal, Decimal), u64>) -> Vec<StatRow> {
    map.into_iter()
        .map(|((frequency, recency, t), customers)| StatRow {
            frequency,
            recency,
            t,
            customers,
        })
        .collect()
}

/// The distinct (frequency, recency, T) rows of a Parquet log (a file or a directory) with
/// their customer counts, on this machine: DataFusion where the columns allow (see
/// [`crate::summarize_parquet`]), else the row reader's summaries grouped here. Holdout
/// settings are ignored.
pub fn sufficient_stats_parquet(
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    engine: Engine,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(Vec<StatRow>, EngineUsed), EngineError> {
    config.validate()?;
    let mut reason = None;
    if engine == Engine::Local {
        let attempt = local_context().and_then(|(rt, ctx, threads)| {
            Ok((stats(&rt, &ctx, path, cols, config, progress)?, threads))
        });
        match attempt {
            Ok((Ok(rows), threads)) => return Ok((rows, EngineUsed::DataFusion { threads })),
            Ok((Err(why), _)) => reason = Some(why),
            Err(e) => reason = Some(format!("the columnar engine failed: {e}")),
        }
    }
    let (summaries, _) = super::summarize_parquet(path, cols, config, Engine::Rows, progress)?;
    Ok((group_summaries(&summaries), EngineUsed::Rows { reason }))
}

/// [`sufficient_stats_parquet`] on a context made elsewhere (a Ballista cluster's, with
/// Tenure's functions registered): the reduction runs on `ctx`'s engine, the client receives
/// one row per distinct key. No fallback: a failure is returned as it is.
pub fn sufficient_stats_in(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<StatRow>, EngineError> {
    config.validate()?;
    without_fallback(path, stats(runtime, ctx, path, cols, config, progress))
}

fn field(name: &str) -> Expr {
    get_field(col("rfm"), name)
}

/// `Ok(Err(reason))`: the schema needs the row reader.
fn stats(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Result<Vec<StatRow>, String>, String> {
    let (df, plan) = match open(runtime, ctx, path, cols)? {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let df = stats_plan(&plan, build(df, &plan, config)).map_err(|e| e.to_string())?;
    let batches = collect(runtime, ctx, df, progress)?;
    let rules = Rules::new(config);
    let mut map: BTreeMap<(u64, Decimal, Decimal), u64> = BTreeMap::new();
    for b in &batches {
        add_stats(b, &rules, &mut map)?;
    }
    Ok(Ok(into_rows(map)))
}

/// Customers by (n_cal, first, last), with the count of null or empty ids among them.
fn stats_plan(
    plan: &Plan,
    df: datafusion::common::Result<DataFrame>,
) -> datafusion::common::Result<DataFrame> {
    let bad_id = if plan.id_is_text {
        col("id").is_null().or(col("id").eq(lit("")))
    } else {
        col("id").is_null()
    };
    df?.filter(field("n_cal").gt(lit(0i64)))?
        .aggregate(
            vec![
                field("n_cal").alias("n_cal"),
                field("first").alias("first"),
                field("last").alias("last"),
            ],
            vec![
                count(lit(1i64)).alias("customers"),
                sum(when(bad_id, lit(1i64)).otherwise(lit(0i64))?).alias("bad_ids"),
            ],
        )?
        .sort(vec![
            col("n_cal").sort(true, false),
            col("first").sort(true, false),
            col("last").sort(true, false),
        ])
}

fn add_stats(
    b: &RecordBatch,
    rules: &Rules,
    map: &mut BTreeMap<(u64, Decimal, Decimal), u64>,
) -> Result<(), String> {
    let int64 = |i: usize| b.column(i).as_primitive_opt::<Int64Type>();
    let int32 = |i: usize| b.column(i).as_primitive_opt::<Int32Type>();
    let (Some(n_cal), Some(first), Some(last), Some(customers), Some(bad)) =
        (int64(0), int32(1), int32(2), int64(3), int64(4))
    else {
        return Err(format!("unexpected column types: {}", b.schema()));
    };
    for i in 0..b.num_rows() {
        if bad.is_valid(i) && bad.value(i) > 0 {
            return Err("a customer id is null or empty".into());
        }
        let totals = PeriodTotals::counts(first.value(i), last.value(i), n_cal.value(i) as u64);
        let s = rules
            .summary(String::new(), &totals)
            .map_err(|e| e.to_string())?;
        *map.entry((s.frequency, s.recency, s.t)).or_default() += customers.value(i) as u64;
    }
    Ok(())
}

/// A fitted recency-frequency model to score with.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSpec {
    /// `bgnbd`, `paretonbd` or `mbgnbd`.
    pub model: String,
    /// The parameters in the paper's order (r, alpha, a, b / r, alpha, s, beta).
    pub params: [f64; 4],
    /// Expected purchases over this many units of the summary's unit.
    pub horizon: f64,
}

/// Score every customer of a Parquet log with DataFusion on this machine and write the scores
/// to `out` (Parquet): `customer_id, frequency, recency, T, p_alive, expected_purchases`, one
/// row per customer with a calibration purchase, sorted by customer id (the id column's own
/// order: numeric for integer ids). Returns the rows written. Holdout settings are ignored.
pub fn score_parquet(
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    spec: &ScoreSpec,
    out: &Path,
) -> Result<(u64, EngineUsed), EngineError> {
    let (runtime, ctx, threads) = local_context().map_err(|reason| EngineError::Engine {
        path: path.to_path_buf(),
        reason,
    })?;
    let n = score_parquet_in(&runtime, &ctx, path, cols, config, spec, out)?;
    Ok((n, EngineUsed::DataFusion { threads }))
}

/// [`score_parquet`] on a context made elsewhere (a Ballista cluster's): the scoring runs on
/// its executors and the file is written by the engine, so `out` must be on storage the
/// executors share. Nothing is left at `out` unless the whole file was written.
pub fn score_parquet_in(
    runtime: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    path: &Path,
    cols: &ParquetColumns,
    config: &SummaryConfig,
    spec: &ScoreSpec,
    out: &Path,
) -> Result<u64, EngineError> {
    config.validate()?;
    let fail = |reason: String| EngineError::Engine {
        path: path.to_path_buf(),
        reason,
    };
    let model = MODEL_NAMES
        .iter()
        .position(|m| *m == spec.model)
        .ok_or_else(|| fail(format!("cannot score a `{}` model here", spec.model)))?;
    let (df, plan) = without_fallback(path, open(runtime, ctx, path, cols))?;
    let df = score_plan(build(df, &plan, config), config, model, spec)
        .map_err(|e| fail(e.to_string()))?;
    let tmp = temporary_name(out).map_err(|e| EngineError::Io {
        path: out.to_path_buf(),
        source: e,
    })?;
    let _ = std::fs::remove_file(&tmp);
    let written = runtime.block_on(df.write_parquet(
        &tmp.to_string_lossy(),
        DataFrameWriteOptions::new().with_single_file_output(true),
        None,
    ));
    let rows = match written {
        Ok(batches) => batches
            .iter()
            .filter(|b| b.num_columns() > 0)
            .map(|b| {
                let c = b.column(0);
                match c.as_primitive_opt::<UInt64Type>() {
                    Some(v) => v.values().iter().sum::<u64>(),
                    None => 0,
                }
            })
            .sum(),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(e.to_string()));
        }
    };
    std::fs::rename(&tmp, out).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        EngineError::Io {
            path: out.to_path_buf(),
            source,
        }
    })?;
    Ok(rows)
}

/// `.NAME.tenure-PID.tmp` beside `out` (same directory, so the rename is atomic), absolute.
fn temporary_name(out: &Path) -> std::io::Result<PathBuf> {
    let abs = std::path::absolute(out)?;
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scores.parquet".into());
    Ok(abs.with_file_name(format!(".{name}.tenure-{}.tmp", std::process::id())))
}

fn score_plan(
    df: datafusion::common::Result<DataFrame>,
    config: &SummaryConfig,
    model: usize,
    spec: &ScoreSpec,
) -> datafusion::common::Result<DataFrame> {
    let unit = UNIT_CODES
        .iter()
        .position(|u| *u == config.unit)
        .unwrap_or_default() as i32;
    let merge = match config.merge {
        MergePeriod::Day => 0,
        MergePeriod::Unit => 1,
    };
    let round = config.round.map_or(-1, |r| r as i32);
    let [p1, p2, p3, p4] = spec.params;
    let score = ScalarUDF::new_from_impl(TenureScore::default()).call(vec![
        col("id"),
        field("n_cal"),
        field("first"),
        field("last"),
        lit(config.calibration_end.num_days_from_ce()),
        lit(unit),
        lit(merge),
        lit(round),
        lit(model as i32),
        lit(p1),
        lit(p2),
        lit(p3),
        lit(p4),
        lit(spec.horizon),
    ]);
    let s = |name: &str| get_field(col("s"), name).alias(name);
    df?.filter(field("n_cal").gt(lit(0i64)))?
        .select(vec![col("id").alias("customer_id"), score.alias("s")])?
        .select(vec![
            col("customer_id"),
            s("frequency"),
            s("recency"),
            s("T"),
            s("p_alive"),
            s("expected_purchases"),
        ])?
        .sort(vec![col("customer_id").sort(true, false)])
}
