//! Parquet transaction logs: the same summaries as the text formats, every column type the
//! reader accepts, and errors (nulls, wrong types, corrupt files) that name file, row and column.

#![allow(clippy::unwrap_used)]

use parquet::basic::Compression;
use parquet::data_type::{
    ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType, FloatType,
    Int32Type, Int64Type, Int96, Int96Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use tenure_core::{Decimal, TimeUnit};
use tenure_engine::{
    read_transactions, read_transactions_from, summarize_file, summarize_file_with_progress,
    CdnowId, CsvColumns, CustomerSummary, EngineError, FieldError, NaiveDate, ParquetColumns,
    SummaryConfig, TransactionFormat,
};

fn refdata() -> PathBuf {
    match std::env::var("TENURE_REFDATA") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/refdata"
        )),
    }
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tenure-engine-parquet-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// One column's values for one row group, with definition levels for optional columns.
enum Col {
    I32(Vec<i32>),
    I64(Vec<i64>),
    I96(Vec<Int96>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Str(Vec<&'static str>),
    Bytes(Vec<Vec<u8>>),
    Fixed(Vec<Vec<u8>>),
    /// An optional column: definition levels (1 = present) and the column of present values.
    Opt(Vec<i16>, Box<Col>),
}

fn write_col(
    w: &mut parquet::file::writer::SerializedColumnWriter<'_>,
    col: &Col,
    def: Option<&[i16]>,
) {
    match col {
        Col::I32(v) => w.typed::<Int32Type>().write_batch(v, def, None),
        Col::I64(v) => w.typed::<Int64Type>().write_batch(v, def, None),
        Col::I96(v) => w.typed::<Int96Type>().write_batch(v, def, None),
        Col::F32(v) => w.typed::<FloatType>().write_batch(v, def, None),
        Col::F64(v) => w.typed::<DoubleType>().write_batch(v, def, None),
        Col::Str(v) => {
            let v: Vec<ByteArray> = v.iter().map(|s| ByteArray::from(*s)).collect();
            w.typed::<ByteArrayType>().write_batch(&v, def, None)
        }
        Col::Bytes(v) => {
            let v: Vec<ByteArray> = v.iter().map(|b| ByteArray::from(b.clone())).collect();
            w.typed::<ByteArrayType>().write_batch(&v, def, None)
        }
        Col::Fixed(v) => {
            let v: Vec<FixedLenByteArray> = v
                .iter()
                .map(|b| FixedLenByteArray::from(b.clone()))
                .collect();
            w.typed::<FixedLenByteArrayType>()
                .write_batch(&v, def, None)
        }
        Col::Opt(levels, inner) => {
            write_col(w, inner, Some(levels));
            return;
        }
    }
    .unwrap();
}

/// Write a Parquet file with this schema (Parquet's message syntax), one row group per element
/// of `groups`, each with one `Col` per leaf column in schema order.
fn write_parquet_with(path: &Path, schema: &str, groups: &[Vec<Col>], props: WriterProperties) {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, Arc::new(props)).unwrap();
    for group in groups {
        let mut rg = w.next_row_group().unwrap();
        for col in group {
            let mut c = rg.next_column().unwrap().unwrap();
            write_col(&mut c, col, None);
            c.close().unwrap();
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}

fn write_parquet(path: &Path, schema: &str, groups: &[Vec<Col>]) {
    write_parquet_with(path, schema, groups, WriterProperties::builder().build());
}

fn pq(id: &str, date: &str, amount: &str) -> TransactionFormat {
    TransactionFormat::Parquet(ParquetColumns {
        customer_id: id.into(),
        date: date.into(),
        amount: Some(amount.into()),
    })
}

fn default_pq() -> TransactionFormat {
    TransactionFormat::Parquet(ParquetColumns::default())
}

/// Days since 1970-01-01.
fn epoch_days(d: NaiveDate) -> i32 {
    (d - date(1970, 1, 1)).num_days() as i32
}

/// CDNOW_sample.txt as Parquet: customer index INT64, date DATE, amount DECIMAL(10,2) in
/// INT64, in row groups of 1,000 rows and small pages (so batches cross pages and groups).
fn cdnow_parquet(path: &Path, compression: Compression) -> usize {
    let text = std::fs::read_to_string(refdata().join("CDNOW_sample.txt")).unwrap();
    let (mut ids, mut days, mut cents) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        ids.push(f[1].parse::<i64>().unwrap());
        days.push(epoch_days(
            NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap(),
        ));
        let mut a = dec(f[4]);
        a.rescale(2);
        cents.push(i64::try_from(a.mantissa()).unwrap());
    }
    let n = ids.len();
    let groups: Vec<Vec<Col>> = (0..n)
        .step_by(1000)
        .map(|s| {
            let e = (s + 1000).min(n);
            vec![
                Col::I64(ids[s..e].to_vec()),
                Col::I32(days[s..e].to_vec()),
                Col::I64(cents[s..e].to_vec()),
            ]
        })
        .collect();
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_data_page_row_count_limit(300)
        .set_write_batch_size(100)
        .build();
    write_parquet_with(
        path,
        "message cdnow {
            required int64 customer_index;
            required int32 date (DATE);
            required int64 amount (DECIMAL(10,2));
        }",
        &groups,
        props,
    );
    n
}

fn cdnow_config(holdout: bool) -> SummaryConfig {
    let mut c = SummaryConfig::new(date(1997, 9, 30), TimeUnit::Weeks);
    c.round = Some(2);
    if holdout {
        c.holdout_end = Some(date(1998, 6, 30));
    }
    c
}

fn as_strings(s: &CustomerSummary) -> Vec<String> {
    vec![
        s.customer_id.clone(),
        s.frequency.to_string(),
        s.recency.to_string(),
        s.t.to_string(),
        s.monetary_value.to_string(),
    ]
}

#[test]
fn cdnow_as_parquet_summarizes_exactly_like_the_text_file_and_the_reference() {
    let dir = scratch("cdnow");
    let format = pq("customer_index", "date", "amount");
    let text_path = refdata().join("CDNOW_sample.txt");
    let text_format = TransactionFormat::Cdnow(CdnowId::Index);
    for (name, codec) in [
        ("plain.parquet", Compression::UNCOMPRESSED),
        ("snappy.parquet", Compression::SNAPPY),
        ("gzip.parquet", Compression::GZIP(Default::default())),
        ("lz4.parquet", Compression::LZ4_RAW),
        ("zstd.parquet", Compression::ZSTD(Default::default())),
    ] {
        let path = dir.join(name);
        assert_eq!(cdnow_parquet(&path, codec), 6919);
        for holdout in [false, true] {
            let ours = summarize_file(&path, &format, &cdnow_config(holdout)).unwrap();
            let text = summarize_file(&text_path, &text_format, &cdnow_config(holdout)).unwrap();
            assert_eq!(ours.len(), 2357, "{name}");
            assert_eq!(ours, text, "{name}, holdout {holdout}");
        }
    }
    // And so the published summary, row for row.
    let ours = summarize_file(&dir.join("snappy.parquet"), &format, &cdnow_config(false)).unwrap();
    let reference =
        std::fs::read_to_string(refdata().join("cdnow_customers_summary_with_transactions.csv"))
            .unwrap();
    let rows: Vec<Vec<String>> = reference
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(ours.iter().map(as_strings).collect::<Vec<_>>(), rows);
    assert_eq!(as_strings(&ours[0]), ["1", "2", "30.43", "38.86", "22.35"]);
}

#[test]
fn parquet_transactions_carry_their_row_numbers() {
    let dir = scratch("rows");
    let path = dir.join("cdnow.parquet");
    cdnow_parquet(&path, Compression::SNAPPY);
    let format = pq("customer_index", "date", "amount");
    let tx = read_transactions(&path, &format).unwrap();
    let text = read_transactions(
        &refdata().join("CDNOW_sample.txt"),
        &TransactionFormat::Cdnow(CdnowId::Index),
    )
    .unwrap();
    assert_eq!(tx.len(), 6919);
    // CDNOW has no header, so its lines are the Parquet rows.
    assert_eq!(tx, text);
    assert_eq!((tx[0].line, tx[6918].line), (1, 6919));
    assert_eq!(
        (tx[0].customer_id.as_str(), tx[0].date, tx[0].amount),
        ("1", date(1997, 1, 1), dec("29.33"))
    );
    // From any reader (read into memory first): the same.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        read_transactions_from(&bytes[..], &path, &format).unwrap(),
        tx
    );
}

