//! The health score: weighted components, each explained in points.
//!
//! Each component turns one input into a fraction of its full points in [0, 1] (a linear
//! [`Ramp`](crate::config::Ramp) between the configured `zero_at` and `full_at`, or fixed
//! points for NPS categories and payment state). A component whose input is missing is left
//! out and the others are re-weighted — never scored as 0: with weights w and fractions f
//! over the present components P, score = 100 · Σ_P w f / Σ_P w, and a component's points
//! are 100 · w f / Σ_P w out of 100 · w / Σ_P w. Points add up to the score exactly (up to
//! float rounding); with no component present there is no score.

use crate::config::HealthSettings;
use crate::facts::Facts;
use tenure_store::dataset::CustomerIdx;

/// The score band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Band {
    AtRisk,
    Neutral,
    Healthy,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::AtRisk => "at_risk",
            Band::Neutral => "neutral",
            Band::Healthy => "healthy",
        }
    }
}

/// The five components, in the order they are reported.
pub const COMPONENTS: [&str; 5] = ["usage_trend", "p_alive", "nps", "support", "payment"];

/// One component of one score.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: &'static str,
    /// The input as a reader would say it (`usage −38 % vs the 56 days before`), or why it is
    /// missing.
    pub input: String,
    /// Fraction of the full points (`None`: missing, left out).
    pub fraction: Option<f64>,
    /// Points earned and the most it could earn, out of 100 for the whole score.
    pub points: f64,
    pub max_points: f64,
}

/// One customer's score and its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub customer: CustomerIdx,
    /// 0–100; `None` when no component has an input.
    pub score: Option<f64>,
    pub band: Option<Band>,
    pub components: Vec<Component>,
}

impl Health {
    /// The components that lost the most points, largest loss first (present ones only).
    pub fn biggest_losses(&self) -> Vec<&Component> {
        let mut v: Vec<&Component> = self
            .components
            .iter()
            .filter(|c| c.fraction.is_some() && c.max_points - c.points > 0.05)
            .collect();
        v.sort_by(|a, b| (b.max_points - b.points).total_cmp(&(a.max_points - a.points)));
        v
    }
}

fn pct(v: f64) -> String {
    format!("{:+.0} %", v * 100.0)
}

/// The health of one customer, from her facts.
pub fn health(f: &Facts, cfg: &HealthSettings, window_days: u32, baseline_days: u32) -> Health {
    let w = &cfg.weights;
    let mut parts: Vec<(&'static str, f64, String, Option<f64>)> = Vec::with_capacity(5);
    // Usage trend.
    let (input, frac) = match f.usage {
        None => ("no usage records".to_string(), None),
        Some((recent, base)) if base > 0.0 => {
            let t = recent / base - 1.0;
            (
                format!(
                    "usage {} in the last {window_days} days vs the {baseline_days} before",
                    pct(t)
                ),
                Some(cfg.usage_trend.at(t)),
            )
        }
        Some((recent, _))
            if recent == 0.0 && f.tenure_days >= (window_days + baseline_days) as i32 =>
        {
            (
                format!("no usage in the last {} days", window_days + baseline_days),
                Some(cfg.usage_trend.at(-1.0)),
            )
        }
        Some(_) => ("no baseline yet (too recent)".to_string(), None),
    };
    parts.push(("usage_trend", w.usage_trend, input, frac));
    parts.push(match f.p_alive {
        Some(p) => (
            "p_alive",
            w.p_alive,
            if f.subscribed {
                format!("renewal probability {p:.2}")
            } else {
                format!("P(alive) {p:.2}")
            },
            Some(cfg.p_alive.at(p)),
        ),
        None => (
            "p_alive",
            w.p_alive,
            format!("no prediction ({})", f.method),
            None,
        ),
    });
    parts.push(match f.nps {
        Some((s, _)) => {
            let (cat, k) = match s {
                0..=6 => ("detractor", 0),
                7..=8 => ("passive", 1),
                _ => ("promoter", 2),
            };
            (
                "nps",
                w.nps,
                format!("NPS {s} ({cat})"),
                Some(cfg.nps_points[k]),
            )
        }
        None => (
            "nps",
            w.nps,
            format!("no NPS answer in {} days", cfg.nps_within.0),
            None,
        ),
    });
    parts.push(match f.tickets {
        Some(t) => {
            let per30 = f64::from(t) * 30.0 / f64::from(cfg.lookback.0);
            (
                "support",
                w.support,
                format!(
                    "{t} support tickets in {} days ({per30:.1} per 30 days)",
                    cfg.lookback.0
                ),
                Some(cfg.support.at(per30)),
            )
        }
        None => (
            "support",
            w.support,
            "no support records in the store".to_string(),
            None,
        ),
    });
    parts.push(if f.subscribed {
        (
            "payment",
            w.payment,
            if f.past_due {
                "a subscription is past due".to_string()
            } else {
                "subscriptions paid up".to_string()
            },
            Some(if f.past_due { 0.0 } else { 1.0 }),
        )
    } else {
        (
            "payment",
            w.payment,
            "no running subscription".to_string(),
            None,
        )
    });
    let total: f64 = parts.iter().filter(|p| p.3.is_some()).map(|p| p.1).sum();
    let components: Vec<Component> = parts
        .into_iter()
        .map(|(name, weight, input, fraction)| {
            let max_points = match fraction {
                Some(_) if total > 0.0 => 100.0 * weight / total,
                _ => 0.0,
            };
            Component {
                name,
                input,
                fraction,
                points: fraction.map_or(0.0, |x| x * max_points),
                max_points,
            }
        })
        .collect();
    let score = (total > 0.0).then(|| components.iter().map(|c| c.points).sum::<f64>());
    Health {
        customer: f.customer,
        score,
        band: score.map(|s| band(s, cfg)),
        components,
    }
}

/// The band of a score.
pub fn band(score: f64, cfg: &HealthSettings) -> Band {
    if score >= cfg.bands.healthy_from {
        Band::Healthy
    } else if score < cfg.bands.at_risk_below {
        Band::AtRisk
    } else {
        Band::Neutral
    }
}
