//! Lifecycle stages on a small hand-made company: for each rule, which stage, since when and
//! why — and the `[stages]` settings as `tenure.toml` gives them.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use tenure_act::config::{Config, Days};
use tenure_act::health::health;
use tenure_act::stages::{
    funnel, progress, renewal_days, stage, transitions, Progress, Stage, StageAssignment,
    StageSettings, ValueRule,
};
use tenure_act::{facts, Facts};
use tenure_core::{BillingInterval, Currency, FeedbackKind, SubscriptionStatus, TransactionKind};
use tenure_reports::calendar::{add_months, day_from_ymd};
use tenure_reports::status::Status;
use tenure_reports::Fx;
use tenure_store::dataset::Day;
use tenure_store::{Dataset, DatasetBuilder, LoadOptions};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn d(m: u32, dd: u32) -> Day {
    day_from_ymd(2025, m, dd)
}

fn d24(m: u32, dd: u32) -> Day {
    day_from_ymd(2024, m, dd)
}

fn as_of() -> Day {
    d(6, 30)
}

const MILESTONES: [&str; 3] = ["report_run", "invite_sent", "api_key"];

/// Milestones and a health score of NPS and payment only, so bands are easy to read:
/// paid up + promoter 100, + passive 75, + detractor 50; healthy from 70.
const TOML: &str = r#"
[stages]
milestones = ["report_run", "invite_sent", "api_key"]

[health.weights]
usage_trend = 0
p_alive = 0
nps = 1
support = 0
payment = 1

[health.bands]
healthy_from = 70
at_risk_below = 40
"#;

struct Company {
    b: DatasetBuilder,
    k: usize,
}

impl Company {
    fn new() -> Company {
        Company {
            b: DatasetBuilder::new(false),
            k: 0,
        }
    }

    /// A subscriber since `acquired`, billed every `months` by an invoice line up to the end
    /// (exclusive) or the as-of day.
    fn subscriber(&mut self, id: &str, acquired: Day, end: Option<Day>, interval: BillingInterval) {
        let usd = usd();
        let months = match interval {
            BillingInterval::Month => 1,
            BillingInterval::Quarter => 3,
            BillingInterval::Year => 12,
        };
        self.b
            .add_customer(id, acquired, None, Some("pro"), None, None);
        let status = if end.is_some_and(|e| e <= as_of()) {
            SubscriptionStatus::Canceled
        } else {
            SubscriptionStatus::Active
        };
        self.b.add_subscription(
            &format!("s-{id}"),
            id,
            "pro",
            acquired,
            end,
            1,
            10_000 * months as i64,
            usd,
            interval,
            status,
        );
        let last = end.map_or(as_of(), |e| (e - 1).min(as_of()));
        let mut k = 0;
        while add_months(acquired, k * months) <= last {
            self.b.add_transaction(
                &format!("t-{id}-{k}"),
                id,
                add_months(acquired, k * months),
                10_000 * months as i64,
                Some(2_000 * months as i64),
                usd,
                if k == 0 {
                    TransactionKind::New
                } else {
                    TransactionKind::Renewal
                },
            );
            k += 1;
        }
    }

    fn used(&mut self, id: &str, feature: &str, day: Day, quantity: f64) {
        self.k += 1;
        self.b.add_usage(
            &format!("u{}", self.k),
            id,
            Some("ann"),
            feature,
            day,
            quantity,
        );
    }

    /// The three milestones on these days.
    fn onboard(&mut self, id: &str, days: [Day; 3]) {
        for (m, day) in MILESTONES.iter().zip(days) {
            self.used(id, m, day, 1.0);
        }
    }

    /// `core` once a week, ending on the as-of day (so she is never silent), from `from`:
    /// `base` actions before the 28-day window, `recent` in it.
    fn weekly(&mut self, id: &str, from: Day, until: Day, base: f64, recent: f64) {
        let mut day = as_of();
        while day >= from {
            if day <= until {
                let q = if as_of() - day < 28 { recent } else { base };
                self.used(id, "core", day, q);
            }
            day -= 7;
        }
    }

