//! Reading transaction logs from Parquet files, one batch of rows at a time.
//!
//! The file is read through the `parquet` crate's column readers (no Arrow): for each row group,
//! the id, date and amount columns are decoded in batches of [`BATCH`] rows and handed to the
//! caller row by row, so memory holds a few pages and one batch, never the whole file.
//!
//! The accepted column types are listed on [`ParquetColumns`].

use crate::date::parse_date;
use crate::error::{EngineError, FieldError};
use chrono::NaiveDate;
use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::reader::ColumnReader;
use parquet::data_type::{ByteArray, FixedLenByteArray, Int96};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::schema::types::ColumnDescriptor;
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use tenure_core::parse_amount;

/// Rows decoded per column and per batch.
pub(crate) const BATCH: usize = 8192;

/// Progress is reported after at least this many rows (and once at the end).
pub(crate) const PROGRESS_EVERY: u64 = 65_536;

/// The columns of a Parquet transaction log, found by name: a top-level column's name, or a
/// nested column's dotted path (`order.customer_id`), trimmed and ignoring ASCII case. A name
/// matching two columns is an error; other columns are not read.
///
/// Accepted column types (logical types, or the legacy converted types of older writers):
///
/// | column | types |
/// | --- | --- |
/// | customer id | UTF8 string, or BYTE_ARRAY without annotation holding UTF-8 (trimmed, like CSV ids); INT32/INT64, signed or unsigned (written in decimal) |
/// | date | DATE; TIMESTAMP in milli-, micro- or nanoseconds; INT96 timestamps (Spark, Impala); UTF8 strings in the shapes the CSV reader takes |
/// | amount | DECIMAL (INT32, INT64, FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY; exact); INT32/INT64 (whole units); UTF8 decimal strings; FLOAT/DOUBLE |
///
/// Dates of timestamps: a timestamp *adjusted to UTC* (Parquet's `isAdjustedToUTC = true`, what
/// writers produce from a time-zone-aware column, and what the legacy `TIMESTAMP_MILLIS`,
/// `TIMESTAMP_MICROS` and INT96 mean) is dated **in UTC**: the file keeps the instant but not the
/// offset it was written in, so UTC is the only date it has. A timestamp not adjusted to UTC is a
/// local wall-clock time and is dated by its own date part. (CSV timestamps carry their offset and
/// are dated in it; see the crate docs.)
///
/// Floating-point amounts are the one place a binary float enters Tenure: the file already holds
/// a float, so the value is converted to the *shortest* decimal that reads back as the same float
/// (`0.1_f64` → `0.1`, `19.99_f32` → `19.99`), exactly, and from there on stays decimal. A float
/// that has no such decimal within 28 digits (e.g. `1e-30`, `1e30`) is an error, never rounded.
///
/// Compression: uncompressed, Snappy, gzip, LZ4 and Zstandard (Brotli is not built in and is
/// reported as such). Encrypted files are not read.
///
/// Every null, and every value that is not a valid date or amount, is an
/// [`EngineError::BadValue`] naming the file, the 1-based row and the column. A column of a type
/// not listed above is an [`EngineError::ParquetColumn`], before any row is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetColumns {
    /// The customer id column (default `customer_id`).
    pub customer_id: String,
    /// The date column (default `date`).
    pub date: String,
    /// The amount column (default `amount`); `None` when the log has no amounts, which are then
    /// all 0.
    pub amount: Option<String>,
}

impl Default for ParquetColumns {
    fn default() -> Self {
        ParquetColumns {
            customer_id: "customer_id".into(),
            date: "date".into(),
            amount: Some("amount".into()),
        }
    }
}

impl From<&crate::CsvColumns> for ParquetColumns {
    /// The same column names; the delimiter has no meaning in Parquet.
    fn from(c: &crate::CsvColumns) -> Self {
        ParquetColumns {
            customer_id: c.customer_id.clone(),
            date: c.date.clone(),
            amount: c.amount.clone(),
        }
    }
}

