//! Campaign costs in the value ledger (issue 10): each campaign's cost split equally among its
//! touches, in whole minor units, on a hand-made company of three customers and three
//! campaigns — the arithmetic next to each expected value.
#![allow(clippy::unwrap_used)]

use rust_decimal::Decimal;
use tenure_core::{Currency, MinorUnits, TransactionKind};
use tenure_reports::calendar::day_from_ymd;
use tenure_reports::value::{explain, value_report, Figure, ValueConfig};
use tenure_reports::{Fx, GroupBy, Grouping};
use tenure_store::dataset::Day;
use tenure_store::{Dataset, DatasetBuilder, LoadOptions};

fn cur(s: &str) -> Currency {
    Currency::parse(s).unwrap()
}

fn d(m: u32, day: u32) -> Day {
    day_from_ymd(2025, m, day)
}

/// c1, c2, c3 acquired 2025-01-01 with one purchase each. Campaign A costs 100.00 USD and
/// touched c1, c2, c3 on 03-01; campaign B costs 50.00 EUR and touched c1 on 04-05 and 04-02
/// and c3 on 04-01; campaign C costs 10.00 USD, started 06-20 and touched c2 only after the
/// report day.
fn company() -> Dataset {
    let usd = cur("USD");
    let mut b = DatasetBuilder::new(true);
    for id in ["c1", "c2", "c3"] {
        b.add_customer(id, d(1, 1), None, Some("pro"), None, None);
        b.add_transaction(
            &format!("t-{id}"),
            id,
            d(1, 1),
            100_000,
            None,
            usd,
            TransactionKind::New,
        );
    }
    b.add_campaign(
        "A",
        "spring webinar",
        Some("webinar"),
        Some(d(3, 1)),
        MinorUnits::new(10_000, usd),
    );
    b.add_campaign(
        "B",
        "april mail",
        Some("email"),
        Some(d(4, 1)),
        MinorUnits::new(5_000, cur("EUR")),
    );
    b.add_campaign(
        "C",
        "july event",
        None,
        Some(d(6, 20)),
        MinorUnits::new(1_000, usd),
    );
    for (id, m, c, day) in [
        ("a1", "A", "c1", d(3, 1)),
        ("a2", "A", "c2", d(3, 1)),
        ("a3", "A", "c3", d(3, 1)),
        ("b1", "B", "c1", d(4, 5)),
        ("b2", "B", "c1", d(4, 2)),
        ("b3", "B", "c3", d(4, 1)),
        ("x1", "C", "c2", d(7, 15)),
    ] {
        b.add_touch(id, m, c, day, false, false, false);
    }
    b.build(LoadOptions::all()).unwrap()
}

fn cfg() -> ValueConfig {
    let mut cfg = ValueConfig::new(d(6, 30), cur("USD"));
    cfg.fx = Fx::new(cur("USD"))
        .with_rate(cur("EUR"), Decimal::new(110, 2))
        .unwrap();
    cfg
}

#[test]
fn campaign_costs_are_split_equally_over_touches_and_add_up() {
    let data = company();
    let cfg = cfg();
    let r = value_report(&data, &cfg, &Grouping::new(&data, GroupBy::All)).unwrap();
    let cost = |id: &str| r.allocations.campaign_cost_of(data.customer(id).unwrap());
    // A: 100.00 USD = 10 000 cents over 3 touches = 3 333 rem 1; touch order (day, customer):
    //    c1, c2, c3 → 33.34, 33.33, 33.33.
    // B: 50.00 EUR × 1.10 = 55.00 USD = 5 500 cents over 3 touches = 1 833 rem 1; touch order
    //    by day: c3 (04-01) 18.34, c1 (04-02) 18.33, c1 (04-05) 18.33.
    // C: started 06-20, but its only touch (07-15) is after the report day (06-30): its
    //    10.00 stays unallocated.
    // c1 = 33.34 + 18.33 + 18.33 = 70.00; c2 = 33.33; c3 = 33.33 + 18.34 = 51.67.
    assert_eq!(cost("c1"), 7_000);
    assert_eq!(cost("c2"), 3_333);
    assert_eq!(cost("c3"), 5_167);
    let parts = |id: &str| -> Vec<i64> {
        r.allocations
            .campaigns_of(data.customer(id).unwrap())
            .map(|p| p.2)
            .collect()
    };
    assert_eq!(parts("c1"), [3_334, 1_833, 1_833]);
    assert_eq!(parts("c3"), [3_333, 1_834]);
    // The shares add up to the campaigns' (converted) costs: 70.00 + 33.33 + 51.67 = 155.00 =
    // 100.00 + 55.00.
    assert_eq!(cost("c1") + cost("c2") + cost("c3"), 10_000 + 5_500);
    for k in r.allocations.campaigns.iter().filter(|k| k.touches > 0) {
        let sum: i64 = (0..3)
            .flat_map(|c| r.allocations.campaigns_of(c).collect::<Vec<_>>())
            .filter(|p| r.allocations.campaigns[p.0].campaign == k.campaign)
            .map(|p| p.2)
            .sum();
        assert_eq!(sum, k.amount, "campaign {}", data.campaign_id(k.campaign));
    }
    let amounts: Vec<(&str, i64, u32)> = r
        .allocations
        .campaigns
        .iter()
        .map(|k| (data.campaign_id(k.campaign), k.amount, k.touches))
        .collect();
    assert_eq!(
        amounts,
        [("A", 10_000, 3), ("B", 5_500, 3), ("C", 1_000, 0)]
    );
    assert_eq!(r.allocations.unallocated_campaigns(), 1_000);
    // They are retention costs: each customer's allocated retention is her campaign cost (no
    // other retention cost here), and the total is the allocated 155.00.
    for v in &r.customers {
        assert_eq!(
            v.totals.retention_allocated,
            r.allocations.campaign_cost_of(v.customer)
        );
    }
    assert_eq!(r.total.totals.retention(), 15_500);
    assert_eq!(r.total.totals.profit(), 3 * 100_000 - 15_500);
}

#[test]
fn explain_names_each_touch_behind_the_campaign_cost() {
    let data = company();
    let e = explain(&data, &cfg(), "c1").unwrap();
    let items: Vec<(Option<&str>, Day, i64, &str)> = e
        .items
        .iter()
        .filter(|i| i.figure == Figure::RetentionAllocated)
        .map(|i| (i.record.as_deref(), i.day, i.amount, i.note.as_str()))
        .collect();
    assert_eq!(
        items,
        [
            (
                Some("a1"),
                d(3, 1),
                3_334,
                "100.00 of campaign spring webinar (A) split among 3 touches"
            ),
            (
                Some("b2"),
                d(4, 2),
                1_833,
                "55.00 of campaign april mail (B) split among 3 touches"
            ),
            (
                Some("b1"),
                d(4, 5),
                1_833,
                "55.00 of campaign april mail (B) split among 3 touches"
            ),
        ]
    );
    assert!(e
        .items
        .iter()
        .filter(|i| i.figure == Figure::RetentionAllocated)
        .all(|i| i.record_kind == "touch"));
}
