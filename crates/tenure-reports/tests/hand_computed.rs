//! Every report on the five-customer company of `common/mod.rs`, checked against figures
//! computed by hand — the arithmetic is written next to each expected value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rust_decimal::Decimal;
use tenure_core::{Currency, TransactionKind};
use tenure_reports::calendar::{day_from_ymd, Interval, Month};
use tenure_reports::retention::{cohort_report, retention_report};
use tenure_reports::status::{statuses, Status, StatusConfig};
use tenure_reports::survival::{survival_report, Spells};
use tenure_reports::usage::{usage_report, UsageConfig};
use tenure_reports::value::{conduit, explain, value_report, Figure, ValueConfig};
use tenure_reports::{mrr_report, Fx, GroupBy, Grouping};

fn cfg() -> ValueConfig {
    ValueConfig::new(as_of(), usd())
}

fn rev(f: &tenure_reports::value::Figures, k: TransactionKind) -> i64 {
    f.revenue[conduit(k)]
}

#[test]
fn value_ledger_per_customer() {
    let d = data();
    let r = value_report(&d, &cfg(), &Grouping::new(&d, GroupBy::All)).unwrap();
    let v = |id: &str| {
        r.customers
            .iter()
            .find(|v| d.customer_id(v.customer) == id)
            .unwrap()
    };

    // A: new 100.00; renewals 100 + 100 + 50 + 50 + 50 = 350.00 (July's is after as_of);
    // refund −30.00; net 100 + 350 − 30 = 420.00. COGS 20 + 20 + 20 + 10 + 10 + 10 = 90.00.
    // Referral credit from C (whom she referred): 10 % × C's net revenue per month —
    // February 30 − 30 = 0 → 0, March 200.00 → 20.00; not from D (C's referral: one level).
    // Acquisition: k1 600.00 on `paid` in January split between A and B = 300.00.
    // Retention: k4 90.00 on `paid` in April; B was not subscribed in April → all to A.
    // Service: k5 15.00. Profit = 420 + 20 − 90 − 300 − 90 − 15 = −55.00.
    let a = v("A");
    assert_eq!(rev(&a.totals, TransactionKind::New), c(100, 0));
    assert_eq!(rev(&a.totals, TransactionKind::Renewal), c(350, 0));
    assert_eq!(rev(&a.totals, TransactionKind::Refund), c(-30, 0));
    assert_eq!(a.totals.net_revenue(), c(420, 0));
    assert_eq!(a.totals.cogs, c(90, 0));
    assert_eq!(a.totals.referral_credit, c(20, 0));
    assert_eq!(a.totals.acquisition_allocated, c(300, 0));
    assert_eq!(a.totals.retention_allocated, c(90, 0));
    assert_eq!(a.totals.service_direct, c(15, 0));
    assert_eq!(a.totals.profit(), c(-55, 0));
    assert_eq!(a.totals.own_profit(), c(-75, 0));
    // Cumulative profit: Jan 100 − 20 − 300 = −220; Feb +100 − 30 − 20 → −170; Mar +100 − 20
    // + 20 → −70; Apr +50 − 10 − 90 → −120; May +50 − 10 − 15 → −95; Jun +50 − 10 → −55.
    // Never ≥ 0: no breakeven. Contribution to date: 80, 130, 210, 250, 290, 330 against CAC
    // 300: paid back in June, the 6th month.
    assert_eq!(a.breakeven, None);
    assert_eq!(a.cac_payback_months, Some(6));
    assert_eq!(a.months, 6);

    // B: new 30 (Jan) + 30 (May, the reactivation's first invoice) = 60; renewals 30 + 30 = 60;
    // net 120.00; acquisition 300.00; no share of k4 (not subscribed in April).
    // Profit 120 − 300 = −180.00; contribution 120 < 300: not paid back.
    let b = v("B");
    assert_eq!(rev(&b.totals, TransactionKind::New), c(60, 0));
    assert_eq!(b.totals.net_revenue(), c(120, 0));
    assert_eq!(b.totals.retention(), 0);
    assert_eq!(b.totals.profit(), c(-180, 0));
    assert_eq!((b.breakeven, b.cac_payback_months), (None, None));

    // C: 30 − 30 (same-month start, cancel, refund) + 200 one-off = 200.00 net; COGS 140.00.
    // Referral credit from D: 10 % × 1,200.00 (Feb) + 10 % × 300.00 (May) = 150.00.
    // k2 100.01 on cohort 2024-02 split between C and D: C (first by id) 50.01, D 50.00.
    // Profit 200 − 140 + 150 − 50.01 = 159.99. February: 30 − 30 + 120 − 50.01 = 69.99 ≥ 0:
    // breakeven in her first month. Contribution: Feb 0 < 50.01, Mar 60 ≥ 50.01: payback 2.
    let cc = v("C");
    assert_eq!(cc.totals.net_revenue(), c(200, 0));
    assert_eq!(rev(&cc.totals, TransactionKind::OneOff), c(200, 0));
    assert_eq!(cc.totals.referral_credit, c(150, 0));
    assert_eq!(cc.totals.acquisition_allocated, c(50, 1));
    assert_eq!(cc.totals.profit(), c(159, 99));
    assert_eq!(cc.breakeven, Some(Month::new(2024, 2)));
    assert_eq!(cc.breakeven_after_months, Some(1));
    assert_eq!(cc.cac_payback_months, Some(2));

    // D: new 1,200 + expansion 300 = 1,500.00; COGS 240.00; acquisition 120.00 direct
    // (commission) + 50.00 allocated. Profit 1,500 − 240 − 170 = 1,090.00; February alone
    // 1,200 − 240 − 170 = 790 ≥ 0.
    let dd = v("D");
    assert_eq!(rev(&dd.totals, TransactionKind::Expansion), c(300, 0));
    assert_eq!(dd.totals.acquisition_direct, c(120, 0));
    assert_eq!(dd.totals.acquisition_allocated, c(50, 0));
    assert_eq!(dd.totals.profit(), c(1090, 0));
    assert_eq!(
        (dd.breakeven_after_months, dd.cac_payback_months),
        (Some(1), Some(1))
    );

    // E: one-offs 50 + 80 = 130, change order 20: 150.00; the EUR line has no rate: left out
    // and counted. No cost: breakeven and payback in her first month.
    let e = v("E");
    assert_eq!(rev(&e.totals, TransactionKind::OneOff), c(130, 0));
    assert_eq!(rev(&e.totals, TransactionKind::ChangeOrder), c(20, 0));
    assert_eq!(e.totals.profit(), c(150, 0));
    assert_eq!(
        (e.breakeven_after_months, e.cac_payback_months),
        (Some(1), Some(1))
    );
    assert_eq!(r.excluded.transactions, 1);
    assert_eq!(r.excluded.currencies, [Currency::parse("EUR").unwrap()]);

    // Company: net revenue 420 + 120 + 200 + 1,500 + 150 = 2,390.00; allocated costs add up
    // to their records: k1 300 + 300, k2 50.01 + 50.00, k4 90; k6 500.00 found nobody.
    assert_eq!(r.total.totals.net_revenue(), c(2390, 0));
    assert_eq!(r.total.totals.acquisition_allocated, c(600, 0) + c(100, 1));
    assert_eq!(r.allocations.unallocated(), c(500, 0));
    assert_eq!(r.total.customers, 5);
    // Broken even: C, D, E. Paid back: A (6), C (2), D (1), E (1): median of [1, 1, 2, 6] = 1.
    assert_eq!(r.total.broken_even, 3);
    assert_eq!(r.total.paid_back, 4);
    assert_eq!(r.total.median_payback_months, Some(1));
    // Month 1 of every customer's life: A −220, B 30 − 300 = −270, C 69.99, D 790, E 50.
    let m1 = r.total.by_age[0];
    assert_eq!((m1.month_number, m1.customers), (1, 5));
    assert_eq!(
        m1.cumulative_profit,
        c(-220, 0) + c(-270, 0) + c(69, 99) + c(790, 0) + c(50, 0)
    );
}