/// Whether `head` (the first bytes of a file) is Parquet's magic number.
pub(crate) fn has_magic(head: &[u8]) -> bool {
    head.starts_with(b"PAR1")
}

fn parquet_error(path: &Path, e: ParquetError) -> EngineError {
    let text = e.to_string();
    let reason = text
        .strip_prefix("Parquet error: ")
        .unwrap_or(&text)
        .to_string();
    let reason = if reason.starts_with("Disabled feature at compile time") {
        format!(
            "{reason} (this build reads uncompressed, Snappy, gzip, LZ4 and Zstandard Parquet files)"
        )
    } else {
        reason
    };
    EngineError::Parquet {
        path: path.to_path_buf(),
        reason,
    }
}

/// Call `f(customer_id, date, amount, row)` for every row of a Parquet file, in file order;
/// `row` is 1-based. `progress(rows done, Some(rows in the file))` is called at the start, after
/// at least every [`PROGRESS_EVERY`] rows, and at the end. Stops at the first bad value.
///
/// A panic inside the `parquet` crate (which can happen on some corrupt files) is caught and
/// reported as [`EngineError::Parquet`]: reading never panics on input.
pub(crate) fn read_parquet<R: ChunkReader + 'static>(
    reader: R,
    path: &Path,
    cols: &ParquetColumns,
    f: &mut dyn FnMut(&str, NaiveDate, Decimal, u64),
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(), EngineError> {
    match catch_unwind(AssertUnwindSafe(|| read(reader, path, cols, f, progress))) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown error".into());
            Err(EngineError::Parquet {
                path: path.to_path_buf(),
                reason: format!("the file is corrupt (the Parquet decoder failed: {what})"),
            })
        }
    }
}

