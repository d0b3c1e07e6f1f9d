//! The Kaplan–Meier estimate of a survival function with right-censoring, its pointwise
//! confidence band and the median lifetime with its interval — the same numbers as lifelines
//! 0.30's `KaplanMeierFitter` (tested against them to 1e-12).
//!
//! - S(t) = Π_{tᵢ ≤ t} (1 − dᵢ/nᵢ), with nᵢ the number at risk at tᵢ (durations ≥ tᵢ: a
//!   subscription censored at tᵢ is at risk at tᵢ) and dᵢ the events at tᵢ; computed as
//!   exp Σ [ln(nᵢ − dᵢ) − ln nᵢ], as lifelines does.
//! - Variance by Greenwood's formula, V(t) = Σ dᵢ / (nᵢ (nᵢ − dᵢ)) (the term is 0 when
//!   dᵢ = nᵢ), and the band on the log(−log) scale ("exponential Greenwood", Kalbfleisch &
//!   Prentice): S^{exp(±z √V / ln S)}; 1 where S = 1 and 0 where S = 0.
//! - The median is the first time at which S(t) ≤ 0.5 (`None`: S stays above 0.5). Its
//!   interval is where the pointwise band crosses 0.5 (Brookmeyer & Crowley 1982, with the
//!   log(−log) band): lower = the first time the lower bound is ≤ 0.5, upper = the first time
//!   the upper bound is ≤ 0.5 (`None`: never, i.e. unbounded) — lifelines'
//!   `median_survival_times(confidence_interval_)`.
//!
//! The timeline is every distinct duration plus 0, as lifelines reports it.

/// One point of the timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KmPoint {
    /// Duration, in the unit of the input (days for subscription tenure).
    pub time: u32,
    pub at_risk: u64,
    pub events: u64,
    pub censored: u64,
    /// S(time).
    pub survival: f64,
    pub lower: f64,
    pub upper: f64,
    /// Greenwood's sum V(time) = Σ dᵢ / (nᵢ (nᵢ − dᵢ)): Var Ŝ ≈ Ŝ² V.
    pub greenwood: f64,
}

/// A Kaplan–Meier estimate. Invariant: `points` sorted by time, starting at 0; survival
/// non-increasing; `lower ≤ survival ≤ upper`.
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanMeier {
    pub points: Vec<KmPoint>,
    /// Confidence level of the band and the median interval (0.95).
    pub level: f64,
    pub observations: u64,
    pub events: u64,
    pub median: Option<u32>,
    pub median_lower: Option<u32>,
    /// `None`: the band's upper bound never reaches 0.5 (the interval is open-ended).
    pub median_upper: Option<u32>,
}

impl KaplanMeier {
    /// S(t) for any t ≥ 0 (a step function, right-continuous).
    pub fn survival_at(&self, t: u32) -> f64 {
        self.point_at(t).map_or(1.0, |p| p.survival)
    }
    /// The timeline point in force at t (the last with time ≤ t).
    pub fn point_at(&self, t: u32) -> Option<&KmPoint> {
        let i = self.points.partition_point(|p| p.time <= t);
        i.checked_sub(1).map(|i| &self.points[i])
    }
}

/// The standard normal quantile Φ⁻¹(p) for 0 < p < 1 (Wichura 1988, AS 241 PPND16, ~1e-16
/// relative).
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r
                + 67265.770927008700853)
                * r
                + 45921.953931549871457)
                * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((r * 5226.495278852545925 + 28729.085735721942674) * r
                + 39307.89580009271061)
                * r
                + 21213.794301586595867)
                * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = (-r.ln()).sqrt();
    let v = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r
            + 0.24178072517745061177)
            * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r
                + 0.0151986665636164571966)
                * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386)
            * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r
                + 1.8463183175100546818e-5)
                * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 {
        -v
    } else {
        v
    }
}

