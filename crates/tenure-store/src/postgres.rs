//! The PostgreSQL backend: the synchronous client, rows staged with `COPY`, migrations under
//! an advisory lock so two processes never migrate at once.

use crate::convert::Value;
use crate::error::{ImportError, StoreError};
use crate::import::{import_file, Session};
use crate::schema::{
    spec, stage_columns, stage_ddl, ColType, KindSpec, MIGRATIONS, SCHEMA_VERSION, STAGE,
};
use crate::sqlite::canonical;
use crate::{ImportOptions, ImportReport, LedgerLine, Progress, Store};
use postgres::{Client, NoTls};
use std::io::Write;
use std::path::Path;
use tenure_core::RecordKind;

/// COPY data is sent in chunks of about this many bytes.
const COPY_CHUNK: usize = 8 * 1024 * 1024;
/// The advisory lock key taken while migrating (an arbitrary constant: "tenure").
const MIGRATION_LOCK: i64 = 0x7465_6e75_7265;

/// A store in a PostgreSQL database (in one schema when given).
pub struct PgStore {
    client: Client,
    place: String,
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    match auth {
        Some(a) => {
            let user = a.split(':').next().unwrap_or("");
            let pw = if a.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{pw}@{host}")
        }
        None => url.to_string(),
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl PgStore {
    /// Connect to `url` (`postgres://user@host:port/db`) and bring the schema up to date. With
    /// `schema`, the tables live in that schema (created if missing) via `search_path`.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let place = match schema {
            Some(s) => format!("{} (schema {s})", redact(url)),
            None => redact(url),
        };
        let e = |source| StoreError::Postgres {
            place: place.clone(),
            source,
        };
        let mut client = Client::connect(url, NoTls).map_err(e)?;
        if let Some(s) = schema {
            let q = quote_ident(s);
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {q}; SET search_path TO {q}"
                ))
                .map_err(e)?;
        }
        let mut store = PgStore { client, place };
        store.migrate()?;
        Ok(store)
    }

    fn e(&self) -> impl Fn(postgres::Error) -> StoreError + '_ {
        move |source| StoreError::Postgres {
            place: self.place.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let place = self.place.clone();
        let e = |source| StoreError::Postgres {
            place: place.clone(),
            source,
        };
        let mut tx = self.client.transaction().map_err(e)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(e)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS tenure_schema_version (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .map_err(e)?;
        let current: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM tenure_schema_version",
                &[],
            )
            .map_err(e)?
            .get(0);
        if i64::from(current) > i64::from(SCHEMA_VERSION) {
            return Err(StoreError::SchemaTooNew {
                place: self.place.clone(),
                found: current.max(0) as u32,
                known: SCHEMA_VERSION,
            });
        }
        for m in MIGRATIONS
            .iter()
            .filter(|m| i64::from(m.version) > i64::from(current))
        {
            tx.batch_execute(m.postgres).map_err(e)?;
            let v = m.version as i32;
            tx.execute(
                "INSERT INTO tenure_schema_version (version, name) VALUES ($1, $2)",
                &[&v, &m.name],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }
}

struct PgSession<'c> {
    client: &'c mut Client,
    place: &'c str,
    copy_sql: String,
    buf: Vec<u8>,
}

impl PgSession<'_> {
    fn e(&self) -> impl Fn(postgres::Error) -> StoreError + '_ {
        move |source| StoreError::Postgres {
            place: self.place.to_string(),
            source,
        }
    }
}

