//! Each playbook trigger on a small hand-made company: who fires, with what occurrence and
//! reason, and who does not; conditions, cooldown, ids, payloads and the configuration.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use tenure_act::health::{Band, Component, Health};
use tenure_act::playbooks::{
    action_id, day_text, evaluate, first_uses, fnv1a_128, json_string, usage_windows, Action,
    Firing, Jitter, SmtpTls, Subject, Trigger,
};
use tenure_act::{facts, Config, Facts};
use tenure_core::{CaseStatus, Currency, FeedbackKind, MinorUnits, PaymentKind, TransactionKind};
use tenure_reports::calendar::day_from_ymd;
use tenure_reports::Fx;
use tenure_store::dataset::{Dataset, Day};
use tenure_store::journal::Channel;
use tenure_store::{DatasetBuilder, LoadOptions};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn d(m: u32, dd: u32) -> Day {
    day_from_ymd(2025, m, dd)
}

/// The evaluated day of every test.
fn as_of() -> Day {
    d(6, 30)
}

/// Endpoints the rules may name, appended after the rules.
const ENDPOINTS: &str = r#"
[webhooks.crm]
url = "https://crm.example.com/hooks/tenure"
secret_env = "TENURE_CRM_SECRET"

[smtp]
host = "smtp.example.com"
from = "Tenure <tenure@example.com>"
"#;

fn config(rules: &str) -> Config {
    Config::parse(&format!("{rules}\n{ENDPOINTS}"), "t.toml").unwrap()
}

/// A hand-made company on 2025-06-30: its records, each customer's facts and first uses.
struct Company {
    data: Dataset,
    facts: Vec<Facts>,
    milestones: Vec<Vec<(String, Day)>>,
}

/// Customers `ids`, all acquired on 2025-01-01 with one purchase that day; `add` adds the
/// records a test is about.
fn company(ids: &[&str], add: impl FnOnce(&mut DatasetBuilder)) -> Company {
    let mut b = DatasetBuilder::new(false);
    for id in ids {
        b.add_customer(id, d(1, 1), None, None, None, None);
        b.add_transaction(
            &format!("t-{id}"),
            id,
            d(1, 1),
            10_000,
            None,
            usd(),
            TransactionKind::New,
        );
    }
    add(&mut b);
    let data = b.build(LoadOptions::all()).unwrap();
    let facts = facts(&data, &Fx::new(usd()), as_of(), &Config::default()).unwrap();
    let milestones = facts
        .iter()
        .map(|f| first_uses(&data, f.customer, as_of()))
        .collect();
    Company {
        data,
        facts,
        milestones,
    }
}

impl Company {
    /// Every customer, with no segment, stage, health, renewal.
    fn subjects(&self) -> Vec<Subject<'_>> {
        self.facts
            .iter()
            .zip(&self.milestones)
            .map(|(f, m)| Subject {
                id: self.data.customer_id(f.customer),
                facts: f,
                health: None,
                segment: None,
                previous_segment: None,
                stage: None,
                previous_stage: None,
                stage_since: None,
                next_renewal: None,
                milestones: m,
            })
            .collect()
    }
}

fn run(cfg: &Config, c: &Company, subjects: &[Subject], day: Day) -> Vec<Firing> {
    evaluate(&cfg.playbooks, subjects, &c.data, day, &HashMap::new(), cfg)
}

/// (customer, occurrence, reason) of each firing.
fn who(f: &[Firing]) -> Vec<(String, String, String)> {
    f.iter()
        .map(|f| {
            (
                f.fire.customer_id.clone(),
                f.fire.occurrence.clone(),
                f.reason.clone(),
            )
        })
        .collect()
}

fn row(c: &str, o: &str, r: &str) -> (String, String, String) {
    (c.into(), o.into(), r.into())
}

fn health_of(customer: u32, score: f64) -> Health {
    Health {
        customer,
        score: Some(score),
        band: Some(if score < 60.0 {
            Band::AtRisk
        } else {
            Band::Healthy
        }),
        components: vec![],
    }
}

const TASK: &str = "then = [{ task = \"cs-queue\" }]";

#[test]
fn nps_detractor_fires_on_a_new_low_answer() {
    let c = company(&["a", "b", "c", "d", "e"], |b| {
        let nps = FeedbackKind::Nps;
        // a: a detractor two days ago.
        b.add_feedback("f1", "a", d(6, 28), nps, 3);
        // b: a detractor long ago (outside `within`).
        b.add_feedback("f2", "b", d(3, 1), nps, 2);
        // c: a detractor, then a promoter: the newest answer counts.
        b.add_feedback("f3", "c", d(6, 25), nps, 1);
        b.add_feedback("f4", "c", d(6, 29), nps, 9);
        // d: 7 is not below 7.
        b.add_feedback("f5", "d", d(6, 29), nps, 7);
        // e: an answer after the day is not seen.
        b.add_feedback("f6", "e", d(7, 1), nps, 0);
    });
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"detractor\"\nwhen = {{ nps_detractor = {{ below = 7 }} }}\n{TASK}\n"
    ));
    assert_eq!(
        cfg.playbooks[0].when,
        Trigger::NpsDetractor {
            below: 7,
            within: tenure_act::config::Days(7)
        }
    );
    let got = run(&cfg, &c, &c.subjects(), as_of());
    assert_eq!(
        who(&got),
        vec![row("a", "nps:2025-06-28", "NPS 3 on 2025-06-28 (below 7)")]
    );
    // The next week's evaluation sees the same answer with the same occurrence, until it is
    // older than `within` (7 days: 06-28 … 07-04).
    let later = run(&cfg, &c, &c.subjects(), d(7, 4));
    assert_eq!(later[0].fire.occurrence, "nps:2025-06-28");
    // On 07-05 a's answer is 7 days old; e's answer of 07-01 is now on or before the day.
    assert_eq!(
        who(&run(&cfg, &c, &c.subjects(), d(7, 5))),
        vec![row("e", "nps:2025-07-01", "NPS 0 on 2025-07-01 (below 7)")]
    );
}