#[test]
fn detects_parquet_by_magic_bytes_or_extension() {
    let dir = scratch("detect");
    let cols = CsvColumns {
        customer_id: "cust".into(),
        date: "day".into(),
        amount: None,
        delimiter: b';',
    };
    let magic = dir.join("log.bin");
    cdnow_parquet(&magic, Compression::SNAPPY);
    let want = TransactionFormat::Parquet(ParquetColumns {
        customer_id: "cust".into(),
        date: "day".into(),
        amount: None,
    });
    assert_eq!(
        TransactionFormat::detect(&magic, cols.clone()).unwrap(),
        want
    );
    let named = dir.join("LOG.Parquet");
    std::fs::write(&named, "customer_id,date,amount\n").unwrap();
    assert_eq!(
        TransactionFormat::detect(&named, cols.clone()).unwrap(),
        want
    );
    // A .parquet name on a CSV file: read as Parquet, which says what is wrong.
    let e = read_transactions(&named, &default_pq()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: cannot read as Parquet: not a Parquet file (it does not start with `PAR1`)",
            named.display()
        )
    );
    let csv = dir.join("log.csv");
    std::fs::write(&csv, "cust;day\n1;2024-01-01\n").unwrap();
    assert_eq!(
        TransactionFormat::detect(&csv, cols.clone()).unwrap(),
        TransactionFormat::Csv(cols.clone())
    );
    let short = dir.join("short.csv");
    std::fs::write(&short, "PA").unwrap();
    assert_eq!(
        TransactionFormat::detect(&short, cols.clone()).unwrap(),
        TransactionFormat::Csv(cols.clone())
    );
    assert!(matches!(
        TransactionFormat::detect(&dir.join("missing.csv"), cols),
        Err(EngineError::Io { .. })
    ));
}

