//! On a company drawn by `tenure generate` (imported into a SQLite store and loaded back, as
//! the CLI does): health flags the customers about to churn well ahead of it, and the
//! promoters land in the advocacy list.
//!
//! The generator makes churn visible the way it shows in real data: usage falls over the 12
//! weeks before a subscription ends and support tickets rise (its crate docs). Health is
//! computed on 2025-06-30 from records up to that day only; churn is read from the
//! subscriptions after it (a day on which no subscription row of the customer runs). The
//! figures are printed (`cargo test -p tenure-act --test generated -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tenure_act::advocacy::advocates;
use tenure_act::{facts, health, Band, Config};
use tenure_generate::{generate, Config as GenConfig, RecordFile};
use tenure_reports::calendar::{day_from_ymd, Day};
use tenure_reports::Fx;
use tenure_store::{Dataset, LoadOptions, Location, RecordKind};

/// The generated company in a store, the ids of its payment-troubled customers, and its last
/// observed day.
fn company() -> (Dataset, Vec<String>, Day) {
    let cfg = GenConfig {
        customers: 3_000,
        seed: 5,
        ..GenConfig::default()
    };
    let mut files: [Vec<u8>; RecordFile::COUNT] = Default::default();
    let summary = generate(&cfg, &mut files).unwrap();
    let dir = std::env::temp_dir().join(format!("tenure-act-generated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = tenure_store::open(&Location::Sqlite(dir.join("t.db"))).unwrap();
    // Every kind, in the store's order (campaigns before their touches).
    for &kind in RecordKind::ALL {
        let f = RecordFile::ALL
            .into_iter()
            .find(|f| f.file_name() == format!("{}.csv", kind.as_str()))
            .unwrap();
        let p = dir.join(f.file_name());
        std::fs::write(&p, &files[f as usize]).unwrap();
        store
            .import(kind, &p, &Default::default(), &mut |_| {})
            .unwrap();
    }
    let data = store.load(&LoadOptions::all()).unwrap();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let until = tenure_store::dataset::day_of_text(&summary.observed_until.to_string()).unwrap();
    (data, summary.truth.payment_troubled, until)
}

/// The first day after `as_of` on which none of customer `c`'s subscriptions runs, if any.
fn churn_day(data: &Dataset, c: u32, as_of: Day) -> Option<Day> {
    let rows: Vec<_> = data
        .subscriptions
        .iter()
        .filter(|s| s.customer == c)
        .collect();
    let mut day = as_of + 1;
    loop {
        let running: Vec<_> = rows
            .iter()
            .filter(|s| s.start <= day && s.end.is_none_or(|e| e > day))
            .collect();
        if running.is_empty() {
            return Some(day);
        }
        if running.iter().any(|s| s.end.is_none()) {
            return None;
        }
        day = running.iter().filter_map(|s| s.end).max()?;
    }
}

#[test]
fn at_risk_ahead_of_churn_and_promoters_as_advocates() {
    let (data, troubled, until) = company();
    let usd = tenure_core::Currency::parse("USD").unwrap();
    // The generator bills EUR customers in EUR: a fixed rate, as a user would give.
    let fx = Fx::new(usd)
        .with_rate(
            tenure_core::Currency::parse("EUR").unwrap(),
            "1.087".parse().unwrap(),
        )
        .unwrap();
    let cfg = Config::default();
    let as_of = day_from_ymd(2025, 6, 30);
    let fs = facts(&data, &fx, as_of, &cfg).unwrap();
    let hs: Vec<_> = fs
        .iter()
        .map(|f| health(f, &cfg.health, cfg.usage.window.0, cfg.usage.baseline.0))
        .collect();
    // The generator's payment-troubled customers, on its last day (when each one still
    // subscribed has failed payments in the 90 days before, at least two unless she started
    // within the last days): every one loses
    // payment points with the failures named, and they are flagged at risk more than twice as
    // often as the other subscribers.
    let (mut trouble, mut trouble_risk, mut other, mut other_risk) = (0u32, 0u32, 0u32, 0u32);
    let fs_end = facts(&data, &fx, until, &cfg).unwrap();
    for f in &fs_end {
        if !f.subscribed {
            continue;
        }
        let h = health(f, &cfg.health, cfg.usage.window.0, cfg.usage.baseline.0);
        let risk = u32::from(h.band == Some(Band::AtRisk));
        if troubled.iter().any(|t| t == data.customer_id(f.customer)) {
            let pay = h.components.iter().find(|c| c.name == "payment").unwrap();
            assert!(
                pay.fraction.is_some_and(|x| x < 1.0) && pay.input.contains("failed payment"),
                "{}: {pay:?}",
                data.customer_id(f.customer)
            );
            trouble += 1;
            trouble_risk += risk;
        } else {
            other += 1;
            other_risk += risk;
        }
    }
    let (rt, ro) = (
        f64::from(trouble_risk) / f64::from(trouble.max(1)),
        f64::from(other_risk) / f64::from(other.max(1)),
    );
    println!("payment-troubled subscribers {trouble}: at risk {rt:.2}; others {other}: {ro:.2}");
    assert!(trouble >= 20, "too few troubled subscribers: {trouble}");
    // Measured (seed 5): 83 troubled subscribers, 16 % at risk, against 7 % of the 2,006 others.
    assert!(rt >= 2.0 * ro, "troubled at risk {rt:.2} vs others {ro:.2}");

    // Subscribers on the day, and whether each churns within 8 weeks.
    let (mut tp, mut fp, mut fneg, mut tn) = (0u32, 0u32, 0u32, 0u32);
    for (f, h) in fs.iter().zip(&hs) {
        if !f.subscribed {
            continue;
        }
        let churns = churn_day(&data, f.customer, as_of).is_some_and(|d| d <= as_of + 56);
        let flagged = h.band == Some(Band::AtRisk);
        match (flagged, churns) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
            (false, false) => tn += 1,
        }
    }
    let n = f64::from(tp + fp + fneg + tn);
    let base = f64::from(tp + fneg) / n;
    let precision = f64::from(tp) / f64::from(tp + fp).max(1.0);
    let recall = f64::from(tp) / f64::from(tp + fneg).max(1.0);
    println!(
        "subscribers {n}, churning within 8 weeks {} ({:.1} %); at risk {}: precision {:.2}, recall {:.2}, lift {:.1}",
        tp + fneg,
        base * 100.0,
        tp + fp,
        precision,
        recall,
        precision / base
    );
    assert!(tp + fneg >= 30, "too few churners to judge: {}", tp + fneg);
    // Measured (seed 5): recall 0.43, precision 0.21, lift 4.9. Before the generator drew
    // payment trouble and retention touches (issue 10) this was recall 0.52, precision 0.25
    // against a bound of 0.45; the new churn drivers move churn the health score's other
    // inputs do not see, so the bound is now 0.40.
    assert!(recall >= 0.40, "recall {recall:.2}");
    assert!(
        precision >= 4.0 * base,
        "precision {precision:.2} vs base {base:.3}"
    );

    // Advocates: every one a promoter; most tenured, active promoters are in the list.
    let mut adv = cfg.advocacy.clone();
    adv.limit = usize::MAX;
    let list = advocates(&fs, &hs, &adv);
    assert!(list
        .iter()
        .all(|c| fs[c.index].nps.is_some_and(|(s, _)| s >= 9)));
    let promoters: Vec<usize> = (0..fs.len())
        .filter(|&i| {
            let f = &fs[i];
            f.subscribed && f.tenure_days >= 182 && f.nps.is_some_and(|(s, _)| s >= 9)
        })
        .collect();
    let listed = promoters
        .iter()
        .filter(|&&i| list.iter().any(|c| c.index == i))
        .count();
    println!(
        "advocates {}; tenured subscribing promoters {}, of whom listed {listed}",
        list.len(),
        promoters.len()
    );
    assert!(promoters.len() >= 50);
    assert!(
        listed * 10 >= promoters.len() * 7,
        "{listed} of {}",
        promoters.len()
    );
}
