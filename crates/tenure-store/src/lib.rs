//! Tenure's store: the eleven record kinds of `docs/schema.md` in SQLite (one file, the
//! default) or PostgreSQL, and imports of CSV, JSON-lines and Parquet files into them.
//!
//! Invariants:
//! - **One file = one transaction.** Every row is parsed and validated (types, dates, money,
//!   conditional columns, references to customers and campaigns, duplicate ids) into a
//!   staging table inside the import's transaction; if any row is bad the transaction rolls
//!   back and every bad row (up to [`MAX_REPORTED`]) is returned with its line, column (or
//!   JSON key), field and reason. A crash mid-import leaves
//!   the store as it was.
//! - **Money is integer minor units** (`amount_minor`, `cogs_minor`, `cost_minor`) with its
//!   ISO 4217 currency; an amount with more decimals than its currency has is rejected, never
//!   rounded. Nothing passes through a float.
//! - **Idempotent upserts by id**: re-importing a file changes nothing and reports every row
//!   unchanged; a row is "unchanged" when every stored column equals the new value.
//! - **Migrations are embedded** and recorded in `tenure_schema_version`; opening a store
//!   brings it up to date, and a store from a newer Tenure is refused.
//! - Both backends run the same SQL for staging checks, counts and upserts; only column types
//!   differ (SQLite: UTC text timestamps and decimal text; PostgreSQL: timestamptz, numeric,
//!   jsonb). Booleans are integers 0/1 on both.
//!
//! - The decision layer's state (segment and stage histories, goals, playbook fires, the
//!   delivery outbox) lives in the same database: [`Journal`], one implementation for both.
//!
//! No clock, no environment, no terminal: the caller times the import and draws progress from
//! the [`Progress`] callback.
//!
//! ```no_run
//! use tenure_store::{open, ImportOptions, Location, RecordKind};
//! let mut store = open(&Location::parse("tenure.db")).unwrap();
//! let report = store
//!     .import(RecordKind::Customers, "customers.csv".as_ref(), &ImportOptions::default(), &mut |_| {})
//!     .unwrap();
//! println!("{} inserted, {} updated, {} unchanged", report.inserted, report.updated, report.unchanged);
//! ```

mod convert;
mod csv;
pub mod dataset;
mod error;
mod import;
mod input;
pub mod journal;
mod jsonl;
mod load;
mod one_record;
mod parquet;
mod postgres;
mod schema;
mod sqlite;
pub mod tokens;

pub use dataset::{Dataset, DatasetBuilder, LoadOptions};
pub use error::{ImportError, Loc, Rejection, RowError, StoreError};
pub use input::MAX_FIELD_BYTES;
pub use journal::Journal;
pub use jsonl::MAX_LINE_BYTES;
pub use one_record::RECORD_KINDS;
pub use postgres::PgStore;
pub use schema::SCHEMA_VERSION;
pub use sqlite::SqliteStore;
pub use tenure_core::RecordKind;
use tenure_core::{Currency, MinorUnits, Timestamp, TransactionKind};

use std::path::{Path, PathBuf};

/// At most this many bad rows are listed when a file is rejected (all are counted).
pub const MAX_REPORTED: usize = 100;

/// A place records are kept.
pub trait Store: Send + Journal {
    /// `sqlite:PATH` or the PostgreSQL URL without its password.
    fn location(&self) -> String;
    /// The schema version of the database (after migrating, [`SCHEMA_VERSION`]).
    fn schema_version(&mut self) -> Result<u32, StoreError>;
    /// Import one file of `kind` as one transaction: all its rows or none.
    fn import(
        &mut self,
        kind: RecordKind,
        path: &Path,
        options: &ImportOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ImportReport, ImportError>;
    /// How many records of `kind` are stored.
    fn count(&mut self, kind: RecordKind) -> Result<u64, StoreError>;
    /// Every stored record of `kind` as text, one value per column of
    /// [`columns`](Store::columns), rows sorted: identical on both backends for the same
    /// imports (timestamps `YYYY-MM-DDTHH:MM:SS.ffffffZ`, JSON with sorted keys).
    fn dump(&mut self, kind: RecordKind) -> Result<Vec<Vec<Option<String>>>, StoreError>;
    /// The stored columns of `kind`, `id` first.
    fn columns(&self, kind: RecordKind) -> Vec<&'static str>;
    /// Call `each` with every stored invoice line (`transactions`), in no particular order,
    /// streaming: the rows are never all in memory. Stops at the first stored value that does
    /// not read back (which the import's validation makes impossible short of editing the
    /// database by hand).
    fn for_each_transaction(&mut self, each: &mut dyn FnMut(LedgerLine)) -> Result<(), StoreError>;
    /// The stored records in compact form ([`Dataset`]: interned ids, UTC days, minor units),
    /// for reports: customers always, the other kinds as `options` asks, all read in one
    /// transaction so they are consistent with each other.
    fn load(&mut self, options: &LoadOptions) -> Result<Dataset, StoreError>;
    /// The backend's own consistency check (SQLite: `PRAGMA integrity_check` and
    /// `foreign_key_check`; PostgreSQL: the connection answers).
    fn check_integrity(&mut self) -> Result<(), StoreError>;
}

/// One stored invoice line as summaries need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    pub customer_id: String,
    /// When, in UTC (microseconds).
    pub at: Timestamp,
    /// The amount with its currency, exact (`amount.to_decimal()`); negative for refunds.
    pub amount: MinorUnits,
    pub kind: TransactionKind,
}

