//! The five-customer company of the hand-computed tests (`tests/fixture_*.rs`), built from
//! typed `tenure-core` records. Every amount is in USD unless said otherwise.
//!
//! | customer | acquired | channel | plan | story |
//! |---|---|---|---|---|
//! | A | 2024-01-10 | paid | pro | monthly 100.00 × 2 seats; seat downgrade to 1 seat / 50.00 on 2024-04-10; a 30.00 refund; usage weekly until 2024-04-01, then silent |
//! | B | 2024-01-20 | paid | basic | monthly 30.00; churned 2024-03-20; reactivated 2024-05-05 |
//! | C | 2024-02-03 | referral (by A) | basic | monthly 30.00 started and cancelled in February (refunded); a 200.00 one-off in March |
//! | D | 2024-02-15 | referral (by C) | pro | yearly 1,200.00 × 3 seats; expansion to 4 seats / 1,600.00 on 2024-05-01 (300.00 pro rata) |
//! | E | 2024-03-01 | organic | — | no subscription: one-offs and a change order; one EUR line |
//!
//! Costs: k1 600.00 acquisition on channel `paid` (2024-01); k2 100.01 acquisition on cohort
//! 2024-02; k3 120.00 commission on D; k4 90.00 retention on channel `paid` (2024-04); k5
//! 15.00 service on A; k6 500.00 acquisition on channel `partner` (nobody acquired: unallocated).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use tenure_core::*;
use tenure_reports::calendar::{day_from_ymd, Day};
use tenure_store::{Dataset, DatasetBuilder, LoadOptions};

pub fn day(s: &str) -> Day {
    let t = Timestamp::parse(s).unwrap();
    tenure_store::dataset::day_of(t)
}

pub fn as_of() -> Day {
    day_from_ymd(2024, 6, 30)
}

pub fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn id(s: &str) -> RecordId {
    RecordId::new(s).unwrap()
}

fn money(s: &str, c: &str) -> MinorUnits {
    MinorUnits::parse(s, Currency::parse(c).unwrap()).unwrap()
}

pub struct Co {
    pub b: DatasetBuilder,
    n: u32,
}

impl Co {
    pub fn customer(
        &mut self,
        cid: &str,
        at: &str,
        channel: Option<&str>,
        plan: Option<&str>,
        by: Option<&str>,
    ) {
        self.b.customer(&Customer {
            id: id(cid),
            name: None,
            acquired_at: Timestamp::parse(at).unwrap(),
            channel: channel.map(str::to_string),
            plan: plan.map(str::to_string),
            region: Some("NA".into()),
            referred_by: by.map(id),
            attributes: None,
        });
    }
    pub fn line(&mut self, cid: &str, at: &str, amount: &str, kind: &str, cogs: Option<&str>) {
        self.line_in(cid, at, amount, "USD", kind, cogs);
    }
    pub fn line_in(
        &mut self,
        cid: &str,
        at: &str,
        amount: &str,
        cur: &str,
        kind: &str,
        cogs: Option<&str>,
    ) {
        self.n += 1;
        let t = Transaction {
            id: id(&format!("{cid}-t{}", self.n)),
            customer_id: id(cid),
            date: Timestamp::parse(at).unwrap(),
            amount: money(amount, cur),
            kind: kind.parse().unwrap(),
            cogs: cogs.map(|c| money(c, cur)),
            product: None,
        };
        t.validate().unwrap();
        self.b.transaction(&t);
    }
    #[allow(clippy::too_many_arguments)]
    pub fn sub(
        &mut self,
        sid: &str,
        cid: &str,
        plan: &str,
        start: &str,
        end: Option<&str>,
        seats: u32,
        amount: &str,
        interval: &str,
    ) {
        let s = Subscription {
            id: id(sid),
            customer_id: id(cid),
            plan: plan.into(),
            started_at: Timestamp::parse(start).unwrap(),
            ended_at: end.map(|e| Timestamp::parse(e).unwrap()),
            seats,
            amount: money(amount, "USD"),
            interval: interval.parse().unwrap(),
            status: if end.is_some() {
                SubscriptionStatus::Canceled
            } else {
                SubscriptionStatus::Active
            },
        };
        s.validate().unwrap();
        self.b.subscription(&s);
    }
    pub fn cost(&mut self, kid: &str, at: &str, amount: &str, category: &str, target: CostTarget) {
        self.b.cost(&Cost {
            id: id(kid),
            date: Timestamp::parse(at).unwrap(),
            amount: money(amount, "USD"),
            category: category.parse().unwrap(),
            target,
        });
    }
    pub fn usage(&mut self, cid: &str, user: &str, feature: &str, at: &str, q: i64) {
        let u = UsageEvent {
            id: UsageEvent::derived_id(
                &id(cid),
                Some(user),
                feature,
                Timestamp::parse(at).unwrap(),
            ),
            customer_id: id(cid),
            user: Some(user.into()),
            feature: feature.into(),
            occurred_at: Timestamp::parse(at).unwrap(),
            quantity: Decimal::from(q),
        };
        self.b.usage_event(&u);
    }
}