#[test]
fn value_rolls_up_by_channel_and_cohort() {
    let d = data();
    let r = value_report(&d, &cfg(), &Grouping::new(&d, GroupBy::Channel)).unwrap();
    let labels: Vec<&str> = r.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, ["organic", "paid", "referral"]);
    // paid = A + B: CAC (600.00) / 2 customers = 300.00 each; profit −55 − 180 = −235.00.
    let paid = &r.groups[1];
    assert_eq!(paid.customers, 2);
    assert_eq!(paid.totals.acquisition(), c(600, 0));
    assert_eq!(paid.totals.profit(), c(-235, 0));
    // referral = C + D: acquisition 50.01 + 50 + 120 = 220.01.
    assert_eq!(r.groups[2].totals.acquisition(), c(220, 1));
    let r = value_report(
        &d,
        &cfg(),
        &Grouping::new(&d, GroupBy::Cohort(Interval::Quarter)),
    )
    .unwrap();
    assert_eq!(r.groups.len(), 1);
    assert_eq!(r.groups[0].label, "2024-Q1");
    // A custom key (issue 5's segments plug in this way): one label per customer.
    let seg = Grouping::custom(
        "segment",
        vec![
            Some("key".into()),
            None,
            None,
            Some("key".into()),
            Some("general".into()),
        ],
    );
    let r = value_report(&d, &cfg(), &seg).unwrap();
    assert_eq!(r.groups[1].label, "key");
    assert_eq!(r.groups[1].totals.profit(), c(-55, 0) + c(1090, 0));
    assert_eq!(
        r.total.customers, 5,
        "ungrouped customers still count in the total"
    );
}

