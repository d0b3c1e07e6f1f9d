//! What both readers give the importer: rows of cells indexed by schema column, each cell
//! with the line and column (or key) it came from; and the column mapping (`--map`).

use crate::error::{ImportError, Loc, RowError};
use crate::schema::KindSpec;

/// The longest value accepted in one cell or JSON value, in bytes. Longer values are an error
/// at their cell (the reader stops buffering them at this size).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// One non-empty value as read, not yet validated. Invariant: valid UTF-8 without NUL, at most
/// [`MAX_FIELD_BYTES`] long.
pub(crate) struct Cell {
    pub text: String,
    /// The line the value starts on.
    pub line: u64,
    pub loc: Loc,
}

/// A record as read: `cells[i]` is the value of the kind's file column `i`, `None` when the
/// file has no such column or the value is empty (or JSON `null`).
pub(crate) struct RawRow {
    /// The line the record starts on.
    pub line: u64,
    pub cells: Vec<Option<Cell>>,
}

/// A reader of one input file.
pub(crate) trait RowSource {
    /// The next record, a row-level error (the reader resynchronises at the next record), or
    /// `None` at the end. `Err` only when reading itself fails.
    fn next_row(&mut self) -> Result<Option<Result<RawRow, RowError>>, ImportError>;
    /// Bytes consumed so far (for progress).
    fn bytes_read(&self) -> u64;
    /// Where each schema column is expected: its CSV column or JSON key (for errors about
    /// values that are missing or checked after reading).
    fn locs(&self) -> &[Loc];
    /// File columns (or keys) that map to no schema column and were ignored.
    fn ignored(&self) -> Vec<String>;
    /// What the file's records are called in messages (`line`; Parquet: `row`).
    fn record_word(&self) -> &'static str {
        "line"
    }
}

/// `--map` pairs: file column → schema column.
pub(crate) struct Mapping<'a> {
    pub spec: &'static KindSpec,
    pub pairs: &'a [(String, String)],
    pub kind: &'a str,
}

pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl Mapping<'_> {
    /// Check every target is a column of the kind; return the target indices.
    pub fn targets(&self) -> Result<Vec<usize>, ImportError> {
        self.pairs
            .iter()
            .map(|(from, to)| {
                self.spec
                    .file
                    .iter()
                    .position(|c| same_name(c.name, to))
                    .ok_or_else(|| {
                        let names: Vec<_> = self.spec.file.iter().map(|c| c.name).collect();
                        ImportError::Options(format!(
                            "--map {from}={to}: `{to}` is not a column of {} (columns: {})",
                            self.kind,
                            names.join(", ")
                        ))
                    })
            })
            .collect()
    }
}

/// Resolve a CSV header: for each schema column, the 0-based file column holding it; and the
/// names of the ignored columns. Errors: a `--map` source missing from the header, two columns
/// giving one schema column, a required column missing.
pub(crate) fn resolve_header(
    header: &[String],
    m: &Mapping<'_>,
    file: &std::path::Path,
) -> Result<(Vec<Option<usize>>, Vec<String>), ImportError> {
    let targets = m.targets()?;
    for (from, to) in m.pairs {
        if !header.iter().any(|h| same_name(h, from)) {
            return Err(ImportError::Options(format!(
                "--map {from}={to}: {} has no column `{from}` (its columns: {})",
                file.display(),
                header.join(", ")
            )));
        }
    }
    let mut at: Vec<Option<usize>> = vec![None; m.spec.file.len()];
    let mut ignored = Vec::new();
    for (j, h) in header.iter().enumerate() {
        let target = match m.pairs.iter().position(|(from, _)| same_name(h, from)) {
            Some(p) => Some(targets[p]),
            None => m.spec.file.iter().position(|c| same_name(c.name, h)),
        };
        match target {
            Some(i) => {
                if let Some(prev) = at[i] {
                    return Err(ImportError::File {
                        file: file.to_path_buf(),
                        line: Some(1),
                        reason: format!(
                            "columns {} (`{}`) and {} (`{h}`) both give `{}`",
                            prev + 1,
                            header[prev],
                            j + 1,
                            m.spec.file[i].name
                        ),
                    });
                }
                at[i] = Some(j);
            }
            None => ignored.push(h.clone()),
        }
    }
    let missing: Vec<String> = m
        .spec
        .file
        .iter()
        .zip(&at)
        .filter(|(c, a)| c.required && a.is_none())
        .map(|(c, _)| format!("`{}`", c.name))
        .collect();
    if !missing.is_empty() {
        let s = if missing.len() == 1 { "" } else { "s" };
        return Err(ImportError::File {
            file: file.to_path_buf(),
            line: Some(1),
            reason: format!(
                "missing required column{s} {} (the header has: {}; rename with --map FILE_COLUMN=COLUMN)",
                missing.join(", "),
                header.join(", ")
            ),
        });
    }
    if !m.spec.one_of.is_empty()
        && m.spec.one_of.iter().all(|n| {
            m.spec
                .file_index(n)
                .map(|i| at[i].is_none())
                .unwrap_or(true)
        })
    {
        return Err(ImportError::File {
            file: file.to_path_buf(),
            line: Some(1),
            reason: format!(
                "needs at least one of the columns {} (the header has: {})",
                m.spec.one_of.join(", "),
                header.join(", ")
            ),
        });
    }
    Ok((at, ignored))
}
