//! `Store::load` reads every record kind back into a `Dataset`, the same on both backends:
//! customers in id order, days in UTC, money in minor units, ids only when asked, and the
//! `only` filter restricting per-customer rows but not customers or shared costs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use tenure_core::{
    BillingInterval, CostCategory, FeedbackKind, SubscriptionStatus, TransactionKind,
};
use tenure_store::dataset::{day_from_ymd, CostTargetRow, PerCustomer};
use tenure_store::{LoadOptions, RecordKind, Store};

const CUSTOMERS: &str = "\
id,acquired_at,channel,plan,region,referred_by
c2,2024-01-16T23:30:00-02:00,referral,pro,EU,c10
c10,2024-01-15,paid_search,starter,NA,
c1,2024-01-01,paid_search,,,
";
const TRANSACTIONS: &str = "\
id,customer_id,date,amount,currency,kind,cogs
t1,c10,2024-01-15,120.05,USD,new,24.01
t2,c10,2024-02-15,-50.00,USD,refund,
t3,c2,2024-02-01 10:00:00.123456,150000,JPY,renewal,
";
const SUBSCRIPTIONS: &str = "\
id,customer_id,plan,started_at,ended_at,seats,amount,currency,interval,status
s1,c10,starter,2024-01-15,2024-03-15,3,45.00,USD,month,canceled
s2,c2,pro,2024-01-17,,12,4800.00,USD,year,active
";
const COSTS: &str = "\
id,date,amount,currency,category,customer_id,channel,cohort
k1,2024-01-01,900.00,USD,acquisition,,paid_search,
k2,2024-01-01,500.00,USD,acquisition,,,2024-01
k3,2024-01-20,25.50,USD,service,c10,,
";
const USAGE: &str = "\
customer_id,user,feature,occurred_at,quantity
c10,u1,core,2024-01-22,12
c10,,reports,2024-01-29,2.5
c2,u1,core,2024-01-22,3
";
const FEEDBACK: &str = "\
customer_id,occurred_at,kind,score
c2,2024-04-01,nps,9
c10,2024-02-01,csat,2
";

fn fill(env: &Env, store: &mut dyn Store) {
    for (kind, name, text) in [
        (RecordKind::Customers, "c.csv", CUSTOMERS),
        (RecordKind::Transactions, "t.csv", TRANSACTIONS),
        (RecordKind::Subscriptions, "s.csv", SUBSCRIPTIONS),
        (RecordKind::Costs, "k.csv", COSTS),
        (RecordKind::Usage, "u.csv", USAGE),
        (RecordKind::Feedback, "f.csv", FEEDBACK),
    ] {
        import(store, kind, &env.file(name, text)).unwrap();
    }
}

