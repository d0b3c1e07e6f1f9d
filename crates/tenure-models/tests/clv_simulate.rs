//! CLV by hand with tiny test-only models, against lifetimes 0.11.3 on CDNOW, and simulated
//! holdout purchases against the models' predictions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use tenure_models::bgnbd::BgNbdParams;
use tenure_models::clv::{
    clv_interval, customer_lifetime_value, customer_lifetime_values, discounted_expected_purchases,
    ClvConfig, ClvError, Spend,
};
use tenure_models::mbgnbd::MbgNbdParams;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::simulate::{
    simulate_bgnbd_holdout, simulate_mbgnbd_holdout, simulate_paretonbd_holdout, uniform_ages,
    SimulatedCustomer,
};
use tenure_models::{RfmModel, RfmRow};

/// The reference-data folder: `TENURE_REFDATA` if set, else the repository's copy.
fn refdata() -> PathBuf {
    std::env::var("TENURE_REFDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../testdata/refdata"
            ))
        })
}

/// A CSV file's comment lines (starting with '#') and its rows as name → column.
struct Csv {
    comments: Vec<String>,
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Csv {
    fn read(name: &str) -> Csv {
        let path = refdata().join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut lines = text.lines();
        let mut comments = Vec::new();
        let header = loop {
            let l = lines.next().expect("a header line");
            if let Some(c) = l.strip_prefix('#') {
                comments.push(c.to_string());
            } else {
                break l.split(',').map(str::to_string).collect::<Vec<_>>();
            }
        };
        let rows = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.split(',')
                    .map(|v| v.trim().parse::<f64>().expect("a number"))
                    .collect()
            })
            .collect();
        Csv {
            comments,
            header,
            rows,
        }
    }
    fn column(&self, name: &str) -> Vec<f64> {
        let j = self
            .header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        self.rows.iter().map(|r| r[j]).collect()
    }
}

/// `"key": value` inside the `"model": {...}` object of a header comment.
fn header_param(comments: &[String], model: &str, key: &str) -> f64 {
    let line = comments
        .iter()
        .find(|c| c.contains("Models fitted"))
        .expect("the parameters' header line");
    let start = line
        .find(&format!("\"{model}\": {{"))
        .expect("the model's object");
    let body = &line[start..];
    let body = &body[..body.find('}').expect("end of object")];
    let at = body.find(&format!("\"{key}\": ")).expect("the parameter") + key.len() + 4;
    let rest = &body[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().expect("a number")
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

// ---------------------------------------------------------------------------------------------
// Test-only models with predictions simple enough to check CLV by hand.

/// Always alive, purchases at rate λ: E(t) = λ t.
struct ConstantRate {
    lambda: f64,
}

/// Alive now, purchases at rate λ, dies at rate μ (memoryless): E(t) = λ/μ (1 − e^(−μt)).
struct ExponentialLifetime {
    lambda: f64,
    mu: f64,
}

macro_rules! test_model {
    ($t:ty, $names:expr, |$s:ident| $params:expr, |$th:ident| $with:expr, |$s2:ident, $h:ident| $e:expr) => {
        impl RfmModel for $t {
            fn name(&self) -> &'static str {
                stringify!($t)
            }
            fn param_names(&self) -> &'static [&'static str] {
                $names
            }
            fn params(&self) -> Vec<f64> {
                let $s = self;
                $params
            }
            fn with_params(&self, $th: &[f64]) -> Self {
                $with
            }
            fn log_likelihood_one(&self, _x: f64, _t_x: f64, _t: f64) -> f64 {
                f64::NAN
            }
            fn p_alive(&self, _x: f64, _t_x: f64, _t: f64) -> f64 {
                1.0
            }
            fn conditional_expected_purchases(&self, $h: f64, _x: f64, _t_x: f64, _t: f64) -> f64 {
                let $s2 = self;
                $e
            }
            fn expected_purchases(&self, t: f64) -> f64 {
                self.conditional_expected_purchases(t, 0.0, 0.0, 0.0)
            }
            fn prob_purchases(&self, _t: f64, _n: u32) -> f64 {
                f64::NAN
            }
        }
    };
}

test_model!(
    ConstantRate,
    &["lambda"],
    |s| vec![s.lambda],
    |th| ConstantRate { lambda: th[0] },
    |s, h| s.lambda * h
);
test_model!(
    ExponentialLifetime,
    &["lambda", "mu"],
    |s| vec![s.lambda, s.mu],
    |th| ExponentialLifetime {
        lambda: th[0],
        mu: th[1]
    },
    |s, h| s.lambda / s.mu * -(-s.mu * h).exp_m1()
);

