//! The columnar engine (DataFusion) against the streaming row reader: the same summaries, field
//! for field, on random logs written with every column type the columnar engine takes, under
//! every summary setting; the same errors; and the row reader where the columnar engine cannot
//! read a column.

#![allow(clippy::unwrap_used)]

use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Date64Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, LargeStringArray, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tenure_core::TimeUnit;
use tenure_engine::{
    summarize_parquet, CustomerSummary, Engine, EngineUsed, MergePeriod, NaiveDate, ParquetColumns,
    SummaryConfig,
};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tenure-engine-columnar-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// splitmix64: a small seeded generator, so the logs are the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One transaction: customer number, seconds since 1970-01-01 00:00 (UTC or wall clock), and
/// an amount in 1/10,000 units.
#[derive(Clone, Copy)]
struct Tx {
    customer: u64,
    second: i64,
    amount: i64,
}

/// A log of `n` rows over 2023-01-01 … 2025-03-31 (past the holdout ends used below), with
/// customers who buy several times a day, at 00:00 and 23:59:59, refunds, and customers
/// whose first purchase is in the holdout.
fn random_log(seed: u64, n: usize) -> Vec<Tx> {
    let mut r = Rng(seed);
    let start = 19_358i64; // 2023-01-01
    let span = 821i64; // to 2025-03-31
    let customers = 1 + (n as u64) / 12;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let customer = r.below(customers);
        // Each customer starts at its own day and buys on a few nearby days.
        let birth = start + (customer * 7_919 % span as u64) as i64;
        let day = (birth + r.below(120) as i64).min(start + span - 1);
        let second = match r.below(10) {
            0 => 0,
            1 => 86_399,
            _ => r.below(86_400) as i64,
        };
        let amount = match r.below(20) {
            0 => -(r.below(5_000) as i64) * 100,
            1 => 0,
            _ => r.below(3_000_000) as i64,
        };
        out.push(Tx {
            customer,
            second: day * 86_400 + second,
            amount,
        });
        if r.below(4) == 0 {
            // Another purchase the same day.
            out.push(Tx {
                customer,
                second: day * 86_400 + r.below(86_400) as i64,
                amount: r.below(100_000) as i64,
            });
        }
    }
    out.truncate(n);
    out
}

#[derive(Clone, Copy, Debug)]
enum IdType {
    Int64,
    Int32,
    UInt64,
    /// Text with spaces around it (trimmed by both readers).
    Utf8Padded,
    LargeUtf8,
}

