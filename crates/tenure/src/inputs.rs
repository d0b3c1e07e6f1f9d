//! Reading model inputs and mapping library errors to `file:line:column: reason`.

use crate::error::CliError;
use std::path::Path;
use tenure_engine::{read_summaries, EngineError, SummaryRow};
use tenure_models::DataError;

/// Map an engine error: I/O failures other than a missing file are failures (exit 1); the rest
/// is bad input (exit 2). The engine's messages already name file, line and column.
pub fn engine_error(e: EngineError) -> CliError {
    match e {
        EngineError::Io { path, source } => CliError::io(&path, source),
        other => CliError::input(other.to_string()),
    }
}

/// Read a summary file.
pub fn summaries(path: &Path) -> Result<Vec<SummaryRow>, CliError> {
    read_summaries(path).map_err(engine_error)
}

/// The 1-based column of a summary field in the file's header, for error messages.
fn column_of(path: &Path, field: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let header = text.lines().next()?;
    let aliases: &[&str] = match field {
        "frequency" => &["frequency", "x"],
        "recency" => &["recency", "t_x"],
        "T" => &["T", "periods"],
        "weight" => &["weights", "weight"],
        "monetary_value" => &["monetary_value", "zbar", "monetary"],
        _ => &[],
    };
    header
        .split(',')
        .position(|h| {
            aliases
                .iter()
                .any(|a| h.trim().eq_ignore_ascii_case(a) && (h.trim() != "t" || *a != "T"))
        })
        .map(|i| i + 1)
}

/// Point a model's data error at the file: the row's line and, where known, the field's column.
pub fn data_error(path: &Path, rows: &[SummaryRow], e: DataError) -> CliError {
    match e.row().and_then(|i| rows.get(i)) {
        Some(row) => {
            let col = e.field().and_then(|f| column_of(path, f));
            CliError::at(path, row.line as usize, col, e.reason())
        }
        None => CliError::input(format!("{}: {e}", path.display())),
    }
}

/// A small CSV read whole (survival series, sBG records): header and rows as strings, with
/// 1-based line numbers for errors.
pub struct SmallCsv {
    pub path: std::path::PathBuf,
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl SmallCsv {
    pub fn read(path: &Path) -> Result<SmallCsv, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let (_, head) = lines
            .next()
            .ok_or_else(|| CliError::input(format!("{}: the file is empty", path.display())))?;
        let split = |l: &str| {
            l.split(',')
                .map(|f| f.trim().to_string())
                .collect::<Vec<_>>()
        };
        Ok(SmallCsv {
            path: path.to_path_buf(),
            header: split(head),
            rows: lines.map(|(n, l)| (n, split(l))).collect(),
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.header.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    fn col(&self, name: &str) -> Result<usize, CliError> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                CliError::input(format!(
                    "{}:1: no column `{name}` (found: {})",
                    self.path.display(),
                    self.header.join(", ")
                ))
            })
    }

    /// The values of one column as numbers; errors name line and column.
    pub fn numbers(&self, name: &str) -> Result<Vec<f64>, CliError> {
        let c = self.col(name)?;
        self.rows
            .iter()
            .map(|(line, r)| {
                let s = r.get(c).map(String::as_str).unwrap_or("");
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        CliError::at(
                            &self.path,
                            *line,
                            Some(c + 1),
                            format!("{name}: `{s}` is not a number"),
                        )
                    })
            })
            .collect()
    }

    /// Point a model's row error (0-based data row) at its line.
    pub fn row_error(&self, e: DataError) -> CliError {
        match e.row().and_then(|i| self.rows.get(i)) {
            Some((line, _)) => CliError::at(&self.path, *line, None, e.reason()),
            None => CliError::input(format!("{}: {e}", self.path.display())),
        }
    }
}

/// Per-customer sBG records from columns `tenure` (whole periods) and `churned` (true/false/1/0).
pub fn sbg_records(t: &SmallCsv) -> Result<Vec<tenure_models::sbg::SbgRecord>, CliError> {
    let tc = t.col("tenure")?;
    let cc = t.col("churned")?;
    t.rows
        .iter()
        .map(|(line, r)| {
            let ts = r.get(tc).map(String::as_str).unwrap_or("");
            let tenure: u32 = ts.parse().map_err(|_| {
                CliError::at(
                    &t.path,
                    *line,
                    Some(tc + 1),
                    format!("tenure: `{ts}` is not a whole number of periods"),
                )
            })?;
            let cs = r.get(cc).map(String::as_str).unwrap_or("");
            let churned = match cs.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(CliError::at(
                        &t.path,
                        *line,
                        Some(cc + 1),
                        format!("churned: `{cs}` is not true/false"),
                    ))
                }
            };
            Ok(tenure_models::sbg::SbgRecord { tenure, churned })
        })
        .collect()
}
