//! Each rule of the decision layer on small hand-made customers: which segment, what score and
//! why, who is an advocate — and the facts they are computed from, on a hand-made company.
#![allow(clippy::unwrap_used)]

use tenure_act::advocacy::advocates;
use tenure_act::config::{Amount, Bands, Config, Threshold, Weights};
use tenure_act::health::{band, health, Band};
use tenure_act::{facts, segment, thresholds, Facts, Segment};
use tenure_core::{
    BillingInterval, CostCategory, CostTarget, Currency, FeedbackKind, RecordId,
    SubscriptionStatus, TransactionKind,
};
use tenure_reports::calendar::day_from_ymd;
use tenure_reports::status::Status;
use tenure_reports::Fx;
use tenure_store::{DatasetBuilder, LoadOptions};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

/// A customer of two years with every input healthy; tests change what they test.
fn base(customer: u32) -> Facts {
    Facts {
        customer,
        tenure_days: 730,
        realised_profit: 0,
        referral_credit: 0,
        future_profit: Some(0),
        p_alive: Some(0.95),
        method: "test".into(),
        status: Status::Active,
        usage: Some((10.0, 10.0)),
        first_value: Some(0),
        nps: Some((10, 0)),
        tickets: Some(0),
        cases: None,
        payments: None,
        subscribed: true,
        past_due: false,
        referrals: 0,
    }
}

fn with_value(customer: u32, realised: i64, future: Option<i64>) -> Facts {
    Facts {
        realised_profit: realised,
        future_profit: future,
        ..base(customer)
    }
}

fn amounts(realised: &str, predicted: &str) -> Config {
    let mut c = Config::default();
    c.segments.high_realised = Threshold::Amount(Amount(realised.parse().unwrap()));
    c.segments.high_predicted = Threshold::Amount(Amount(predicted.parse().unwrap()));
    c
}

#[test]
fn segments_by_amount_thresholds() {
    let cfg = amounts("1000.00", "2000.00");
    let people = [
        with_value(0, 150_000, Some(300_000)),
        with_value(1, -50_000, Some(250_000)),
        with_value(2, 200_000, Some(100_000)),
        with_value(3, 10_000, Some(-2_000)),
        with_value(4, 90_000_000, None),
        with_value(5, 100_000, Some(200_000)),
        with_value(6, 99_999, Some(200_000)),
    ];
    let t = thresholds(&people, &cfg.segments, usd());
    assert_eq!((t.realised, t.predicted), (100_000, 200_000));
    let got: Vec<(Segment, String)> = people
        .iter()
        .map(|f| {
            let a = segment(f, &t, usd());
            (a.segment, a.reason)
        })
        .collect();
    let want = [
        (
            Segment::Key,
            "realised 1500.00 USD ≥ 1000.00 USD and predicted 3000.00 USD ≥ 2000.00 USD",
        ),
        (
            Segment::PotentialKey,
            "predicted 2500.00 USD ≥ 2000.00 USD but realised -500.00 USD below 1000.00 USD",
        ),
        (Segment::General, "predicted 1000.00 USD below 2000.00 USD"),
        (
            Segment::NeverProfitable,
            "predicted future profit -20.00 USD < 0: serving her costs more than she will bring",
        ),
        (Segment::General, "no prediction (test)"),
        // At the threshold is high.
        (
            Segment::Key,
            "realised 1000.00 USD ≥ 1000.00 USD and predicted 2000.00 USD ≥ 2000.00 USD",
        ),
        (
            Segment::PotentialKey,
            "predicted 2000.00 USD ≥ 2000.00 USD but realised 999.99 USD below 1000.00 USD",
        ),
    ];
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!((g.0, g.1.as_str()), w, "customer {i}");
    }
}