fn every_kind_loads(env: &Env, store: &mut dyn Store) {
    fill(env, store);
    let d = store.load(&LoadOptions::all()).unwrap();
    // Byte order of ids: c1 < c10 < c2.
    assert_eq!(d.customer_ids, ["c1", "c10", "c2"]);
    let (c1, c10, c2) = (0, 1, 2);
    assert_eq!(d.customer("c2"), Some(c2));
    // c2 was acquired at 2024-01-17T01:30Z: dated in UTC.
    assert_eq!(d.customers[c2 as usize].acquired, day_from_ymd(2024, 1, 17));
    assert_eq!(d.customers[c2 as usize].referred_by, Some(c10));
    assert_eq!(d.customers[c1 as usize].plan, None);
    let name = |id: Option<u32>| id.map(|i| d.name(i).to_string());
    assert_eq!(
        name(d.customers[c10 as usize].channel).as_deref(),
        Some("paid_search")
    );
    assert_eq!(name(d.customers[c2 as usize].region).as_deref(), Some("EU"));

    let t = d.transactions_of(c10);
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].day, t[0].amount, t[0].cogs),
        (day_from_ymd(2024, 1, 15), 12005, Some(2401))
    );
    assert_eq!(
        (t[1].amount, t[1].cogs, t[1].kind),
        (-5000, None, TransactionKind::Refund)
    );
    let t = d.transactions_of(c2);
    assert_eq!((t[0].amount, t[0].currency.code()), (150000, "JPY"));
    assert!(d.transactions_of(c1).is_empty());

    let s = d.subscriptions_of(c10);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].end, Some(day_from_ymd(2024, 3, 15)));
    assert_eq!((s[0].seats, s[0].amount), (3, 4500));
    assert_eq!(
        (s[0].interval, s[0].status),
        (BillingInterval::Month, SubscriptionStatus::Canceled)
    );
    let s = d.subscriptions_of(c2);
    assert_eq!((s[0].end, s[0].interval), (None, BillingInterval::Year));
    assert_eq!(d.name(s[0].plan), "pro");

    let k = d.costs_of(c10);
    assert_eq!(k.len(), 1);
    assert_eq!((k[0].amount, k[0].category), (2550, CostCategory::Service));
    let shared = d.shared_costs();
    assert_eq!(shared.len(), 2);
    assert!(shared.iter().any(
        |k| matches!(k.target, CostTargetRow::Channel(ch) if d.name(ch) == "paid_search")
            && k.amount == 90000
    ));
    assert!(shared.iter().any(
        |k| matches!(k.target, CostTargetRow::Cohort(m) if m.to_string() == "2024-01")
            && k.amount == 50000
    ));

    let u = d.usage_of(c10);
    assert_eq!(u.len(), 2);
    assert_eq!((d.name(u[0].feature), u[0].quantity), ("core", 12.0));
    assert_eq!(u[0].user.map(|x| d.users.name(x)), Some("u1"));
    assert_eq!((u[1].user, u[1].quantity), (None, 2.5));

    let f = d.feedback_of(c2);
    assert_eq!((f[0].kind, f[0].score), (FeedbackKind::Nps, 9));
    assert_eq!(d.feedback_of(c10)[0].kind, FeedbackKind::Csat);
    assert_eq!(d.last_day(), Some(day_from_ymd(2024, 4, 1)));
    assert!(d.transaction_ids.is_none());
}

fn ids_and_only(env: &Env, store: &mut dyn Store) {
    fill(env, store);
    let opts = LoadOptions {
        ids: true,
        only: Some(vec!["c10".into()]),
        ..LoadOptions::all()
    };
    let d = store.load(&opts).unwrap();
    assert_eq!(d.len(), 3, "customers are always read whole");
    assert_eq!(d.transactions.len(), 2);
    assert!(d.transactions.iter().all(|t| t.customer == 1));
    assert_eq!(
        d.transaction_ids.as_deref(),
        Some(&["t1".to_string(), "t2".to_string()][..])
    );
    assert_eq!(d.id_of(PerCustomer::Subscriptions, 0), Some("s1"));
    assert_eq!(d.subscriptions.len(), 1);
    // c10's own cost and both shared costs.
    assert_eq!(d.costs.len(), 3);
    assert_eq!(d.id_of(PerCustomer::Costs, 0), Some("k3"));
    assert_eq!(d.usage.len(), 2);
    assert!(d
        .id_of(PerCustomer::Usage, 0)
        .unwrap()
        .starts_with("usage:"));
    assert_eq!(d.feedback.len(), 1);

    let only_customers = LoadOptions {
        transactions: true,
        ..LoadOptions::customers_only()
    };
    let d = store.load(&only_customers).unwrap();
    assert_eq!(
        (d.transactions.len(), d.subscriptions.len(), d.usage.len()),
        (3, 0, 0)
    );
    assert!(!d.loaded.subscriptions);
}

fn an_empty_store_loads_empty(_env: &Env, store: &mut dyn Store) {
    let d = store.load(&LoadOptions::all()).unwrap();
    assert!(d.is_empty());
    assert_eq!(d.last_day(), None);
    assert!(d.shared_costs().is_empty());
    assert!(d.transactions_of(0).is_empty());
}

on_both_backends!(every_kind_loads, ids_and_only, an_empty_store_loads_empty);
