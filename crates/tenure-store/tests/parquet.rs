//! Parquet imports, on SQLite and on PostgreSQL: a Parquet file stores exactly what its CSV
//! equivalent stores (re-importing it over the CSV's rows changes nothing), and a bad Parquet
//! file (a value of the wrong type, a null in a required column, a corrupt file) is reported
//! with its row and column and leaves the store as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DataType, DoubleType, Int32Type, Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::parser::parse_message_type;
use std::path::Path;
use std::sync::Arc;
use tenure_store::{ImportOptions, InputFormat, RecordKind, Store};

const CUSTOMERS_CSV: &str = "\
id,name,acquired_at,channel,plan,region,referred_by,attributes
c1,Acme,2024-01-15,paid_search,pro,eu,,\"{\"\"size\"\": 50}\"
c2,Globex,2024-02-01T09:30:00.25+01:00,referral,,us,c1,
";

const TRANSACTIONS_CSV: &str = "\
id,customer_id,date,amount,currency,kind,cogs,product
t1,c1,2024-01-15,1200.5,USD,new,300.00,platform
t2,c1,2024-02-15,-50,USD,refund,,platform
t3,c2,2024-02-01,150000,JPY,new,,
";

/// One column's values; `None` is null.
enum Col {
    Str(Vec<Option<&'static str>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    F64(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
}

fn put<T: DataType>(c: &mut SerializedColumnWriter<'_>, v: Vec<Option<T::T>>) {
    let w = c.typed::<T>();
    let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
    let values: Vec<T::T> = v.into_iter().flatten().collect();
    let defs = (w.get_descriptor().max_def_level() > 0).then_some(&defs[..]);
    w.write_batch(&values, defs, None).unwrap();
}

/// Write one row group of `cols` (in the schema's order) to `path`.
fn write_parquet(path: &Path, schema: &str, cols: Vec<Col>) {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let file = std::fs::File::create(path).unwrap();
    let props = Arc::new(WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    for col in cols {
        let mut c = rg.next_column().unwrap().unwrap();
        match col {
            Col::Str(v) => put::<ByteArrayType>(
                &mut c,
                v.into_iter().map(|s| s.map(ByteArray::from)).collect(),
            ),
            Col::I32(v) => put::<Int32Type>(&mut c, v),
            Col::I64(v) => put::<Int64Type>(&mut c, v),
            Col::F64(v) => put::<DoubleType>(&mut c, v),
            Col::Bool(v) => put::<BoolType>(&mut c, v),
        }
        c.close().unwrap();
    }
    rg.close().unwrap();
    w.close().unwrap();
}

/// Days since 1970-01-01.
fn days(ymd: &str) -> i32 {
    let d = chrono::NaiveDate::parse_from_str(ymd, "%Y-%m-%d").unwrap();
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

/// Microseconds since the epoch of an RFC 3339 timestamp.
fn micros(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .unwrap()
        .timestamp_micros()
}

/// The customers of `CUSTOMERS_CSV`: timestamps (UTC, microseconds), a JSON string, nulls,
/// and a column the schema does not know.
fn customers_parquet(path: &Path) {
    write_parquet(
        path,
        "message customers {
            required binary id (UTF8);
            optional binary name (UTF8);
            required int64 acquired_at (TIMESTAMP(MICROS,true));
            optional binary channel (UTF8);
            optional binary plan (UTF8);
            optional binary region (UTF8);
            optional binary referred_by (UTF8);
            optional binary attributes (UTF8);
            optional int32 extra;
        }",
        vec![
            Col::Str(vec![Some("c1"), Some("c2")]),
            Col::Str(vec![Some("Acme"), Some("Globex")]),
            Col::I64(vec![
                Some(micros("2024-01-15T00:00:00Z")),
                Some(micros("2024-02-01T08:30:00.25Z")),
            ]),
            Col::Str(vec![Some("paid_search"), Some("referral")]),
            Col::Str(vec![Some("pro"), None]),
            Col::Str(vec![Some("eu"), Some("us")]),
            Col::Str(vec![None, Some("c1")]),
            Col::Str(vec![Some(r#"{"size": 50}"#), None]),
            Col::I32(vec![Some(7), None]),
        ],
    );
}

/// The transactions of `TRANSACTIONS_CSV`: DATE, DOUBLE amounts (shortest decimal), DECIMAL
/// cogs, nulls.
fn transactions_parquet(path: &Path) {
    write_parquet(
        path,
        "message transactions {
            required binary id (UTF8);
            required binary customer_id (UTF8);
            required int32 date (DATE);
            required double amount;
            required binary currency (UTF8);
            required binary kind (UTF8);
            optional int64 cogs (DECIMAL(12,2));
            optional binary product (UTF8);
        }",
        vec![
            Col::Str(vec![Some("t1"), Some("t2"), Some("t3")]),
            Col::Str(vec![Some("c1"), Some("c1"), Some("c2")]),
            Col::I32(vec![
                Some(days("2024-01-15")),
                Some(days("2024-02-15")),
                Some(days("2024-02-01")),
            ]),
            Col::F64(vec![Some(1200.5), Some(-50.0), Some(150000.0)]),
            Col::Str(vec![Some("USD"), Some("USD"), Some("JPY")]),
            Col::Str(vec![Some("new"), Some("refund"), Some("new")]),
            Col::I64(vec![Some(30000), None, None]),
            Col::Str(vec![Some("platform"), Some("platform"), None]),
        ],
    );
}

fn parquet_imports_like_its_csv(env: &Env, store: &mut dyn Store) {
    let c = env.file("customers.csv", CUSTOMERS_CSV);
    let t = env.file("transactions.csv", TRANSACTIONS_CSV);
    assert_eq!(
        counts(&import(store, RecordKind::Customers, &c).unwrap()),
        (2, 0, 0)
    );
    assert_eq!(
        counts(&import(store, RecordKind::Transactions, &t).unwrap()),
        (3, 0, 0)
    );
    let from_csv = snapshot(store);

    let cp = env.dir.join("customers.parquet");
    customers_parquet(&cp);
    let r = import(store, RecordKind::Customers, &cp).unwrap_or_else(|e| panic!("{}", message(&e)));
    assert_eq!(counts(&r), (0, 0, 2), "every column equals the CSV's");
    assert_eq!(r.ignored_columns, ["extra"]);
    // Found by its magic bytes, whatever the name.
    let tp = env.dir.join("transactions.bin");
    transactions_parquet(&tp);
    let r =
        import(store, RecordKind::Transactions, &tp).unwrap_or_else(|e| panic!("{}", message(&e)));
    assert_eq!(counts(&r), (0, 0, 3), "every column equals the CSV's");
    assert_eq!(snapshot(store), from_csv);

    // And the other way round: a store filled from Parquet dumps the same rows.
    let mut fresh = fresh_store(env);
    let r = import(fresh.as_mut(), RecordKind::Customers, &cp).unwrap();
    assert_eq!(counts(&r), (2, 0, 0));
    let opts = ImportOptions {
        format: Some(InputFormat::Parquet),
        map: vec![],
    };
    let r = fresh
        .import(RecordKind::Transactions, &tp, &opts, &mut |_| {})
        .unwrap();
    assert_eq!(counts(&r), (3, 0, 0));
    assert_eq!(snapshot(fresh.as_mut()), from_csv);
}

/// A second, empty store next to the test's (same backend).
fn fresh_store(env: &Env) -> Box<dyn Store> {
    let location = match &env.location {
        tenure_store::Location::Sqlite(_) => {
            tenure_store::Location::Sqlite(env.dir.join("fresh.db"))
        }
        tenure_store::Location::Postgres { url, schema } => tenure_store::Location::Postgres {
            url: url.clone(),
            schema: schema.as_ref().map(|s| format!("{s}_fresh")),
        },
    };
    if let tenure_store::Location::Postgres {
        schema: Some(s), ..
    } = &location
    {
        let mut c = pg_admin().unwrap();
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE"))
            .unwrap();
    }
    tenure_store::open(&location).unwrap()
}

fn drop_fresh(env: &Env) {
    if let tenure_store::Location::Postgres {
        schema: Some(s), ..
    } = &env.location
    {
        if let Some(mut c) = pg_admin() {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{s}_fresh\" CASCADE"));
        }
    }
}

fn parquet_imports_like_its_csv_then_cleanup(env: &Env, store: &mut dyn Store) {
    parquet_imports_like_its_csv(env, store);
    drop_fresh(env);
}

fn bad_parquet_is_reported_and_stores_nothing(env: &Env, store: &mut dyn Store) {
    let c = env.file("customers.csv", CUSTOMERS_CSV);
    import(store, RecordKind::Customers, &c).unwrap();
    let before = snapshot(store);
    let fail = |store: &mut dyn Store, kind, path: &Path| -> String {
        let e = match import(store, kind, path) {
            Ok(r) => panic!("{}: imported {r:?}", path.display()),
            Err(e) => e,
        };
        assert!(e.is_bad_input(), "{e}");
        message(&e).replace(&path.display().to_string(), "FILE")
    };

    // A BOOLEAN where a timestamp belongs, on row 2.
    let p = env.dir.join("wrong_type.parquet");
    write_parquet(
        &p,
        "message m { required binary id (UTF8); required boolean acquired_at; }",
        vec![
            Col::Str(vec![Some("c3"), Some("c4")]),
            Col::Bool(vec![Some(true), Some(false)]),
        ],
    );
    let msg = fail(store, RecordKind::Customers, &p);
    assert!(
        msg.contains("FILE: row 1, column acquired_at: acquired_at: ")
            && msg.contains("FILE: row 2, column acquired_at: acquired_at: ")
            && msg.contains("FILE: 2 bad rows; nothing was imported"),
        "{msg}"
    );
    assert_eq!(snapshot(store), before);

    // A null in a required column (the file's schema allows it; ours does not).
    let p = env.dir.join("null.parquet");
    write_parquet(
        &p,
        "message m {
            required binary id (UTF8);
            optional binary customer_id (UTF8);
            required int32 date (DATE);
            required binary amount (UTF8);
            required binary currency (UTF8);
            required binary kind (UTF8);
        }",
        vec![
            Col::Str(vec![Some("t1"), Some("t2")]),
            Col::Str(vec![Some("c1"), None]),
            Col::I32(vec![Some(days("2024-01-15")); 2]),
            Col::Str(vec![Some("10.00"); 2]),
            Col::Str(vec![Some("USD"); 2]),
            Col::Str(vec![Some("new"); 2]),
        ],
    );
    let msg = fail(store, RecordKind::Transactions, &p);
    assert!(
        msg.contains("FILE: row 2, column customer_id: customer_id: ")
            && msg.contains("FILE: 1 bad row; nothing was imported"),
        "{msg}"
    );
    assert!(!msg.contains("row 1,"), "{msg}");
    assert_eq!(snapshot(store), before);

    // A DECIMAL with more decimals than the currency has, and an unknown customer.
    let p = env.dir.join("money.parquet");
    write_parquet(
        &p,
        "message m {
            required binary id (UTF8);
            required binary customer_id (UTF8);
            required int64 date (TIMESTAMP(MILLIS,true));
            required int64 amount (DECIMAL(12,2));
            required binary currency (UTF8);
            required binary kind (UTF8);
        }",
        vec![
            Col::Str(vec![Some("t1"), Some("t2")]),
            Col::Str(vec![Some("c1"), Some("nobody")]),
            Col::I64(vec![Some(0); 2]),
            Col::I64(vec![Some(10_005), Some(10_000)]),
            Col::Str(vec![Some("JPY"), Some("USD")]),
            Col::Str(vec![Some("new"); 2]),
        ],
    );
    let msg = fail(store, RecordKind::Transactions, &p);
    assert!(
        msg.contains(
            "FILE: row 1, column amount: amount: `100.05` has 2 decimal places; JPY has 0"
        ) && msg
            .contains("FILE: row 2, column customer_id: customer_id: unknown customer `nobody`"),
        "{msg}"
    );
    assert_eq!(snapshot(store), before);