#[test]
fn usage_drop_compares_adjacent_windows() {
    // Two weeks: recent = 06-17 … 06-30, before = 06-03 … 06-16.
    let c = company(&["a", "b", "c", "d", "e"], |b| {
        let mut k = 0;
        let mut u = |b: &mut DatasetBuilder, who: &str, day: Day, q: f64| {
            k += 1;
            b.add_usage(&format!("u{k}"), who, None, "core", day, q);
        };
        // a: 20 → 10, −50 %.
        u(b, "a", d(6, 10), 20.0);
        u(b, "a", d(6, 20), 10.0);
        // b: 20 → 15, −25 %: under 30.
        u(b, "b", d(6, 3), 20.0);
        u(b, "b", d(6, 30), 15.0);
        // c: nothing before: no drop to measure.
        u(b, "c", d(6, 20), 5.0);
        // d: 10 → 7, exactly −30 %: fires (at least pct).
        u(b, "d", d(6, 16), 10.0);
        u(b, "d", d(6, 17), 7.0);
        // e: 10 → 0 but the "before" usage is older than the two windows.
        u(b, "e", d(6, 2), 10.0);
    });
    let w = usage_windows(&c.data, 0, as_of(), 14, &Default::default());
    assert_eq!((w.recent, w.before, w.drop_pct()), (10.0, 20.0, Some(50.0)));
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"usage\"\nwhen = {{ usage_drop = {{ pct = 30, weeks = 2 }} }}\ncooldown = \"4w\"\n{TASK}\n"
    ));
    let got = run(&cfg, &c, &c.subjects(), as_of());
    assert_eq!(
        who(&got),
        vec![
            row(
                "a",
                "usage_drop:2025-06-30",
                "usage down 50 % in the last 2 weeks (10 vs 20 in the 2 weeks before; at least 30 %)"
            ),
            row(
                "d",
                "usage_drop:2025-06-30",
                "usage down 30 % in the last 2 weeks (7 vs 10 in the 2 weeks before; at least 30 %)"
            ),
        ]
    );
    // Usage weights of `[usage]` apply: `core` weighing 0 leaves nothing before.
    let mut weighted = cfg.clone();
    weighted.usage.weights.insert("core".into(), 0.0);
    assert!(run(&weighted, &c, &c.subjects(), as_of()).is_empty());
}

#[test]
fn segment_change_with_from_and_to_filters() {
    let c = company(&["a", "b", "c", "d"], |_| {});
    let mut s = c.subjects();
    // a: general → key; b: potential_key → key; c: key, key (no move); d: key, first seen.
    for (x, (prev, now)) in s.iter_mut().zip([
        (Some("general"), "key"),
        (Some("potential_key"), "key"),
        (Some("key"), "key"),
        (None, "key"),
    ]) {
        x.previous_segment = prev;
        x.segment = Some(now);
    }
    let any = config(&format!(
        "[[playbooks]]\nname = \"moved\"\nwhen = {{ segment_change = {{}} }}\n{TASK}\n"
    ));
    assert_eq!(
        who(&run(&any, &c, &s, as_of())),
        vec![
            row(
                "a",
                "segment:general>key:2025-06-30",
                "segment general → key on 2025-06-30"
            ),
            row(
                "b",
                "segment:potential_key>key:2025-06-30",
                "segment potential_key → key on 2025-06-30"
            ),
        ]
    );
    let from_general = config(&format!(
        "[[playbooks]]\nname = \"promoted\"\nwhen = {{ segment_change = {{ from = \"general\", to = [\"key\", \"potential_key\"] }} }}\n{TASK}\n"
    ));
    let got = run(&from_general, &c, &s, as_of());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].fire.customer_id, "a");
}

#[test]
fn stage_change_is_keyed_by_the_day_she_entered_the_stage() {
    let c = company(&["a", "b", "c"], |_| {});
    let mut s = c.subjects();
    s[0].previous_stage = Some("develop");
    s[0].stage = Some("retain");
    s[0].stage_since = Some(d(6, 20));
    // b: moved to grow (filtered out by `to`); c: no stage known.
    s[1].previous_stage = Some("retain");
    s[1].stage = Some("grow");
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"onboarded\"\nwhen = {{ stage_change = {{ to = \"retain\" }} }}\n{TASK}\n"
    ));
    let want = vec![row(
        "a",
        "stage:develop>retain:2025-06-20",
        "stage develop → retain since 2025-06-20",
    )];
    assert_eq!(who(&run(&cfg, &c, &s, as_of())), want);
    // A later day seeing the same move (not yet recorded) names the same occurrence.
    assert_eq!(who(&run(&cfg, &c, &s, d(7, 2))), want);
}