    fn nps(&mut self, id: &str, day: Day, score: u8) {
        self.k += 1;
        self.b
            .add_feedback(&format!("f{}", self.k), id, day, FeedbackKind::Nps, score);
    }
}

/// The company on 2025-06-30, one customer per rule (comments: the stage each should get).
fn company() -> Dataset {
    let month = BillingInterval::Month;
    let mut c = Company::new();
    // Deliver: 34 days in, two of three milestones.
    c.subscriber("deliver", d(5, 27), None, month);
    c.used("deliver", "report_run", d(5, 28), 1.0);
    c.used("deliver", "invite_sent", d(6, 2), 1.0);
    c.used("deliver", "report_run", d(6, 29), 1.0);
    // Deliver, overdue: 121 days in, one milestone.
    c.subscriber("overdue", d(3, 1), None, month);
    c.used("overdue", "report_run", d(3, 2), 1.0);
    c.weekly("overdue", d(3, 2), as_of(), 1.0, 1.0);
    // Develop since the last milestone (2025-06-10), the adoption period not over.
    c.subscriber("develop", d(5, 1), None, month);
    c.onboard("develop", [d(5, 20), d(6, 10), d(6, 3)]);
    c.weekly("develop", d(5, 20), as_of(), 1.0, 1.0);
    c.nps("develop", d(6, 20), 10);
    // Develop: adopted long ago but her usage fell to a third (−67 %).
    c.subscriber("fading", d24(12, 1), None, month);
    c.onboard("fading", [d24(12, 2), d24(12, 3), d24(12, 4)]);
    c.weekly("fading", d24(12, 4), as_of(), 3.0, 1.0);
    // Retain: value realised (profit > 0, usage steady), a healthy passive (NPS 7).
    c.subscriber("retain", d(1, 1), None, month);
    c.onboard("retain", [d(1, 5), d(1, 10), d(1, 20)]);
    c.weekly("retain", d(1, 20), as_of(), 1.0, 1.0);
    c.nps("retain", d(5, 1), 7);
    // Retain: value realised, but a detractor (NPS 3): health neutral.
    c.subscriber("detractor", d(1, 1), None, month);
    c.onboard("detractor", [d(1, 5), d(1, 10), d(1, 20)]);
    c.weekly("detractor", d(1, 20), as_of(), 1.0, 1.0);
    c.nps("detractor", d(5, 1), 3);
    // Retain by the renewal window: a yearly subscriber renewing on 2025-08-01, even though
    // she is a healthy promoter.
    c.subscriber("renewal", d24(8, 1), None, BillingInterval::Year);
    c.onboard("renewal", [d24(8, 2), d24(8, 3), d24(8, 4)]);
    c.weekly("renewal", d24(8, 4), as_of(), 1.0, 1.0);
    c.nps("renewal", d(6, 1), 10);
    // Retain by a term end: a monthly subscription ending on 2025-07-20.
    c.subscriber("term_end", d24(9, 1), Some(d(7, 20)), month);
    c.onboard("term_end", [d24(9, 2), d24(9, 3), d24(9, 4)]);
    c.weekly("term_end", d24(9, 4), as_of(), 1.0, 1.0);
    // Grow: healthy promoter (NPS 10 on 2025-06-01), value realised.
    c.subscriber("grow", d24(10, 1), None, month);
    c.onboard("grow", [d24(10, 2), d24(10, 3), d24(10, 9)]);
    c.weekly("grow", d24(10, 9), as_of(), 1.0, 1.0);
    c.nps("grow", d(6, 1), 10);
    // Grow by expansion: a healthy passive whose usage doubled (+100 %).
    c.subscriber("expands", d24(11, 1), None, month);
    c.onboard("expands", [d24(11, 2), d24(11, 3), d24(11, 4)]);
    c.weekly("expands", d24(11, 4), as_of(), 1.0, 2.0);
    c.nps("expands", d(6, 1), 8);
    // Churned after onboarding, still a promoter: Retain (win back) since the end, not Grow.
    c.subscriber("churned", d24(6, 1), Some(d(4, 1)), month);
    c.onboard("churned", [d24(6, 2), d24(6, 3), d24(6, 4)]);
    c.weekly("churned", d24(6, 4), d(3, 25), 1.0, 1.0);
    c.nps("churned", d(6, 1), 10);
    // Churned during onboarding: Deliver.
    c.subscriber("churned_early", d(2, 1), Some(d(3, 1)), month);
    c.used("churned_early", "report_run", d(2, 3), 1.0);
    c.b.build(LoadOptions::all()).unwrap()
}

