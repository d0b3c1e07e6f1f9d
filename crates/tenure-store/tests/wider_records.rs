//! The five kinds of the wider customer record (support cases, payment events, interactions,
//! campaigns, touches), on SQLite and on PostgreSQL (`<test>::sqlite`, `<test>::postgres`):
//! each bad row is reported as `FILE:LINE:COLUMN: field: reason` and leaves the store exactly
//! as it was; good files are stored exactly and re-importing them changes nothing; the
//! tables are the ones the specs describe; `Store::load` gives the rows per customer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use tenure_core::{CaseStatus, InteractionKind, PaymentKind};
use tenure_store::dataset::{day_from_ymd, PerCustomer};
use tenure_store::{ImportError, LoadOptions, Location, RecordKind, Store};

const CUSTOMERS: &str = "\
id,acquired_at
c1,2024-01-01
c2,2024-01-15
";

const CAMPAIGNS: &str = "\
id,name,channel,started_at,cost,currency
m2,Launch email,email,,0,eur
m1,Spring webinar,webinar,2024-03-01,1500.00,USD
";

const CASES_HEADER: &str =
    "id,customer_id,opened_at,closed_at,severity,category,product,status,owner,escalated,escalated_to,satisfaction\n";
const CASES: &str = "\
id,customer_id,opened_at,closed_at,severity,category,product,status,owner,escalated,escalated_to,satisfaction
k1,c1,2024-03-01T09:00:00Z,2024-03-02T10:00:00Z,2,billing,platform,solved,ann,yes,tier2,4
k2,c1,2024-03-05,,4,,,open,,,,
k3,c2,2024-03-03,,1,outage,api,pending,bob,0,,
";

const PAYMENTS_HEADER: &str = "id,customer_id,occurred_at,kind,amount,currency,invoice\n";
const PAYMENTS: &str = "\
id,customer_id,occurred_at,kind,amount,currency,invoice
p1,c1,2024-03-01,succeeded,99.90,usd,INV-1
p2,c1,2024-04-01,failed,99.90,USD,INV-2
p3,c1,2024-04-02,dunning_started,,,INV-2
p4,c2,2024-04-03,refunded,1500,JPY,
";

const INTERACTIONS_HEADER: &str = "id,customer_id,occurred_at,kind,owner,summary\n";
const INTERACTIONS: &str = "\
id,customer_id,occurred_at,kind,owner,summary
i1,c1,2024-03-01,call,ann,\"  Renewal call,
two lines  \"
i2,c2,2024-03-02,Note,,
";

const CAMPAIGNS_HEADER: &str = "id,name,channel,started_at,cost,currency\n";

const TOUCHES_HEADER: &str = "id,campaign_id,customer_id,sent_at,opened,clicked,replied\n";
/// Without ids: each touch's id is derived from (campaign_id, customer_id, sent_at).
const TOUCHES: &str = "\
campaign_id,customer_id,sent_at,opened,clicked,replied
m1,c1,2024-03-01T10:00:00Z,true,TRUE,
m2,c1,2024-03-02,no,0,false
m1,c2,2024-03-01T10:00:00Z,1,,yes
";

/// Every good file, in an order that satisfies the references (customers, then campaigns
/// before touches), with its row count.
const GOOD: &[(RecordKind, &str, &str, u64)] = &[
    (RecordKind::Customers, "customers.csv", CUSTOMERS, 2),
    (RecordKind::Campaigns, "campaigns.csv", CAMPAIGNS, 2),
    (RecordKind::Cases, "cases.csv", CASES, 3),
    (RecordKind::Payments, "payments.csv", PAYMENTS, 4),
    (
        RecordKind::Interactions,
        "interactions.csv",
        INTERACTIONS,
        2,
    ),
    (RecordKind::Touches, "touches.csv", TOUCHES, 3),
];

fn seed(env: &Env, store: &mut dyn Store) {
    for (kind, name, body, n) in GOOD {
        let f = env.file(name, body);
        let r = import(store, *kind, &f).unwrap_or_else(|e| panic!("{name}: {}", message(&e)));
        assert_eq!(counts(&r), (*n, 0, 0), "{name}");
    }
}

