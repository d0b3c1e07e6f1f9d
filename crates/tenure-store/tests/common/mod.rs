//! Run one test body on a fresh store of each backend.
//!
//! SQLite: a new file in a scratch folder. PostgreSQL: `$TENURE_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`), each test in its own new schema
//! `t_<pid>_<n>_<name>`, dropped afterwards (also when the test fails), so tests run in
//! parallel. When PostgreSQL is unreachable the PostgreSQL variant prints why and passes —
//! unless `CI=true`, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use tenure_store::{open, ImportOptions, Location, RecordKind, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn pg_url() -> String {
    std::env::var("TENURE_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

/// A connection to the test server, or `None` (after printing why) when it is unreachable
/// outside CI. In CI an unreachable server fails the test.
pub fn pg_admin() -> Option<postgres::Client> {
    let url = pg_url();
    match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(c) => Some(c),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL not reachable at {url} and CI=true: {e}");
            }
            eprintln!("skipped: PostgreSQL not reachable at {url}: {e}");
            None
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A test's store: where it is, a scratch folder for input files, and the schema to drop.
pub struct Env {
    pub backend: Backend,
    pub location: Location,
    pub dir: PathBuf,
    schema: Option<String>,
}

impl Env {
    /// A new connection to the same store.
    pub fn open(&self) -> Box<dyn Store> {
        open(&self.location).unwrap()
    }
    /// Write an input file into the scratch folder.
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(s) = &self.schema {
            if let Ok(mut c) = postgres::Client::connect(&pg_url(), postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE"));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run `body` on a fresh store of `backend` (or skip PostgreSQL as described above).
pub fn run(backend: Backend, name: &str, body: fn(&Env, &mut dyn Store)) {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let tag = format!("{}_{n}_{name}", std::process::id());
    let dir = std::env::temp_dir().join(format!("tenure-store-{tag}-{backend:?}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let env = match backend {
        Backend::Sqlite => Env {
            backend,
            location: Location::Sqlite(dir.join("tenure.db")),
            dir,
            schema: None,
        },
        Backend::Postgres => {
            if pg_admin().is_none() {
                let _ = std::fs::remove_dir_all(&dir);
                return;
            }
            let schema: String = format!("t_{tag}")
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .take(63)
                .collect();
            Env {
                backend,
                location: Location::Postgres {
                    url: pg_url(),
                    schema: Some(schema.clone()),
                },
                dir,
                schema: Some(schema),
            }
        }
    };
    let mut store = env.open();
    body(&env, store.as_mut());
    drop(store);
}

/// Generate `mod NAME { #[test] fn sqlite() … #[test] fn postgres() … }` for each test body.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    $crate::common::run($crate::common::Backend::Sqlite, stringify!($name), super::$name);
                }
                #[test]
                fn postgres() {
                    $crate::common::run($crate::common::Backend::Postgres, stringify!($name), super::$name);
                }
            }
        )*
    };
}

/// Everything in the store: each kind's count and rows.
pub type Snapshot = Vec<(RecordKind, u64, Vec<Vec<Option<String>>>)>;

pub fn snapshot(store: &mut dyn Store) -> Snapshot {
    RecordKind::ALL
        .iter()
        .map(|k| (*k, store.count(*k).unwrap(), store.dump(*k).unwrap()))
        .collect()
}

pub fn import(
    store: &mut dyn Store,
    kind: RecordKind,
    path: &Path,
) -> Result<tenure_store::ImportReport, tenure_store::ImportError> {
    store.import(kind, path, &ImportOptions::default(), &mut |_| {})
}

/// (inserted, updated, unchanged) of a successful import.
pub fn counts(r: &tenure_store::ImportReport) -> (u64, u64, u64) {
    (r.inserted, r.updated, r.unchanged)
}

/// The text a user sees for a failed import: every reported line, then the summary.
pub fn message(e: &tenure_store::ImportError) -> String {
    match e {
        tenure_store::ImportError::Rejected(r) => {
            let mut l = r.lines();
            l.push(r.to_string());
            l.join("\n")
        }
        other => other.to_string(),
    }
}