fn read<R: ChunkReader + 'static>(
    reader: R,
    path: &Path,
    cols: &ParquetColumns,
    f: &mut dyn FnMut(&str, NaiveDate, Decimal, u64),
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(), EngineError> {
    let len = reader.len();
    if len == 0 {
        return Err(EngineError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let head = reader
        .get_bytes(0, len.min(4) as usize)
        .map_err(|e| parquet_error(path, e))?;
    if !has_magic(&head) {
        return Err(EngineError::Parquet {
            path: path.to_path_buf(),
            reason: "not a Parquet file (it does not start with `PAR1`)".into(),
        });
    }
    let file = SerializedFileReader::new(reader).map_err(|e| parquet_error(path, e))?;
    let meta = file.metadata();
    let schema = meta.file_metadata().schema_descr();
    let leaves = schema.columns();
    let id = Column::find(leaves, &cols.customer_id, path, Role::Id)?;
    let date = Column::find(leaves, &cols.date, path, Role::Date)?;
    let amount = match &cols.amount {
        Some(name) => Some(Column::find(leaves, name, path, Role::Amount)?),
        None => None,
    };
    let total = u64::try_from(meta.file_metadata().num_rows()).ok();
    if total == Some(0) {
        return Err(EngineError::NoRows {
            path: path.to_path_buf(),
        });
    }

    let mut done = 0u64;
    let mut next_report = PROGRESS_EVERY;
    progress(0, total);
    let mut ids = Batch::default();
    let mut dates = Batch::default();
    let mut amounts = Batch::default();
    let mut text = String::new();
    for g in 0..file.num_row_groups() {
        let group = file.get_row_group(g).map_err(|e| parquet_error(path, e))?;
        let expected = u64::try_from(group.metadata().num_rows()).unwrap_or(0);
        let mut id_reader = ids.open(&*group, &id, path)?;
        let mut date_reader = dates.open(&*group, &date, path)?;
        let mut amount_reader = match &amount {
            Some(c) => Some(amounts.open(&*group, c, path)?),
            None => None,
        };
        let mut in_group = 0u64;
        loop {
            let n = ids.read(&mut id_reader, &id, done, path)?;
            let n_date = dates.read(&mut date_reader, &date, done, path)?;
            let n_amount = match (&mut amount_reader, &amount) {
                (Some(r), Some(c)) => amounts.read(r, c, done, path)?,
                _ => n,
            };
            if n_date != n || n_amount != n {
                return Err(EngineError::Parquet {
                    path: path.to_path_buf(),
                    reason: format!(
                        "the file is corrupt: in row group {}, the columns hold different numbers of rows",
                        g + 1
                    ),
                });
            }
            if n == 0 {
                break;
            }
            for i in 0..n {
                let row = done + i as u64 + 1;
                let customer = ids.id(i, &id, row, &mut text, path)?;
                let day = dates.date(i, &date, row, path)?;
                let value = match &amount {
                    Some(c) => amounts.amount(i, c, row, path)?,
                    None => Decimal::ZERO,
                };
                f(customer, day, value, row);
            }
            done += n as u64;
            in_group += n as u64;
            if done >= next_report {
                progress(done, total);
                next_report = done + PROGRESS_EVERY;
            }
        }
        if in_group != expected {
            return Err(EngineError::Parquet {
                path: path.to_path_buf(),
                reason: format!(
                    "the file is corrupt: row group {} should hold {expected} rows, its columns hold {in_group}",
                    g + 1
                ),
            });
        }
    }
    if done == 0 {
        return Err(EngineError::NoRows {
            path: path.to_path_buf(),
        });
    }
    progress(done, total);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Id,
    Date,
    Amount,
}

impl Role {
    fn expected(self) -> &'static str {
        match self {
            Role::Id => "a customer id must be a UTF8 string or an integer",
            Role::Date => "a date must be a DATE, a TIMESTAMP, an INT96 timestamp or a UTF8 string",
            Role::Amount => {
                "an amount must be a DECIMAL, an integer, a FLOAT or DOUBLE, or a UTF8 string"
            }
        }
    }
}

/// How a column's values are read, decided from its schema before any row is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// UTF8 (or unannotated) BYTE_ARRAY, read as text.
    Text,
    /// INT32 or INT64 integers; `unsigned` for UINT_32/UINT_64.
    Int { unsigned: bool },
    /// INT32 days since 1970-01-01.
    Days,
    /// INT64 time since 1970-01-01T00:00 in units of which a day has `per_day`.
    Timestamp { per_day: i64 },
    /// INT96: nanoseconds of the day and a Julian day number.
    Int96,
    /// DECIMAL with this scale, on any physical type.
    Decimal { scale: u32 },
    /// FLOAT or DOUBLE.
    Float,
}

/// One column the reader needs: its leaf index, name, nullability and kind.
#[derive(Debug)]
struct Column {
    index: usize,
    name: String,
    max_def: i16,
    physical: PhysicalType,
    kind: Kind,
}

impl Column {
    fn find(
        leaves: &[std::sync::Arc<ColumnDescriptor>],
        wanted: &str,
        path: &Path,
        role: Role,
    ) -> Result<Column, EngineError> {
        let want = wanted.trim();
        let mut hits = leaves
            .iter()
            .enumerate()
            .filter(|(_, c)| c.path().string().eq_ignore_ascii_case(want));
        let bad = |reason: String| EngineError::ParquetColumn {
            path: path.to_path_buf(),
            column: want.to_string(),
            reason,
        };
        let Some((index, descr)) = hits.next() else {
            let mut found: Vec<String> =
                leaves.iter().take(20).map(|c| c.path().string()).collect();
            if leaves.len() > 20 {
                found.push(format!("… {} more", leaves.len() - 20));
            }
            return Err(bad(format!(
                "not in the file (found: {})",
                found.join(", ")
            )));
        };
        if let Some((_, other)) = hits.next() {
            return Err(bad(format!(
                "matches two columns, {} and {}",
                descr.path().string(),
                other.path().string()
            )));
        }
        let name = descr.path().string();
        if descr.max_rep_level() > 0 {
            return Err(EngineError::ParquetColumn {
                path: path.to_path_buf(),
                column: name,
                reason: "is a repeated (list) column; one value per row is needed".into(),
            });
        }
        let physical = descr.physical_type();
        let kind = kind_of(descr, role).ok_or_else(|| EngineError::ParquetColumn {
            path: path.to_path_buf(),
            column: name.clone(),
            reason: format!("is {}; {}", describe_type(descr), role.expected()),
        })?;
        Ok(Column {
            index,
            name,
            max_def: descr.max_def_level(),
            physical,
            kind,
        })
    }
}

