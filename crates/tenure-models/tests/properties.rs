//! Invariants every model keeps for any valid parameters and customers (property tests), and
//! grouped = ungrouped for the fits (simulated populations, fixed seeds).
//!
//! Parameters are drawn log-uniformly from [0.05, 20]; customers have 0..200 repeat purchases,
//! T in (0, 500] and 0 < t_x ≤ T (t_x = 0 when x = 0). Properties:
//! - 0 ≤ P(alive) ≤ 1 and P(alive) does not increase with T (x, t_x fixed);
//! - conditional expected purchases are finite, ≥ 0 and non-decreasing in the horizon, and so is
//!   E[X(t)] of a new customer in t;
//! - batch = one by one: [`customer_lifetime_values`] equals [`customer_lifetime_value`] per
//!   row exactly, [`RfmModel::score_rows`] equals P(alive) and the conditional expected purchases
//!   row by row to the bit, and the grouped log-likelihood of every `Likelihood` equals the sum of the
//!   individual log-likelihoods over the ungrouped rows;
//! - grouped fit = ungrouped fit: rows repeated through weights fit to the same parameters and
//!   log-likelihood as the same rows repeated in the data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tenure_models::bgbb::{fit_bgbb, BgBbData, BgBbParams, BgBbRow};
use tenure_models::bgnbd::{fit_bgnbd, BgNbdLikelihood, BgNbdParams};
use tenure_models::clv::{customer_lifetime_value, customer_lifetime_values, ClvConfig};
use tenure_models::gammagamma::{fit_gammagamma, GammaGammaParams, SpendData, SpendRow};
use tenure_models::mbgnbd::{fit_mbgnbd, MbgNbdLikelihood, MbgNbdParams};
use tenure_models::paretonbd::{fit_paretonbd, ParetoNbdLikelihood, ParetoNbdParams};
use tenure_models::simulate::{
    simulate_bgbb, simulate_bgnbd, simulate_mean_spend, simulate_paretonbd, uniform_ages,
};
use tenure_models::{Fit, FitOptions, Likelihood, ModelError, Rfm, RfmModel, RfmRow};

// ---------------------------------------------------------------------------------------------
// Strategies

/// A model parameter, log-uniform on [0.05, 20].
fn param() -> impl Strategy<Value = f64> {
    (0.05f64.ln()..=20f64.ln()).prop_map(f64::exp)
}

/// A positive time, log-uniform on [lo, hi].
fn time(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    (lo.ln()..=hi.ln()).prop_map(move |u| u.exp().clamp(lo, hi))
}

fn bgnbd() -> impl Strategy<Value = BgNbdParams> {
    (param(), param(), param(), param()).prop_map(|(r, alpha, a, b)| BgNbdParams { r, alpha, a, b })
}

fn mbgnbd() -> impl Strategy<Value = MbgNbdParams> {
    (param(), param(), param(), param()).prop_map(|(r, alpha, a, b)| MbgNbdParams {
        r,
        alpha,
        a,
        b,
    })
}

fn paretonbd() -> impl Strategy<Value = ParetoNbdParams> {
    (param(), param(), param(), param()).prop_map(|(r, alpha, s, beta)| ParetoNbdParams {
        r,
        alpha,
        s,
        beta,
    })
}

/// A valid customer: x whole in 0..200, T in (0, 500], t_x = 0 when x = 0, else in (0, T]
/// (sometimes exactly T: a purchase on the last day).
fn customer() -> impl Strategy<Value = RfmRow> {
    let share = prop_oneof![1 => Just(1.0), 4 => 1e-6f64..1.0];
    (0u32..200, time(1e-3, 500.0), share).prop_map(|(x, t, share)| {
        let x = f64::from(x);
        let t_x = if x == 0.0 {
            0.0
        } else {
            (t * share).max(f64::MIN_POSITIVE)
        };
        RfmRow { x, t_x, t }
    })
}

