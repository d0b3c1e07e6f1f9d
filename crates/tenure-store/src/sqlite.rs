//! The SQLite backend: one file, WAL journal, deferred foreign keys, STRICT tables.

use crate::convert::{write_canonical, Value};
use crate::error::{ImportError, StoreError};
use crate::import::{import_file, Session};
use crate::schema::{
    spec, stage_columns, stage_ddl, ColType, KindSpec, MIGRATIONS, SCHEMA_VERSION, STAGE,
};
use crate::{ImportOptions, ImportReport, LedgerLine, Progress, Store, LEDGER_COLUMNS};
use rusqlite::{Connection, Statement};
use std::path::{Path, PathBuf};
use tenure_core::RecordKind;

/// A store in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

fn err(place: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        place: place.display().to_string(),
        source,
    }
}

impl SqliteStore {
    /// Open (creating if missing) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let e = err(path);
        let conn = Connection::open(path).map_err(&e)?;
        conn.busy_timeout(std::time::Duration::from_secs(60))
            .map_err(&e)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(&e)?;
        if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
            return Err(StoreError::Other(format!(
                "{}: cannot use the WAL journal (got `{mode}`)",
                path.display()
            )));
        }
        conn.execute_batch("PRAGMA foreign_keys = ON").map_err(&e)?;
        let store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let e = err(&self.path);
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(&e)?;
        let r = (|| {
            self.conn
                .execute_batch(
                    "CREATE TABLE IF NOT EXISTS tenure_schema_version (
                        version INTEGER PRIMARY KEY,
                        name TEXT NOT NULL,
                        applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
                    ) STRICT",
                )
                .map_err(&e)?;
            let current: i64 = self
                .conn
                .query_row(
                    "SELECT COALESCE(MAX(version), 0) FROM tenure_schema_version",
                    [],
                    |r| r.get(0),
                )
                .map_err(&e)?;
            if current > i64::from(SCHEMA_VERSION) {
                return Err(StoreError::SchemaTooNew {
                    place: self.path.display().to_string(),
                    found: current as u32,
                    known: SCHEMA_VERSION,
                });
            }
            for m in MIGRATIONS.iter().filter(|m| i64::from(m.version) > current) {
                self.conn.execute_batch(m.sqlite).map_err(&e)?;
                self.conn
                    .execute(
                        "INSERT INTO tenure_schema_version (version, name) VALUES (?1, ?2)",
                        rusqlite::params![m.version, m.name],
                    )
                    .map_err(&e)?;
            }
            Ok(())
        })();
        match r {
            Ok(()) => self.conn.execute_batch("COMMIT").map_err(&e),
            Err(x) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(x)
            }
        }
    }
}

struct SqliteSession<'c> {
    conn: &'c Connection,
    path: &'c Path,
    insert: Option<Statement<'c>>,
}

impl SqliteSession<'_> {
    fn e(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        err(self.path)
    }
}

impl Session for SqliteSession<'_> {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(self.e())
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        self.insert = None;
        self.conn.execute_batch("COMMIT").map_err(self.e())
    }
    fn rollback(&mut self) {
        self.insert = None;
        let _ = self.conn.execute_batch("ROLLBACK");
    }
    fn create_stage(&mut self, spec: &'static KindSpec) -> Result<(), StoreError> {
        let ddl = stage_ddl(spec, ColType::sqlite, "");
        self.conn
            .execute_batch(&format!("DROP TABLE IF EXISTS temp.{STAGE}; {ddl}"))
            .map_err(self.e())?;
        let marks = (1..=spec.db.len() + 1)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO temp.{STAGE} ({}) VALUES ({marks})",
            stage_columns(spec)
        );
        self.insert = Some(self.conn.prepare(&sql).map_err(self.e())?);
        Ok(())
    }
    fn stage(&mut self, line: u64, values: &[Value]) -> Result<(), StoreError> {
        let e = err(self.path);
        let stmt = self
            .insert
            .as_mut()
            .ok_or_else(|| StoreError::Other("staging before the staging table exists".into()))?;
        stmt.raw_bind_parameter(1, line as i64).map_err(&e)?;
        for (i, v) in values.iter().enumerate() {
            let at = i + 2;
            match v {
                Value::Null => stmt.raw_bind_parameter(at, rusqlite::types::Null),
                Value::Int(x) => stmt.raw_bind_parameter(at, x),
                Value::Text(s) | Value::Json(s) => stmt.raw_bind_parameter(at, s.as_str()),
                Value::Time(t) => stmt.raw_bind_parameter(at, t.to_string()),
                Value::Decimal(d) => stmt.raw_bind_parameter(at, d.to_string()),
            }
            .map_err(&e)?;
        }
        stmt.raw_execute().map_err(&e)?;
        Ok(())
    }
    fn flush_stage(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    fn execute(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(self.e())
    }
    fn query_pairs(&mut self, sql: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let e = self.e();
        let mut st = self.conn.prepare(sql).map_err(&e)?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(&e)?;
        rows.collect::<Result<_, _>>().map_err(&e)
    }
    fn query_ints(&mut self, sql: &str) -> Result<Vec<i64>, StoreError> {
        let e = self.e();
        let mut st = self.conn.prepare(sql).map_err(&e)?;
        let n = st.column_count();
        st.query_row([], |r| (0..n).map(|i| r.get(i)).collect())
            .map_err(&e)
    }
    fn drop_stage(&mut self) -> Result<(), StoreError> {
        self.insert = None;
        self.conn
            .execute_batch(&format!("DROP TABLE IF EXISTS temp.{STAGE}"))
            .map_err(self.e())
    }
}

