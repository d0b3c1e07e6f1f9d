//! Forecasts (`tenure_act::forecast`): a purchase customer's window and a subscriber's next
//! renewal on hand-made companies, checked against the fitted parameters by hand; then, held
//! out, on generated companies: records up to `as_of` make the forecasts, the 90 days after
//! it say what happened. Figures are printed
//! (`cargo test -p tenure-act --test forecast -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tenure_act::config::Config;
use tenure_act::forecast::{ExpansionPropensity, EXPANSION_WINDOW_DAYS, SMOOTHING};
use tenure_act::{forecasts, Forecast, ForecastKind};
use tenure_core::{BillingInterval, Currency, SubscriptionStatus, TransactionKind};
use tenure_generate::{generate, Config as GenConfig, RecordFile};
use tenure_models::simulate::simulate_bgnbd_purchases;
use tenure_models::NextPurchase;
use tenure_models::RfmModel;
use tenure_reports::calendar::{day_from_ymd, Day};
use tenure_reports::predict::{predict, purchase_days, Method, PredictConfig, Predictions};
use tenure_reports::value::{value_report, ValueConfig};
use tenure_reports::{Fx, GroupBy, Grouping};
use tenure_store::{Dataset, DatasetBuilder, LoadOptions, Location, RecordKind};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

/// The predictions `forecasts` is built on, with the default configuration's settings.
fn predictions(data: &Dataset, as_of: Day) -> Predictions {
    let fx = Fx::new(usd());
    let value = value_report(
        data,
        &ValueConfig::new(as_of, usd()),
        &Grouping::new(data, GroupBy::All),
    )
    .unwrap();
    let pcfg = PredictConfig {
        monthly_discount: 0.01,
        horizon_months: 36,
    };
    predict(data, &fx, &value, &pcfg)
}

fn prediction(p: &Predictions, c: u32) -> tenure_reports::predict::Prediction {
    p.customers
        .iter()
        .find(|x| x.customer == c)
        .unwrap()
        .clone()
}

fn of(fs: &[Forecast], data: &Dataset, id: &str) -> Forecast {
    let c = data.customer(id).unwrap();
    fs.iter().find(|f| f.customer == c).unwrap().clone()
}