/// The columns read for [`LedgerLine`], in order (the time column is read as text).
pub(crate) const LEDGER_COLUMNS: [&str; 5] =
    ["customer_id", "date", "amount_minor", "currency", "kind"];

impl LedgerLine {
    /// A line from its stored text: (customer id, timestamp, minor units, currency, kind).
    pub(crate) fn from_stored(
        customer_id: String,
        at: &str,
        minor: i64,
        currency: &str,
        kind: &str,
    ) -> Result<Self, StoreError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Other(format!(
                "a stored transaction of customer `{customer_id}` has a bad {what}: {e}"
            ))
        };
        let at = Timestamp::parse(at).map_err(|e| bad("date", &e))?;
        let currency = Currency::parse(currency).map_err(|e| bad("currency", &e))?;
        let kind = kind
            .parse::<TransactionKind>()
            .map_err(|e| bad("kind", &e))?;
        Ok(LedgerLine {
            at,
            amount: MinorUnits::new(minor, currency),
            kind,
            customer_id,
        })
    }
}

/// Where the store is: a SQLite file or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// `schema`: keep the tables in this schema (created if missing) instead of the
    /// connection's default `search_path`.
    Postgres {
        url: String,
        schema: Option<String>,
    },
}

impl Location {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else a SQLite path.
    pub fn parse(s: &str) -> Location {
        let lower = s.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Location::Postgres {
                url: s.trim().to_string(),
                schema: None,
            }
        } else {
            Location::Sqlite(PathBuf::from(s))
        }
    }
}

/// Open a store, creating the database (SQLite) and migrating its schema as needed.
pub fn open(location: &Location) -> Result<Box<dyn Store>, StoreError> {
    Ok(match location {
        Location::Sqlite(p) => Box::new(SqliteStore::open(p)?),
        Location::Postgres { url, schema } => Box::new(PgStore::connect(url, schema.as_deref())?),
    })
}

/// The layout of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// RFC 4180 CSV with a header row, UTF-8, comma-separated.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet, flat columns named like the CSV header's (see `docs/schema.md`).
    Parquet,
}

/// How to read a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// `None`: Parquet when the file starts and ends with `PAR1`, else by extension (`.csv`;
    /// `.jsonl`, `.ndjson`, `.json`; `.parquet`, `.parq`, `.pq`).
    pub format: Option<InputFormat>,
    /// (file column, schema column) pairs: the file's column is read as the schema's.
    pub map: Vec<(String, String)>,
}

/// Parse a `--map` argument `FILE_COLUMN=SCHEMA_COLUMN` (split at the last `=`).
pub fn parse_mapping(s: &str) -> Result<(String, String), String> {
    match s.rsplit_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_string(), b.trim().to_string()))
        }
        _ => Err(format!(
            "`{s}` is not FILE_COLUMN=SCHEMA_COLUMN (e.g. \"Customer ID=customer_id\")"
        )),
    }
}

/// What an import did. `rows` = `inserted` + `updated` + `unchanged`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub kind: RecordKind,
    pub file: PathBuf,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// File columns (JSON keys) that name no schema column and were not read.
    pub ignored_columns: Vec<String>,
}

/// Where an import is, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub stage: Stage,
    /// Records read so far.
    pub rows: u64,
    pub bytes_read: u64,
    /// The file's size, when known.
    pub total_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Parsing and validating rows.
    Reading,
    /// Checking references.
    Checking,
    /// Upserting.
    Writing,
    /// Committed.
    Done,
}
