//! Model checking on a holdout period, shared by `tenure validate` and the API's
//! `/api/reports/validation`: each fitted recency-frequency model scored against what happened
//! (per customer, by calibration frequency, over time) and the three charts as standalone SVG.
//!
//! Invariants: `Checked::scores` and the rows they came from are in the same order; tracking
//! series are cumulative repeat purchases at the end of each period of `Tracking::ends`.

use tenure_charts::{histogram, line_chart, Histogram, LineChart, Series, Style};
use tenure_models::validate::{
    expected_cumulative, holdout_check, mape, recommend, Candidate, Cohort, HoldoutCheck,
};
use tenure_models::{Fit, RfmModel, RfmRow};

/// The cumulative tracking grid: period k (1-based) ends `ends[k−1]` periods after `start`.
#[derive(Debug, Clone)]
pub struct Tracking {
    /// The first day of period 1 (the first purchase in the data), as printed.
    pub start: String,
    /// The period's name (`week`, `day`, …).
    pub period: &'static str,
    /// End of each period, in periods from the start.
    pub ends: Vec<f64>,
    /// Actual cumulative repeat purchases at each end.
    pub actual: Vec<f64>,
    /// Periods entirely within the calibration period.
    pub calibration_periods: usize,
}

/// One model fitted on the calibration period and checked on the holdout.
pub struct Checked {
    /// The command-line name (`bgnbd`).
    pub name: &'static str,
    /// The name in charts and tables (`BG/NBD`).
    pub label: &'static str,
    pub fit: Fit,
    pub model: Box<dyn RfmModel>,
    /// Per customer: (P(alive) at the calibration end, predicted holdout purchases).
    pub scores: Vec<(f64, f64)>,
    pub holdout: HoldoutCheck,
    /// Expected cumulative repeat purchases at the end of each tracking period.
    pub tracking: Vec<f64>,
    /// MAPE of the cumulative tracking over the holdout periods, percent.
    pub tracking_mape: f64,
}

/// Check a fitted model: score every customer's holdout (`horizon` long), compare with
/// `actual`, and track the cohorts' cumulative purchases on the grid.
#[allow(clippy::too_many_arguments)]
pub fn check(
    name: &'static str,
    label: &'static str,
    fit: Fit,
    model: Box<dyn RfmModel>,
    rows: &[RfmRow],
    actual: &[f64],
    horizon: f64,
    cohorts: &[Cohort],
    grid: &Tracking,
    last_bin: u64,
) -> Checked {
    let scores = model.score_rows(horizon, rows);
    let predicted: Vec<f64> = scores.iter().map(|s| s.1).collect();
    let holdout = holdout_check(rows, &predicted, actual, last_bin);
    let tracking = expected_cumulative(model.as_ref(), cohorts, &grid.ends);
    let hp = grid.calibration_periods.min(tracking.len());
    let tracking_mape = mape(&tracking[hp..], &grid.actual[hp..]);
    Checked {
        name,
        label,
        fit,
        model,
        scores,
        holdout,
        tracking,
        tracking_mape,
    }
}

/// Signed error of a prediction in percent of the actual (NaN when the actual is 0).
pub fn pct(pred: f64, actual: f64) -> f64 {
    if actual > 0.0 {
        100.0 * (pred - actual) / actual
    } else {
        f64::NAN
    }
}

/// The recommended model (index into `checked`) and the reason, by
/// [`tenure_models::validate::recommend`].
pub fn best(checked: &[Checked]) -> Option<(usize, String)> {
    let candidates: Vec<Candidate> = checked
        .iter()
        .map(|c| Candidate {
            name: c.name.into(),
            bic: c.fit.bic,
            mae: c.holdout.mae,
            rmse: c.holdout.rmse,
            total_error: pct(c.holdout.predicted_total, c.holdout.actual_total).abs(),
            tracking_mape: c.tracking_mape,
        })
        .collect();
    recommend(&candidates)
}

/// The three charts: cumulative tracking (actual and every model), conditional expectations
/// (actual and every model, by calibration frequency), and the recommended model's P(alive)
/// histogram.
pub fn charts(
    g: &Tracking,
    checked: &[Checked],
    best: usize,
    last_bin: u64,
) -> Vec<(&'static str, String)> {
    let period = g.period;
    let mut series = vec![Series {
        name: "actual".into(),
        points: g
            .ends
            .iter()
            .copied()
            .zip(g.actual.iter().copied())
            .collect(),
        style: Style::Line,
    }];
    for c in checked {
        series.push(Series {
            name: c.label.into(),
            points: g
                .ends
                .iter()
                .copied()
                .zip(c.tracking.iter().copied())
                .collect(),
            style: Style::Dashed,
        });
    }
    let tracking = line_chart(&LineChart {
        title: format!("Cumulative repeat purchases, actual vs expected, by {period}"),
        x_label: format!("{period}s since {}", g.start),
        y_label: "cumulative repeat purchases".into(),
        series,
        x_ticks: None,
        rule: Some((g.calibration_periods as f64, "end of calibration".into())),
    });

    let bins = &checked[best].holdout.by_frequency;
    let xs: Vec<f64> = bins.iter().map(|b| b.from as f64).collect();
    let mut series = vec![Series {
        name: "actual".into(),
        points: xs
            .iter()
            .copied()
            .zip(bins.iter().map(|b| b.actual_mean))
            .collect(),
        style: Style::LineDots,
    }];
    for c in checked {
        series.push(Series {
            name: c.label.into(),
            points: c
                .holdout
                .by_frequency
                .iter()
                .map(|b| (b.from as f64, b.predicted_mean))
                .collect(),
            style: Style::Dashed,
        });
    }
    let ce = line_chart(&LineChart {
        title: "Holdout purchases by calibration frequency (conditional expectations)".into(),
        x_label: "repeat purchases in the calibration period".into(),
        y_label: "mean repeat purchases in the holdout".into(),
        series,
        x_ticks: Some(
            bins.iter()
                .map(|b| {
                    let label = if b.to.is_none() && b.from == last_bin {
                        format!("{}+", b.from)
                    } else {
                        b.from.to_string()
                    };
                    (b.from as f64, label)
                })
                .collect(),
        ),
        rule: None,
    });

    let c = &checked[best];
    let mut counts = [0.0; 20];
    for (p, _) in &c.scores {
        if p.is_finite() {
            counts[((p * 20.0).floor() as usize).min(19)] += 1.0;
        }
    }
    let p_alive = histogram(&Histogram {
        title: format!(
            "P(alive) at the end of calibration, {} ({} customers)",
            c.label,
            c.scores.len()
        ),
        x_label: "P(alive)".into(),
        y_label: "customers".into(),
        bins: counts
            .iter()
            .enumerate()
            .map(|(i, n)| (i as f64 / 20.0, (i + 1) as f64 / 20.0, *n))
            .collect(),
    });
    vec![
        ("tracking.svg", tracking),
        ("conditional_expectations.svg", ce),
        ("p_alive.svg", p_alive),
    ]
}
