//! The decision layer's journal on both backends: histories in day order, goals, fires that
//! happen once, and the outbox's lease / retry / dead / replay cycle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;
use common::Env;
use tenure_store::journal::{
    Channel, Fire, GoalStatus, GoalUpdate, NewAction, NewGoal, OutboxStatus, SegmentMove, Settle,
    StageMove,
};
use tenure_store::{ImportOptions, Journal, RecordKind, Store};

fn customers(env: &Env, store: &mut dyn Store) {
    let f = env.file(
        "customers.csv",
        "id,acquired_at\nc1,2024-01-01\nc2,2024-02-01\n",
    );
    store
        .import(
            RecordKind::Customers,
            &f,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
}

fn seg(c: &str, day: &str, s: &str, prev: Option<&str>) -> SegmentMove {
    SegmentMove {
        customer_id: c.into(),
        day: day.into(),
        segment: s.into(),
        previous: prev.map(Into::into),
        reason: format!("test {s}"),
    }
}

fn histories(env: &Env, store: &mut dyn Store) {
    customers(env, store);
    store
        .record_segments("2025-01-01", &[seg("c1", "2025-01-01", "general", None)])
        .unwrap();
    store
        .record_segments(
            "2025-02-01",
            &[
                seg("c1", "2025-02-01", "key", Some("general")),
                seg("c2", "2025-02-01", "general", None),
            ],
        )
        .unwrap();
    let last = store.last_segments().unwrap();
    assert_eq!(last["c1"], ("key".to_string(), "2025-02-01".to_string()));
    assert_eq!(last["c2"].0, "general");
    let h = store.segment_history(Some("c1")).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].previous.as_deref(), Some("general"));
    // An earlier day than recorded is refused and changes nothing.
    let err = store
        .record_segments("2025-01-15", &[seg("c2", "2025-01-15", "key", None)])
        .unwrap_err();
    assert!(
        err.to_string().contains("recorded up to 2025-02-01"),
        "{err}"
    );
    assert_eq!(store.segment_history(None).unwrap().len(), 3);
    // An unknown customer rolls the whole day back.
    assert!(store
        .record_segments(
            "2025-03-01",
            &[
                seg("c1", "2025-03-01", "general", Some("key")),
                seg("nobody", "2025-03-01", "key", None)
            ]
        )
        .is_err());
    assert_eq!(store.segment_history(None).unwrap().len(), 3);

    let m = StageMove {
        customer_id: "c2".into(),
        day: "2025-02-01".into(),
        stage: "develop".into(),
        previous: Some("deliver".into()),
        since: "2024-03-10".into(),
        reason: "first value on 2024-03-10".into(),
    };
    store
        .record_stages("2025-02-01", std::slice::from_ref(&m))
        .unwrap();
    assert_eq!(store.last_stages().unwrap()["c2"], m);
    assert_eq!(store.stage_history(None).unwrap(), vec![m]);
}

fn goals(env: &Env, store: &mut dyn Store) {
    customers(env, store);
    let g = store
        .add_goal(
            &NewGoal {
                customer_id: "c1".into(),
                title: "Roll out to the sales team".into(),
                owner: "ana".into(),
                target_day: "2025-06-30".into(),
                metric: Some("seats".into()),
                target: Some("40".into()),
                ..NewGoal::default()
            },
            1_700_000_000,
        )
        .unwrap();
    assert_eq!(g.status, GoalStatus::Planned);
    let u = store
        .update_goal(
            g.id,
            &GoalUpdate {
                status: Some(GoalStatus::OnTrack),
                note: Some("20 seats live".into()),
                ..GoalUpdate::default()
            },
            1_700_000_100,
        )
        .unwrap();
    assert_eq!(u.status, GoalStatus::OnTrack);
    assert_eq!(u.title, g.title);
    assert_eq!(u.note.as_deref(), Some("20 seats live"));
    assert_eq!((u.created_at, u.updated_at), (1_700_000_000, 1_700_000_100));
    assert_eq!(store.goals(Some("c1")).unwrap(), vec![u]);
    assert!(store.goals(Some("c2")).unwrap().is_empty());
    let missing = store
        .add_goal(
            &NewGoal {
                customer_id: "nobody".into(),
                ..NewGoal::default()
            },
            0,
        )
        .unwrap_err();
    assert!(missing.to_string().contains("no customer `nobody`"));
    assert!(store.update_goal(999, &GoalUpdate::default(), 0).is_err());
}

fn fire(occurrence: &str, id: &str) -> Fire {
    Fire {
        rule: "detractor".into(),
        customer_id: "c1".into(),
        occurrence: occurrence.into(),
        day: "2025-03-01".into(),
        actions: vec![
            NewAction {
                id: format!("{id}-w"),
                channel: Channel::Webhook,
                target: "crm".into(),
                payload: "{}".into(),
            },
            NewAction {
                id: format!("{id}-t"),
                channel: Channel::Task,
                target: "success".into(),
                payload: "{}".into(),
            },
        ],
    }
}

