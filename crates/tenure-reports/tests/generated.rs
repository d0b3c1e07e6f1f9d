//! On a company drawn by `tenure generate` (imported into a SQLite store and loaded back, as
//! the CLI does), the reports recover the parameters it was drawn from.
//!
//! Tolerances, each from the sampling error of the estimate (the company is one seeded draw,
//! so these are deterministic, but they would hold for ~99.9 % of seeds):
//! - churn per plan (monthly billing): the sBG fitted by `predict` passes the likelihood-ratio
//!   test against the plan's true (α, β) at 99.9 %: 2 (ℓ(α̂, β̂) − ℓ(α, β)) < 13.82 = χ²₂(0.999)
//!   (α̂ and β̂ are strongly correlated and, for a few hundred customers, far from normal, so
//!   neither separate ±k SE checks nor a Wald test with the observed information are
//!   calibrated; the LR statistic is); and its mean first-period churn α̂/(α̂+β̂) is within 3.5
//!   standard errors (delta method) of α/(α+β); the Kaplan–Meier survival of first
//!   subscriptions after k = 1, 3, 6, 12 billing months lies within 3.5 Greenwood standard
//!   errors, Ŝ·√V, of the sBG's S(k) = B(α, β+k)/B(α, β);
//! - CAC per channel: the value ledger's allocated acquisition cost per customer of a channel
//!   is Σₘ cac·nₘ·fₘ / Σₘ nₘ with monthly noise fₘ ~ LogNormal(−σ²/2, σ) (σ = `cac_noise`),
//!   so its standard deviation is cac · √(e^{σ²} − 1) · √(Σ nₘ²) / Σ nₘ, computed from the
//!   month counts; the estimate lies within 4 of them;
//! - channel shares within 3 binomial standard errors √(p(1−p)/n);
//! - COGS: each line's cogs is its amount × (1 − margin) rounded half up to a cent, so the
//!   ledger's COGS is within ½ cent × lines of 20 % of subscription revenue + 70 % of services
//!   revenue (one-offs, change orders).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use tenure_core::BillingInterval;
use tenure_core::{Currency, TransactionKind};
use tenure_generate::{generate, Cents, Config, RecordFile};
use tenure_models::sbg::{SbgParams, SbgRecord, SbgRecords};
use tenure_reports::calendar::Month;
use tenure_reports::predict::{first_subscription_records, predict, PredictConfig};
use tenure_reports::survival::{survival_report, Spells};
use tenure_reports::value::{conduit, value_report, ValueConfig};
use tenure_reports::{Fx, GroupBy, Grouping};
use tenure_store::{LoadOptions, Location, RecordKind};