/// The column's type as a reader would write it, e.g. `INT64 (TIMESTAMP(MICROS, UTC))`.
fn describe_type(d: &ColumnDescriptor) -> String {
    let logical = match d.logical_type_ref() {
        Some(l) => format!(" ({l:?})"),
        None if d.converted_type() != ConvertedType::NONE => format!(" ({})", d.converted_type()),
        None => String::new(),
    };
    format!("{}{logical}", d.physical_type())
}

/// The per-day count of a timestamp unit.
fn per_day(unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::MILLIS => 86_400_000,
        TimeUnit::MICROS => 86_400_000_000,
        TimeUnit::NANOS => 86_400_000_000_000,
    }
}

/// Decide how to read a column for a role, or `None` when its type is not accepted.
fn kind_of(d: &ColumnDescriptor, role: Role) -> Option<Kind> {
    use PhysicalType as P;
    let physical = d.physical_type();
    let logical = d.logical_type_ref();
    let converted = d.converted_type();
    let is_text = match logical {
        Some(LogicalType::String | LogicalType::Enum | LogicalType::Json) => true,
        Some(_) => false,
        None => matches!(
            converted,
            ConvertedType::NONE | ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON
        ),
    } && physical == P::BYTE_ARRAY;
    if is_text {
        return Some(Kind::Text);
    }
    let decimal = match logical {
        Some(LogicalType::Decimal(t)) => Some(t.scale),
        None if converted == ConvertedType::DECIMAL => Some(d.type_scale()),
        _ => None,
    };
    let integer = match (physical, logical) {
        (P::INT32 | P::INT64, Some(LogicalType::Integer(t))) => Some(!t.is_signed),
        (P::INT32 | P::INT64, None) => match converted {
            ConvertedType::NONE
            | ConvertedType::INT_8
            | ConvertedType::INT_16
            | ConvertedType::INT_32
            | ConvertedType::INT_64 => Some(false),
            ConvertedType::UINT_8
            | ConvertedType::UINT_16
            | ConvertedType::UINT_32
            | ConvertedType::UINT_64 => Some(true),
            _ => None,
        },
        _ => None,
    };
    match role {
        Role::Id => integer.map(|unsigned| Kind::Int { unsigned }),
        Role::Date => match (physical, logical) {
            (P::INT32, Some(LogicalType::Date)) => Some(Kind::Days),
            (P::INT64, Some(LogicalType::Timestamp(t))) => Some(Kind::Timestamp {
                per_day: per_day(&t.unit),
            }),
            (P::INT96, _) => Some(Kind::Int96),
            (P::INT32, None) if converted == ConvertedType::DATE => Some(Kind::Days),
            (P::INT64, None) if converted == ConvertedType::TIMESTAMP_MILLIS => {
                Some(Kind::Timestamp {
                    per_day: per_day(&TimeUnit::MILLIS),
                })
            }
            (P::INT64, None) if converted == ConvertedType::TIMESTAMP_MICROS => {
                Some(Kind::Timestamp {
                    per_day: per_day(&TimeUnit::MICROS),
                })
            }
            _ => None,
        },
        Role::Amount => match (physical, decimal, integer) {
            (P::INT32 | P::INT64 | P::FIXED_LEN_BYTE_ARRAY | P::BYTE_ARRAY, Some(scale), _) => {
                u32::try_from(scale)
                    .ok()
                    .map(|scale| Kind::Decimal { scale })
            }
            (_, _, Some(unsigned)) => Some(Kind::Int { unsigned }),
            (P::FLOAT | P::DOUBLE, _, _) if logical.is_none() => Some(Kind::Float),
            _ => None,
        },
    }
}