fn outbox(env: &Env, store: &mut dyn Store) {
    customers(env, store);
    let e = store.enqueue(&[fire("nps:2025-02-27", "a")], 100).unwrap();
    assert_eq!((e.fires, e.items, e.duplicates), (1, 2, 0));
    let mine = store.customer_outbox("c1", 10).unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|o| o.customer_id == "c1"));
    assert!(store.customer_outbox("c2", 10).unwrap().is_empty());
    assert_eq!(store.customer_outbox("c1", 1).unwrap().len(), 1);
    // The same occurrence again: nothing new.
    let e = store.enqueue(&[fire("nps:2025-02-27", "a")], 200).unwrap();
    assert_eq!((e.fires, e.items, e.duplicates), (0, 0, 1));
    assert_eq!(
        store.last_fires().unwrap()[&("detractor".to_string(), "c1".to_string())],
        "2025-03-01"
    );
    // Tasks are open, never claimed; the webhook is claimed once while leased.
    let got = store.claim_due(100, 30, 10).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].id.as_str(), got[0].attempts), ("a-w", 1));
    assert!(store.claim_due(120, 30, 10).unwrap().is_empty());
    // The lease runs out (a worker died): claimed again, a second attempt.
    let again = store.claim_due(130, 30, 10).unwrap();
    assert_eq!(again[0].attempts, 2);
    store
        .settle(
            "a-w",
            &Settle::Retry {
                at: 500,
                error: "503".into(),
            },
            131,
        )
        .unwrap();
    assert!(store.claim_due(499, 30, 10).unwrap().is_empty());
    assert_eq!(store.claim_due(500, 30, 10).unwrap().len(), 1);
    store
        .settle(
            "a-w",
            &Settle::Dead {
                error: "410".into(),
            },
            501,
        )
        .unwrap();
    let dead = store.outbox(Some(OutboxStatus::Dead), 10, 0).unwrap();
    assert_eq!(dead[0].last_error.as_deref(), Some("410"));
    assert_eq!(store.replay(None, 600).unwrap(), 1);
    let back = store.claim_due(600, 30, 10).unwrap();
    assert_eq!((back[0].id.as_str(), back[0].attempts), ("a-w", 4));
    store.settle("a-w", &Settle::Delivered, 601).unwrap();
    // Settling again (a late worker) changes nothing.
    store
        .settle("a-w", &Settle::Dead { error: "x".into() }, 602)
        .unwrap();
    let counts: std::collections::HashMap<_, _> =
        store.outbox_counts().unwrap().into_iter().collect();
    assert_eq!(counts[&OutboxStatus::Delivered], 1);
    assert_eq!(counts[&OutboxStatus::Open], 1);
    assert!(store.close_task("a-t", 700).unwrap());
    assert!(!store.close_task("a-t", 701).unwrap());
    assert_eq!(
        store
            .outbox(Some(OutboxStatus::Closed), 5, 0)
            .unwrap()
            .len(),
        1
    );
}

fn tokens(_env: &Env, store: &mut dyn Store) {
    use tenure_store::tokens::{NewToken, Role};
    let hash = |c: char| std::iter::repeat_n(c, 64).collect::<String>();
    let new = |name: &str, role: Role, h: &str| NewToken {
        name: name.into(),
        role,
        sha256: h.into(),
    };
    store
        .add_token(&new("ci-reader", Role::Analyst, &hash('a')), 100)
        .unwrap();
    store
        .add_token(&new("admin", Role::Admin, &hash('b')), 101)
        .unwrap();
    // A name is unique; a hash must be hex; a name has no spaces.
    for bad in [
        new("admin", Role::Admin, &hash('c')),
        new("x", Role::Admin, "not-hex"),
        new("with space", Role::Admin, &hash('d')),
    ] {
        assert!(store.add_token(&bad, 102).is_err(), "{bad:?}");
    }
    let names: Vec<_> = store
        .tokens()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["admin", "ci-reader"]);
    let t = store.token_by_sha256(&hash('a'), 200).unwrap().unwrap();
    assert_eq!((t.name.as_str(), t.role), ("ci-reader", Role::Analyst));
    assert_eq!(t.last_used_at, Some(200));
    // Use is recorded at most once a minute.
    let t = store.token_by_sha256(&hash('a'), 230).unwrap().unwrap();
    assert_eq!(t.last_used_at, Some(200));
    assert!(store.token_by_sha256(&hash('e'), 230).unwrap().is_none());
    assert!(store.revoke_token("ci-reader", 300).unwrap());
    assert!(!store.revoke_token("ci-reader", 301).unwrap());
    assert!(!store.revoke_token("nobody", 301).unwrap());
    assert!(store.token_by_sha256(&hash('a'), 400).unwrap().is_none());
    let all = store.tokens().unwrap();
    assert_eq!(all[1].revoked_at, Some(300));
    assert_eq!(all[0].revoked_at, None);
    // A revoked name stays taken.
    assert!(store
        .add_token(&new("ci-reader", Role::Analyst, &hash('f')), 500)
        .is_err());
}