/// The Kaplan–Meier estimate of `(duration, churned)` observations (`churned == false`:
/// right-censored at `duration`) at confidence `level` (0 < level < 1). Empty input gives an
/// estimate with only the point t = 0 and no median.
pub fn kaplan_meier(observations: &[(u32, bool)], level: f64) -> KaplanMeier {
    let mut obs: Vec<(u32, bool)> = observations.to_vec();
    obs.sort_unstable();
    let n = obs.len() as u64;
    let z = normal_quantile(1.0 - (1.0 - level) / 2.0);
    let mut points = Vec::new();
    let mut at_risk = n;
    let mut log_s = 0.0_f64;
    let mut var = 0.0_f64;
    let mut i = 0;
    let mut events_total = 0;
    if obs.first().is_none_or(|o| o.0 > 0) {
        points.push(KmPoint {
            time: 0,
            at_risk: n,
            events: 0,
            censored: 0,
            survival: 1.0,
            lower: 1.0,
            upper: 1.0,
            greenwood: 0.0,
        });
    }
    while i < obs.len() {
        let t = obs[i].0;
        let (mut d, mut c) = (0u64, 0u64);
        while i < obs.len() && obs[i].0 == t {
            if obs[i].1 {
                d += 1;
            } else {
                c += 1;
            }
            i += 1;
        }
        let nr = at_risk;
        if d > 0 {
            log_s += ((nr - d) as f64).ln() - (nr as f64).ln();
            if nr > d {
                var += d as f64 / (nr as f64 * (nr - d) as f64);
            }
        }
        let s = log_s.exp();
        let (lower, upper) = band(s, var, z);
        points.push(KmPoint {
            time: t,
            at_risk: nr,
            events: d,
            censored: c,
            survival: s,
            lower,
            upper,
            greenwood: var,
        });
        events_total += d;
        at_risk -= d + c;
    }
    let first_at_or_below =
        |f: fn(&KmPoint) -> f64| points.iter().find(|p| f(p) <= 0.5).map(|p| p.time);
    KaplanMeier {
        median: first_at_or_below(|p| p.survival),
        median_lower: first_at_or_below(|p| p.lower),
        median_upper: first_at_or_below(|p| p.upper),
        points,
        level,
        observations: n,
        events: events_total,
    }
}

/// The exponential-Greenwood band at S = `s` with Greenwood sum `var`.
fn band(s: f64, var: f64, z: f64) -> (f64, f64) {
    if s >= 1.0 {
        return (1.0, 1.0);
    }
    if s <= 0.0 {
        return (0.0, 0.0);
    }
    let v = s.ln();
    let w = z * var.sqrt() / v;
    let lower = (-((-v).ln() - w).exp()).exp();
    let upper = (-((-v).ln() + w).exp()).exp();
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles() {
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-15);
        assert!((normal_quantile(0.5)).abs() < 1e-16);
        assert!((normal_quantile(0.001) + 3.090232306167813).abs() < 1e-14);
        assert!((normal_quantile(1e-10) + 6.361340902404056).abs() < 1e-12);
        assert!(normal_quantile(0.0).is_nan());
    }

    #[test]
    fn hand_computed_estimate() {
        // Durations 1, 2+, 3, 3, 4+: at t=1, 5 at risk, 1 event: S = 4/5 = 0.8. At t=2 one
        // censored: S stays. At t=3, 3 at risk, 2 events: S = 0.8 × 1/3 = 0.2667. t=4: censored.
        let km = kaplan_meier(
            &[(1, true), (2, false), (3, true), (3, true), (4, false)],
            0.95,
        );
        let s: Vec<(u32, u64, f64)> = km
            .points
            .iter()
            .map(|p| (p.time, p.at_risk, p.survival))
            .collect();
        assert_eq!(s.len(), 5);
        assert_eq!((s[0].0, s[0].1), (0, 5));
        assert!((s[1].2 - 0.8).abs() < 1e-15);
        assert!((s[3].2 - 0.8 / 3.0).abs() < 1e-15);
        assert_eq!(km.median, Some(3));
        assert_eq!((km.observations, km.events), (5, 3));
        // Greenwood at t=1: 1/(5·4) = 0.05.
        let p = km.points[1];
        let v = 0.8f64.ln();
        let w = 1.959963984540054 * 0.05f64.sqrt() / v;
        assert!((p.lower - (-((-v).ln() - w).exp()).exp()).abs() < 1e-15);
        assert!(p.lower < 0.8 && 0.8 < p.upper);
        assert_eq!(km.survival_at(2), km.points[1].survival);
        let empty = kaplan_meier(&[], 0.95);
        assert_eq!(empty.points.len(), 1);
        assert_eq!(empty.median, None);
    }
}