#[test]
fn referral_share_and_exchange_rates_are_settings() {
    let d = data();
    let mut k = cfg();
    k.referral_share = Decimal::new(25, 2);
    k.fx = Fx::new(usd())
        .with_rate(Currency::parse("EUR").unwrap(), Decimal::new(110, 2))
        .unwrap();
    let r = value_report(&d, &k, &Grouping::new(&d, GroupBy::All)).unwrap();
    let v = |id: &str| {
        r.customers
            .iter()
            .find(|v| d.customer_id(v.customer) == id)
            .unwrap()
    };
    // A: 25 % × 200.00 = 50.00. C: 25 % × (1,200 + 300) = 375.00.
    assert_eq!(v("A").totals.referral_credit, c(50, 0));
    assert_eq!(v("C").totals.referral_credit, c(375, 0));
    // E's 10.00 EUR × 1.10 = 11.00 USD.
    assert_eq!(rev(&v("E").totals, TransactionKind::OneOff), c(141, 0));
    assert!(r.excluded.is_empty());
    k.referral_share = Decimal::new(15, 1);
    assert!(value_report(&d, &k, &Grouping::new(&d, GroupBy::All)).is_err());
}

#[test]
fn explain_lists_the_records_of_every_figure() {
    let d = data();
    let x = explain(&d, &cfg(), "A").unwrap();
    let of = |f: Figure| -> Vec<(Option<&str>, i64)> {
        x.items
            .iter()
            .filter(|i| i.figure == f)
            .map(|i| (i.record.as_deref(), i.amount))
            .collect()
    };
    assert_eq!(
        of(Figure::Revenue(TransactionKind::Refund)),
        [(Some("A-t3"), c(-30, 0))]
    );
    assert_eq!(of(Figure::Revenue(TransactionKind::Renewal)).len(), 5);
    assert_eq!(of(Figure::AcquisitionAllocated), [(Some("k1"), c(300, 0))]);
    assert_eq!(of(Figure::RetentionAllocated), [(Some("k4"), c(90, 0))]);
    assert_eq!(of(Figure::ServiceDirect), [(Some("k5"), c(15, 0))]);
    // The referral credit names the referred customer.
    assert_eq!(of(Figure::ReferralCredit), [(Some("C"), c(20, 0))]);
    // Every figure is the sum of its items, month by month.
    for m in &x.months {
        let sum: i64 = x
            .items
            .iter()
            .filter(|i| i.month == m.month)
            .map(|i| match i.figure {
                Figure::Revenue(_) | Figure::ReferralCredit => i.amount,
                _ => -i.amount,
            })
            .sum();
        assert_eq!(sum, m.figures.profit(), "{}", m.month);
    }
    assert_eq!(x.months.last().unwrap().cumulative_profit, c(-55, 0));
    assert!(explain(&d, &cfg(), "nobody").is_err());
}

