//! The crate's one error type. Every error about input names the file; errors about a row
//! name its line; errors about a field also name its column (1-based) and the field.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong reading transactions or summaries, summarizing or writing.
///
/// Lines and columns are 1-based: `line` is the physical line where the record starts
/// (the header is line 1 of a CSV file), `column` is the field's position in its record.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file has no bytes (or only blank lines): not even a header.
    #[error("{}: the file is empty", path.display())]
    EmptyFile { path: PathBuf },
    /// The file has a header but no data rows.
    #[error("{}: no rows after the header", path.display())]
    NoRows { path: PathBuf },
    /// A column the reader needs is not in the header.
    #[error("{}:{line}: no column {wanted} in the header (found: {found}){hint}", path.display())]
    MissingColumn {
        path: PathBuf,
        line: u64,
        /// The accepted names, e.g. "`T` or `periods`".
        wanted: String,
        /// The header as read, comma-separated.
        found: String,
        /// Extra advice, empty or starting with "; ".
        hint: String,
    },
    /// Two header columns name the same field (e.g. `x` and `frequency`, or `date` twice).
    #[error("{}:{line}: columns {first} and {second} both give the {field}", path.display())]
    DuplicateColumn {
        path: PathBuf,
        line: u64,
        field: String,
        /// 1-based column numbers.
        first: usize,
        second: usize,
    },
    /// One field of one row is wrong.
    #[error("{}:{line}:{column}: {field}: {reason}", path.display())]
    BadField {
        path: PathBuf,
        line: u64,
        column: usize,
        /// The field's name: the header as written in the file, or the format's name for it.
        field: String,
        reason: FieldError,
    },
    /// A row is malformed as a whole (unbalanced quotes, too many fields, ...).
    #[error("{}:{line}: {reason}", path.display())]
    BadRow {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// A Parquet file cannot be decoded: it is not Parquet, is truncated or corrupt, or uses a
    /// feature this build does not read (a compression codec other than Snappy, gzip, LZ4 and
    /// Zstandard; encryption).
    #[error("{}: cannot read as Parquet: {reason}", path.display())]
    Parquet { path: PathBuf, reason: String },
    /// A Parquet column the reader needs is missing, matches two columns, is repeated, or has a
    /// type that cannot hold what it is asked for (e.g. a DOUBLE as the date).
    #[error("{}: column `{column}` {reason}", path.display())]
    ParquetColumn {
        path: PathBuf,
        /// The column's name as asked for, or its path in the file once found.
        column: String,
        reason: String,
    },
    /// One value of a Parquet file is wrong: null, or not a valid date or amount. `row` is the
    /// 1-based row number in the file (row groups counted in order).
    #[error("{}: row {row}, column `{column}`: {reason}", path.display())]
    BadValue {
        path: PathBuf,
        row: u64,
        column: String,
        reason: FieldError,
    },
    /// A sum of money does not fit a decimal (about 7.9e28).
    #[error("customer {customer_id}: the sum of amounts overflows a decimal number")]
    Overflow { customer_id: String },
    /// The summary settings contradict each other.
    /// The columnar engine on a cluster failed (the scheduler could not be reached, a stage
    /// failed): the message is the engine's, with the stage where it names one.
    #[error("{}: {reason}", path.display())]
    Engine { path: PathBuf, reason: String },
    #[error("invalid summary settings: {0}")]
    Config(String),
}

/// What is wrong with one field. Carries the offending text where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// The record ends before this field.
    Missing,
    /// The field is present but blank.
    Empty,
    /// The text has a date shape but is not a real date or timestamp (e.g. `2024-02-30`).
    BadDate { value: String, why: String },
    /// The text has none of the accepted date shapes.
    UnknownDateFormat { value: String },
    /// Not an amount of money (exponents, thousands separators and symbols are rejected).
    BadAmount { value: String },
    /// Not a number.
    BadNumber { value: String },
    /// A finite number was needed.
    NotFinite { value: String },
    /// A non-negative number was needed.
    Negative { value: String },
    /// A whole number was needed.
    NotWhole { value: String },
    /// An identifier had the wrong shape (e.g. not digits in the CDNOW format).
    BadId { value: String },
    /// The field is valid alone but contradicts another field of the row.
    Inconsistent { value: String, why: String },
    /// The bytes are not UTF-8.
    NotUtf8,
    /// A null where a value is required (Parquet).
    Null,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Missing => write!(f, "missing (the row ends before this field)"),
            FieldError::Empty => write!(f, "empty"),
            FieldError::BadDate { value, why } => write!(f, "`{value}` is not a valid date: {why}"),
            FieldError::UnknownDateFormat { value } => write!(
                f,
                "`{value}` is not a date format Tenure reads (use YYYY-MM-DD, YYYYMMDD or an RFC 3339 timestamp such as 2024-01-05T10:00:00+02:00)"
            ),
            FieldError::BadAmount { value } => write!(
                f,
                "`{value}` is not an amount of money (write e.g. 12.30: no exponent, thousands separator or currency sign)"
            ),
            FieldError::BadNumber { value } => write!(f, "`{value}` is not a number"),
            FieldError::NotFinite { value } => write!(f, "`{value}` is not a finite number"),
            FieldError::Negative { value } => write!(f, "`{value}` is negative"),
            FieldError::NotWhole { value } => write!(f, "`{value}` is not a whole number"),
            FieldError::BadId { value } => write!(f, "`{value}` is not a valid id"),
            FieldError::Inconsistent { value, why } => write!(f, "`{value}`: {why}"),
            FieldError::NotUtf8 => write!(f, "not valid UTF-8"),
            FieldError::Null => write!(f, "null (every row needs a value)"),
        }
    }
}