#[test]
fn string_columns_read_like_csv() {
    let dir = scratch("strings");
    let path = dir.join("s.parquet");
    let ids = vec!["a", " b ", "a", "c"];
    let dates = vec![
        "2024-01-01",
        "20240102",
        "2024-01-05T23:30:00-05:00",
        "2024-01-07 10:00:00",
    ];
    let amounts = vec!["10.00", "7.5", "-2.25", " 3 "];
    write_parquet(
        &path,
        "message m {
            required binary customer_id (STRING);
            required binary date (STRING);
            required binary amount (UTF8);
        }",
        &[vec![Col::Str(ids), Col::Str(dates), Col::Str(amounts)]],
    );
    let tx = read_transactions(&path, &default_pq()).unwrap();
    let csv = tenure_engine::read_transactions_from(
        "customer_id,date,amount\n\
         a,2024-01-01,10.00\n\
         b ,20240102,7.5\n\
         a,2024-01-05T23:30:00-05:00,-2.25\n\
         c,2024-01-07 10:00:00, 3 \n"
            .as_bytes(),
        Path::new("log.csv"),
        &TransactionFormat::default(),
    )
    .unwrap();
    let strip = |t: &[tenure_engine::Transaction]| -> Vec<(String, NaiveDate, Decimal)> {
        t.iter()
            .map(|t| (t.customer_id.clone(), t.date, t.amount))
            .collect()
    };
    assert_eq!(strip(&tx), strip(&csv));
    // A string timestamp keeps its own offset's date, as in CSV.
    assert_eq!(tx[2].date, date(2024, 1, 5));
    assert_eq!(tx[1].customer_id, "b");
    assert_eq!(tx[3].amount, dec("3"));
}