#[test]
fn mrr_movements_month_by_month() {
    let d = data();
    let r = mrr_report(
        &d,
        &Fx::new(usd()),
        as_of(),
        &Grouping::new(&d, GroupBy::All),
    );
    // MRR in twelfths of a cent: a monthly 100.00 is 10,000 × 12; a yearly 1,200.00 is
    // 120,000 × 1 (= 100.00 a month); 1,600.00 a year = 160,000 (133.33⅓ a month).
    let m = |x: i64| x * 100 * 12; // whole dollars a month → twelfths
    let rows = &r.total.months;
    assert_eq!(rows.len(), 6, "January to June 2024");
    // Jan: A new 100, B new 30 → 130.
    assert_eq!(
        (rows[0].new, rows[0].closing, rows[0].new_customers),
        (m(130), m(130), 2)
    );
    // Feb: C starts and cancels (new 30 and churn 30); D new 100/month → 230.
    assert_eq!(
        (rows[1].new, rows[1].churn, rows[1].closing),
        (m(130), m(30), m(230))
    );
    assert_eq!((rows[1].new_customers, rows[1].churned_customers), (2, 1));
    // Mar: B's subscription ends March 20 (churn at period end) → 200.
    assert_eq!((rows[2].churn, rows[2].closing), (m(30), m(200)));
    // Apr: A 2 seats → 1 seat: contraction 50, not churn + new → 150.
    assert_eq!(
        (rows[3].contraction, rows[3].churn, rows[3].new),
        (m(50), 0, 0)
    );
    assert_eq!(rows[3].closing, m(150));
    // May: B reactivates (30); D expands to 1,600.00 a year: 160,000 − 120,000 = 40,000
    // twelfths (33.33⅓ a month). Closing 50 + 30 + 133.33⅓.
    assert_eq!(
        (rows[4].reactivation, rows[4].reactivated_customers),
        (m(30), 1)
    );
    assert_eq!(rows[4].expansion, 40_000);
    assert_eq!(rows[4].closing, m(80) + 160_000);
    // Jun: nothing moves. ARR = 12 × MRR = 256,000 cents = 2,560.00; ARPA = 2,133.33⅓ cents
    // per customer (A, B, D) = 256,000 / 3 twelfths → 85,333 (rounded).
    assert_eq!(rows[5].closing, rows[4].closing);
    assert_eq!(rows[5].arr_minor(), 256_000);
    assert_eq!(rows[5].customers_closing, 3);
    assert_eq!(rows[5].arpa(), Some(85_333));
    assert_eq!(rows[5].seats_closing, 1 + 1 + 4);
    for row in rows {
        assert_eq!(row.imbalance(), 0);
    }
    // By plan: basic = B and C.
    let r = mrr_report(
        &d,
        &Fx::new(usd()),
        as_of(),
        &Grouping::new(&d, GroupBy::Plan),
    );
    let basic = r.groups.iter().find(|g| g.label == "basic").unwrap();
    assert_eq!(basic.months[1].new, m(30));
    assert_eq!(basic.months[5].closing, m(30));
}

