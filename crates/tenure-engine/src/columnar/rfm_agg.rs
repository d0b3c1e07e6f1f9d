//! `tenure_rfm`: the aggregate function that reduces one customer's transactions to the totals
//! a recency-frequency-monetary summary is computed from, in one pass, inside DataFusion's hash
//! aggregation (and so, unchanged, on a Ballista executor).
//!
//! `tenure_rfm(date, amount, cal_end, hold_end, merge)`:
//! - `date`: Date32, Date64 or Timestamp (any unit; the instant's UTC date, which is also the
//!   wall-clock date of a timestamp without time zone);
//! - `amount`: Decimal128 (other decimals and integers are cast to it by the caller);
//! - `cal_end`, `hold_end`: Int32 literals, days from the common era (0001-01-01 is day 1) of
//!   the last calibration day and the last day counted at all (= `cal_end` without holdout);
//! - `merge`: Int32 literal, [`MERGE_DAY`], [`MERGE_WEEK`], [`MERGE_MONTH`] or [`MERGE_YEAR`].
//!
//! It returns a struct of [`RESULT_FIELDS`]: the number of distinct calibration periods, the
//! first and last calibration period keys, the calibration total, the first period's total,
//! the number of distinct holdout periods and the holdout total. Rows dated after `hold_end`
//! are ignored. Every sum is exact (i128 in the amount's scale; overflow is an error, never a
//! wrap). Null dates or amounts are an error naming the column.
//!
//! Per customer the state is the list of *period codes* it bought in (`2·key` for a
//! calibration day, `2·key + 1` for a holdout day, so a calendar week or month that straddles
//! the calibration end counts once on each side, as in [`Summarizer`](crate::Summarizer)), and
//! three sums plus the first period. Codes are appended (skipping a repeat of the last one) and
//! sorted and deduplicated once, at the end: about 4 bytes per transaction.

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Int32Array, Int64Array, ListArray,
    StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Field, FieldRef, Fields, Int32Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use datafusion::common::{exec_datafusion_err, exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use std::sync::Arc;

/// The function's name in plans.
pub const NAME: &str = "tenure_rfm";
/// `merge` codes.
pub const MERGE_DAY: i32 = 0;
pub const MERGE_WEEK: i32 = 1;
pub const MERGE_MONTH: i32 = 2;
pub const MERGE_YEAR: i32 = 3;

/// Days from the common era of 1970-01-01 (`NaiveDate::num_days_from_ce`).
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Names of the result struct's fields, in order.
pub const RESULT_FIELDS: [&str; 7] = [
    "n_cal",
    "first",
    "last",
    "sum_cal",
    "first_sum",
    "n_hold",
    "sum_hold",
];

/// The aggregate function (see the module docs).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TenureRfm {
    signature: Signature,
}

impl Default for TenureRfm {
    fn default() -> Self {
        TenureRfm {
            signature: Signature::any(5, Volatility::Immutable),
        }
    }
}

fn amount_scale(t: &DataType) -> Result<i8> {
    match t {
        DataType::Decimal128(_, s) => Ok(*s),
        t => exec_err!("{NAME}: the amount must be Decimal128, not {t}"),
    }
}

fn result_fields(scale: i8) -> Fields {
    let dec = DataType::Decimal128(38, scale);
    let types = [
        DataType::Int64,
        DataType::Int32,
        DataType::Int32,
        dec.clone(),
        dec.clone(),
        DataType::Int64,
        dec,
    ];
    RESULT_FIELDS
        .iter()
        .zip(types)
        .map(|(n, t)| Field::new(*n, t, false))
        .collect()
}

fn codes_field() -> FieldRef {
    Arc::new(Field::new_list_field(DataType::Int32, false))
}

fn literal_i32(args: &AccumulatorArgs, i: usize, what: &str) -> Result<i32> {
    let lit = args
        .exprs
        .get(i)
        .and_then(|e| e.downcast_ref::<Literal>())
        .ok_or_else(|| exec_datafusion_err!("{NAME}: the {what} must be a literal"))?;
    match lit.value() {
        ScalarValue::Int32(Some(v)) => Ok(*v),
        v => exec_err!("{NAME}: the {what} must be an Int32 literal, not {v}"),
    }
}

/// How a date column's values become days since 1970-01-01.
#[derive(Debug, Clone, Copy)]
enum DateKind {
    Date32,
    Date64,
    Timestamp(TimeUnit),
}

impl DateKind {
    fn of(t: &DataType) -> Result<Self> {
        Ok(match t {
            DataType::Date32 => DateKind::Date32,
            DataType::Date64 => DateKind::Date64,
            DataType::Timestamp(u, _) => DateKind::Timestamp(*u),
            t => return exec_err!("{NAME}: the date must be a date or timestamp, not {t}"),
        })
    }
}