/// Re-write JSON text canonically (sorted keys), so dumps compare across backends.
pub(crate) fn canonical(text: Option<String>) -> Option<String> {
    text.map(|t| match serde_json::from_str::<serde_json::Value>(&t) {
        Ok(v) => {
            let mut out = String::new();
            write_canonical(&v, &mut out);
            out
        }
        Err(_) => t,
    })
}

impl Store for SqliteStore {
    fn location(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
    fn schema_version(&mut self) -> Result<u32, StoreError> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM tenure_schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(err(&self.path))
    }
    fn import(
        &mut self,
        kind: RecordKind,
        path: &Path,
        options: &ImportOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        let mut s = SqliteSession {
            conn: &self.conn,
            path: &self.path,
            insert: None,
        };
        import_file(&mut s, kind, path, options, progress)
    }
    fn count(&mut self, kind: RecordKind) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM {}", spec(kind).table),
                [],
                |r| r.get(0),
            )
            .map_err(err(&self.path))?;
        Ok(n.max(0) as u64)
    }
    fn dump(&mut self, kind: RecordKind) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        let sp = spec(kind);
        let e = err(&self.path);
        let exprs = sp
            .db
            .iter()
            .map(|c| match c.ty {
                ColType::Int => format!("CAST({} AS TEXT)", c.name),
                _ => c.name.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut st = self
            .conn
            .prepare(&format!("SELECT {exprs} FROM {}", sp.table))
            .map_err(&e)?;
        let rows = st
            .query_map([], |r| {
                (0..sp.db.len())
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(&e)?;
        let mut out = rows.collect::<Result<Vec<_>, _>>().map_err(&e)?;
        for row in &mut out {
            for (v, c) in row.iter_mut().zip(sp.db) {
                if c.ty == ColType::Json {
                    *v = canonical(v.take());
                }
            }
        }
        out.sort();
        Ok(out)
    }
    fn for_each_transaction(&mut self, each: &mut dyn FnMut(LedgerLine)) -> Result<(), StoreError> {
        let e = err(&self.path);
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM transactions",
                LEDGER_COLUMNS.join(", ")
            ))
            .map_err(&e)?;
        let mut rows = st.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let at: String = r.get(1).map_err(&e)?;
            let currency: String = r.get(3).map_err(&e)?;
            let kind: String = r.get(4).map_err(&e)?;
            each(LedgerLine::from_stored(
                r.get(0).map_err(&e)?,
                &at,
                r.get(2).map_err(&e)?,
                &currency,
                &kind,
            )?);
        }
        Ok(())
    }
    fn load(&mut self, options: &crate::LoadOptions) -> Result<crate::Dataset, StoreError> {
        crate::load::load_sqlite(&self.conn, &self.location(), options)
    }
    fn check_integrity(&mut self) -> Result<(), StoreError> {
        let e = err(&self.path);
        let mut st = self.conn.prepare("PRAGMA integrity_check").map_err(&e)?;
        let lines: Vec<String> = st
            .query_map([], |r| r.get(0))
            .map_err(&e)?
            .collect::<Result<_, _>>()
            .map_err(&e)?;
        if lines != ["ok"] {
            return Err(StoreError::Other(format!(
                "{}: integrity check failed: {}",
                self.path.display(),
                lines.join("; ")
            )));
        }
        let mut st = self.conn.prepare("PRAGMA foreign_key_check").map_err(&e)?;
        let bad = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&e)?
            .count();
        if bad > 0 {
            return Err(StoreError::Other(format!(
                "{}: {bad} rows refer to missing rows",
                self.path.display()
            )));
        }
        Ok(())
    }
    fn columns(&self, kind: RecordKind) -> Vec<&'static str> {
        spec(kind).db.iter().map(|c| c.name).collect()
    }
}

impl crate::journal::Sql for SqliteStore {
    fn exec(&mut self, sql: &str, params: &[crate::journal::P]) -> Result<u64, StoreError> {
        let e = err(&self.path);
        let mut st = self.conn.prepare(sql).map_err(&e)?;
        bind(&mut st, params).map_err(&e)?;
        Ok(st.raw_execute().map_err(&e)? as u64)
    }
    fn rows(
        &mut self,
        sql: &str,
        params: &[crate::journal::P],
    ) -> Result<Vec<Vec<crate::journal::Cell>>, StoreError> {
        use crate::journal::Cell;
        use rusqlite::types::ValueRef;
        let e = err(&self.path);
        let mut st = self.conn.prepare(sql).map_err(&e)?;
        bind(&mut st, params).map_err(&e)?;
        let n = st.column_count();
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(&e)? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i).map_err(&e)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Text(v.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Cell::Text(String::from_utf8_lossy(t).into_owned())
                    }
                });
            }
            out.push(row);
        }
        Ok(out)
    }
    fn begin_write(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(err(&self.path))
    }
    fn is_postgres(&self) -> bool {
        false
    }
}

fn bind(st: &mut Statement<'_>, params: &[crate::journal::P]) -> Result<(), rusqlite::Error> {
    use crate::journal::P;
    st.clear_bindings();
    for (k, p) in params.iter().enumerate() {
        let at = k + 1;
        match p {
            P::Text(Some(s)) => st.raw_bind_parameter(at, *s)?,
            P::Int(Some(v)) => st.raw_bind_parameter(at, *v)?,
            P::Text(None) | P::Int(None) => st.raw_bind_parameter(at, rusqlite::types::Null)?,
        }
    }
    Ok(())
}

crate::journal::impl_journal!(SqliteStore);