const ROW: RfmRow = RfmRow {
    x: 2.0,
    t_x: 5.0,
    t: 10.0,
};

#[test]
fn constant_rate_clv_is_the_discounted_sum_by_hand() {
    // λ = 0.5 purchases a week, L = 4 weeks, d = 10% a period, K = 3, spend 20, margin 0.3:
    // each period brings λL = 2 purchases, valued 0.3 · 20 · 2 = 12 at the period's end:
    // 12/1.1 + 12/1.21 + 12/1.331 = 10.909090… + 9.917355… + 9.015777… = 29.842223…
    let cfg = ClvConfig::new(3, 4.0, 0.1)
        .expect("valid")
        .with_margin(0.3)
        .expect("valid");
    let clv =
        customer_lifetime_value(&ConstantRate { lambda: 0.5 }, &ROW, 20.0, &cfg).expect("valid");
    let by_hand: f64 = 12.0 / 1.1 + 12.0 / 1.21 + 12.0 / 1.331;
    assert!((by_hand - 29.842_223_891_810_67).abs() < 1e-12);
    assert!(rel(clv, by_hand) < 1e-14, "{clv} vs {by_hand}");
    // No discounting: margin · spend · λ · K L.
    let flat = ClvConfig::new(3, 4.0, 0.0).expect("valid");
    let v =
        customer_lifetime_value(&ConstantRate { lambda: 0.5 }, &ROW, 20.0, &flat).expect("valid");
    assert!(rel(v, 20.0 * 0.5 * 12.0) < 1e-14);
}

#[test]
fn discounting_weighs_each_period_by_its_own_increment() {
    // E(t) = λ/μ (1 − e^(−μt)): period k brings λ/μ (1 − e^(−μL)) e^(−μ(k−1)L), so
    // DET = λ/μ (1 − e^(−μL)) / (1 + d) · (1 − q^K) / (1 − q), q = e^(−μL) / (1 + d).
    let (lambda, mu, l, d, k) = (0.3, 0.05, 4.345, 0.01, 12u32);
    let model = ExponentialLifetime { lambda, mu };
    let cfg = ClvConfig::new(k, l, d).expect("valid");
    let det = discounted_expected_purchases(&model, &ROW, &cfg).expect("valid");
    let q = (-mu * l).exp() / (1.0 + d);
    let closed =
        lambda / mu * (1.0 - (-mu * l).exp()) / (1.0 + d) * (1.0 - q.powi(k as i32)) / (1.0 - q);
    assert!(rel(det, closed) < 1e-13, "{det} vs {closed}");
    // A single period of length K L discounted once is a different (larger-rate) number:
    // the increments are not lumped.
    let lumped = ClvConfig::new(1, l * f64::from(k), d).expect("valid");
    let one = discounted_expected_purchases(&model, &ROW, &lumped).expect("valid");
    assert!(rel(one, model.expected_purchases(l * f64::from(k)) / (1.0 + d)) < 1e-14);
    assert!(rel(one, det) > 1e-3);
}

#[test]
fn batch_equals_one_by_one_and_accepts_dyn_models() {
    let cfg = ClvConfig::monthly_in_weeks(12, 0.01).expect("valid");
    let model = ExponentialLifetime {
        lambda: 0.3,
        mu: 0.05,
    };
    let rows = [
        ROW,
        RfmRow {
            x: 0.0,
            t_x: 0.0,
            t: 3.0,
        },
        ROW,
        RfmRow {
            x: 7.0,
            t_x: 30.0,
            t: 31.0,
        },
    ];
    let spends = [10.0, 0.0, 12.5, 3.0];
    let dynamic: &dyn RfmModel = &model;
    let batch = customer_lifetime_values(dynamic, &rows, &spends, &cfg).expect("valid");
    for (i, (row, &spend)) in rows.iter().zip(&spends).enumerate() {
        let one = customer_lifetime_value(&model, row, spend, &cfg).expect("valid");
        assert_eq!(batch[i], one, "row {i}");
    }
    // Errors name the row.
    let bad = [
        ROW,
        RfmRow {
            x: 1.0,
            t_x: 0.0,
            t: 3.0,
        },
    ];
    match customer_lifetime_values(&model, &bad, &[1.0, 1.0], &cfg) {
        Err(ClvError::Data(e)) => assert_eq!(e.row(), Some(1)),
        other => panic!("expected a data error, got {other:?}"),
    }
    match customer_lifetime_values(&model, &rows[..2], &[1.0, f64::NAN], &cfg) {
        Err(ClvError::Data(e)) => assert_eq!((e.row(), e.field()), (Some(1), Some("spend"))),
        other => panic!("expected a data error, got {other:?}"),
    }
    assert!(matches!(
        customer_lifetime_values(&model, &rows, &spends[..3], &cfg),
        Err(ClvError::Length { rows: 4, spends: 3 })
    ));
}