    // A required column missing from the file's schema.
    let p = env.dir.join("missing.parquet");
    write_parquet(
        &p,
        "message m { required binary id (UTF8); }",
        vec![Col::Str(vec![Some("c9")])],
    );
    let msg = fail(store, RecordKind::Customers, &p);
    assert!(
        msg.contains("missing required column `acquired_at`"),
        "{msg}"
    );
    assert_eq!(snapshot(store), before);

    // Corrupt: truncated (no footer), and a damaged page header (footer intact).
    let good = env.dir.join("good.parquet");
    customers_parquet(&good);
    let bytes = std::fs::read(&good).unwrap();
    let p = env.file("truncated.parquet", &bytes[..bytes.len() / 2]);
    let msg = fail(store, RecordKind::Customers, &p);
    assert!(
        msg.starts_with("FILE: not a readable Parquet file"),
        "{msg}"
    );
    assert_eq!(snapshot(store), before);
    let mut damaged = bytes.clone();
    for b in &mut damaged[4..24] {
        *b = 0xff;
    }
    let p = env.file("damaged.parquet", &damaged);
    let msg = fail(store, RecordKind::Customers, &p);
    assert!(
        msg.starts_with("FILE: cannot decode row 1 (is the file corrupt or truncated?)"),
        "{msg}"
    );
    assert_eq!(snapshot(store), before);
    // Not Parquet at all, though named so.
    let p = env.file("text.parquet", "id,acquired_at\nc5,2024-01-01\n");
    let msg = fail(store, RecordKind::Customers, &p);
    assert!(
        msg.starts_with("FILE: not a readable Parquet file"),
        "{msg}"
    );
    assert_eq!(snapshot(store), before);
    store.check_integrity().unwrap();
    assert!(matches!(
        import(store, RecordKind::Customers, &good),
        Ok(ref r) if counts(r) == (0, 0, 2)
    ));
}

