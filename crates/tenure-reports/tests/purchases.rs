//! A business without subscriptions: BG/NBD + Gamma-Gamma predict the future value of
//! customers who only buy, and P(alive) drives their status. Purchases are simulated from
//! known parameters (tenure-models' simulator, in weeks), dated to whole days.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tenure_core::{Currency, TransactionKind};
use tenure_models::simulate::{simulate_bgnbd_purchases, uniform_ages};
use tenure_reports::calendar::day_from_ymd;
use tenure_reports::predict::{predict, Method, PredictConfig};
use tenure_reports::status::{statuses, Status, StatusConfig};
use tenure_reports::value::{value_report, ValueConfig};
use tenure_reports::{Fx, GroupBy, Grouping};
use tenure_store::{DatasetBuilder, LoadOptions};

#[test]
fn buyers_are_valued_with_bgnbd_and_gamma_gamma() {
    let usd = Currency::parse("USD").unwrap();
    let as_of = day_from_ymd(2024, 12, 31);
    // CDNOW-like parameters (weeks), 4,000 customers observed 10–78 weeks.
    let truth = (0.243, 4.41, 0.793, 2.43);
    let ages = uniform_ages(4000, 10.0, 78.0, 3).unwrap();
    let log = simulate_bgnbd_purchases(truth, (6.25, 3.74, 15.44), &ages, 5).unwrap();
    let mut b = DatasetBuilder::new(false);
    for (i, (t, purchases)) in ages.iter().zip(&log).enumerate() {
        let id = format!("c{i:05}");
        let acquired = as_of - (t * 7.0).floor() as i32;
        b.add_customer(&id, acquired, Some("web"), None, None, None);
        for (k, p) in purchases.iter().enumerate() {
            let day = acquired + (p.time * 7.0).floor() as i32;
            let cents = (p.value * 100.0).round().max(1.0) as i64;
            let kind = if k == 0 {
                TransactionKind::New
            } else {
                TransactionKind::OneOff
            };
            b.add_transaction(
                &format!("{id}-{k}"),
                &id,
                day,
                cents,
                Some(cents * 3 / 10),
                usd,
                kind,
            );
        }
    }
    let data = b.build(LoadOptions::all()).unwrap();
    let value = value_report(
        &data,
        &ValueConfig::new(as_of, usd),
        &Grouping::new(&data, GroupBy::All),
    )
    .unwrap();
    let pred = predict(&data, &Fx::new(usd), &value, &PredictConfig::default());
    let (m, g) = pred.bgnbd.clone().unwrap();
    eprintln!(
        "BG/NBD r={:.3} alpha={:.2} a={:.3} b={:.2}; GG p={:.2} q={:.2} gamma={:.2}",
        m.r, m.alpha, m.a, m.b, g.p, g.q, g.gamma
    );
    // Purchases merged per day and dated to whole days: the fit is close to, not equal to, the
    // truth. r and α are well determined by 4,000 customers.
    assert!((m.r / truth.0 - 1.0).abs() < 0.3, "r {}", m.r);
    assert!((m.alpha / truth.1 - 1.0).abs() < 0.3, "alpha {}", m.alpha);
    // Margin: COGS is 30 % of each line, so 70 % (to the cent rounding).
    assert!(
        (pred.purchase_margin - 0.7).abs() < 0.001,
        "{}",
        pred.purchase_margin
    );
    let mut inactive = 0;
    let st = statuses(
        &data,
        &Fx::new(usd),
        as_of,
        Some(&pred),
        &StatusConfig::default(),
    );
    for p in &pred.customers {
        assert!(
            matches!(
                p.method,
                Method::BgNbdGammaGamma {
                    horizon_months: 36,
                    ..
                }
            ),
            "{:?}",
            p.method
        );
        let pa = p.p_alive.unwrap();
        assert!((0.0..=1.0).contains(&pa));
        assert!(p.future_profit.unwrap() >= 0);
        let s = st[p.customer as usize].status;
        assert_eq!(s == Status::Inactive, pa < 0.5);
        inactive += usize::from(s == Status::Inactive);
    }
    assert!(inactive > 100 && inactive < 3900, "{inactive} inactive");
    assert!(pred.sbg.is_empty());
}
