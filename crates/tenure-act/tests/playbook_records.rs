//! Playbook actions that create records: a detractor's answer opens a support case and logs a
//! CRM note in a real SQLite store, once; the next day's health counts the open case. The
//! configuration refuses malformed case and interaction actions at their line and column.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tenure_act::health::health;
use tenure_act::playbooks::{action_id, Action};
use tenure_act::{facts, plan_day, Config, Journaled};
use tenure_core::{CaseStatus, Currency, InteractionKind};
use tenure_reports::calendar::day_from_ymd;
use tenure_reports::Fx;
use tenure_store::journal::{Channel, OutboxStatus};
use tenure_store::{ImportOptions, Journal, LoadOptions, RecordKind, SqliteStore, Store};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

const RULES: &str = r#"
[[playbooks]]
name = "detractor-case"
when = { nps_detractor = { below = 7 } }
then = [
  { case = "support-tier2", severity = 2, category = "detractor follow-up" },
  { interaction = "note", owner = "csm-team", summary = "{rule}: {reason}. Segment {segment}." },
  { interaction = "call" },
]
"#;

struct Scratch(std::path::PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn import(store: &mut dyn Store, dir: &std::path::Path, kind: RecordKind, text: &str) {
    let f = dir.join(format!("{}.csv", kind.as_str()));
    std::fs::write(&f, text).unwrap();
    store
        .import(kind, &f, &ImportOptions::default(), &mut |_| {})
        .unwrap();
}

#[test]
fn a_detractor_gets_a_case_and_notes_once_and_health_counts_the_case() {
    let dir = std::env::temp_dir().join(format!("tenure-act-records-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _scratch = Scratch(dir.clone());
    let mut store = SqliteStore::open(&dir.join("t.db")).unwrap();
    import(
        &mut store,
        &dir,
        RecordKind::Customers,
        "id,acquired_at\na,2025-01-01\nb,2025-01-01\n",
    );
    import(
        &mut store,
        &dir,
        RecordKind::Transactions,
        "id,customer_id,date,amount,currency,kind\nt1,a,2025-01-01,100.00,USD,new\nt2,b,2025-01-01,100.00,USD,new\n",
    );
    import(
        &mut store,
        &dir,
        RecordKind::Feedback,
        "id,customer_id,occurred_at,kind,score\nf1,a,2025-06-28,nps,3\nf2,b,2025-06-28,nps,9\n",
    );
    let cfg = Config::parse(RULES, "t.toml").unwrap();
    assert_eq!(
        cfg.playbooks[0].then,
        vec![
            Action::Case {
                owner: "support-tier2".into(),
                severity: 2,
                category: Some("detractor follow-up".into()),
            },
            Action::Interaction {
                kind: InteractionKind::Note,
                owner: Some("csm-team".into()),
                summary: "{rule}: {reason}. Segment {segment}.".into(),
            },
            Action::Interaction {
                kind: InteractionKind::Call,
                owner: None,
                summary: tenure_act::playbooks::DEFAULT_SUMMARY.into(),
            },
        ]
    );
    let fx = Fx::new(usd());
    let as_of = day_from_ymd(2025, 6, 30);
    let data = store.load(&LoadOptions::all()).unwrap();
    let plan = plan_day(&data, &fx, as_of, &cfg, &Journaled::default()).unwrap();
    let fires = plan.fires();
    assert_eq!(fires.len(), 1, "only the detractor");
    let actions = &fires[0].actions;
    assert_eq!(
        actions
            .iter()
            .map(|a| (a.channel, a.target.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (Channel::Record, "cases"),
            (Channel::Record, "interactions"),
            (Channel::Record, "interactions"),
        ]
    );
    let e = store.enqueue(&fires, 1_000).unwrap();
    assert_eq!((e.fires, e.items, e.records), (1, 3, 3));

    // The records are in the store, read back like imported ones, with the action ids.
    let data = store.load(&LoadOptions::all()).unwrap();
    let a = data.customer("a").unwrap();
    let cases = data.cases_of(a);
    assert_eq!(cases.len(), 1);
    let k = &cases[0];
    assert_eq!(
        (k.day, k.severity, k.status, k.escalated, k.closed),
        (as_of, 2, CaseStatus::Open, false, None)
    );
    let case_ids = store.dump(RecordKind::Cases).unwrap();
    let occurrence = &fires[0].occurrence;
    assert_eq!(
        case_ids[0][0].as_deref(),
        Some(action_id("detractor-case", "a", occurrence, 0).as_str())
    );
    let notes = data.interactions_of(a);
    assert_eq!(notes.len(), 2);
    let rows = store.dump(RecordKind::Interactions).unwrap();
    let cols = store.columns(RecordKind::Interactions);
    let col = |n: &str| cols.iter().position(|c| *c == n).unwrap();
    let summaries: Vec<_> = rows
        .iter()
        .map(|r| (r[col("kind")].clone(), r[col("summary")].clone()))
        .collect();
    assert!(summaries.contains(&(
        Some("note".into()),
        Some("detractor-case: NPS 3 on 2025-06-28 (below 7). Segment general.".into())
    )));
    assert!(summaries.contains(&(
        Some("call".into()),
        Some("Playbook detractor-case: NPS 3 on 2025-06-28 (below 7)".into())
    )));
    assert!(data.cases_of(data.customer("b").unwrap()).is_empty());

    // The outbox shows them as delivered records; nothing is left to send.
    let out = store.customer_outbox("a", 10).unwrap();
    assert!(out
        .iter()
        .all(|o| o.channel == Channel::Record && o.status == OutboxStatus::Delivered));
    assert!(store.claim_due(10_000, 30, 10).unwrap().is_empty());

    // The same day again (or the next day, which sees the same answer): no second case.
    let journaled = Journaled {
        last_fires: store.last_fires().unwrap(),
        ..Journaled::default()
    };
    let again = plan_day(&data, &fx, as_of + 1, &cfg, &journaled).unwrap();
    let e = store.enqueue(&again.fires(), 2_000).unwrap();
    assert_eq!((e.fires, e.records, e.duplicates), (0, 0, 1));
    assert_eq!(store.count(RecordKind::Cases).unwrap(), 1);

    // Health on the next day sees one open severity-2 case: weight 2 of the ramp's 8.
    let data = store.load(&LoadOptions::all()).unwrap();
    let fs = facts(&data, &fx, as_of + 1, &cfg).unwrap();
    let fa = fs.iter().find(|f| f.customer == a).unwrap();
    let load = fa.cases.as_ref().expect("case records are read");
    assert_eq!(load.open.len(), 1);
    assert_eq!(load.open[0].0, 2);
    let h = health(fa, &cfg.health, cfg.usage.window.0, cfg.usage.baseline.0);
    let support = h
        .components
        .iter()
        .find(|c| c.input.contains("severity"))
        .expect("a support component explains the open case");
    assert!(
        support.input.contains("1 open"),
        "{}: {}",
        support.name,
        support.input
    );
}

#[test]
fn malformed_record_actions_are_refused_where_they_are_written() {
    let rule = |then: &str| {
        format!("[[playbooks]]\nname = \"x\"\nwhen = {{ nps_detractor = {{}} }}\nthen = {then}\n")
    };
    for (then, phrase) in [
        (
            "[{ case = \"tier2\", severity = 5 }]",
            "a case's severity is 1 (most severe) to 4",
        ),
        ("[{ case = \"\" }]", "`case` is empty"),
        (
            "[{ case = \"tier2\", summary = \"{reason}\" }]",
            "a case action takes `severity` and `category`",
        ),
        (
            "[{ interaction = \"fax\" }]",
            "the kind is one of call, email, meeting, note",
        ),
        (
            "[{ interaction = \"note\", severity = 2 }]",
            "an interaction action takes `owner` and `summary`",
        ),
        (
            "[{ interaction = \"note\", summary = \"{nmae}\" }]",
            "unknown placeholder `{nmae}`",
        ),
        (
            "[{ task = \"q\", owner = \"ana\" }]",
            "belong to case and interaction actions",
        ),
        (
            "[{ case = \"tier2\", interaction = \"note\" }]",
            "exactly one of",
        ),
    ] {
        let e = Config::parse(&rule(then), "t.toml").unwrap_err();
        assert_eq!((e.line, e.column), (4, 8), "{then}: {e}");
        assert!(e.to_string().contains(phrase), "{then}: {e}");
    }
}