#[test]
fn quantile_thresholds_take_the_top_share_with_ties() {
    let mut cfg = Config::default();
    // Top 20 % of ten customers: two.
    let people: Vec<Facts> = (1..=10)
        .map(|k| with_value(k, k as i64 * 100, Some(k as i64 * 100)))
        .collect();
    let t = thresholds(&people, &cfg.segments, usd());
    assert_eq!((t.realised, t.predicted), (900, 900));
    let key: Vec<u32> = people
        .iter()
        .filter(|f| segment(f, &t, usd()).segment == Segment::Key)
        .map(|f| f.customer)
        .collect();
    assert_eq!(key, vec![9, 10]);
    // Ties at the threshold are all high: top 2 of [1, 5, 5, 5] is 5, so three are high.
    cfg.segments.high_predicted = Threshold::Quantile(0.5);
    let tied: Vec<Facts> = [1, 5, 5, 5]
        .iter()
        .enumerate()
        .map(|(i, v)| with_value(i as u32, 0, Some(*v)))
        .collect();
    let t = thresholds(&tied, &cfg.segments, usd());
    assert_eq!(t.predicted, 5);
    let high = tied
        .iter()
        .filter(|f| segment(f, &t, usd()).segment == Segment::PotentialKey)
        .count();
    assert_eq!(high, 3);
    // Quantile 1: nobody is high; customers without a prediction do not count.
    cfg.segments.high_predicted = Threshold::Quantile(1.0);
    let t = thresholds(&tied, &cfg.segments, usd());
    assert_eq!(t.predicted, i64::MAX);
    assert!(tied
        .iter()
        .all(|f| segment(f, &t, usd()).segment == Segment::General));
    // A zero future is never "high", even when it is the threshold.
    let zeros = [with_value(0, 0, Some(0)), with_value(1, 0, Some(0))];
    let t = thresholds(&zeros, &Config::default().segments, usd());
    assert_eq!(segment(&zeros[0], &t, usd()).segment, Segment::General);
}

#[test]
fn each_segment_carries_its_plan() {
    let cfg = Config::parse(
        "[segments.plans.never_profitable]\nchannels = [\"in_app\"]\ncadence = \"1y\"\nbudget_per_year = \"0\"\n",
        "t.toml",
    )
    .unwrap();
    let p = Segment::NeverProfitable.plan(&cfg.segments);
    assert_eq!(p.channels, vec!["in_app".to_string()]);
    assert_eq!(p.cadence.0, 365);
    assert_eq!(Segment::Key.plan(&cfg.segments).channels[0], "csm");
}

/// The rule tests' own weights and bands (not the defaults, which may be retuned):
/// usage 30, P(alive) 25, NPS 20, support 15, payment 10; healthy from 70, at risk below 45.
fn test_config() -> Config {
    let mut c = Config::default();
    c.health.weights = Weights {
        usage_trend: 30.0,
        p_alive: 25.0,
        nps: 20.0,
        support: 15.0,
        payment: 10.0,
    };
    c.health.bands = Bands {
        healthy_from: 70.0,
        at_risk_below: 45.0,
    };
    c
}

fn score_of(f: &Facts) -> tenure_act::Health {
    health(f, &test_config().health, 28, 56)
}

#[test]
fn health_with_every_component() {
    // Usage down 25 % (half of the ramp to −50 %), everything else full.
    let f = Facts {
        usage: Some((7.5, 10.0)),
        ..base(0)
    };
    let h = score_of(&f);
    assert!((h.score.unwrap() - 85.0).abs() < 1e-9, "{h:?}");
    assert_eq!(h.band, Some(Band::Healthy));
    let u = &h.components[0];
    assert_eq!(u.name, "usage_trend");
    assert!((u.points - 15.0).abs() < 1e-9 && (u.max_points - 30.0).abs() < 1e-9);
    assert_eq!(u.input, "usage -25 % in the last 28 days vs the 56 before");
    assert_eq!(h.biggest_losses()[0].name, "usage_trend");
}

#[test]
fn missing_inputs_are_reweighted_not_zero() {
    // No usage and no NPS: p_alive (25), support (15), payment (10) share the 100 points.
    let f = Facts {
        usage: None,
        nps: None,
        p_alive: Some(0.625),
        tickets: Some(3),
        past_due: true,
        ..base(0)
    };
    let h = score_of(&f);
    let pts: Vec<(&str, Option<f64>, f64, f64)> = h
        .components
        .iter()
        .map(|c| (c.name, c.fraction, c.points, c.max_points))
        .collect();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(
        pts[0].1.is_none() && pts[0].3 == 0.0,
        "usage missing: {pts:?}"
    );
    assert!(close(pts[1].2, 25.0) && close(pts[1].3, 50.0), "{pts:?}");
    assert!(pts[2].1.is_none(), "nps missing");
    // 1 ticket per 30 days: (1 − 3) / (0.5 − 3) = 0.8 of 30.
    assert!(close(pts[3].2, 24.0) && close(pts[3].3, 30.0), "{pts:?}");
    assert!(close(pts[4].2, 0.0) && close(pts[4].3, 20.0), "{pts:?}");
    assert!(close(h.score.unwrap(), 49.0));
    assert_eq!(h.band, Some(Band::Neutral));
    assert_eq!(h.components[4].input, "a subscription is past due");
    // A missing NPS scores above a detractor's and below a promoter's.
    let with = |nps| score_of(&Facts { nps, ..f.clone() }).score.unwrap();
    assert!(with(Some((3, 0))) < with(None) && with(None) < with(Some((10, 0))));
}