#[test]
fn clv_interval_combines_model_and_spend_uncertainty() {
    // CLV = m s λ L A is linear in λ and s, so the delta method is exact:
    // se² = (m L A λ)² se(s)² + (m s L A)² se(λ)².
    let (lambda, se_lambda, s, se_s, m) = (0.5, 0.05, 20.0, 2.0, 0.3);
    let cfg = ClvConfig::new(3, 4.0, 0.1)
        .expect("valid")
        .with_margin(m)
        .expect("valid");
    let annuity = 1.0 / 1.1 + 1.0 / 1.21 + 1.0 / 1.331;
    let model = ConstantRate { lambda };
    let cov = vec![vec![se_lambda * se_lambda]];
    let est =
        clv_interval(&model, &ROW, Spend { mean: s, se: se_s }, &cfg, &cov, 0.95).expect("valid");
    let value = m * s * lambda * 4.0 * annuity;
    let se = ((m * 4.0 * annuity * lambda * se_s).powi(2)
        + (m * s * 4.0 * annuity * se_lambda).powi(2))
    .sqrt();
    assert!(rel(est.value, value) < 1e-14);
    assert!(rel(est.se, se) < 1e-6, "{} vs {se}", est.se);
    // Log-scale interval: value · exp(±z se / value).
    let z = 1.959_963_984_540_054;
    assert!(rel(est.lower, value * (-z * se / value).exp()) < 1e-6);
    assert!(rel(est.upper, value * (z * se / value).exp()) < 1e-6);
    // A known spend leaves only the model's part.
    let known = clv_interval(&model, &ROW, Spend::known(s), &cfg, &cov, 0.95).expect("valid");
    assert!(rel(known.se, m * s * 4.0 * annuity * se_lambda) < 1e-6);
    // Wrong covariance shape.
    assert!(matches!(
        clv_interval(&model, &ROW, Spend::known(s), &cfg, &[vec![1.0, 0.0]], 0.95),
        Err(ClvError::Covariance { expected: 1 })
    ));
    assert!(clv_interval(&model, &ROW, Spend::known(s), &cfg, &cov, 1.0).is_err());
}

// ---------------------------------------------------------------------------------------------
// Against lifetimes 0.11.3 on CDNOW.

fn cdnow_bgnbd_and_spends() -> (BgNbdParams, Vec<RfmRow>, Vec<f64>, Csv) {
    let pred = Csv::read("cdnow_predictions_lifetimes_0.11.3.csv");
    let c = &pred.comments;
    let model = BgNbdParams {
        r: header_param(c, "bgnbd", "r"),
        alpha: header_param(c, "bgnbd", "alpha"),
        a: header_param(c, "bgnbd", "a"),
        b: header_param(c, "bgnbd", "b"),
    };
    let (p, q, gamma) = (
        header_param(c, "gammagamma", "p"),
        header_param(c, "gammagamma", "q"),
        header_param(c, "gammagamma", "gamma"),
    );
    let data = Csv::read("cdnow_customers_summary_with_transactions.csv");
    let (x, t_x, t, zbar) = (
        data.column("x"),
        data.column("t_x"),
        data.column("T"),
        data.column("zbar"),
    );
    let rows: Vec<RfmRow> = (0..x.len())
        .map(|i| RfmRow {
            x: x[i],
            t_x: t_x[i],
            t: t[i],
        })
        .collect();
    // Gamma-Gamma conditional expected spend (Fader, Hardie & Lee 2005, "RFM and CLV", spend
    // model): w m̄ + (1 − w) γp/(q − 1), w = px/(px + q − 1); x = 0 gets the population mean.
    let spends = x
        .iter()
        .zip(&zbar)
        .map(|(&x, &m)| {
            let w = p * x / (p * x + q - 1.0);
            w * m + (1.0 - w) * gamma * p / (q - 1.0)
        })
        .collect();
    assert_eq!(data.column("ID"), pred.column("customer_id"));
    (model, rows, spends, pred)
}