#[test]
fn renewal_within_fires_once_per_renewal() {
    let c = company(&["a", "b", "c", "d"], |_| {});
    let mut s = c.subjects();
    s[0].next_renewal = Some(d(7, 20)); // 20 days
    s[1].next_renewal = Some(d(7, 31)); // 31 days: too far
    s[2].next_renewal = Some(d(7, 30)); // 30 days: at the limit
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"renewal\"\nwhen = {{ renewal_within = {{ days = \"30d\" }} }}\n{TASK}\n"
    ));
    assert_eq!(
        who(&run(&cfg, &c, &s, as_of())),
        vec![
            row(
                "a",
                "renewal:2025-07-20",
                "renewal on 2025-07-20 in 20 days (within 30)"
            ),
            row(
                "c",
                "renewal:2025-07-30",
                "renewal on 2025-07-30 in 30 days (within 30)"
            ),
        ]
    );
    // The next days name the same renewal: the store keeps one fire.
    let next = run(&cfg, &c, &s, d(7, 1));
    assert_eq!(next[0].fire.occurrence, "renewal:2025-07-20");
    assert_eq!(
        next[0].fire.actions[0].id,
        run(&cfg, &c, &s, as_of())[0].fire.actions[0].id
    );
}

#[test]
fn inactive_beyond_her_own_gap() {
    let c = company(&["a", "b", "c", "d"], |b| {
        let mut k = 0;
        let mut buy = |b: &mut DatasetBuilder, who: &str, day: Day, kind| {
            k += 1;
            b.add_transaction(&format!("p{k}"), who, day, 5_000, None, usd(), kind);
        };
        let r = TransactionKind::Renewal;
        // a: every 30 days (01-01, 01-31, 03-02, 04-01), then 90 days quiet > 2 × 30.
        buy(b, "a", d(1, 31), r);
        buy(b, "a", d(3, 2), r);
        buy(b, "a", d(4, 1), r);
        // b: every 60 days (01-01, 03-02, 05-01): 60 days quiet < 2 × 60.
        buy(b, "b", d(3, 2), r);
        buy(b, "b", d(5, 1), r);
        // c: one purchase day only (01-01): no gap of her own.
        // d: a refund is not a purchase: one purchase day.
        buy(b, "d", d(2, 1), TransactionKind::Refund);
    });
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"quiet\"\nwhen = {{ inactive_beyond_gap = {{ factor = 2 }} }}\n{TASK}\n"
    ));
    assert_eq!(
        who(&run(&cfg, &c, &c.subjects(), as_of())),
        vec![row(
            "a",
            "inactive:2025-04-01",
            "no purchase for 90 days since 2025-04-01: more than 2 × her mean gap of 30 days (4 purchase days)"
        )]
    );
    // b crosses 2 × 60 = 120 days after 05-01 on 08-30 (121 days).
    let b_later: Vec<_> = who(&run(&cfg, &c, &c.subjects(), d(8, 30)))
        .into_iter()
        .map(|r| (r.0, r.1))
        .collect();
    assert_eq!(
        b_later,
        vec![
            ("a".to_string(), "inactive:2025-04-01".to_string()),
            ("b".to_string(), "inactive:2025-05-01".to_string())
        ]
    );
    assert!(!who(&run(&cfg, &c, &c.subjects(), d(8, 29)))
        .iter()
        .any(|r| r.0 == "b"));
}

#[test]
fn health_below_is_a_level_trigger_keyed_by_the_day() {
    let c = company(&["a", "b", "c"], |_| {});
    // a: 42.5, having lost most on usage; b: at the threshold, not below; c: no score.
    let mut ha = health_of(0, 42.5);
    ha.components.push(Component {
        name: "usage_trend",
        input: "usage -40 % in the last 28 days vs the 91 before".into(),
        fraction: Some(0.2),
        points: 9.0,
        max_points: 45.0,
    });
    let hb = health_of(1, 60.0);
    let mut s = c.subjects();
    s[0].health = Some(&ha);
    s[1].health = Some(&hb);
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"at-risk\"\nwhen = {{ health_below = {{ score = 60 }} }}\ncooldown = \"30d\"\n{TASK}\n"
    ));
    assert_eq!(
        who(&run(&cfg, &c, &s, as_of())),
        vec![row(
            "a",
            "health<60:2025-06-30",
            "health 42.5 below 60; biggest loss: usage_trend (usage -40 % in the last 28 days vs the 91 before)"
        )]
    );
}

#[test]
fn milestone_is_the_first_use_of_a_feature() {
    let c = company(&["a", "b", "c"], |b| {
        // a: first report on 06-27, again on 06-29.
        b.add_usage("u1", "a", None, "report_run", d(6, 27), 1.0);
        b.add_usage("u2", "a", None, "report_run", d(6, 29), 1.0);
        // b: first report long ago (outside the default 7 days).
        b.add_usage("u3", "b", None, "report_run", d(5, 1), 1.0);
        b.add_usage("u4", "b", None, "report_run", d(6, 29), 1.0);
        // c: other features only.
        b.add_usage("u5", "c", None, "core", d(6, 29), 1.0);
    });
    assert_eq!(c.milestones[0], vec![("report_run".to_string(), d(6, 27))]);
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"first-report\"\nwhen = {{ milestone = {{ name = \"report_run\" }} }}\n{TASK}\n"
    ));
    assert_eq!(
        who(&run(&cfg, &c, &c.subjects(), as_of())),
        vec![row(
            "a",
            "milestone:report_run:2025-06-27",
            "first used `report_run` on 2025-06-27"
        )]
    );
}