/// A file with one bad row and the text expected in the message (`FILE` for its path).
struct Case {
    kind: RecordKind,
    file: &'static str,
    body: String,
    expect: &'static [&'static str],
}

fn case(
    kind: RecordKind,
    file: &'static str,
    body: String,
    expect: &'static [&'static str],
) -> Case {
    Case {
        kind,
        file,
        body,
        expect,
    }
}

fn with(header: &str, rows: &str) -> String {
    format!("{header}{rows}")
}

fn case_cases() -> Vec<Case> {
    let c = |rows: &str, expect| case(RecordKind::Cases, "k.csv", with(CASES_HEADER, rows), expect);
    vec![
        c("k9,c1,2024-03-01,,5,,,open,,,,\n", &["FILE:2:5: severity: `5` is outside 1–4"]),
        c("k9,c1,2024-03-01,,2.5,,,open,,,,\n", &["FILE:2:5: severity: `2.5` is not a whole number"]),
        c("k9,c1,2024-03-01,,,,,open,,,,\n", &["FILE:2:5: severity: required value is missing"]),
        c(
            "k9,c1,2024-03-01,,2,,,done,,,,\n",
            &["FILE:2:8: status: `done` is not one of open, pending, solved, closed"],
        ),
        c(
            "k9,c1,2024-03-01,,2,,,solved,,,,\n",
            &["FILE:2:4: closed_at: required when status is `solved`"],
        ),
        c(
            "k9,c1,2024-03-01,2024-03-02,2,,,pending,,,,\n",
            &["FILE:2:4: closed_at: must be empty when status is `pending`; got `2024-03-02T00:00:00.000000Z`"],
        ),
        c(
            "k9,c1,2024-03-01,2024-02-01,2,,,closed,,,,\n",
            &["FILE:2:4: closed_at: ends at 2024-02-01T00:00:00.000000Z, before it starts at 2024-03-01T00:00:00.000000Z"],
        ),
        c(
            "k9,c1,2024-03-01,,2,,,open,,false,tier2,\n",
            &["FILE:2:11: escalated_to: must be empty when escalated is false; got `tier2`"],
        ),
        c(
            "k9,c1,2024-03-01,,2,,,open,,,tier2,\n",
            &["FILE:2:11: escalated_to: must be empty when escalated is false; got `tier2`"],
        ),
        c(
            "k9,c1,2024-03-01,,2,,,open,,maybe,,\n",
            &["FILE:2:10: escalated: `maybe` is not a boolean (true/false, 1/0, yes/no)"],
        ),
        c("k9,c1,2024-03-01,,2,,,open,,,,0\n", &["FILE:2:12: satisfaction: `0` is outside 1–5"]),
        c(
            "k9,c9,2024-03-01,,2,,,open,,,,\n",
            &["FILE:2:2: customer_id: unknown customer `c9` (not in the store; import customers first)"],
        ),
        c(
            "k9,c1,2024-03-01,,2,,,open,,,,\nk9,c2,2024-03-01,,3,,,open,,,,\n",
            &["FILE:3:1: id: duplicate id `k9` (first on line 2)"],
        ),
        case(
            RecordKind::Cases,
            "k.csv",
            "id,customer_id,opened_at,status\nk9,c1,2024-03-01,open\n".into(),
            &["FILE:1: missing required column `severity`"],
        ),
        case(
            RecordKind::Cases,
            "k.jsonl",
            "{\"id\":\"k9\",\"customer_id\":\"c1\",\"opened_at\":\"2024-03-01\",\"severity\":1,\"status\":\"closed\"}\n".into(),
            &["FILE:1:closed_at: closed_at: required when status is `closed`"],
        ),
    ]
}