#[test]
fn no_input_no_score() {
    let f = Facts {
        usage: None,
        p_alive: None,
        nps: None,
        tickets: None,
        subscribed: false,
        ..base(0)
    };
    let h = score_of(&f);
    assert_eq!((h.score, h.band), (None, None));
    assert!(h.components.iter().all(|c| c.fraction.is_none()));
}

#[test]
fn silence_and_new_customers() {
    // Usage in the past but none in 84 days: the usage component is 0, not missing.
    let quiet = Facts {
        usage: Some((0.0, 0.0)),
        ..base(0)
    };
    let h = score_of(&quiet);
    assert_eq!(h.components[0].fraction, Some(0.0));
    assert_eq!(h.components[0].input, "no usage in the last 84 days");
    // A customer of 30 days has no baseline: missing, re-weighted.
    let new = Facts {
        tenure_days: 30,
        usage: Some((5.0, 0.0)),
        ..base(0)
    };
    assert_eq!(score_of(&new).components[0].fraction, None);
}

#[test]
fn points_add_up_to_the_score() {
    let mut k = 0u32;
    for usage in [None, Some((1.0, 3.0)), Some((0.0, 0.0))] {
        for p in [None, Some(0.1), Some(0.7)] {
            for nps in [None, Some((6, 0)), Some((8, 0))] {
                for tickets in [None, Some(0), Some(9)] {
                    let f = Facts {
                        usage,
                        p_alive: p,
                        nps,
                        tickets,
                        ..base(k)
                    };
                    k += 1;
                    let h = score_of(&f);
                    let sum: f64 = h.components.iter().map(|c| c.points).sum();
                    let max: f64 = h.components.iter().map(|c| c.max_points).sum();
                    let s = h.score.unwrap();
                    assert!((sum - s).abs() < 1e-9 && (max - 100.0).abs() < 1e-9);
                    assert!((0.0..=100.0).contains(&s));
                }
            }
        }
    }
}

#[test]
fn bands() {
    let h = test_config().health;
    assert_eq!(band(70.0, &h), Band::Healthy);
    assert_eq!(band(69.99, &h), Band::Neutral);
    assert_eq!(band(45.0, &h), Band::Neutral);
    assert_eq!(band(44.99, &h), Band::AtRisk);
}

#[test]
fn advocates_are_tenured_healthy_promoters_ranked() {
    let cfg = test_config();
    let people = vec![
        // 0: promoter 10, healthy, tenured, one referral.
        Facts {
            referrals: 1,
            ..base(0)
        },
        // 1: passive (8): out.
        Facts {
            nps: Some((8, 0)),
            ..base(1)
        },
        // 2: too new (100 days < 182): out.
        Facts {
            tenure_days: 100,
            ..base(2)
        },
        // 3: churned: out.
        Facts {
            status: Status::Churned,
            ..base(3)
        },
        // 4: promoter 9, healthy: in, after the 10s.
        Facts {
            nps: Some((9, 0)),
            ..base(4)
        },
        // 5: promoter 10 but usage collapsed: health 70 → in at exactly the threshold? No:
        // usage −50 % loses all 30 points: 70, healthy, in.
        Facts {
            usage: Some((5.0, 10.0)),
            ..base(5)
        },
        // 6: promoter 10 but past due and usage collapsed: 60, out.
        Facts {
            usage: Some((5.0, 10.0)),
            past_due: true,
            ..base(6)
        },
        // 7: like 0 with no referral: after 0.
        base(7),
    ];
    let health: Vec<_> = people
        .iter()
        .map(|f| health(f, &cfg.health, 28, 56))
        .collect();
    let got: Vec<u32> = advocates(&people, &health, &cfg.advocacy)
        .iter()
        .map(|c| people[c.index].customer)
        .collect();
    assert_eq!(got, vec![0, 7, 5, 4]);
}

