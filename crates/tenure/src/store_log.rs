//! `tenure summarize --db`: the store's invoice lines as a transaction log.
//!
//! Rules (also in `tenure summarize --help`):
//! - A line is dated by its timestamp **in UTC** (the store keeps UTC).
//! - Lines are grouped per customer and UTC day. A day is a purchase day when it has at least
//!   one line that is not a `refund`; its amount is the **net** total of all its lines, refunds
//!   included (it may be ≤ 0 when a refund outweighs the purchases). A day with only refunds
//!   is not a purchase and its refunds are not counted anywhere.
//! - One currency: every line must be in the same currency, or `--currency` picks one (lines in
//!   other currencies are left out, never converted).

use crate::error::CliError;
use std::collections::{BTreeSet, HashMap};
use tenure_core::{Currency, Decimal, TransactionKind};
use tenure_engine::{CustomerSummary, NaiveDate, Summarizer, SummaryConfig};
use tenure_store::{open, Location};

/// Net total and whether any line was not a refund, per (customer, UTC day).
type Days = HashMap<(String, NaiveDate), (Decimal, bool)>;

pub fn summarize_store(
    db: &str,
    config: SummaryConfig,
    currency: Option<&str>,
) -> Result<Vec<CustomerSummary>, CliError> {
    let wanted = currency
        .map(|c| Currency::parse(c).map_err(|e| CliError::input(format!("--currency: {e}"))))
        .transpose()?;
    let summarizer = Summarizer::new(config.clone()).map_err(crate::inputs::engine_error)?;
    let last_day = config.holdout_end.unwrap_or(config.calibration_end);
    let mut store = open(&Location::parse(db)).map_err(|e| CliError::failure(e.to_string()))?;
    let mut days: Days = HashMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut overflow: Option<String> = None;
    store
        .for_each_transaction(&mut |l| {
            let cur = l.amount.currency();
            if wanted.is_some_and(|w| w != cur) {
                return;
            }
            if seen.len() < 2 && !seen.contains(cur.code()) {
                seen.insert(cur.code().to_string());
            }
            let date = l.at.as_utc().date_naive();
            if date > last_day {
                return;
            }
            let e = days
                .entry((l.customer_id.clone(), date))
                .or_insert((Decimal::ZERO, false));
            match e.0.checked_add(l.amount.to_decimal()) {
                Some(v) => e.0 = v,
                None => {
                    overflow.get_or_insert_with(|| l.customer_id.clone());
                }
            }
            e.1 |= l.kind != TransactionKind::Refund;
        })
        .map_err(|e| CliError::failure(format!("{}: {e}", store.location())))?;
    if seen.len() > 1 {
        let list: Vec<&str> = seen.iter().map(String::as_str).collect();
        return Err(CliError::input(format!(
            "{}: transactions are in more than one currency ({}, …); choose one with --currency",
            store.location(),
            list.join(", ")
        )));
    }
    if let Some(id) = overflow {
        return Err(CliError::input(format!(
            "customer `{id}`: a day's total does not fit a decimal number"
        )));
    }
    let mut summarizer = summarizer;
    for ((customer, date), (net, purchase)) in &days {
        if *purchase {
            summarizer.add(customer, *date, *net);
        }
    }
    drop(days);
    summarizer.finish().map_err(crate::inputs::engine_error)
}