#[test]
fn bgnbd_clv_matches_lifetimes() {
    let (model, rows, spends, pred) = cdnow_bgnbd_and_spends();
    let reference_spend = pred.column("gg_expected_spend");
    for (i, (s, r)) in spends.iter().zip(&reference_spend).enumerate() {
        assert!(rel(*s, *r) < 1e-9, "row {i}: spend {s} vs lifetimes {r}");
    }
    let cfg = ClvConfig::monthly_in_weeks(12, 0.01).expect("valid");
    let clv = customer_lifetime_values(&model, &rows, &spends, &cfg).expect("valid");
    let reference = pred.column("bgnbd_clv_12mo");
    assert_eq!(clv.len(), 2357);
    let mut worst = (0.0, 0);
    for (i, (c, r)) in clv.iter().zip(&reference).enumerate() {
        let e = rel(*c, *r);
        if e > worst.0 {
            worst = (e, i);
        }
    }
    let i = worst.1;
    eprintln!(
        "CLV vs lifetimes: worst relative error {:e} (customer {})",
        worst.0,
        i + 1
    );
    assert!(
        worst.0 < 1e-6,
        "worst relative error {:e} at customer {} ({:?}): {} vs lifetimes {}",
        worst.0,
        i + 1,
        rows[i],
        clv[i],
        reference[i]
    );
}

#[test]
fn bgnbd_clv_interval_brackets_the_estimate() {
    let (model, rows, spends, _) = cdnow_bgnbd_and_spends();
    let cfg = ClvConfig::monthly_in_weeks(12, 0.01).expect("valid");
    // A diagonal covariance of 5% relative standard errors (illustrative, not CDNOW's).
    let cov: Vec<Vec<f64>> = (0..4)
        .map(|i| {
            (0..4)
                .map(|j| {
                    if i == j {
                        (0.05 * model.params()[i]).powi(2)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let est =
        clv_interval(&model, &rows[0], Spend::known(spends[0]), &cfg, &cov, 0.9).expect("valid");
    let point = customer_lifetime_value(&model, &rows[0], spends[0], &cfg).expect("valid");
    assert!(rel(est.value, point) < 1e-15);
    assert!(est.se > 0.0 && est.lower > 0.0 && est.lower < point && point < est.upper);
}

// ---------------------------------------------------------------------------------------------
// Simulated holdouts against predictions.

/// Simulated customers' holdout counts and alive flags against the model's conditional
/// predictions: the mean residual (simulated − predicted) must be within 4 standard errors of 0,
/// since both predictions are conditional expectations of the simulated quantities.
fn assert_predictions_match(
    what: &str,
    model: &dyn RfmModel,
    sim: &[SimulatedCustomer],
    horizon: f64,
) {
    let n = sim.len() as f64;
    let mut diff = Vec::with_capacity(sim.len());
    let mut alive_diff = Vec::with_capacity(sim.len());
    for c in sim {
        let r = c.row;
        diff.push(c.holdout - model.conditional_expected_purchases(horizon, r.x, r.t_x, r.t));
        alive_diff.push(f64::from(u8::from(c.alive)) - model.p_alive(r.x, r.t_x, r.t));
    }
    for (quantity, d) in [("holdout purchases", &diff), ("alive", &alive_diff)] {
        let m = d.iter().sum::<f64>() / n;
        let se = (d.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)).sqrt() / n.sqrt();
        eprintln!("{what} {quantity}: mean residual {m:.5}, se {se:.5}");
        assert!(
            m.abs() < 4.0 * se,
            "{what} {quantity}: mean residual {m}, se {se}"
        );
    }
}

#[test]
fn simulated_bgnbd_holdout_matches_conditional_predictions() {
    let model = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    let t = uniform_ages(100_000, 26.0, 78.0, 5).expect("valid");
    let sim =
        simulate_bgnbd_holdout(model.r, model.alpha, model.a, model.b, &t, 39.0, 5).expect("valid");
    assert_predictions_match("BG/NBD", &model, &sim, 39.0);
}

#[test]
fn simulated_mbgnbd_holdout_matches_conditional_predictions() {
    let model = MbgNbdParams {
        r: 0.525,
        alpha: 6.183,
        a: 0.891,
        b: 1.614,
    };
    let t = uniform_ages(100_000, 26.0, 78.0, 8).expect("valid");
    let sim = simulate_mbgnbd_holdout(model.r, model.alpha, model.a, model.b, &t, 39.0, 8)
        .expect("valid");
    assert_predictions_match("MBG/NBD", &model, &sim, 39.0);
}

#[test]
fn simulated_paretonbd_holdout_matches_conditional_predictions() {
    let model = ParetoNbdParams {
        r: 0.553,
        alpha: 10.578,
        s: 0.606,
        beta: 11.668,
    };
    let t = uniform_ages(100_000, 26.0, 78.0, 6).expect("valid");
    let sim = simulate_paretonbd_holdout(model.r, model.alpha, model.s, model.beta, &t, 39.0, 6)
        .expect("valid");
    assert_predictions_match("Pareto/NBD", &model, &sim, 39.0);
}
