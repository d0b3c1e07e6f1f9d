//! `tenure report`: the five-customer company of `crates/tenure-reports/tests/common` as CSV
//! files, imported into SQLite and PostgreSQL; every report gives the hand-computed figures
//! and the same JSON from both backends; bad input exits 2 with a message and writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{pg_schema, scratch, tenure, tenure_ok};
use serde_json::Value;
use std::path::Path;

const CUSTOMERS: &str = "\
id,acquired_at,channel,plan,region,referred_by
A,2024-01-10,paid,pro,NA,
B,2024-01-20,paid,basic,NA,
C,2024-02-03,referral,basic,NA,A
D,2024-02-15,referral,pro,NA,C
E,2024-03-01,organic,,NA,
";
const TRANSACTIONS: &str = "\
id,customer_id,date,amount,currency,kind,cogs
a1,A,2024-01-10,100.00,USD,new,20.00
a2,A,2024-02-10,100.00,USD,renewal,20.00
a3,A,2024-02-20,-30.00,USD,refund,
a4,A,2024-03-10,100.00,USD,renewal,20.00
a5,A,2024-04-10,50.00,USD,renewal,10.00
a6,A,2024-05-10,50.00,USD,renewal,10.00
a7,A,2024-06-10,50.00,USD,renewal,10.00
a8,A,2024-07-10,50.00,USD,renewal,10.00
b1,B,2024-01-20,30.00,USD,new,
b2,B,2024-02-20,30.00,USD,renewal,
b3,B,2024-05-05,30.00,USD,new,
b4,B,2024-06-05,30.00,USD,renewal,
c1,C,2024-02-03,30.00,USD,new,
c2,C,2024-02-25,-30.00,USD,refund,
c3,C,2024-03-15,200.00,USD,one_off,140.00
d1,D,2024-02-15,1200.00,USD,new,240.00
d2,D,2024-05-01,300.00,USD,expansion,
e1,E,2024-03-01,50.00,USD,one_off,
e2,E,2024-04-15,80.00,USD,one_off,
e3,E,2024-05-02,20.00,USD,change_order,
e4,E,2024-06-01,10.00,EUR,one_off,
";
const SUBSCRIPTIONS: &str = "\
id,customer_id,plan,started_at,ended_at,seats,amount,currency,interval,status
A1,A,pro,2024-01-10,2024-04-10,2,100.00,USD,month,canceled
A2,A,pro,2024-04-10,,1,50.00,USD,month,active
B1,B,basic,2024-01-20,2024-03-20,1,30.00,USD,month,canceled
B2,B,basic,2024-05-05,,1,30.00,USD,month,active
C1,C,basic,2024-02-03,2024-02-25,1,30.00,USD,month,canceled
D1,D,pro,2024-02-15,2024-05-01,3,1200.00,USD,year,canceled
D2,D,pro,2024-05-01,,4,1600.00,USD,year,active
";
const COSTS: &str = "\
id,date,amount,currency,category,customer_id,channel,cohort
k1,2024-01-01,600.00,USD,acquisition,,paid,
k2,2024-02-01,100.01,USD,acquisition,,,2024-02
k3,2024-02-15,120.00,USD,acquisition,D,,
k4,2024-04-01,90.00,USD,retention,,paid,
k5,2024-05-12,15.00,USD,service,A,,
k6,2024-03-01,500.00,USD,acquisition,,partner,
k7,2024-07-01,999.00,USD,retention,A,,
";
const USAGE: &str = "\
customer_id,user,feature,occurred_at,quantity
D,u1,core,2024-06-24,5
D,u2,api,2024-06-25,10
B,u1,core,2024-06-10,4
B,u1,reports,2024-06-17,1
";