#[test]
fn conditions_must_all_hold_and_missing_inputs_fail_them() {
    let c = company(&["a", "b", "c", "d", "e"], |_| {});
    let (h40, h80) = (health_of(0, 40.0), health_of(0, 80.0));
    let mut s = c.subjects();
    for x in s.iter_mut() {
        x.next_renewal = Some(d(7, 10));
        x.segment = Some("key");
        x.stage = Some("retain");
        x.health = Some(&h40);
    }
    s[1].segment = Some("general"); // b: wrong segment
    s[2].health = Some(&h80); // c: healthy
    s[3].health = None; // d: no score
    s[4].stage = None; // e: no stage
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"save-key\"\nwhen = {{ renewal_within = {{ days = \"30d\" }} }}\nif = {{ segment = [\"key\", \"potential_key\"], stage = \"retain\", health_below = 60, min_tenure = \"90d\", subscribed = false }}\n{TASK}\n"
    ));
    let got: Vec<String> = run(&cfg, &c, &s, as_of())
        .iter()
        .map(|f| f.fire.customer_id.clone())
        .collect();
    assert_eq!(got, vec!["a"]);
    // Tenure: acquired 2025-01-01, 180 days before the day.
    let mut long = cfg.clone();
    long.playbooks[0].conditions.min_tenure = Some(tenure_act::config::Days(181));
    assert!(run(&long, &c, &s, as_of()).is_empty());
    long.playbooks[0].conditions.min_tenure = Some(tenure_act::config::Days(180));
    assert_eq!(run(&long, &c, &s, as_of()).len(), 1);
}

#[test]
fn cooldown_suppresses_within_the_window_of_the_last_fire() {
    let c = company(&["a", "b"], |_| {});
    let mut s = c.subjects();
    s[0].next_renewal = Some(d(7, 10));
    s[1].next_renewal = Some(d(7, 10));
    let cfg = config(&format!(
        "[[playbooks]]\nname = \"renewal\"\nwhen = {{ renewal_within = {{ days = \"30d\" }} }}\ncooldown = \"30d\"\n{TASK}\n"
    ));
    let fired = |last: &str| -> Vec<String> {
        let mut m = HashMap::new();
        m.insert(("renewal".to_string(), "a".to_string()), last.to_string());
        // Another rule's fire for b does not cool this rule down.
        m.insert(
            ("other".to_string(), "b".to_string()),
            "2025-06-29".to_string(),
        );
        evaluate(&cfg.playbooks, &s, &c.data, as_of(), &m, &cfg)
            .iter()
            .map(|f| f.fire.customer_id.clone())
            .collect()
    };
    // 29 days ago: cooling; 30 days ago: free again.
    assert_eq!(fired("2025-06-01"), vec!["b"]);
    assert_eq!(fired("2025-05-31"), vec!["a", "b"]);
    // Fired on the day itself: the same fire again (the store skips it as a duplicate).
    assert_eq!(fired("2025-06-30"), vec!["a", "b"]);
    // Fired on a later day: evaluating an earlier day does not re-fire.
    assert_eq!(fired("2025-07-05"), vec!["b"]);
    // Without a cooldown the last fire does not matter (the occurrence deduplicates).
    let mut free = cfg.clone();
    free.playbooks[0].cooldown = None;
    let mut m = HashMap::new();
    m.insert(
        ("renewal".to_string(), "a".to_string()),
        "2025-06-29".into(),
    );
    assert_eq!(
        evaluate(&free.playbooks, &s, &c.data, as_of(), &m, &free).len(),
        2
    );
}

fn all_actions_config() -> Config {
    config(
        r#"
[[playbooks]]
name = "detractor-call"
when = { nps_detractor = { below = 7 } }
cooldown = "30d"
then = [
  { webhook = "crm" },
  { email = "csm@example.com", subject = "Call {customer_id}\nnow", body = "{reason}.\nSegment {segment}, health {health}, {{literal}}" },
  { task = "cs-queue" },
]
"#,
    )
}

fn detractors() -> Company {
    company(&["a", "b"], |b| {
        b.add_feedback("f1", "a", d(6, 28), FeedbackKind::Nps, 3);
        b.add_feedback("f2", "b", d(6, 29), FeedbackKind::Nps, 0);
    })
}