#[test]
fn timestamps_in_utc_are_dated_in_utc_and_local_ones_by_their_date() {
    let dir = scratch("timestamps");
    let path = dir.join("t.parquet");
    // 2024-01-05T23:30:00-05:00 = 2024-01-06T04:30:00Z.
    let instant_ms = 1_704_515_400_000_i64;
    // 1969-12-31T23:00:00: before the epoch, floor not truncation.
    let before_epoch_ms = -3_600_000_i64;
    let rows_ms = [instant_ms, before_epoch_ms];
    let micros: Vec<i64> = rows_ms.iter().map(|m| m * 1000).collect();
    let nanos: Vec<i64> = rows_ms.iter().map(|m| m * 1_000_000).collect();
    // INT96: nanoseconds of the day, Julian day (2460316 = 2024-01-06).
    let mut a = Int96::new();
    a.set_data(
        (16_200_000_000_000_u64 & 0xFFFF_FFFF) as u32,
        (16_200_000_000_000_u64 >> 32) as u32,
        2_460_316,
    );
    let mut b = Int96::new();
    b.set_data(0, 0, 2_440_587); // 1969-12-31
    write_parquet(
        &path,
        "message m {
            required int32 id;
            required int64 utc_ms (TIMESTAMP(MILLIS,true));
            required int64 utc_us (TIMESTAMP(MICROS,true));
            required int64 utc_ns (TIMESTAMP(NANOS,true));
            required int64 local_us (TIMESTAMP(MICROS,false));
            required int64 legacy_ms (TIMESTAMP_MILLIS);
            required int96 spark;
            required int32 amount;
        }",
        &[vec![
            Col::I32(vec![1, 2]),
            Col::I64(rows_ms.to_vec()),
            Col::I64(micros.clone()),
            Col::I64(nanos),
            // Local wall-clock 2024-01-05T23:30 stored as if UTC.
            Col::I64(vec![
                (instant_ms - 5 * 3_600_000) * 1000,
                before_epoch_ms * 1000,
            ]),
            Col::I64(rows_ms.to_vec()),
            Col::I96(vec![a, b]),
            Col::I32(vec![5, 6]),
        ]],
    );
    let dates_of = |col: &str| -> Vec<NaiveDate> {
        read_transactions(&path, &pq("id", col, "amount"))
            .unwrap()
            .iter()
            .map(|t| t.date)
            .collect()
    };
    let utc = vec![date(2024, 1, 6), date(1969, 12, 31)];
    for col in ["utc_ms", "utc_us", "utc_ns", "legacy_ms", "spark"] {
        assert_eq!(dates_of(col), utc, "{col}");
    }
    assert_eq!(
        dates_of("local_us"),
        vec![date(2024, 1, 5), date(1969, 12, 31)]
    );
    let tx = read_transactions(&path, &pq("ID", "Utc_Ms", "AMOUNT")).unwrap();
    assert_eq!(
        (tx[1].customer_id.as_str(), tx[1].amount, tx[1].line),
        ("2", dec("6"), 2)
    );
}

#[test]
fn amounts_of_every_type_are_exact() {
    let dir = scratch("amounts");
    let path = dir.join("a.parquet");
    // -1234.56 as 16-byte big-endian two's complement; 12.34 as a 2-byte BYTE_ARRAY.
    let fixed: Vec<Vec<u8>> = [-123_456_i128, 9_999_999_999_999_999_999_999_999_999_i128, 0]
        .iter()
        .map(|v| v.to_be_bytes().to_vec())
        .collect();
    write_parquet(
        &path,
        "message m {
            required int64 customer_id;
            required int32 date (DATE);
            required int32 dec32 (DECIMAL(9,2));
            required fixed_len_byte_array(16) dec128 (DECIMAL(38,2));
            required binary decbin (DECIMAL(20,4));
            required int64 whole;
            required int64 big_unsigned (INTEGER(64,false));
            required float f32;
            required double f64;
            required fixed_len_byte_array(16) huge (DECIMAL(38,0));
        }",
        &[vec![
            Col::I64(vec![1, 2, 3]),
            Col::I32(vec![epoch_days(date(2024, 1, 1)); 3]),
            Col::I32(vec![1999, -5, 0]),
            Col::Fixed(fixed),
            Col::Bytes(vec![vec![0x04, 0xD2], vec![0xFF], vec![]]),
            Col::I64(vec![42, -7, 0]),
            Col::I64(vec![-1, 5, 0]),
            Col::F32(vec![19.99, 0.1, -0.0]),
            Col::F64(vec![0.1, 1234567.89, 1e-7]),
            Col::Fixed(
                [10_i128.pow(30), 1, 1]
                    .iter()
                    .map(|v| v.to_be_bytes().to_vec())
                    .collect(),
            ),
        ]],
    );
    let amounts = |col: &str| -> Vec<String> {
        read_transactions(&path, &pq("customer_id", "date", col))
            .unwrap()
            .iter()
            .map(|t| t.amount.to_string())
            .collect()
    };
    assert_eq!(amounts("dec32"), ["19.99", "-0.05", "0.00"]);
    assert_eq!(
        amounts("dec128"),
        ["-1234.56", "99999999999999999999999999.99", "0.00"]
    );
    assert_eq!(amounts("decbin"), ["0.1234", "-0.0001", "0.0000"]);
    assert_eq!(amounts("whole"), ["42", "-7", "0"]);
    assert_eq!(amounts("big_unsigned"), ["18446744073709551615", "5", "0"]);
    // Floats: the shortest decimal that reads back as the same float, not its binary value.
    assert_eq!(amounts("f32"), ["19.99", "0.1", "0"]);
    assert_eq!(amounts("f64"), ["0.1", "1234567.89", "0.0000001"]);
    // 10^30 does not fit a decimal (about 7.9e28): an error, not a rounded value.
    let e = read_transactions(&path, &pq("customer_id", "date", "huge")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: row 1, column `huge`: `1000000000000000000000000000000 at scale 0`: does not fit a decimal number (28 significant digits)",
            path.display()
        )
    );
    // Summed as decimals: 0.1 + 0.2 is 0.3 here, 0.30000000000000004 in binary.
    let sum_path = dir.join("sum.parquet");
    let d = epoch_days(date(2024, 1, 1));
    write_parquet(
        &sum_path,
        "message m { required binary customer_id (STRING); required int32 date (DATE); required double amount; }",
        &[vec![
            Col::Str(vec!["a", "a", "a"]),
            Col::I32(vec![d, d + 1, d + 1]),
            Col::F64(vec![5.0, 0.1, 0.2]),
        ]],
    );
    let s = summarize_file(
        &sum_path,
        &default_pq(),
        &SummaryConfig::new(date(2024, 1, 2), TimeUnit::Days),
    )
    .unwrap();
    assert_eq!(s[0].monetary_value.to_string(), "0.3");
    assert_ne!((0.1_f64 + 0.2).to_string(), "0.3");
}

