//! Model checking on a holdout period — the numbers `tenure validate` reports: the tracking
//! series (expected cumulative repeat purchases of a population whose members joined at
//! different times), predicted against actual holdout purchases per customer and by
//! calibration frequency, and a recommendation among fitted models.
//!
//! Invariants: times are in the model's unit; every total is summed in the order of its input
//! (cohorts by birth, rows as given), so a result does not depend on threads or on hashing.

use crate::{RfmModel, RfmRow};

/// Customers who made their first purchase at the same time: `birth` is that time, in the
/// model's unit, from the start of tracking (≥ 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cohort {
    pub birth: f64,
    pub customers: f64,
}

/// Expected cumulative repeat purchases at each time of `at`: Σ customers × E[X(t − birth)]
/// over the cohorts born strictly before t (lifetimes' `expected_cumulative_transactions`, Fader,
/// Hardie & Lee 2005's tracking plot). Non-decreasing in t for sorted `at`.
pub fn expected_cumulative(model: &dyn RfmModel, cohorts: &[Cohort], at: &[f64]) -> Vec<f64> {
    at.iter()
        .map(|&t| {
            cohorts
                .iter()
                .filter(|c| c.birth < t)
                .map(|c| c.customers * model.expected_purchases(t - c.birth))
                .sum()
        })
        .collect()
}

/// Customers with calibration frequency in `from..=to` (`to = None`: `from` and above).
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyBin {
    pub from: u64,
    pub to: Option<u64>,
    pub customers: usize,
    /// Mean actual holdout purchases of these customers.
    pub actual_mean: f64,
    /// Mean of their conditional expected holdout purchases.
    pub predicted_mean: f64,
}

/// Predicted against actual holdout purchases.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutCheck {
    pub customers: usize,
    pub actual_total: f64,
    pub predicted_total: f64,
    /// Per customer: mean absolute error and root mean squared error of the holdout purchases.
    pub mae: f64,
    pub rmse: f64,
    /// The conditional-expectations table: one bin per calibration frequency 0..last_bin−1, and
    /// one for `last_bin` and above. Bins without customers are left out.
    pub by_frequency: Vec<FrequencyBin>,
}

/// Score every customer for the holdout: (P(alive) at the calibration end, conditional expected
/// purchases in the `horizon` after it), exactly as `tenure predict` does.
pub fn holdout_scores(model: &dyn RfmModel, horizon: f64, rows: &[RfmRow]) -> Vec<(f64, f64)> {
    model.score_rows(horizon, rows)
}

/// Compare `predicted[i]` with `actual[i]`, binned by the calibration frequency `rows[i].x`.
/// The slices have equal lengths (shorter ones are truncated to the shortest).
pub fn holdout_check(
    rows: &[RfmRow],
    predicted: &[f64],
    actual: &[f64],
    last_bin: u64,
) -> HoldoutCheck {
    let n = rows.len().min(predicted.len()).min(actual.len());
    let bins = last_bin as usize + 1;
    let mut count = vec![0usize; bins];
    let mut act = vec![0.0; bins];
    let mut pred = vec![0.0; bins];
    let (mut abs, mut sq, mut at, mut pt) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let (p, a) = (predicted[i], actual[i]);
        let b = (rows[i].x.max(0.0) as u64).min(last_bin) as usize;
        count[b] += 1;
        act[b] += a;
        pred[b] += p;
        abs += (p - a).abs();
        sq += (p - a) * (p - a);
        at += a;
        pt += p;
    }
    let by_frequency = (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| FrequencyBin {
            from: b as u64,
            to: (b < bins - 1).then_some(b as u64),
            customers: count[b],
            actual_mean: act[b] / count[b] as f64,
            predicted_mean: pred[b] / count[b] as f64,
        })
        .collect();
    let nf = n.max(1) as f64;
    HoldoutCheck {
        customers: n,
        actual_total: at,
        predicted_total: pt,
        mae: abs / nf,
        rmse: (sq / nf).sqrt(),
        by_frequency,
    }
}

/// Mean absolute percentage error of `predicted` against `actual`, over the points where
/// `actual > 0` (NaN when there are none).
pub fn mape(predicted: &[f64], actual: &[f64]) -> f64 {
    let (mut s, mut k) = (0.0, 0usize);
    for (p, a) in predicted.iter().zip(actual) {
        if *a > 0.0 {
            s += ((p - a) / a).abs();
            k += 1;
        }
    }
    if k == 0 {
        f64::NAN
    } else {
        100.0 * s / k as f64
    }
}