/// Up to `max` customers drawn from a pool of at most 8 distinct ones, so that rows repeat.
fn customers(max: usize) -> impl Strategy<Value = Vec<RfmRow>> {
    prop::collection::vec(customer(), 1..8).prop_flat_map(move |pool| {
        let n = pool.len();
        prop::collection::vec(0..n, 1..max)
            .prop_map(move |picks| picks.iter().map(|&i| pool[i]).collect())
    })
}

fn bgbb() -> impl Strategy<Value = BgBbParams> {
    (param(), param(), param(), param()).prop_map(|(alpha, beta, gamma, delta)| BgBbParams {
        alpha,
        beta,
        gamma,
        delta,
    })
}

/// A valid BG/BB customer: n in 1..=60 opportunities, 0 ≤ x ≤ t_x ≤ n, t_x = 0 iff x = 0.
fn bgbb_row() -> impl Strategy<Value = BgBbRow> {
    (1u32..=60)
        .prop_flat_map(|n| (Just(n), 0..=n))
        .prop_flat_map(|(n, x)| (Just(n), Just(x), if x == 0 { 0..=0 } else { x..=n }))
        .prop_map(|(n, x, t_x)| BgBbRow {
            x: f64::from(x),
            t_x: f64::from(t_x),
            n: f64::from(n),
        })
}

fn spend_row() -> impl Strategy<Value = SpendRow> {
    (1u32..200, time(0.01, 1e4)).prop_map(|(x, mean_spend)| SpendRow {
        x: f64::from(x),
        mean_spend,
    })
}

// ---------------------------------------------------------------------------------------------
// Shared checks

/// P(alive) in [0, 1], not increasing with T; conditional expectations finite, ≥ 0 and
/// non-decreasing in the horizon; E[X(t)] non-decreasing in t.
fn check_predictions<M: RfmModel>(
    m: &M,
    c: RfmRow,
    later: f64,
    h: (f64, f64),
) -> Result<(), TestCaseError> {
    let name = m.name();
    let pa = m.p_alive(c.x, c.t_x, c.t);
    prop_assert!(
        pa.is_finite() && (0.0..=1.0).contains(&pa),
        "{name}: P(alive) = {pa} at {c:?}"
    );
    // Observed longer without a further purchase: no more likely to be alive.
    let pa_later = m.p_alive(c.x, c.t_x, c.t + later);
    prop_assert!(
        pa_later.is_finite() && pa_later <= pa * (1.0 + 1e-12),
        "{name}: P(alive) rises from {pa} to {pa_later} when T grows by {later} at {c:?}"
    );

    let (h1, h2) = if h.0 <= h.1 { h } else { (h.1, h.0) };
    let e1 = m.conditional_expected_purchases(h1, c.x, c.t_x, c.t);
    let e2 = m.conditional_expected_purchases(h2, c.x, c.t_x, c.t);
    for (h, e) in [(h1, e1), (h2, e2)] {
        prop_assert!(
            e.is_finite() && e >= 0.0,
            "{name}: E[X | {c:?}] over {h} = {e}"
        );
    }
    prop_assert!(
        e1 <= e2 * (1.0 + 1e-12),
        "{name}: E[X | {c:?}] falls from {e1} (horizon {h1}) to {e2} (horizon {h2})"
    );

    let (n1, n2) = (m.expected_purchases(h1), m.expected_purchases(h2));
    prop_assert!(
        n1.is_finite() && n1 >= 0.0 && n2.is_finite(),
        "{name}: E[X(t)] = {n1} at {h1}, {n2} at {h2}"
    );
    prop_assert!(
        n1 <= n2 * (1.0 + 1e-12),
        "{name}: E[X(t)] falls from {n1} (t = {h1}) to {n2} (t = {h2})"
    );
    Ok(())
}

