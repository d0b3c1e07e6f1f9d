//! Reading transaction logs: CSV with a header, the CDNOW whitespace format, or Parquet.

use crate::date::parse_date;
use crate::error::{EngineError, FieldError};
use crate::parquet_log::{has_magic, read_parquet, ParquetColumns, PROGRESS_EVERY};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use tenure_core::parse_amount;

/// A progress callback: `(done, total)`, see [`summarize_file_with_progress`](crate::summarize_file_with_progress).
pub(crate) type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// How a transaction log is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionFormat {
    /// CSV with a header row; columns found by name (see [`CsvColumns`]).
    Csv(CsvColumns),
    /// Fader & Hardie's CDNOW files: no header, whitespace-separated fields
    /// `customer-id customer-index YYYYMMDD number-of-CDs dollars` (the count is checked to be a
    /// whole number and otherwise ignored). Ids are read as integers and written without leading
    /// zeros (`0001` → `1`), which is how the published summaries name customers.
    Cdnow(CdnowId),
    /// A Parquet file; columns found by name (see [`ParquetColumns`] for names and the column
    /// types read). Read a row group and a batch at a time.
    Parquet(ParquetColumns),
}

impl TransactionFormat {
    /// Parquet when the file starts with Parquet's magic bytes `PAR1` or its name ends in
    /// `.parquet` (any case), with the same column names; CSV with `columns` otherwise. (CDNOW
    /// files are not detected: ask for [`TransactionFormat::Cdnow`].) Reads the first four bytes.
    pub fn detect(path: &Path, columns: CsvColumns) -> Result<TransactionFormat, EngineError> {
        let mut head = Vec::with_capacity(4);
        open(path)?
            .take(4)
            .read_to_end(&mut head)
            .map_err(|source| EngineError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let by_name = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        Ok(if has_magic(&head) || by_name {
            TransactionFormat::Parquet(ParquetColumns::from(&columns))
        } else {
            TransactionFormat::Csv(columns)
        })
    }
}

impl Default for TransactionFormat {
    /// CSV with columns `customer_id`, `date`, `amount`, comma-separated.
    fn default() -> Self {
        TransactionFormat::Csv(CsvColumns::default())
    }
}

/// Which CDNOW field identifies a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CdnowId {
    /// The second field, the customer index 1..N: the `ID` of the published summaries.
    #[default]
    Index,
    /// The first field, the master customer id.
    Customer,
}

/// The columns of a CSV transaction log, found by header name. Names are matched after trimming
/// spaces and ignoring ASCII case; a name matching two columns is an error. Other columns are
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvColumns {
    /// The customer id column (default `customer_id`). Ids are kept as written (trimmed).
    pub customer_id: String,
    /// The date column (default `date`): `YYYY-MM-DD`, `YYYYMMDD` or an RFC 3339 timestamp, whose
    /// date is taken in the timestamp's own offset.
    pub date: String,
    /// The amount column (default `amount`), read as an exact decimal; `None` when the log has no
    /// amounts, which are then all 0.
    pub amount: Option<String>,
    /// The field separator (default `,`).
    pub delimiter: u8,
}

impl Default for CsvColumns {
    fn default() -> Self {
        CsvColumns {
            customer_id: "customer_id".into(),
            date: "date".into(),
            amount: Some("amount".into()),
            delimiter: b',',
        }
    }
}

/// One purchase as read from a log. `line` is the 1-based line it was read from, or the
/// 1-based row of a Parquet file (0 when the transaction was not read from a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub customer_id: String,
    pub date: NaiveDate,
    pub amount: Decimal,
    pub line: u64,
}

/// Read a whole transaction log into memory. For large files prefer
/// [`summarize_file`](crate::summarize_file), which keeps only what the summary needs.
pub fn read_transactions(
    path: &Path,
    format: &TransactionFormat,
) -> Result<Vec<Transaction>, EngineError> {
    let mut out = Vec::new();
    for_each_transaction_in_file(path, format, &mut push_to(&mut out), &mut |_, _| {})?;
    Ok(out)
}