/// (row, column, reason) of a value error; panics on any other result.
fn value_error<T: std::fmt::Debug>(r: Result<T, EngineError>) -> (u64, String, FieldError) {
    match r {
        Err(EngineError::BadValue {
            row,
            column,
            reason,
            ..
        }) => (row, column, reason),
        other => panic!("expected a value error, got {other:?}"),
    }
}

#[test]
fn nulls_are_errors_at_their_row_and_column_across_row_groups() {
    let dir = scratch("nulls");
    let path = dir.join("n.parquet");
    let schema = "message m {
        optional binary customer_id (STRING);
        optional int32 date (DATE);
        optional int64 amount (DECIMAL(10,2));
    }";
    let d = epoch_days(date(2024, 3, 1));
    // Row group 1: rows 1-3, all present. Row group 2: rows 4-6, amount null in row 6.
    write_parquet(
        &path,
        schema,
        &[
            vec![
                Col::Opt(vec![1, 1, 1], Box::new(Col::Str(vec!["a", "b", "c"]))),
                Col::Opt(vec![1, 1, 1], Box::new(Col::I32(vec![d, d, d]))),
                Col::Opt(vec![1, 1, 1], Box::new(Col::I64(vec![100, 200, 300]))),
            ],
            vec![
                Col::Opt(vec![1, 1, 1], Box::new(Col::Str(vec!["d", "e", "f"]))),
                Col::Opt(vec![1, 1, 1], Box::new(Col::I32(vec![d, d, d]))),
                Col::Opt(vec![1, 1, 0], Box::new(Col::I64(vec![400, 500]))),
            ],
        ],
    );
    let r = read_transactions(&path, &default_pq());
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: row 6, column `amount`: null (every row needs a value)",
            path.display()
        )
    );
    assert_eq!(
        value_error::<()>(Err(e)),
        (6, "amount".to_string(), FieldError::Null)
    );
    // Optional columns without nulls read fine; a null id in row 2 of a one-group file.
    let ok = dir.join("ok.parquet");
    write_parquet(
        &ok,
        schema,
        &[vec![
            Col::Opt(vec![1, 0], Box::new(Col::Str(vec!["a"]))),
            Col::Opt(vec![1, 1], Box::new(Col::I32(vec![d, d]))),
            Col::Opt(vec![1, 1], Box::new(Col::I64(vec![1, 2]))),
        ]],
    );
    assert_eq!(
        value_error(read_transactions(&ok, &default_pq())),
        (2, "customer_id".to_string(), FieldError::Null)
    );
    // Without an amount column the amounts are 0 and the nulls there do not matter.
    let no_amount = TransactionFormat::Parquet(ParquetColumns {
        amount: None,
        ..ParquetColumns::default()
    });
    let tx = read_transactions(&path, &no_amount).unwrap();
    assert_eq!(tx.len(), 6);
    assert!(tx.iter().all(|t| t.amount.is_zero()));
}