/// One column's decoded batch: definition levels and the (dense, non-null) values of the
/// column's physical type. (`ByteArray::data` panics only for a value that was never given
/// bytes; the decoders always give them.)
#[derive(Default)]
struct Batch {
    def: Vec<i16>,
    values: Values,
}

#[derive(Default)]
enum Values {
    #[default]
    None,
    I32(Vec<i32>),
    I64(Vec<i64>),
    I96(Vec<Int96>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
    Fixed(Vec<FixedLenByteArray>),
}

fn corrupt(path: &Path, column: &str, why: &str) -> EngineError {
    EngineError::Parquet {
        path: path.to_path_buf(),
        reason: format!("the file is corrupt: column {column}: {why}"),
    }
}

impl Batch {
    /// A column reader for `col` in a row group, with value buffers of its physical type.
    fn open(
        &mut self,
        group: &dyn RowGroupReader,
        col: &Column,
        path: &Path,
    ) -> Result<ColumnReader, EngineError> {
        let reader = group
            .get_column_reader(col.index)
            .map_err(|e| parquet_error(path, e))?;
        self.values = match col.physical {
            PhysicalType::INT32 => Values::I32(Vec::with_capacity(BATCH)),
            PhysicalType::INT64 => Values::I64(Vec::with_capacity(BATCH)),
            PhysicalType::INT96 => Values::I96(Vec::with_capacity(BATCH)),
            PhysicalType::FLOAT => Values::F32(Vec::with_capacity(BATCH)),
            PhysicalType::DOUBLE => Values::F64(Vec::with_capacity(BATCH)),
            PhysicalType::BYTE_ARRAY => Values::Bytes(Vec::with_capacity(BATCH)),
            PhysicalType::FIXED_LEN_BYTE_ARRAY => Values::Fixed(Vec::with_capacity(BATCH)),
            PhysicalType::BOOLEAN => return Err(corrupt(path, &col.name, "unexpected BOOLEAN")),
        };
        Ok(reader)
    }

    /// Read the next batch of up to [`BATCH`] rows; returns how many. Rows before this batch:
    /// `done`. A null is an error at its row.
    fn read(
        &mut self,
        reader: &mut ColumnReader,
        col: &Column,
        done: u64,
        path: &Path,
    ) -> Result<usize, EngineError> {
        self.def.clear();
        let def = Some(&mut self.def);
        let (rows, values, levels) = match (reader, &mut self.values) {
            (ColumnReader::Int32ColumnReader(r), Values::I32(v)) => {
                v.clear();
                r.read_records(BATCH, def, None, v)
            }
            (ColumnReader::Int64ColumnReader(r), Values::I64(v)) => {
                v.clear();
                r.read_records(BATCH, def, None, v)
            }
            (ColumnReader::Int96ColumnReader(r), Values::I96(v)) => {
                v.clear();
                r.read_records(BATCH, def, None, v)
            }
            (ColumnReader::FloatColumnReader(r), Values::F32(v)) => {
                v.clear();
                r.read_records(BATCH, def, None, v)
            }
            (ColumnReader::DoubleColumnReader(r), Values::F64(v)) => {
                v.clear();
                r.read_records(BATCH, def, None, v)
            }
            (ColumnReader::ByteArrayColumnReader(r), Values::Bytes(v)) => {
                v.clear();
                r.read_records(BATCH, def, None, v)
            }
            (ColumnReader::FixedLenByteArrayColumnReader(r), Values::Fixed(v)) => {
                v.clear();
                r.read_records(BATCH, def, None, v)
            }
            _ => return Err(corrupt(path, &col.name, "values of an unexpected type")),
        }
        .map_err(|e| parquet_error(path, e))?;
        if col.max_def > 0 {
            if levels != rows || self.def.len() != rows {
                return Err(corrupt(
                    path,
                    &col.name,
                    "definition levels do not match rows",
                ));
            }
            if let Some(i) = self.def.iter().position(|&d| d < col.max_def) {
                return Err(EngineError::BadValue {
                    path: path.to_path_buf(),
                    row: done + i as u64 + 1,
                    column: col.name.clone(),
                    reason: FieldError::Null,
                });
            }
        }
        if values != rows {
            return Err(corrupt(path, &col.name, "fewer values than rows"));
        }
        Ok(rows)
    }