/// A fitted model's scores, for [`recommend`]. Holdout measures are errors: lower is better.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub bic: f64,
    /// Per-customer holdout MAE and RMSE.
    pub mae: f64,
    pub rmse: f64,
    /// |predicted − actual| / actual of the holdout total, percent.
    pub total_error: f64,
    /// MAPE of the cumulative tracking series over the holdout periods, percent.
    pub tracking_mape: f64,
}

impl Candidate {
    fn measures(&self) -> [(&'static str, f64); 4] {
        [
            ("MAE", self.mae),
            ("RMSE", self.rmse),
            ("total error", self.total_error),
            ("tracking MAPE", self.tracking_mape),
        ]
    }
}

/// Errors within this relative distance of the best count as equally good.
pub const TIE: f64 = 0.01;

/// The model to use and why. Each of the four holdout measures (per-customer MAE and RMSE,
/// error of the holdout total, MAPE of the cumulative tracking) is won by every model within
/// [`TIE`] of the best on it; the model winning the most measures is chosen, ties broken by the
/// lowest BIC (the calibration fit penalised for its parameters). Candidates with a non-finite
/// BIC or RMSE are never chosen (a non-finite other measure is simply never won); `None` when
/// no candidate is usable.
pub fn recommend(candidates: &[Candidate]) -> Option<(usize, String)> {
    let usable: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].rmse.is_finite() && candidates[i].bic.is_finite())
        .collect();
    if usable.is_empty() {
        return None;
    }
    let mut wins = vec![Vec::new(); candidates.len()];
    for m in 0..4 {
        let best = usable
            .iter()
            .map(|&i| candidates[i].measures()[m].1)
            .filter(|v| v.is_finite())
            .fold(f64::INFINITY, f64::min);
        if !best.is_finite() {
            continue;
        }
        for &i in &usable {
            let (name, v) = candidates[i].measures()[m];
            if v.is_finite() && v <= best + best.abs() * TIE {
                wins[i].push(name);
            }
        }
    }
    let most = usable.iter().map(|&i| wins[i].len()).max().unwrap_or(0);
    let tied: Vec<usize> = usable
        .iter()
        .copied()
        .filter(|&i| wins[i].len() == most)
        .collect();
    let pick = tied
        .iter()
        .copied()
        .min_by(|&i, &j| candidates[i].bic.total_cmp(&candidates[j].bic))
        .unwrap_or(usable[0]);
    let c = &candidates[pick];
    let detail = format!(
        "MAE {:.4}, RMSE {:.4}, total error {:.1}%, tracking MAPE {:.1}%",
        c.mae, c.rmse, c.total_error, c.tracking_mape
    );
    let reason = if usable.len() == 1 {
        format!("{}: the only model fitted ({detail})", c.name)
    } else if tied.len() > 1 {
        let others: Vec<&str> = tied
            .iter()
            .filter(|&&i| i != pick)
            .map(|&i| candidates[i].name.as_str())
            .collect();
        format!(
            "{}: best on {most} of 4 holdout measures ({}), as is {}; the lowest BIC of them ({:.1}). {detail}",
            c.name,
            wins[pick].join(", "),
            others.join(", "),
            c.bic
        )
    } else {
        format!(
            "{}: best on {most} of 4 holdout measures ({}) — {detail}",
            c.name,
            wins[pick].join(", "),
        )
    };
    Some((pick, reason))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::bgnbd::BgNbdParams;
    use crate::paretonbd::ParetoNbdParams;

    const BG: BgNbdParams = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    #[test]
    fn one_cohort_at_zero_is_the_new_customer_curve() {
        let c = [Cohort {
            birth: 0.0,
            customers: 10.0,
        }];
        let at = [1.0, 5.0, 39.0];
        let got = expected_cumulative(&BG, &c, &at);
        for (g, t) in got.iter().zip(at) {
            assert_eq!(*g, 10.0 * BG.expected_purchases(t));
        }
    }

    #[test]
    fn cohorts_born_later_count_from_their_birth_and_not_before() {
        let c = [
            Cohort {
                birth: 0.0,
                customers: 2.0,
            },
            Cohort {
                birth: 3.0,
                customers: 5.0,
            },
        ];
        let got = expected_cumulative(&BG, &c, &[3.0, 4.5]);
        assert_eq!(got[0], 2.0 * BG.expected_purchases(3.0));
        assert_eq!(
            got[1],
            2.0 * BG.expected_purchases(4.5) + 5.0 * BG.expected_purchases(1.5)
        );
    }

    #[test]
    fn tracking_is_non_decreasing() {
        let p = ParetoNbdParams {
            r: 0.553,
            alpha: 10.578,
            s: 0.606,
            beta: 11.669,
        };
        let c: Vec<Cohort> = (0..40)
            .map(|i| Cohort {
                birth: i as f64 * 0.3,
                customers: 1.0 + (i % 3) as f64,
            })
            .collect();
        let at: Vec<f64> = (1..=80).map(|k| k as f64).collect();
        let got = expected_cumulative(&p, &c, &at);
        assert!(got.windows(2).all(|w| w[1] >= w[0]), "{got:?}");
    }

    #[test]
    fn holdout_check_by_hand() {
        let rows = [
            RfmRow {
                x: 0.0,
                t_x: 0.0,
                t: 10.0,
            },
            RfmRow {
                x: 0.0,
                t_x: 0.0,
                t: 12.0,
            },
            RfmRow {
                x: 2.0,
                t_x: 5.0,
                t: 10.0,
            },
            RfmRow {
                x: 9.0,
                t_x: 9.0,
                t: 10.0,
            },
        ];
        let pred = [0.5, 0.25, 2.0, 6.0];
        let act = [0.0, 1.0, 3.0, 6.0];
        let h = holdout_check(&rows, &pred, &act, 7);
        assert_eq!(h.customers, 4);
        assert_eq!(h.actual_total, 10.0);
        assert_eq!(h.predicted_total, 8.75);
        // |errors| = 0.5, 0.75, 1, 0
        assert_eq!(h.mae, 2.25 / 4.0);
        assert_eq!(h.rmse, ((0.25 + 0.5625 + 1.0) / 4.0f64).sqrt());
        assert_eq!(h.by_frequency.len(), 3);
        assert_eq!(
            h.by_frequency[0],
            FrequencyBin {
                from: 0,
                to: Some(0),
                customers: 2,
                actual_mean: 0.5,
                predicted_mean: 0.375
            }
        );
        assert_eq!(h.by_frequency[1].from, 2);
        assert_eq!(
            (h.by_frequency[2].from, h.by_frequency[2].to),
            (7, None),
            "x = 9 goes to the last bin, 7 and above"
        );
    }

    #[test]
    fn mape_skips_zero_actuals() {
        assert_eq!(mape(&[1.0, 11.0, 18.0], &[0.0, 10.0, 20.0]), 10.0);
        assert!(mape(&[1.0], &[0.0]).is_nan());
    }

    fn cand(name: &str, bic: f64, mae: f64, rmse: f64, total: f64, tracking: f64) -> Candidate {
        Candidate {
            name: name.into(),
            bic,
            mae,
            rmse,
            total_error: total,
            tracking_mape: tracking,
        }
    }

    #[test]
    fn recommends_the_model_best_on_most_holdout_measures() {
        // CDNOW-like: MBG/NBD has the lowest BIC, Pareto/NBD wins every holdout measure.
        let (i, why) = recommend(&[
            cand("bgnbd", 19195.9, 0.7855, 1.6080, 12.1, 2.5),
            cand("paretonbd", 19221.0, 0.7545, 1.6029, 11.5, 1.3),
            cand("mbgnbd", 19195.3, 0.7648, 1.6072, 16.2, 4.0),
        ])
        .unwrap();
        assert_eq!(i, 1, "{why}");
        assert!(
            why.starts_with("paretonbd: best on 4 of 4 holdout measures (MAE, RMSE, total error, tracking MAPE)"),
            "{why}"
        );
        // Two models win two measures each: the lower BIC wins.
        let (i, why) = recommend(&[
            cand("a", 100.0, 1.0, 2.0, 30.0, 30.0),
            cand("b", 90.0, 2.0, 3.0, 10.0, 10.0),
        ])
        .unwrap();
        assert_eq!(i, 1);
        assert!(why.contains("as is a; the lowest BIC"), "{why}");
        // Within 1 % of the best counts as a win for both.
        let (i, _) = recommend(&[
            cand("a", 100.0, 1.000, 2.0, 10.0, 10.0),
            cand("b", 90.0, 1.005, 2.0, 10.0, 10.0),
        ])
        .unwrap();
        assert_eq!(i, 1);
        // Non-finite BIC or RMSE: never chosen; nothing usable: None.
        let (i, _) = recommend(&[
            cand("a", f64::NAN, 0.1, 0.1, 0.1, 0.1),
            cand("b", 5.0, 1.0, 2.0, 3.0, 4.0),
        ])
        .unwrap();
        assert_eq!(i, 1);
        assert!(recommend(&[cand("a", 1.0, 1.0, f64::NAN, 1.0, 1.0)]).is_none());
        assert!(recommend(&[]).is_none());
        let (_, why) = recommend(&[cand("solo", 1.0, 1.0, 1.0, f64::NAN, 1.0)]).unwrap();
        assert!(why.starts_with("solo: the only model fitted"), "{why}");
    }
}