/// |grouped − Σ individual| ≤ 1e-10 × Σ |individual| (the scale of rounding in the sum).
fn check_grouped_ll(
    what: &str,
    grouped: f64,
    individual: impl Iterator<Item = f64>,
) -> Result<(), TestCaseError> {
    let (mut sum, mut scale) = (0.0, 0.0);
    for l in individual {
        sum += l;
        scale += l.abs();
    }
    prop_assert!(
        grouped.is_finite() && sum.is_finite(),
        "{what}: grouped {grouped}, sum {sum}"
    );
    prop_assert!(
        (grouped - sum).abs() <= 1e-10 * scale.max(1.0),
        "{what}: grouped log-likelihood {grouped} vs sum of rows {sum}"
    );
    Ok(())
}

/// CLV of every row in one batch equals CLV row by row, exactly.
fn check_clv_batch<M: RfmModel>(
    m: &M,
    rows: &[RfmRow],
    spends: &[f64],
    cfg: &ClvConfig,
) -> Result<(), TestCaseError> {
    let batch = customer_lifetime_values(m, rows, spends, cfg).unwrap();
    prop_assert_eq!(batch.len(), rows.len());
    for ((row, &spend), &b) in rows.iter().zip(spends).zip(&batch) {
        let one = customer_lifetime_value(m, row, spend, cfg).unwrap();
        prop_assert!(
            b.is_finite() && b >= 0.0,
            "{}: CLV {b} at {row:?}",
            m.name()
        );
        prop_assert!(
            b.to_bits() == one.to_bits(),
            "{}: batch CLV {b} vs one by one {one} at {row:?}",
            m.name()
        );
    }
    Ok(())
}

fn clv_config() -> impl Strategy<Value = ClvConfig> {
    (1u32..=24, time(0.1, 20.0), 0.0f64..0.3, 0.05f64..=1.0).prop_map(|(k, len, d, margin)| {
        ClvConfig::new(k, len, d)
            .and_then(|c| c.with_margin(margin))
            .unwrap()
    })
}