fn config() -> Config {
    Config::parse(TOML, "tenure.toml").unwrap()
}

struct Run {
    facts: BTreeMap<String, Facts>,
    progress: Vec<Progress>,
    renewals: Vec<Option<Day>>,
    stages: BTreeMap<String, StageAssignment>,
}

fn run(data: &Dataset, cfg: &Config) -> Run {
    let fx = Fx::new(usd());
    let fs = facts(data, &fx, as_of(), cfg).unwrap();
    let progress = progress(data, as_of(), &cfg.stages);
    let renewals = renewal_days(data, as_of(), &cfg.stages);
    let mut out = Run {
        facts: BTreeMap::new(),
        progress,
        renewals,
        stages: BTreeMap::new(),
    };
    for f in fs {
        let i = f.customer as usize;
        let h = health(&f, &cfg.health, cfg.usage.window.0, cfg.usage.baseline.0);
        let a = stage(
            &f,
            &h,
            &out.progress[i],
            out.renewals[i],
            as_of(),
            &cfg.stages,
        );
        let id = data.customer_ids[i].clone();
        out.stages.insert(id.clone(), a);
        out.facts.insert(id, f);
    }
    out
}

/// (stage, since, overdue) of one customer, with the reason for messages.
fn of<'a>(r: &'a Run, id: &str) -> &'a StageAssignment {
    r.stages
        .get(id)
        .unwrap_or_else(|| panic!("no stage for {id}"))
}

fn check(r: &Run, id: &str, stage: Stage, since: Day, words: &[&str]) {
    let a = of(r, id);
    assert_eq!((a.stage, a.since), (stage, since), "{id}: {a:?}");
    for w in words {
        assert!(a.reason.contains(w), "{id}: {w:?} not in {:?}", a.reason);
    }
}

#[test]
fn milestone_days_are_first_uses_on_or_before_the_day() {
    let data = company();
    let cfg = config();
    let p = progress(&data, as_of(), &cfg.stages);
    let idx = |id: &str| data.customer_ids.iter().position(|c| c == id).unwrap();
    assert_eq!(p.len(), data.len());
    let dev = &p[idx("develop")];
    assert_eq!(
        dev.milestones,
        vec![Some(d(5, 20)), Some(d(6, 10)), Some(d(6, 3))]
    );
    assert_eq!(dev.last_seen, Some(as_of()));
    let del = &p[idx("deliver")];
    // report_run used twice: the first day counts.
    assert_eq!(del.milestones, vec![Some(d(5, 28)), Some(d(6, 2)), None]);
    // The churned customer was last seen when her subscription ended (after her last usage).
    assert_eq!(p[idx("churned")].last_seen, Some(d(4, 1)));
    // A day before the milestone: not reached yet.
    let early = progress(&data, d(6, 9), &cfg.stages);
    assert_eq!(early[idx("develop")].milestones[1], None);
}