#[test]
fn cohort_retention_heatmaps() {
    let d = data();
    let r = cohort_report(
        &d,
        &Fx::new(usd()),
        as_of(),
        Interval::Month,
        &Grouping::new(&d, GroupBy::All),
    )
    .unwrap();
    let labels: Vec<String> = r.total.iter().map(|c| c.cohort.to_string()).collect();
    assert_eq!(labels, ["2024-01", "2024-02", "2024-03"]);
    // January: A (start 100.00, 2 seats) and B (30.00, 1 seat): base 130.00, 3 seats.
    let jan = &r.total[0];
    assert_eq!(
        (jan.customers, jan.starting_mrr, jan.starting_seats),
        (2, 130 * 1200, 3)
    );
    assert_eq!(jan.cells.len(), 6, "periods 0..5 have ended by June 30");
    assert_eq!(jan.logo(0), Some(1.0));
    // End of March: B gone → 1 of 2; NRR 100/130.
    assert_eq!(jan.logo(2), Some(0.5));
    assert_eq!(jan.nrr(2), Some(100.0 / 130.0));
    // End of April: A at 50 → NRR = GRR = 50/130; seats 1/3.
    assert_eq!(jan.nrr(3), Some(50.0 / 130.0));
    assert_eq!(jan.grr(3), Some(50.0 / 130.0));
    assert_eq!(jan.seats(3), Some(1.0 / 3.0));
    // End of May: B back → 2 of 2; NRR 80/130; seats 2/3.
    assert_eq!(jan.logo(4), Some(1.0));
    assert_eq!(jan.nrr(4), Some(80.0 / 130.0));
    // February: C (30, same-month cancel) and D (100.00 a month, 3 seats): base 130.
    let feb = &r.total[1];
    assert_eq!(feb.cells.len(), 5);
    // End of February: C already gone → 1 of 2, NRR 100/130, seats 3/4.
    assert_eq!(feb.logo(0), Some(0.5));
    assert_eq!(feb.nrr(0), Some(100.0 / 130.0));
    assert_eq!(feb.seats(0), Some(0.75));
    // End of May: D at 133.33⅓ → NRR (160,000 twelfths) / (130 × 1,200) > 1; GRR caps D at
    // her start: 100/130; seats 4/4.
    assert_eq!(feb.nrr(3), Some(160_000.0 / 156_000.0));
    assert_eq!(feb.grr(3), Some(100.0 / 130.0));
    assert_eq!(feb.seats(3), Some(1.0));
    // March: E buys in March, April, May (a change order) and June (in EUR: being active
    // needs no exchange rate); a customer without subscriptions is retained in a period
    // with a purchase.
    let mar = &r.total[2];
    assert_eq!((mar.customers, mar.subscribers), (1, 0));
    let logos: Vec<Option<f64>> = (0..4).map(|k| mar.logo(k)).collect();
    assert_eq!(logos, [Some(1.0), Some(1.0), Some(1.0), Some(1.0)]);
    // Had she not bought in June, June would not retain her.
    let later = cohort_report(
        &d,
        &Fx::new(usd()),
        day_from_ymd(2024, 7, 31),
        Interval::Month,
        &Grouping::new(&d, GroupBy::All),
    )
    .unwrap();
    assert_eq!(later.total[2].logo(4), Some(0.0));
    assert_eq!(mar.nrr(0), None, "no revenue base without subscriptions");
    // Quarterly: one cohort, Q1, with period 0 (ends March 31) and 1 (June 30).
    let q = cohort_report(
        &d,
        &Fx::new(usd()),
        as_of(),
        Interval::Quarter,
        &Grouping::new(&d, GroupBy::All),
    )
    .unwrap();
    assert_eq!(q.total.len(), 1);
    let q1 = &q.total[0];
    assert_eq!(q1.cells.len(), 2);
    // March 31: A, D paying; E bought in Q1; B and C not → 3 of 5.
    assert_eq!(q1.logo(0), Some(0.6));
    // June 30: A, B, D paying; E bought in Q2 → 4 of 5.
    assert_eq!(q1.logo(1), Some(0.8));
}

#[test]
fn trailing_retention_summary() {
    let d = data();
    let r = retention_report(
        &d,
        &Fx::new(usd()),
        as_of(),
        3,
        &Grouping::new(&d, GroupBy::All),
    )
    .unwrap();
    // Window from March 30: paying then are A (100) and D (100); B left March 20.
    assert_eq!(r.window_start, day_from_ymd(2024, 3, 30));
    let t = &r.total;
    assert_eq!((t.customers_start, t.customers_retained), (2, 2));
    // NRR (50 + 133.33⅓) / 200; GRR (50 + 100) / 200 = 0.75; seats (1 + 4) / (2 + 3) = 1.
    assert_eq!(t.nrr(), Some((60_000.0 + 160_000.0) / 240_000.0));
    assert_eq!(t.grr(), Some(0.75));
    assert_eq!(t.seats(), Some(1.0));
    assert_eq!(t.logo(), Some(1.0));
}

