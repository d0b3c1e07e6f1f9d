//! The store's errors: a failing store (connection, SQL, migration) and a rejected input
//! (bad rows, a bad file, a bad column mapping) are different things to the caller.

use std::fmt;
use std::path::{Path, PathBuf};

/// The store failed: not the input's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite {place}: {source}")]
    Sqlite {
        place: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("PostgreSQL {place}: {}", pg_message(source))]
    Postgres {
        place: String,
        #[source]
        source: postgres::Error,
    },
    #[error("{place}: the database is at schema version {found}, newer than this tenure's {known}; upgrade tenure")]
    SchemaTooNew {
        place: String,
        found: u32,
        known: u32,
    },
    #[error("{0}")]
    Other(String),
}

/// PostgreSQL's own message when the server sent one (the client's `Display` says only
/// "db error").
fn pg_message(e: &postgres::Error) -> String {
    use std::error::Error;
    match (e.as_db_error(), e.source()) {
        (Some(db), _) => format!("{}: {}", db.severity(), db.message()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

/// Where in a file a value is: a CSV column (1-based) or a JSON key; `Row` for problems of
/// the whole record; `RowColumn` for files without lines (Parquet): the column's name, with
/// the error's `line` the 1-based row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loc {
    Column(usize),
    Key(String),
    Row,
    RowColumn(String),
}

/// One bad row: `FILE:LINE:COLUMN: field: reason` (JSON lines: the key in place of the
/// column). `line` is 1-based, counting every line of the file (header and blank lines too).
/// Parquet (`Loc::RowColumn`): `FILE: row N, column NAME: field: reason`, `line` the 1-based
/// row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub loc: Loc,
    /// The schema column (`docs/schema.md`), or `row` for the whole record.
    pub field: String,
    pub reason: String,
}

impl RowError {
    /// The message, prefixed by the file's name as given.
    pub fn in_file(&self, file: &Path) -> String {
        if let Loc::RowColumn(c) = &self.loc {
            return format!(
                "{}: row {}, column {c}: {}: {}",
                file.display(),
                self.line,
                self.field,
                self.reason
            );
        }
        let loc = match &self.loc {
            Loc::Column(c) => format!(":{c}"),
            Loc::Key(k) => format!(":{k}"),
            Loc::Row | Loc::RowColumn(_) => String::new(),
        };
        format!(
            "{}:{}{loc}: {}: {}",
            file.display(),
            self.line,
            self.field,
            self.reason
        )
    }
}

/// A file with bad rows: nothing of it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub file: PathBuf,
    /// The first bad rows by line, at most [`MAX_REPORTED`](crate::MAX_REPORTED).
    pub errors: Vec<RowError>,
    /// How many rows were bad in all.
    pub bad_rows: u64,
}

impl Rejection {
    /// One line per reported row, then `… and N more bad rows` when some were left out.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.errors.iter().map(|e| e.in_file(&self.file)).collect();
        let rest = self.bad_rows.saturating_sub(self.errors.len() as u64);
        if rest > 0 {
            let s = if rest == 1 { "" } else { "s" };
            out.push(format!("… and {rest} more bad row{s}"));
        }
        out
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.bad_rows == 1 { "" } else { "s" };
        write!(
            f,
            "{}: {} bad row{s}; nothing was imported",
            self.file.display(),
            self.bad_rows
        )
    }
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Some rows are bad; each is listed.
    #[error("{0}")]
    Rejected(Rejection),
    /// The file as a whole is unusable (empty, no header, a required column missing).
    #[error("{}{}: {reason}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    File {
        file: PathBuf,
        line: Option<u64>,
        reason: String,
    },
    /// The options do not fit the file or the kind (`--map`, the format).
    #[error("{0}")]
    Options(String),
    /// The file could not be read.
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// True when the input is at fault (bad rows, file or options; a missing or unreadable
    /// file), false when the store or the system failed.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ImportError::Rejected(_) | ImportError::File { .. } | ImportError::Options(_) => true,
            ImportError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            ),
            ImportError::Store(_) => false,
        }
    }
}