#[test]
fn renewal_days_take_yearly_renewals_and_term_ends_only() {
    let data = company();
    let r = run(&data, &config());
    let idx = |id: &str| data.customer_ids.iter().position(|c| c == id).unwrap();
    assert_eq!(r.renewals[idx("renewal")], Some(d(8, 1)));
    assert_eq!(r.renewals[idx("term_end")], Some(d(7, 20)));
    // Monthly renewals are routine, not a renewal window; a past end is no renewal.
    assert_eq!(r.renewals[idx("grow")], None);
    assert_eq!(r.renewals[idx("churned")], None);
    // With monthly renewals counted: the next monthly boundary, or the earlier term end.
    let mut cfg = config();
    cfg.stages.renewal_intervals.push(BillingInterval::Month);
    let all = renewal_days(&data, as_of(), &cfg.stages);
    assert_eq!(all[idx("grow")], Some(d(7, 1)));
    assert_eq!(all[idx("deliver")], Some(d(7, 27)));
    assert_eq!(all[idx("term_end")], Some(d(7, 1)));
    // On the anniversary itself the window looks a year ahead.
    let on = renewal_days(&data, d(8, 1), &cfg.stages);
    assert_eq!(on[idx("renewal")], Some(day_from_ymd(2026, 8, 1)));
}

#[test]
fn deliver_until_every_milestone() {
    let r = run(&company(), &config());
    check(
        &r,
        "deliver",
        Stage::Deliver,
        d(5, 27),
        &["onboarding: 2 of 3 milestones (report_run, invite_sent; missing api_key) after 34 d"],
    );
    assert!(!of(&r, "deliver").overdue);
    assert_eq!(
        of(&r, "deliver").reason,
        "onboarding: 2 of 3 milestones (report_run, invite_sent; missing api_key) after 34 d"
    );
    check(
        &r,
        "overdue",
        Stage::Deliver,
        d(3, 1),
        &[
            "1 of 3 milestones (report_run; missing invite_sent, api_key) after 121 d",
            "onboarding overdue (onboarding_max 60 d)",
        ],
    );
    assert!(of(&r, "overdue").overdue);
}

#[test]
fn develop_from_the_last_milestone_until_value() {
    let r = run(&company(), &config());
    // Onboarded on the last milestone (api_key on 06-03, invite_sent on 06-10); a promoter,
    // but value cannot be realised within the 30-day adoption period.
    assert_eq!(
        of(&r, "develop").reason,
        "adoption: onboarded on 2025-06-10 (20 d ago); adoption period of 30 d not over"
    );
    check(&r, "develop", Stage::Develop, d(6, 10), &[]);
    // Usage fell: profit alone does not realise value under the default `both` rule.
    check(
        &r,
        "fading",
        Stage::Develop,
        d24(12, 4),
        &[
            "value not realised (both rule)",
            "realised profit > 0 and usage -67 % < -20 %",
        ],
    );
}

#[test]
fn retain_when_value_is_realised() {
    let r = run(&company(), &config());
    assert!(r.facts["retain"].realised_profit > 0);
    // Since the end of the adoption period: 2025-01-20 + 30 days.
    check(
        &r,
        "retain",
        Stage::Retain,
        d(2, 19),
        &[
            "value realised: realised profit > 0 and usage",
            "161 d after onboarding on 2025-01-20",
            "not Grow: no promoter NPS ≥ 9",
        ],
    );
    check(
        &r,
        "detractor",
        Stage::Retain,
        d(2, 19),
        &["value realised", "not Grow: health neutral (score 50)"],
    );
}

#[test]
fn retain_in_the_renewal_window() {
    let r = run(&company(), &config());
    // Since the window opened, 90 days before 2025-08-01; a healthy promoter, yet Retain.
    check(
        &r,
        "renewal",
        Stage::Retain,
        d(5, 3),
        &["renewal window: renewal or term end on 2025-08-01, in 32 d (window 90 d)"],
    );
    check(
        &r,
        "term_end",
        Stage::Retain,
        d(4, 21),
        &["renewal window", "2025-07-20, in 20 d"],
    );
}

