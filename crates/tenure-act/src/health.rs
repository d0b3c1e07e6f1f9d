//! The health score: weighted components, each explained in points.
//!
//! Each component turns one input into a fraction of its full points in [0, 1] (a linear
//! [`Ramp`](crate::config::Ramp) between the configured `zero_at` and `full_at`, or fixed
//! points for NPS categories and payment state). A component whose input is missing is left
//! out and the others are re-weighted — never scored as 0: with weights w and fractions f
//! over the present components P, score = 100 · Σ_P w f / Σ_P w, and a component's points
//! are 100 · w f / Σ_P w out of 100 · w / Σ_P w. Points add up to the score exactly (up to
//! float rounding); with no component present there is no score.
//!
//! Support: when the store holds support cases, the input is her case load — each open case
//! weighs `severity_weights` (default 4, 2, 1, 0.5 for severity 1–4) and each escalated case
//! opened within `lookback` adds `escalation_weight` (default 2) — on the `case_load` ramp
//! (full at 0, nothing at 8); otherwise support tickets (service costs) per 30 days.
//! Payment: when the store holds payment events, 1 − `failed_payment_penalty` (default 0.25)
//! per failed payment within `lookback`, floored at 0, and 0 while in dunning; otherwise 0
//! for a past-due subscription, 1 for a paid-up one.

use crate::config::HealthSettings;
use crate::facts::{CaseLoad, Facts, PaymentTrouble};
use crate::playbooks::day_text;
use tenure_store::dataset::{CustomerIdx, Day};

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
    parts.push(match (&f.cases, f.tickets) {
        (Some(k), _) => {
            let (input, load) = case_input(k, cfg);
            ("support", w.support, input, Some(cfg.case_load.at(load)))
        }
        (None, Some(t)) => {
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
        (None, None) => (
            "support",
            w.support,
            "no support records in the store".to_string(),
            None,
        ),
    });
    parts.push(match &f.payments {
        Some(p) if f.subscribed || p.any => {
            let (input, frac) = payment_input(p, cfg);
            ("payment", w.payment, input, Some(frac))
        }
        None if f.subscribed => (
            "payment",
            w.payment,
            if f.past_due {
                "a subscription is past due".to_string()
            } else {
                "subscriptions paid up".to_string()
            },
            Some(if f.past_due { 0.0 } else { 1.0 }),
        ),
        _ => (
            "payment",
            w.payment,
            "no running subscription".to_string(),
            None,
        ),
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

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn num(v: f64) -> String {
    let t = format!("{v:.2}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The support input from cases: the explanation and the case load (see
/// [`HealthSettings::case_load`]).
fn case_input(k: &CaseLoad, cfg: &HealthSettings) -> (String, f64) {
    let mut load = 0.0;
    let mut said = Vec::new();
    for sev in 1..=4u8 {
        let open: Vec<&(u8, Day, bool)> = k.open.iter().filter(|o| o.0 == sev).collect();
        if open.is_empty() {
            continue;
        }
        load += cfg.severity_weights[usize::from(sev - 1)] * open.len() as f64;
        let escalated: Vec<String> = open.iter().filter(|o| o.2).map(|o| day_text(o.1)).collect();
        let mut t = plural(
            open.len(),
            &format!("open severity-{sev} case"),
            &format!("open severity-{sev} cases"),
        );
        if !escalated.is_empty() {
            t += &format!(" (escalated, opened {})", escalated.join(", "));
        }
        said.push(t);
    }
    if said.is_empty() {
        said.push("no open support case".to_string());
    }
    load += cfg.escalation_weight * k.escalations.len() as f64;
    said.push(format!(
        "{} in {} days",
        plural(k.escalations.len(), "escalation", "escalations"),
        cfg.lookback.0
    ));
    (
        format!("{}: case load {}", said.join("; "), num(load)),
        load,
    )
}

/// The payment input from payment events: the explanation and the fraction (see
/// [`HealthSettings::failed_payment_penalty`]).
fn payment_input(p: &PaymentTrouble, cfg: &HealthSettings) -> (String, f64) {
    let failed = plural(p.failed.len(), "failed payment", "failed payments");
    match p.dunning_since {
        Some(d) => (
            format!(
                "in dunning since {}; {failed} in {} days",
                day_text(d),
                cfg.lookback.0
            ),
            0.0,
        ),
        None => (
            format!("{failed} in {} days", cfg.lookback.0),
            (1.0 - cfg.failed_payment_penalty * p.failed.len() as f64).max(0.0),
        ),
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