/// Everything an accumulator needs to know, from the call's arguments.
#[derive(Debug, Clone, Copy)]
struct Params {
    date: DateKind,
    scale: i8,
    /// Last calibration day and last counted day, days from the common era.
    cal_end: i32,
    hold_end: i32,
    merge: i32,
}

impl Params {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        if args.expr_fields.len() != 5 {
            return exec_err!("{NAME} takes 5 arguments");
        }
        let merge = literal_i32(args, 4, "merge period")?;
        if !(MERGE_DAY..=MERGE_YEAR).contains(&merge) {
            return exec_err!("{NAME}: unknown merge period {merge}");
        }
        Ok(Params {
            date: DateKind::of(args.expr_fields[0].data_type())?,
            scale: amount_scale(args.expr_fields[1].data_type())?,
            cal_end: literal_i32(args, 2, "calibration end")?,
            hold_end: literal_i32(args, 3, "holdout end")?,
            merge,
        })
    }

    /// The period key of a day (days from the common era); increasing in the day. The same
    /// keys as `Summarizer::key`.
    fn key(&self, day: i32) -> Result<i32> {
        Ok(match self.merge {
            MERGE_DAY => day,
            // Day 1 of the common era (0001-01-01) is a Monday.
            MERGE_WEEK => (day - 1).div_euclid(7),
            _ => {
                let d = NaiveDate::from_num_days_from_ce_opt(day)
                    .ok_or_else(|| exec_datafusion_err!("{NAME}: day {day} is out of range"))?;
                if self.merge == MERGE_MONTH {
                    d.year() * 12 + d.month0() as i32
                } else {
                    d.year()
                }
            }
        })
    }

    /// The days (from the common era) of a date column, with nulls as an error.
    fn days(&self, a: &ArrayRef) -> Result<Vec<i32>> {
        if a.null_count() > 0 {
            return exec_err!("{NAME}: null date");
        }
        fn conv(v: impl Iterator<Item = i64>, per_day: i64) -> Result<Vec<i32>> {
            v.map(|x| {
                i32::try_from(x.div_euclid(per_day) + EPOCH_DAYS_FROM_CE)
                    .map_err(|_| exec_datafusion_err!("{NAME}: date out of range"))
            })
            .collect()
        }
        fn v(s: &[i64]) -> impl Iterator<Item = i64> + '_ {
            s.iter().copied()
        }
        match self.date {
            DateKind::Date32 => conv(
                a.as_primitive::<Date32Type>()
                    .values()
                    .iter()
                    .map(|&d| i64::from(d)),
                1,
            ),
            DateKind::Date64 => conv(v(a.as_primitive::<Date64Type>().values()), 86_400_000),
            DateKind::Timestamp(TimeUnit::Second) => {
                conv(v(a.as_primitive::<TimestampSecondType>().values()), 86_400)
            }
            DateKind::Timestamp(TimeUnit::Millisecond) => conv(
                v(a.as_primitive::<TimestampMillisecondType>().values()),
                86_400_000,
            ),
            DateKind::Timestamp(TimeUnit::Microsecond) => conv(
                v(a.as_primitive::<TimestampMicrosecondType>().values()),
                86_400_000_000,
            ),
            DateKind::Timestamp(TimeUnit::Nanosecond) => conv(
                v(a.as_primitive::<TimestampNanosecondType>().values()),
                86_400_000_000_000,
            ),
        }
    }
}

impl AggregateUDFImpl for TenureRfm {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let t = args
            .get(1)
            .ok_or_else(|| exec_datafusion_err!("{NAME} takes 5 arguments"))?;
        Ok(DataType::Struct(result_fields(amount_scale(t)?)))
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let t = args
            .input_fields
            .get(1)
            .ok_or_else(|| exec_datafusion_err!("{NAME} takes 5 arguments"))?;
        let dec = DataType::Decimal128(38, amount_scale(t.data_type())?);
        Ok(vec![
            Arc::new(Field::new("codes", DataType::List(codes_field()), false)),
            Arc::new(Field::new("first", DataType::Int32, false)),
            Arc::new(Field::new("first_sum", dec.clone(), false)),
            Arc::new(Field::new("sum_cal", dec.clone(), false)),
            Arc::new(Field::new("sum_hold", dec, false)),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(OneGroup(Groups::new(Params::from_args(&args)?))))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups::new(Params::from_args(&args)?)))
    }
}

/// One group's sums. `first` is the smallest calibration code seen (`i32::MAX` for none).
#[derive(Debug, Clone, Copy)]
struct Sums {
    first: i32,
    first_sum: i128,
    sum_cal: i128,
    sum_hold: i128,
}