fn record(id: &str, kind: &str, payload: &str) -> NewAction {
    NewAction {
        id: id.into(),
        channel: Channel::Record,
        target: kind.into(),
        payload: payload.into(),
    }
}

fn record_fire(occurrence: &str, actions: Vec<NewAction>) -> Fire {
    Fire {
        rule: "at-risk-case".into(),
        customer_id: "c1".into(),
        occurrence: occurrence.into(),
        day: "2025-03-01".into(),
        actions,
    }
}

/// A playbook's `record` actions write a case and an interaction with the fire, in its
/// transaction; a second enqueue of the fire writes nothing; a record the importer would
/// refuse refuses the whole enqueue and leaves the store as it was.
fn record_actions(env: &Env, store: &mut dyn Store) {
    customers(env, store);
    let case = r#"{"id":"tnr_case1","customer_id":"c1","opened_at":"2025-03-01T00:00:00Z","severity":2,"category":"renewal risk","status":"open","owner":"tier2"}"#;
    let note = r#"{"id":"tnr_note1","customer_id":"c1","occurred_at":"2025-03-01T00:00:00Z","kind":"note","owner":"csm","summary":"Health 38: usage fell 60 %\nCall this week"}"#;
    let f = record_fire(
        "health:2025-03-01",
        vec![
            record("tnr_case1", "cases", case),
            record("tnr_note1", "interactions", note),
        ],
    );
    let e = store.enqueue(std::slice::from_ref(&f), 100).unwrap();
    assert_eq!((e.fires, e.items, e.records, e.duplicates), (1, 2, 2, 0));
    let cases = store.dump(RecordKind::Cases).unwrap();
    assert_eq!(cases.len(), 1);
    let cols = store.columns(RecordKind::Cases);
    let get = |row: &Vec<Option<String>>, cols: &[&str], c: &str| {
        row[cols.iter().position(|x| *x == c).unwrap()].clone()
    };
    assert_eq!(get(&cases[0], &cols, "id").as_deref(), Some("tnr_case1"));
    assert_eq!(get(&cases[0], &cols, "severity").as_deref(), Some("2"));
    assert_eq!(get(&cases[0], &cols, "status").as_deref(), Some("open"));
    assert_eq!(get(&cases[0], &cols, "escalated").as_deref(), Some("0"));
    assert_eq!(get(&cases[0], &cols, "closed_at"), None);
    assert_eq!(
        get(&cases[0], &cols, "opened_at").as_deref(),
        Some("2025-03-01T00:00:00.000000Z")
    );
    let notes = store.dump(RecordKind::Interactions).unwrap();
    let icols = store.columns(RecordKind::Interactions);
    assert_eq!(notes.len(), 1);
    assert_eq!(
        get(&notes[0], &icols, "summary").as_deref(),
        Some("Health 38: usage fell 60 %\nCall this week")
    );
    // The outbox keeps what was written, delivered at once and never claimed.
    let items = store.customer_outbox("c1", 10).unwrap();
    assert_eq!(items.len(), 2);
    for o in &items {
        assert_eq!(
            (o.channel, o.status),
            (Channel::Record, OutboxStatus::Delivered)
        );
        assert_eq!(o.delivered_at, Some(100));
    }
    assert!(store.claim_due(1_000, 30, 10).unwrap().is_empty());
    // Again: a duplicate fire, nothing written.
    let e = store.enqueue(&[f], 200).unwrap();
    assert_eq!((e.fires, e.items, e.records, e.duplicates), (0, 0, 0, 1));
    assert_eq!(store.count(RecordKind::Cases).unwrap(), 1);

    // Refused records: the whole call is rolled back (the webhook of the same fire too).
    let before = common::snapshot(store);
    let outbox_before = store.outbox(None, 100, 0).unwrap();
    let webhook = NewAction {
        id: "w1".into(),
        channel: Channel::Webhook,
        target: "crm".into(),
        payload: "{}".into(),
    };
    for (n, (kind, payload, why)) in [
        ("cases", r#"{"id":"x1","customer_id":"c1","opened_at":"2025-03-01T00:00:00Z","severity":5,"status":"open"}"#, "severity"),
        ("cases", r#"{"id":"x2","customer_id":"c1","opened_at":"2025-03-01T00:00:00Z","severity":2,"status":"closed"}"#, "closed_at"),
        ("cases", r#"{"id":"x3","customer_id":"nobody","opened_at":"2025-03-01T00:00:00Z","severity":2,"status":"open"}"#, "no stored customer `nobody`"),
        ("interactions", r#"{"id":"x4","customer_id":"c1","occurred_at":"2025-03-01T00:00:00Z","kind":"fax"}"#, "kind"),
        ("interactions", r#"{"id":"x5","customer_id":"c1","kind":"note"}"#, "occurred_at"),
        ("transactions", r#"{"id":"x6"}"#, "only cases and interactions"),
        ("cases", "not json", "action"),
    ]
    .into_iter()
    .enumerate()
    {
        let f = record_fire(
            &format!("bad:{n}"),
            vec![webhook.clone(), record(&format!("r{n}"), kind, payload)],
        );
        let err = store.enqueue(&[f], 300).unwrap_err().to_string();
        assert!(err.contains(why), "{kind} {payload}: {err}");
        assert!(err.contains("refused"), "{err}");
        assert_eq!(common::snapshot(store), before, "{payload}");
        assert_eq!(store.outbox(None, 100, 0).unwrap(), outbox_before);
        assert!(!store
            .last_fires()
            .unwrap()
            .values()
            .any(|d| d != "2025-03-01"));
    }
}

on_both_backends!(histories, goals, outbox, tokens, record_actions);

/// A store written by the previous version (schema 4) with outbox items opens under this one:
/// migration 5 rebuilds SQLite's outbox (a CHECK cannot be altered there) keeping every row and
/// its index, and then admits `record` items. (PostgreSQL alters the constraint in place.)
#[test]
fn a_schema_4_sqlite_store_keeps_its_outbox_through_migration_5() {
    let dir = std::env::temp_dir().join(format!("tenure-migrate5-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE tenure_schema_version (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
            ) STRICT",
        )
        .unwrap();
        for (v, name, sql) in [
            (
                1,
                "records",
                include_str!("../migrations/sqlite/0001_records.sql"),
            ),
            (
                2,
                "journal",
                include_str!("../migrations/sqlite/0002_journal.sql"),
            ),
            (
                3,
                "tokens",
                include_str!("../migrations/sqlite/0003_tokens.sql"),
            ),
            (
                4,
                "wider_records",
                include_str!("../migrations/sqlite/0004_wider_records.sql"),
            ),
        ] {
            c.execute_batch(sql).unwrap();
            c.execute(
                "INSERT INTO tenure_schema_version (version, name) VALUES (?1, ?2)",
                rusqlite::params![v, name],
            )
            .unwrap();
        }
        c.execute_batch(
            "INSERT INTO customers (id, acquired_at) VALUES ('c1', '2024-01-01T00:00:00.000000Z');
             INSERT INTO tenure_outbox (id, rule, customer_id, day, channel, target, payload, status, attempts, next_attempt_at, created_at)
             VALUES ('old-w', 'r', 'c1', '2025-01-01', 'webhook', 'crm', '{}', 'pending', 2, 50, 40),
                    ('old-t', 'r', 'c1', '2025-01-01', 'task', 'q', '{}', 'open', 0, 40, 40);",
        )
        .unwrap();
        // The old schema refuses a record item.
        assert!(c
            .execute_batch(
                "INSERT INTO tenure_outbox (id, rule, customer_id, day, channel, target, payload, status, attempts, next_attempt_at, created_at)
                 VALUES ('x', 'r', 'c1', '2025-01-01', 'record', 'cases', '{}', 'delivered', 0, 40, 40)"
            )
            .is_err());
    }
    let mut store = tenure_store::SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        tenure_store::SCHEMA_VERSION
    );
    let items = store.outbox(None, 10, 0).unwrap();
    assert_eq!(items.len(), 2);
    let w = items.iter().find(|o| o.id == "old-w").unwrap();
    assert_eq!(
        (w.channel, w.status, w.attempts, w.next_attempt_at),
        (Channel::Webhook, OutboxStatus::Pending, 2, 50)
    );
    assert_eq!(store.claim_due(60, 30, 10).unwrap().len(), 1);
    let f = record_fire(
        "health:2025-03-01",
        vec![record(
            "tnr_n",
            "interactions",
            r#"{"id":"tnr_n","customer_id":"c1","occurred_at":"2025-03-01T00:00:00Z","kind":"note"}"#,
        )],
    );
    assert_eq!(store.enqueue(&[f], 100).unwrap().records, 1);
    store.check_integrity().unwrap();
    drop(store);
    let c = rusqlite::Connection::open(&path).unwrap();
    let index: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'tenure_outbox_due'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 1);
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
}