fn payment_cases() -> Vec<Case> {
    let p = |rows: &str, expect| {
        case(
            RecordKind::Payments,
            "p.csv",
            with(PAYMENTS_HEADER, rows),
            expect,
        )
    };
    vec![
        p("p9,c1,2024-03-01,succeeded,,,\n", &["FILE:2:5: amount: required when kind is `succeeded`"]),
        p("p9,c1,2024-03-01,chargeback,,,\n", &["FILE:2:5: amount: required when kind is `chargeback`"]),
        p(
            "p9,c1,2024-03-01,retried,,USD,\n",
            &["FILE:2:6: currency: must be empty when there is no amount; got `USD`"],
        ),
        p("p9,c1,2024-03-01,retried,5.00,,\n", &["FILE:2:6: currency: required when an amount is given"]),
        p("p9,c1,2024-03-01,succeeded,-5.00,USD,\n", &["FILE:2:5: amount: must not be negative, got `-5.00`"]),
        p(
            "p9,c1,2024-03-01,succeeded,10.5,JPY,\n",
            &["FILE:2:5: amount: `10.5` has 1 decimal places; JPY has 0 (amounts are never rounded)"],
        ),
        p(
            "p9,c1,2024-03-01,succeeded,10,XYZ,\n",
            &["FILE:2:6: currency: `XYZ` is not an ISO 4217 currency code"],
        ),
        p(
            "p9,c1,2024-03-01,paid,10,USD,\n",
            &["FILE:2:4: kind: `paid` is not one of succeeded, failed, retried, refunded, chargeback, dunning_started, dunning_resolved"],
        ),
        p("p9,c1,2024-02-30,retried,,,\n", &["FILE:2:3: occurred_at: `2024-02-30` is not a date"]),
        p(
            "p9,c9,2024-03-01,retried,,,\n",
            &["FILE:2:2: customer_id: unknown customer `c9` (not in the store; import customers first)"],
        ),
        p(
            "p9,c1,2024-03-01,retried,,,\np9,c1,2024-03-02,retried,,,\n",
            &["FILE:3:1: id: duplicate id `p9` (first on line 2)"],
        ),
        case(
            RecordKind::Payments,
            "p.jsonl",
            "{\"id\":\"p9\",\"customer_id\":\"c1\",\"occurred_at\":\"2024-03-01\",\"kind\":\"failed\",\"amount\":12.345,\"currency\":\"USD\"}\n".into(),
            &["FILE:1:amount: amount: `12.345` has 3 decimal places; USD has 2"],
        ),
    ]
}

fn interaction_cases() -> Vec<Case> {
    let i = |rows: &str, expect| {
        case(
            RecordKind::Interactions,
            "i.csv",
            with(INTERACTIONS_HEADER, rows),
            expect,
        )
    };
    vec![
        i("i9,c1,2024-03-01,sms,,\n", &["FILE:2:4: kind: `sms` is not one of call, email, meeting, note"]),
        i("i9,c1,,call,,\n", &["FILE:2:3: occurred_at: required value is missing"]),
        i(
            "i9,c9,2024-03-01,call,,\n",
            &["FILE:2:2: customer_id: unknown customer `c9` (not in the store; import customers first)"],
        ),
        i(
            "i9,c1,2024-03-01,call,,\ni9,c1,2024-03-01,email,,\n",
            &["FILE:3:1: id: duplicate id `i9` (first on line 2)"],
        ),
        case(
            RecordKind::Interactions,
            "i.jsonl",
            "{\"id\":\"i9\",\"customer_id\":\"c1\",\"occurred_at\":\"2024-03-01\",\"kind\":\"call\",\"summary\":\"a\\u0000b\"}\n".into(),
            &["FILE:1:summary: summary: contains a NUL character"],
        ),
    ]
}

