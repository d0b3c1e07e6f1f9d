//! When a customer buys next: the distribution of the waiting time W from the end of her
//! observation T to her next purchase, under BG/NBD, MBG/NBD and Pareto/NBD. Times are in the
//! unit of the data the model was fitted on; W = ∞ when she never buys again.
//!
//! **BG/NBD and MBG/NBD** (Fader, Hardie & Lee 2005; Batislam et al. 2007). Drop-out happens
//! only right after a purchase, so a customer alive at T stays alive until her next purchase,
//! which comes after an Exp(λ) wait. Given alive, the likelihood of (x, t_x, T) is
//! (1−p)^x λ^x e^{−λT} (times a factor in p alone), so λ | alive ~ Gamma(r+x, α+T) and
//!
//! ```text
//! P(W ≤ t) = P(alive) · (1 − ((α+T)/(α+T+t))^{r+x}),   P(W < ∞) = P(alive),
//! q-quantile of W | W < ∞ = (α+T) · ((1−q)^{−1/(r+x)} − 1).
//! ```
//!
//! **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987). The customer may die before buying
//! again: given (λ, μ) and alive at T, purchase and death are competing exponentials, so
//! P(W ≤ t | λ, μ) = λ/(λ+μ) · (1 − e^{−(λ+μ)t}). Given alive, the likelihood is
//! λ^x e^{−λT} e^{−μT}, so λ ~ Gamma(r+x, A = α+T) and μ ~ Gamma(s, B = β+T), independent.
//! Multiplying a Gamma(k, R) density by e^{−θt} gives (R/(R+t))^k times a Gamma(k, R+t)
//! density, hence with G(a, A, b, B) = E[λ/(λ+μ)] for λ ~ Gamma(a, A), μ ~ Gamma(b, B):
//!
//! ```text
//! P(W ≤ t) = P(alive) · [G(r+x, A, s, B) − (A/(A+t))^{r+x} (B/(B+t))^s G(r+x, A+t, s, B+t)],
//! P(W < ∞) = P(alive) · G(r+x, A, s, B).
//! ```
//!
//! With X ~ Gamma(a, 1), Y ~ Gamma(b, 1), λ/(λ+μ) = U/(U + c(1−U)), U = X/(X+Y) ~ Beta(a, b),
//! c = A/B; Euler's integral gives, for A ≥ B, G = a/(a+b) · (B/A) · ₂F₁(1, a+1; a+b+1; 1−B/A),
//! and Pfaff's transformation of the same for A < B, G = a/(a+b) · ₂F₁(1, b; a+b+1; 1−A/B):
//! both series of positive terms with argument in [0, 1). Quantiles are found by bisection.

use crate::bgnbd::BgNbdParams;
use crate::mbgnbd::MbgNbdParams;
use crate::paretonbd::ParetoNbdParams;
use crate::rfm::RfmModel;
use crate::sbg::hyp2f1_positive;

/// The waiting time to the next purchase, as [`NextPurchase::next_purchase_window`] gives
/// it: quantiles among the customers like her who buy again, in the model's time unit, and
/// the probability that she never does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NextPurchaseWindow {
    /// P(no purchase ever again | x, t_x, T), in [0, 1).
    pub p_never: f64,
    /// The quantile levels of `early` and `late`.
    pub q_lo: f64,
    pub q_hi: f64,
    /// Quantiles q_lo, 0.5 and q_hi of W given W < ∞: early ≤ median ≤ late, all ≥ 0.
    pub early: f64,
    pub median: f64,
    pub late: f64,
}