#[test]
fn kaplan_meier_of_subscription_tenure() {
    let d = data();
    let r = survival_report(
        &d,
        as_of(),
        Spells::First,
        &Grouping::new(&d, GroupBy::All),
        0.95,
    )
    .unwrap();
    let km = &r.total.km;
    // First subscriptions: C 22 days (Feb 3 → 25, churned), B 60 days (Jan 20 → Mar 20,
    // churned), D 137 days (Feb 15 → Jul 1, censored), A 173 days (Jan 10 → Jul 1, censored;
    // the seat change does not end the chain).
    let pts: Vec<(u32, u64, u64, u64)> = km
        .points
        .iter()
        .map(|p| (p.time, p.at_risk, p.events, p.censored))
        .collect();
    assert_eq!(
        pts,
        [
            (0, 4, 0, 0),
            (22, 4, 1, 0),
            (60, 3, 1, 0),
            (137, 2, 0, 1),
            (173, 1, 0, 1)
        ]
    );
    // S(22) = 3/4; S(60) = 3/4 × 2/3 = 1/2: the median is 60 days.
    assert!((km.survival_at(30) - 0.75).abs() < 1e-15);
    assert!((km.survival_at(60) - 0.5).abs() < 1e-15);
    assert_eq!(km.median, Some(60));
    // Every subscription: B's second one (May 5 → Jul 1, 57 days, censored) too.
    let r = survival_report(
        &d,
        as_of(),
        Spells::All,
        &Grouping::new(&d, GroupBy::All),
        0.95,
    )
    .unwrap();
    assert_eq!(r.total.km.observations, 5);
    assert_eq!(
        r.total.km.points[1],
        tenure_reports::KmPoint {
            time: 22,
            at_risk: 5,
            events: 1,
            censored: 0,
            ..r.total.km.points[1]
        }
    );
}

#[test]
fn customer_status_is_derived() {
    let d = data();
    let s = statuses(&d, &Fx::new(usd()), as_of(), None, &StatusConfig::default());
    let st = |id: &str| s[d.customer(id).unwrap() as usize].status;
    // A pays, but used the product weekly (λ = 11 usage days over 77 days = 1/7 a day) and
    // not for the 90 days since April 1: P = e^(−90/7) ≈ 2.6e-6 < 5 % → inactive.
    assert_eq!(st("A"), Status::Inactive);
    // B pays again after a churn.
    assert_eq!(st("B"), Status::Reactivated);
    // C has no subscription left.
    assert_eq!(st("C"), Status::Churned);
    // D: usage days Feb 19, Mar 18, Jun 24, Jun 25: λ = 3/127; 5 days of silence: P ≈ 0.89.
    assert_eq!(st("D"), Status::Active);
    // E buys (Mar 1, Apr 15, May 2: λ = 2/62 a day); 59 days since: P = e^(−118/62) ≈ 0.15.
    assert_eq!(st("E"), Status::Active);
    // A year later E's silence is beyond her pattern.
    let later = statuses(
        &d,
        &Fx::new(usd()),
        day_from_ymd(2024, 12, 31),
        None,
        &StatusConfig::default(),
    );
    assert_eq!(
        later[d.customer("E").unwrap() as usize].status,
        Status::Inactive
    );
}

#[test]
fn usage_value_index_adoption_and_time_to_first_value() {
    let d = data();
    let mut k = UsageConfig::new(as_of());
    k.weights = vec![("reports".into(), 2.0), ("api".into(), 0.5)];
    k.value_event = Some(("reports".into(), 1.0));
    let r = usage_report(&d, &k, &Grouping::new(&d, GroupBy::All)).unwrap();
    let u = |id: &str| r.customers[d.customer(id).unwrap() as usize].clone();
    // Window June 3–30. D: core 5 × 1 + api 10 × 0.5 = 10; B: core 4 × 1 + reports 1 × 2 = 6.
    // Median of (10, 6) = 8 → D 125, B 75. B's previous window (May 6 – June 2): core 2 → 25.
    assert_eq!(r.normaliser, Some(8.0));
    assert_eq!(u("D").index, Some(125.0));
    assert_eq!(u("B").index, Some(75.0));
    assert_eq!(u("B").index_previous, Some(25.0));
    assert_eq!(u("A").index, Some(0.0));
    // Catalogue: api, core, reports. D used core and api: 2/3; B core and reports; B's
    // previous window only core: 1/3.
    assert_eq!(r.features, ["api", "core", "reports"]);
    assert_eq!(u("D").breadth, 2.0 / 3.0);
    assert_eq!(u("B").breadth_previous, 1.0 / 3.0);
    // Depth: D 15 actions / (2 users × 4 weeks) = 1.875; B 5 / (1 × 4) = 1.25.
    assert_eq!(u("D").depth, Some(1.875));
    assert_eq!(u("B").depth, Some(1.25));
    // Time to first value (first `reports`): D Feb 15 → Mar 18 = 32 days; B Jan 20 → Jun 17
    // = 149 days; A never.
    assert_eq!(u("D").time_to_first_value_days, Some(32));
    assert_eq!(u("B").time_to_first_value_days, Some(149));
    assert_eq!(u("A").time_to_first_value_days, None);
    assert_eq!(r.total.reached_value, 2);
    assert_eq!(r.total.median_time_to_first_value_days, Some(32));
}