fn campaign_cases() -> Vec<Case> {
    let m = |rows: &str, expect| {
        case(
            RecordKind::Campaigns,
            "m.csv",
            with(CAMPAIGNS_HEADER, rows),
            expect,
        )
    };
    vec![
        m(
            "m9,,email,,10,USD\n",
            &["FILE:2:2: name: required value is missing"],
        ),
        m(
            "m9,Fair,event,,-1.00,USD\n",
            &["FILE:2:5: cost: must not be negative, got `-1.00`"],
        ),
        m(
            "m9,Fair,event,,1.001,USD\n",
            &["FILE:2:5: cost: `1.001` has 3 decimal places; USD has 2"],
        ),
        m(
            "m9,Fair,event,,10,XYZ\n",
            &["FILE:2:6: currency: `XYZ` is not an ISO 4217 currency code"],
        ),
        m(
            "m9,Fair,event,March,10,USD\n",
            &["FILE:2:4: started_at: `March` is not a date"],
        ),
        m(
            "m9,Fair,event,,10,USD\nm9,Fair again,event,,10,USD\n",
            &["FILE:3:1: id: duplicate id `m9` (first on line 2)"],
        ),
        case(
            RecordKind::Campaigns,
            "m.csv",
            "id,name,currency\nm9,Fair,USD\n".into(),
            &["FILE:1: missing required column `cost`"],
        ),
    ]
}

fn touch_cases() -> Vec<Case> {
    let t = |rows: &str, expect| {
        case(
            RecordKind::Touches,
            "h.csv",
            with(TOUCHES_HEADER, rows),
            expect,
        )
    };
    vec![
        t(
            "h9,m9,c1,2024-03-01,,,\n",
            &["FILE:2:2: campaign_id: unknown campaign `m9` (not in the store; import campaigns first)",
              "FILE: 1 bad row; nothing was imported"],
        ),
        t(
            "h9,m1,c9,2024-03-01,,,\n",
            &["FILE:2:3: customer_id: unknown customer `c9` (not in the store; import customers first)"],
        ),
        // Both references dangle: two messages, still one bad row.
        t(
            "h9,m9,c9,2024-03-01,,,\n",
            &["FILE:2:2: campaign_id: unknown campaign `m9`",
              "FILE:2:3: customer_id: unknown customer `c9`",
              "FILE: 1 bad row; nothing was imported"],
        ),
        t("h9,m1,c1,2024-03-01,2,,\n", &["FILE:2:5: opened: `2` is not a boolean (true/false, 1/0, yes/no)"]),
        t("h9,m1,c1,,true,,\n", &["FILE:2:4: sent_at: required value is missing"]),
        t(
            "h9,m1,c1,2024-03-01,,,\nh9,m2,c1,2024-03-01,,,\n",
            &["FILE:3:1: id: duplicate id `h9` (first on line 2)"],
        ),
        case(
            RecordKind::Touches,
            "h.csv",
            "campaign_id,customer_id,sent_at\nm1,c1,2024-03-01\nm1,c1,2024-03-01T00:00:00Z\n".into(),
            &["FILE:3:3: id: same campaign_id, customer_id and sent_at as line 2; give each row an `id` to keep both"],
        ),
        case(
            RecordKind::Touches,
            "h.csv",
            "campaign_id,customer_id,opened\nm1,c1,true\n".into(),
            &["FILE:1: missing required column `sent_at`"],
        ),
    ]
}

/// Import every case; each must be rejected as bad input with the expected text, one line per
/// reported row, and leave the store exactly as it was.
fn check_rejected(env: &Env, store: &mut dyn Store, cases: Vec<Case>) {
    seed(env, store);
    let before = snapshot(store);
    assert!(cases.len() >= 5);
    for c in cases {
        let path = env.file(c.file, &c.body);
        let name = format!("{} {:?}", c.kind, c.body);
        let err = match import(store, c.kind, &path) {
            Ok(r) => panic!("{name}: imported {r:?}"),
            Err(e) => e,
        };
        assert!(err.is_bad_input(), "{name}: {err}");
        let msg = message(&err).replace(&path.display().to_string(), "FILE");
        for want in c.expect {
            assert!(msg.contains(want), "{name}: expected `{want}` in:\n{msg}");
        }
        if let ImportError::Rejected(r) = &err {
            assert_eq!(r.bad_rows, 1, "{name}: one bad row per case:\n{msg}");
            assert_eq!(
                msg.lines().count(),
                r.errors.len() + 1,
                "{name}: one line per message, then the summary:\n{msg}"
            );
        }
        assert_eq!(snapshot(store), before, "{name}: the store changed");
    }
}

