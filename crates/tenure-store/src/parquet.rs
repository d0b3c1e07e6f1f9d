//! Parquet files as rows of text cells, so they pass through the same validation as CSV and
//! JSON lines (`convert`): each cell becomes the text a CSV would hold for it.
//!
//! | Parquet value | text |
//! | --- | --- |
//! | UTF8 string, BYTE_ARRAY holding UTF-8 | as is (trimmed later, like CSV) |
//! | INT8 … INT64, unsigned too | decimal digits |
//! | DECIMAL (INT32, INT64, FIXED_LEN_BYTE_ARRAY, BYTE_ARRAY) | the exact decimal, `12.50` for 1250 at scale 2 |
//! | DATE | `YYYY-MM-DD` |
//! | TIMESTAMP (milli-, micro-, nanoseconds), INT96 | `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC; a timestamp not adjusted to UTC is taken as UTC, as a CSV timestamp without offset is); nanoseconds that are not whole microseconds keep nine digits and are rejected as finer than a microsecond |
//! | BOOLEAN | `true` / `false` |
//! | FLOAT / DOUBLE | the shortest decimal that reads back as the same float (`0.1`, `19.99`): the file already holds a binary float, this is the one place it enters; NaN and infinities are errors |
//! | null | absent (an empty CSV cell) |
//!
//! Nested columns (groups, lists, maps), FLOAT16 and times of day are not read: a nested
//! column that gives a schema column is an error before any row is read, the others an error
//! at their row. Errors read `FILE: row N, column NAME: field: reason` (rows 1-based, not
//! counting a header: Parquet has none). The file is read row group by row group through the
//! `parquet` crate's record reader, projected to the columns the kind needs; a file the decoder
//! cannot read (corrupt, truncated) is an error for the whole file, and its panics, which some
//! corrupt files cause inside the decoder, are caught and reported the same way.

use crate::error::{ImportError, Loc, RowError};
use crate::input::{resolve_header, Cell, Mapping, RawRow, RowSource, MAX_FIELD_BYTES};
use chrono::{DateTime, NaiveDate};
use parquet::basic::{LogicalType, TimeUnit};
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::record::reader::RowIter;
use parquet::record::Field;
use parquet::schema::types::Type;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The first four bytes (and the last four) of every Parquet file.
pub(crate) const MAGIC: &[u8; 4] = b"PAR1";

/// Whether the file starts and ends with the Parquet magic bytes.
pub(crate) fn looks_like_parquet(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 4];
    let mut tail = [0u8; 4];
    f.read_exact(&mut head).is_ok()
        && &head == MAGIC
        && f.seek(SeekFrom::End(-4)).is_ok()
        && f.read_exact(&mut tail).is_ok()
        && &tail == MAGIC
}

/// The unit of a TIMESTAMP column whose values the record reader hands over as plain integers
/// (it knows only the legacy converted types, which a timestamp not adjusted to UTC, or in
/// nanoseconds, does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsUnit {
    Millis,
    Micros,
    Nanos,
}

pub(crate) struct ParquetSource {
    file: PathBuf,
    rows: RowIter<'static>,
    /// For each projected column (file order), the schema column it gives.
    target: Vec<usize>,
    /// For each projected column, its timestamp unit when it is a TIMESTAMP.
    ts: Vec<Option<TsUnit>>,
    names: Vec<&'static str>,
    locs: Vec<Loc>,
    ignored: Vec<String>,
    row: u64,
    total_rows: u64,
    total_bytes: u64,
    done: bool,
}

/// The message of a caught panic.
fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the decoder failed".into())
}