/// The facts of a hand-made company on 2025-06-30: what counts, what is too old, what is after
/// the day.
#[test]
fn facts_of_a_small_company() {
    let usd = usd();
    let d = |m, dd| day_from_ymd(2025, m, dd);
    let mut b = DatasetBuilder::new(false);
    b.add_customer("a", d(1, 1), Some("partner"), Some("pro"), None, None);
    b.add_customer("b", d(3, 1), None, Some("pro"), None, Some("a"));
    b.add_customer("c", d(8, 1), None, None, None, Some("a"));
    b.add_subscription(
        "s1",
        "a",
        "pro",
        d(1, 1),
        None,
        3,
        30_000,
        usd,
        BillingInterval::Month,
        SubscriptionStatus::PastDue,
    );
    b.add_subscription(
        "s2",
        "b",
        "pro",
        d(3, 1),
        Some(d(5, 1)),
        1,
        10_000,
        usd,
        BillingInterval::Month,
        SubscriptionStatus::Canceled,
    );
    for (i, m) in (1..=6).enumerate() {
        b.add_transaction(
            &format!("t{i}"),
            "a",
            d(m, 1),
            30_000,
            Some(6_000),
            usd,
            if m == 1 {
                TransactionKind::New
            } else {
                TransactionKind::Renewal
            },
        );
    }
    b.add_transaction("tb", "b", d(3, 1), 10_000, None, usd, TransactionKind::New);
    let a = CostTarget::Customer(RecordId::new("a").unwrap());
    for (i, day) in [d(3, 1), d(5, 1), d(6, 15), d(7, 2)].iter().enumerate() {
        b.add_cost(
            &format!("k{i}"),
            *day,
            2_500,
            usd,
            CostCategory::Service,
            &a,
        );
    }
    // Usage: 20 actions in the last 28 days, 28 in the 56 before, 99 long before, 50 after.
    b.add_usage("u1", "a", Some("ann"), "core", d(6, 20), 10.0);
    b.add_usage("u2", "a", Some("ann"), "core", d(6, 25), 10.0);
    b.add_usage("u3", "a", Some("bob"), "integrations", d(5, 10), 28.0);
    b.add_usage("u4", "a", Some("ann"), "core", d(1, 5), 99.0);
    b.add_usage("u5", "a", Some("ann"), "core", d(7, 5), 50.0);
    b.add_feedback("f1", "a", d(2, 1), FeedbackKind::Nps, 5);
    b.add_feedback("f2", "a", d(6, 1), FeedbackKind::Nps, 9);
    b.add_feedback("f3", "a", d(6, 2), FeedbackKind::Csat, 2);
    b.add_feedback("f4", "a", d(7, 1), FeedbackKind::Nps, 0);
    let data = b.build(LoadOptions::all()).unwrap();
    let mut cfg = Config::default();
    cfg.usage.value_event = Some("integrations".into());
    cfg.usage.baseline = tenure_act::config::Days(56);
    let as_of = d(6, 30);
    let fs = facts(&data, &Fx::new(usd), as_of, &cfg).unwrap();
    // c was acquired after the day: left out.
    assert_eq!(fs.len(), 2);
    let fa = &fs[0];
    assert_eq!(fa.tenure_days, as_of - d(1, 1));
    assert_eq!(fa.usage, Some((20.0 / 28.0, 28.0 / 56.0)));
    assert!((fa.usage_trend().unwrap() - (20.0 / 28.0 / 0.5 - 1.0)).abs() < 1e-12);
    assert_eq!(fa.first_value, Some(d(5, 10)));
    assert_eq!(fa.nps, Some((9, d(6, 1))));
    // Tickets in the 90 days to 2025-06-30: 05-01 and 06-15 (03-01 is older, 07-02 later).
    assert_eq!(fa.tickets, Some(2));
    assert!(fa.subscribed && fa.past_due);
    assert_eq!(fa.referrals, 1);
    // Six invoices of 300.00 less 60.00 COGS, less 75.00 of service to date, plus 10 % of
    // b's 100.00.
    assert_eq!(fa.realised_profit, 6 * 24_000 - 3 * 2_500 + 1_000);
    assert_eq!(fa.referral_credit, 1_000);
    let fb = &fs[1];
    assert!(!fb.subscribed && !fb.past_due);
    assert_eq!((fb.usage, fb.nps, fb.tickets), (None, None, Some(0)));
    // b's baseline would reach before her acquisition: the first 28 days are the window, the
    // rest of her 121 days the baseline.
    let h = health(fa, &cfg.health, 28, 56);
    assert!(h.score.is_some());
}