/// Append a value in COPY's text format: `\N` for NULL; backslash, tab, newline and carriage
/// return escaped.
fn push_copy_text(buf: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

impl Session for PgSession<'_> {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.client.batch_execute("BEGIN").map_err(self.e())
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        let place = self.place.to_string();
        self.client
            .batch_execute("COMMIT")
            .map_err(|source| StoreError::Postgres { place, source })
    }
    fn rollback(&mut self) {
        self.buf.clear();
        let _ = self.client.batch_execute("ROLLBACK");
    }
    fn create_stage(&mut self, spec: &'static KindSpec) -> Result<(), StoreError> {
        let ddl = stage_ddl(spec, ColType::postgres, " ON COMMIT DROP");
        let place = self.place.to_string();
        self.client
            .batch_execute(&ddl)
            .map_err(|source| StoreError::Postgres { place, source })?;
        self.copy_sql = format!("COPY {STAGE} ({}) FROM STDIN", stage_columns(spec));
        self.buf.clear();
        Ok(())
    }
    fn stage(&mut self, line: u64, values: &[Value]) -> Result<(), StoreError> {
        self.buf.extend_from_slice(line.to_string().as_bytes());
        for v in values {
            self.buf.push(b'\t');
            match v.to_text() {
                None => self.buf.extend_from_slice(b"\\N"),
                Some(t) => push_copy_text(&mut self.buf, &t),
            }
        }
        self.buf.push(b'\n');
        if self.buf.len() >= COPY_CHUNK {
            self.flush_stage()?;
        }
        Ok(())
    }
    fn flush_stage(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let place = self.place.to_string();
        let pe = |source| StoreError::Postgres {
            place: place.clone(),
            source,
        };
        let mut w = self.client.copy_in(self.copy_sql.as_str()).map_err(pe)?;
        w.write_all(&self.buf)
            .map_err(|x| StoreError::Other(format!("PostgreSQL {place}: COPY: {x}")))?;
        w.finish().map_err(pe)?;
        self.buf.clear();
        Ok(())
    }
    fn execute(&mut self, sql: &str) -> Result<(), StoreError> {
        let place = self.place.to_string();
        self.client
            .batch_execute(sql)
            .map_err(|source| StoreError::Postgres { place, source })
    }
    fn query_pairs(&mut self, sql: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let place = self.place.to_string();
        let rows = self
            .client
            .query(sql, &[])
            .map_err(|source| StoreError::Postgres { place, source })?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
    fn query_ints(&mut self, sql: &str) -> Result<Vec<i64>, StoreError> {
        let place = self.place.to_string();
        let row = self
            .client
            .query_one(sql, &[])
            .map_err(|source| StoreError::Postgres { place, source })?;
        Ok((0..row.len()).map(|i| row.get(i)).collect())
    }
    fn drop_stage(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Store for PgStore {
    fn location(&self) -> String {
        self.place.clone()
    }
    fn schema_version(&mut self) -> Result<u32, StoreError> {
        let row = self
            .client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM tenure_schema_version",
                &[],
            )
            .map_err(self.e())?;
        let v: i32 = row.get(0);
        Ok(v.max(0) as u32)
    }
    fn import(
        &mut self,
        kind: RecordKind,
        path: &Path,
        options: &ImportOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ImportReport, ImportError> {
        let mut s = PgSession {
            client: &mut self.client,
            place: &self.place,
            copy_sql: String::new(),
            buf: Vec::new(),
        };
        import_file(&mut s, kind, path, options, progress)
    }
    fn count(&mut self, kind: RecordKind) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", spec(kind).table);
        let n: i64 = self.client.query_one(&sql, &[]).map_err(self.e())?.get(0);
        Ok(n.max(0) as u64)
    }
    fn dump(&mut self, kind: RecordKind) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        let sp = spec(kind);
        let exprs = sp
            .db
            .iter()
            .map(|c| match c.ty {
                ColType::Text => c.name.to_string(),
                ColType::Time => format!(
                    "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                    c.name
                ),
                _ => format!("{}::text", c.name),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {exprs} FROM {}", sp.table);
        let rows = self.client.query(&sql, &[]).map_err(self.e())?;
        let mut out: Vec<Vec<Option<String>>> = rows
            .iter()
            .map(|r| {
                (0..sp.db.len())
                    .map(|i| {
                        let v: Option<String> = r.get(i);
                        if sp.db[i].ty == ColType::Json {
                            canonical(v)
                        } else {
                            v
                        }
                    })
                    .collect()
            })
            .collect();
        out.sort();
        Ok(out)
    }
    fn for_each_transaction(&mut self, each: &mut dyn FnMut(LedgerLine)) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let sql = "SELECT customer_id, \
             to_char(date AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
             amount_minor, currency, kind FROM transactions";
        let place = self.place.clone();
        let e = |source| StoreError::Postgres {
            place: place.clone(),
            source,
        };
        let no_params: [&(dyn postgres::types::ToSql + Sync); 0] = [];
        let mut rows = self.client.query_raw(sql, no_params).map_err(e)?;
        while let Some(r) = rows.next().map_err(e)? {
            let at: String = r.try_get(1).map_err(e)?;
            let currency: String = r.try_get(3).map_err(e)?;
            let kind: String = r.try_get(4).map_err(e)?;
            each(LedgerLine::from_stored(
                r.try_get(0).map_err(e)?,
                &at,
                r.try_get(2).map_err(e)?,
                &currency,
                &kind,
            )?);
        }
        Ok(())
    }
    fn load(&mut self, options: &crate::LoadOptions) -> Result<crate::Dataset, StoreError> {
        crate::load::load_postgres(&mut self.client, &self.place, options)
    }
    fn check_integrity(&mut self) -> Result<(), StoreError> {
        self.client.batch_execute("SELECT 1").map_err(self.e())
    }
    fn columns(&self, kind: RecordKind) -> Vec<&'static str> {
        spec(kind).db.iter().map(|c| c.name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn copy_text_escapes_separators() {
        let mut b = Vec::new();
        push_copy_text(&mut b, "a\tb\\c\nd\re");
        assert_eq!(b, b"a\\tb\\\\c\\nd\\re");
    }
}

impl crate::journal::Sql for PgStore {
    fn exec(&mut self, sql: &str, params: &[crate::journal::P]) -> Result<u64, StoreError> {
        let place = self.place.clone();
        let values = pg_params(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            values.iter().map(|v| v.as_ref()).collect();
        self.client
            .execute(sql, &refs)
            .map_err(|source| StoreError::Postgres { place, source })
    }
    fn rows(
        &mut self,
        sql: &str,
        params: &[crate::journal::P],
    ) -> Result<Vec<Vec<crate::journal::Cell>>, StoreError> {
        use crate::journal::Cell;
        use postgres::types::Type;
        let place = self.place.clone();
        let e = |source| StoreError::Postgres {
            place: place.clone(),
            source,
        };
        let values = pg_params(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            values.iter().map(|v| v.as_ref()).collect();
        let rows = self.client.query(sql, &refs).map_err(e)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut row = Vec::with_capacity(r.len());
            for (i, c) in r.columns().iter().enumerate() {
                let cell = match *c.type_() {
                    Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(e)?.map(Cell::Int),
                    Type::INT4 => r
                        .try_get::<_, Option<i32>>(i)
                        .map_err(e)?
                        .map(|v| Cell::Int(v.into())),
                    _ => r
                        .try_get::<_, Option<String>>(i)
                        .map_err(e)?
                        .map(Cell::Text),
                };
                row.push(cell.unwrap_or(Cell::Null));
            }
            out.push(row);
        }
        Ok(out)
    }
    fn begin_write(&mut self) -> Result<(), StoreError> {
        let place = self.place.clone();
        self.client
            .batch_execute("BEGIN")
            .map_err(|source| StoreError::Postgres { place, source })
    }
    fn is_postgres(&self) -> bool {
        true
    }
}

/// The parameters as the client takes them (`None` typed, so NULL passes the type check).
fn pg_params<'a>(
    params: &'a [crate::journal::P<'a>],
) -> Vec<Box<dyn postgres::types::ToSql + Sync + 'a>> {
    use crate::journal::P;
    params
        .iter()
        .map(|p| -> Box<dyn postgres::types::ToSql + Sync + 'a> {
            match p {
                P::Text(s) => Box::new(*s),
                P::Int(v) => Box::new(*v),
            }
        })
        .collect()
}

crate::journal::impl_journal!(PgStore);