/// The distribution of the waiting time W from T to the next purchase (module docs for the
/// formulas). Arguments as in [`RfmModel`]: `x` repeat purchases, the last at `t_x`,
/// observed for `t`. Invalid parameters or arguments give NaN.
pub trait NextPurchase: RfmModel {
    /// P(W ≤ horizon) = P(at least one purchase in (T, T + horizon] | x, t_x, T): in [0, 1],
    /// non-decreasing in `horizon`, 0 at 0, [`NextPurchase::p_purchase_ever`] at ∞.
    fn p_purchase_within(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64;

    /// P(W < ∞): the probability that she ever buys again (P(alive) for BG/NBD and MBG/NBD).
    fn p_purchase_ever(&self, x: f64, t_x: f64, t: f64) -> f64;

    /// The q-quantile of W given W < ∞ (0 ≤ q < 1): the w with
    /// P(W ≤ w) = q · P(W < ∞). NaN when she cannot buy again or q is outside [0, 1).
    fn waiting_time_quantile(&self, q: f64, x: f64, t_x: f64, t: f64) -> f64;

    /// Quantiles q_lo, 0.5 and q_hi of W given W < ∞ and P(W = ∞). `None` unless
    /// 0 ≤ q_lo ≤ 0.5 ≤ q_hi < 1 and she can buy again (P(W < ∞) > 0).
    fn next_purchase_window(
        &self,
        q_lo: f64,
        q_hi: f64,
        x: f64,
        t_x: f64,
        t: f64,
    ) -> Option<NextPurchaseWindow> {
        if !((0.0..=0.5).contains(&q_lo) && (0.5..1.0).contains(&q_hi)) {
            return None;
        }
        let ever = self.p_purchase_ever(x, t_x, t);
        if !(ever > 0.0 && ever <= 1.0) {
            return None;
        }
        let w = NextPurchaseWindow {
            p_never: 1.0 - ever,
            q_lo,
            q_hi,
            early: self.waiting_time_quantile(q_lo, x, t_x, t),
            median: self.waiting_time_quantile(0.5, x, t_x, t),
            late: self.waiting_time_quantile(q_hi, x, t_x, t),
        };
        (w.early.is_finite() && w.median.is_finite() && !w.late.is_nan()).then_some(w)
    }
}

/// BG/NBD and MBG/NBD: the posterior of λ given alive is Gamma(`shape` = r + x, `rate` = α + T).
fn geo_within(p_alive: f64, shape: f64, rate: f64, horizon: f64) -> f64 {
    if !(horizon >= 0.0) {
        return f64::NAN;
    }
    if horizon == f64::INFINITY {
        return p_alive;
    }
    // 1 − (rate/(rate+h))^shape without cancellation at small h.
    p_alive * -(-shape * (horizon / rate).ln_1p()).exp_m1()
}

/// (α+T)((1−q)^{−1/(r+x)} − 1).
fn geo_quantile(p_alive: f64, shape: f64, rate: f64, q: f64) -> f64 {
    if !((0.0..1.0).contains(&q) && p_alive > 0.0) {
        return f64::NAN;
    }
    rate * (-(-q).ln_1p() / shape).exp_m1()
}

fn valid_row(x: f64, t_x: f64, t: f64) -> bool {
    x >= 0.0 && t_x >= 0.0 && t >= t_x && t.is_finite()
}

macro_rules! geo_next_purchase {
    ($ty:ty) => {
        /// λ | alive ~ Gamma(r+x, α+T); no death before the next purchase (module docs).
        impl NextPurchase for $ty {
            fn p_purchase_within(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64 {
                if !valid_row(x, t_x, t) {
                    return f64::NAN;
                }
                geo_within(self.p_alive(x, t_x, t), self.r + x, self.alpha + t, horizon)
            }
            fn p_purchase_ever(&self, x: f64, t_x: f64, t: f64) -> f64 {
                if !valid_row(x, t_x, t) {
                    return f64::NAN;
                }
                self.p_alive(x, t_x, t)
            }
            fn waiting_time_quantile(&self, q: f64, x: f64, t_x: f64, t: f64) -> f64 {
                if !valid_row(x, t_x, t) {
                    return f64::NAN;
                }
                geo_quantile(self.p_alive(x, t_x, t), self.r + x, self.alpha + t, q)
            }
        }
    };
}

geo_next_purchase!(BgNbdParams);
geo_next_purchase!(MbgNbdParams);

/// G(a, A, b, B) = E[λ/(λ+μ)] for independent λ ~ Gamma(a, rate A), μ ~ Gamma(b, rate B)
/// (module docs): a positive ₂F₁ series with argument 1 − min(A, B)/max(A, B). NaN when the
/// series does not converge (rates more than ~10⁷ apart).
pub fn gamma_share(a: f64, big_a: f64, b: f64, big_b: f64) -> f64 {
    if !([a, big_a, b, big_b]
        .iter()
        .all(|v| v.is_finite() && *v > 0.0))
    {
        return f64::NAN;
    }
    let lead = a / (a + b);
    let f = if big_a >= big_b {
        let ratio = big_b / big_a;
        hyp2f1_positive(1.0, a + 1.0, a + b + 1.0, 1.0 - ratio).map(|f| ratio * f)
    } else {
        hyp2f1_positive(1.0, b, a + b + 1.0, 1.0 - big_a / big_b)
    };
    f.map_or(f64::NAN, |f| (lead * f).min(1.0))
}

impl ParetoNbdParams {
    /// P(W ≤ h | alive) for λ ~ Gamma(a, A), μ ~ Gamma(s, B), given g0 = G(a, A, s, B).
    fn within_given_alive(&self, a: f64, big_a: f64, big_b: f64, g0: f64, h: f64) -> f64 {
        if h == 0.0 {
            return 0.0;
        }
        if h == f64::INFINITY {
            return g0;
        }
        let ln_k = -a * (h / big_a).ln_1p() - self.s * (h / big_b).ln_1p();
        let later = ln_k.exp() * gamma_share(a, big_a + h, self.s, big_b + h);
        (g0 - later).clamp(0.0, g0)
    }
}

/// λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T) given alive; competing exponentials (module docs).
impl NextPurchase for ParetoNbdParams {
    fn p_purchase_within(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if !(valid_row(x, t_x, t) && horizon >= 0.0) {
            return f64::NAN;
        }
        let (a, big_a, big_b) = (self.r + x, self.alpha + t, self.beta + t);
        let g0 = gamma_share(a, big_a, self.s, big_b);
        self.p_alive(x, t_x, t) * self.within_given_alive(a, big_a, big_b, g0, horizon)
    }

    fn p_purchase_ever(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if !valid_row(x, t_x, t) {
            return f64::NAN;
        }
        self.p_alive(x, t_x, t) * gamma_share(self.r + x, self.alpha + t, self.s, self.beta + t)
    }

    /// Bisection on P(W ≤ w | alive) = q · G: bracketed by doubling from α + T, then halved
    /// (geometrically once both ends are positive) to a relative width of 1e-12. ∞ when the
    /// quantile is beyond 10³⁰⁰ (never for q < 1 in practice).
    fn waiting_time_quantile(&self, q: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if !(valid_row(x, t_x, t) && (0.0..1.0).contains(&q)) {
            return f64::NAN;
        }
        let (a, big_a, big_b) = (self.r + x, self.alpha + t, self.beta + t);
        let g0 = gamma_share(a, big_a, self.s, big_b);
        if !(g0 > 0.0) || !(self.p_alive(x, t_x, t) > 0.0) {
            return f64::NAN;
        }
        if q == 0.0 {
            return 0.0;
        }
        let target = q * g0;
        let below = |w: f64| self.within_given_alive(a, big_a, big_b, g0, w) < target;
        let (mut lo, mut hi) = (0.0, big_a);
        while below(hi) {
            lo = hi;
            hi *= 2.0;
            if hi > 1e300 {
                return f64::INFINITY;
            }
        }
        for _ in 0..2000 {
            if hi - lo <= 1e-12 * hi {
                break;
            }
            let mid = if lo > 0.0 { (lo * hi).sqrt() } else { 0.5 * hi };
            if !(mid > lo && mid < hi) {
                break;
            }
            if below(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_share_equal_rates_is_the_beta_mean_and_symmetric() {
        let g = gamma_share(0.7, 3.0, 1.9, 3.0);
        assert!((g - 0.7 / 2.6).abs() < 1e-15, "{g}");
        for (a, aa, b, bb) in [
            (0.7, 3.0, 1.9, 11.0),
            (2.5, 40.0, 0.3, 1.0),
            (1.0, 1.0, 1.0, 2.0),
        ] {
            let s = gamma_share(a, aa, b, bb) + gamma_share(b, bb, a, aa);
            assert!((s - 1.0).abs() < 1e-13, "{a} {aa} {b} {bb}: {s}");
        }
    }

    #[test]
    fn geo_quantile_inverts_geo_within() {
        for (p, k, rate) in [(0.8, 1.3, 10.0), (1.0, 0.2, 4.4), (0.3, 25.0, 100.0)] {
            for q in [0.0, 0.1, 0.5, 0.9, 0.999] {
                let w = geo_quantile(p, k, rate, q);
                let back = geo_within(p, k, rate, w) / p;
                assert!((back - q).abs() < 1e-13, "{p} {k} {rate} q={q}: {back}");
            }
        }
    }
}