impl Sums {
    const EMPTY: Sums = Sums {
        first: i32::MAX,
        first_sum: 0,
        sum_cal: 0,
        sum_hold: 0,
    };
}

fn add(a: &mut i128, b: i128) -> Result<()> {
    *a = a
        .checked_add(b)
        .ok_or_else(|| exec_datafusion_err!("{NAME}: a sum of amounts overflows"))?;
    Ok(())
}

/// The accumulator for many groups (see the module docs).
struct Groups {
    p: Params,
    sums: Vec<Sums>,
    codes: Vec<Vec<i32>>,
    /// Bytes held by `codes`' buffers, kept current so `size` is O(1).
    code_bytes: usize,
}

impl Groups {
    fn new(p: Params) -> Self {
        Groups {
            p,
            sums: Vec::new(),
            codes: Vec::new(),
            code_bytes: 0,
        }
    }

    fn grow(&mut self, n: usize) {
        if self.sums.len() < n {
            self.sums.resize(n, Sums::EMPTY);
            self.codes.resize_with(n, Vec::new);
        }
    }

    fn push_code(&mut self, g: usize, code: i32) {
        let c = &mut self.codes[g];
        if c.last() != Some(&code) {
            let cap = c.capacity();
            c.push(code);
            self.code_bytes += (c.capacity() - cap) * 4;
        }
    }

    /// Merge one group's partial sums (`first`/`first_sum` of another accumulator).
    fn merge_sums(&mut self, g: usize, other: Sums) -> Result<()> {
        let s = &mut self.sums[g];
        add(&mut s.sum_cal, other.sum_cal)?;
        add(&mut s.sum_hold, other.sum_hold)?;
        if other.first < s.first {
            s.first = other.first;
            s.first_sum = other.first_sum;
        } else if other.first == s.first && other.first != i32::MAX {
            add(&mut s.first_sum, other.first_sum)?;
        }
        Ok(())
    }

    /// The code and sums of one transaction, or `None` when it is after the holdout end.
    fn row(&self, day: i32, amount: i128) -> Result<Option<(i32, Sums)>> {
        if day > self.p.hold_end {
            return Ok(None);
        }
        let key = self.p.key(day)?;
        let code = key
            .checked_mul(2)
            .ok_or_else(|| exec_datafusion_err!("{NAME}: date out of range"))?;
        Ok(Some(if day <= self.p.cal_end {
            (
                code,
                Sums {
                    first: code,
                    first_sum: amount,
                    sum_cal: amount,
                    sum_hold: 0,
                },
            )
        } else {
            (
                code + 1,
                Sums {
                    sum_hold: amount,
                    ..Sums::EMPTY
                },
            )
        }))
    }

    fn dec(&self, v: Vec<i128>) -> Result<ArrayRef> {
        Ok(Arc::new(
            Decimal128Array::from(v).with_precision_and_scale(38, self.p.scale)?,
        ))
    }

    /// The state columns, in `state_fields` order, from the groups' codes and sums.
    fn state_columns(&self, codes: ListArray, sums: &[Sums]) -> Result<Vec<ArrayRef>> {
        Ok(vec![
            Arc::new(codes),
            Arc::new(Int32Array::from(
                sums.iter().map(|s| s.first).collect::<Vec<_>>(),
            )),
            self.dec(sums.iter().map(|s| s.first_sum).collect())?,
            self.dec(sums.iter().map(|s| s.sum_cal).collect())?,
            self.dec(sums.iter().map(|s| s.sum_hold).collect())?,
        ])
    }

    /// Take the first groups' state out, as `emit` says.
    fn take(&mut self, emit: EmitTo) -> (Vec<Sums>, Vec<Vec<i32>>) {
        let sums = emit.take_needed(&mut self.sums);
        let codes = emit.take_needed(&mut self.codes);
        let taken: usize = match emit {
            EmitTo::All => std::mem::take(&mut self.code_bytes),
            EmitTo::First(_) => codes.iter().map(|c| c.capacity() * 4).sum(),
        };
        self.code_bytes -= taken.min(self.code_bytes);
        (sums, codes)
    }
}

