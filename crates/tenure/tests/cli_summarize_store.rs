//! `tenure summarize --db`: a generated company imported into SQLite and into PostgreSQL
//! summarizes identically from both, and equals the summary of the transaction log derived
//! from `transactions.csv` by the documented rule (UTC days; a day with a non-refund line is a
//! purchase for its net total; one currency).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{pg_schema, scratch, tenure, tenure_ok};
use std::collections::BTreeMap;
use std::path::Path;
use tenure_core::Decimal;

const FLAGS: &[&str] = &[
    "--end",
    "2025-06-30",
    "--holdout-end",
    "2025-12-31",
    "--unit",
    "weeks",
];

fn import_all(db: &str, dir: &Path) {
    for kind in ["customers", "transactions"] {
        let f = dir.join(format!("{kind}.csv"));
        tenure_ok(&["import", kind, f.to_str().unwrap(), "--db", db]);
    }
}

fn summarize_db(db: &str, out: &Path) -> String {
    let mut args = vec!["summarize", "--db", db, "--currency", "usd"];
    args.extend_from_slice(FLAGS);
    args.extend_from_slice(&["--output", out.to_str().unwrap()]);
    tenure_ok(&args);
    std::fs::read_to_string(out).unwrap()
}

/// The log the rule gives: (customer, UTC day) → net USD total, for days with a non-refund line.
fn derived_log(transactions: &Path, out: &Path) -> (usize, usize) {
    let mut r = csv::Reader::from_path(transactions).unwrap();
    let h = r.headers().unwrap().clone();
    let at = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (cid, date, amount, currency, kind) = (
        at("customer_id"),
        at("date"),
        at("amount"),
        at("currency"),
        at("kind"),
    );
    let mut days: BTreeMap<(String, String), (Decimal, bool)> = BTreeMap::new();
    let mut refunds = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        if &rec[currency] != "USD" {
            continue;
        }
        let d = &rec[date];
        let day = if d.len() == 10 {
            d.to_string()
        } else {
            chrono::DateTime::parse_from_rfc3339(d)
                .unwrap()
                .with_timezone(&chrono::Utc)
                .date_naive()
                .to_string()
        };
        let e = days
            .entry((rec[cid].to_string(), day))
            .or_insert((Decimal::ZERO, false));
        e.0 += rec[amount].parse::<Decimal>().unwrap();
        if &rec[kind] == "refund" {
            refunds += 1;
        } else {
            e.1 = true;
        }
    }
    let mut text = String::from("customer_id,date,amount\n");
    for ((c, d), (net, purchase)) in &days {
        if *purchase {
            text.push_str(&format!("{c},{d},{net}\n"));
        }
    }
    std::fs::write(out, text).unwrap();
    (days.len(), refunds)
}

#[test]
fn store_summaries_match_on_both_backends_and_the_derived_log() {
    let dir = scratch("summarize-store");
    let d = dir.to_str().unwrap();
    tenure_ok(&["generate", "--customers", "120", "--seed", "11", "--out", d]);

    let sqlite = dir.join("store.db").display().to_string();
    import_all(&sqlite, &dir);
    let from_sqlite = summarize_db(&sqlite, &dir.join("sqlite.csv"));
    let customers = from_sqlite.lines().filter(|l| !l.starts_with('#')).count() - 1;
    assert!(customers >= 20, "{from_sqlite}");

    // The same from a log derived from transactions.csv, via the file path.
    let log = dir.join("log.csv");
    let (days, refunds) = derived_log(&dir.join("transactions.csv"), &log);
    assert!(
        days > customers && refunds > 0,
        "{days} days, {refunds} refunds"
    );
    let mut args = vec!["summarize", "--input", log.to_str().unwrap()];
    args.extend_from_slice(FLAGS);
    let from_file = dir.join("file.csv");
    args.extend_from_slice(&["--output", from_file.to_str().unwrap()]);
    tenure_ok(&args);
    assert_eq!(from_sqlite, std::fs::read_to_string(&from_file).unwrap());

    // Two currencies in the store and no --currency: an error that says what to do.
    let text = std::fs::read_to_string(dir.join("transactions.csv")).unwrap();
    assert!(text.contains(",EUR,") && text.contains(",USD,"));
    let mut args = vec!["summarize", "--db", &sqlite];
    args.extend_from_slice(FLAGS);
    let out = tenure(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("more than one currency (EUR, USD") && err.contains("--currency"),
        "{err}"
    );

    // PostgreSQL, in a schema of its own.
    let Some((mut admin, pg, schema)) = pg_schema("t_cli_sum") else {
        return;
    };
    import_all(&pg, &dir);
    let from_pg = summarize_db(&pg, &dir.join("pg.csv"));
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
    assert_eq!(from_pg, from_sqlite);
}