#[test]
fn re_evaluating_the_same_day_gives_identical_fires_and_ids() {
    let c = detractors();
    let cfg = all_actions_config();
    let h = health_of(0, 40.0);
    let mut s = c.subjects();
    s[0].health = Some(&h);
    let first = run(&cfg, &c, &s, as_of());
    let again = run(&cfg, &c, &s, as_of());
    assert_eq!(first, again);
    assert_eq!(first.len(), 2);
    // The ids are the documented hash of rule, customer, occurrence and action index…
    let f = &first[0].fire;
    assert_eq!(f.day, "2025-06-30");
    for (i, a) in f.actions.iter().enumerate() {
        assert_eq!(a.id, action_id("detractor-call", "a", "nps:2025-06-28", i));
    }
    // … so every action of every fire has its own.
    let mut ids: Vec<&str> = first
        .iter()
        .flat_map(|f| f.fire.actions.iter().map(|a| a.id.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    // A later evaluation that sees the same answer gives the same ids.
    let later = run(&cfg, &c, &s, d(7, 2));
    assert_eq!(later[0].fire.actions[0].id, f.actions[0].id);
    // The channels and targets, in the rule's order.
    let kinds: Vec<(Channel, &str)> = f
        .actions
        .iter()
        .map(|a| (a.channel, a.target.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Channel::Webhook, "crm"),
            (Channel::Email, "csm@example.com"),
            (Channel::Task, "cs-queue")
        ]
    );
}

/// `tenure_deliver::check_id`, replicated (tenure-act does not depend on tenure-deliver).
fn check_id(id: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !id.is_empty() && id.len() <= 256 && id.chars().all(ok)
}

#[test]
fn ids_pass_the_delivery_id_rules() {
    // Awkward inputs: dots, spaces, non-ASCII, separators in the occurrence.
    for (r, c, o, i) in [
        ("detractor-call", "a", "nps:2025-06-28", 0),
        (
            "x",
            "cust.with dots@example.com",
            "segment:general>key:2025-05-01",
            7,
        ),
        ("y", "é", "", 1000),
    ] {
        let id = action_id(r, c, o, i);
        assert!(check_id(&id), "{id}");
        assert_eq!(id.len(), 36);
        assert!(id.starts_with("tnr_"));
    }
    // Length-prefixed fields: moving a character between fields changes the id.
    assert_ne!(action_id("ab", "c", "o", 0), action_id("a", "bc", "o", 0));
    // FNV-1a-128 test vectors.
    assert_eq!(fnv1a_128(b""), 0x6c62272e07bb014262b821756295c58d);
    assert_eq!(fnv1a_128(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
}

// --- a small JSON reader for the payload tests (tenure-act has no serde_json) ------------

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, k: &str) -> Option<&Json> {
        match self {
            Json::Obj(v) => v.iter().find(|(x, _)| x == k).map(|(_, v)| v),
            _ => None,
        }
    }
    fn str(&self, k: &str) -> Option<&str> {
        match self.get(k) {
            Some(Json::Str(s)) => Some(s),
            _ => None,
        }
    }
    fn keys(&self) -> Vec<&str> {
        match self {
            Json::Obj(v) => v.iter().map(|(k, _)| k.as_str()).collect(),
            _ => vec![],
        }
    }
}

fn parse_json(s: &str) -> Result<Json, String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let v = value(&b, &mut i)?;
    ws(&b, &mut i);
    if i != b.len() {
        return Err(format!("trailing text at {i}"));
    }
    Ok(v)
}

fn ws(b: &[char], i: &mut usize) {
    while *i < b.len() && matches!(b[*i], ' ' | '\n' | '\r' | '\t') {
        *i += 1;
    }
}

fn value(b: &[char], i: &mut usize) -> Result<Json, String> {
    ws(b, i);
    let rest: String = b[*i..].iter().take(5).collect();
    match b.get(*i) {
        Some('{') => {
            *i += 1;
            let mut o = Vec::new();
            ws(b, i);
            if b.get(*i) == Some(&'}') {
                *i += 1;
                return Ok(Json::Obj(o));
            }
            loop {
                ws(b, i);
                let Json::Str(k) = string(b, i)? else {
                    unreachable!()
                };
                ws(b, i);
                if b.get(*i) != Some(&':') {
                    return Err(format!("`:` expected at {i}"));
                }
                *i += 1;
                o.push((k, value(b, i)?));
                ws(b, i);
                match b.get(*i) {
                    Some(',') => *i += 1,
                    Some('}') => {
                        *i += 1;
                        return Ok(Json::Obj(o));
                    }
                    _ => return Err(format!("`,` or `}}` expected at {i}")),
                }
            }
        }
        Some('[') => {
            *i += 1;
            let mut a = Vec::new();
            ws(b, i);
            if b.get(*i) == Some(&']') {
                *i += 1;
                return Ok(Json::Arr(a));
            }
            loop {
                a.push(value(b, i)?);
                ws(b, i);
                match b.get(*i) {
                    Some(',') => *i += 1,
                    Some(']') => {
                        *i += 1;
                        return Ok(Json::Arr(a));
                    }
                    _ => return Err(format!("`,` or `]` expected at {i}")),
                }
            }
        }
        Some('"') => string(b, i),
        _ if rest.starts_with("null") => {
            *i += 4;
            Ok(Json::Null)
        }
        _ if rest.starts_with("true") => {
            *i += 4;
            Ok(Json::Bool(true))
        }
        _ if rest.starts_with("false") => {
            *i += 5;
            Ok(Json::Bool(false))
        }
        _ => {
            let start = *i;
            while *i < b.len() && (b[*i].is_ascii_digit() || "+-.eE".contains(b[*i])) {
                *i += 1;
            }
            let t: String = b[start..*i].iter().collect();
            t.parse()
                .map(Json::Num)
                .map_err(|_| format!("bad value at {start}: {t:?}"))
        }
    }
}