fn amounts(a: &ArrayRef) -> Result<&[i128]> {
    if a.null_count() > 0 {
        return exec_err!("{NAME}: null amount");
    }
    Ok(a.as_primitive::<Decimal128Type>().values())
}

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let days = self.p.days(&values[0])?;
        let amounts = amounts(&values[1])?;
        for (i, &g) in group_indices.iter().enumerate() {
            if opt_filter.is_some_and(|f| !f.value(i) || f.is_null(i)) {
                continue;
            }
            if let Some((code, sums)) = self.row(days[i], amounts[i])? {
                self.push_code(g, code);
                self.merge_sums(g, sums)?;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit: EmitTo) -> Result<ArrayRef> {
        let (sums, codes) = self.take(emit);
        let n = sums.len();
        let mut n_cal = Vec::with_capacity(n);
        let mut last = Vec::with_capacity(n);
        let mut n_hold = Vec::with_capacity(n);
        for mut c in codes {
            c.sort_unstable();
            c.dedup();
            // Calibration codes are even and all below the holdout codes (odd).
            let k = c.partition_point(|&x| x & 1 == 0);
            n_cal.push(k as i64);
            last.push(if k > 0 { c[k - 1] / 2 } else { 0 });
            n_hold.push((c.len() - k) as i64);
        }
        let first: Vec<i32> = sums
            .iter()
            .map(|s| if s.first == i32::MAX { 0 } else { s.first / 2 })
            .collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(n_cal)),
            Arc::new(Int32Array::from(first)),
            Arc::new(Int32Array::from(last)),
            self.dec(sums.iter().map(|s| s.sum_cal).collect())?,
            self.dec(sums.iter().map(|s| s.first_sum).collect())?,
            Arc::new(Int64Array::from(n_hold)),
            self.dec(sums.iter().map(|s| s.sum_hold).collect())?,
        ];
        Ok(Arc::new(StructArray::try_new(
            result_fields(self.p.scale),
            cols,
            None,
        )?))
    }

    fn state(&mut self, emit: EmitTo) -> Result<Vec<ArrayRef>> {
        let (sums, codes) = self.take(emit);
        let offsets = OffsetBuffer::<i32>::from_lengths(codes.iter().map(Vec::len));
        let values = Int32Array::from(codes.into_iter().flatten().collect::<Vec<i32>>());
        let list = ListArray::try_new(codes_field(), offsets, Arc::new(values), None)?;
        self.state_columns(list, &sums)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let list = values[0].as_list::<i32>();
        let inner = list.values().as_primitive::<Int32Type>().values();
        let offsets = list.value_offsets();
        let first = values[1].as_primitive::<Int32Type>().values();
        let first_sum = values[2].as_primitive::<Decimal128Type>().values();
        let sum_cal = values[3].as_primitive::<Decimal128Type>().values();
        let sum_hold = values[4].as_primitive::<Decimal128Type>().values();
        for (i, &g) in group_indices.iter().enumerate() {
            let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
            for &code in &inner[a..b] {
                self.push_code(g, code);
            }
            self.merge_sums(
                g,
                Sums {
                    first: first[i],
                    first_sum: first_sum[i],
                    sum_cal: sum_cal[i],
                    sum_hold: sum_hold[i],
                },
            )?;
        }
        Ok(())
    }

    /// Each row as its own group's state: a list of at most one code (none for a row after
    /// the holdout end or filtered out).
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let days = self.p.days(&values[0])?;
        let amounts = amounts(&values[1])?;
        let n = days.len();
        let mut lengths = Vec::with_capacity(n);
        let mut codes = Vec::with_capacity(n);
        let mut sums = Vec::with_capacity(n);
        for i in 0..n {
            let kept = if opt_filter.is_some_and(|f| !f.value(i) || f.is_null(i)) {
                None
            } else {
                self.row(days[i], amounts[i])?
            };
            match kept {
                Some((code, s)) => {
                    lengths.push(1);
                    codes.push(code);
                    sums.push(s);
                }
                None => {
                    lengths.push(0);
                    sums.push(Sums::EMPTY);
                }
            }
        }
        let list = ListArray::try_new(
            codes_field(),
            OffsetBuffer::<i32>::from_lengths(lengths),
            Arc::new(Int32Array::from(codes)),
            None,
        )?;
        self.state_columns(list, &sums)
    }

    fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<Sums>()
            + self.codes.capacity() * std::mem::size_of::<Vec<i32>>()
            + self.code_bytes
    }
}

/// The single-group accumulator DataFusion asks for where it does not group (e.g. a global
/// aggregate): the groups accumulator with every row in group 0.
struct OneGroup(Groups);

impl std::fmt::Debug for OneGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tenure_rfm accumulator")
    }
}

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let n = values.first().map_or(0, |a| a.len());
        self.0.update_batch(values, &vec![0; n], None, 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.0.grow(1);
        let a = self.0.evaluate(EmitTo::All)?;
        ScalarValue::try_from_array(&a, 0)
    }

    fn size(&self) -> usize {
        self.0.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.grow(1);
        self.0
            .state(EmitTo::All)?
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let n = states.first().map_or(0, |a| a.len());
        self.0.merge_batch(states, &vec![0; n], 1)
    }
}