impl ParquetSource {
    pub fn new(
        file: std::fs::File,
        path: &Path,
        total_bytes: u64,
        m: &Mapping<'_>,
    ) -> Result<Self, ImportError> {
        let bad = |reason: String| ImportError::File {
            file: path.to_path_buf(),
            line: None,
            reason,
        };
        let reader = catch_unwind(AssertUnwindSafe(|| SerializedFileReader::new(file)))
            .map_err(|p| bad(format!("not a readable Parquet file: {}", panic_text(p))))?
            .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?;
        let meta = reader.metadata().file_metadata();
        let total_rows = meta.num_rows().max(0) as u64;
        let root = meta.schema();
        let fields = root.get_fields();
        let header: Vec<String> = fields.iter().map(|f| f.name().trim().to_string()).collect();
        let (at, ignored) = resolve_header(&header, m, path)?;
        // (file column, schema column), in file order: the projection keeps the file's order.
        let mut chosen: Vec<(usize, usize)> = at
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.map(|j| (j, i)))
            .collect();
        chosen.sort_unstable();
        let mut ts = Vec::with_capacity(chosen.len());
        for &(j, i) in &chosen {
            let f = &fields[j];
            if !f.is_primitive() {
                return Err(bad(format!(
                    "column `{}` (for `{}`) is nested (a group, list or map); only flat columns are read",
                    f.name(),
                    m.spec.file[i].name
                )));
            }
            ts.push(match f.get_basic_info().logical_type_ref() {
                Some(LogicalType::Timestamp(t)) => Some(match t.unit {
                    TimeUnit::MILLIS => TsUnit::Millis,
                    TimeUnit::MICROS => TsUnit::Micros,
                    TimeUnit::NANOS => TsUnit::Nanos,
                }),
                _ => None,
            });
        }
        let projection = Type::group_type_builder(root.name())
            .with_fields(
                chosen
                    .iter()
                    .map(|&(j, _)| Arc::clone(&fields[j]))
                    .collect(),
            )
            .build()
            .map_err(|e| bad(format!("cannot select the columns: {e}")))?;
        let rows = RowIter::from_file_into(Box::new(reader))
            .project(Some(projection))
            .map_err(|e| bad(format!("cannot select the columns: {e}")))?;
        let locs = at
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Loc::RowColumn(match a {
                    Some(j) => header[*j].clone(),
                    None => m.spec.file[i].name.to_string(),
                })
            })
            .collect();
        Ok(ParquetSource {
            file: path.to_path_buf(),
            rows,
            target: chosen.iter().map(|&(_, i)| i).collect(),
            ts,
            names: m.spec.file.iter().map(|c| c.name).collect(),
            locs,
            ignored,
            row: 0,
            total_rows,
            total_bytes,
            done: false,
        })
    }

    fn corrupt(&self, why: String) -> ImportError {
        ImportError::File {
            file: self.file.clone(),
            line: None,
            reason: format!(
                "cannot decode row {} (is the file corrupt or truncated?): {why}",
                self.row + 1
            ),
        }
    }
}

impl RowSource for ParquetSource {
    fn next_row(&mut self) -> Result<Option<Result<RawRow, RowError>>, ImportError> {
        if self.done {
            return Ok(None);
        }
        let next = catch_unwind(AssertUnwindSafe(|| self.rows.next()));
        let row = match next {
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Ok(Some(Ok(r))) => r,
            Ok(Some(Err(e))) => {
                self.done = true;
                return Err(self.corrupt(e.to_string()));
            }
            Err(p) => {
                self.done = true;
                return Err(self.corrupt(panic_text(p)));
            }
        };
        self.row += 1;
        let line = self.row;
        let mut cells: Vec<Option<Cell>> = (0..self.names.len()).map(|_| None).collect();
        for (k, (_, field)) in row.get_column_iter().enumerate() {
            let (Some(&i), Some(&ts)) = (self.target.get(k), self.ts.get(k)) else {
                continue;
            };
            let err = |reason: String| RowError {
                line,
                loc: self.locs[i].clone(),
                field: self.names[i].to_string(),
                reason,
            };
            let text = match cell_text(field, ts) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(reason) => return Ok(Some(Err(err(reason)))),
            };
            if text.len() > MAX_FIELD_BYTES {
                return Ok(Some(Err(err(format!(
                    "value is {} bytes long; at most {MAX_FIELD_BYTES}",
                    text.len()
                )))));
            }
            if text.contains('\0') {
                return Ok(Some(Err(err("contains a NUL character".into()))));
            }
            if !text.is_empty() {
                cells[i] = Some(Cell {
                    text,
                    line,
                    loc: self.locs[i].clone(),
                });
            }
        }
        Ok(Some(Ok(RawRow { line, cells })))
    }
    fn bytes_read(&self) -> u64 {
        // Rows, not bytes, are what a Parquet reader knows: scale them to the file's size.
        match self.total_rows {
            0 => 0,
            n => (self.total_bytes as u128 * u128::from(self.row.min(n)) / u128::from(n)) as u64,
        }
    }
    fn locs(&self) -> &[Loc] {
        &self.locs
    }
    fn ignored(&self) -> Vec<String> {
        self.ignored.clone()
    }
    fn record_word(&self) -> &'static str {
        "row"
    }
}

/// The text of one value (see the module docs); `None` for null.
fn cell_text(field: &Field, ts: Option<TsUnit>) -> Result<Option<String>, String> {
    Ok(Some(match field {
        Field::Null => return Ok(None),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => s.to_string(),
            Err(e) => {
                return Err(format!(
                    "not valid UTF-8 (byte {} of the value)",
                    e.valid_up_to() + 1
                ))
            }
        },
        Field::Bool(b) => b.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => match ts {
            Some(unit) => timestamp_text(*v, unit)?,
            None => v.to_string(),
        },
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Float(v) => float_text(f64::from(*v), v.is_finite(), || v.to_string())?,
        Field::Double(v) => float_text(*v, v.is_finite(), || v.to_string())?,
        Field::Decimal(d) => decimal_text(d.data(), d.scale())?,
        Field::Date(days) => NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .ok_or_else(|| format!("DATE {days} (days since 1970-01-01) is out of range"))?,
        Field::TimestampMillis(v) => timestamp_text(*v, TsUnit::Millis)?,
        Field::TimestampMicros(v) => timestamp_text(*v, TsUnit::Micros)?,
        Field::Float16(_) => return Err("a half-precision float is not read".into()),
        Field::TimeMillis(_) | Field::TimeMicros(_) => {
            return Err("a time of day (TIME) is not a date or a timestamp".into())
        }
        Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => {
            return Err("a nested value is not read".into())
        }
    }))
}