/// The five-customer company (see the module docs).
pub fn company() -> Co {
    let mut co = Co {
        b: DatasetBuilder::new(true),
        n: 0,
    };
    co.customer("A", "2024-01-10", Some("paid"), Some("pro"), None);
    co.customer("B", "2024-01-20", Some("paid"), Some("basic"), None);
    co.customer(
        "C",
        "2024-02-03",
        Some("referral"),
        Some("basic"),
        Some("A"),
    );
    co.customer("D", "2024-02-15", Some("referral"), Some("pro"), Some("C"));
    co.customer("E", "2024-03-01", Some("organic"), None, None);

    // A: monthly 100.00 for 2 seats, then 1 seat for 50.00 from April 10 (a seat downgrade:
    // one row closes, the next opens the same day).
    co.sub(
        "A1",
        "A",
        "pro",
        "2024-01-10",
        Some("2024-04-10"),
        2,
        "100.00",
        "month",
    );
    co.sub("A2", "A", "pro", "2024-04-10", None, 1, "50.00", "month");
    co.line("A", "2024-01-10", "100.00", "new", Some("20.00"));
    co.line("A", "2024-02-10", "100.00", "renewal", Some("20.00"));
    co.line("A", "2024-02-20", "-30.00", "refund", None);
    co.line("A", "2024-03-10", "100.00", "renewal", Some("20.00"));
    co.line("A", "2024-04-10", "50.00", "renewal", Some("10.00"));
    co.line("A", "2024-05-10", "50.00", "renewal", Some("10.00"));
    co.line("A", "2024-06-10", "50.00", "renewal", Some("10.00"));
    // B: churned March 20, back May 5.
    co.sub(
        "B1",
        "B",
        "basic",
        "2024-01-20",
        Some("2024-03-20"),
        1,
        "30.00",
        "month",
    );
    co.sub("B2", "B", "basic", "2024-05-05", None, 1, "30.00", "month");
    co.line("B", "2024-01-20", "30.00", "new", None);
    co.line("B", "2024-02-20", "30.00", "renewal", None);
    co.line("B", "2024-05-05", "30.00", "new", None);
    co.line("B", "2024-06-05", "30.00", "renewal", None);
    // C: started and cancelled in February, refunded; a one-off in March.
    co.sub(
        "C1",
        "C",
        "basic",
        "2024-02-03",
        Some("2024-02-25"),
        1,
        "30.00",
        "month",
    );
    co.line("C", "2024-02-03", "30.00", "new", None);
    co.line("C", "2024-02-25", "-30.00", "refund", None);
    co.line("C", "2024-03-15", "200.00", "one_off", Some("140.00"));
    // D: yearly, 3 → 4 seats on May 1.
    co.sub(
        "D1",
        "D",
        "pro",
        "2024-02-15",
        Some("2024-05-01"),
        3,
        "1200.00",
        "year",
    );
    co.sub("D2", "D", "pro", "2024-05-01", None, 4, "1600.00", "year");
    co.line("D", "2024-02-15", "1200.00", "new", Some("240.00"));
    co.line("D", "2024-05-01", "300.00", "expansion", None);
    // E: purchases only.
    co.line("E", "2024-03-01", "50.00", "one_off", None);
    co.line("E", "2024-04-15", "80.00", "one_off", None);
    co.line("E", "2024-05-02", "20.00", "change_order", None);
    co.line_in("E", "2024-06-01", "10.00", "EUR", "one_off", None);

    co.cost(
        "k1",
        "2024-01-01",
        "600.00",
        "acquisition",
        CostTarget::Channel("paid".into()),
    );
    co.cost(
        "k2",
        "2024-02-01",
        "100.01",
        "acquisition",
        CostTarget::Cohort(Cohort::parse("2024-02").unwrap()),
    );
    co.cost(
        "k3",
        "2024-02-15",
        "120.00",
        "acquisition",
        CostTarget::Customer(id("D")),
    );
    co.cost(
        "k4",
        "2024-04-01",
        "90.00",
        "retention",
        CostTarget::Channel("paid".into()),
    );
    co.cost(
        "k5",
        "2024-05-12",
        "15.00",
        "service",
        CostTarget::Customer(id("A")),
    );
    co.cost(
        "k6",
        "2024-03-01",
        "500.00",
        "acquisition",
        CostTarget::Channel("partner".into()),
    );
    // After as_of: ignored everywhere.
    co.cost(
        "k7",
        "2024-07-01",
        "999.00",
        "retention",
        CostTarget::Customer(id("A")),
    );
    co.line("A", "2024-07-10", "50.00", "renewal", Some("10.00"));

    // Usage: A weekly (Mondays) from Jan 15 to Apr 1, then nothing.
    for d in [
        "2024-01-15",
        "2024-01-22",
        "2024-01-29",
        "2024-02-05",
        "2024-02-12",
        "2024-02-19",
        "2024-02-26",
        "2024-03-04",
        "2024-03-11",
        "2024-03-18",
        "2024-03-25",
        "2024-04-01",
    ] {
        co.usage("A", "u1", "core", d, 3);
    }
    co.usage("B", "u1", "core", "2024-05-13", 2);
    co.usage("B", "u1", "core", "2024-06-10", 4);
    co.usage("B", "u1", "reports", "2024-06-17", 1);
    co.usage("D", "u1", "core", "2024-02-19", 1);
    co.usage("D", "u1", "reports", "2024-03-18", 1);
    co.usage("D", "u1", "core", "2024-06-24", 5);
    co.usage("D", "u2", "api", "2024-06-25", 10);
    co
}

pub fn data() -> Dataset {
    company().b.build(LoadOptions::all()).unwrap()
}

/// Dollars and cents as minor units: `c(1_234, 50)` = 123450.
pub fn c(dollars: i64, cents: i64) -> i64 {
    dollars * 100 + if dollars < 0 { -cents } else { cents }
}