/// Eight purchase customers, one shop: the window of one of them, from the fitted BG/NBD by
/// the closed forms (module docs of `tenure_models::nextpurchase`), in days.
#[test]
fn purchase_customer_window_by_hand() {
    let usd = usd();
    let d = |y, m, dd| day_from_ymd(y, m, dd);
    let mut b = DatasetBuilder::new(false);
    // (id, first purchase, gaps in days between purchases, amount in cents)
    let people: [(&str, Day, &[i32], i64); 20] = [
        ("p01", d(2024, 1, 10), &[30, 45, 20, 60, 31], 5_000),
        ("p02", d(2024, 2, 1), &[], 2_500),
        ("p03", d(2024, 3, 5), &[100], 9_900),
        ("p04", d(2024, 1, 20), &[14, 14, 14, 200], 1_200),
        ("p05", d(2024, 6, 1), &[7, 70], 4_000),
        ("p06", d(2024, 4, 15), &[], 3_000),
        ("p07", d(2024, 2, 20), &[60, 60, 60, 60, 60, 60], 7_500),
        ("p08", d(2025, 1, 5), &[21], 6_000),
        ("p09", d(2024, 1, 3), &[10, 12, 9, 15, 11, 8, 14, 10], 1_500),
        ("p10", d(2024, 5, 9), &[], 8_000),
        ("p11", d(2024, 8, 12), &[40, 35, 50], 2_200),
        ("p12", d(2024, 3, 28), &[300], 4_500),
        ("p13", d(2024, 10, 1), &[], 1_000),
        (
            "p14",
            d(2024, 2, 14),
            &[25, 30, 20, 35, 30, 25, 30, 40, 30, 35, 30, 25],
            3_300,
        ),
        ("p15", d(2024, 7, 7), &[5], 6_600),
        ("p16", d(2024, 11, 30), &[45, 60], 2_900),
        (
            "p17",
            d(2024, 1, 8),
            &[
                20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
                20, 20, 20, 20, 20,
            ],
            1_800,
        ),
        ("p18", d(2024, 1, 15), &[3], 2_000),
        ("p19", d(2024, 2, 2), &[4], 2_100),
        ("p20", d(2024, 3, 3), &[6], 2_400),
    ];
    for (id, first, gaps, amount) in people {
        b.add_customer(id, first, None, None, None, None);
        let mut day = first;
        b.add_transaction(
            &format!("{id}-0"),
            id,
            day,
            amount,
            None,
            usd,
            TransactionKind::OneOff,
        );
        for (i, g) in gaps.iter().enumerate() {
            day += g;
            let a = amount + 100 * i as i64;
            b.add_transaction(
                &format!("{id}-{}", i + 1),
                id,
                day,
                a,
                None,
                usd,
                TransactionKind::OneOff,
            );
        }
    }
    // Acquired after the day: no forecast.
    b.add_customer("late", d(2025, 7, 1), None, None, None, None);
    let data = b.build(LoadOptions::all()).unwrap();
    let as_of = d(2025, 6, 30);
    let cfg = Config::default();
    let fs = forecasts(&data, &Fx::new(usd), as_of, &cfg).unwrap();
    assert_eq!(fs.len(), 20);
    let pred = predictions(&data, as_of);
    let (m, g) = pred.bgnbd.clone().unwrap();
    println!("fitted {m:?}");

    // p1: first purchase 2024-01-10, five repeats, the last 186 days later, observed 537 days.
    let f = of(&fs, &data, "p01");
    assert_eq!(f.kind, ForecastKind::Purchase);
    assert!(f.renewal.is_none() && f.expansion.is_none());
    let p = f.purchase.unwrap();
    let (x, t_x, t) = (5.0, 186.0 / 7.0, f64::from(as_of - d(2024, 1, 10)) / 7.0);
    let alive = m.p_alive(x, t_x, t);
    let c = prediction(&pred, data.customer("p01").unwrap());
    assert_eq!(c.p_alive, Some(alive), "the row predict uses");
    assert_eq!(p.p_alive, alive);
    let (shape, rate) = (m.r + x, m.alpha + t);
    let within = |days: f64| alive * (1.0 - (rate / (rate + days / 7.0)).powf(shape));
    assert!((p.p_purchase_30_days - within(30.0)).abs() < 1e-14);
    assert!((p.p_purchase_90_days - within(90.0)).abs() < 1e-14);
    assert!((p.p_never - (1.0 - alive)).abs() < 1e-15);
    let quantile = |q: f64| 7.0 * rate * ((1.0 - q).powf(-1.0 / shape) - 1.0);
    let w = p.window.unwrap();
    for (got, q) in [
        (w.early_days, 0.1),
        (w.median_days, 0.5),
        (w.late_days, 0.9),
    ] {
        assert!(
            (got - quantile(q)).abs() < 1e-9 * quantile(q),
            "q={q}: {got}"
        );
    }
    let day = |days: f64| Some(as_of + days.ceil() as i32);
    assert_eq!(w.earliest, day(quantile(0.1)));
    assert_eq!(w.likely, day(quantile(0.5)));
    assert_eq!(w.latest, day(quantile(0.9)));
    println!(
        "p1: P(alive) {alive:.3}, P(30 d) {:.3}, P(90 d) {:.3}, window {:.0}/{:.0}/{:.0} days",
        p.p_purchase_30_days, p.p_purchase_90_days, w.early_days, w.median_days, w.late_days
    );
    // Expected purchases over the 1096-day horizon and spend: mean of the repeats 5,200.00.
    assert_eq!(p.horizon_days, 1096);
    let e = m.conditional_expected_purchases(1096.0 / 7.0, x, t_x, t);
    assert_eq!(p.expected_purchases, Some(e));
    let mean = (5_000 + 5_100 + 5_200 + 5_300 + 5_400) as f64 / 5.0;
    let spend = g.conditional_expected_spend(x, mean).unwrap();
    assert_eq!(p.expected_spend, Some((spend * e).round() as i64));

    // p2, no repeat purchase: alive for sure under BG/NBD, never-mass 0; spend at the
    // population mean.
    let p2 = of(&fs, &data, "p02").purchase.unwrap();
    assert_eq!((p2.p_alive, p2.p_never), (1.0, 0.0));
    let w2 = p2.window.unwrap();
    assert!(w2.early_days < w2.median_days && w2.median_days < w2.late_days);
}