#[test]
fn grow_for_healthy_promoters_and_expanders() {
    let r = run(&company(), &config());
    // Since her promoter answer (after the adoption period ended in November).
    check(
        &r,
        "grow",
        Stage::Grow,
        d(6, 1),
        &[
            "grow: healthy (score 100) and promoter (NPS 10 on 2025-06-01)",
            "value realised",
        ],
    );
    // Passive, but usage doubled: since the end of the adoption period.
    check(
        &r,
        "expands",
        Stage::Grow,
        d24(12, 4),
        &["grow: healthy (score 75) and expanding (usage +100 % ≥ +20 %)"],
    );
}

#[test]
fn churned_customers_are_won_back_never_grown() {
    let r = run(&company(), &config());
    assert_eq!(r.facts["churned"].status, Status::Churned);
    check(
        &r,
        "churned",
        Stage::Retain,
        d(4, 1),
        &[
            "churned: no subscription remains, last seen 2025-04-01",
            "win her back",
        ],
    );
    check(
        &r,
        "churned_early",
        Stage::Deliver,
        d(2, 1),
        &[
            "churned",
            "onboarding never finished (onboarding: 1 of 3 milestones",
        ],
    );
}

#[test]
fn without_milestones_onboarding_ends_at_first_value() {
    let data = company();
    let mut cfg = config();
    cfg.stages.milestones.clear();
    cfg.usage.value_event = Some("api_key".into());
    let r = run(&data, &cfg);
    // develop used api_key on 06-03: onboarded then.
    check(
        &r,
        "develop",
        Stage::Develop,
        d(6, 3),
        &["onboarded on 2025-06-03"],
    );
    // deliver never used api_key.
    check(
        &r,
        "deliver",
        Stage::Deliver,
        d(5, 27),
        &["onboarding: no first value yet after 34 d"],
    );
}

#[test]
fn the_value_rule_is_configurable() {
    let data = company();
    let mut cfg = config();
    cfg.stages.value = ValueRule::Profit;
    let r = run(&data, &cfg);
    check(
        &r,
        "fading",
        Stage::Retain,
        d24(12, 4) + 30,
        &["value realised: realised profit > 0, "],
    );
    cfg.stages.adoption = Days(365);
    let r = run(&data, &cfg);
    check(
        &r,
        "retain",
        Stage::Develop,
        d(1, 20),
        &["adoption period of 365 d not over"],
    );
}

fn assigned(customer: u32, stage: Stage, since: Day) -> StageAssignment {
    StageAssignment {
        customer,
        stage,
        since,
        overdue: false,
        reason: format!("r{customer}"),
    }
}

#[test]
fn funnel_counts_and_median_days_in_stage() {
    let a = [
        assigned(0, Stage::Deliver, as_of() - 10),
        assigned(1, Stage::Deliver, as_of() - 20),
        assigned(2, Stage::Deliver, as_of() - 60),
        assigned(3, Stage::Retain, as_of() - 5),
        assigned(4, Stage::Retain, as_of() - 8),
        assigned(5, Stage::Grow, as_of()),
    ];
    let f = funnel(&a, as_of());
    let got: Vec<(Stage, usize, Option<f64>)> = f
        .iter()
        .map(|r| (r.stage, r.customers, r.median_days))
        .collect();
    assert_eq!(
        got,
        vec![
            (Stage::Deliver, 3, Some(20.0)),
            (Stage::Develop, 0, None),
            (Stage::Retain, 2, Some(6.5)),
            (Stage::Grow, 1, Some(0.0)),
        ]
    );
    // On the company: every customer counted once.
    let r = run(&company(), &config());
    let all: Vec<StageAssignment> = r.stages.values().cloned().collect();
    let f = funnel(&all, as_of());
    let counts: Vec<usize> = f.iter().map(|r| r.customers).collect();
    assert_eq!(counts, vec![3, 2, 5, 2]);
}