    /// The text of a BYTE_ARRAY value `i`.
    fn text(&self, i: usize) -> Option<Result<&str, FieldError>> {
        match &self.values {
            Values::Bytes(v) => Some(v.get(i).map_or(Ok(""), |b| {
                std::str::from_utf8(b.data()).map_err(|_| FieldError::NotUtf8)
            })),
            _ => None,
        }
    }

    /// An integer value `i` (INT32 or INT64), widened.
    fn int(&self, i: usize, unsigned: bool) -> Option<i128> {
        match &self.values {
            Values::I32(v) => v.get(i).map(|&x| {
                if unsigned {
                    i128::from(x as u32)
                } else {
                    i128::from(x)
                }
            }),
            Values::I64(v) => v.get(i).map(|&x| {
                if unsigned {
                    i128::from(x as u64)
                } else {
                    i128::from(x)
                }
            }),
            _ => None,
        }
    }

    fn id<'a>(
        &'a self,
        i: usize,
        col: &Column,
        row: u64,
        buf: &'a mut String,
        path: &Path,
    ) -> Result<&'a str, EngineError> {
        let bad = |reason| bad_value(path, row, col, reason);
        match col.kind {
            Kind::Text => match self.text(i) {
                Some(Ok(s)) => match s.trim() {
                    "" => Err(bad(FieldError::Empty)),
                    s => Ok(s),
                },
                Some(Err(e)) => Err(bad(e)),
                None => Err(corrupt(path, &col.name, "missing value")),
            },
            Kind::Int { unsigned } => {
                let v = self
                    .int(i, unsigned)
                    .ok_or_else(|| corrupt(path, &col.name, "missing value"))?;
                buf.clear();
                let _ = write!(buf, "{v}");
                Ok(buf.as_str())
            }
            _ => Err(corrupt(path, &col.name, "unexpected id type")),
        }
    }

    fn date(
        &self,
        i: usize,
        col: &Column,
        row: u64,
        path: &Path,
    ) -> Result<NaiveDate, EngineError> {
        let bad = |reason| bad_value(path, row, col, reason);
        let missing = || corrupt(path, &col.name, "missing value");
        let from_days = |days: i64, raw: &dyn std::fmt::Display| {
            days_to_date(days).ok_or_else(|| {
                bad(FieldError::BadDate {
                    value: raw.to_string(),
                    why: "outside the years Tenure reads".into(),
                })
            })
        };
        match (col.kind, &self.values) {
            (Kind::Text, _) => match self.text(i) {
                Some(Ok(s)) => parse_date(s.trim()).map_err(bad),
                Some(Err(e)) => Err(bad(e)),
                None => Err(missing()),
            },
            (Kind::Days, Values::I32(v)) => {
                let &d = v.get(i).ok_or_else(missing)?;
                from_days(i64::from(d), &d)
            }
            (Kind::Timestamp { per_day }, Values::I64(v)) => {
                let &t = v.get(i).ok_or_else(missing)?;
                from_days(t.div_euclid(per_day), &t)
            }
            (Kind::Int96, Values::I96(v)) => {
                let t = v.get(i).ok_or_else(missing)?;
                let d = t.data();
                let nanos = u64::from(d[0]) | (u64::from(d[1]) << 32);
                // Julian day 2440588 is 1970-01-01.
                let days = i64::from(d[2]) - 2_440_588 + (nanos / 86_400_000_000_000) as i64;
                from_days(days, &format!("INT96 Julian day {}", d[2]))
            }
            _ => Err(corrupt(path, &col.name, "unexpected date type")),
        }
    }

    fn amount(
        &self,
        i: usize,
        col: &Column,
        row: u64,
        path: &Path,
    ) -> Result<Decimal, EngineError> {
        let bad = |reason| bad_value(path, row, col, reason);
        let missing = || corrupt(path, &col.name, "missing value");
        let too_big = |value: String| {
            bad(FieldError::Inconsistent {
                value,
                why: "does not fit a decimal number (28 significant digits)".into(),
            })
        };
        match col.kind {
            Kind::Text => match self.text(i) {
                Some(Ok(s)) => parse_amount(s).map_err(|_| {
                    bad(FieldError::BadAmount {
                        value: s.trim().to_string(),
                    })
                }),
                Some(Err(e)) => Err(bad(e)),
                None => Err(missing()),
            },
            Kind::Int { unsigned } => {
                let v = self.int(i, unsigned).ok_or_else(missing)?;
                decimal(v, 0).ok_or_else(|| too_big(v.to_string()))
            }
            Kind::Decimal { scale } => {
                let unscaled = match &self.values {
                    // DECIMAL in INT32/INT64 with a scale of at most 28 (the common case)
                    // needs no i128 arithmetic.
                    Values::I64(v) => {
                        let &x = v.get(i).ok_or_else(missing)?;
                        if let Ok(d) = Decimal::try_new(x, scale) {
                            return Ok(d);
                        }
                        i128::from(x)
                    }
                    Values::I32(v) => {
                        let &x = v.get(i).ok_or_else(missing)?;
                        if let Ok(d) = Decimal::try_new(i64::from(x), scale) {
                            return Ok(d);
                        }
                        i128::from(x)
                    }
                    Values::Bytes(v) => {
                        let b = v.get(i).ok_or_else(missing)?;
                        be_int(b.data()).ok_or_else(|| too_big(hex(b.data())))?
                    }
                    Values::Fixed(v) => {
                        let b = v.get(i).ok_or_else(missing)?;
                        be_int(b.data()).ok_or_else(|| too_big(hex(b.data())))?
                    }
                    _ => return Err(corrupt(path, &col.name, "unexpected decimal type")),
                };
                decimal(unscaled, scale)
                    .ok_or_else(|| too_big(format!("{unscaled} at scale {scale}")))
            }
            Kind::Float => {
                let (finite, text) = match &self.values {
                    Values::F32(v) => {
                        let x = *v.get(i).ok_or_else(missing)?;
                        (x.is_finite(), x.to_string())
                    }
                    Values::F64(v) => {
                        let x = *v.get(i).ok_or_else(missing)?;
                        (x.is_finite(), x.to_string())
                    }
                    _ => return Err(corrupt(path, &col.name, "unexpected float type")),
                };
                if !finite {
                    return Err(bad(FieldError::NotFinite { value: text }));
                }
                float_to_decimal(&text).ok_or_else(|| {
                    bad(FieldError::Inconsistent {
                        value: text,
                        why: "has no exact decimal within 28 digits".into(),
                    })
                })
            }
            _ => Err(corrupt(path, &col.name, "unexpected amount type")),
        }
    }
}