#[test]
fn bad_values_name_row_and_column() {
    let dir = scratch("badvalues");
    let path = dir.join("b.parquet");
    write_parquet(
        &path,
        "message m {
            required binary customer_id (STRING);
            required binary date (STRING);
            required binary amount (STRING);
            required double price;
            required binary id2;
        }",
        &[vec![
            Col::Str(vec!["a", "b", "  "]),
            Col::Str(vec!["2024-01-01", "05/01/2024", "2024-02-30"]),
            Col::Str(vec!["1.00", "$5", "1e3"]),
            Col::F64(vec![1.0, f64::NAN, 1e30]),
            Col::Bytes(vec![b"x".to_vec(), vec![0xFF, 0xFE], b"z".to_vec()]),
        ]],
    );
    let e = read_transactions(&path, &default_pq()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: row 2, column `date`: `05/01/2024` is not a date format Tenure reads (use YYYY-MM-DD, YYYYMMDD or an RFC 3339 timestamp such as 2024-01-05T10:00:00+02:00)",
            path.display()
        )
    );
    assert_eq!(
        value_error(read_transactions(
            &path,
            &pq("customer_id", "customer_id", "amount")
        )),
        (
            1,
            "customer_id".into(),
            FieldError::UnknownDateFormat { value: "a".into() }
        )
    );
    let (row, col, reason) = value_error(read_transactions(&path, &pq("date", "date", "amount")));
    assert_eq!((row, col.as_str()), (2, "date"));
    assert!(matches!(reason, FieldError::UnknownDateFormat { .. }));
    assert_eq!(
        value_error(read_transactions(
            &path,
            &pq("amount", "customer_id", "amount")
        )),
        (
            1,
            "customer_id".into(),
            FieldError::UnknownDateFormat { value: "a".into() }
        )
    );
    let (row, col, reason) = value_error(read_transactions(&path, &pq("id2", "amount", "amount")));
    assert_eq!((row, col.as_str()), (1, "amount"));
    assert!(matches!(reason, FieldError::UnknownDateFormat { .. }));
    // Amount errors: a string that is not money, a NaN, a float too large for a decimal.
    let with_dates = dir.join("b2.parquet");
    let d = epoch_days(date(2024, 1, 1));
    write_parquet(
        &with_dates,
        "message m {
            required binary customer_id (STRING);
            required int32 date (DATE);
            required binary amount (STRING);
            required double price;
            required binary id2;
        }",
        &[vec![
            Col::Str(vec!["a", "b", "  "]),
            Col::I32(vec![d, d, d]),
            Col::Str(vec!["1.00", "$5", "1e3"]),
            Col::F64(vec![1.0, f64::NAN, 1e30]),
            Col::Bytes(vec![b"x".to_vec(), vec![0xFF, 0xFE], b"z".to_vec()]),
        ]],
    );
    assert_eq!(
        value_error(read_transactions(&with_dates, &default_pq())),
        (
            2,
            "amount".into(),
            FieldError::BadAmount { value: "$5".into() }
        )
    );
    assert_eq!(
        value_error(read_transactions(
            &with_dates,
            &pq("customer_id", "date", "price")
        )),
        (
            2,
            "price".into(),
            FieldError::NotFinite {
                value: "NaN".into()
            }
        )
    );
    assert_eq!(
        value_error(read_transactions(&with_dates, &pq("id2", "date", "price"))),
        (2, "id2".into(), FieldError::NotUtf8)
    );
    // A blank id (row 3) once the rows before it are fine.
    let no_amount = TransactionFormat::Parquet(ParquetColumns {
        amount: None,
        ..ParquetColumns::default()
    });
    let e = read_transactions(&with_dates, &no_amount).unwrap_err();
    assert_eq!(
        value_error::<()>(Err(e)),
        (3, "customer_id".into(), FieldError::Empty)
    );
}

/// The message of a column error; panics on any other result.
fn column_error<T: std::fmt::Debug>(r: Result<T, EngineError>) -> (String, String) {
    match r {
        Err(EngineError::ParquetColumn { column, reason, .. }) => (column, reason),
        other => panic!("expected a column error, got {other:?}"),
    }
}