#[derive(Clone, Copy, Debug)]
enum DateType {
    Date32,
    Date64,
    TsSecond,
    TsMilliUtc,
    TsMicro(Option<&'static str>),
    TsNano(Option<&'static str>),
}

#[derive(Clone, Copy, Debug)]
enum AmountType {
    /// DECIMAL(p, s) holding the amount at scale s (amounts are rounded down to it).
    Decimal(u8, i8),
    /// Whole units.
    Int64,
    /// Binary floats: the columnar engine leaves these to the row reader.
    Float64,
}

fn id_array(t: IdType, log: &[Tx]) -> (DataType, ArrayRef) {
    match t {
        IdType::Int64 => (
            DataType::Int64,
            Arc::new(Int64Array::from_iter_values(
                log.iter().map(|t| t.customer as i64 * 3 - 50),
            )),
        ),
        IdType::Int32 => (
            DataType::Int32,
            Arc::new(Int32Array::from_iter_values(
                log.iter().map(|t| t.customer as i32),
            )),
        ),
        IdType::UInt64 => (
            DataType::UInt64,
            Arc::new(UInt64Array::from_iter_values(
                log.iter().map(|t| u64::MAX - t.customer),
            )),
        ),
        IdType::Utf8Padded => (
            DataType::Utf8,
            Arc::new(StringArray::from_iter_values(log.iter().map(|t| {
                if t.customer % 3 == 0 {
                    format!(" cus_{:x} ", t.customer)
                } else {
                    format!("cus_{:x}", t.customer)
                }
            }))),
        ),
        IdType::LargeUtf8 => (
            DataType::LargeUtf8,
            Arc::new(LargeStringArray::from_iter_values(
                log.iter().map(|t| format!("{:05}", t.customer)),
            )),
        ),
    }
}

fn date_array(t: DateType, log: &[Tx]) -> (DataType, ArrayRef) {
    let s = log.iter().map(|t| t.second);
    match t {
        DateType::Date32 => (
            DataType::Date32,
            Arc::new(Date32Array::from_iter_values(
                s.map(|x| x.div_euclid(86_400) as i32),
            )),
        ),
        DateType::Date64 => (
            DataType::Date64,
            Arc::new(Date64Array::from_iter_values(
                s.map(|x| x.div_euclid(86_400) * 86_400_000),
            )),
        ),
        DateType::TsSecond => {
            let a = TimestampSecondArray::from_iter_values(s);
            (a.data_type().clone(), Arc::new(a))
        }
        DateType::TsMilliUtc => {
            let a = TimestampMillisecondArray::from_iter_values(s.map(|x| x * 1_000 + 999))
                .with_timezone("UTC");
            (a.data_type().clone(), Arc::new(a))
        }
        DateType::TsMicro(tz) => {
            let a = TimestampMicrosecondArray::from_iter_values(s.map(|x| x * 1_000_000))
                .with_timezone_opt(tz);
            (a.data_type().clone(), Arc::new(a))
        }
        DateType::TsNano(tz) => {
            let a = TimestampNanosecondArray::from_iter_values(s.map(|x| x * 1_000_000_000 + 1))
                .with_timezone_opt(tz);
            (a.data_type().clone(), Arc::new(a))
        }
    }
}

fn amount_array(t: AmountType, log: &[Tx]) -> (DataType, ArrayRef) {
    match t {
        AmountType::Decimal(p, s) => {
            let div = 10i64.pow(4 - s as u32);
            let a =
                Decimal128Array::from_iter_values(log.iter().map(|t| i128::from(t.amount / div)))
                    .with_precision_and_scale(p, s)
                    .unwrap();
            (a.data_type().clone(), Arc::new(a))
        }
        AmountType::Int64 => (
            DataType::Int64,
            Arc::new(Int64Array::from_iter_values(
                log.iter().map(|t| t.amount / 10_000),
            )),
        ),
        AmountType::Float64 => (
            DataType::Float64,
            Arc::new(Float64Array::from_iter_values(
                log.iter().map(|t| (t.amount / 100) as f64 / 100.0),
            )),
        ),
    }
}

/// Write the log as Parquet in row groups of `group_rows`, columns in the order given (with an
/// unrelated column in between, and the names in other cases than asked for).
fn write_log(path: &Path, log: &[Tx], types: (IdType, DateType, AmountType), group_rows: usize) {
    let (it, ia) = id_array(types.0, log);
    let (dt, da) = date_array(types.1, log);
    let (at, aa) = amount_array(types.2, log);
    let other: ArrayRef = Arc::new(Int32Array::from_iter_values(0..log.len() as i32));
    let schema = Arc::new(Schema::new(vec![
        Field::new("Amount", at, false),
        Field::new("note", DataType::Int32, false),
        Field::new("Customer_ID", it, false),
        Field::new("date", dt, false),
    ]));
    let batch = RecordBatch::try_new(schema.clone(), vec![aa, other, ia, da]).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn configs() -> Vec<SummaryConfig> {
    let cal = date(2024, 6, 30);
    let mut out = Vec::new();
    for (merge, unit) in [
        (MergePeriod::Day, TimeUnit::Weeks),
        (MergePeriod::Day, TimeUnit::Days),
        (MergePeriod::Day, TimeUnit::Months),
        (MergePeriod::Unit, TimeUnit::Weeks),
        (MergePeriod::Unit, TimeUnit::Months),
        (MergePeriod::Unit, TimeUnit::Years),
        (MergePeriod::Unit, TimeUnit::Days),
    ] {
        for holdout in [None, Some(date(2024, 12, 31))] {
            for round in [None, Some(2)] {
                let mut c = SummaryConfig::new(cal, unit);
                c.merge = merge;
                c.holdout_end = holdout;
                c.round = round;
                out.push(c);
            }
        }
    }
    out
}

fn summarize(
    path: &Path,
    config: &SummaryConfig,
    engine: Engine,
) -> (Vec<CustomerSummary>, EngineUsed) {
    summarize_parquet(
        path,
        &ParquetColumns::default(),
        config,
        engine,
        &mut |_, _| {},
    )
    .unwrap()
}

#[test]
fn both_engines_give_the_same_summaries_for_every_column_type_and_setting() {
    let dir = scratch("agree");
    let cases = [
        (
            IdType::Int64,
            DateType::TsMicro(Some("UTC")),
            AmountType::Decimal(12, 2),
        ),
        (
            IdType::Utf8Padded,
            DateType::Date32,
            AmountType::Decimal(18, 4),
        ),
        (IdType::Int32, DateType::TsMilliUtc, AmountType::Int64),
        (
            IdType::UInt64,
            DateType::TsNano(Some("+05:00")),
            AmountType::Decimal(9, 2),
        ),
        (
            IdType::LargeUtf8,
            DateType::Date32,
            AmountType::Decimal(38, 3),
        ),
        (
            IdType::Int64,
            DateType::TsMicro(Some("America/New_York")),
            AmountType::Decimal(12, 0),
        ),
        (
            IdType::Int32,
            DateType::TsMicro(None),
            AmountType::Decimal(15, 2),
        ),
        (
            IdType::Int64,
            DateType::TsNano(None),
            AmountType::Decimal(12, 1),
        ),
    ];
    let configs = configs();
    for (i, types) in cases.into_iter().enumerate() {
        let log = random_log(i as u64 + 1, 4_000);
        let path = dir.join(format!("log{i}.parquet"));
        write_log(&path, &log, types, 700);
        for config in &configs {
            let (rows, used) = summarize(&path, config, Engine::Rows);
            assert_eq!(used, EngineUsed::Rows { reason: None });
            let (columnar, used) = summarize(&path, config, Engine::Local);
            assert!(
                matches!(used, EngineUsed::DataFusion { .. }),
                "{types:?}: {used:?}"
            );
            assert!(!rows.is_empty());
            assert_eq!(columnar.len(), rows.len(), "{types:?} {config:?}");
            for (c, r) in columnar.iter().zip(&rows) {
                assert_eq!(c, r, "{types:?} {config:?}");
            }
        }
    }
}

/// Arrow's Date64 and second-resolution timestamps are written as plain INT64, which the row
/// reader does not take as a date; the columnar engine reads them through the file's Arrow
/// schema, as the same dates.
#[test]
fn arrow_date64_and_second_timestamps_are_dates() {
    let dir = scratch("date64");
    let log = random_log(5, 3_000);
    let d32 = dir.join("d32.parquet");
    write_log(
        &d32,
        &log,
        (IdType::Int64, DateType::Date32, AmountType::Decimal(12, 2)),
        500,
    );
    for (name, t) in [("d64", DateType::Date64), ("secs", DateType::TsSecond)] {
        let path = dir.join(format!("{name}.parquet"));
        write_log(
            &path,
            &log,
            (IdType::Int64, t, AmountType::Decimal(12, 2)),
            500,
        );
        for config in configs() {
            let (a, _) = summarize(&d32, &config, Engine::Rows);
            let (b, used) = summarize(&path, &config, Engine::Local);
            assert!(matches!(used, EngineUsed::DataFusion { .. }));
            assert_eq!(a, b, "{name} {config:?}");
        }
    }
}

#[test]
fn a_directory_of_files_is_one_log() {
    let dir = scratch("directory");
    let log = random_log(42, 6_000);
    let whole = dir.join("whole.parquet");
    let types = (
        IdType::Int64,
        DateType::TsMicro(Some("UTC")),
        AmountType::Decimal(12, 2),
    );
    write_log(&whole, &log, types, 1_000);
    let parts = dir.join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    for (i, chunk) in log.chunks(2_500).enumerate() {
        write_log(&parts.join(format!("part-{i}.parquet")), chunk, types, 400);
    }
    // Not Parquet by name: ignored.
    std::fs::write(parts.join("_SUCCESS"), b"").unwrap();
    for config in configs() {
        let (one, _) = summarize(&whole, &config, Engine::Rows);
        let (many, used) = summarize(&parts, &config, Engine::Local);
        assert!(matches!(used, EngineUsed::DataFusion { .. }));
        assert_eq!(many, one, "{config:?}");
    }
}

#[test]
fn columns_the_columnar_engine_does_not_take_go_to_the_row_reader() {
    let dir = scratch("fallback");
    let log = random_log(7, 2_000);
    let path = dir.join("floats.parquet");
    write_log(
        &path,
        &log,
        (IdType::Int64, DateType::Date32, AmountType::Float64),
        500,
    );
    let config = SummaryConfig::new(date(2024, 6, 30), TimeUnit::Weeks);
    let (rows, _) = summarize(&path, &config, Engine::Rows);
    let (auto, used) = summarize(&path, &config, Engine::Local);
    assert_eq!(auto, rows);
    match used {
        EngineUsed::Rows { reason: Some(r) } => {
            assert!(r.contains("amount column `Amount` is Float64"), "{r}")
        }
        u => panic!("expected the row reader, got {u:?}"),
    }
    // A directory of such files cannot be read by either: a clear error.
    let parts = dir.join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    std::fs::copy(&path, parts.join("a.parquet")).unwrap();
    let e = summarize_parquet(
        &parts,
        &ParquetColumns::default(),
        &config,
        Engine::Local,
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Float64") && e.contains("one file"), "{e}");
}

/// The error the row reader gives, for a file both engines fail on.
fn both_fail(path: &Path, config: &SummaryConfig) -> String {
    let run = |engine| {
        summarize_parquet(
            path,
            &ParquetColumns::default(),
            config,
            engine,
            &mut |_, _| {},
        )
        .unwrap_err()
        .to_string()
    };
    let (rows, columnar) = (run(Engine::Rows), run(Engine::Local));
    assert_eq!(columnar, rows);
    rows
}

#[test]
fn bad_values_are_reported_at_their_row_by_both_engines() {
    let dir = scratch("errors");
    let config = SummaryConfig::new(date(2024, 6, 30), TimeUnit::Weeks);
    // A null amount at row 1,503 (third row group).
    let log = random_log(9, 2_000);
    let path = dir.join("null.parquet");
    let ids = Int64Array::from_iter_values(log.iter().map(|t| t.customer as i64));
    let days = Date32Array::from_iter_values(log.iter().map(|t| (t.second / 86_400) as i32));
    let amounts = Decimal128Array::from_iter(
        log.iter()
            .enumerate()
            .map(|(i, t)| (i != 1_502).then_some(i128::from(t.amount))),
    )
    .with_precision_and_scale(12, 4)
    .unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("date", DataType::Date32, false),
        Field::new("amount", amounts.data_type().clone(), true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(ids), Arc::new(days), Arc::new(amounts)],
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(600))
        .build();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let e = both_fail(&path, &config);
    assert!(e.contains("row 1503") && e.contains("amount"), "{e}");

    // Not Parquet, and empty.
    let junk = dir.join("junk.parquet");
    std::fs::write(&junk, b"PAR1 this is not parquet").unwrap();
    both_fail(&junk, &config);
    let empty = dir.join("empty.parquet");
    std::fs::write(&empty, b"").unwrap();
    assert!(both_fail(&empty, &config).contains("empty"));
}

#[test]
fn progress_ends_at_the_number_of_rows() {
    let dir = scratch("progress");
    let log = random_log(3, 5_000);
    let path = dir.join("log.parquet");
    write_log(
        &path,
        &log,
        (IdType::Int64, DateType::Date32, AmountType::Decimal(12, 2)),
        1_000,
    );
    let mut seen = Vec::new();
    let config = SummaryConfig::new(date(2024, 6, 30), TimeUnit::Weeks);
    summarize_parquet(
        &path,
        &ParquetColumns::default(),
        &config,
        Engine::Local,
        &mut |done, total| seen.push((done, total)),
    )
    .unwrap();
    assert_eq!(seen.first(), Some(&(0, Some(5_000))));
    assert_eq!(seen.last(), Some(&(5_000, Some(5_000))));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
}