fn bad_cases_are_reported_and_store_nothing(env: &Env, store: &mut dyn Store) {
    check_rejected(env, store, case_cases());
}
fn bad_payments_are_reported_and_store_nothing(env: &Env, store: &mut dyn Store) {
    check_rejected(env, store, payment_cases());
}
fn bad_interactions_are_reported_and_store_nothing(env: &Env, store: &mut dyn Store) {
    check_rejected(env, store, interaction_cases());
}
fn bad_campaigns_are_reported_and_store_nothing(env: &Env, store: &mut dyn Store) {
    check_rejected(env, store, campaign_cases());
}
fn bad_touches_are_reported_and_store_nothing(env: &Env, store: &mut dyn Store) {
    check_rejected(env, store, touch_cases());
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
    row.iter()
        .find(|(c, _)| *c == col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .1
        .clone()
}

fn good_files_are_stored_exactly_and_reimport_unchanged(env: &Env, store: &mut dyn Store) {
    seed(env, store);
    // The same files again: every row unchanged, nothing written.
    let first = snapshot(store);
    for (kind, name, body, n) in GOOD {
        let f = env.file(name, body);
        assert_eq!(
            counts(&import(store, *kind, &f).unwrap()),
            (0, 0, *n),
            "{name}"
        );
    }
    assert_eq!(snapshot(store), first);

    let k1 = stored(store, RecordKind::Cases, "k1");
    assert_eq!(
        value(&k1, "opened_at").as_deref(),
        Some("2024-03-01T09:00:00.000000Z")
    );
    assert_eq!(
        value(&k1, "closed_at").as_deref(),
        Some("2024-03-02T10:00:00.000000Z")
    );
    assert_eq!(
        [
            value(&k1, "severity"),
            value(&k1, "escalated"),
            value(&k1, "satisfaction")
        ],
        [Some("2".into()), Some("1".into()), Some("4".into())]
    );
    assert_eq!(value(&k1, "escalated_to").as_deref(), Some("tier2"));
    let k2 = stored(store, RecordKind::Cases, "k2");
    assert_eq!(
        value(&k2, "escalated").as_deref(),
        Some("0"),
        "absent is false"
    );
    assert_eq!(
        (value(&k2, "closed_at"), value(&k2, "satisfaction")),
        (None, None)
    );

    let p1 = stored(store, RecordKind::Payments, "p1");
    assert_eq!(value(&p1, "amount_minor").as_deref(), Some("9990"));
    assert_eq!(value(&p1, "currency").as_deref(), Some("USD"));
    let p3 = stored(store, RecordKind::Payments, "p3");
    assert_eq!(
        (value(&p3, "amount_minor"), value(&p3, "currency")),
        (None, None)
    );
    let p4 = stored(store, RecordKind::Payments, "p4");
    assert_eq!(
        value(&p4, "amount_minor").as_deref(),
        Some("1500"),
        "JPY has no minor unit"
    );

    let i1 = stored(store, RecordKind::Interactions, "i1");
    assert_eq!(
        value(&i1, "summary").as_deref(),
        Some("  Renewal call,\ntwo lines  "),
        "kept as written"
    );
    assert_eq!(
        value(&stored(store, RecordKind::Interactions, "i2"), "kind").as_deref(),
        Some("note")
    );

    let m1 = stored(store, RecordKind::Campaigns, "m1");
    assert_eq!(value(&m1, "cost_minor").as_deref(), Some("150000"));
    let m2 = stored(store, RecordKind::Campaigns, "m2");
    assert_eq!(
        (value(&m2, "currency").as_deref(), value(&m2, "started_at")),
        (Some("EUR"), None)
    );

    let touches = store.dump(RecordKind::Touches).unwrap();
    assert!(touches.iter().all(|r| {
        let id = r[0].as_deref().unwrap();
        id.starts_with("touch:") && id.len() == 38
    }));
    let flags: Vec<Vec<Option<String>>> = {
        let mut f: Vec<_> = touches.iter().map(|r| r[1..].to_vec()).collect();
        f.sort();
        f
    };
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        flags,
        [
            vec![
                s("m1"),
                s("c1"),
                s("2024-03-01T10:00:00.000000Z"),
                s("1"),
                s("1"),
                s("0")
            ],
            vec![
                s("m1"),
                s("c2"),
                s("2024-03-01T10:00:00.000000Z"),
                s("1"),
                s("0"),
                s("1")
            ],
            vec![
                s("m2"),
                s("c1"),
                s("2024-03-02T00:00:00.000000Z"),
                s("0"),
                s("0"),
                s("0")
            ],
        ]
    );

    // An overlapping file: one row as it was, one changed, one new.
    let f = env.file(
        "cases2.csv",
        with(
            CASES_HEADER,
            "k2,c1,2024-03-05,,4,,,open,,,,\nk3,c2,2024-03-03,2024-03-04,1,outage,api,solved,bob,0,,5\nk4,c2,2024-03-06,,3,,,open,,,,\n",
        ),
    );
    assert_eq!(
        counts(&import(store, RecordKind::Cases, &f).unwrap()),
        (1, 1, 1)
    );
    assert_eq!(
        value(&stored(store, RecordKind::Cases, "k3"), "status").as_deref(),
        Some("solved")
    );
    // The same touches as JSON lines (booleans as JSON values' text): unchanged.
    let j = env.file(
        "touches.jsonl",
        "{\"campaign_id\":\"m1\",\"customer_id\":\"c1\",\"sent_at\":\"2024-03-01T11:00:00+01:00\",\"opened\":\"yes\",\"clicked\":1}\n",
    );
    assert_eq!(
        counts(&import(store, RecordKind::Touches, &j).unwrap()),
        (0, 0, 1)
    );
    store.check_integrity().unwrap();
}

