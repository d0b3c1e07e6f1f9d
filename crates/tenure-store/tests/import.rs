//! Imports, written once and run on SQLite and on PostgreSQL (`<test>::sqlite`,
//! `<test>::postgres`): bad input is reported row by row and leaves the store exactly as it
//! was; good input is stored exactly (money in minor units, UTC timestamps) and re-importing
//! is idempotent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use tenure_store::{ImportError, ImportOptions, Location, RecordKind, Store, SCHEMA_VERSION};

const CUSTOMERS: &str = "\
id,name,acquired_at,channel,plan,region,referred_by,attributes
c1,Acme,2024-01-15,paid_search,pro,eu,,\"{\"\"size\"\": 50, \"\"industry\"\": \"\"retail\"\"}\"
c2,Globex,2024-02-01T09:30:00+01:00,referral,basic,us,c1,
";

/// The same customers as JSON lines, keys in another order and the attributes' keys too.
const CUSTOMERS_JSONL: &str = r#"{"acquired_at":"2024-01-15","id":"c1","name":"Acme","channel":"paid_search","plan":"pro","region":"eu","attributes":{"industry":"retail","size":50}}
{"id":"c2","name":"Globex","acquired_at":"2024-02-01T08:30:00Z","channel":"referral","plan":"basic","region":"us","referred_by":"c1","attributes":null}
"#;

const TX_HEADER: &str = "id,customer_id,date,amount,currency,kind,cogs,product\n";
const TRANSACTIONS: &str = "\
id,customer_id,date,amount,currency,kind,cogs,product
t1,c1,2024-01-15,1200.00,USD,new,300.00,platform
t2,c1,2024-02-15,-50.00,USD,refund,,platform
t3,c2,2024-02-01,150000,JPY,new,,
";

const SUBSCRIPTIONS: &str = "\
id,customer_id,plan,started_at,ended_at,seats,amount,currency,interval,status
s1,c1,pro,2024-01-15,,12,99.90,EUR,month,active
s2,c2,basic,2024-02-01,2024-05-01,1,0,USD,year,canceled
";

const COSTS: &str = "\
id,date,amount,currency,category,customer_id,channel,cohort
k1,2024-01-31,5000.00,USD,acquisition,,paid_search,
k2,2024-01-31,120.50,USD,service,c1,,
k3,2024-02-29,800,USD,retention,,,2024-01
";

const USAGE: &str = "\
customer_id,user,feature,occurred_at,quantity
c1,ann,export,2024-03-01T10:00:00Z,2.50
c1,ann,export,2024-03-01T11:00:00Z,
c2,,login,2024-03-02 08:00:00,
";

const FEEDBACK: &str = "\
customer_id,occurred_at,kind,score,comment
c1,2024-03-05,nps,9,\"Great, \"\"mostly\"\".
Second line.\"
c2,2024-03-06,csat,4,
";

/// Seed the store with one file of each kind.
fn seed(env: &Env, store: &mut dyn Store) {
    for (kind, name, body) in [
        (RecordKind::Customers, "customers.csv", CUSTOMERS),
        (RecordKind::Transactions, "transactions.csv", TRANSACTIONS),
        (
            RecordKind::Subscriptions,
            "subscriptions.csv",
            SUBSCRIPTIONS,
        ),
        (RecordKind::Costs, "costs.csv", COSTS),
        (RecordKind::Usage, "usage.csv", USAGE),
        (RecordKind::Feedback, "feedback.csv", FEEDBACK),
    ] {
        let f = env.file(name, body);
        let r = import(store, kind, &f).unwrap_or_else(|e| panic!("{name}: {}", message(&e)));
        assert_eq!(r.inserted, r.rows, "{name}");
    }
}

