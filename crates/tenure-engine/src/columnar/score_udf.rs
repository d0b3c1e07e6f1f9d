//! `tenure_score`: the scalar function that turns one customer's [`tenure_rfm`](super::rfm_agg)
//! totals into its summary (frequency, recency, T) and scores it with a fitted
//! recency-frequency model, inside a DataFusion projection (and so, unchanged, on a Ballista
//! executor, one partition per task).
//!
//! `tenure_score(id, n_cal, first, last, cal_end, unit, merge, round, model, p1, p2, p3, p4,
//! horizon)`:
//! - `id`: the customer id (checked: not null, and not empty when it is text);
//! - `n_cal`, `first`, `last`: the `tenure_rfm` fields (Int64, Int32, Int32); `n_cal` ≥ 1;
//! - `cal_end`: Int32 literal, the calibration end in days from the common era;
//! - `unit`: Int32 literal, [`UNIT_CODES`] order (days, weeks, months, years);
//! - `merge`: Int32 literal, 0 = a day, 1 = a calendar unit ([`MergePeriod`] order);
//! - `round`: Int32 literal, decimals to round times to, or -1 for none;
//! - `model`: Int32 literal, [`MODEL_NAMES`] order (bgnbd, paretonbd, mbgnbd);
//! - `p1`…`p4`: Float64 literals, the model's parameters in the paper's order;
//! - `horizon`: Float64 literal, in `unit`.
//!
//! It returns a struct of [`RESULT_FIELDS`]. The summary is the one `tenure summarize` writes
//! (the same decimal arithmetic, `Rules::summary`), and its times reach the model as the `f64`
//! nearest to that decimal — what reading the summary file gives — so the scores are bit for
//! bit those of `tenure predict` on the summary file (`RfmModel::score_rows` equals the model's
//! row-by-row functions to the bit).

use super::fit_score::decimal_f64;
use crate::summarize::{PeriodTotals, Rules};
use crate::{MergePeriod, SummaryConfig};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int32Type, Int64Type};
use datafusion::common::{exec_datafusion_err, exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::Arc;
use tenure_core::TimeUnit;
use tenure_models::bgnbd::BgNbdParams;
use tenure_models::mbgnbd::MbgNbdParams;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::{RfmModel, RfmRow};

/// The function's name in plans.
pub const NAME: &str = "tenure_score";
/// `unit` codes, in order.
pub const UNIT_CODES: [TimeUnit; 4] = [
    TimeUnit::Days,
    TimeUnit::Weeks,
    TimeUnit::Months,
    TimeUnit::Years,
];
/// `model` codes, in order.
pub const MODEL_NAMES: [&str; 3] = ["bgnbd", "paretonbd", "mbgnbd"];
/// Names of the result struct's fields, in order.
pub const RESULT_FIELDS: [&str; 5] = ["frequency", "recency", "T", "p_alive", "expected_purchases"];
const ARGS: usize = 14;

/// The scalar function (see the module docs).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TenureScore {
    signature: Signature,
}

impl Default for TenureScore {
    fn default() -> Self {
        TenureScore {
            signature: Signature::any(ARGS, Volatility::Immutable),
        }
    }
}

pub(crate) fn result_fields() -> Fields {
    let types = [
        DataType::Int64,
        DataType::Float64,
        DataType::Float64,
        DataType::Float64,
        DataType::Float64,
    ];
    RESULT_FIELDS
        .iter()
        .zip(types)
        .map(|(n, t)| Field::new(*n, t, false))
        .collect()
}

/// A fitted recency-frequency model, by its code.
enum Model {
    Bg(BgNbdParams),
    Pareto(ParetoNbdParams),
    Mbg(MbgNbdParams),
}

impl Model {
    fn new(code: i32, p: [f64; 4]) -> Result<Model> {
        if p.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return exec_err!("{NAME}: the model's parameters must be positive, not {p:?}");
        }
        let [a, b, c, d] = p;
        Ok(match code {
            0 => Model::Bg(BgNbdParams {
                r: a,
                alpha: b,
                a: c,
                b: d,
            }),
            1 => Model::Pareto(ParetoNbdParams {
                r: a,
                alpha: b,
                s: c,
                beta: d,
            }),
            2 => Model::Mbg(MbgNbdParams {
                r: a,
                alpha: b,
                a: c,
                b: d,
            }),
            c => return exec_err!("{NAME}: unknown model code {c}"),
        })
    }
    fn score_rows(&self, horizon: f64, rows: &[RfmRow]) -> Vec<(f64, f64)> {
        match self {
            Model::Bg(m) => m.score_rows(horizon, rows),
            Model::Pareto(m) => m.score_rows(horizon, rows),
            Model::Mbg(m) => m.score_rows(horizon, rows),
        }
    }
}

fn scalar_i32(args: &[ColumnarValue], i: usize, what: &str) -> Result<i32> {
    match &args[i] {
        ColumnarValue::Scalar(ScalarValue::Int32(Some(v))) => Ok(*v),
        _ => exec_err!("{NAME}: the {what} must be an Int32 literal"),
    }
}