/// A small subscription company on 2025-06-30: the renewal day (clamped month ends), the
/// likelihood from the fitted sBG, and likelihood × amount in cents.
#[test]
fn subscriber_renewal_by_hand() {
    let usd = usd();
    let d = |y, m, dd| day_from_ymd(y, m, dd);
    let mut b = DatasetBuilder::new(false);
    let monthly = |b: &mut DatasetBuilder, id: &str, start: Day, end: Option<Day>, seats: u32| {
        b.add_subscription(
            &format!("s-{id}-{start}"),
            id,
            "pro",
            start,
            end,
            seats,
            10_000 * i64::from(seats),
            usd,
            BillingInterval::Month,
            if end.is_some() {
                SubscriptionStatus::Canceled
            } else {
                SubscriptionStatus::Active
            },
        );
    };
    // a: started on a 31st; two seats, a third from 2025-04-10 (an expansion).
    b.add_customer("a", d(2025, 1, 31), None, Some("pro"), None, None);
    monthly(&mut b, "a", d(2025, 1, 31), Some(d(2025, 4, 10)), 2);
    monthly(&mut b, "a", d(2025, 4, 10), None, 3);
    b.add_transaction(
        "a-x",
        "a",
        d(2025, 4, 10),
        6_667,
        None,
        usd,
        TransactionKind::Expansion,
    );
    // Others of the plan, some churned, so the sBG can be fitted.
    let others: [(&str, Day, Option<Day>); 7] = [
        ("b", d(2024, 1, 5), Some(d(2024, 4, 5))),
        ("c", d(2024, 2, 1), Some(d(2024, 3, 1))),
        ("e", d(2024, 3, 10), None),
        ("f", d(2024, 5, 20), Some(d(2025, 2, 20))),
        ("g", d(2024, 7, 1), None),
        ("h", d(2024, 9, 15), Some(d(2024, 11, 15))),
        ("i", d(2025, 2, 1), None),
    ];
    for (id, start, end) in others {
        b.add_customer(id, start, None, Some("pro"), None, None);
        monthly(&mut b, id, start, end, 1);
    }
    let data = b.build(LoadOptions::all()).unwrap();
    let as_of = d(2025, 6, 30);
    let fs = forecasts(&data, &Fx::new(usd), as_of, &Config::default()).unwrap();
    let pred = predictions(&data, as_of);
    let group = pred.sbg.iter().find(|g| g.plan == "pro").unwrap();
    let params = group.params.clone().unwrap();

    let f = of(&fs, &data, "a");
    assert_eq!(f.kind, ForecastKind::Subscription);
    let r = f.renewal.unwrap();
    // Jan 31 + 5 months = Jun 30 (clamped) ≤ as_of: five renewals; the next is Jul 31.
    assert_eq!(r.renewals, 5);
    assert_eq!(r.next_renewal, d(2025, 7, 31));
    assert_eq!(r.days_to_renewal, 31);
    let likelihood = (params.beta + 5.0) / (params.alpha + params.beta + 5.0);
    assert!((r.likelihood - likelihood).abs() < 1e-15);
    let c = prediction(&pred, data.customer("a").unwrap());
    assert_eq!(c.p_alive, Some(r.likelihood));
    assert!(matches!(c.method, Method::Sbg { .. }));
    assert_eq!(
        (r.plan.as_str(), r.interval, r.pooled),
        ("pro", BillingInterval::Month, false)
    );
    assert_eq!(r.amount, 30_000);
    assert_eq!(r.expected_value, (likelihood * 30_000.0).round() as i64);
    println!(
        "a: sBG alpha {:.3} beta {:.3}; next renewal in {} days, likelihood {:.4}, value {} of {}",
        params.alpha, params.beta, r.days_to_renewal, r.likelihood, r.expected_value, r.amount
    );

    // e: 2024-03-10, 15 renewals by 2025-06-10; next 2025-07-10.
    let re = of(&fs, &data, "e").renewal.unwrap();
    assert_eq!((re.renewals, re.next_renewal), (15, d(2025, 7, 10)));
    assert_eq!(re.amount, 10_000);
    // Churned: no renewal, and why.
    let fb = of(&fs, &data, "b");
    assert!(matches!(&fb.kind, ForecastKind::None(r) if r.starts_with("churned")));
    assert!(fb.renewal.is_none() && fb.purchase.is_none() && fb.expansion.is_none());

    // Expansion: the subscribers paying on 2025-04-01 (a, e, g, i) are the lookup; only a
    // expanded in the 90 days after. Each score is its bucket's count shrunk to the base.
    let xa = f.expansion.clone().unwrap();
    assert_eq!(xa.reference_day, as_of - EXPANSION_WINDOW_DAYS);
    assert_eq!((xa.base_subscribers, xa.base_rate), (4, 0.25));
    assert!(xa.bucket.expanded_before, "a expanded on 2025-04-10");
    let check = |x: &ExpansionPropensity| {
        let want = (f64::from(x.bucket_expanded) + SMOOTHING * x.base_rate)
            / (f64::from(x.bucket_subscribers) + SMOOTHING);
        assert!((x.score - want).abs() < 1e-15, "{x:?}");
        assert!(
            x.explanation.contains(&x.bucket.describe()),
            "{}",
            x.explanation
        );
    };
    check(&xa);
    // Nobody expanded before 2025-04-01, so a's bucket today was empty then: the base rate.
    assert_eq!((xa.bucket_subscribers, xa.score), (0, 0.25));
    assert!(
        xa.explanation
            .contains("0 of 0 such subscribers on 2025-04-01"),
        "{}",
        xa.explanation
    );
    let xe = of(&fs, &data, "e").expansion.unwrap();
    check(&xe);
    assert!(!xe.bucket.expanded_before);
    println!("e: {}", xe.explanation);
}

