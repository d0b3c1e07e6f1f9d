//! The health score's support and payment components from support cases and payment events
//! (issue 10), on a hand-made company whose points are computed by hand.
#![allow(clippy::unwrap_used)]

use tenure_act::config::Config;
use tenure_act::facts;
use tenure_act::facts::{CaseLoad, PaymentTrouble};
use tenure_act::health::health;
use tenure_core::{
    BillingInterval, CaseStatus, Currency, FeedbackKind, MinorUnits, PaymentKind,
    SubscriptionStatus, TransactionKind,
};
use tenure_reports::calendar::day_from_ymd;
use tenure_reports::Fx;
use tenure_store::dataset::Day;
use tenure_store::{DatasetBuilder, LoadOptions};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn d(m: u32, day: u32) -> Day {
    day_from_ymd(2025, m, day)
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// `a` subscribes from 2025-01-01 and has: an open, escalated severity-1 case opened
/// 2025-06-10; a severity-2 case solved in February; an escalated severity-3 case of January
/// (closed, and older than the 90-day lookback); failed payments on 03-01 (older than the
/// lookback), 05-01 and 06-01; a dunning started 05-02 and resolved 05-10; NPS 8 on 06-01.
/// `b` subscribes too and has none of these records.
fn company() -> tenure_store::Dataset {
    let usd = usd();
    let mut b = DatasetBuilder::new(false);
    for id in ["a", "b"] {
        b.add_customer(id, d(1, 1), None, Some("pro"), None, None);
        b.add_subscription(
            &format!("s-{id}"),
            id,
            "pro",
            d(1, 1),
            None,
            1,
            10_000,
            usd,
            BillingInterval::Month,
            SubscriptionStatus::Active,
        );
        for m in 1..=6 {
            b.add_transaction(
                &format!("t-{id}-{m}"),
                id,
                d(m, 1),
                10_000,
                None,
                usd,
                if m == 1 {
                    TransactionKind::New
                } else {
                    TransactionKind::Renewal
                },
            );
        }
    }
    b.add_case(
        "k1",
        "a",
        d(6, 10),
        None,
        1,
        CaseStatus::Open,
        Some("outage"),
        None,
        Some("sam"),
        true,
        Some("engineering"),
        None,
    );
    b.add_case(
        "k2",
        "a",
        d(2, 1),
        Some(d(2, 5)),
        2,
        CaseStatus::Solved,
        None,
        None,
        None,
        false,
        None,
        Some(4),
    );
    b.add_case(
        "k3",
        "a",
        d(1, 15),
        Some(d(1, 20)),
        3,
        CaseStatus::Closed,
        None,
        None,
        None,
        true,
        Some("tier2"),
        None,
    );
    let money = Some(MinorUnits::new(10_000, usd));
    b.add_payment("p1", "a", d(3, 1), PaymentKind::Failed, money);
    b.add_payment("p2", "a", d(5, 1), PaymentKind::Failed, money);
    b.add_payment("p3", "a", d(5, 2), PaymentKind::DunningStarted, None);
    b.add_payment("p4", "a", d(5, 10), PaymentKind::DunningResolved, None);
    b.add_payment("p5", "a", d(6, 1), PaymentKind::Failed, money);
    b.add_feedback("f1", "a", d(6, 1), FeedbackKind::Nps, 8);
    b.build(LoadOptions::all()).unwrap()
}

#[test]
fn escalated_outage_and_two_failed_payments_are_scored_and_explained() {
    let data = company();
    let cfg = Config::default();
    let as_of = d(6, 30);
    let fs = facts(&data, &Fx::new(usd()), as_of, &cfg).unwrap();
    let fa = &fs[0];
    // The lookback is the 90 days to 2025-06-30: after 2025-04-01.
    assert_eq!(
        fa.cases,
        Some(CaseLoad {
            open: vec![(1, d(6, 10), true)],
            escalations: vec![d(6, 10)],
        })
    );
    assert_eq!(
        fa.payments,
        Some(PaymentTrouble {
            failed: vec![d(5, 1), d(6, 1)],
            dunning_since: None,
            any: true,
        })
    );
    // Components (default weights usage 45, p_alive 10, nps 20, support 15, payment 10):
    // - usage_trend: no usage record → missing, left out.
    // - p_alive: a prediction (not hand-computed here); present or not, it is re-weighted
    //   like the rest, so the test takes its fraction from the result.
    // - nps: 8 is a passive → 0.5.
    // - support: case load = 4 (one open severity-1 case) + 2 (one escalation in 90 days)
    //   = 6; the case_load ramp is full at 0, nothing at 8 → (6 − 8) / (0 − 8) = 0.25.
    // - payment: 2 failed payments in 90 days (03-01 is older), dunning resolved →
    //   1 − 2 × 0.25 = 0.5.
    let h = health(fa, &cfg.health, 28, 56);
    let by = |n: &str| h.components.iter().find(|c| c.name == n).unwrap();
    assert_eq!(by("usage_trend").fraction, None);
    assert_eq!(by("nps").fraction, Some(0.5));
    assert_eq!(by("support").fraction, Some(0.25));
    assert_eq!(by("payment").fraction, Some(0.5));
    assert_eq!(
        by("support").input,
        "1 open severity-1 case (escalated, opened 2025-06-10); 1 escalation in 90 days: \
         case load 6"
    );
    assert_eq!(by("payment").input, "2 failed payments in 90 days");
    let p = by("p_alive").fraction;
    // Present weights: 20 + 15 + 10 (+ 10 when p_alive is predicted).
    let total = 45.0 + if p.is_some() { 10.0 } else { 0.0 };
    let nps = 100.0 * 20.0 * 0.5 / total;
    let support = 100.0 * 15.0 * 0.25 / total;
    let payment = 100.0 * 10.0 * 0.5 / total;
    let p_alive = 100.0 * 10.0 * p.unwrap_or(0.0) / total;
    assert!(near(by("nps").points, nps));
    assert!(near(by("support").points, support));
    assert!(near(by("support").max_points, 100.0 * 15.0 / total));
    assert!(near(by("payment").points, payment));
    assert!(near(by("payment").max_points, 100.0 * 10.0 / total));
    assert!(near(h.score.unwrap(), nps + support + payment + p_alive));

    // Without p_alive (weight 0) every point is hand-computed: present weights 20 + 15 + 10
    // = 45; nps 100·20·0.5/45 = 22.222…, support 100·15·0.25/45 = 8.333…, payment
    // 100·10·0.5/45 = 11.111…; total 1875/45 = 41.666….
    let mut cfg0 = Config::default();
    cfg0.health.weights.p_alive = 0.0;
    let h0 = health(fa, &cfg0.health, 28, 56);
    let by0 = |n: &str| h0.components.iter().find(|c| c.name == n).unwrap();
    assert!(near(by0("nps").points, 1000.0 / 45.0));
    assert!(near(by0("support").points, 375.0 / 45.0));
    assert!(near(by0("support").max_points, 1500.0 / 45.0));
    assert!(near(by0("payment").points, 500.0 / 45.0));
    assert!(near(by0("payment").max_points, 1000.0 / 45.0));
    assert!(near(h0.score.unwrap(), 1875.0 / 45.0));

    // b, in the same store, has no case and no payment problem: full support and payment
    // points, explained as such.
    let hb = health(&fs[1], &cfg.health, 28, 56);
    let byb = |n: &str| hb.components.iter().find(|c| c.name == n).unwrap();
    assert_eq!(byb("support").fraction, Some(1.0));
    assert_eq!(
        byb("support").input,
        "no open support case; 0 escalations in 90 days: case load 0"
    );
    assert_eq!(byb("payment").fraction, Some(1.0));
    assert_eq!(byb("payment").input, "0 failed payments in 90 days");
}

#[test]
fn unresolved_dunning_zeroes_the_payment_component() {
    let usd = usd();
    let mut b = DatasetBuilder::new(false);
    b.add_customer("a", d(1, 1), None, None, None, None);
    b.add_transaction("t", "a", d(1, 1), 10_000, None, usd, TransactionKind::New);
    // Resolved 05-10, dunning again from 06-05: unresolved on 06-30.
    b.add_payment("p1", "a", d(5, 2), PaymentKind::DunningStarted, None);
    b.add_payment("p2", "a", d(5, 10), PaymentKind::DunningResolved, None);
    b.add_payment("p3", "a", d(6, 5), PaymentKind::DunningStarted, None);
    b.add_payment(
        "p4",
        "a",
        d(6, 4),
        PaymentKind::Failed,
        Some(MinorUnits::new(500, usd)),
    );
    let data = b.build(LoadOptions::all()).unwrap();
    let cfg = Config::default();
    let fs = facts(&data, &Fx::new(usd), d(6, 30), &cfg).unwrap();
    let h = health(&fs[0], &cfg.health, 28, 56);
    let pay = h.components.iter().find(|c| c.name == "payment").unwrap();
    // A purchase customer with payment events gets the component too.
    assert_eq!(pay.fraction, Some(0.0));
    assert_eq!(
        pay.input,
        "in dunning since 2025-06-05; 1 failed payment in 90 days"
    );
    // Before 06-05 the dunning was resolved: 1 − 0.25 for the failed payment of 06-04.
    let fs = facts(&data, &Fx::new(usd), d(6, 4), &cfg).unwrap();
    let h = health(&fs[0], &cfg.health, 28, 56);
    let pay = h.components.iter().find(|c| c.name == "payment").unwrap();
    assert_eq!(pay.fraction, Some(0.75));
    // No support case in the store: support falls back to (absent) tickets.
    let sup = h.components.iter().find(|c| c.name == "support").unwrap();
    assert_eq!(sup.fraction, None);
    assert_eq!(sup.input, "no support records in the store");
}

#[test]
fn case_weights_are_configurable_and_checked() {
    let c = Config::parse(
        "[health]\nseverity_weights = [5, 3, 1, 0]\nescalation_weight = 1\nfailed_payment_penalty = 0.5\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.health.severity_weights, [5.0, 3.0, 1.0, 0.0]);
    assert_eq!(c.health.escalation_weight, 1.0);
    assert_eq!(c.health.failed_payment_penalty, 0.5);
    let e = Config::parse("[health]\nseverity_weights = [1, -1, 1, 1]\n", "t.toml").unwrap_err();
    assert!(e.message.contains("≥ 0"), "{e}");
    let e = Config::parse("[health.case_load]\nzero_at = 1\nfull_at = 1\n", "t.toml").unwrap_err();
    assert!(e.message.contains("equal"), "{e}");
}