/// Row `id` of `kind` as (column, value) pairs.
fn stored(
    store: &mut dyn Store,
    kind: RecordKind,
    id: &str,
) -> Vec<(&'static str, Option<String>)> {
    let cols = store.columns(kind);
    let row = store
        .dump(kind)
        .unwrap()
        .into_iter()
        .find(|r| r[0].as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no {kind} {id}"));
    cols.into_iter().zip(row).collect()
}

fn value(row: &[(&'static str, Option<String>)], col: &str) -> Option<String> {
    row.iter().find(|(c, _)| *c == col).unwrap().1.clone()
}

struct Case {
    name: &'static str,
    kind: RecordKind,
    file: &'static str,
    body: Vec<u8>,
    /// Substrings of the message, with the file's path written `FILE`.
    expect: &'static [&'static str],
}

fn case(
    name: &'static str,
    kind: RecordKind,
    file: &'static str,
    body: impl Into<Vec<u8>>,
    expect: &'static [&'static str],
) -> Case {
    Case {
        name,
        kind,
        file,
        body: body.into(),
        expect,
    }
}

fn tx(rows: &str) -> Vec<u8> {
    format!("{TX_HEADER}{rows}").into_bytes()
}

fn bad_cases() -> Vec<Case> {
    use RecordKind::*;
    let mut huge = tx("t9,c1,2024-03-01,10.00,USD,new,,");
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.push(b'\n');
    let mut many = String::new();
    for i in 0..150 {
        many.push_str(&format!("m{i},c1,2024-03-01,ten,USD,new,,\n"));
    }
    vec![
        case(
            "wrong type",
            Transactions,
            "t.csv",
            tx("t9,c1,2024-03-01,abc,USD,new,,\n"),
            &["FILE:2:4: amount: `abc` is not a decimal amount (write e.g. 1234.50: no exponent, no thousands separator)",
              "FILE: 1 bad row; nothing was imported"],
        ),
        case(
            "bad date",
            Customers,
            "c.csv",
            "id,name,acquired_at\nc9,Initech,2024-02-30\n",
            &["FILE:2:3: acquired_at: `2024-02-30` is not a date (YYYY-MM-DD) or timestamp"],
        ),
        case(
            "date in another layout",
            Transactions,
            "t.csv",
            tx("t9,c1,03/01/2024,10.00,USD,new,,\n"),
            &["FILE:2:3: date: `03/01/2024` is not a date"],
        ),
        case(
            "negative seats",
            Subscriptions,
            "s.csv",
            "id,customer_id,plan,started_at,ended_at,seats,amount,currency,interval,status\n\
             s9,c1,pro,2024-01-01,,-3,99.00,USD,month,active\n",
            &["FILE:2:6: seats: must not be negative, got `-3`"],
        ),
        case(
            "end before start",
            Subscriptions,
            "s.csv",
            "id,customer_id,plan,started_at,ended_at,seats,amount,currency,interval,status\n\
             s9,c1,pro,2024-03-01,2024-02-01,1,99.00,USD,month,canceled\n",
            &["FILE:2:5: ended_at: ends at 2024-02-01T00:00:00.000000Z, before it starts at 2024-03-01T00:00:00.000000Z"],
        ),
        case(
            "unknown customer",
            Transactions,
            "t.csv",
            tx("t10,c1,2024-03-01,10.00,USD,new,,\nt9,c9,2024-03-01,10.00,USD,new,,\n"),
            &["FILE:3:2: customer_id: unknown customer `c9` (not in the store; import customers first)",
              "FILE: 1 bad row; nothing was imported"],
        ),
        case(
            "unknown referrer",
            Customers,
            "c.csv",
            "id,acquired_at,referred_by\nc8,2024-01-01,c9\nc9,2024-01-01,c1\nc7,2024-01-01,c77\n",
            &["FILE:4:3: referred_by: unknown customer `c77` (neither in the store nor in this file)"],
        ),
        case(
            "duplicate ids in one file",
            Transactions,
            "t.csv",
            tx("t9,c1,2024-03-01,10.00,USD,new,,\nt10,c1,2024-03-01,10.00,USD,new,,\nt9,c1,2024-03-02,11.00,USD,new,,\n"),
            &["FILE:4:1: id: duplicate id `t9` (first on line 2)"],
        ),
        case(
            "duplicate events without ids",
            Usage,
            "u.csv",
            "customer_id,user,feature,occurred_at\nc1,ann,export,2024-03-01T10:00:00Z\nc1,ann,export,2024-03-01T10:00:00Z\n",
            &["FILE:3:4: id: same customer_id, user, feature and occurred_at as line 2; give each row an `id` to keep both"],
        ),
        case(
            "non-UTF-8 bytes",
            Customers,
            "c.csv",
            &b"id,name,acquired_at\nc9,Caf\xe9,2024-01-01\n"[..],
            &["FILE:2:2: name: not valid UTF-8 (byte 4 of the value; save the file as UTF-8)"],
        ),
        case(
            "non-UTF-8 bytes in JSON lines",
            Customers,
            "c.jsonl",
            &b"{\"id\":\"c9\",\"name\":\"Caf\xe9\",\"acquired_at\":\"2024-01-01\"}\n"[..],
            &["FILE:1: row: not valid UTF-8 (byte 23 of the line; save the file as UTF-8)"],
        ),
        case(
            "truncated CSV: unbalanced quote in the last line",
            Transactions,
            "t.csv",
            tx("t9,c1,2024-03-01,10.00,USD,new,,\nt10,c1,\"2024-03-0"),
            &["FILE:3:3: date: unterminated quoted value opened on line 3 (is the file truncated?)"],
        ),
        case(
            "truncated JSON lines: last line cut mid-value",
            Transactions,
            "t.jsonl",
            "{\"id\":\"t9\",\"customer_id\":\"c1\",\"date\":\"2024-03-01\",\"amount\":\"10.00\",\"currency\":\"USD\",\"kind\":\"new\"}\n{\"id\":\"t10\",\"customer_id\":\"c1\",\"date\":\"2024-03-0",
            &["FILE:2: row: not a JSON object: EOF while parsing a string at byte 48 (the line ends early: is the file truncated?)"],
        ),
        case("empty CSV", Customers, "c.csv", "", &["FILE: empty file: no header row"]),
        case("empty JSON lines", Customers, "c.jsonl", "\n\n", &["FILE: empty file: no records"]),
        case(
            "a 10 MB cell",
            Transactions,
            "t.csv",
            huge,
            &["FILE:2:8: product: value is 10485760 bytes long; at most 65536"],
        ),
        case(
            "more decimals than the currency has",
            Transactions,
            "t.csv",
            tx("t9,c1,2024-03-01,12.345,USD,new,,\nt10,c1,2024-03-01,100.5,JPY,new,,\n"),
            &["FILE:2:4: amount: `12.345` has 3 decimal places; USD has 2 (amounts are never rounded)",
              "FILE:3:4: amount: `100.5` has 1 decimal places; JPY has 0",
              "FILE: 2 bad rows; nothing was imported"],
        ),
        case(
            "JSON numbers are read as written, not as floats",
            Transactions,
            "t.jsonl",
            "{\"id\":\"t9\",\"customer_id\":\"c1\",\"date\":\"2024-03-01\",\"amount\":12.345,\"currency\":\"USD\",\"kind\":\"new\"}\n\
             {\"id\":\"t10\",\"customer_id\":\"c1\",\"date\":\"2024-03-01\",\"amount\":1e3,\"currency\":\"USD\",\"kind\":\"new\"}\n",
            &["FILE:1:amount: amount: `12.345` has 3 decimal places; USD has 2",
              "FILE:2:amount: amount: `1e3` is not a decimal amount"],
        ),
        case(
            "unknown currency",
            Transactions,
            "t.csv",
            tx("t9,c1,2024-03-01,10.00,XYZ,new,,\n"),
            &["FILE:2:5: currency: `XYZ` is not an ISO 4217 currency code"],
        ),
        case(
            "a positive refund",
            Transactions,
            "t.csv",
            tx("t9,c1,2024-03-01,5.00,USD,refund,,\n"),
            &["FILE:2:4: amount: a refund is a negative amount; got `5.00` (write e.g. -12.50)"],
        ),
        case(
            "unknown transaction kind",
            Transactions,
            "t.csv",
            tx("t9,c1,2024-03-01,5.00,USD,gift,,\n"),
            &["FILE:2:6: kind: `gift` is not one of new, upsell, expansion, renewal, change_order, one_off, refund"],
        ),
        case(
            "missing required column",
            Transactions,
            "t.csv",
            "id,customer_id,date,amount,kind\nt9,c1,2024-03-01,10.00,new\n",
            &["FILE:1: missing required column `currency`"],
        ),
        case(
            "missing required value",
            Transactions,
            "t.csv",
            tx(",c1,2024-03-01,10.00,USD,new,,\n"),
            &["FILE:2:1: id: required value is missing"],
        ),
        case(
            "wrong number of fields",
            Transactions,
            "t.csv",
            tx("t9,c1,2024-03-01\n"),
            &["FILE:2: row: 3 fields, but the header has 8"],
        ),
        case(
            "a cost attached twice",
            Costs,
            "k.csv",
            "id,date,amount,currency,category,customer_id,channel,cohort\nk9,2024-01-01,10.00,USD,acquisition,c1,paid_search,\n",
            &["FILE:2:7: channel: a cost is attached to only one of customer_id, channel or cohort; this row has customer_id and channel"],
        ),
        case(
            "a score out of range",
            Feedback,
            "f.csv",
            "id,customer_id,occurred_at,kind,score\nf9,c1,2024-01-01,csat,7\n",
            &["FILE:2:5: score: `7` is outside 1–5 for csat"],
        ),
        case(
            "JSON of the wrong type",
            Transactions,
            "t.jsonl",
            "{\"id\":\"t9\",\"customer_id\":\"c1\",\"date\":\"2024-03-01\",\"amount\":true,\"currency\":\"USD\",\"kind\":\"new\"}\n",
            &["FILE:1:amount: amount: expected a string or a number, got `true`"],
        ),
        case(
            "NUL in a JSON string",
            Transactions,
            "t.jsonl",
            "{\"id\":\"t9\",\"customer_id\":\"c1\",\"date\":\"2024-03-01\",\"amount\":\"1\",\"currency\":\"USD\",\"kind\":\"new\",\"product\":\"a\\u0000b\"}\n",
            &["FILE:1:product: product: contains a NUL character"],
        ),
        case(
            "a key given twice",
            Transactions,
            "t.jsonl",
            "{\"id\":\"t9\",\"ID\":\"t8\",\"customer_id\":\"c1\",\"date\":\"2024-03-01\",\"amount\":\"1\",\"currency\":\"USD\",\"kind\":\"new\"}\n",
            &["FILE:1:ID: id: given twice (keys `id` and `ID`)"],
        ),
        case(
            "150 bad rows: 100 listed, the rest counted",
            Transactions,
            "t.csv",
            tx(&many),
            &["FILE:2:4: amount: `ten` is not a decimal amount",
              "FILE:101:4: amount:",
              "… and 50 more bad rows",
              "FILE: 150 bad rows; nothing was imported"],
        ),
    ]
}

fn bad_input_is_reported_and_stores_nothing(env: &Env, store: &mut dyn Store) {
    seed(env, store);
    let before = snapshot(store);
    for c in bad_cases() {
        let path = env.file(c.file, &c.body);
        let err = match import(store, c.kind, &path) {
            Ok(r) => panic!("{}: imported {r:?}", c.name),
            Err(e) => e,
        };
        assert!(err.is_bad_input(), "{}: {err}", c.name);
        let msg = message(&err).replace(&path.display().to_string(), "FILE");
        for want in c.expect {
            assert!(
                msg.contains(want),
                "{}: expected `{want}` in:\n{msg}",
                c.name
            );
        }
        if let ImportError::Rejected(r) = &err {
            assert!(r.errors.len() <= tenure_store::MAX_REPORTED, "{}", c.name);
            assert_eq!(
                msg.lines().count(),
                r.errors.len() + 1 + usize::from(r.bad_rows > r.errors.len() as u64),
                "{}: one line per bad row, then the summary:\n{msg}",
                c.name
            );
        }
        assert_eq!(snapshot(store), before, "{}: the store changed", c.name);
    }
    // The 150-row case lists exactly the first 100 rows by line.
    let p = env.file(
        "many.csv",
        tx(&"m,c1,2024-03-01,ten,USD,new,,\n".repeat(150)),
    );
    match import(store, RecordKind::Transactions, &p) {
        Err(ImportError::Rejected(r)) => {
            assert_eq!((r.errors.len(), r.bad_rows), (100, 150));
            assert_eq!((r.errors[0].line, r.errors[99].line), (2, 101));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(store), before);
}

fn reimporting_is_idempotent(env: &Env, store: &mut dyn Store) {
    let c = env.file("customers.csv", CUSTOMERS);
    assert_eq!(
        counts(&import(store, RecordKind::Customers, &c).unwrap()),
        (2, 0, 0)
    );
    let first = snapshot(store);
    assert_eq!(
        counts(&import(store, RecordKind::Customers, &c).unwrap()),
        (0, 0, 2)
    );
    assert_eq!(snapshot(store), first);
    // The same customers as JSON lines (other key order, the offset written in UTC).
    let j = env.file("customers.jsonl", CUSTOMERS_JSONL);
    assert_eq!(
        counts(&import(store, RecordKind::Customers, &j).unwrap()),
        (0, 0, 2)
    );
    assert_eq!(snapshot(store), first);

    let t = env.file("transactions.csv", TRANSACTIONS);
    assert_eq!(
        counts(&import(store, RecordKind::Transactions, &t).unwrap()),
        (3, 0, 0)
    );
    assert_eq!(
        counts(&import(store, RecordKind::Transactions, &t).unwrap()),
        (0, 0, 3)
    );
    // Overlapping: t2 as it was, t3 changed, t4 new.
    let o = env.file(
        "overlap.csv",
        tx("t2,c1,2024-02-15,-50.00,USD,refund,,platform\nt3,c2,2024-02-01,160000,JPY,new,,\nt4,c2,2024-03-01,10.00,USD,upsell,,\n"),
    );
    let r = import(store, RecordKind::Transactions, &o).unwrap();
    assert_eq!((r.rows, counts(&r)), (3, (1, 1, 1)));
    assert_eq!(store.count(RecordKind::Transactions).unwrap(), 4);
    let t3 = stored(store, RecordKind::Transactions, "t3");
    assert_eq!(value(&t3, "amount_minor").as_deref(), Some("160000"));
    // An optional value removed is an update too.
    let p = env.file(
        "noproduct.csv",
        tx("t2,c1,2024-02-15,-50.00,USD,refund,,\n"),
    );
    assert_eq!(
        counts(&import(store, RecordKind::Transactions, &p).unwrap()),
        (0, 1, 0)
    );
    assert_eq!(
        value(&stored(store, RecordKind::Transactions, "t2"), "product"),
        None
    );
}

fn every_kind_is_stored_exactly(env: &Env, store: &mut dyn Store) {
    seed(env, store);
    let counts: Vec<u64> = RecordKind::ALL
        .iter()
        .map(|k| store.count(*k).unwrap())
        .collect();
    assert_eq!(counts, [2, 3, 2, 3, 3, 2, 0, 0, 0, 0, 0]);
    let c1 = stored(store, RecordKind::Customers, "c1");
    assert_eq!(
        value(&c1, "acquired_at").as_deref(),
        Some("2024-01-15T00:00:00.000000Z")
    );
    assert_eq!(
        value(&c1, "attributes").as_deref(),
        Some(r#"{"industry":"retail","size":50}"#)
    );
    let c2 = stored(store, RecordKind::Customers, "c2");
    assert_eq!(
        value(&c2, "acquired_at").as_deref(),
        Some("2024-02-01T08:30:00.000000Z")
    );
    assert_eq!(value(&c2, "referred_by").as_deref(), Some("c1"));
    let t1 = stored(store, RecordKind::Transactions, "t1");
    assert_eq!(value(&t1, "amount_minor").as_deref(), Some("120000"));
    assert_eq!(value(&t1, "cogs_minor").as_deref(), Some("30000"));
    assert_eq!(value(&t1, "currency").as_deref(), Some("USD"));
    let t2 = stored(store, RecordKind::Transactions, "t2");
    assert_eq!(value(&t2, "amount_minor").as_deref(), Some("-5000"));
    let t3 = stored(store, RecordKind::Transactions, "t3");
    assert_eq!(
        value(&t3, "amount_minor").as_deref(),
        Some("150000"),
        "JPY has no minor unit"
    );
    let s1 = stored(store, RecordKind::Subscriptions, "s1");
    assert_eq!(value(&s1, "amount_minor").as_deref(), Some("9990"));
    assert_eq!(value(&s1, "seats").as_deref(), Some("12"));
    assert_eq!(value(&s1, "ended_at"), None);
    assert_eq!(value(&s1, "billing_interval").as_deref(), Some("month"));
    let k3 = stored(store, RecordKind::Costs, "k3");
    assert_eq!(value(&k3, "cohort").as_deref(), Some("2024-01"));
    assert_eq!(value(&k3, "customer_id"), None);
    let usage = store.dump(RecordKind::Usage).unwrap();
    let mut q: Vec<String> = usage.iter().map(|r| r[5].clone().unwrap()).collect();
    q.sort();
    assert_eq!(q, ["1", "1", "2.5"], "quantities exact, default 1");
    assert!(usage
        .iter()
        .all(|r| r[0].as_deref().unwrap().starts_with("usage:")));
    let fb = store.dump(RecordKind::Feedback).unwrap();
    let nps = fb.iter().find(|r| r[3].as_deref() == Some("nps")).unwrap();
    assert_eq!(nps[4].as_deref(), Some("9"));
    assert_eq!(nps[5].as_deref(), Some("Great, \"mostly\".\nSecond line."));
    // Derived ids are stable: the same files again change nothing.
    for (kind, name, body) in [
        (RecordKind::Usage, "u2.csv", USAGE),
        (RecordKind::Feedback, "f2.csv", FEEDBACK),
    ] {
        let f = env.file(name, body);
        assert_eq!(
            counts_of(store, kind, &f),
            (0, 0, 3 - u64::from(kind == RecordKind::Feedback))
        );
    }
    store.check_integrity().unwrap();
}

fn counts_of(store: &mut dyn Store, kind: RecordKind, f: &std::path::Path) -> (u64, u64, u64) {
    counts(&import(store, kind, f).unwrap())
}

fn references_may_point_later_in_the_same_file(env: &Env, store: &mut dyn Store) {
    let f = env.file(
        "c.csv",
        "id,acquired_at,referred_by\nc3,2024-01-01,c4\nc4,2024-01-02,\n",
    );
    assert_eq!(counts_of(store, RecordKind::Customers, &f), (2, 0, 0));
    let f = env.file("self.csv", "id,acquired_at,referred_by\nc5,2024-01-01,c5\n");
    let e = import(store, RecordKind::Customers, &f).unwrap_err();
    assert!(
        message(&e).ends_with("self.csv: 1 bad row; nothing was imported"),
        "{e}"
    );
    assert!(message(&e).contains("self.csv:2:3: referred_by: a customer cannot refer itself"));
}

fn columns_can_be_mapped(env: &Env, store: &mut dyn Store) {
    let f = env.file(
        "crm.csv",
        "Customer ID,Name,Created,Notes\nc1,Acme,2024-01-15,vip\n",
    );
    let opts = |map: &[(&str, &str)]| ImportOptions {
        format: None,
        map: map
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    };
    let r = store
        .import(
            RecordKind::Customers,
            &f,
            &opts(&[("Customer ID", "id"), ("created", "acquired_at")]),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        (r.inserted, r.ignored_columns.clone()),
        (1, vec!["Notes".to_string()])
    );
    assert_eq!(
        value(&stored(store, RecordKind::Customers, "c1"), "name").as_deref(),
        Some("Acme")
    );
    let e = store
        .import(
            RecordKind::Customers,
            &f,
            &opts(&[("Created", "acquired")]),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        e.to_string().starts_with("--map Created=acquired: `acquired` is not a column of customers (columns: id, name, acquired_at"),
        "{e}"
    );
    let e = store
        .import(
            RecordKind::Customers,
            &f,
            &opts(&[("Signup", "acquired_at")]),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(e.to_string().contains("has no column `Signup`"), "{e}");
    let e = store
        .import(
            RecordKind::Customers,
            &f,
            &opts(&[("Customer ID", "id"), ("Name", "id")]),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(":1: columns 1 (`Customer ID`) and 2 (`Name`) both give `id`"),
        "{e}"
    );
    // JSON keys are mapped the same way.
    let j = env.file(
        "crm.jsonl",
        "{\"Customer ID\":\"c2\",\"Created\":\"2024-02-01\",\"extra\":1}\n",
    );
    let r = store
        .import(
            RecordKind::Customers,
            &j,
            &opts(&[("Customer ID", "id"), ("Created", "acquired_at")]),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        (r.inserted, r.ignored_columns),
        (1, vec!["extra".to_string()])
    );
    let bad = env.file(
        "bad.jsonl",
        "{\"Customer ID\":\"c3\",\"Created\":\"someday\"}\n",
    );
    let e = store
        .import(
            RecordKind::Customers,
            &bad,
            &opts(&[("Customer ID", "id"), ("Created", "acquired_at")]),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        message(&e).contains("bad.jsonl:1:Created: acquired_at: `someday` is not a date"),
        "{}",
        message(&e)
    );
}

fn the_schema_is_migrated_once(env: &Env, store: &mut dyn Store) {
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let f = env.file("c.csv", CUSTOMERS);
    import(store, RecordKind::Customers, &f).unwrap();
    let mut again = env.open();
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(again.count(RecordKind::Customers).unwrap(), 2);
    assert!(matches!(
        (&env.location, env.backend),
        (Location::Sqlite(_), Backend::Sqlite) | (Location::Postgres { .. }, Backend::Postgres)
    ));
}

fn a_large_file_is_one_transaction(env: &Env, store: &mut dyn Store) {
    seed(env, store);
    // ~11 MB: more than one COPY chunk on PostgreSQL.
    let n = 150_000;
    let mut body = String::from(TX_HEADER);
    for i in 0..n {
        body.push_str(&format!(
            "L{i:07},c{},2024-{:02}-{:02}T10:{:02}:00Z,{}.{:02},USD,renewal,,plan-{}\n",
            1 + i % 2,
            1 + i % 12,
            1 + i % 28,
            i % 60,
            i % 997,
            i % 100,
            i % 7
        ));
    }
    let f = env.file("large.csv", &body);
    let mut last = None;
    let r = store
        .import(
            RecordKind::Transactions,
            &f,
            &ImportOptions::default(),
            &mut |p| last = Some(p),
        )
        .unwrap();
    assert_eq!((r.rows, r.inserted), (n, n));
    let last = last.unwrap();
    assert_eq!(last.stage, tenure_store::Stage::Done);
    assert_eq!(last.bytes_read, body.len() as u64);
    assert_eq!(store.count(RecordKind::Transactions).unwrap(), n + 3);
    // One bad row at the very end: none of the 150,000 good ones is stored again or changed.
    body.push_str("Lbad,c1,2024-13-01,1.00,USD,renewal,,\n");
    body = body.replace("plan-3\n", "plan-three\n");
    let f = env.file("large.csv", &body);
    let before = snapshot(store);
    let e = import(store, RecordKind::Transactions, &f).unwrap_err();
    assert!(
        message(&e).contains(&format!(":{}:3: date: `2024-13-01`", n + 2)),
        "{}",
        message(&e)
    );
    assert_eq!(snapshot(store), before);
}

on_both_backends!(
    bad_input_is_reported_and_stores_nothing,
    reimporting_is_idempotent,
    every_kind_is_stored_exactly,
    references_may_point_later_in_the_same_file,
    columns_can_be_mapped,
    the_schema_is_migrated_once,
    a_large_file_is_one_transaction,
);

/// The same files give the same stored rows on SQLite and PostgreSQL.
#[test]
fn both_backends_store_the_same_rows() {
    fn collect(env: &Env, store: &mut dyn Store) {
        seed(env, store);
        let snap = snapshot(store);
        let out = std::env::temp_dir().join(format!(
            "tenure-store-same-rows-{}-{:?}.txt",
            std::process::id(),
            env.backend
        ));
        std::fs::write(out, format!("{snap:?}")).unwrap();
    }
    if pg_admin().is_none() {
        return;
    }
    run(Backend::Sqlite, "same_rows", collect);
    run(Backend::Postgres, "same_rows", collect);
    let read = |b: &str| {
        let p = std::env::temp_dir().join(format!(
            "tenure-store-same-rows-{}-{b}.txt",
            std::process::id()
        ));
        let s = std::fs::read_to_string(&p).unwrap();
        let _ = std::fs::remove_file(&p);
        s
    };
    let (s, p) = (read("Sqlite"), read("Postgres"));
    assert!(s.len() > 500, "{s}");
    assert_eq!(s, p);
}

/// A database written by a newer Tenure is refused rather than misread.
#[test]
fn a_newer_schema_is_refused() {
    let dir = std::env::temp_dir().join(format!("tenure-store-newer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("t.db");
    drop(tenure_store::SqliteStore::open(&db).unwrap());
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute(
        "INSERT INTO tenure_schema_version (version, name) VALUES (?1, 'future')",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(c);
    let e = tenure_store::SqliteStore::open(&db).err().unwrap();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: the database is at schema version {}, newer than this tenure's {SCHEMA_VERSION}; upgrade tenure",
            db.display(),
            SCHEMA_VERSION + 1
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