#[test]
fn columns_of_the_wrong_type_or_missing_are_named_before_reading() {
    let dir = scratch("types");
    let path = dir.join("t.parquet");
    write_parquet(
        &path,
        "message m {
            required int64 customer_id;
            required int32 date (DATE);
            required int64 amount;
            required double score;
            required boolean flag;
            required int32 day_of (TIME(MILLIS,true));
            required int64 plain_ts;
            required group item { required int64 sku; }
            required binary Amount2 (STRING);
            required binary amount2 (STRING);
        }",
        // No rows: the schema alone decides these errors.
        &[],
    );
    let e = read_transactions(&path, &pq("customer_id", "score", "amount")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: column `score` is DOUBLE; a date must be a DATE, a TIMESTAMP, an INT96 timestamp or a UTF8 string",
            path.display()
        )
    );
    let (c, r) = column_error(read_transactions(&path, &pq("score", "date", "amount")));
    assert_eq!(c, "score");
    assert!(r.starts_with("is DOUBLE; a customer id must be"), "{r}");
    let (c, r) = column_error(read_transactions(&path, &pq("customer_id", "date", "flag")));
    assert_eq!(c, "flag");
    assert!(r.starts_with("is BOOLEAN; an amount must be"), "{r}");
    let (c, r) = column_error(read_transactions(
        &path,
        &pq("customer_id", "day_of", "amount"),
    ));
    assert_eq!(c, "day_of");
    assert!(r.starts_with("is INT32 (Time"), "{r}");
    // An INT64 without a timestamp annotation is not a date: its unit is unknown.
    let (c, r) = column_error(read_transactions(
        &path,
        &pq("customer_id", "plain_ts", "amount"),
    ));
    assert_eq!(c, "plain_ts");
    assert!(r.starts_with("is INT64; a date must be"), "{r}");
    // A DATE is not an amount.
    let (c, r) = column_error(read_transactions(&path, &pq("customer_id", "date", "date")));
    assert_eq!(c, "date");
    assert!(r.starts_with("is INT32 (Date); an amount must be"), "{r}");
    // Missing, ambiguous (names ignore case), nested by dotted path.
    let (c, r) = column_error(read_transactions(&path, &pq("customer", "date", "amount")));
    assert_eq!(c, "customer");
    assert_eq!(
        r,
        "not in the file (found: customer_id, date, amount, score, flag, day_of, plain_ts, item.sku, Amount2, amount2)"
    );
    let (c, r) = column_error(read_transactions(
        &path,
        &pq("customer_id", "date", "AMOUNT2"),
    ));
    assert_eq!(
        (c.as_str(), r.as_str()),
        ("AMOUNT2", "matches two columns, Amount2 and amount2")
    );
    // The schema is fine but there are no rows.
    assert!(matches!(
        read_transactions(&path, &pq("item.sku", "date", "amount")),
        Err(EngineError::NoRows { .. })
    ));
}

#[test]
fn repeated_columns_are_refused() {
    let dir = scratch("repeated");
    let path = dir.join("r.parquet");
    write_parquet(
        &path,
        "message m { required int64 customer_id; required int32 date (DATE); repeated int64 amount; }",
        &[],
    );
    let (c, r) = column_error(read_transactions(&path, &default_pq()));
    assert_eq!(c, "amount");
    assert_eq!(
        r,
        "is a repeated (list) column; one value per row is needed"
    );
}

fn small_file(dir: &Path) -> PathBuf {
    let path = dir.join("small.parquet");
    let d = epoch_days(date(2024, 1, 1));
    write_parquet_with(
        &path,
        "message m {
            required binary customer_id (STRING);
            optional int32 date (DATE);
            required int64 amount (DECIMAL(10,2));
        }",
        &[
            vec![
                Col::Str(vec!["a", "b", "a"]),
                Col::Opt(vec![1, 1, 1], Box::new(Col::I32(vec![d, d + 3, d + 7]))),
                Col::I64(vec![100, 250, 399]),
            ],
            vec![
                Col::Str(vec!["c", "a"]),
                Col::Opt(vec![1, 1], Box::new(Col::I32(vec![d + 8, d + 9]))),
                Col::I64(vec![5, 6]),
            ],
        ],
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    path
}