#[test]
fn transitions_record_changes_with_day_and_reason() {
    let before = [
        assigned(0, Stage::Deliver, d(1, 1)),
        assigned(1, Stage::Develop, d(2, 1)),
    ];
    let mut now = vec![
        // Unchanged: keeps the earlier observed since.
        assigned(0, Stage::Deliver, d(1, 5)),
        // Moved on.
        assigned(1, Stage::Retain, d(3, 3)),
        // New.
        assigned(2, Stage::Deliver, d(6, 1)),
    ];
    let t = transitions(&before, &mut now);
    assert_eq!(now[0].since, d(1, 1));
    let got: Vec<(u32, Option<Stage>, Stage, Day, &str)> = t
        .iter()
        .map(|t| (t.customer, t.from, t.to, t.day, t.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, Some(Stage::Develop), Stage::Retain, d(3, 3), "r1"),
            (2, None, Stage::Deliver, d(6, 1), "r2"),
        ]
    );
    // A record-based since before the previous stage's is moved up to it.
    let mut back = vec![assigned(1, Stage::Develop, d(1, 1))];
    let t = transitions(&now, &mut back);
    assert_eq!((t[0].from, t[0].day), (Some(Stage::Retain), d(3, 3)));
}

#[test]
fn stages_are_ordered_and_named() {
    assert!(Stage::Deliver < Stage::Develop && Stage::Retain < Stage::Grow);
    let names: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["deliver", "develop", "retain", "grow"]);
}

#[test]
fn stage_settings_from_toml() {
    let c = Config::parse(
        r#"
[stages]
milestones = ["report_run", "api_key"]
onboarding_max = "6w"
adoption = "2mo"
value = "either"
min_usage_trend = -0.1
renewal_window = "60d"
renewal_intervals = ["year", "quarter"]
promoter_nps = 10
expansion_trend = 0.3
"#,
        "tenure.toml",
    )
    .unwrap();
    let s = &c.stages;
    assert_eq!(s.milestones, vec!["report_run", "api_key"]);
    assert_eq!(s.onboarding_max, Days(42));
    assert_eq!(s.adoption, Days(61));
    assert_eq!(s.value, ValueRule::Either);
    assert_eq!(s.min_usage_trend, -0.1);
    assert_eq!(s.renewal_window, Days(60));
    assert_eq!(
        s.renewal_intervals,
        vec![BillingInterval::Year, BillingInterval::Quarter]
    );
    assert_eq!((s.promoter_nps, s.expansion_trend), (10, 0.3));
    // Every key defaulted.
    let d = Config::parse("[stages]\n", "tenure.toml").unwrap().stages;
    assert_eq!(d, StageSettings::default());
    assert!(d.milestones.is_empty());
    assert_eq!((d.onboarding_max, d.adoption), (Days(60), Days(30)));
    assert_eq!((d.value, d.renewal_window), (ValueRule::Both, Days(90)));
    assert_eq!(d.renewal_intervals, vec![BillingInterval::Year]);
}

/// Each bad `[stages]`: line, column and a phrase of the message.
#[test]
fn stage_settings_errors_name_the_key_and_line() {
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "[stages]\nmilestone = []\n",
            2,
            1,
            "unknown field `milestone`",
        ),
        ("[stages]\n  renewal_window = \"90\"\n", 2, 20, "`90`"),
        (
            "[stages]\nvalue = \"money\"\n",
            2,
            9,
            "unknown variant `money`",
        ),
        (
            "[stages]\nrenewal_intervals = [\"week\"]\n",
            2,
            21,
            "`week`",
        ),
        (
            "[stages]\nmilestones = [\"a\", \"b\", \"a\"]\n",
            2,
            1,
            "`milestones`: `a` is listed twice",
        ),
        ("[stages]\nmilestones = [\" \"]\n", 2, 1, "name is empty"),
        (
            "[stages]\npromoter_nps = 11\n",
            2,
            1,
            "`promoter_nps`: 11 is above 10",
        ),
        (
            "[stages]\nexpansion_trend = -0.1\n",
            2,
            1,
            "`expansion_trend`: -0.1 must be > 0",
        ),
        (
            "[stages]\nexpansion_trend = 0.1\n\nmin_usage_trend = 0.1\n",
            4,
            1,
            "`min_usage_trend`: 0.1 is not below expansion_trend (0.1)",
        ),
        ("[stages]\nmin_usage_trend = -2\n", 2, 1, "below −1"),
    ];
    for (text, line, column, phrase) in cases {
        let e = Config::parse(text, "tenure.toml").unwrap_err();
        assert_eq!((e.line, e.column), (*line, *column), "{text:?}: {e}");
        assert!(e.to_string().contains(phrase), "{text:?}: {e}");
        assert!(e.to_string().starts_with("tenure.toml:"), "{e}");
    }
}