/// Touches from Parquet: BOOLEAN flags (null is false), derived ids equal to the CSV's, and a
/// bad row reported by row and column.
fn parquet_touches_import_like_their_csv(env: &Env, store: &mut dyn Store) {
    for (kind, name, body) in [
        (RecordKind::Customers, "c.csv", CUSTOMERS_CSV),
        (
            RecordKind::Campaigns,
            "m.csv",
            "id,name,cost,currency\nm1,Webinar,100.00,USD\n",
        ),
        (
            RecordKind::Touches,
            "h.csv",
            "campaign_id,customer_id,sent_at,opened,clicked,replied\n\
             m1,c1,2024-03-01T10:00:00Z,true,false,\nm1,c2,2024-03-02,yes,1,0\n",
        ),
    ] {
        let f = env.file(name, body);
        import(store, kind, &f).unwrap_or_else(|e| panic!("{name}: {}", message(&e)));
    }
    let from_csv = snapshot(store);
    let schema = "message touches {
            required binary campaign_id (UTF8);
            required binary customer_id (UTF8);
            required int64 sent_at (TIMESTAMP(MICROS,true));
            optional boolean opened;
            optional boolean clicked;
            optional boolean replied;
        }";
    let p = env.dir.join("touches.parquet");
    write_parquet(
        &p,
        schema,
        vec![
            Col::Str(vec![Some("m1"), Some("m1")]),
            Col::Str(vec![Some("c1"), Some("c2")]),
            Col::I64(vec![
                Some(micros("2024-03-01T10:00:00Z")),
                Some(micros("2024-03-02T00:00:00Z")),
            ]),
            Col::Bool(vec![Some(true), Some(true)]),
            Col::Bool(vec![None, Some(true)]),
            Col::Bool(vec![Some(false), None]),
        ],
    );
    let r = import(store, RecordKind::Touches, &p).unwrap_or_else(|e| panic!("{}", message(&e)));
    assert_eq!(counts(&r), (0, 0, 2), "every column equals the CSV's");
    assert_eq!(snapshot(store), from_csv);

    let bad = env.dir.join("bad_touches.parquet");
    write_parquet(
        &bad,
        schema,
        vec![
            Col::Str(vec![Some("m1"), Some("m9")]),
            Col::Str(vec![Some("c1"), Some("c1")]),
            Col::I64(vec![Some(micros("2024-03-05T00:00:00Z")); 2]),
            Col::Bool(vec![None, None]),
            Col::Bool(vec![None, None]),
            Col::Bool(vec![None, None]),
        ],
    );
    let e = import(store, RecordKind::Touches, &bad).unwrap_err();
    let msg = message(&e).replace(&bad.display().to_string(), "FILE");
    assert!(
        msg.contains(
            "FILE: row 2, column campaign_id: campaign_id: unknown campaign `m9` \
             (not in the store; import campaigns first)"
        ),
        "{msg}"
    );
    assert_eq!(snapshot(store), from_csv);
}

on_both_backends!(
    parquet_imports_like_its_csv_then_cleanup,
    bad_parquet_is_reported_and_stores_nothing,
    parquet_touches_import_like_their_csv,
);