fn import_company(db: &str, dir: &Path) {
    for (kind, text) in [
        ("customers", CUSTOMERS),
        ("transactions", TRANSACTIONS),
        ("subscriptions", SUBSCRIPTIONS),
        ("costs", COSTS),
        ("usage", USAGE),
    ] {
        let f = dir.join(format!("{kind}.csv"));
        std::fs::write(&f, text).unwrap();
        tenure_ok(&["import", kind, f.to_str().unwrap(), "--db", db]);
    }
}

/// Run a report as JSON, without its timings.
fn report(db: &str, args: &[&str]) -> Value {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--db", db, "--as-of", "2024-06-30", "--format", "json"]);
    let mut v: Value = serde_json::from_str(&tenure_ok(&all)).unwrap();
    v.as_object_mut().unwrap().remove("elapsed_ms");
    v
}

fn group<'a>(v: &'a Value, label: &str) -> &'a Value {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == label)
        .unwrap_or_else(|| panic!("no group {label} in {v}"))
}

/// Every report's JSON, after checking the hand-computed figures.
fn all_reports(db: &str) -> Vec<Value> {
    let usd = ["--currency", "USD"];
    // Value: A's ledger (see crates/tenure-reports/tests/hand_computed.rs for the arithmetic).
    let v = report(db, &[&["value", "--customers"][..], &usd].concat());
    let a = v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customer"] == "A")
        .unwrap();
    assert_eq!(a["figures"]["profit"], "-55.00");
    assert_eq!(a["figures"]["net_revenue"], "420.00");
    assert_eq!(a["figures"]["referral_credit"], "20.00");
    assert_eq!(a["cac_payback_months"], 6);
    assert_eq!(a["status"], "active", "no usage recorded for A here");
    assert_eq!(v["excluded"]["transactions"], 1);
    // Roll-up by channel: paid = A + B.
    let by = report(db, &[&["value", "--by", "channel"][..], &usd].concat());
    let paid = group(&by, "paid");
    assert_eq!(paid["customers"], 2);
    assert_eq!(paid["figures"]["acquisition"]["allocated"], "600.00");
    assert_eq!(paid["figures"]["profit"], "-235.00");
    assert_eq!(by["unallocated_costs"], "500.00");
    // Explain C: the cohort cost's split and the referral credit from D.
    let x = report(db, &[&["value", "--explain", "C"][..], &usd].concat());
    let items = x["items"].as_array().unwrap();
    assert!(items
        .iter()
        .any(|i| i["record"] == "k2" && i["amount"] == "50.01"));
    assert!(items.iter().any(|i| i["figure"] == "referral_credit"
        && i["record"] == "D"
        && i["amount"] == "120.00"));
    assert_eq!(x["totals"]["profit"], "159.99");
    // MRR: June closes at 213.33 a month (50 + 30 + 1,600/12); ARR 2,560.00.
    let m = report(db, &["mrr"]);
    let months = m["groups"][0]["months"].as_array().unwrap();
    assert_eq!(months.len(), 6);
    assert_eq!(months[5]["closing"], "213.33");
    assert_eq!(months[5]["arr"], "2560.00");
    assert_eq!(months[1]["churn"], "30.00");
    assert_eq!(months[3]["contraction"], "50.00");
    assert_eq!(months[4]["reactivation"], "30.00");
    // Cohorts: January's logo retention at the end of March is 1 of 2.
    let c = report(db, &[&["cohorts"][..], &usd].concat());
    let jan = &c["groups"][0]["cohorts"][0];
    assert_eq!(jan["cohort"], "2024-01");
    assert_eq!(jan["periods"][2]["logo_retention"], 0.5);
    // Retention over 3 months: GRR 0.75.
    let r = report(db, &[&["retention", "--window", "3mo"][..], &usd].concat());
    assert_eq!(r["groups"][0]["gross_revenue_retention"], 0.75);
    // Survival: median 60 days.
    let s = report(db, &["survival"]);
    assert_eq!(s["groups"][0]["median_days"], 60);
    assert_eq!(s["time_unit"], "days");
    vec![v, by, x, m, c, r, s]
}