// ---------------------------------------------------------------------------------------------
// Predictions

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bgnbd_predictions_are_probabilities_and_monotone(
        m in bgnbd(), c in customer(), later in time(1e-3, 100.0),
        h1 in time(1e-3, 500.0), h2 in time(1e-3, 500.0),
    ) {
        check_predictions(&m, c, later, (h1, h2))?;
    }

    #[test]
    fn mbgnbd_predictions_are_probabilities_and_monotone(
        m in mbgnbd(), c in customer(), later in time(1e-3, 100.0),
        h1 in time(1e-3, 500.0), h2 in time(1e-3, 500.0),
    ) {
        check_predictions(&m, c, later, (h1, h2))?;
    }

    #[test]
    fn paretonbd_predictions_are_probabilities_and_monotone(
        m in paretonbd(), c in customer(), later in time(1e-3, 100.0),
        h1 in time(1e-3, 500.0), h2 in time(1e-3, 500.0),
    ) {
        check_predictions(&m, c, later, (h1, h2))?;
    }

    #[test]
    fn bgbb_predictions_are_probabilities_and_monotone(
        m in bgbb(), c in bgbb_row(), h1 in 1u32..=100, h2 in 1u32..=100,
    ) {
        let pa = m.p_alive(c.x, c.t_x, c.n);
        prop_assert!(pa.is_finite() && (0.0..=1.0).contains(&pa), "P(alive) = {pa} at {c:?}");
        let (h1, h2) = (f64::from(h1.min(h2)), f64::from(h1.max(h2)));
        let e1 = m.conditional_expected_transactions(h1, c.x, c.t_x, c.n);
        let e2 = m.conditional_expected_transactions(h2, c.x, c.t_x, c.n);
        prop_assert!(e1.is_finite() && e1 >= 0.0 && e2.is_finite(), "E = {e1}, {e2} at {c:?}");
        prop_assert!(e1 <= e2 * (1.0 + 1e-12), "E falls from {e1} ({h1}) to {e2} ({h2}) at {c:?}");
        // At most one transaction per opportunity.
        prop_assert!(e2 <= h2 * (1.0 + 1e-12), "E = {e2} over {h2} opportunities at {c:?}");
        let (n1, n2) = (m.expected_transactions(h1), m.expected_transactions(h2));
        prop_assert!(n1.is_finite() && n1 >= 0.0 && n1 <= n2 * (1.0 + 1e-12),
            "E[X(n)] = {n1} at {h1}, {n2} at {h2}");
    }

    /// E[M | x, m̄] = w m̄ + (1 − w) E(Z) with w = px/(px+q−1) ∈ (0, 1) when q > 1: it lies
    /// between the customer's own mean and the population mean.
    #[test]
    fn gammagamma_expected_spend_lies_between_own_and_population_mean(
        p in param(), q in param(), gamma in param(), r in spend_row(),
    ) {
        let m = GammaGammaParams { p, q, gamma };
        let e = m.conditional_expected_spend(r.x, r.mean_spend);
        if p * r.x + q <= 1.0 {
            prop_assert!(e.is_err(), "px + q ≤ 1 but E = {e:?}");
        } else {
            let e = e.unwrap();
            prop_assert!(e.is_finite() && e > 0.0, "E = {e}");
            if q > 1.0 {
                let pop = m.population_mean_spend().unwrap();
                let (lo, hi) = (pop.min(r.mean_spend), pop.max(r.mean_spend));
                prop_assert!(lo * (1.0 - 1e-12) <= e && e <= hi * (1.0 + 1e-12),
                    "E = {e} outside [{lo}, {hi}]");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Batch = one by one

/// [`RfmModel::score_rows`] (which shares work between rows) gives the one-by-one values to
/// the bit, on rows that repeat x, T and t_x in many combinations.
fn check_score_rows<M: RfmModel>(
    m: &M,
    rows: &[RfmRow],
    horizon: f64,
) -> Result<(), TestCaseError> {
    let batch = m.score_rows(horizon, rows);
    prop_assert_eq!(batch.len(), rows.len());
    for (r, &(p, e)) in rows.iter().zip(&batch) {
        let p1 = m.p_alive(r.x, r.t_x, r.t);
        let e1 = m.conditional_expected_purchases(horizon, r.x, r.t_x, r.t);
        prop_assert!(
            p.to_bits() == p1.to_bits() && e.to_bits() == e1.to_bits(),
            "{}: batch ({p}, {e}) vs one by one ({p1}, {e1}) at {r:?}",
            m.name()
        );
    }
    Ok(())
}

/// Rows mixing a few x, T and t_x values: every (x, T) and (x, t_x) pair recurs.
fn crossed_customers() -> impl Strategy<Value = Vec<RfmRow>> {
    (
        prop::collection::vec(0u32..200, 1..5),
        prop::collection::vec(time(1e-3, 500.0), 1..5),
        prop::collection::vec(1e-6f64..=1.0, 1..5),
    )
        .prop_map(|(xs, ts, shares)| {
            let mut rows = Vec::new();
            for &x in &xs {
                for &t in &ts {
                    for &share in &shares {
                        let x = f64::from(x);
                        let t_x = if x == 0.0 {
                            0.0
                        } else {
                            (t * share).max(f64::MIN_POSITIVE)
                        };
                        rows.push(RfmRow { x, t_x, t });
                        rows.push(RfmRow { x, t_x: t, t });
                    }
                }
            }
            rows
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn bgnbd_score_rows_equals_one_by_one(m in bgnbd(), rows in crossed_customers(), h in time(1e-3, 500.0)) {
        check_score_rows(&m, &rows, h)?;
    }

    #[test]
    fn mbgnbd_score_rows_equals_one_by_one(m in mbgnbd(), rows in crossed_customers(), h in time(1e-3, 500.0)) {
        check_score_rows(&m, &rows, h)?;
    }

    #[test]
    fn paretonbd_score_rows_equals_one_by_one(m in paretonbd(), rows in crossed_customers(), h in time(1e-3, 500.0)) {
        check_score_rows(&m, &rows, h)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn bgnbd_grouped_loglik_is_the_sum_over_rows(m in bgnbd(), rows in customers(60)) {
        let lik = BgNbdLikelihood::new(&Rfm::new(&rows).unwrap());
        let ll = lik.log_likelihood(&m.params());
        check_grouped_ll("BG/NBD", ll, rows.iter().map(|c| m.log_likelihood_one(c.x, c.t_x, c.t)))?;
    }

    #[test]
    fn mbgnbd_grouped_loglik_is_the_sum_over_rows(m in mbgnbd(), rows in customers(60)) {
        let lik = MbgNbdLikelihood::new(&Rfm::new(&rows).unwrap());
        let ll = lik.log_likelihood(&m.params());
        check_grouped_ll("MBG/NBD", ll, rows.iter().map(|c| m.log_likelihood_one(c.x, c.t_x, c.t)))?;
    }

    #[test]
    fn paretonbd_grouped_loglik_is_the_sum_over_rows(m in paretonbd(), rows in customers(60)) {
        let lik = ParetoNbdLikelihood::new(&Rfm::new(&rows).unwrap());
        let ll = lik.log_likelihood(&m.params());
        check_grouped_ll("Pareto/NBD", ll, rows.iter().map(|c| m.log_likelihood_one(c.x, c.t_x, c.t)))?;
    }

    #[test]
    fn bgbb_grouped_loglik_is_the_sum_over_rows(
        m in bgbb(),
        rows in prop::collection::vec(bgbb_row(), 1..8).prop_flat_map(|pool| {
            let n = pool.len();
            prop::collection::vec(0..n, 1..60)
                .prop_map(move |picks| picks.iter().map(|&i| pool[i]).collect::<Vec<_>>())
        }),
    ) {
        let data = BgBbData::new(&rows).unwrap();
        let ll = Likelihood::log_likelihood(&data, &m.to_vec());
        check_grouped_ll("BG/BB", ll, rows.iter().map(|c| m.log_likelihood_one(c.x, c.t_x, c.n)))?;
    }

    #[test]
    fn gammagamma_grouped_loglik_is_the_sum_over_rows(
        p in param(), q in param(), gamma in param(),
        rows in prop::collection::vec(spend_row(), 1..8).prop_flat_map(|pool| {
            let n = pool.len();
            prop::collection::vec(0..n, 1..60)
                .prop_map(move |picks| picks.iter().map(|&i| pool[i]).collect::<Vec<_>>())
        }),
    ) {
        let m = GammaGammaParams { p, q, gamma };
        let data = SpendData::new(&rows).unwrap();
        let ll = Likelihood::log_likelihood(&data, &m.to_vec());
        check_grouped_ll("Gamma-Gamma", ll, rows.iter().map(|c| m.log_likelihood_one(c.x, c.mean_spend)))?;
    }

    #[test]
    fn clv_batch_equals_one_by_one(
        bg in bgnbd(), mbg in mbgnbd(), pareto in paretonbd(),
        rows in customers(30), spends in prop::collection::vec(0.0f64..1000.0, 30),
        cfg in clv_config(),
    ) {
        let spends = &spends[..rows.len()];
        check_clv_batch(&bg, &rows, spends, &cfg)?;
        check_clv_batch(&mbg, &rows, spends, &cfg)?;
        check_clv_batch(&pareto, &rows, spends, &cfg)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Grouped fit = ungrouped fit

const POPULATION: usize = 3_000;

/// A seeded linear congruential generator (Knuth's MMIX constants): enough to pick weights and
/// shuffle rows reproducibly.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Uniform in 0..n.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Each row with a weight in 1..=3, and the same rows repeated that many times, shuffled (so
/// that grouping meets them in another order and sums them in another order).
fn weighted_and_expanded<T: Copy>(rows: &[T], seed: u64) -> (Vec<(T, f64)>, Vec<T>) {
    let mut rng = Lcg(seed);
    let weighted: Vec<(T, f64)> = rows
        .iter()
        .map(|&r| (r, (1 + rng.below(3)) as f64))
        .collect();
    let mut expanded: Vec<T> = weighted
        .iter()
        .flat_map(|&(r, w)| std::iter::repeat_n(r, w as usize))
        .collect();
    for i in (1..expanded.len()).rev() {
        expanded.swap(i, rng.below(i + 1));
    }
    (weighted, expanded)
}

/// A CDNOW-like population: T in whole weeks 26..=78, t_x rounded to days, so rows repeat.
fn population(rows: Vec<RfmRow>) -> Vec<RfmRow> {
    rows.into_iter()
        .map(|c| {
            let t_x = if c.x == 0.0 {
                0.0
            } else {
                ((c.t_x * 7.0).round() / 7.0).clamp(1.0 / 7.0, c.t)
            };
            RfmRow { t_x, ..c }
        })
        .collect()
}

fn ages(seed: u64) -> Vec<f64> {
    uniform_ages(POPULATION, 26.0, 78.0, seed)
        .unwrap()
        .into_iter()
        .map(f64::round)
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// Both fits converged to the same parameters (1e-6 relative) and log-likelihood (1e-10
/// relative), which is also the sum of the individual log-likelihoods over the expanded rows.
/// (The optimiser stops where the mean log-likelihood no longer changes in double precision:
/// two fits of the same data summed in another order stop up to ~5e-7 apart in the flattest
/// parameter, BG/BB's delta here.)
fn assert_same_fit(what: &str, grouped: &Fit, ungrouped: &Fit, by_row: f64) {
    assert!(
        grouped.converged && ungrouped.converged,
        "{what}: {grouped:?} / {ungrouped:?}"
    );
    assert_eq!(grouped.n, ungrouped.n, "{what}: customers");
    for (i, name) in grouped.names.iter().enumerate() {
        let (g, u) = (grouped.params[i], ungrouped.params[i]);
        eprintln!("{what} {name}: weighted {g:.10} expanded {u:.10}");
        assert!(
            rel(g, u) < 1e-6,
            "{what} {name}: weighted {g} vs expanded {u}"
        );
    }
    let (g, u) = (grouped.log_likelihood, ungrouped.log_likelihood);
    assert!(rel(g, u) < 1e-10, "{what}: LL weighted {g} vs expanded {u}");
    assert!(
        rel(g, by_row) < 1e-10,
        "{what}: LL {g} vs sum over rows {by_row}"
    );
}

fn check_rfm_fit<M: RfmModel>(
    what: &str,
    rows: &[RfmRow],
    fit: impl Fn(&Rfm) -> Result<(M, Fit), ModelError>,
) {
    let (weighted, expanded) = weighted_and_expanded(rows, 7);
    let a = Rfm::weighted(weighted.iter().copied()).unwrap();
    let b = Rfm::new(&expanded).unwrap();
    assert_eq!(a.distinct(), b.distinct(), "{what}: distinct rows");
    assert!(
        a.distinct() < expanded.len() / 2,
        "{what}: {} distinct rows",
        a.distinct()
    );
    let (model, fa) = fit(&a).unwrap();
    let (_, fb) = fit(&b).unwrap();
    let by_row: f64 = expanded
        .iter()
        .map(|c| model.log_likelihood_one(c.x, c.t_x, c.t))
        .sum();
    assert_same_fit(what, &fa, &fb, by_row);
}

#[test]
fn bgnbd_weighted_fit_equals_expanded_fit() {
    let rows = population(simulate_bgnbd(0.243, 4.414, 0.793, 2.426, &ages(11), 11).unwrap());
    check_rfm_fit("BG/NBD", &rows, |d| fit_bgnbd(d, &FitOptions::default()));
}

#[test]
fn mbgnbd_weighted_fit_equals_expanded_fit() {
    let rows = population(
        tenure_models::simulate::simulate_mbgnbd(0.525, 6.183, 0.891, 1.614, &ages(12), 12)
            .unwrap(),
    );
    check_rfm_fit("MBG/NBD", &rows, |d| fit_mbgnbd(d, &FitOptions::default()));
}

#[test]
fn paretonbd_weighted_fit_equals_expanded_fit() {
    let rows = population(simulate_paretonbd(0.553, 10.578, 0.606, 11.668, &ages(13), 13).unwrap());
    check_rfm_fit("Pareto/NBD", &rows, |d| {
        fit_paretonbd(d, &FitOptions::default())
    });
}

#[test]
fn gammagamma_weighted_fit_equals_expanded_fit() {
    let rows = simulate_bgnbd(0.243, 4.414, 0.793, 2.426, &ages(14), 14).unwrap();
    let x: Vec<f64> = rows.iter().map(|r| r.x).collect();
    let spends = simulate_mean_spend(6.25, 3.74, 15.44, &x, 14).unwrap();
    // Cents, as money is recorded; customers without repeat purchases are skipped by both.
    let rows: Vec<SpendRow> = x
        .iter()
        .zip(&spends)
        .map(|(&x, &m)| SpendRow {
            x,
            mean_spend: if x == 0.0 {
                0.0
            } else {
                ((m * 100.0).round() / 100.0).max(0.01)
            },
        })
        .collect();
    let (weighted, expanded) = weighted_and_expanded(&rows, 8);
    let a = SpendData::repeat_buyers_weighted(weighted.iter().copied()).unwrap();
    let b = SpendData::repeat_buyers(&expanded).unwrap();
    assert_eq!(a.distinct(), b.distinct());
    assert_eq!(a.skipped(), b.skipped());
    assert!(a.customers() > 1000.0, "{} repeat buyers", a.customers());
    let (model, fa) = fit_gammagamma(&a, &FitOptions::default()).unwrap();
    let (_, fb) = fit_gammagamma(&b, &FitOptions::default()).unwrap();
    let by_row: f64 = expanded
        .iter()
        .filter(|c| c.x > 0.0)
        .map(|c| model.log_likelihood_one(c.x, c.mean_spend))
        .sum();
    assert_same_fit("Gamma-Gamma", &fa, &fb, by_row);
}

#[test]
fn bgbb_weighted_fit_equals_expanded_fit() {
    // Donations-like: 1..=10 opportunities.
    let mut rng = Lcg(15);
    let n: Vec<u32> = (0..POPULATION).map(|_| 1 + rng.below(10) as u32).collect();
    let rows: Vec<BgBbRow> = simulate_bgbb(1.204, 0.750, 0.657, 2.783, &n, 15)
        .unwrap()
        .into_iter()
        .map(|c| BgBbRow {
            x: c.x,
            t_x: c.t_x,
            n: c.t,
        })
        .collect();
    let (weighted, expanded) = weighted_and_expanded(&rows, 9);
    let a = BgBbData::weighted(weighted.iter().copied()).unwrap();
    let b = BgBbData::new(&expanded).unwrap();
    assert_eq!(a.distinct(), b.distinct());
    let (model, fa) = fit_bgbb(&a, &FitOptions::default()).unwrap();
    let (_, fb) = fit_bgbb(&b, &FitOptions::default()).unwrap();
    let by_row: f64 = expanded
        .iter()
        .map(|c| model.log_likelihood_one(c.x, c.t_x, c.n))
        .sum();
    assert_same_fit("BG/BB", &fa, &fb, by_row);
}