#[test]
fn truncated_and_corrupt_files_are_clear_errors_not_panics() {
    let dir = scratch("corrupt");
    let good = small_file(&dir);
    let bytes = std::fs::read(&good).unwrap();
    assert_eq!(read_transactions(&good, &default_pq()).unwrap().len(), 5);

    let write = |name: &str, b: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    // Cut anywhere: the footer is gone.
    for cut in [4, 10, bytes.len() / 2, bytes.len() - 1] {
        let p = write("cut.parquet", &bytes[..cut]);
        match read_transactions(&p, &default_pq()) {
            Err(EngineError::Parquet { path, reason }) => {
                assert_eq!(path, p);
                assert!(!reason.is_empty());
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    let p = write("cut.parquet", &bytes[..bytes.len() / 2]);
    let msg = read_transactions(&p, &default_pq())
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with(&format!("{}: cannot read as Parquet: ", p.display())),
        "{msg}"
    );
    let empty = write("empty.parquet", b"");
    assert!(matches!(
        read_transactions(&empty, &default_pq()),
        Err(EngineError::EmptyFile { .. })
    ));
    // Every single byte flipped in turn: each read ends in a value or an error, never a panic
    // (a panic in the decoder is caught and reported as a corrupt file).
    let mut errors = 0;
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5A;
        match read_transactions_from(&b[..], Path::new("flip.parquet"), &default_pq()) {
            Ok(tx) => assert!(tx.len() <= 5),
            Err(
                EngineError::Parquet { .. }
                | EngineError::BadValue { .. }
                | EngineError::ParquetColumn { .. }
                | EngineError::NoRows { .. },
            ) => errors += 1,
            Err(other) => panic!("byte {i}: unexpected {other:?}"),
        }
    }
    assert!(errors > 0);
}

#[test]
fn progress_counts_rows_for_parquet_and_bytes_for_csv() {
    let dir = scratch("progress");
    let n = 150_000usize;
    let d0 = epoch_days(date(2024, 1, 1));
    let ids: Vec<i64> = (0..n as i64).map(|i| i % 5000).collect();
    let days: Vec<i32> = (0..n as i32).map(|i| d0 + i % 300).collect();
    let cents: Vec<i64> = (0..n as i64).map(|i| 100 + i % 997).collect();
    let path = dir.join("big.parquet");
    write_parquet_with(
        &path,
        "message m { required int64 customer_id; required int32 date (DATE); required int64 amount (DECIMAL(12,2)); }",
        &[
            vec![
                Col::I64(ids[..100_000].to_vec()),
                Col::I32(days[..100_000].to_vec()),
                Col::I64(cents[..100_000].to_vec()),
            ],
            vec![
                Col::I64(ids[100_000..].to_vec()),
                Col::I32(days[100_000..].to_vec()),
                Col::I64(cents[100_000..].to_vec()),
            ],
        ],
        WriterProperties::builder().build(),
    );
    let config = SummaryConfig::new(date(2024, 12, 31), TimeUnit::Weeks);
    let mut calls = Vec::new();
    let pq_sum = summarize_file_with_progress(&path, &default_pq(), &config, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    let total = Some(n as u64);
    assert_eq!(calls.first(), Some(&(0, total)));
    assert_eq!(calls.last(), Some(&(n as u64, total)));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "{calls:?}");
    // At most once per 65,536 rows, plus the start and the end.
    assert!(calls.len() <= 2 + n / 65_536, "{calls:?}");
    assert!(calls.len() >= 3, "{calls:?}");

    // The same log as CSV: progress in bytes, ending at the file's size; the same summary.
    let csv_path = dir.join("big.csv");
    let mut text = String::from("customer_id,date,amount\n");
    for i in 0..n {
        let day = date(1970, 1, 1) + chrono::Duration::days(i64::from(days[i]));
        text.push_str(&format!(
            "{},{day},{}.{:02}\n",
            ids[i],
            cents[i] / 100,
            cents[i] % 100
        ));
    }
    std::fs::write(&csv_path, &text).unwrap();
    let mut calls = Vec::new();
    let csv_sum = summarize_file_with_progress(
        &csv_path,
        &TransactionFormat::default(),
        &config,
        &mut |done, total| calls.push((done, total)),
    )
    .unwrap();
    let size = Some(text.len() as u64);
    assert_eq!(calls.first(), Some(&(0, size)));
    assert_eq!(calls.last(), Some(&(text.len() as u64, size)));
    assert!(
        calls.len() <= 2 + n / 65_536 && calls.len() >= 3,
        "{calls:?}"
    );
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(pq_sum.len(), 5000);
    assert_eq!(pq_sum, csv_sum);
}