#[test]
fn reports_from_sqlite_and_postgres_agree_with_the_hand_computed_figures() {
    let dir = scratch("report-both");
    let sqlite = dir.join("t.db").display().to_string();
    import_company(&sqlite, &dir);
    let from_sqlite = all_reports(&sqlite);
    if let Some((mut admin, url, schema)) = pg_schema("report") {
        import_company(&url, &dir);
        let from_pg = all_reports(&url);
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
        assert_eq!(from_sqlite, from_pg);
    }
}

#[test]
fn tables_and_csv_state_their_units() {
    let dir = scratch("report-formats");
    let db = dir.join("t.db").display().to_string();
    import_company(&db, &dir);
    let t = tenure_ok(&["report", "mrr", "--db", &db, "--as-of", "2024-06-30"]);
    assert!(t.contains("amounts in USD per month"), "{t}");
    assert!(t.contains("2024-06"));
    let t = tenure_ok(&["report", "survival", "--db", &db, "--as-of", "2024-06-30"]);
    assert!(t.contains("in days"), "{t}");
    let t = tenure_ok(&[
        "report",
        "value",
        "--db",
        &db,
        "--currency",
        "USD",
        "--as-of",
        "2024-06-30",
    ]);
    assert!(t.contains("amounts in USD"), "{t}");
    assert!(
        t.contains("note: left out (no --fx rate for EUR): 1 invoice lines"),
        "{t}"
    );
    let t = tenure_ok(&[
        "report",
        "cohorts",
        "--db",
        &db,
        "--currency",
        "USD",
        "--as-of",
        "2024-06-30",
        "--metric",
        "nrr",
    ]);
    assert!(t.contains("net revenue retention (%)"), "{t}");
    // CSV: one header, one line per row; written atomically with --output.
    let out = dir.join("mrr.csv");
    tenure_ok(&[
        "report",
        "mrr",
        "--db",
        &db,
        "--as-of",
        "2024-06-30",
        "--format",
        "csv",
        "--by",
        "plan",
        "--output",
        out.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("group,month,opening,new"));
    assert_eq!(lines.count(), 24, "(none), basic, pro and all × 6 months");
    let v = tenure_ok(&[
        "report",
        "value",
        "--db",
        &db,
        "--currency",
        "USD",
        "--fx",
        "EUR=1.10",
        "--customers",
        "--format",
        "csv",
        "--as-of",
        "2024-06-30",
    ]);
    let e = v.lines().find(|l| l.starts_with("E,")).unwrap();
    // E: 50 + 80 + 20 + 10.00 EUR × 1.10 = 161.00.
    assert!(e.contains(",161.00,"), "{e}");
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = scratch("report-errors");
    let db = dir.join("t.db").display().to_string();
    let empty = tenure(&["report", "mrr", "--db", &db]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("holds no records"));
    import_company(&db, &dir);
    let out = dir.join("never.json");
    let cases: &[(&[&str], &str)] = &[
        (&["value"], "more than one currency (EUR, USD)"),
        (
            &["mrr", "--as-of", "2024-13-01"],
            "--as-of `2024-13-01`: not a date",
        ),
        (
            &["value", "--currency", "USD", "--explain", "Z"],
            "unknown customer `Z`",
        ),
        (
            &["value", "--currency", "USD", "--referral-share", "150%"],
            "between 0 and 100%",
        ),
        (&["value", "--currency", "XYZ"], "--currency"),
        (&["value", "--currency", "USD", "--fx", "EUR"], "--fx `EUR`"),
        (
            &["retention", "--currency", "USD", "--window", "12"],
            "--window `12`",
        ),
        (&["survival", "--level", "1.5"], "--level"),
        (&["mrr", "--explain", "A"], "--explain goes with"),
        (&["value", "--by", "segment"], "invalid value 'segment'"),
    ];
    for (args, want) in cases {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--db", &db, "--output", out.to_str().unwrap()]);
        let o = tenure(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote its output");
    }
}
