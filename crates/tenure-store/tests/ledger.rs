//! `Store::for_each_transaction` reads back every invoice line, exactly, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;
use tenure_store::{RecordKind, Store};

const CUSTOMERS: &str = "id,acquired_at\nc1,2024-01-15\nc2,2024-01-16\n";
const TRANSACTIONS: &str = "\
id,customer_id,date,amount,currency,kind
t1,c1,2024-01-15T23:30:00-02:00,1200.05,USD,new
t2,c1,2024-02-15,-50.00,USD,refund
t3,c2,2024-02-01 10:00:00.123456,150000,JPY,renewal
";

fn every_transaction_reads_back(env: &Env, store: &mut dyn Store) {
    import(store, RecordKind::Customers, &env.file("c.csv", CUSTOMERS)).unwrap();
    let mut n = 0;
    store.for_each_transaction(&mut |_| n += 1).unwrap();
    assert_eq!(n, 0);
    let mut seen = Vec::new();
    import(
        store,
        RecordKind::Transactions,
        &env.file("t.csv", TRANSACTIONS),
    )
    .unwrap();
    store
        .for_each_transaction(&mut |l| {
            seen.push(format!(
                "{} {} {} {} {}",
                l.customer_id,
                l.at,
                l.amount.to_decimal(),
                l.amount.currency(),
                l.kind
            ))
        })
        .unwrap();
    seen.sort();
    assert_eq!(
        seen,
        [
            "c1 2024-01-16T01:30:00.000000Z 1200.05 USD new",
            "c1 2024-02-15T00:00:00.000000Z -50.00 USD refund",
            "c2 2024-02-01T10:00:00.123456Z 150000 JPY renewal",
        ]
    );
}

on_both_backends!(every_transaction_reads_back);