/// Facts of an onboarded, paying, healthy-looking customer; tests change what they test.
fn onboarded(customer: u32) -> Facts {
    Facts {
        customer,
        tenure_days: 200,
        realised_profit: 5_000,
        referral_credit: 0,
        future_profit: Some(10_000),
        p_alive: Some(0.9),
        method: "test".into(),
        status: Status::Active,
        usage: Some((1.0, 1.0)),
        first_value: Some(as_of() - 150),
        nps: None,
        tickets: None,
        cases: None,
        payments: None,
        subscribed: true,
        past_due: false,
        referrals: 0,
    }
}

#[test]
fn inactive_customers_are_won_back_from_their_last_sign_of_life() {
    let cfg = StageSettings::default();
    let h = health(&onboarded(0), &Config::default().health, 28, 91);
    let p = Progress {
        customer: 0,
        milestones: vec![],
        last_seen: Some(as_of() - 40),
    };
    let quiet = Facts {
        status: Status::Inactive,
        nps: Some((10, as_of() - 5)),
        ..onboarded(0)
    };
    let a = stage(&quiet, &h, &p, None, as_of(), &cfg);
    assert_eq!((a.stage, a.since), (Stage::Retain, as_of() - 40), "{a:?}");
    assert!(a
        .reason
        .starts_with("inactive: silent beyond her own pattern, last seen 2025-05-21"));
    // Inactive before her first value: Deliver since acquisition, overdue (200 d > 60 d).
    let never = Facts {
        first_value: None,
        ..quiet
    };
    let a = stage(&never, &h, &p, None, as_of(), &cfg);
    assert_eq!(
        (a.stage, a.since, a.overdue),
        (Stage::Deliver, as_of() - 200, true)
    );
    assert!(a.reason.contains("onboarding never finished"), "{a:?}");
    // Active again: the value rule decides; without a usage baseline `both` fails, `either`
    // passes on profit.
    let p = Progress {
        last_seen: None,
        ..p
    };
    let fresh = Facts {
        usage: Some((1.0, 0.0)),
        ..onboarded(0)
    };
    let a = stage(&fresh, &h, &p, None, as_of(), &cfg);
    assert_eq!(a.stage, Stage::Develop);
    assert!(
        a.reason
            .ends_with("realised profit > 0 and no usage trend yet"),
        "{a:?}"
    );
    let either = StageSettings {
        value: ValueRule::Either,
        ..cfg
    };
    let a = stage(&fresh, &h, &p, None, as_of(), &either);
    assert_eq!((a.stage, a.since), (Stage::Retain, as_of() - 120), "{a:?}");
    // A renewal on the day itself or past the window opens no window.
    for r in [as_of(), as_of() + 91] {
        assert_ne!(
            stage(&fresh, &h, &p, Some(r), as_of(), &either).reason[..7],
            *"renewal"
        );
    }
    let a = stage(&fresh, &h, &p, Some(as_of() + 90), as_of(), &either);
    assert_eq!((a.stage, a.since), (Stage::Retain, as_of()), "{a:?}");
}