/// The tables the migrations create have exactly the columns, in order, the import writes.
fn the_migrated_tables_match_the_specs(env: &Env, store: &mut dyn Store) {
    let tables = [
        (RecordKind::Cases, "cases"),
        (RecordKind::Payments, "payment_events"),
        (RecordKind::Interactions, "interactions"),
        (RecordKind::Campaigns, "campaigns"),
        (RecordKind::Touches, "touches"),
    ];
    for (kind, table) in tables {
        let actual: Vec<String> = match &env.location {
            Location::Sqlite(p) => {
                let c = rusqlite::Connection::open(p).unwrap();
                let mut st = c.prepare(&format!("PRAGMA table_info({table})")).unwrap();
                let names = st.query_map([], |r| r.get::<_, String>(1)).unwrap();
                names.collect::<Result<_, _>>().unwrap()
            }
            Location::Postgres { url, schema } => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                c.query(
                    "SELECT column_name::text FROM information_schema.columns \
                     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                    &[schema.as_ref().unwrap(), &table],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
            }
        };
        assert_eq!(actual, store.columns(kind), "{table}");
    }
}

fn new_kinds_load_per_customer(env: &Env, store: &mut dyn Store) {
    seed(env, store);
    let opts = LoadOptions {
        cases: true,
        payments: true,
        interactions: true,
        touches: true,
        ids: true,
        ..LoadOptions::customers_only()
    };
    let d = store.load(&opts).unwrap();
    assert!(d.loaded.campaigns, "touches bring their campaigns");
    assert_eq!(d.customer_ids, ["c1", "c2"]);
    let (c1, c2) = (0, 1);
    let day = |m, dd| day_from_ymd(2024, m, dd);

    let k = d.cases_of(c1);
    assert_eq!(k.len(), 2);
    assert_eq!(
        (k[0].day, k[0].closed, k[0].severity),
        (day(3, 1), Some(day(3, 2)), 2)
    );
    assert_eq!(
        (k[0].status, k[0].escalated, k[0].satisfaction),
        (CaseStatus::Solved, true, Some(4))
    );
    assert_eq!(k[0].escalated_to.map(|n| d.name(n)), Some("tier2"));
    assert_eq!(k[0].category.map(|n| d.name(n)), Some("billing"));
    assert_eq!(
        (k[1].day, k[1].closed, k[1].escalated),
        (day(3, 5), None, false)
    );
    assert_eq!(d.id_of(PerCustomer::Cases, 0), Some("k1"));
    let k = d.cases_of(c2);
    assert_eq!(
        (k.len(), k[0].status, k[0].severity),
        (1, CaseStatus::Pending, 1)
    );

    let p = d.payments_of(c1);
    assert_eq!(
        p.iter().map(|p| p.kind).collect::<Vec<_>>(),
        [
            PaymentKind::Succeeded,
            PaymentKind::Failed,
            PaymentKind::DunningStarted
        ]
    );
    assert_eq!(
        p[0].amount
            .map(|a| (a.units(), a.currency().code().to_string())),
        Some((9990, "USD".into()))
    );
    assert_eq!(p[2].amount, None);
    let p = d.payments_of(c2);
    assert_eq!(
        (p[0].day, p[0].amount.map(|a| a.units())),
        (day(4, 3), Some(1500))
    );

    let i = d.interactions_of(c1);
    assert_eq!((i.len(), i[0].kind), (1, InteractionKind::Call));
    assert_eq!(i[0].owner.map(|n| d.name(n)), Some("ann"));
    assert_eq!(d.interactions_of(c2)[0].kind, InteractionKind::Note);

    assert_eq!(d.campaign_ids, ["m1", "m2"], "campaigns in id order");
    assert_eq!(d.campaign("m2"), Some(1));
    assert_eq!(d.name(d.campaigns[0].name), "Spring webinar");
    assert_eq!(
        (d.campaigns[0].cost.units(), d.campaigns[0].started),
        (150000, Some(day(3, 1)))
    );
    assert_eq!(
        (
            d.campaigns[1].cost.currency().code(),
            d.campaigns[1].started
        ),
        ("EUR", None)
    );

    let t = d.touches_of(c1);
    assert_eq!(t.len(), 2);
    assert_eq!(
        (
            d.campaign_id(t[0].campaign),
            t[0].day,
            t[0].opened,
            t[0].clicked,
            t[0].replied
        ),
        ("m1", day(3, 1), true, true, false)
    );
    assert_eq!((d.campaign_id(t[1].campaign), t[1].opened), ("m2", false));
    let t = d.touches_of(c2);
    assert_eq!((t.len(), t[0].replied, t[0].clicked), (1, true, false));
    assert!(d
        .id_of(PerCustomer::Touches, 0)
        .unwrap()
        .starts_with("touch:"));
    assert_eq!(d.last_day(), Some(day(4, 3)));
    assert!(d.transactions.is_empty() && !d.loaded.transactions);

    // `only` restricts per-customer rows, never the campaigns.
    let d = store
        .load(&LoadOptions {
            only: Some(vec!["c2".into()]),
            ..LoadOptions::all()
        })
        .unwrap();
    assert_eq!(
        (
            d.cases.len(),
            d.payments.len(),
            d.interactions.len(),
            d.touches.len()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(d.campaigns.len(), 2);
    assert_eq!(d.touch_ids, None);
    // Not asked for: not read.
    let d = store.load(&LoadOptions::customers_only()).unwrap();
    assert!(d.cases.is_empty() && d.campaigns.is_empty() && d.touches.is_empty());
}

on_both_backends!(
    bad_cases_are_reported_and_store_nothing,
    bad_payments_are_reported_and_store_nothing,
    bad_interactions_are_reported_and_store_nothing,
    bad_campaigns_are_reported_and_store_nothing,
    bad_touches_are_reported_and_store_nothing,
    good_files_are_stored_exactly_and_reimport_unchanged,
    the_migrated_tables_match_the_specs,
    new_kinds_load_per_customer,
);
