//! CDNOW: the published summary must come out of the raw transactions exactly.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::PathBuf;
use tenure_core::TimeUnit;
use tenure_engine::{
    read_summaries, read_transactions, summarize, summarize_file, write_summaries_to, CdnowId,
    CustomerSummary, NaiveDate, SummaryConfig, TransactionFormat,
};

fn refdata() -> PathBuf {
    match std::env::var("TENURE_REFDATA") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/refdata"
        )),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn config(holdout: bool) -> SummaryConfig {
    let mut c = SummaryConfig::new(date(1997, 9, 30), TimeUnit::Weeks);
    c.round = Some(2);
    if holdout {
        c.holdout_end = Some(date(1998, 6, 30));
    }
    c
}

fn cdnow_summary(holdout: bool) -> Vec<CustomerSummary> {
    summarize_file(
        &refdata().join("CDNOW_sample.txt"),
        &TransactionFormat::Cdnow(CdnowId::Index),
        &config(holdout),
    )
    .unwrap()
}

fn as_strings(s: &CustomerSummary) -> Vec<String> {
    vec![
        s.customer_id.clone(),
        s.frequency.to_string(),
        s.recency.to_string(),
        s.t.to_string(),
        s.monetary_value.to_string(),
    ]
}

#[test]
fn cdnow_summary_matches_the_published_one_row_for_row() {
    let ours = cdnow_summary(false);
    let text =
        std::fs::read_to_string(refdata().join("cdnow_customers_summary_with_transactions.csv"))
            .unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ID,x,t_x,T,zbar"));
    let reference: Vec<Vec<String>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(reference.len(), 2357);
    assert_eq!(ours.len(), reference.len());
    let mut differ = Vec::new();
    for (o, r) in ours.iter().zip(&reference) {
        if &as_strings(o) != r {
            differ.push((as_strings(o), r.clone()));
        }
    }
    assert!(
        differ.is_empty(),
        "{} rows differ, first: {:?}",
        differ.len(),
        &differ[..differ.len().min(5)]
    );
    // The first customer by hand: purchases on 1997-01-01, 01-18, 08-02 (and 12-12, after the
    // calibration end): x = 2, t_x = 213 days = 30.43 weeks, zbar = (29.73 + 14.96) / 2 = 22.345.
    assert_eq!(as_strings(&ours[0]), ["1", "2", "30.43", "38.86", "22.35"]);
}

#[test]
fn in_memory_and_streaming_summaries_agree() {
    let path = refdata().join("CDNOW_sample.txt");
    let tx = read_transactions(&path, &TransactionFormat::Cdnow(CdnowId::Index)).unwrap();
    assert_eq!(tx.len(), 6919);
    assert_eq!(tx[0].line, 1);
    assert_eq!(tx[6918].line, 6919);
    assert_eq!(summarize(&tx, &config(true)).unwrap(), cdnow_summary(true));
}

#[test]
fn read_summaries_agrees_with_summarize() {
    let ours = cdnow_summary(false);
    let rows =
        read_summaries(&refdata().join("cdnow_customers_summary_with_transactions.csv")).unwrap();
    assert_eq!(rows.len(), ours.len());
    for (r, o) in rows.iter().zip(&ours) {
        assert_eq!(r.id, o.customer_id);
        assert_eq!(r.x, o.frequency as f64);
        assert_eq!(r.t_x, o.recency.to_string().parse::<f64>().unwrap());
        assert_eq!(r.t, o.t.to_string().parse::<f64>().unwrap());
        assert_eq!(
            r.monetary,
            Some(o.monetary_value.to_string().parse().unwrap())
        );
        assert_eq!(r.weight, 1.0);
    }
    assert_eq!(rows[0].line, 2);
    let lifetimes = read_summaries(&refdata().join("cdnow_customers_summary.csv")).unwrap();
    assert_eq!(lifetimes.len(), 2357);
    assert!(lifetimes.iter().all(|r| r.monetary.is_none()));
    assert!(lifetimes
        .iter()
        .zip(&rows)
        .all(|(a, b)| (a.x, a.t_x, a.t) == (b.x, b.t_x, b.t)));
}

/// Distinct (customer index, day) pairs in 1997-10-01..=1998-06-30, counted naively.
fn naive_holdout_days() -> (HashSet<(u32, u32)>, usize) {
    let text = std::fs::read_to_string(refdata().join("CDNOW_sample.txt")).unwrap();
    let mut days = HashSet::new();
    let mut after = 0;
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (id, day): (u32, u32) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        if day > 19970930 {
            after += 1;
            assert!(day <= 19980630);
            days.insert((id, day));
        }
    }
    (days, after)
}

#[test]
fn holdout_counts_are_the_distinct_purchase_days_after_calibration() {
    let ours = cdnow_summary(true);
    assert_eq!(ours.len(), 2357);
    let (days, transactions) = naive_holdout_days();
    let total: u64 = ours
        .iter()
        .map(|s| s.holdout.as_ref().unwrap().frequency)
        .sum();
    assert_eq!(total as usize, days.len());
    assert!(total as usize <= transactions);
    // The CDNOW cohort: most customers never come back; a few hundred buy in the holdout.
    let buyers = ours
        .iter()
        .filter(|s| s.holdout.as_ref().unwrap().frequency > 0)
        .count();
    let distinct_buyers = days.iter().map(|&(id, _)| id).collect::<HashSet<_>>().len();
    assert_eq!(buyers, distinct_buyers);
    assert!((200..1000).contains(&buyers), "{buyers} holdout buyers");
    for s in &ours {
        let h = s.holdout.as_ref().unwrap();
        assert_eq!(h.duration.to_string(), "39.00"); // 273 days
        assert_eq!(h.frequency == 0, h.monetary_value.is_zero());
    }
    // Customer 1 bought once in the holdout, 26.48 on 1997-12-12.
    let h = ours[0].holdout.as_ref().unwrap();
    assert_eq!(
        (h.frequency, h.monetary_value.to_string()),
        (1, "26.48".to_string())
    );
    // The calibration columns do not change when a holdout is added.
    let plain = cdnow_summary(false);
    for (a, b) in ours.iter().zip(&plain) {
        assert_eq!(as_strings(a), as_strings(b));
    }
}

#[test]
fn writes_lifetimes_columns_with_two_decimals() {
    let ours = cdnow_summary(true);
    let mut out = Vec::new();
    write_summaries_to(&mut out, std::path::Path::new("out.csv"), &ours[..2]).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "customer_id,frequency,recency,T,monetary_value,frequency_holdout,monetary_value_holdout,duration_holdout\n\
         1,2,30.43,38.86,22.35,1,26.48,39.00\n\
         2,1,1.71,38.86,11.77,0,0.00,39.00\n"
    );
}