#[test]
fn reports_refuse_kinds_that_were_not_loaded() {
    let mut co = company();
    co.b = std::mem::take(&mut co.b);
    let d =
        co.b.build(tenure_store::LoadOptions {
            subscriptions: true,
            ..tenure_store::LoadOptions::customers_only()
        })
        .unwrap();
    assert!(value_report(&d, &cfg(), &Grouping::new(&d, GroupBy::All)).is_err());
    assert!(usage_report(
        &d,
        &UsageConfig::new(as_of()),
        &Grouping::new(&d, GroupBy::All)
    )
    .is_err());
    assert!(cohort_report(
        &d,
        &Fx::new(usd()),
        as_of(),
        Interval::Month,
        &Grouping::new(&d, GroupBy::All)
    )
    .is_ok());
}

#[test]
fn predicted_value_states_its_method() {
    use tenure_reports::predict::{predict, Method, PredictConfig};
    let d = data();
    let value = value_report(&d, &cfg(), &Grouping::new(&d, GroupBy::All)).unwrap();
    let p = predict(&d, &Fx::new(usd()), &value, &PredictConfig::default());
    let of = |id: &str| {
        p.customers
            .iter()
            .find(|x| d.customer_id(x.customer) == id)
            .unwrap()
    };
    // C has no subscription left: no future profit, said so.
    assert_eq!(of("C").method, Method::Churned);
    assert_eq!(of("C").future_profit, Some(0));
    // E only buys, and one buyer is too few for BG/NBD + Gamma-Gamma: no prediction, and why.
    assert!(
        matches!(&of("E").method, Method::None(r) if r.contains("BG/NBD")),
        "{:?}",
        of("E").method
    );
    assert_eq!(of("E").future_profit, None);
    // pro/month has only A, who has not churned: that sBG cannot be fitted, so A is valued
    // with the fit of every monthly first subscription (A censored after 5 renewals, B churned
    // in period 2, C in period 1) — `pooled`.
    let a = of("A");
    let Method::Sbg {
        params,
        pooled,
        renewals,
        discount,
        ..
    } = a.method.clone()
    else {
        panic!("{:?}", a.method)
    };
    assert!(pooled);
    // Jan 10 → Jun 30: 5 whole months: 5 renewals; d = 1 %/month.
    assert_eq!(renewals, 5);
    assert!((discount - 0.01).abs() < 1e-15);
    // Future profit = DERL(d | 5 renewals) × (50.00 a month × margin − cost to serve a month):
    // margin = (420 − 90) / 420; cost = (90 retention + 15 service) / 6 months = 17.50.
    let derl = params.derl(0.01, 6).unwrap();
    let per_period = 5000.0 * (33000.0 / 42000.0) - 10500.0 / 6.0;
    assert_eq!(a.future_profit, Some((derl * per_period).round() as i64));
    assert_eq!(a.p_alive, Some(params.retention(6)));
    assert!(
        a.method.describe().starts_with("sBG(all plans, month;"),
        "{}",
        a.method.describe()
    );
    // D (yearly) is the only yearly subscriber and has not churned: no sBG for years at all.
    assert!(
        matches!(&of("D").method, Method::None(_)),
        "{:?}",
        of("D").method
    );
}
