//! The import, written once for both backends: read and validate every row into a staging
//! table inside one transaction, check references in SQL, then either roll back (listing every
//! bad row) or count and upsert and commit.

use crate::convert::{convert, Row, Value};
use crate::csv::CsvSource;
use crate::error::{ImportError, Loc, Rejection, RowError, StoreError};
use crate::input::{Mapping, RowSource};
use crate::jsonl::JsonlSource;
use crate::parquet::{looks_like_parquet, ParquetSource};
use crate::schema::{count_sql, dangling_count_sql, merge_sql, reference_sql, spec, KindSpec};
use crate::{ImportOptions, ImportReport, InputFormat, Progress, Stage, MAX_REPORTED};
use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;
use tenure_core::RecordKind;

/// What the importer needs from a backend, all inside one open transaction.
pub(crate) trait Session {
    /// Begin the transaction (and take the write lock where the backend has one).
    fn begin(&mut self) -> Result<(), StoreError>;
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Roll back; errors are ignored (the transaction is gone either way).
    fn rollback(&mut self);
    /// Create the staging table for `spec`.
    fn create_stage(&mut self, spec: &'static KindSpec) -> Result<(), StoreError>;
    /// Stage one row (`values` in the table's column order).
    fn stage(&mut self, line: u64, values: &[Value]) -> Result<(), StoreError>;
    /// Make every staged row visible to queries.
    fn flush_stage(&mut self) -> Result<(), StoreError>;
    fn execute(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Rows of (integer, text).
    fn query_pairs(&mut self, sql: &str) -> Result<Vec<(i64, String)>, StoreError>;
    /// One row of integers.
    fn query_ints(&mut self, sql: &str) -> Result<Vec<i64>, StoreError>;
    /// Drop the staging table (where it does not go with the transaction).
    fn drop_stage(&mut self) -> Result<(), StoreError>;
}

/// The first bad rows by line (at most `MAX_REPORTED`) and how many there are.
#[derive(Default)]
struct BadRows {
    rows: Vec<RowError>,
    total: u64,
}

impl BadRows {
    fn push(&mut self, e: RowError) {
        self.total += 1;
        if self.rows.len() < MAX_REPORTED {
            self.rows.push(e);
        }
    }
    fn add_sorted(&mut self, more: Vec<RowError>, count: u64) {
        self.total += count;
        self.rows.extend(more);
        self.rows.sort_by_key(|e| e.line);
        self.rows.truncate(MAX_REPORTED);
    }
}

/// Choose the reader for a file: the option, else Parquet's magic bytes, else the extension.
fn format_of(path: &Path, options: &ImportOptions) -> Result<InputFormat, ImportError> {
    if let Some(f) = options.format {
        return Ok(f);
    }
    if looks_like_parquet(path) {
        return Ok(InputFormat::Parquet);
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") => Ok(InputFormat::Csv),
        Some("jsonl" | "ndjson" | "json") => Ok(InputFormat::Jsonl),
        Some("parquet" | "parq" | "pq") => Ok(InputFormat::Parquet),
        _ => Err(ImportError::Options(format!(
            "{}: cannot tell the format from the file name (.csv, .jsonl, .ndjson, .json or \
             .parquet); give it with --input-format csv|jsonl|parquet",
            path.display()
        ))),
    }
}

/// Import one file as one transaction.
pub(crate) fn import_file(
    s: &mut dyn Session,
    kind: RecordKind,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    let spec = spec(kind);
    let file = std::fs::File::open(path).map_err(|e| ImportError::Io {
        file: path.to_path_buf(),
        source: e,
    })?;
    let format = format_of(path, options)?;
    let total_bytes = file.metadata().ok().map(|m| m.len());
    let mapping = Mapping {
        spec,
        pairs: &options.map,
        kind: kind.as_str(),
    };
    let buffered = |file| BufReader::with_capacity(256 * 1024, file);
    let mut source: Box<dyn RowSource> = match format {
        InputFormat::Csv => Box::new(CsvSource::new(buffered(file), path, &mapping)?),
        InputFormat::Jsonl => Box::new(JsonlSource::new(buffered(file), path, &mapping)?),
        InputFormat::Parquet => Box::new(ParquetSource::new(
            file,
            path,
            total_bytes.unwrap_or(0),
            &mapping,
        )?),
    };
    s.begin()?;
    let result = stage_and_merge(s, kind, spec, path, source.as_mut(), total_bytes, progress);
    match result {
        Ok(report) => {
            s.commit()?;
            progress(Progress {
                stage: Stage::Done,
                rows: report.rows,
                bytes_read: source.bytes_read(),
                total_bytes,
            });
            Ok(report)
        }
        Err(e) => {
            s.rollback();
            Err(e)
        }
    }
}

fn stage_and_merge(
    s: &mut dyn Session,
    kind: RecordKind,
    spec: &'static KindSpec,
    path: &Path,
    source: &mut dyn RowSource,
    total_bytes: Option<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    s.create_stage(spec)?;
    let mut bad = BadRows::default();
    // id → line of its first row.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows: u64 = 0;
    let locs: Vec<Loc> = source.locs().to_vec();
    let word = source.record_word();
    while let Some(next) = source.next_row()? {
        rows += 1;
        if rows.is_multiple_of(8192) {
            progress(Progress {
                stage: Stage::Reading,
                rows,
                bytes_read: source.bytes_read(),
                total_bytes,
            });
        }
        let raw = match next {
            Ok(r) => r,
            Err(e) => {
                bad.push(e);
                continue;
            }
        };
        let row = Row {
            raw: &raw,
            locs: &locs,
            spec,
        };
        let conv = match convert(kind, &row) {
            Ok(c) => c,
            Err(e) => {
                bad.push(e);
                continue;
            }
        };
        if let Some(first) = seen.get(&conv.id) {
            let e = if conv.derived {
                let (what, at) = match kind {
                    RecordKind::Usage => {
                        ("customer_id, user, feature and occurred_at", "occurred_at")
                    }
                    RecordKind::Touches => ("campaign_id, customer_id and sent_at", "sent_at"),
                    _ => ("customer_id, kind and occurred_at", "occurred_at"),
                };
                let mut e = row.error(
                    at,
                    format!("same {what} as {word} {first}; give each row an `id` to keep both"),
                );
                e.field = "id".into();
                e
            } else {
                row.error(
                    "id",
                    format!("duplicate id `{}` (first on {word} {first})", conv.id),
                )
            };
            bad.push(e);
            continue;
        }
        seen.insert(conv.id, raw.line);
        s.stage(raw.line, &conv.values)?;
    }
    drop(seen);
    s.flush_stage()?;
    progress(Progress {
        stage: Stage::Checking,
        rows,
        bytes_read: source.bytes_read(),
        total_bytes,
    });
    let dangling = match dangling_count_sql(spec) {
        Some(sql) => s.query_ints(&sql)?.first().copied().unwrap_or(0),
        None => 0,
    };
    if dangling > 0 {
        let mut errors = Vec::new();
        for r in spec.references {
            let where_ = if r.same_file {
                "neither in the store nor in this file".to_string()
            } else {
                format!("not in the store; import {} first", r.table)
            };
            let loc = locs[spec
                .file_index(r.column)
                .expect("references name file columns")]
            .clone();
            let listed = s.query_pairs(&reference_sql(r, MAX_REPORTED))?;
            errors.extend(listed.into_iter().map(|(line, value)| RowError {
                line: line as u64,
                loc: loc.clone(),
                field: r.column.to_string(),
                reason: format!("unknown {} `{value}` ({where_})", r.noun),
            }));
        }
        bad.add_sorted(errors, dangling as u64);
    }
    if bad.total > 0 {
        return Err(ImportError::Rejected(Rejection {
            file: path.to_path_buf(),
            errors: bad.rows,
            bad_rows: bad.total,
        }));
    }
    progress(Progress {
        stage: Stage::Writing,
        rows,
        bytes_read: source.bytes_read(),
        total_bytes,
    });
    let counts = s.query_ints(&count_sql(spec))?;
    let [staged, inserted, updated] = counts[..] else {
        return Err(StoreError::Other(format!(
            "counting rows: expected 3 numbers, got {counts:?}"
        ))
        .into());
    };
    s.execute(&merge_sql(spec))?;
    s.drop_stage()?;
    let n = |v: i64| v.max(0) as u64;
    Ok(ImportReport {
        kind,
        file: path.to_path_buf(),
        rows: n(staged),
        inserted: n(inserted),
        updated: n(updated),
        unchanged: n(staged - inserted - updated),
        ignored_columns: source.ignored(),
    })
}