/// A float as the shortest decimal that reads back as the same float (Rust's `Display` for
/// `f32`/`f64`, which never uses an exponent).
fn float_text(v: f64, finite: bool, shortest: impl Fn() -> String) -> Result<String, String> {
    if !finite {
        return Err(format!("{v} is not a number"));
    }
    Ok(shortest())
}

/// A DECIMAL's unscaled big-endian two's-complement integer at `scale`, exactly.
fn decimal_text(bytes: &[u8], scale: i32) -> Result<String, String> {
    if bytes.is_empty() || bytes.len() > 16 {
        return Err(format!(
            "a DECIMAL of {} bytes is not read (at most 16)",
            bytes.len()
        ));
    }
    let mut v: i128 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
    for b in bytes {
        v = (v << 8) | i128::from(*b);
    }
    let scale = usize::try_from(scale).map_err(|_| format!("DECIMAL scale {scale} is negative"))?;
    let sign = if v < 0 { "-" } else { "" };
    let digits = v.unsigned_abs().to_string();
    if scale == 0 {
        return Ok(format!("{sign}{digits}"));
    }
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    Ok(format!("{sign}{int}.{frac}"))
}

/// A timestamp in `unit` since 1970-01-01T00:00:00Z as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn timestamp_text(v: i64, unit: TsUnit) -> Result<String, String> {
    let out_of_range = || format!("timestamp {v} is out of range");
    let micros = match unit {
        TsUnit::Millis => v.checked_mul(1000).ok_or_else(out_of_range)?,
        TsUnit::Micros => v,
        TsUnit::Nanos if v % 1000 == 0 => v / 1000,
        TsUnit::Nanos => {
            let t = DateTime::from_timestamp_nanos(v);
            return Ok(t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string());
        }
    };
    let t = DateTime::from_timestamp_micros(micros).ok_or_else(out_of_range)?;
    Ok(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal_text(&1250i64.to_be_bytes(), 2).unwrap(), "12.50");
        assert_eq!(decimal_text(&(-5i32).to_be_bytes(), 3).unwrap(), "-0.005");
        assert_eq!(decimal_text(&[0x01, 0x00], 0).unwrap(), "256");
        assert_eq!(decimal_text(&[0xff, 0x38], 1).unwrap(), "-20.0");
        let big = i128::MAX.to_be_bytes();
        assert_eq!(
            decimal_text(&big, 10).unwrap(),
            "17014118346046923173168730371.5884105727"
        );
        assert!(decimal_text(&[], 2).is_err());
        assert!(decimal_text(&[0; 17], 2).is_err());
    }

    #[test]
    fn times_are_utc_text() {
        assert_eq!(
            timestamp_text(1_541_186_529_153, TsUnit::Millis).unwrap(),
            "2018-11-02T19:22:09.153000Z"
        );
        assert_eq!(
            timestamp_text(-1, TsUnit::Micros).unwrap(),
            "1969-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            timestamp_text(1_000, TsUnit::Nanos).unwrap(),
            "1970-01-01T00:00:00.000001Z"
        );
        assert_eq!(
            timestamp_text(1, TsUnit::Nanos).unwrap(),
            "1970-01-01T00:00:00.000000001Z"
        );
        assert!(timestamp_text(i64::MAX, TsUnit::Millis).is_err());
        assert_eq!(
            cell_text(&Field::Date(19_000), None).unwrap().unwrap(),
            "2022-01-08"
        );
        assert_eq!(
            cell_text(&Field::Date(-719_162), None).unwrap().unwrap(),
            "0001-01-01"
        );
    }

    #[test]
    fn floats_are_their_shortest_decimal() {
        assert_eq!(
            cell_text(&Field::Double(0.1), None).unwrap().unwrap(),
            "0.1"
        );
        assert_eq!(
            cell_text(&Field::Float(19.99), None).unwrap().unwrap(),
            "19.99"
        );
        assert!(cell_text(&Field::Double(f64::NAN), None).is_err());
        assert_eq!(cell_text(&Field::Null, None).unwrap(), None);
        assert_eq!(
            cell_text(&Field::Long(5), Some(TsUnit::Micros))
                .unwrap()
                .unwrap(),
            "1970-01-01T00:00:00.000005Z"
        );
    }
}