fn string(b: &[char], i: &mut usize) -> Result<Json, String> {
    if b.get(*i) != Some(&'"') {
        return Err(format!("string expected at {i}"));
    }
    *i += 1;
    let mut s = String::new();
    loop {
        let c = *b.get(*i).ok_or("unterminated string")?;
        *i += 1;
        match c {
            '"' => return Ok(Json::Str(s)),
            '\\' => {
                let e = *b.get(*i).ok_or("unterminated escape")?;
                *i += 1;
                match e {
                    '"' => s.push('"'),
                    '\\' => s.push('\\'),
                    '/' => s.push('/'),
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let h: String = b.get(*i..*i + 4).ok_or("short \\u")?.iter().collect();
                        *i += 4;
                        let v = u32::from_str_radix(&h, 16).map_err(|e| e.to_string())?;
                        s.push(char::from_u32(v).ok_or("surrogate")?);
                    }
                    _ => return Err(format!("bad escape \\{e}")),
                }
            }
            c if (c as u32) < 0x20 => return Err(format!("raw control character {c:?}")),
            c => s.push(c),
        }
    }
}

#[test]
fn json_strings_are_escaped() {
    let nasty = "quote \" backslash \\ newline \n tab \t bell \u{7} nul \u{0} é 😀 \u{2028}";
    let lit = json_string(nasty);
    assert_eq!(parse_json(&lit).unwrap(), Json::Str(nasty.to_string()));
    assert_eq!(json_string("a\"b"), r#""a\"b""#);
    assert_eq!(json_string("\u{1}"), r#""\u0001""#);
    assert_eq!(json_string("é"), "\"é\"");
}

#[test]
fn payloads_are_json_with_the_agreed_keys() {
    let c = detractors();
    let cfg = all_actions_config();
    let h = health_of(0, 40.0);
    let mut s = c.subjects();
    s[0].health = Some(&h);
    s[0].segment = Some("key");
    // An id with characters JSON must escape (ids are only labels here).
    s[1].id = "b\"\\\n";
    let got = run(&cfg, &c, &s, as_of());
    let a = &got[0].fire.actions;
    // Webhook: the Standard Webhooks envelope.
    let w = parse_json(&a[0].payload).unwrap();
    assert_eq!(w.keys(), vec!["type", "timestamp", "data"]);
    assert_eq!(w.str("type"), Some("playbook.fired"));
    assert_eq!(w.str("timestamp"), Some("2025-06-30T00:00:00Z"));
    let data = w.get("data").unwrap();
    assert_eq!(data.str("rule"), Some("detractor-call"));
    assert_eq!(data.str("customer_id"), Some("a"));
    assert_eq!(data.str("occurrence"), Some("nps:2025-06-28"));
    assert_eq!(data.str("trigger"), Some("nps_detractor"));
    assert_eq!(data.str("reason"), Some("NPS 3 on 2025-06-28 (below 7)"));
    assert_eq!(data.str("day"), Some("2025-06-30"));
    assert_eq!(data.str("segment"), Some("key"));
    assert_eq!(data.get("stage"), Some(&Json::Null));
    assert_eq!(data.get("health"), Some(&Json::Num(40.0)));
    assert_eq!(data.str("health_band"), Some("at_risk"));
    // Email: exactly subject and body, rendered; the subject on one line.
    let e = parse_json(&a[1].payload).unwrap();
    assert_eq!(e.keys(), vec!["subject", "body"]);
    assert_eq!(e.str("subject"), Some("Call a now"));
    assert_eq!(
        e.str("body"),
        Some("NPS 3 on 2025-06-28 (below 7).\nSegment key, health 40, {literal}")
    );
    // Task: the envelope with a title (the default template).
    let t = parse_json(&a[2].payload).unwrap();
    assert_eq!(t.str("type"), Some("playbook.task"));
    assert_eq!(
        t.str("title"),
        Some("detractor-call: a: NPS 3 on 2025-06-28 (below 7)")
    );
    // The escaped id survives every payload; missing inputs are null or "none".
    let b = &got[1].fire.actions;
    for p in [&b[0].payload, &b[2].payload] {
        let v = parse_json(p).unwrap();
        let data = v.get("data").unwrap();
        assert_eq!(data.str("customer_id"), Some("b\"\\\n"));
        assert_eq!(data.get("health"), Some(&Json::Null));
        assert_eq!(data.get("segment"), Some(&Json::Null));
    }
    let e = parse_json(&b[1].payload).unwrap();
    assert_eq!(e.str("subject"), Some("Call b\"\\  now"));
    assert!(e.str("body").unwrap().contains("Segment none, health none"));
}

#[test]
fn the_documented_example_parses() {
    let cfg = Config::parse(
        r#"
[[playbooks]]
name = "detractor-call"
when = { nps_detractor = { below = 7 } }
if = { segment = ["key", "potential_key"], health_below = 60, stage = ["retain"] }
cooldown = "30d"
then = [ { webhook = "crm" }, { email = "csm@example.com", subject = "Detractor: {customer_id}" }, { task = "cs-queue" } ]

[[playbooks]]
name = "usage_drop_4w"
cooldown = "4w"
then = [{ task = "cs-queue", title = "{customer_id}: {reason}" }]
[playbooks.when.usage_drop]
pct = 30
weeks = 4

[webhooks.crm]
url = "https://crm.example.com/hooks/tenure"
secret_env = "TENURE_CRM_SECRET"

[smtp]
host = "smtp.example.com"
port = 465
from = "tenure@example.com"
tls = "implicit"
username = "tenure"
password_env = "TENURE_SMTP_PASSWORD"

[delivery]
max_attempts = 5
lease_secs = 120
"#,
        "t.toml",
    )
    .unwrap();
    let r = &cfg.playbooks[0];
    assert_eq!(r.name, "detractor-call");
    assert_eq!(
        r.conditions.segment,
        Some(vec!["key".to_string(), "potential_key".to_string()])
    );
    assert_eq!(r.conditions.stage, Some(vec!["retain".to_string()]));
    assert_eq!(r.conditions.health_below, Some(60.0));
    assert_eq!(r.cooldown, Some(tenure_act::config::Days(30)));
    assert_eq!(
        r.then[0],
        Action::Webhook {
            endpoint: "crm".into()
        }
    );
    match &r.then[1] {
        Action::Email { to, subject, body } => {
            assert_eq!(to, "csm@example.com");
            assert_eq!(subject, "Detractor: {customer_id}");
            assert_eq!(body, tenure_act::playbooks::DEFAULT_BODY);
        }
        a => panic!("{a:?}"),
    }
    assert_eq!(
        cfg.playbooks[1].when,
        Trigger::UsageDrop {
            pct: 30.0,
            weeks: 4
        }
    );
    assert_eq!(
        cfg.playbooks[1].cooldown,
        Some(tenure_act::config::Days(28))
    );
    assert_eq!(cfg.webhooks["crm"].secret_env, "TENURE_CRM_SECRET");
    let smtp = cfg.smtp.as_ref().unwrap();
    assert_eq!((smtp.port, smtp.tls), (465, SmtpTls::Implicit));
    assert_eq!(smtp.password_env.as_deref(), Some("TENURE_SMTP_PASSWORD"));
    assert_eq!(cfg.delivery.max_attempts, 5);
    assert_eq!(cfg.delivery.lease_secs, 120);
    // Unset delivery keys keep their defaults (those of tenure_deliver::RetryPolicy).
    assert_eq!(
        (
            cfg.delivery.base_delay_secs,
            cfg.delivery.max_delay_secs,
            cfg.delivery.backoff_factor,
            cfg.delivery.jitter,
            cfg.delivery.timeout_ms
        ),
        (30, 21_600, 2.0, Jitter::Equal, 10_000)
    );
    // An empty file has no rules, no endpoints, no relay.
    let empty = Config::parse("", "t.toml").unwrap();
    assert!(empty.playbooks.is_empty() && empty.webhooks.is_empty() && empty.smtp.is_none());
    assert_eq!(empty.delivery.max_attempts, 12);
    assert_eq!(day_text(d(3, 2)), "2025-03-02");
}

/// Each bad file: line, column and a phrase of the message.
#[test]
fn config_errors_name_the_line_and_column() {
    let rule = |name: &str, when: &str, extra: &str, then: &str| {
        format!("[[playbooks]]\nname = \"{name}\"\nwhen = {when}\n{extra}then = {then}\n")
    };
    let nps = "{ nps_detractor = {} }";
    let task = "[{ task = \"q\" }]";
    let cases: Vec<(String, usize, usize, &str)> = vec![
        // Bad characters in a name.
        (
            rule("Call Her", nps, "", task),
            2,
            8,
            "not allowed in a name",
        ),
        // Duplicate names: the first rule's name is blamed, both are named.
        (
            format!("{}{}", rule("x", nps, "", task), rule("x", nps, "", task)),
            2,
            1,
            "rule `x` is defined twice (rules 1 and 2)",
        ),
        // A webhook action naming no endpoint.
        (
            rule("x", nps, "", "[{ webhook = \"crm\" }]"),
            4,
            1,
            "webhook `crm` is not defined",
        ),
        // An email action without [smtp].
        (
            rule("x", nps, "", "[{ email = \"csm@example.com\" }]"),
            4,
            1,
            "needs an [smtp] relay",
        ),
        // A level trigger without a cooldown.
        (
            rule("x", "{ health_below = { score = 50 } }", "", task),
            3,
            1,
            "give the rule a `cooldown`",
        ),
        // Unknown trigger, trigger field, condition.
        (
            rule("x", "{ nps_low = {} }", "", task),
            3,
            10,
            "unknown variant `nps_low`",
        ),
        (
            rule("x", "{ nps_detractor = { belo = 7 } }", "", task),
            3,
            28,
            "unexpected keys in table: belo, available keys: below, within",
        ),
        (
            rule("x", nps, "if = { segmnt = \"key\" }\n", task),
            4,
            8,
            "unknown field `segmnt`",
        ),
        // Values out of range.
        (
            rule("x", "{ nps_detractor = { below = 12 } }", "", task),
            3,
            36,
            "1 to 11",
        ),
        (
            rule(
                "x",
                "{ usage_drop = { pct = 0, weeks = 4 } }",
                "cooldown = \"1w\"\n",
                task,
            ),
            3,
            31,
            "more than 0",
        ),
        (
            rule("x", nps, "if = { segment = \"vip\" }\n", task),
            4,
            18,
            "`vip` is not a segment",
        ),
        (
            rule("x", "{ stage_change = { to = \"onboard\" } }", "", task),
            3,
            32,
            "`onboard` is not a stage (deliver, develop, retain, grow)",
        ),
        (
            rule("x", "{ renewal_within = { days = \"30\" } }", "", task),
            3,
            36,
            "`30` is not a duration",
        ),
        // Actions: none, two kinds at once, a bad placeholder.
        (rule("x", nps, "", "[]"), 4, 8, "at least one action"),
        (
            rule("x", nps, "", "[{ task = \"q\", webhook = \"crm\" }]"),
            4,
            8,
            "exactly one of",
        ),
        (
            rule("x", nps, "", "[{ task = \"q\", title = \"{nmae}\" }]"),
            4,
            8,
            "unknown placeholder `{nmae}`",
        ),
        // Endpoints and relay.
        (
            "[webhooks.crm]\nurl = \"ftp://x\"\nsecret_env = \"S\"\n".into(),
            2,
            7,
            "not an http(s) URL",
        ),
        (
            "[webhooks.crm]\nurl = \"https://x\"\nsecret_env = \"whsec_abc\"\n".into(),
            3,
            14,
            "never the secret itself",
        ),
        (
            "[webhooks.CRM]\nurl = \"https://x\"\nsecret_env = \"S\"\n".into(),
            1,
            1,
            "not allowed in a name",
        ),
        (
            "[smtp]\nhost = \"h\"\nfrom = \"t@example.com\"\nusername = \"u\"\n".into(),
            1,
            1,
            "both `username` and `password_env`",
        ),
        (
            "[smtp]\nhost = \"h\"\nfrom = \"t@example.com\"\ntls = \"ssl\"\n".into(),
            4,
            7,
            "unknown variant `ssl`",
        ),
        // Delivery.
        ("[delivery]\nmax_attempts = 0\n".into(), 2, 16, "at least 1"),
        (
            "[delivery]\nbase_delay_secs = 60\nmax_delay_secs = 30\n".into(),
            3,
            1,
            "below base_delay_secs",
        ),
        (
            "[delivery]\nlease_secs = 10\n".into(),
            2,
            1,
            "not longer than an attempt's timeout",
        ),
    ];
    let mut bad = vec![];
    for (text, line, column, phrase) in &cases {
        let e = Config::parse(text, "t.toml").unwrap_err();
        if (e.line, e.column) != (*line, *column) || !e.to_string().contains(phrase) {
            bad.push(format!(
                "{text}\n  want {line}:{column} {phrase}\n  got {e}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
}

#[test]
fn case_escalated_and_payment_failed_fire_once_per_event() {
    let c = company(&["a", "b", "c"], |b| {
        // a: a severity-1 case opened 06-28, escalated to the VP; a severity-3 one not escalated.
        b.add_case(
            "k1",
            "a",
            d(6, 28),
            None,
            1,
            CaseStatus::Open,
            Some("outage"),
            None,
            Some("sam"),
            true,
            Some("vp-support"),
            None,
        );
        b.add_case(
            "k2",
            "a",
            d(6, 29),
            None,
            3,
            CaseStatus::Pending,
            None,
            None,
            None,
            false,
            None,
            None,
        );
        // b: an escalated case long ago (outside the default 7 days).
        b.add_case(
            "k3",
            "b",
            d(3, 1),
            Some(d(3, 4)),
            2,
            CaseStatus::Closed,
            None,
            None,
            None,
            true,
            None,
            Some(4),
        );
        // b: two failed payments in the week, the newest on 06-29 for 49.00; c: a success.
        let usd49 = Some(MinorUnits::new(4_900, usd()));
        b.add_payment("p1", "b", d(6, 25), PaymentKind::Failed, usd49);
        b.add_payment("p2", "b", d(6, 29), PaymentKind::Failed, usd49);
        b.add_payment("p3", "b", d(6, 29), PaymentKind::Retried, None);
        b.add_payment("p4", "c", d(6, 29), PaymentKind::Succeeded, usd49);
    });
    let cases = config(&format!(
        "[[playbooks]]\nname = \"escalation\"\nwhen = {{ case_escalated = {{}} }}\n{TASK}\n"
    ));
    assert_eq!(
        who(&run(&cases, &c, &c.subjects(), as_of())),
        vec![row(
            "a",
            "case_escalated:2025-06-28:1",
            "severity-1 case opened on 2025-06-28 escalated to vp-support (open)"
        )]
    );
    let failed = config(&format!(
        "[[playbooks]]\nname = \"dunning\"\nwhen = {{ payment_failed = {{ within = \"7d\" }} }}\n{TASK}\n"
    ));
    assert_eq!(
        who(&run(&failed, &c, &c.subjects(), as_of())),
        vec![row(
            "b",
            "payment_failed:2025-06-29",
            "payment failed on 2025-06-29 (49.00 USD); 2 failed in the last 7 days"
        )]
    );
    // A week later nothing is recent any more.
    assert!(run(&failed, &c, &c.subjects(), d(7, 6)).is_empty());
}