fn company() -> (Config, tenure_store::Dataset, tenure_reports::calendar::Day) {
    let mut cfg = Config {
        customers: 20_000,
        seed: 11,
        brand_monthly: Cents(0),
        commission_rate: 0.0,
        ..Config::default()
    };
    cfg.usage.users_per_customer = 0;
    let mut files: [Vec<u8>; RecordFile::COUNT] = Default::default();
    let summary = generate(&cfg, &mut files).unwrap();
    let dir = std::env::temp_dir().join(format!("tenure-reports-generated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = tenure_store::open(&Location::Sqlite(dir.join("t.db"))).unwrap();
    for (kind, f) in [
        (RecordKind::Customers, RecordFile::Customers),
        (RecordKind::Transactions, RecordFile::Transactions),
        (RecordKind::Subscriptions, RecordFile::Subscriptions),
        (RecordKind::Costs, RecordFile::Costs),
    ] {
        let p = dir.join(f.file_name());
        std::fs::write(&p, &files[f as usize]).unwrap();
        store
            .import(kind, &p, &Default::default(), &mut |_| {})
            .unwrap();
    }
    let data = store
        .load(&LoadOptions {
            usage: false,
            feedback: false,
            ..LoadOptions::all()
        })
        .unwrap();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let o = summary.observed_until;
    use chrono::Datelike;
    let as_of = tenure_reports::calendar::day_from_ymd(o.year(), o.month(), o.day());
    (cfg, data, as_of)
}

/// ln B(a, b).
fn ln_beta(a: f64, b: f64) -> f64 {
    tenure_models::special::ln_gamma(a) + tenure_models::special::ln_gamma(b)
        - tenure_models::special::ln_gamma(a + b)
}

#[test]
fn reports_recover_the_generating_parameters() {
    let (cfg, data, as_of) = company();
    let usd = Currency::parse("USD").unwrap();

    // --- Churn per plan: sBG fitted by `predict` and Kaplan–Meier of first subscriptions.
    let vcfg = ValueConfig::new(as_of, usd);
    let by_channel = Grouping::new(&data, GroupBy::Channel);
    let value = value_report(&data, &vcfg, &by_channel).unwrap();
    let pred = predict(&data, &Fx::new(usd), &value, &PredictConfig::default());
    let labels: Vec<Option<String>> = (0..data.len() as u32)
        .map(|c| {
            let s = data.subscriptions_of(c).first()?;
            Some(format!("{}/{}", data.name(s.plan), s.interval))
        })
        .collect();
    let by_plan_interval = Grouping::custom("plan/interval", labels);
    let surv = survival_report(&data, as_of, Spells::First, &by_plan_interval, 0.95).unwrap();
    for plan in &cfg.plans {
        let truth = plan.churn_monthly;
        let g = pred
            .sbg
            .iter()
            .find(|g| g.plan == plan.name && g.interval == tenure_core::BillingInterval::Month)
            .unwrap();
        let est = g.params.clone().unwrap();
        let (se_a, se_b) = g.standard_errors;
        eprintln!(
            "{}: n={} churned={} alpha {:.3} ± {se_a:.3} (true {}), beta {:.2} ± {se_b:.2} (true {})",
            plan.name, g.customers, g.churned, est.alpha, truth.alpha, est.beta, truth.beta
        );
        let cov = g.covariance.unwrap();
        let records: Vec<SbgRecord> = first_subscription_records(&data, as_of)
            .into_iter()
            .filter(|((p, i), _)| data.name(*p) == plan.name && *i == BillingInterval::Month)
            .map(|(_, r)| r)
            .collect();
        let rec = SbgRecords::new(&records).unwrap();
        let lr = 2.0
            * (rec.log_likelihood(&est)
                - rec.log_likelihood(&SbgParams {
                    alpha: truth.alpha,
                    beta: truth.beta,
                }));
        // Mean churn m = α/(α+β): ∂m/∂α = β/(α+β)², ∂m/∂β = −α/(α+β)².
        let s2 = (est.alpha + est.beta).powi(2);
        let (ga, gb) = (est.beta / s2, -est.alpha / s2);
        let se_m = (ga * ga * cov[0][0] + 2.0 * ga * gb * cov[0][1] + gb * gb * cov[1][1]).sqrt();
        let m = est.alpha / (est.alpha + est.beta);
        eprintln!(
            "  LR {lr:.2}; mean churn {m:.4} ± {se_m:.4} (true {:.4})",
            truth.mean()
        );
        assert!((0.0..13.82).contains(&lr), "{}: LR {lr}", plan.name);
        assert!(
            (m - truth.mean()).abs() < 3.5 * se_m,
            "{}: mean churn {m}",
            plan.name
        );
        let km = &surv
            .groups
            .iter()
            .find(|s| s.label == format!("{}/month", plan.name))
            .unwrap()
            .km;
        // After k billing months and before k+1 (k months last at most 31k days, k+1 at least
        // 28(k+1)).
        for (k, day) in [(1u32, 40u32), (3, 100), (6, 195), (12, 380)] {
            let p = km.point_at(day).unwrap();
            let s_true = (ln_beta(truth.alpha, truth.beta + f64::from(k))
                - ln_beta(truth.alpha, truth.beta))
            .exp();
            let se = p.survival * p.greenwood.sqrt();
            eprintln!(
                "  S({k} months) KM {:.4} ± {se:.4}, sBG truth {s_true:.4}",
                p.survival
            );
            assert!(
                (p.survival - s_true).abs() < 3.5 * se,
                "{} S({k})",
                plan.name
            );
        }
        // First-month churn rate = 1 − S(1) = E[θ] = α/(α+β).
        let churn1 = 1.0 - km.point_at(40).unwrap().survival;
        eprintln!(
            "  first-month churn {churn1:.4} (E[θ] = {:.4})",
            truth.mean()
        );
    }

    // --- CAC per channel, and channel shares.
    let n = value.total.customers as f64;
    let mut monthly: HashMap<(String, Month), f64> = HashMap::new();
    for c in &data.customers {
        let ch = data.name(c.channel.unwrap()).to_string();
        *monthly.entry((ch, Month::of_day(c.acquired))).or_default() += 1.0;
    }
    let sd_f = (cfg.cac_noise.powi(2).exp() - 1.0).sqrt();
    for ch in &cfg.channels {
        let g = value.groups.iter().find(|g| g.label == ch.name).unwrap();
        let share = g.customers as f64 / n;
        let se = (ch.share * (1.0 - ch.share) / n).sqrt();
        assert!(
            (share - ch.share).abs() < 3.0 * se,
            "{}: share {share}",
            ch.name
        );
        let counts: Vec<f64> = monthly
            .iter()
            .filter(|((c, _), _)| *c == ch.name)
            .map(|(_, v)| *v)
            .collect();
        let total: f64 = counts.iter().sum();
        let sd = ch.cac.0 as f64 * sd_f * counts.iter().map(|x| x * x).sum::<f64>().sqrt() / total;
        let cac = g.totals.acquisition() as f64 / g.customers as f64;
        eprintln!(
            "{}: share {share:.4} (true {}), CAC {:.2} ± {:.2} (true {})",
            ch.name,
            ch.share,
            cac / 100.0,
            sd / 100.0,
            ch.cac
        );
        assert_eq!(
            g.totals.acquisition_direct, 0,
            "no commissions in this config"
        );
        assert!(
            (cac - ch.cac.0 as f64).abs() < 4.0 * sd,
            "{}: CAC {cac}",
            ch.name
        );
    }
    // Every channel cost found its month's customers: nothing unallocated.
    assert_eq!(value.allocations.unallocated(), 0);

    // --- Gross margins (USD customers; EUR lines are left out and counted).
    let t = &value.total.totals;
    let subs: i64 = [
        TransactionKind::New,
        TransactionKind::Renewal,
        TransactionKind::Expansion,
        TransactionKind::Upsell,
    ]
    .iter()
    .map(|k| t.revenue[conduit(*k)])
    .sum();
    let services = t.revenue[conduit(TransactionKind::OneOff)]
        + t.revenue[conduit(TransactionKind::ChangeOrder)];
    let expected =
        (1.0 - cfg.gross_margin) * subs as f64 + (1.0 - cfg.services_margin) * services as f64;
    let lines = data
        .transactions
        .iter()
        .filter(|l| l.currency == usd && l.kind != TransactionKind::Refund)
        .count() as f64;
    assert!(value.excluded.transactions > 0);
    eprintln!("cogs {} vs {expected:.0} (± {:.0})", t.cogs, 0.5 * lines);
    assert!((t.cogs as f64 - expected).abs() <= 0.5 * lines);
}