/// Read transactions from any reader; `path` only names the source in error messages.
/// A Parquet file is read into memory first (its index is at its end); to stream one, give
/// [`read_transactions`] or [`summarize_file`](crate::summarize_file) its path.
pub fn read_transactions_from<R: Read>(
    reader: R,
    path: &Path,
    format: &TransactionFormat,
) -> Result<Vec<Transaction>, EngineError> {
    let mut out = Vec::new();
    for_each_transaction(
        reader,
        path,
        format,
        None,
        &mut push_to(&mut out),
        &mut |_, _| {},
    )?;
    Ok(out)
}

fn push_to(out: &mut Vec<Transaction>) -> impl FnMut(&str, NaiveDate, Decimal, u64) + '_ {
    |id, date, amount, line| {
        out.push(Transaction {
            customer_id: id.to_string(),
            date,
            amount,
            line,
        })
    }
}

pub(crate) fn open(path: &Path) -> Result<File, EngineError> {
    File::open(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// [`for_each_transaction`] on a file: Parquet is streamed from the file, and the progress
/// total of text formats is the file's size.
pub(crate) fn for_each_transaction_in_file(
    path: &Path,
    format: &TransactionFormat,
    f: &mut dyn FnMut(&str, NaiveDate, Decimal, u64),
    progress: Progress<'_>,
) -> Result<(), EngineError> {
    let file = open(path)?;
    match format {
        TransactionFormat::Parquet(cols) => read_parquet(file, path, cols, f, progress),
        _ => {
            let total = file.metadata().ok().map(|m| m.len());
            for_each_transaction(file, path, format, total, f, progress)
        }
    }
}

/// Call `f(customer_id, date, amount, line)` for every transaction, in file order. Stops at the
/// first bad row. `progress(done, total)` is called at the start, after at least every
/// [`PROGRESS_EVERY`] rows, and at the end: with bytes read and `total` for text formats, with
/// rows read and the file's row count for Parquet.
pub(crate) fn for_each_transaction<R: Read>(
    mut reader: R,
    path: &Path,
    format: &TransactionFormat,
    total: Option<u64>,
    f: &mut dyn FnMut(&str, NaiveDate, Decimal, u64),
    progress: Progress<'_>,
) -> Result<(), EngineError> {
    match format {
        TransactionFormat::Csv(cols) => read_csv(reader, path, cols, total, f, progress),
        TransactionFormat::Cdnow(id) => read_cdnow(reader, path, *id, total, f, progress),
        TransactionFormat::Parquet(cols) => {
            let mut buf = Vec::new();
            reader
                .read_to_end(&mut buf)
                .map_err(|source| EngineError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            read_parquet(bytes::Bytes::from(buf), path, cols, f, progress)
        }
    }
}

fn read_csv<R: Read>(
    reader: R,
    path: &Path,
    cols: &CsvColumns,
    total: Option<u64>,
    f: &mut dyn FnMut(&str, NaiveDate, Decimal, u64),
    progress: Progress<'_>,
) -> Result<(), EngineError> {
    let mut rdr = csv_reader(reader, cols.delimiter);
    let mut rec = csv::StringRecord::new();
    let header = read_header(&mut rdr, &mut rec, path)?;
    let id_col = header.find(&cols.customer_id, path)?;
    let date_col = header.find(&cols.date, path)?;
    let amount_col = match &cols.amount {
        Some(name) => Some(header.find(name, path)?),
        None => None,
    };
    let mut rows = 0u64;
    progress(0, total);
    while next_record(&mut rdr, &mut rec, path, &header.names)? {
        rows += 1;
        if rows.is_multiple_of(PROGRESS_EVERY) {
            progress(rdr.position().byte(), total);
        }
        let line = line_of(&rec);
        let field = |col: usize| -> Result<&str, EngineError> {
            csv_field(&rec, col, line, path, &header.names)
        };
        let id = field(id_col)?;
        let date_text = field(date_col)?;
        let date = parse_date(date_text).map_err(|reason| EngineError::BadField {
            path: path.to_path_buf(),
            line,
            column: date_col + 1,
            field: header.names[date_col].clone(),
            reason,
        })?;
        let amount = match amount_col {
            None => Decimal::ZERO,
            Some(c) => {
                let text = field(c)?;
                parse_amount(text).map_err(|_| EngineError::BadField {
                    path: path.to_path_buf(),
                    line,
                    column: c + 1,
                    field: header.names[c].clone(),
                    reason: FieldError::BadAmount {
                        value: text.to_string(),
                    },
                })?
            }
        };
        f(id, date, amount, line);
    }
    if rows == 0 {
        return Err(EngineError::NoRows {
            path: path.to_path_buf(),
        });
    }
    progress(rdr.position().byte(), total);
    Ok(())
}

/// A CSV header: names as written (trimmed) and the line it is on.
pub(crate) struct Header {
    pub(crate) names: Vec<String>,
    pub(crate) line: u64,
}

impl Header {
    /// The 0-based index of the column called `name` (trimmed, ASCII case ignored).
    fn find(&self, name: &str, path: &Path) -> Result<usize, EngineError> {
        let want = name.trim();
        let mut hits = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.eq_ignore_ascii_case(want))
            .map(|(i, _)| i);
        let first = hits.next().ok_or_else(|| EngineError::MissingColumn {
            path: path.to_path_buf(),
            line: self.line,
            wanted: format!("`{want}`"),
            found: self.names.join(","),
            hint: String::new(),
        })?;
        if let Some(second) = hits.next() {
            return Err(EngineError::DuplicateColumn {
                path: path.to_path_buf(),
                line: self.line,
                field: format!("column `{want}`"),
                first: first + 1,
                second: second + 1,
            });
        }
        Ok(first)
    }
}

/// Read the header record; an empty file (no record at all) is [`EngineError::EmptyFile`].
pub(crate) fn read_header<R: Read>(
    rdr: &mut csv::Reader<R>,
    rec: &mut csv::StringRecord,
    path: &Path,
) -> Result<Header, EngineError> {
    let names: Vec<String> = Vec::new();
    if !next_record(rdr, rec, path, &names)? || rec.iter().all(|f| f.trim().is_empty()) {
        return Err(EngineError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(Header {
        names: rec.iter().map(|f| f.trim().to_string()).collect(),
        line: line_of(rec),
    })
}

/// Read the next record; `Ok(false)` at the end of the input.
/// Blank lines (also those holding only spaces or a carriage return) are skipped.
pub(crate) fn next_record<R: Read>(
    rdr: &mut csv::Reader<R>,
    rec: &mut csv::StringRecord,
    path: &Path,
    names: &[String],
) -> Result<bool, EngineError> {
    loop {
        let more = rdr
            .read_record(rec)
            .map_err(|e| csv_error(e, path, names))?;
        let blank = rec.len() == 1 && rec[0].trim().is_empty();
        if !more || !blank {
            return Ok(more);
        }
    }
}

/// A CSV reader without a header row (we read it ourselves), tolerant of short rows (reported
/// as missing fields). Records end at `\n` only: with csv's default CRLF terminator a record's
/// position points at the `\n` left over from the previous `\r\n`, one line too early; here
/// the `\r` stays in the last field, and every field is trimmed when it is read.
pub(crate) fn csv_reader<R: Read>(reader: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader)
}

pub(crate) fn line_of(rec: &csv::StringRecord) -> u64 {
    rec.position().map_or(0, csv::Position::line)
}

/// The `col`-th (0-based) field of a record, trimmed; it must be present and not blank.
pub(crate) fn csv_field<'r>(
    rec: &'r csv::StringRecord,
    col: usize,
    line: u64,
    path: &Path,
    names: &[String],
) -> Result<&'r str, EngineError> {
    let bad = |reason| EngineError::BadField {
        path: path.to_path_buf(),
        line,
        column: col + 1,
        field: column_name(names, col),
        reason,
    };
    match rec.get(col).map(str::trim) {
        None => Err(bad(FieldError::Missing)),
        Some("") => Err(bad(FieldError::Empty)),
        Some(s) => Ok(s),
    }
}

fn column_name(names: &[String], col: usize) -> String {
    names
        .get(col)
        .cloned()
        .unwrap_or_else(|| format!("column {}", col + 1))
}

fn csv_error(e: csv::Error, path: &Path, names: &[String]) -> EngineError {
    let message = e.to_string();
    let line = e.position().map_or(0, csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => EngineError::Io {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::Utf8 { pos, err } => EngineError::BadField {
            path: path.to_path_buf(),
            line: pos.map_or(line, |p| p.line()),
            column: err.field() + 1,
            field: if names.is_empty() {
                "header".to_string()
            } else {
                column_name(names, err.field())
            },
            reason: FieldError::NotUtf8,
        },
        _ => EngineError::BadRow {
            path: path.to_path_buf(),
            line,
            reason: message,
        },
    }
}

const CDNOW_FIELDS: [&str; 5] = [
    "customer id",
    "customer index",
    "date",
    "number of CDs",
    "dollars",
];

fn read_cdnow<R: Read>(
    reader: R,
    path: &Path,
    which: CdnowId,
    total: Option<u64>,
    f: &mut dyn FnMut(&str, NaiveDate, Decimal, u64),
    progress: Progress<'_>,
) -> Result<(), EngineError> {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut rows = 0u64;
    let mut consumed = 0u64;
    progress(0, total);
    let pathbuf = || -> PathBuf { path.to_path_buf() };
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| EngineError::Io {
                path: pathbuf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        consumed += n as u64;
        line += 1;
        let bytes = if line == 1 {
            buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf)
        } else {
            &buf[..]
        };
        let text = std::str::from_utf8(bytes).map_err(|_| EngineError::BadRow {
            path: pathbuf(),
            line,
            reason: "not valid UTF-8".into(),
        })?;
        let mut fields = [""; 5];
        let mut count = 0;
        for (i, tok) in text.split_ascii_whitespace().enumerate() {
            if i >= 5 {
                return Err(EngineError::BadRow {
                    path: pathbuf(),
                    line,
                    reason: format!(
                        "expected 5 whitespace-separated fields (customer id, customer index, YYYYMMDD, number of CDs, dollars), found {}",
                        text.split_ascii_whitespace().count()
                    ),
                });
            }
            fields[i] = tok;
            count = i + 1;
        }
        if count == 0 {
            continue;
        }
        let bad = |col: usize, reason| EngineError::BadField {
            path: pathbuf(),
            line,
            column: col + 1,
            field: CDNOW_FIELDS[col].to_string(),
            reason,
        };
        if count < 5 {
            return Err(bad(count, FieldError::Missing));
        }
        let id_col = match which {
            CdnowId::Customer => 0,
            CdnowId::Index => 1,
        };
        for col in [0, 1, 3] {
            if !fields[col].bytes().all(|b| b.is_ascii_digit()) {
                let value = fields[col].to_string();
                return Err(bad(
                    col,
                    if col == 3 {
                        FieldError::NotWhole { value }
                    } else {
                        FieldError::BadId { value }
                    },
                ));
            }
        }
        let id = match fields[id_col].trim_start_matches('0') {
            "" => "0",
            s => s,
        };
        let date = parse_date(fields[2]).map_err(|r| bad(2, r))?;
        let amount = parse_amount(fields[4]).map_err(|_| {
            bad(
                4,
                FieldError::BadAmount {
                    value: fields[4].to_string(),
                },
            )
        })?;
        rows += 1;
        if rows.is_multiple_of(PROGRESS_EVERY) {
            progress(consumed, total);
        }
        f(id, date, amount, line);
    }
    if rows == 0 {
        return Err(EngineError::EmptyFile { path: pathbuf() });
    }
    progress(consumed, total);
    Ok(())
}