fn scalar_f64(args: &[ColumnarValue], i: usize, what: &str) -> Result<f64> {
    match &args[i] {
        ColumnarValue::Scalar(ScalarValue::Float64(Some(v))) => Ok(*v),
        _ => exec_err!("{NAME}: the {what} must be a Float64 literal"),
    }
}

/// The summary rules and the model, from the literal arguments.
fn settings(args: &[ColumnarValue]) -> Result<(Rules, Model, f64)> {
    let cal_end = scalar_i32(args, 4, "calibration end")?;
    let cal_end = NaiveDate::from_num_days_from_ce_opt(cal_end)
        .ok_or_else(|| exec_datafusion_err!("{NAME}: day {cal_end} is not a date"))?;
    let unit = scalar_i32(args, 5, "unit")?;
    let unit = usize::try_from(unit)
        .ok()
        .and_then(|u| UNIT_CODES.get(u).copied())
        .ok_or_else(|| exec_datafusion_err!("{NAME}: unknown unit code {unit}"))?;
    let mut config = SummaryConfig::new(cal_end, unit);
    config.merge = match scalar_i32(args, 6, "merge")? {
        0 => MergePeriod::Day,
        1 => MergePeriod::Unit,
        m => return exec_err!("{NAME}: unknown merge code {m}"),
    };
    config.round = match scalar_i32(args, 7, "rounding")? {
        -1 => None,
        n if (0..=28).contains(&n) => Some(n as u32),
        n => return exec_err!("{NAME}: cannot round to {n} decimals"),
    };
    let code = scalar_i32(args, 8, "model")?;
    let p = [
        scalar_f64(args, 9, "first parameter")?,
        scalar_f64(args, 10, "second parameter")?,
        scalar_f64(args, 11, "third parameter")?,
        scalar_f64(args, 12, "fourth parameter")?,
    ];
    let horizon = scalar_f64(args, 13, "horizon")?;
    if !(horizon.is_finite() && horizon >= 0.0) {
        return exec_err!("{NAME}: the horizon must be ≥ 0, not {horizon}");
    }
    Ok((Rules::new(&config), Model::new(code, p)?, horizon))
}

impl ScalarUDFImpl for TenureScore {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if args.len() != ARGS {
            return exec_err!("{NAME} takes {ARGS} arguments, not {}", args.len());
        }
        Ok(DataType::Struct(result_fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let a = &args.args;
        if a.len() != ARGS {
            return exec_err!("{NAME} takes {ARGS} arguments, not {}", a.len());
        }
        let (rules, model, horizon) = settings(a)?;
        let arrays: Vec<ArrayRef> = a[..4]
            .iter()
            .map(|v| v.to_array(n))
            .collect::<Result<_>>()?;
        let ids = &arrays[0];
        if ids.null_count() > 0 {
            return exec_err!("a customer id is null");
        }
        let empty = match ids.data_type() {
            DataType::Utf8 => ids.as_string::<i32>().iter().any(|s| s == Some("")),
            DataType::LargeUtf8 => ids.as_string::<i64>().iter().any(|s| s == Some("")),
            DataType::Utf8View => ids.as_string_view().iter().any(|s| s == Some("")),
            _ => false,
        };
        if empty {
            return exec_err!("a customer id is empty");
        }
        let (Some(n_cal), Some(first), Some(last)) = (
            arrays[1].as_primitive_opt::<Int64Type>(),
            arrays[2].as_primitive_opt::<Int32Type>(),
            arrays[3].as_primitive_opt::<Int32Type>(),
        ) else {
            return exec_err!("{NAME}: n_cal must be Int64, first and last Int32");
        };
        let mut frequency = Vec::with_capacity(n);
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            if n_cal.value(i) < 1 {
                return exec_err!("{NAME}: a customer without a calibration purchase");
            }
            let totals = PeriodTotals::counts(first.value(i), last.value(i), n_cal.value(i) as u64);
            let s = rules
                .summary(String::new(), &totals)
                .map_err(|e| exec_datafusion_err!("{e}"))?;
            let row = RfmRow {
                x: s.frequency as f64,
                t_x: decimal_f64(s.recency),
                t: decimal_f64(s.t),
            };
            tenure_models::data::validate_rfm(i, &row).map_err(|e| {
                exec_datafusion_err!(
                    "a customer cannot be scored: {e} (a first purchase on the calibration end gives T = 0)"
                )
            })?;
            frequency.push(s.frequency as i64);
            rows.push(row);
        }
        let scores = model.score_rows(horizon, &rows);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(frequency)),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.t_x))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.t))),
            Arc::new(Float64Array::from_iter_values(scores.iter().map(|s| s.0))),
            Arc::new(Float64Array::from_iter_values(scores.iter().map(|s| s.1))),
        ];
        let out = StructArray::try_new(result_fields(), columns, None)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