fn bad_value(path: &Path, row: u64, col: &Column, reason: FieldError) -> EngineError {
    EngineError::BadValue {
        path: path.to_path_buf(),
        row,
        column: col.name.clone(),
        reason,
    }
}

/// Days since 1970-01-01 to a date, `None` outside chrono's range.
fn days_to_date(days: i64) -> Option<NaiveDate> {
    // 0001-01-01 is day 1 of the common era; 1970-01-01 is day 719,163.
    let ce = i32::try_from(days.checked_add(719_163)?).ok()?;
    NaiveDate::from_num_days_from_ce_opt(ce)
}

/// A big-endian two's-complement integer of at most 16 significant bytes.
fn be_int(bytes: &[u8]) -> Option<i128> {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let fill = if negative { 0xFF } else { 0x00 };
    let extra = bytes.len().saturating_sub(16);
    let (sign_ext, digits) = bytes.split_at(extra);
    if sign_ext.iter().any(|&b| b != fill) {
        return None;
    }
    let mut buf = [fill; 16];
    buf[16 - digits.len()..].copy_from_slice(digits);
    let v = i128::from_be_bytes(buf);
    // The dropped bytes are sign extension only if the kept ones have the same sign.
    (extra == 0 || (v < 0) == negative).then_some(v)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `unscaled × 10^-scale` exactly, dropping trailing zeros when the scale is above 28;
/// `None` when it does not fit a decimal.
fn decimal(mut unscaled: i128, mut scale: u32) -> Option<Decimal> {
    while scale > 28 && unscaled % 10 == 0 {
        unscaled /= 10;
        scale -= 1;
    }
    Decimal::try_from_i128_with_scale(unscaled, scale).ok()
}

/// A float's shortest round-trip decimal text (Rust's `Display` for floats: no exponent) as an
/// exact decimal; `None` when it needs more than a decimal holds. Negative zero becomes 0.
fn float_to_decimal(text: &str) -> Option<Decimal> {
    let mut d = Decimal::from_str_exact(text).ok()?;
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    Some(d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_decimals() {
        assert_eq!(be_int(&[]), Some(0));
        assert_eq!(be_int(&[0x04, 0xD2]), Some(1234));
        assert_eq!(be_int(&[0xFB, 0x2E]), Some(-1234));
        assert_eq!(be_int(&[0xFF]), Some(-1));
        // 17 bytes whose first is sign extension.
        let mut b = vec![0xFF; 17];
        b[16] = 0xFE;
        assert_eq!(be_int(&b), Some(-2));
        let mut b = vec![0x00; 17];
        b[16] = 7;
        assert_eq!(be_int(&b), Some(7));
        // 17 significant bytes do not fit.
        let mut b = vec![0x00; 17];
        b[0] = 1;
        assert_eq!(be_int(&b), None);
        // Sign extension whose kept part has the other sign: not a sign extension.
        let mut b = vec![0x00; 17];
        b[1] = 0x80;
        assert_eq!(be_int(&b), None);
    }

    #[test]
    fn decimals_keep_their_scale_and_reject_overflow() {
        assert_eq!(decimal(1234, 2).unwrap().to_string(), "12.34");
        assert_eq!(decimal(-5, 0).unwrap().to_string(), "-5");
        assert_eq!(
            decimal(1_000, 30).unwrap().to_string(),
            "0.0000000000000000000000000010"
        );
        assert_eq!(decimal(1_001, 30), None);
        assert_eq!(decimal(i128::MAX, 0), None);
    }

    #[test]
    fn floats_become_their_shortest_decimal() {
        assert_eq!(
            float_to_decimal(&0.1_f64.to_string()).unwrap().to_string(),
            "0.1"
        );
        assert_eq!(
            float_to_decimal(&19.99_f32.to_string())
                .unwrap()
                .to_string(),
            "19.99"
        );
        // Widened to f64 first, 19.99_f32 would be 19.9899997711181640625.
        assert_ne!(f64::from(19.99_f32).to_string(), "19.99");
        assert_eq!(
            float_to_decimal(&(-0.0_f64).to_string())
                .unwrap()
                .to_string(),
            "0"
        );
        assert_eq!(float_to_decimal(&1e-30_f64.to_string()), None);
        assert_eq!(float_to_decimal(&1e30_f64.to_string()), None);
        assert_eq!(
            float_to_decimal(&123_456.78_f64.to_string())
                .unwrap()
                .to_string(),
            "123456.78"
        );
    }

    #[test]
    fn epoch_days() {
        assert_eq!(days_to_date(0), NaiveDate::from_ymd_opt(1970, 1, 1));
        assert_eq!(days_to_date(-1), NaiveDate::from_ymd_opt(1969, 12, 31));
        assert_eq!(days_to_date(9861), NaiveDate::from_ymd_opt(1996, 12, 31));
        assert_eq!(days_to_date(i64::MAX), None);
        assert_eq!(days_to_date(i64::from(i32::MAX)), None);
    }
}
