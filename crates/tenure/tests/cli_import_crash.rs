//! A `tenure import` killed with SIGKILL mid-import leaves the SQLite store with all of the
//! file's rows or none of them, passing `PRAGMA integrity_check`; importing again succeeds.
//!
//! Timing decides only *where* each kill lands, never whether the test passes: every attempt
//! must end all-or-none, and at least one kill must land while the import was still running.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::scratch;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tenure_store::{Location, RecordKind, Store};

const CUSTOMERS: usize = 1_000;
const ROWS: u64 = 300_000;

fn open(db: &Path) -> Box<dyn Store> {
    tenure_store::open(&Location::Sqlite(db.to_path_buf())).unwrap()
}

fn import(db: &Path, kind: &str, file: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tenure"));
    c.args(["import", kind])
        .arg(file)
        .arg("--db")
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn wal(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// When to kill: once the write-ahead log holds this many bytes (the upsert is writing), or
/// after this long.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    WalBytes(u64),
    After(Duration),
}

#[test]
fn a_killed_import_stores_all_or_nothing() {
    let dir = scratch("import-crash");
    let mut customers = String::from("id,acquired_at\n");
    for i in 0..CUSTOMERS {
        customers.push_str(&format!("c{i},2023-01-01\n"));
    }
    let cfile = dir.join("customers.csv");
    std::fs::write(&cfile, customers).unwrap();
    let seeded = dir.join("seeded.db");
    let st = import(&seeded, "customers", &cfile).status().unwrap();
    assert!(st.success());
    assert!(!wal(&seeded).exists(), "a clean exit checkpoints the log");

    let mut tx = String::from("id,customer_id,date,amount,currency,kind,product\n");
    for i in 0..ROWS {
        tx.push_str(&format!(
            "tx{i:07},c{},2024-{:02}-{:02},{}.{:02},USD,renewal,plan-{}\n",
            i as usize % CUSTOMERS,
            1 + i % 12,
            1 + i % 28,
            i % 5000,
            i % 100,
            i % 9
        ));
    }
    let tfile = dir.join("transactions.csv");
    std::fs::write(&tfile, tx).unwrap();

    let triggers = [
        Trigger::WalBytes(1 << 20),
        Trigger::After(Duration::from_millis(300)),
        Trigger::WalBytes(8 << 20),
        Trigger::After(Duration::from_millis(50)),
        Trigger::After(Duration::from_millis(1500)),
    ];
    let mut killed_running = 0;
    let mut last_killed = None;
    for (k, trigger) in triggers.iter().enumerate() {
        let db = dir.join(format!("attempt{k}.db"));
        std::fs::copy(&seeded, &db).unwrap();
        let mut child = import(&db, "transactions", &tfile).spawn().unwrap();
        let start = Instant::now();
        let finished_alone = loop {
            if child.try_wait().unwrap().is_some() {
                break true;
            }
            let fire = match trigger {
                Trigger::WalBytes(n) => std::fs::metadata(wal(&db)).is_ok_and(|m| m.len() >= *n),
                Trigger::After(d) => start.elapsed() >= *d,
            };
            if fire || start.elapsed() > Duration::from_secs(120) {
                break false;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        if !finished_alone {
            child.kill().unwrap(); // SIGKILL
            killed_running += 1;
            last_killed = Some(db.clone());
        }
        let status = child.wait().unwrap();
        let mut store = open(&db);
        store.check_integrity().unwrap();
        let n = store.count(RecordKind::Transactions).unwrap();
        eprintln!(
            "attempt {k} {trigger:?}: {} after {:?}, {n} rows",
            if finished_alone { "finished" } else { "killed" },
            start.elapsed()
        );
        assert!(
            n == 0 || n == ROWS,
            "attempt {k}: {n} rows: not all-or-none"
        );
        if finished_alone {
            assert!(status.success(), "attempt {k}: {status:?}");
            assert_eq!(n, ROWS);
        }
        assert_eq!(
            store.count(RecordKind::Customers).unwrap(),
            CUSTOMERS as u64
        );
    }
    assert!(
        killed_running > 0,
        "every import finished before its kill; the file is too small for this machine"
    );

    // The store a kill left behind takes the same import again.
    let db = last_killed.unwrap();
    let before = open(&db).count(RecordKind::Transactions).unwrap();
    let out = import(&db, "transactions", &tfile)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut store = open(&db);
    store.check_integrity().unwrap();
    assert_eq!(store.count(RecordKind::Transactions).unwrap(), ROWS);
    let table = String::from_utf8(out.stdout).unwrap();
    let inserted = if before == 0 { ROWS } else { 0 };
    assert!(
        table.contains(&format!(" {ROWS} ")) && table.contains(&format!(" {inserted} ")),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