// ---------------------------------------------------------------------------------------------
// Generated companies.

fn subscription_company() -> Dataset {
    let cfg = GenConfig {
        customers: 3_000,
        seed: 5,
        ..GenConfig::default()
    };
    let mut files: [Vec<u8>; RecordFile::COUNT] = Default::default();
    generate(&cfg, &mut files).unwrap();
    let dir = std::env::temp_dir().join(format!("tenure-act-forecast-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = tenure_store::open(&Location::Sqlite(dir.join("t.db"))).unwrap();
    for (kind, f) in [
        (RecordKind::Customers, RecordFile::Customers),
        (RecordKind::Transactions, RecordFile::Transactions),
        (RecordKind::Subscriptions, RecordFile::Subscriptions),
        (RecordKind::Costs, RecordFile::Costs),
        (RecordKind::Usage, RecordFile::Usage),
        (RecordKind::Feedback, RecordFile::Feedback),
    ] {
        let p = dir.join(f.file_name());
        std::fs::write(&p, &files[f as usize]).unwrap();
        store
            .import(kind, &p, &Default::default(), &mut |_| {})
            .unwrap();
    }
    let data = store.load(&LoadOptions::all()).unwrap();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    data
}

fn eur_fx() -> Fx {
    Fx::new(usd())
        .with_rate(Currency::parse("EUR").unwrap(), "1.087".parse().unwrap())
        .unwrap()
}

/// Whether any of `c`'s subscription rows runs on `day` (started, not yet ended).
fn subscribed_on(data: &Dataset, c: u32, day: Day) -> bool {
    data.subscriptions_of(c)
        .iter()
        .any(|s| s.start <= day && s.end.is_none_or(|e| e > day))
}

/// The generated SaaS company (every customer a subscriber), forecast on 2025-06-30 and
/// checked on the next 90 days: renewals due in them against their likelihood, and
/// expansions against the propensity.
#[test]
fn generated_subscribers_renewals_and_expansion() {
    let data = subscription_company();
    let fx = eur_fx();
    let as_of = day_from_ymd(2025, 6, 30);
    let end = as_of + 90;
    let fs = forecasts(&data, &fx, as_of, &Config::default()).unwrap();

    // Renewals due within 90 days: predicted likelihood vs renewed (still subscribed on the
    // renewal day).
    let due: Vec<(f64, bool)> = fs
        .iter()
        .filter_map(|f| f.renewal.as_ref().map(|r| (f.customer, r)))
        .filter(|(_, r)| r.next_renewal <= end)
        .map(|(c, r)| (r.likelihood, subscribed_on(&data, c, r.next_renewal)))
        .collect();
    let n = due.len() as f64;
    let predicted = due.iter().map(|d| d.0).sum::<f64>() / n;
    let observed = due.iter().filter(|d| d.1).count() as f64 / n;
    let se = (observed * (1.0 - observed) / n).sqrt();
    println!(
        "renewals due by 2025-09-28: {n}, mean likelihood {predicted:.4}, renewed {observed:.4} (se {se:.4})"
    );
    assert!(n >= 500.0, "{n}");
    assert!(
        (predicted - observed).abs() < 0.02,
        "{predicted} vs {observed}"
    );
    // Expected renewal value: likelihood × amount, never above the amount.
    for r in fs.iter().filter_map(|f| f.renewal.as_ref()) {
        assert!(
            r.expected_value <= r.amount && r.expected_value >= 0,
            "{r:?}"
        );
    }

    // Expansion: observed within the next 90 days, by score.
    let mut scored: Vec<(f64, bool)> = fs
        .iter()
        .filter_map(|f| f.expansion.as_ref().map(|x| (f.customer, x)))
        .map(|(c, x)| {
            let expanded = data.transactions_of(c).iter().any(|t| {
                t.day > as_of
                    && t.day <= end
                    && matches!(t.kind, TransactionKind::Expansion | TransactionKind::Upsell)
            });
            (x.score, expanded)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n = scored.len();
    let rate = |s: &[(f64, bool)]| s.iter().filter(|x| x.1).count() as f64 / s.len() as f64;
    let base = rate(&scored);
    let mean_score = scored.iter().map(|x| x.0).sum::<f64>() / n as f64;
    let top = rate(&scored[..n / 5]);
    let bottom = rate(&scored[n - n / 5..]);
    println!(
        "expansion within 90 days: {n} paying subscribers, observed {:.4}, mean score {mean_score:.4}; top quintile {top:.4} (lift {:.2}), bottom quintile {bottom:.4}",
        base,
        top / base
    );
    let mut cells: Vec<(String, u32, u32, f64)> = Vec::new();
    for f in &fs {
        if let Some(x) = &f.expansion {
            if !cells.iter().any(|c| c.0 == x.bucket.describe()) {
                cells.push((
                    x.bucket.describe(),
                    x.bucket_subscribers,
                    x.bucket_expanded,
                    x.score,
                ));
            }
        }
    }
    cells.sort_by(|a, b| b.3.total_cmp(&a.3));
    for (name, n, k, s) in &cells {
        println!("  {name}: learned {k}/{n}, score {s:.4}");
    }
    assert!(n >= 1_000, "{n}");
    // Calibrated: the last 90 days' rate carries over to the next 90.
    assert!(
        (mean_score - base).abs() < 0.02,
        "calibration: {mean_score} vs {base}"
    );
    // The generator expands every running subscription at a constant 3.5 % a month whatever
    // she does (its crate docs), so there is nothing for the buckets to find: the top quintile
    // must not look better than the base beyond noise (a lift here would be overfitting).
    let se_top = (base * (1.0 - base) / (n / 5) as f64).sqrt();
    assert!(
        (top - base).abs() < 3.0 * se_top,
        "top {top} vs base {base} (se {se_top})"
    );
}

/// splitmix64: a deterministic stream for the planted-signal company.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A company where expansion does depend on a feature: 1,500 monthly subscribers whose weekly
/// usage grows 5 % a week (a third), stays flat, or shrinks 5 % a week; they expand at 11 %,
/// 3.5 % and 1 % a month (Poisson, all year). The propensity learned on 2025-04-01 ranks the
/// growing third on top: observed lift over the next 90 days and calibration.
#[test]
fn expansion_propensity_finds_a_planted_signal() {
    let usd = usd();
    let d = |y, m, dd| day_from_ymd(y, m, dd);
    let (first, as_of) = (d(2024, 1, 1), d(2025, 6, 30));
    let end = as_of + 90;
    let mut rng = Stream(2024);
    let mut b = DatasetBuilder::new(false);
    let n = 1_500;
    for i in 0..n {
        let id = format!("S{i:05}");
        let start = first + (i * 300 / n) as Day;
        b.add_customer(&id, start, None, Some("pro"), None, None);
        b.add_subscription(
            &format!("{id}-s"),
            &id,
            "pro",
            start,
            None,
            2,
            20_000,
            usd,
            BillingInterval::Month,
            SubscriptionStatus::Active,
        );
        let (growth, monthly) = match i % 3 {
            0 => (1.05f64, 0.11),
            1 => (1.0, 0.035),
            _ => (0.95, 0.01),
        };
        let mut week = 0;
        while start + 7 * week <= end {
            let q = (10.0 * growth.powi(week)).max(1e-3);
            b.add_usage(
                &format!("{id}-u{week}"),
                &id,
                None,
                "core",
                start + 7 * week,
                q,
            );
            week += 1;
        }
        // Expansions: exponential gaps at the monthly rate.
        let mut day = f64::from(start);
        let mut k = 0;
        loop {
            day += -(1.0 - rng.next()).ln() / monthly * 30.4375;
            if day > f64::from(end) {
                break;
            }
            b.add_transaction(
                &format!("{id}-x{k}"),
                &id,
                day as Day,
                5_000,
                None,
                usd,
                TransactionKind::Expansion,
            );
            k += 1;
        }
    }
    let data = b.build(LoadOptions::all()).unwrap();
    let fs = forecasts(&data, &Fx::new(usd), as_of, &Config::default()).unwrap();
    let mut scored: Vec<(f64, bool, u32)> = fs
        .iter()
        .filter_map(|f| f.expansion.as_ref().map(|x| (f.customer, x)))
        .map(|(c, x)| {
            let expanded = data
                .transactions_of(c)
                .iter()
                .any(|t| t.day > as_of && t.day <= end && t.kind == TransactionKind::Expansion);
            (x.score, expanded, c % 3)
        })
        .collect();
    assert_eq!(scored.len(), n as usize);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let rate = |s: &[(f64, bool, u32)]| s.iter().filter(|x| x.1).count() as f64 / s.len() as f64;
    let base = rate(&scored);
    let mean_score = scored.iter().map(|x| x.0).sum::<f64>() / scored.len() as f64;
    let top = rate(&scored[..scored.len() / 5]);
    let growing = scored[..scored.len() / 5]
        .iter()
        .filter(|x| x.2 == 0)
        .count();
    println!(
        "planted: observed {base:.4}, mean score {mean_score:.4}; top quintile {top:.4} (lift {:.2}), of it growing usage {growing}",
        top / base
    );
    let x = fs[0].expansion.as_ref().unwrap();
    println!("  {}", x.explanation);
    assert_eq!(x.bucket.usage, tenure_act::forecast::UsageTrend::Up);
    assert!(top > 1.5 * base, "lift {:.2}", top / base);
    assert!(
        (mean_score - base).abs() < 0.03,
        "calibration: {mean_score} vs {base}"
    );
}

/// A purchase-driven company: 3,000 BG/NBD customers with Gamma-Gamma spend (tenure-generate
/// draws subscribers only), acquired evenly over 2023-01-01 … 2025-06-30, purchases dated to the
/// day (model weeks × 7, rounded) and simulated 90 days past `as_of`. Forecasts from records up
/// to `as_of`; observed: a purchase in the next 90 days.
#[test]
fn generated_purchase_customers_are_calibrated() {
    let usd = usd();
    let start = day_from_ymd(2023, 1, 1);
    let as_of = day_from_ymd(2025, 6, 30);
    let end = as_of + 90;
    let n = 3_000usize;
    let acquired: Vec<Day> = (0..n)
        .map(|i| start + ((as_of - 7 - start) as usize * i / n) as Day)
        .collect();
    let ages: Vec<f64> = acquired.iter().map(|a| f64::from(end - a) / 7.0).collect();
    let (r, alpha, a, b) = (0.6, 8.0, 0.8, 3.0);
    let logs = simulate_bgnbd_purchases((r, alpha, a, b), (6.0, 4.0, 15.0), &ages, 17).unwrap();
    let mut bld = DatasetBuilder::new(false);
    for (i, (acq, log)) in acquired.iter().zip(&logs).enumerate() {
        let id = format!("P{i:05}");
        bld.add_customer(&id, *acq, None, None, None, None);
        for (k, p) in log.iter().enumerate() {
            let day = acq + (p.time * 7.0).round() as Day;
            let cents = (p.value * 100.0).round().max(1.0) as i64;
            bld.add_transaction(
                &format!("{id}-{k}"),
                &id,
                day,
                cents,
                None,
                usd,
                TransactionKind::OneOff,
            );
        }
    }
    let data = bld.build(LoadOptions::all()).unwrap();
    let fs = forecasts(&data, &Fx::new(usd), as_of, &Config::default()).unwrap();
    let pred = predictions(&data, as_of);
    let (m, _) = pred.bgnbd.clone().unwrap();
    println!(
        "BG/NBD fitted r {:.3} alpha {:.3} a {:.3} b {:.3} (true {r} {alpha} {a} {b})",
        m.r, m.alpha, m.a, m.b
    );
    let mut rows: Vec<(f64, f64, bool, bool)> = fs
        .iter()
        .filter_map(|f| f.purchase.as_ref().map(|p| (f.customer, p)))
        .map(|(c, p)| {
            let days: Vec<Day> = data.transactions_of(c).iter().map(|t| t.day).collect();
            let bought = |to: Day| days.iter().any(|d| *d > as_of && *d <= to);
            (
                p.p_purchase_90_days,
                p.p_purchase_30_days,
                bought(end),
                bought(as_of + 30),
            )
        })
        .collect();
    let k = rows.len() as f64;
    assert!(k >= 2_900.0, "{k}");
    let share = |b: &[bool]| b.iter().filter(|x| **x).count() as f64 / k;
    let p90 = rows.iter().map(|r| r.0).sum::<f64>() / k;
    let p30 = rows.iter().map(|r| r.1).sum::<f64>() / k;
    let o90 = share(&rows.iter().map(|r| r.2).collect::<Vec<_>>());
    let o30 = share(&rows.iter().map(|r| r.3).collect::<Vec<_>>());
    println!(
        "purchase customers {k}: P(90 d) mean {p90:.4} vs observed {o90:.4}; P(30 d) {p30:.4} vs {o30:.4}"
    );
    // Binomial se of the observed shares: 0.0075 and 0.0055.
    assert!((p90 - o90).abs() < 0.02, "{p90} vs {o90}");
    assert!((p30 - o30).abs() < 0.02, "{p30} vs {o30}");
    // By decile of P(90 d): each decile's observed share within 4 binomial se (at least 0.03).
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let size = rows.len() / 10;
    for (i, d) in rows.chunks(size).take(10).enumerate() {
        let n = d.len() as f64;
        let p = d.iter().map(|r| r.0).sum::<f64>() / n;
        let o = d.iter().filter(|r| r.2).count() as f64 / n;
        let tol = (4.0 * (p * (1.0 - p) / n).sqrt()).max(0.03);
        println!(
            "  decile {}: predicted {p:.3}, observed {o:.3} (n {n})",
            i + 1
        );
        assert!((p - o).abs() < tol, "decile {}: {p} vs {o}", i + 1);
    }
    // The window's likely day (the median of the wait, among those who buy again): the share
    // that bought by it against the model's P(purchase by that day), summed over customers
    // whose likely day falls within the 90 days (so the outcome is known).
    let (mut bought, mut expected, mut var, mut count) = (0.0, 0.0, 0.0, 0);
    for f in &fs {
        let Some(p) = &f.purchase else { continue };
        let Some(day) = p.window.and_then(|w| w.likely) else {
            continue;
        };
        if day > end {
            continue;
        }
        let days = purchase_days(&data, &Fx::new(usd), f.customer, as_of);
        let weeks = |d: Day| f64::from(d) / 7.0;
        let (x, t_x, t) = (
            (days.len() - 1) as f64,
            weeks(days[days.len() - 1].0 - days[0].0),
            weeks(as_of - days[0].0),
        );
        let q = m.p_purchase_within(weeks(day - as_of), x, t_x, t);
        // At least half of those who buy again, by the ceiling to whole days.
        assert!(q >= 0.5 * (1.0 - p.p_never) - 1e-12, "{q} {p:?}");
        expected += q;
        var += q * (1.0 - q);
        count += 1;
        let txs = data.transactions_of(f.customer);
        bought += f64::from(u8::from(txs.iter().any(|t| t.day > as_of && t.day <= day)));
    }
    println!(
        "likely day within 90 days for {count}: bought by it {bought}, expected {expected:.1} (sd {:.1})",
        var.sqrt()
    );
    assert!(count >= 100, "{count}");
    assert!(
        (bought - expected).abs() < 4.0 * var.sqrt().max(1.0),
        "{bought} vs {expected}"
    );
}
