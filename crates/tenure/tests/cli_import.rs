//! `tenure import`: the table and JSON it prints, exit 2 with every bad row listed and the
//! store unchanged, exit 1 when the store fails, `--db` / `$TENURE_DB`, `--input-format`,
//! `--map`, and the same on PostgreSQL by URL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{pg_schema, scratch};
use std::path::Path;
use std::process::{Command, Output};
use tenure_store::{Location, RecordKind};

const CUSTOMERS: &str =
    "id,name,acquired_at,channel\nc1,Acme,2024-01-15,paid_search\nc2,Globex,2024-02-01,referral\n";

fn tenure_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tenure"));
    c.current_dir(dir).args(args).env_remove("TENURE_DB");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the tenure binary runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn rows(db: &Path, kind: RecordKind) -> u64 {
    tenure_store::open(&Location::Sqlite(db.to_path_buf()))
        .unwrap()
        .count(kind)
        .unwrap()
}

#[test]
fn import_prints_a_table_then_json_and_is_idempotent() {
    let dir = scratch("import-table");
    std::fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
    let out = ok(&tenure_in(
        &dir,
        &["import", "customers", "customers.csv"],
        &[],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "kind",
            "file",
            "rows",
            "inserted",
            "updated",
            "unchanged",
            "elapsed"
        ]
    );
    let cells: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        cells[..6],
        ["customers", "customers.csv", "2", "2", "0", "0"]
    );
    assert_eq!(cells[7], "s", "elapsed carries its unit: {out}");
    assert!(dir.join("tenure.db").exists(), "default store ./tenure.db");

    let json: serde_json::Value = serde_json::from_str(&ok(&tenure_in(
        &dir,
        &["import", "customers", "customers.csv", "--format", "json"],
        &[],
    )))
    .unwrap();
    assert_eq!(json["kind"], "customers");
    assert_eq!(json["store"], "sqlite:tenure.db");
    assert_eq!(
        [
            &json["rows"],
            &json["inserted"],
            &json["updated"],
            &json["unchanged"]
        ],
        [2, 0, 0, 2]
    );
    assert!(json["elapsed_ms"]["total"].as_f64().unwrap() >= 0.0);
    assert_eq!(rows(&dir.join("tenure.db"), RecordKind::Customers), 2);
}

#[test]
fn bad_rows_exit_2_each_on_its_own_line_and_nothing_is_stored() {
    let dir = scratch("import-bad");
    std::fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
    ok(&tenure_in(
        &dir,
        &["import", "customers", "customers.csv"],
        &[],
    ));
    let mut body = String::from("id,customer_id,date,amount,currency,kind\n");
    body.push_str("t1,c1,2024-03-01,10.00,USD,new\n");
    body.push_str("t2,c1,2024-03-01,1.234,USD,new\n");
    body.push_str("t3,c9,2024-03-01,10.00,USD,new\n");
    for i in 0..120 {
        body.push_str(&format!("b{i},c1,someday,10.00,USD,new\n"));
    }
    std::fs::write(dir.join("tx.csv"), body).unwrap();
    let out = tenure_in(&dir, &["import", "transactions", "tx.csv"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "tx.csv:3:4: amount: `1.234` has 3 decimal places; USD has 2 (amounts are never rounded)"
    );
    assert_eq!(
        lines[1],
        "tx.csv:4:2: customer_id: unknown customer `c9` (not in the store; import customers first)"
    );
    assert!(lines[2].starts_with("tx.csv:5:3: date: `someday` is not a date"));
    assert_eq!(
        lines.len(),
        102,
        "100 rows, the rest counted, a summary:\n{err}"
    );
    assert_eq!(lines[100], "… and 22 more bad rows");
    assert_eq!(
        lines[101],
        "tenure: tx.csv: 122 bad rows; nothing was imported"
    );
    assert_eq!(rows(&dir.join("tenure.db"), RecordKind::Transactions), 0);
}

#[test]
fn store_failures_exit_1_and_bad_files_exit_2() {
    let dir = scratch("import-fail");
    std::fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
    let out = tenure_in(
        &dir,
        &[
            "import",
            "customers",
            "customers.csv",
            "--db",
            "/nonexistent/dir/t.db",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unable to open database file"));
    let out = tenure_in(
        &dir,
        &[
            "import",
            "customers",
            "customers.csv",
            "--db",
            "postgres://nobody:secret@127.0.0.1:1/x",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("postgres://nobody:***@127.0.0.1:1/x"), "{err}");
    assert!(!err.contains("secret"), "{err}");

    let out = tenure_in(&dir, &["import", "customers", "missing.csv"], &[]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(dir.join("customers.txt"), CUSTOMERS).unwrap();
    let out = tenure_in(&dir, &["import", "customers", "customers.txt"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input-format"));
    let out = tenure_in(
        &dir,
        &["import", "customers", "customers.csv", "--map", "nonsense"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = tenure_in(&dir, &["import", "invoices", "customers.csv"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn db_from_env_input_format_and_map() {
    let dir = scratch("import-env");
    std::fs::write(
        dir.join("export.txt"),
        "{\"Customer ID\":\"c1\",\"signup\":\"2024-01-15T10:00:00+02:00\"}\n",
    )
    .unwrap();
    let db = dir.join("elsewhere.db");
    let out = ok(&tenure_in(
        &dir,
        &[
            "import",
            "customers",
            "export.txt",
            "--input-format",
            "jsonl",
            "--map",
            "Customer ID=id",
            "--map",
            "signup=acquired_at",
        ],
        &[("TENURE_DB", db.to_str().unwrap())],
    ));
    assert!(out.contains("customers"), "{out}");
    assert!(!dir.join("tenure.db").exists());
    let mut store = tenure_store::open(&Location::Sqlite(db)).unwrap();
    let dump = store.dump(RecordKind::Customers).unwrap();
    assert_eq!(dump[0][0].as_deref(), Some("c1"));
    assert_eq!(dump[0][2].as_deref(), Some("2024-01-15T08:00:00.000000Z"));
}

/// The same command against PostgreSQL, in a schema of its own (via the URL's `options`).
#[test]
fn import_into_postgresql_by_url() {
    let Some((mut admin, db, schema)) = pg_schema("t_cli") else {
        return;
    };
    let dir = scratch("import-pg");
    std::fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
    let run = || {
        let out = ok(&tenure_in(
            &dir,
            &[
                "import",
                "customers",
                "customers.csv",
                "--db",
                &db,
                "--format",
                "json",
            ],
            &[],
        ));
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let first = run();
    let second = run();
    let n: i64 = admin
        .query_one(&format!("SELECT COUNT(*) FROM {schema}.customers"), &[])
        .unwrap()
        .get(0);
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
    assert_eq!(
        (&first["inserted"], &second["unchanged"], n),
        (&2.into(), &2.into(), 2)
    );
}
