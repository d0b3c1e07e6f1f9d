//! BG/NBD: the beta-geometric / negative binomial distribution model of Fader, Hardie & Lee
//! (2005), "'Counting your customers' the easy way: an alternative to the Pareto/NBD model",
//! Marketing Science 24(2), 275–284 (equation numbers below are that paper's).
//!
//! While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
//! repeat purchase they drop out with probability p ~ Beta(a, b).
//!
//! The machinery here is shared with [`crate::mbgnbd`]: MBG/NBD (Batislam, Denizel & Filiztekin
//! 2007) differs only in letting a customer also drop out right after the first purchase, which
//! shifts every Beta function argument `b + x` to `b + x + 1` and makes x = 0 customers
//! possibly dead. [`Variant`] carries that difference.
//!
//! Numerics: everything is in log space. The likelihood groups its work: terms that depend only
//! on x are computed once per distinct x, logarithms of α + T and α + t_x once per distinct time,
//! so a row costs one `exp` and one `ln`. Conditional expectations use the Euler transform of
//! the Gauss ₂F₁ in eq. (10), whose series converges fast for any frequency, and are written so
//! that a = 1 is neither singular nor a cancellation.

use std::sync::Mutex;

use crate::data::{DataError, Rfm, RfmRow, RowMap};
use crate::fit::{maximize, Fit, FitOptions, Likelihood};
use crate::group::KeyTable;
use crate::rfm::RfmModel;
use crate::special::{digamma, ln_beta, ln_gamma, ln_hyp2f1_positive, trigamma};
use crate::ModelError;

/// Parameter names of BG/NBD and MBG/NBD, in the papers' order.
pub const PARAM_NAMES: &[&str] = &["r", "alpha", "a", "b"];

/// BG/NBD parameters (Fader, Hardie & Lee 2005): purchase rate λ ~ Gamma(shape `r`, rate
/// `alpha`, in the data's time unit), drop-out probability p ~ Beta(`a`, `b`). All positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbdParams {
    fn geo(&self) -> GeoNbd {
        GeoNbd {
            r: self.r,
            alpha: self.alpha,
            a: self.a,
            b: self.b,
            variant: Variant::Bg,
        }
    }
}

impl RfmModel for BgNbdParams {
    fn name(&self) -> &'static str {
        "bgnbd"
    }
    fn param_names(&self) -> &'static [&'static str] {
        PARAM_NAMES
    }
    fn params(&self) -> Vec<f64> {
        vec![self.r, self.alpha, self.a, self.b]
    }
    /// Missing entries become NaN (and every prediction NaN).
    fn with_params(&self, theta: &[f64]) -> Self {
        let [r, alpha, a, b] = four(theta);
        BgNbdParams { r, alpha, a, b }
    }
    /// Eq. (6).
    fn log_likelihood_one(&self, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo().log_likelihood_one(x, t_x, t)
    }
    /// Eq. (13); 1 when x = 0.
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo().p_alive(x, t_x, t)
    }
    fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo().p_alive_at(future, x, t_x, t)
    }
    fn prob_future_purchases(&self, horizon: f64, n: u32, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo().prob_future_purchases(horizon, n, x, t_x, t)
    }
    /// Eq. (10).
    fn conditional_expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64 {
        self.geo()
            .conditional_expected_purchases(horizon, x, t_x, t)
    }
    /// Eq. (9).
    fn expected_purchases(&self, t: f64) -> f64 {
        self.geo().expected_purchases(t)
    }
    /// Eq. (8).
    fn prob_purchases(&self, t: f64, n: u32) -> f64 {
        self.geo().prob_purchases(t, n)
    }
    fn score_rows(&self, horizon: f64, rows: &[RfmRow]) -> Vec<(f64, f64)> {
        self.geo().score(horizon, rows)
    }
}

/// Fit BG/NBD by maximum likelihood (eq. 6 summed over customers).
///
/// Errors: no customer with a repeat purchase ([`Rfm::require_repeat_buyers`]), no finite
/// likelihood from any start, or a maximum that is not finite (degenerate data).
pub fn fit_bgnbd(data: &Rfm, opts: &FitOptions) -> Result<(BgNbdParams, Fit), ModelError> {
    data.require_repeat_buyers()?;
    let lik = BgNbdLikelihood::new(data);
    let fit = checked_maximize(&lik, opts, "BG/NBD")?;
    let [r, alpha, a, b] = four(&fit.params);
    Ok((BgNbdParams { r, alpha, a, b }, fit))
}

/// The BG/NBD log-likelihood (eq. 6) of grouped data, with its analytic gradient.
#[derive(Debug, Clone)]
pub struct BgNbdLikelihood(pub(crate) GeoNbdLikelihood);

impl BgNbdLikelihood {
    pub fn new(data: &Rfm) -> Self {
        BgNbdLikelihood(GeoNbdLikelihood::new(data, Variant::Bg))
    }
}

impl Likelihood for BgNbdLikelihood {
    fn names(&self) -> &'static [&'static str] {
        PARAM_NAMES
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        self.0.value_and_gradient(theta).0
    }
    fn has_analytic_gradient(&self) -> bool {
        true
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (v, g) = self.0.value_and_gradient(theta);
        (v, g.to_vec())
    }
    fn hessian(&self, theta: &[f64]) -> Option<Vec<Vec<f64>>> {
        self.0
            .hessian(theta)
            .map(|h| h.iter().map(|r| r.to_vec()).collect())
    }
    fn observations(&self) -> f64 {
        self.0.n
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        self.0.starts()
    }
}

// ---------------------------------------------------------------------------------------------
// Shared BG/NBD and MBG/NBD machinery.

/// Which member of the beta-geometric/NBD family: they differ by whether a customer can drop out
/// at the first purchase (time 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// Fader, Hardie & Lee (2005): drop-out only after repeat purchases.
    Bg,
    /// Batislam, Denizel & Filiztekin (2007), as parameterised by lifetimes'
    /// `ModifiedBetaGeoFitter`: drop-out also right after the first purchase.
    Mbg,
}

impl Variant {
    /// s in the formulas: Beta arguments b + x become b + x + s.
    fn shift(self) -> f64 {
        match self {
            Variant::Bg => 0.0,
            Variant::Mbg => 1.0,
        }
    }
}

/// The four parameters and the variant; every formula of both models, written once.
/// With s = [`Variant::shift`] (0 for BG/NBD, 1 for MBG/NBD) and δ = 1 when x + s > 0:
///
/// L(x, t_x, T) = B(a, b+x+s)/B(a, b) · Γ(r+x) α^r / Γ(r) · [(α+T)^{−(r+x)}
///                + δ a/(b+x+s−1) (α+t_x)^{−(r+x)}]
///
/// (FHL 2005 eq. 6 for s = 0, using B(a+1, b+x−1)/B(a, b+x) = a/(b+x−1)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GeoNbd {
    pub(crate) r: f64,
    pub(crate) alpha: f64,
    pub(crate) a: f64,
    pub(crate) b: f64,
    pub(crate) variant: Variant,
}

impl GeoNbd {
    fn valid(&self) -> bool {
        [self.r, self.alpha, self.a, self.b]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// ln of δ a/(b+x+s−1) ((α+T)/(α+t_x))^{r+x}: the odds that the customer is dead; −∞ when
    /// the customer cannot be dead (x + s = 0).
    fn ln_dead_odds(&self, x: f64, t_x: f64, t: f64) -> f64 {
        self.ln_dead_odds_from(self.ln_odds_head(self.a.ln(), x), x, t_x, t)
    }

    /// ln a − ln(b+x+s−1), the part of [`GeoNbd::ln_dead_odds`] that depends on x only, given
    /// ln a (meaningless, and unused, when x + s = 0).
    #[inline]
    fn ln_odds_head(&self, ln_a: f64, x: f64) -> f64 {
        ln_a - (self.b + x + self.variant.shift() - 1.0).ln()
    }

    /// [`GeoNbd::ln_dead_odds`] given its x-only part `head` ([`GeoNbd::ln_odds_head`]).
    #[inline]
    fn ln_dead_odds_from(&self, head: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if x + self.variant.shift() == 0.0 {
            return f64::NEG_INFINITY;
        }
        let ratio = ((t - t_x) / (self.alpha + t_x)).ln_1p();
        head + (self.r + x) * ratio
    }

    pub(crate) fn log_likelihood_one(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        let (r, al, a, b) = (self.r, self.alpha, self.a, self.b);
        let s = self.variant.shift();
        let head = ln_gamma(r + x) - ln_gamma(r) + r * al.ln() - (r + x) * (al + t).ln()
            + ln_gamma(a + b)
            + ln_gamma(b + x + s)
            - ln_gamma(b)
            - ln_gamma(a + b + x + s);
        head + softplus(self.ln_dead_odds(x, t_x, t))
    }

    /// [`GeoNbd::log_likelihood_one`] and its gradient in (r, α, a, b), for models whose
    /// parameters differ between customers (covariates). With q = P(dead | data) the share of
    /// the dead-odds term: ∂r = ψ(r+x) − ψ(r) + ln α − ln(α+T) + q ln((α+T)/(α+t_x)),
    /// ∂α = r/α − (r+x)/(α+T) + q (r+x)(1/(α+T) − 1/(α+t_x)), ∂a = ψ(a+b) − ψ(a+b+x+s) + q/a,
    /// ∂b = ψ(a+b) + ψ(b+x+s) − ψ(b) − ψ(a+b+x+s) − q/(b+x+s−1).
    pub(crate) fn row_value_grad(&self, x: f64, t_x: f64, t: f64) -> (f64, [f64; 4]) {
        if !self.valid() {
            return (f64::NAN, [f64::NAN; 4]);
        }
        let (r, al, a, b) = (self.r, self.alpha, self.a, self.b);
        let s = self.variant.shift();
        let v = self.log_likelihood_one(x, t_x, t);
        let odds = self.ln_dead_odds(x, t_x, t);
        let q = sigmoid(odds);
        let (ln_ratio, d_ratio) = if x + s == 0.0 {
            (0.0, 0.0)
        } else {
            (
                ((t - t_x) / (al + t_x)).ln_1p(),
                1.0 / (al + t) - 1.0 / (al + t_x),
            )
        };
        let dg_ab = digamma(a + b);
        let dg_abx = digamma(a + b + x + s);
        let dead_b = if x + s == 0.0 {
            0.0
        } else {
            q / (b + x + s - 1.0)
        };
        let g = [
            digamma(r + x) - digamma(r) + al.ln() - (al + t).ln() + q * ln_ratio,
            r / al - (r + x) / (al + t) + q * (r + x) * d_ratio,
            dg_ab - dg_abx + q / a,
            dg_ab + digamma(b + x + s) - digamma(b) - dg_abx - dead_b,
        ];
        (v, g)
    }

    /// FHL 2005 eq. (13): 1 / (1 + dead odds).
    pub(crate) fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        sigmoid(-self.ln_dead_odds(x, t_x, t))
    }

    /// P(alive at T + t | x, t_x, T). Given alive at T, λ ~ Gamma(r+x, α+T) and p ~ Beta(a,
    /// b+x+s) (s = 1 for MBG/NBD, which also survived the chance to drop out at the first
    /// purchase); the customer survives (T, T+t] unless one of the Poisson(λ) purchases in it
    /// is followed by dropout, a thinned process of rate λp: P = E[e^{−λpt}]
    /// = E_p[(1 + pu)^{−(r+x)}], u = t/(α+T), = ₂F₁(r+x, a; a+b+x+s; −u) (Euler's integral)
    /// = (1+u)^{−(r+x)} ₂F₁(r+x, b+x+s; a+b+x+s; u/(1+u)) (Pfaff), a series of positive terms.
    pub(crate) fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() || !(future >= 0.0) {
            return f64::NAN;
        }
        let now = self.p_alive(x, t_x, t);
        if future == 0.0 || !now.is_finite() {
            return now;
        }
        if future.is_infinite() {
            return 0.0;
        }
        let s = self.variant.shift();
        let (p, q) = (self.r + x, self.b + x + s);
        let u = future / (self.alpha + t);
        let w = future / (self.alpha + t + future);
        let ln_f = -p * u.ln_1p() + ln_hyp2f1_positive(p, q, self.a + q, w);
        now * ln_f.exp().min(1.0)
    }

    /// FHL 2005 eq. (10) (s = 0; the MBG/NBD analogue with s = 1):
    ///
    /// E[Y(t) | x, t_x, T] = (a+b+x+s−1)/(a−1) · [1 − y^{r+x} ₂F₁(r+x, b+x+s; a+b+x+s−1; z)]
    ///                       · P(alive | x, t_x, T),  z = t/(α+T+t), y = 1 − z.
    ///
    /// Euler's transformation ₂F₁(A, B; C; z) = (1−z)^{C−A−B} ₂F₁(C−A, C−B; C; z) turns the bracket
    /// into 1 − y^{a−1} ₂F₁(a+b+s−1−r, a−1; C; z), whose series shrinks with x instead of
    /// growing with it. Writing ₂F₁(·, a−1; ·) = 1 + (a−1)·S and dividing by a−1 leaves
    /// (1 − y^{a−1})/(a−1) − y^{a−1} S: no division by a − 1 and no cancellation near a = 1.
    pub(crate) fn conditional_expected_purchases(
        &self,
        horizon: f64,
        x: f64,
        t_x: f64,
        t: f64,
    ) -> f64 {
        if !self.valid() || horizon.is_nan() || horizon < 0.0 {
            return f64::NAN;
        }
        let h = self.horizon_terms(horizon, t);
        let c0 = self.eq10_c0();
        let c = self.eq10_c(x);
        let series = eq10_series(self.eq10_a(), h.z, c, |k| {
            let ratio = |i: u32| {
                let kf = f64::from(k + i);
                self.eq10_factor(kf) * h.z * (1.0 / (c0 + (x + kf)))
            };
            [ratio(0), ratio(1), ratio(2), ratio(3)]
        });
        let scale = if series.is_finite() {
            self.eq10_scale(&h, c, series)
        } else {
            self.eq10_direct(horizon, x, t)
        };
        scale * self.p_alive(x, t_x, t)
    }

    /// Eq. (10) without its P(alive) factor, from the untransformed series:
    /// c/(a−1) · [1 − Σₖ y^{r+x} tₖ], tₖ the terms of ₂F₁(r+x, b+x+s; c; z), each term taken
    /// through its logarithm so that neither y^{r+x} nor the series overflows.
    ///
    /// The fallback when the Euler-transformed series of
    /// [`GeoNbd::conditional_expected_purchases`] overflows: its terms grow like
    /// (1−z)^{−(a−1)} before they fall, which passes f64's range when a is in the thousands (a
    /// and b both large: dropout nearly the same for every customer, as fits of such data
    /// give). Here the terms are bounded by 1; the bracket is a difference close to 1 − 1 only
    /// when (a−1)/c is small, which costs about log₁₀(c/(a−1)) digits.
    fn eq10_direct(&self, horizon: f64, x: f64, t: f64) -> f64 {
        let (r, a, b) = (self.r, self.a, self.b);
        if horizon == 0.0 {
            return 0.0;
        }
        if !(a > 1.0) {
            return f64::NAN;
        }
        let s = self.variant.shift();
        let c = self.eq10_c(x);
        let (p, q) = (r + x, b + x + s);
        let z = horizon / (self.alpha + t + horizon);
        let ln_sum = -p * (horizon / (self.alpha + t)).ln_1p() + ln_hyp2f1_positive(p, q, c, z);
        let sum = ln_sum.exp();
        if !sum.is_finite() {
            return f64::NAN;
        }
        (c / (a - 1.0)) * (1.0 - sum).max(0.0)
    }

    /// A = a + b + s − 1 − r, the first parameter of the Euler-transformed series.
    fn eq10_a(&self) -> f64 {
        self.a + self.b + self.variant.shift() - 1.0 - self.r
    }

    /// c = (a + b + s − 1) + x, the series' third parameter (c + k is computed as c₀ + (x + k)
    /// everywhere, so that a table of 1/(c₀ + m) over whole m gives the same bits).
    fn eq10_c(&self, x: f64) -> f64 {
        self.eq10_c0() + x
    }

    fn eq10_c0(&self) -> f64 {
        self.a + self.b + self.variant.shift() - 1.0
    }

    /// (A + k)(ε + k)/(k + 1), ε = a − 1: the part of the k-th term ratio that depends on
    /// neither the row nor the horizon.
    #[inline]
    fn eq10_factor(&self, kf: f64) -> f64 {
        (self.eq10_a() + kf) * (self.a - 1.0 + kf) / (kf + 1.0)
    }

    /// What eq. (10) needs from the horizon and T only.
    fn horizon_terms(&self, horizon: f64, t: f64) -> HorizonTerms {
        let al = self.alpha;
        let z = horizon / (al + t + horizon);
        let ln_y = -(horizon / (al + t)).ln_1p();
        let eps = self.a - 1.0;
        // (1 − y^ε)/ε, → −ln y as ε → 0.
        let g = if eps == 0.0 {
            -ln_y
        } else {
            -(eps * ln_y).exp_m1() / eps
        };
        HorizonTerms {
            z,
            g,
            y_eps: (eps * ln_y).exp(),
        }
    }

    /// c · [(1 − y^ε)/ε − y^ε S]: eq. (10) without its P(alive) factor.
    fn eq10_scale(&self, h: &HorizonTerms, c: f64, series: f64) -> f64 {
        let bracket = h.g - h.y_eps * series;
        c * bracket
    }

    /// P(alive) and eq. (10) for every row, as [`GeoNbd::p_alive`] and
    /// [`GeoNbd::conditional_expected_purchases`] give them (to the bit), sharing what rows have
    /// in common: the horizon terms per distinct T, the ₂F₁ series per distinct (x, T) with its
    /// row-independent factors and the reciprocals 1/(c₀ + m) tabulated once.
    pub(crate) fn score(&self, horizon: f64, rows: &[RfmRow]) -> Vec<(f64, f64)> {
        let one_by_one = |r: &RfmRow| {
            (
                self.p_alive(r.x, r.t_x, r.t),
                self.conditional_expected_purchases(horizon, r.x, r.t_x, r.t),
            )
        };
        if !self.valid() || horizon.is_nan() || horizon < 0.0 {
            return rows.iter().map(one_by_one).collect();
        }
        let big_a = self.eq10_a();
        let c0 = self.eq10_c0();
        let mut per_t: KeyTable<1> = KeyTable::new();
        let mut t_terms: Vec<HorizonTerms> = Vec::new();
        let mut per_xt: KeyTable<2> = KeyTable::with_room(rows.len());
        // Each distinct (x, T): its whole x and the index of its T's horizon terms.
        let mut pairs: Vec<(usize, u32, f64)> = Vec::with_capacity(rows.len());
        // Per row: its (x, T) pair, or u32::MAX for a row scored one by one.
        let mut pair_of: Vec<u32> = Vec::with_capacity(rows.len());
        // ln a − ln(b+x+s−1) per whole x (NaN: not yet computed).
        let ln_a = self.a.ln();
        let mut head: Vec<f64> = Vec::new();
        let mut out = Vec::with_capacity(rows.len());
        // P(alive) per row, and the distinct (x, T) pairs in order of first appearance.
        out.extend(rows.iter().map(|r| {
            let (x, t) = (r.x, r.t);
            // Whole frequencies of a sensible size index the tables; others (never in
            // validated data) are scored one by one.
            let xi = x as usize;
            if xi as f64 != x || xi > 1 << 30 {
                pair_of.push(u32::MAX);
                return one_by_one(r);
            }
            if head.len() <= xi {
                head.resize(xi + 1, f64::NAN);
            }
            if head[xi].is_nan() {
                head[xi] = self.ln_odds_head(ln_a, x);
            }
            let (j, new) = per_xt.find_or_insert([x.to_bits(), t.to_bits()]);
            if new {
                let (it, new_t) = per_t.find_or_insert([t.to_bits()]);
                if new_t {
                    t_terms.push(self.horizon_terms(horizon, t));
                }
                pairs.push((xi, it, t));
            }
            pair_of.push(j);
            // GeoNbd::p_alive (the parameters are valid here).
            (
                sigmoid(-self.ln_dead_odds_from(head[xi], x, r.t_x, t)),
                f64::NAN,
            )
        }));
        // The ₂F₁ series of every pair, four pairs at a time: each lane does exactly the
        // operations of eq10_series (same bits); interleaving them hides the latency of the
        // multiply chain that one series is.
        let mut xt_scale: Vec<f64> = Vec::with_capacity(pairs.len());
        let mut f: Vec<f64> = vec![0.0];
        let mut inv: Vec<f64> = Vec::new();
        for group in pairs.chunks(LANES) {
            let mut lanes = [(0usize, 0.0f64, 1.0f64); LANES];
            for (l, &(xi, it, _)) in group.iter().enumerate() {
                lanes[l] = (xi, t_terms[it as usize].z, self.eq10_c(xi as f64));
            }
            let tables = Tables {
                f: &mut f,
                inv: &mut inv,
                factor: |k| self.eq10_factor(k),
                c0,
            };
            let sums = eq10_series_lanes(big_a, &lanes[..group.len()], tables);
            for (l, &(xi, it, t)) in group.iter().enumerate() {
                let h = t_terms[it as usize];
                xt_scale.push(if sums[l].is_finite() {
                    self.eq10_scale(&h, lanes[l].2, sums[l])
                } else {
                    self.eq10_direct(horizon, xi as f64, t)
                });
            }
        }
        for (o, &j) in out.iter_mut().zip(&pair_of) {
            if j != u32::MAX {
                o.1 = xt_scale[j as usize] * o.0;
            }
        }
        out
    }

    /// FHL 2005 eq. (9) (s = 0) and its MBG/NBD analogue: E[X(t)] is eq. (10) for a customer
    /// just acquired (x = 0, t_x = T = 0).
    pub(crate) fn expected_purchases(&self, t: f64) -> f64 {
        self.conditional_expected_purchases(t, 0.0, 0.0, 0.0)
    }

    /// FHL 2005 eq. (8) (s = 0), and for MBG/NBD (s = 1) the same argument with drop-out also
    /// possible at time 0:
    ///
    /// P(X(t) = n) = B(a, b+n+s)/B(a, b) · NBD(n) + δ B(a+1, b+n+s−1)/B(a, b) · P(N(t) ≥ n),
    ///
    /// where N(t) ~ NBD(r, α/(α+t)) counts the purchases of a customer who never drops out and
    /// δ = 1 when n + s > 0. The tail P(N(t) ≥ n) is summed directly (not as 1 − head) so small
    /// probabilities keep their relative accuracy.
    pub(crate) fn prob_purchases(&self, t: f64, n: u32) -> f64 {
        if !self.valid() || !t.is_finite() || t < 0.0 {
            return f64::NAN;
        }
        if t == 0.0 {
            return if n == 0 { 1.0 } else { 0.0 };
        }
        let s = self.variant.shift();
        // Dropout can precede the n-th repeat purchase unless n = 0 in BG/NBD (no dropout at
        // the first purchase).
        nbd_geometric_pmf(
            self.r,
            self.alpha,
            self.a,
            self.b + s,
            self.b,
            n,
            t,
            f64::from(n) + s > 0.0,
        )
    }

    /// P(X(T, T+t) = n | x, t_x, T): n repeat purchases in the next t. Given alive at T,
    /// λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b') with b' = b+x+s, independent; with N ~
    /// Poisson(λt) the uninterrupted arrivals, she makes n ≥ 1 purchases when she survives n−1
    /// of them and drops out at the n-th (N ≥ n), or survives all n and N = n:
    /// P(n | alive) = B(a+1, b'+n−1)/B(a, b') · P(NBD ≥ n) + B(a, b'+n)/B(a, b') · P(NBD = n),
    /// NBD(r+x, (α+T)/(α+T+t)); a dead customer makes none. Sums to 1 over n, and its mean is
    /// eq. (10).
    pub(crate) fn prob_future_purchases(&self, t: f64, n: u32, x: f64, t_x: f64, tt: f64) -> f64 {
        if !self.valid() || !t.is_finite() || t < 0.0 {
            return f64::NAN;
        }
        if t == 0.0 {
            return if n == 0 { 1.0 } else { 0.0 };
        }
        let alive = self.p_alive(x, t_x, tt);
        let bp = self.b + x + self.variant.shift();
        let future = nbd_geometric_pmf(self.r + x, self.alpha + tt, self.a, bp, bp, n, t, n > 0);
        // A dead customer makes none.
        alive * future + if n == 0 { 1.0 - alive } else { 0.0 }
    }
}

/// The horizon's share of eq. (10) at one T: z = t/(α+T+t), (1 − y^ε)/ε and y^ε.
#[derive(Debug, Clone, Copy)]
struct HorizonTerms {
    z: f64,
    g: f64,
    y_eps: f64,
}

/// S = Σ_{k≥1} tₖ with t₁ = A z / c and t_{k+1} = tₖ · ratio(k), ratio(k) =
/// (A+k)(ε+k)/(k+1) · z/(c+k): the series (₂F₁(A, ε; c; z) − 1)/ε of eq. (10) (see
/// [`crate::special::hyp2f1_minus_one_over_b`], the same sum).
///
/// Terms come four at a time from the last one and the running products of the next four
/// ratios, so consecutive terms do not wait on each other (one multiplication per four terms
/// on the dependency chain instead of four). The sum stops once a bound on the remaining terms
/// is below 1e-17 of it (the ratios tend to z; the larger of the last ratio and |z| bounds
/// those still to come); NaN when the terms overflow or 10⁷ of them do not converge.
#[inline(always)]
fn eq10_series(big_a: f64, z: f64, c: f64, mut ratios: impl FnMut(u32) -> [f64; 4]) -> f64 {
    let az = z.abs();
    let mut term = big_a * z / c;
    let mut sum = term;
    let mut k = 1u32;
    while k < 10_000_000 {
        let [r1, r2, r3, r4] = ratios(k);
        let p2 = r1 * r2;
        let p3 = p2 * r3;
        let p4 = p3 * r4;
        let (t1, t2, t3, t4) = (term * r1, term * p2, term * p3, term * p4);
        sum += (t1 + t2) + (t3 + t4);
        term = t4;
        k += 4;
        if !sum.is_finite() {
            return f64::NAN;
        }
        let bound = r4.abs().max(az);
        if term == 0.0 || (bound < 1.0 && term.abs() * bound <= 1e-17 * sum.abs() * (1.0 - bound)) {
            return sum;
        }
    }
    f64::NAN
}

/// Pairs scored together by [`eq10_series_lanes`].
const LANES: usize = 4;

/// The row-independent tables of the eq. (10) series, grown on demand: f[k] =
/// `factor(k)` for k ≥ 1 (f[0] unused) and inv[m] = 1/(c₀ + m).
struct Tables<'a, F: Fn(f64) -> f64> {
    f: &'a mut Vec<f64>,
    inv: &'a mut Vec<f64>,
    factor: F,
    c0: f64,
}

impl<F: Fn(f64) -> f64> Tables<'_, F> {
    /// Make f hold at least `nf` entries and inv at least `ninv`.
    fn grow(&mut self, nf: usize, ninv: usize) {
        while self.f.len() < nf {
            let k = self.f.len() as f64;
            self.f.push((self.factor)(k));
        }
        while self.inv.len() < ninv {
            self.inv.push(1.0 / (self.c0 + self.inv.len() as f64));
        }
    }
}

/// [`eq10_series`] for up to [`LANES`] series at once, lane l being (x, z, c) with ratio(k) =
/// f[k]·z·inv[x+k]. Every lane performs exactly the operations of [`eq10_series`], in the
/// same order, and stops where it would, so each sum is the same to the bit; the lanes run
/// interleaved only so that their independent multiply chains overlap.
fn eq10_series_lanes(
    big_a: f64,
    lanes: &[(usize, f64, f64)],
    mut tables: Tables<'_, impl Fn(f64) -> f64>,
) -> [f64; LANES] {
    let n = lanes.len();
    let max_x = lanes.iter().map(|l| l.0).max().unwrap_or(0);
    let mut term = [0.0; LANES];
    let mut sum = [0.0; LANES];
    let mut out = [f64::NAN; LANES];
    let mut live = [false; LANES];
    for (l, &(_, z, c)) in lanes.iter().enumerate() {
        term[l] = big_a * z / c;
        sum[l] = term[l];
        live[l] = true;
    }
    let mut left = n;
    let mut k = 1u32;
    while left > 0 && k < 10_000_000 {
        let ku = k as usize;
        tables.grow(ku + 4, max_x + ku + 4);
        let (f, inv) = (&tables.f[..], &tables.inv[..]);
        let f4 = &f[ku..ku + 4];
        for l in 0..n {
            if !live[l] {
                continue;
            }
            let (x, z, _) = lanes[l];
            let i4 = &inv[x + ku..x + ku + 4];
            let (r1, r2, r3, r4) = (
                f4[0] * z * i4[0],
                f4[1] * z * i4[1],
                f4[2] * z * i4[2],
                f4[3] * z * i4[3],
            );
            let p2 = r1 * r2;
            let p3 = p2 * r3;
            let p4 = p3 * r4;
            let t = term[l];
            let (t1, t2, t3, t4) = (t * r1, t * p2, t * p3, t * p4);
            let s = sum[l] + ((t1 + t2) + (t3 + t4));
            sum[l] = s;
            term[l] = t4;
            let finished = if !s.is_finite() {
                Some(f64::NAN)
            } else {
                let bound = r4.abs().max(z.abs());
                (t4 == 0.0 || (bound < 1.0 && t4.abs() * bound <= 1e-17 * s.abs() * (1.0 - bound)))
                    .then_some(s)
            };
            if let Some(v) = finished {
                out[l] = v;
                live[l] = false;
                left -= 1;
            }
        }
        k += 4;
    }
    out
}

/// P(n purchases in (0, t]) of an NBD(r, α) purchaser who drops out after each purchase with
/// p ~ Beta(a, b_den), counting from a state that has already weighed p by (1−p)^(b_num−b_den):
/// she survives all n and the process stops at n, B(a, b_num+n)/B(a, b_den) · P(NBD = n), or
/// (when `can_drop`) survives n−1 and drops out at the n-th, B(a+1, b_num+n−1)/B(a, b_den) ·
/// P(NBD ≥ n); NBD(r, α/(α+t)). FHL 2005 eq. (8) is (r, α, a, b+s, b); a customer alive at T
/// is (r+x, α+T, a, b', b') with b' = b+x+s.
#[allow(clippy::too_many_arguments)]
fn nbd_geometric_pmf(
    r: f64,
    alpha: f64,
    a: f64,
    b_num: f64,
    b_den: f64,
    n: u32,
    t: f64,
    can_drop: bool,
) -> f64 {
    let nf = f64::from(n);
    let ln_p = -(t / alpha).ln_1p();
    let ln_q = -(alpha / t).ln_1p();
    let ln_bab = ln_beta(a, b_den);
    let stay = (ln_beta(a, b_num + nf) - ln_bab + ln_nbd_pmf(r, nf, ln_p, ln_q)).exp();
    if !can_drop {
        return stay;
    }
    let drop =
        (ln_beta(a + 1.0, b_num + nf - 1.0) - ln_bab + ln_nbd_upper_tail(r, n, ln_p, ln_q)).exp();
    stay + drop
}

/// ln P(N = n) for N ~ NBD: Γ(r+n)/(Γ(r) n!) p^r q^n, given ln p and ln q = ln(1 − p).
fn ln_nbd_pmf(r: f64, n: f64, ln_p: f64, ln_q: f64) -> f64 {
    let tail = if n == 0.0 { 0.0 } else { n * ln_q };
    ln_gamma(r + n) - ln_gamma(r) - ln_gamma(n + 1.0) + r * ln_p + tail
}

/// ln P(N ≥ n) for N ~ NBD(r, p). Above the mean the tail is summed upwards (its terms fall
/// geometrically); at or below it the head P(N < n) is summed downwards and complemented (the
/// head is then not close to 1).
fn ln_nbd_upper_tail(r: f64, n: u32, ln_p: f64, ln_q: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let q = ln_q.exp();
    let p = ln_p.exp();
    let nf = f64::from(n);
    let mean = r * q / p;
    if nf > mean {
        // pmf(j+1)/pmf(j) = q (r+j)/(j+1) < 1 for j ≥ n > mean, tending to q.
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut j = nf;
        loop {
            let ratio = q * (r + j) / (j + 1.0);
            term *= ratio;
            sum += term;
            let bound = ratio.max(q);
            if term * bound <= 1e-17 * sum * (1.0 - bound) || term == 0.0 {
                break;
            }
            j += 1.0;
        }
        ln_nbd_pmf(r, nf, ln_p, ln_q) + sum.ln()
    } else {
        // pmf(j−1)/pmf(j) = j / ((r+j−1) q); once below 1 it stays below 1 as j falls (r ≥ 1).
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut j = nf - 1.0;
        while j >= 1.0 {
            let ratio = j / ((r + j - 1.0) * q);
            term *= ratio;
            sum += term;
            if ratio < 1.0 && term * ratio <= 1e-17 * sum * (1.0 - ratio) {
                break;
            }
            j -= 1.0;
        }
        let head = (ln_nbd_pmf(r, nf - 1.0, ln_p, ln_q) + sum.ln()).exp();
        (-head).ln_1p()
    }
}

/// ln(1 + e^u), exact for large |u|.
#[inline]
fn softplus(u: f64) -> f64 {
    u.max(0.0) + (-u.abs()).exp().ln_1p()
}

/// 1 / (1 + e^{−u}) without overflow.
#[inline]
fn sigmoid(u: f64) -> f64 {
    let e = (-u.abs()).exp();
    if u >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// Run [`maximize`] and turn a non-finite optimum into an error.
pub(crate) fn checked_maximize<L: Likelihood>(
    lik: &L,
    opts: &FitOptions,
    model: &str,
) -> Result<Fit, ModelError> {
    let fit = maximize(lik, opts)?;
    if !fit.log_likelihood.is_finite() || fit.params.iter().any(|p| !p.is_finite() || *p <= 0.0) {
        return Err(DataError::Degenerate(format!(
            "the {model} likelihood has no finite maximum on these data (log-likelihood {}, parameters {:?})",
            fit.log_likelihood, fit.params
        ))
        .into());
    }
    Ok(fit)
}

/// The first four entries of a slice, NaN where missing.
pub(crate) fn four(theta: &[f64]) -> [f64; 4] {
    let g = |i: usize| theta.get(i).copied().unwrap_or(f64::NAN);
    [g(0), g(1), g(2), g(3)]
}

/// One grouped row of a customer who may be dead (x + s > 0).
#[derive(Debug, Clone, Copy)]
struct Row {
    w: f64,
    x: f64,
    /// Index into the distinct x values.
    ix: u32,
    /// Index into the distinct T values.
    it: u32,
    /// Index into the distinct t_x values.
    itx: u32,
}

/// The log-likelihood of BG/NBD or MBG/NBD on grouped data, arranged so that an evaluation costs
/// a few special functions per distinct x, one log per distinct T and t_x, and one `exp` and one
/// `ln` per row that may be dead.
///
/// ll = Σ_x W_x [ln Γ(r+x) + ln Γ(b+x+s) − ln Γ(a+b+x+s)]
///      + N [−ln Γ(r) + r ln α + ln Γ(a+b) − ln Γ(b)]
///      − Σ_T (r W_T + X_T) ln(α+T)
///      + Σ_rows w softplus(u),  u = ln a − ln(b+x+s−1) + (r+x)(ln(α+T) − ln(α+t_x)),
///
/// with W_x, W_T the weights of each distinct x and T and X_T = Σ w x over rows with that T.
#[derive(Debug)]
pub(crate) struct GeoNbdLikelihood {
    variant: Variant,
    pub(crate) n: f64,
    xs: Vec<f64>,
    wx: Vec<f64>,
    ts: Vec<f64>,
    wt: Vec<f64>,
    xwt: Vec<f64>,
    txs: Vec<f64>,
    rows: Vec<Row>,
    mean_x: f64,
    mean_t: f64,
    /// The last θ evaluated, with value and gradient: the optimiser asks for the cost and then
    /// the gradient at the same point, so one pass serves both.
    last: Mutex<Option<Evaluated>>,
}

type Evaluated = ([f64; 4], f64, [f64; 4]);

impl Clone for GeoNbdLikelihood {
    fn clone(&self) -> Self {
        GeoNbdLikelihood {
            variant: self.variant,
            n: self.n,
            xs: self.xs.clone(),
            wx: self.wx.clone(),
            ts: self.ts.clone(),
            wt: self.wt.clone(),
            xwt: self.xwt.clone(),
            txs: self.txs.clone(),
            rows: self.rows.clone(),
            mean_x: self.mean_x,
            mean_t: self.mean_t,
            last: Mutex::new(None),
        }
    }
}

fn intern(map: &mut RowMap<u64, u32>, values: &mut Vec<f64>, v: f64) -> u32 {
    *map.entry(v.to_bits()).or_insert_with(|| {
        values.push(v);
        // Fewer distinct values than rows, and rows fit in memory: u32 suffices.
        (values.len() - 1) as u32
    })
}

impl GeoNbdLikelihood {
    pub(crate) fn new(data: &Rfm, variant: Variant) -> Self {
        let s = variant.shift();
        let (mut mx, mut mt, mut mtx) = (RowMap::default(), RowMap::default(), RowMap::default());
        let mut out = GeoNbdLikelihood {
            variant,
            n: 0.0,
            xs: Vec::new(),
            wx: Vec::new(),
            ts: Vec::new(),
            wt: Vec::new(),
            xwt: Vec::new(),
            txs: Vec::new(),
            rows: Vec::new(),
            mean_x: 0.0,
            mean_t: 0.0,
            last: Mutex::new(None),
        };
        let (mut sum_x, mut sum_t) = (0.0, 0.0);
        for (row, w) in data.iter() {
            out.n += w;
            sum_x += w * row.x;
            sum_t += w * row.t;
            let ix = intern(&mut mx, &mut out.xs, row.x);
            if ix as usize == out.wx.len() {
                out.wx.push(0.0);
            }
            out.wx[ix as usize] += w;
            let it = intern(&mut mt, &mut out.ts, row.t);
            if it as usize == out.wt.len() {
                out.wt.push(0.0);
                out.xwt.push(0.0);
            }
            out.wt[it as usize] += w;
            out.xwt[it as usize] += w * row.x;
            if row.x + s > 0.0 {
                let itx = intern(&mut mtx, &mut out.txs, row.t_x);
                out.rows.push(Row {
                    w,
                    x: row.x,
                    ix,
                    it,
                    itx,
                });
            }
        }
        if out.n > 0.0 {
            out.mean_x = sum_x / out.n;
            out.mean_t = sum_t / out.n;
        }
        out
    }

    /// lifetimes' start (all ones) and one scaled to the data: r = 1/2, α such that r/α is the
    /// observed repeat-purchase rate, a = 1, b = 3.
    pub(crate) fn starts(&self) -> Vec<Vec<f64>> {
        let mut starts = vec![vec![1.0; 4]];
        let alpha = 0.5 * self.mean_t / self.mean_x.max(0.05);
        if alpha.is_finite() && alpha > 0.0 {
            starts.push(vec![0.5, alpha, 1.0, 3.0]);
        }
        starts
    }

    /// Log-likelihood and gradient, reusing the last evaluation when θ is bit-for-bit the same.
    pub(crate) fn value_and_gradient(&self, theta: &[f64]) -> (f64, [f64; 4]) {
        let key = four(theta);
        let same = |k: &[f64; 4]| {
            theta.len() == 4 && k.iter().zip(&key).all(|(a, b)| a.to_bits() == b.to_bits())
        };
        if let Ok(last) = self.last.lock() {
            if let Some((k, v, g)) = last.as_ref() {
                if same(k) {
                    return (*v, *g);
                }
            }
        }
        let (v, g) = self.eval::<true>(theta);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((key, v, g));
        }
        (v, g)
    }

    /// The Hessian of [`GeoNbdLikelihood::eval`]'s log-likelihood in (r, α, a, b), term by term
    /// of the sum in the struct's documentation: trigamma terms per distinct x, (r W_T + X_T)/
    /// (α+T)² per distinct T, and per row w [σ(1−σ) ∇u ∇uᵀ + σ ∇²u] with σ = σ(u), the
    /// derivative of softplus. `None` outside the domain.
    pub(crate) fn hessian(&self, theta: &[f64]) -> Option<[[f64; 4]; 4]> {
        let [r, al, a, b] = four(theta);
        if theta.len() != 4 || ![r, al, a, b].iter().all(|v| v.is_finite() && *v > 0.0) {
            return None;
        }
        let s = self.variant.shift();
        let n = self.n;
        let mut h = [[0.0; 4]; 4];
        let tg_ab = trigamma(a + b);
        h[0][0] = -n * trigamma(r);
        h[0][1] = n / al;
        h[1][1] = -n * r / (al * al);
        h[2][2] = n * tg_ab;
        h[2][3] = n * tg_ab;
        h[3][3] = n * (tg_ab - trigamma(b));
        let mut ln_bx = Vec::with_capacity(self.xs.len());
        let mut inv_bx = Vec::with_capacity(self.xs.len());
        for (&x, &w) in self.xs.iter().zip(&self.wx) {
            h[0][0] += w * trigamma(r + x);
            let t = trigamma(a + b + x + s);
            h[2][2] -= w * t;
            h[2][3] -= w * t;
            h[3][3] += w * (trigamma(b + x + s) - t);
            let bx = b + x + s - 1.0;
            ln_bx.push(if x + s > 0.0 { bx.ln() } else { f64::NAN });
            inv_bx.push(if x + s > 0.0 { 1.0 / bx } else { 0.0 });
        }
        let mut ln_t = Vec::with_capacity(self.ts.len());
        let mut inv_t = Vec::with_capacity(self.ts.len());
        for ((&t, &w), &xw) in self.ts.iter().zip(&self.wt).zip(&self.xwt) {
            let inv = 1.0 / (al + t);
            h[0][1] -= w * inv;
            h[1][1] += (r * w + xw) * inv * inv;
            ln_t.push((al + t).ln());
            inv_t.push(inv);
        }
        let ln_tx: Vec<f64> = self.txs.iter().map(|&tx| (al + tx).ln()).collect();
        let inv_tx: Vec<f64> = self.txs.iter().map(|&tx| 1.0 / (al + tx)).collect();
        let (ln_a, inv_a) = (a.ln(), 1.0 / a);
        for row in &self.rows {
            let (ix, it, itx) = (row.ix as usize, row.it as usize, row.itx as usize);
            let rx = r + row.x;
            let d = ln_t[it] - ln_tx[itx];
            let u = ln_a - ln_bx[ix] + rx * d;
            let e = (-u.abs()).exp();
            let one_e = 1.0 + e;
            let sig = if u >= 0.0 { 1.0 } else { e } / one_e;
            let sig2 = e / (one_e * one_e);
            let ed = inv_t[it] - inv_tx[itx];
            let du = [d, rx * ed, inv_a, -inv_bx[ix]];
            let (ws, ws2) = (row.w * sig, row.w * sig2);
            for i in 0..4 {
                for j in i..4 {
                    h[i][j] += ws2 * du[i] * du[j];
                }
            }
            h[0][1] += ws * ed;
            h[1][1] += ws * rx * (inv_tx[itx] * inv_tx[itx] - inv_t[it] * inv_t[it]);
            h[2][2] -= ws * inv_a * inv_a;
            h[3][3] += ws * inv_bx[ix] * inv_bx[ix];
        }
        for i in 0..4 {
            for j in 0..i {
                h[i][j] = h[j][i];
            }
        }
        Some(h)
    }

    /// Log-likelihood and (when `GRAD`) its gradient in (r, α, a, b). NaN outside the domain.
    pub(crate) fn eval<const GRAD: bool>(&self, theta: &[f64]) -> (f64, [f64; 4]) {
        let [r, al, a, b] = four(theta);
        if theta.len() != 4 || ![r, al, a, b].iter().all(|v| v.is_finite() && *v > 0.0) {
            return (f64::NAN, [f64::NAN; 4]);
        }
        let s = self.variant.shift();
        let n = self.n;
        let ln_al = al.ln();
        let ln_a = a.ln();

        let mut ll = n * (-ln_gamma(r) + r * ln_al + ln_gamma(a + b) - ln_gamma(b));
        let mut g = [0.0; 4];
        if GRAD {
            let psi_ab = digamma(a + b);
            g[0] = n * (-digamma(r) + ln_al);
            g[1] = n * r / al;
            g[2] = n * psi_ab;
            g[3] = n * (psi_ab - digamma(b));
        }

        // Per distinct x.
        let mut ln_bx = Vec::with_capacity(self.xs.len());
        let mut inv_bx = Vec::with_capacity(if GRAD { self.xs.len() } else { 0 });
        for (&x, &w) in self.xs.iter().zip(&self.wx) {
            ll += w * (ln_gamma(r + x) + ln_gamma(b + x + s) - ln_gamma(a + b + x + s));
            // Used only by rows that may be dead (x + s > 0, so bx ≥ b > 0).
            let bx = if x + s > 0.0 {
                b + x + s - 1.0
            } else {
                f64::NAN
            };
            ln_bx.push(bx.ln());
            if GRAD {
                let psi_abx = digamma(a + b + x + s);
                g[0] += w * digamma(r + x);
                g[2] -= w * psi_abx;
                g[3] += w * (digamma(b + x + s) - psi_abx);
                inv_bx.push(if x + s > 0.0 { 1.0 / bx } else { 0.0 });
            }
        }

        // Per distinct T.
        let mut ln_t = Vec::with_capacity(self.ts.len());
        let mut inv_t = Vec::with_capacity(if GRAD { self.ts.len() } else { 0 });
        for ((&t, &w), &xw) in self.ts.iter().zip(&self.wt).zip(&self.xwt) {
            let l = (al + t).ln();
            ll -= (r * w + xw) * l;
            ln_t.push(l);
            if GRAD {
                let inv = 1.0 / (al + t);
                g[0] -= w * l;
                g[1] -= (r * w + xw) * inv;
                inv_t.push(inv);
            }
        }

        // Per distinct t_x.
        let ln_tx: Vec<f64> = self.txs.iter().map(|&tx| (al + tx).ln()).collect();
        let inv_tx: Vec<f64> = if GRAD {
            self.txs.iter().map(|&tx| 1.0 / (al + tx)).collect()
        } else {
            Vec::new()
        };

        // Per row that may be dead.
        let mut sum_sp = 0.0;
        let (mut g_r, mut g_al, mut g_a) = (0.0, 0.0, 0.0);
        let mut g_bx = vec![0.0; if GRAD { self.xs.len() } else { 0 }];
        for row in &self.rows {
            let (ix, it, itx) = (row.ix as usize, row.it as usize, row.itx as usize);
            let rx = r + row.x;
            let d = ln_t[it] - ln_tx[itx];
            let u = ln_a - ln_bx[ix] + rx * d;
            let e = (-u.abs()).exp();
            // ln(1 + e) rather than ln_1p(e): e ≤ 1, so the absolute error stays below 2e-16
            // (all the sum needs) at half the cost.
            let one_e = 1.0 + e;
            sum_sp += row.w * (u.max(0.0) + one_e.ln());
            if GRAD {
                let sig = if u >= 0.0 { 1.0 } else { e } / one_e;
                let ws = row.w * sig;
                g_r += ws * d;
                g_al += ws * rx * (inv_t[it] - inv_tx[itx]);
                g_a += ws;
                g_bx[ix] += ws;
            }
        }
        ll += sum_sp;
        if GRAD {
            g[0] += g_r;
            g[1] += g_al;
            g[2] += g_a / a;
            g[3] -= g_bx.iter().zip(&inv_bx).map(|(w, i)| w * i).sum::<f64>();
        }
        (ll, g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::RfmRow;
    use crate::fit::numeric_gradient;
    use crate::special::hyp2f1;

    const CDNOW: BgNbdParams = BgNbdParams {
        r: 0.2425929,
        alpha: 4.413531,
        a: 0.7928862,
        b: 2.425754,
    };

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-300)
    }

    /// Hundreds of distinct T and several x in one batch (the shared tables grow as the pairs
    /// need them): the batch equals one-by-one scoring to the bit.
    #[test]
    fn score_rows_with_many_distinct_t_matches_one_by_one() {
        let rows: Vec<RfmRow> = (0..1500)
            .map(|i| {
                let x = f64::from(i % 5);
                let t = 20.0 + f64::from(i % 300) * 0.07;
                RfmRow {
                    x,
                    t_x: if x == 0.0 { 0.0 } else { t * 0.5 },
                    t,
                }
            })
            .collect();
        for m in [
            CDNOW,
            BgNbdParams {
                r: 2.0,
                alpha: 0.5,
                a: 3.0,
                b: 0.5,
            },
        ] {
            let batch = m.score_rows(52.0, &rows);
            for (row, (p, e)) in rows.iter().zip(batch) {
                assert_eq!(p.to_bits(), m.p_alive(row.x, row.t_x, row.t).to_bits());
                let one = m.conditional_expected_purchases(52.0, row.x, row.t_x, row.t);
                assert_eq!(e.to_bits(), one.to_bits(), "{row:?}");
            }
        }
    }

    #[test]
    fn row_gradient_matches_numeric() {
        for variant in [Variant::Bg, Variant::Mbg] {
            for theta in [[0.24, 4.4, 0.79, 2.4], [2.0, 50.0, 3.0, 0.5]] {
                let g = GeoNbd {
                    r: theta[0],
                    alpha: theta[1],
                    a: theta[2],
                    b: theta[3],
                    variant,
                };
                for (x, t_x, t) in [(0.0, 0.0, 30.0), (1.0, 5.0, 30.0), (12.0, 29.5, 30.0)] {
                    let (v, grad) = g.row_value_grad(x, t_x, t);
                    assert_eq!(v, g.log_likelihood_one(x, t_x, t));
                    let num = numeric_gradient(
                        |p| {
                            GeoNbd {
                                r: p[0],
                                alpha: p[1],
                                a: p[2],
                                b: p[3],
                                variant,
                            }
                            .log_likelihood_one(x, t_x, t)
                        },
                        &theta,
                    );
                    for i in 0..4 {
                        assert!(
                            (grad[i] - num[i]).abs() < 1e-6 * num[i].abs().max(1.0),
                            "{variant:?} {theta:?} ({x}, {t_x}, {t}) ∂{i}: {} vs {}",
                            grad[i],
                            num[i]
                        );
                    }
                }
            }
        }
    }

    /// A fit of near-homogeneous dropout (a and b in the thousands and millions, from the
    /// cluster test's generated log): the Euler-transformed series of eq. (10) overflows, and
    /// the untransformed one must take over. References: eq. (10) evaluated by mpmath 1.3.0
    /// at 50 digits, E = c/(a−1)·[1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; c; t/(α+T+t))]
    /// ·P(alive) with c = a+b+x−1 and mpmath's hyp2f1.
    #[test]
    fn eq10_stays_finite_and_accurate_when_a_is_large() {
        let m = BgNbdParams {
            r: 2.299748980149624,
            alpha: 5.733549063533539,
            a: 7411.183306251208,
            b: 19606151.644019794,
        };
        let g = m.geo();
        let h = g.horizon_terms(52.0, 30.0);
        let c = g.eq10_c(0.0);
        let transformed = eq10_series(g.eq10_a(), h.z, c, |k| {
            let r = |i: u32| {
                let kf = f64::from(k + i);
                g.eq10_factor(kf) * h.z / (c + kf)
            };
            [r(0), r(1), r(2), r(3)]
        });
        assert!(
            !transformed.is_finite(),
            "the case must exercise the fallback"
        );
        let cases = [
            (52.0, 0.0, 0.0, 30.0, 3.3435957172495504114),
            (52.0, 5.0, 20.0, 40.0, 8.0819454802896068908),
            (52.0, 48.0, 57.0, 60.0, 39.331410757867798821),
            (52.0, 20.0, 10.0, 64.0, 1.6695073389752302847e-10),
            (13.0, 2.0, 1.5, 3.0, 6.3852767773257098925),
        ];
        let mut rows = Vec::new();
        for (t, x, t_x, big_t, want) in cases {
            let e = m.conditional_expected_purchases(t, x, t_x, big_t);
            assert!(
                rel(e, want) < 1e-9,
                "E({t} | {x}, {t_x}, {big_t}) = {e}, want {want}"
            );
            if t == 52.0 {
                rows.push(RfmRow { x, t_x, t: big_t });
            }
        }
        // The batch scorer takes the same fallback, to the bit.
        let batch = m.score_rows(52.0, &rows);
        for (row, (p, e)) in rows.iter().zip(batch) {
            assert_eq!(p.to_bits(), m.p_alive(row.x, row.t_x, row.t).to_bits());
            let one = m.conditional_expected_purchases(52.0, row.x, row.t_x, row.t);
            assert_eq!(e.to_bits(), one.to_bits());
        }
    }

    fn small_data() -> Rfm {
        let rows = [
            (0., 0., 30.),
            (0., 0., 12.5),
            (1., 3., 30.),
            (2., 20., 25.),
            (5., 29., 30.),
            (3., 4., 40.),
            (0., 0., 30.),
            (12., 39., 40.),
        ];
        Rfm::new(&rows.map(|(x, t_x, t)| RfmRow { x, t_x, t })).expect("valid rows")
    }

    #[test]
    fn analytic_gradient_matches_numeric() {
        let data = small_data();
        for variant in [Variant::Bg, Variant::Mbg] {
            let lik = GeoNbdLikelihood::new(&data, variant);
            for theta in [
                [0.2425929, 4.413531, 0.7928862, 2.425754],
                [1.0, 1.0, 1.0, 1.0],
                [1.3, 0.7, 2.5, 0.4],
                [0.05, 30.0, 0.1, 20.0],
            ] {
                let (v, g) = lik.eval::<true>(&theta);
                assert_eq!(v, lik.eval::<false>(&theta).0);
                let num = numeric_gradient(|t| lik.eval::<false>(t).0, &theta);
                for i in 0..4 {
                    assert!(
                        (g[i] - num[i]).abs() < 1e-6 * (1.0 + g[i].abs()),
                        "{variant:?} {theta:?} d{i}: analytic {} numeric {}",
                        g[i],
                        num[i]
                    );
                }
            }
        }
    }

    #[test]
    fn analytic_hessian_matches_numeric() {
        let data = small_data();
        for variant in [Variant::Bg, Variant::Mbg] {
            let lik = GeoNbdLikelihood::new(&data, variant);
            for theta in [
                [0.2425929, 4.413531, 0.7928862, 2.425754],
                [1.0, 1.0, 1.0, 1.0],
                [1.3, 0.7, 2.5, 0.4],
                [0.05, 30.0, 0.1, 20.0],
            ] {
                let h = lik.hessian(&theta).expect("in the domain");
                for j in 0..4 {
                    let col = numeric_gradient(|t| lik.eval::<true>(t).1[j], &theta);
                    for i in 0..4 {
                        assert!(
                            (h[i][j] - col[i]).abs() < 1e-5 * (1.0 + col[i].abs()),
                            "{variant:?} {theta:?} H[{i}][{j}]: analytic {} numeric {}",
                            h[i][j],
                            col[i]
                        );
                    }
                }
            }
            assert!(lik.hessian(&[1.0, 1.0, -1.0, 1.0]).is_none());
        }
    }

    #[test]
    fn grouped_likelihood_equals_sum_of_individual() {
        let data = small_data();
        let theta = [0.7, 3.0, 1.4, 2.2];
        for variant in [Variant::Bg, Variant::Mbg] {
            let lik = GeoNbdLikelihood::new(&data, variant);
            let m = GeoNbd {
                r: theta[0],
                alpha: theta[1],
                a: theta[2],
                b: theta[3],
                variant,
            };
            let direct: f64 = data
                .iter()
                .map(|(row, w)| w * m.log_likelihood_one(row.x, row.t_x, row.t))
                .sum();
            let grouped = lik.eval::<false>(&theta).0;
            assert!(
                rel(grouped, direct) < 1e-13,
                "{variant:?} {grouped} {direct}"
            );
        }
    }

    #[test]
    fn likelihood_is_nan_outside_the_domain() {
        let lik = BgNbdLikelihood::new(&small_data());
        assert!(lik.log_likelihood(&[0.0, 1.0, 1.0, 1.0]).is_nan());
        assert!(lik.log_likelihood(&[1.0, f64::INFINITY, 1.0, 1.0]).is_nan());
        assert!(lik.log_likelihood(&[1.0, 1.0, 1.0]).is_nan());
        assert!(lik.value_and_gradient(&[1.0, 1.0, -1.0, 1.0]).1[0].is_nan());
    }

    #[test]
    fn p_alive_in_unit_interval_and_expectation_monotone_in_horizon() {
        let models = [
            CDNOW,
            BgNbdParams {
                r: 0.05,
                alpha: 0.01,
                a: 0.1,
                b: 20.0,
            },
            BgNbdParams {
                r: 10.0,
                alpha: 1000.0,
                a: 5.0,
                b: 0.5,
            },
            BgNbdParams {
                r: 1.0,
                alpha: 1.0,
                a: 1.0,
                b: 1.0,
            },
        ];
        let customers = [
            (0., 0., 1.),
            (0., 0., 2000.),
            (1., 0.5, 1.),
            (10., 30., 39.),
            (10., 39., 39.),
            (100., 1., 2000.),
            (20000., 10., 10000.),
            (50., 9999.9, 10000.),
        ];
        for m in &models {
            for &(x, t_x, t) in &customers {
                let p = m.p_alive(x, t_x, t);
                assert!((0.0..=1.0).contains(&p), "{m:?} {x} {t_x} {t}: {p}");
                if x == 0.0 {
                    assert_eq!(p, 1.0);
                }
                let mut prev = 0.0;
                for h in [0.0, 0.5, 1.0, 10.0, 39.0, 52.0, 200.0, 1000.0] {
                    let e = m.conditional_expected_purchases(h, x, t_x, t);
                    assert!(
                        e.is_finite() && e >= prev,
                        "{m:?} {x} {t_x} {t} h={h}: {e} < {prev}"
                    );
                    prev = e;
                }
            }
        }
    }

    #[test]
    fn conditional_expectation_agrees_with_untransformed_eq_10() {
        // Eq. (10) as printed, with the plain series (fine for small x and moderate z).
        let m = CDNOW;
        for &(x, t_x, t, h) in &[
            (0., 0., 38.86, 39.),
            (2., 30.43, 38.86, 52.),
            (7., 20., 30., 10.),
        ] {
            let (r, al, a, b) = (m.r, m.alpha, m.a, m.b);
            let z = h / (al + t + h);
            let f = hyp2f1(r + x, b + x, a + b + x - 1.0, z);
            let y = (al + t) / (al + t + h);
            let num = (a + b + x - 1.0) / (a - 1.0) * (1.0 - y.powf(r + x) * f);
            let den = if x > 0.0 {
                1.0 + a / (b + x - 1.0) * ((al + t) / (al + t_x)).powf(r + x)
            } else {
                1.0
            };
            let got = m.conditional_expected_purchases(h, x, t_x, t);
            assert!(rel(got, num / den) < 1e-12, "{x}: {got} vs {}", num / den);
        }
    }

    /// 100-digit mpmath values of eq. (10) as printed (a = 1 as the limit a = 1 + 1e-25) and of
    /// eq. (8) (head complemented at 100 digits): (r, α, a, b), (x, t_x, T, horizon), value.
    #[test]
    #[allow(clippy::excessive_precision)] // reference values as mpmath printed them
    fn predictions_match_mpmath() {
        let cond = [
            (
                [0.243, 4.414, 0.793, 2.426],
                [5., 30., 39., 1e5],
                89.280457428234717372,
            ),
            (
                [0.243, 4.414, 0.793, 2.426],
                [10., 30., 39., 52.],
                5.2095110765060274741,
            ),
            (
                [0.243, 4.414, 0.793, 2.426],
                [0., 0., 2000., 1e4],
                0.79995554041553716017,
            ),
            (
                [10.0, 1000.0, 5.0, 0.5],
                [5., 30., 39., 1e5],
                1.0481042322721131674,
            ),
            (
                [10.0, 1000.0, 5.0, 0.5],
                [10., 30., 39., 52.],
                0.5236085088733607969,
            ),
            (
                [1.0, 1.0, 1.0, 1.0],
                [5., 30., 39., 1e5],
                24.412760021835419489,
            ),
            (
                [1.0, 1.0, 1.0, 1.0],
                [10., 30., 39., 52.],
                3.4563805687402667324,
            ),
        ];
        for (p, c, want) in cond {
            let m = CDNOW.with_params(&p);
            let got = m.conditional_expected_purchases(c[3], c[0], c[1], c[2]);
            assert!(rel(got, want) < 1e-12, "{p:?} {c:?}: {got} vs {want}");
        }
        let prob = [
            (
                [0.243, 4.414, 0.793, 2.426],
                39.0,
                0,
                0.57378635209600940507,
            ),
            (
                [0.243, 4.414, 0.793, 2.426],
                78.0,
                40,
                0.00011449651687573593054,
            ),
            (
                [0.243, 4.414, 0.793, 2.426],
                5000.0,
                3,
                0.080111684912018657487,
            ),
            ([10.0, 1000.0, 5.0, 0.5], 39.0, 7, 6.0725383359475953927e-10),
            ([10.0, 1000.0, 5.0, 0.5], 78.0, 40, 5.643404650021514411e-44),
            ([2.5, 3.0, 1.7, 0.9], 39.0, 1, 0.65405031590160668212),
            ([2.5, 3.0, 1.7, 0.9], 78.0, 40, 0.000098294561459560497146),
        ];
        for (p, t, n, want) in prob {
            let got = CDNOW.with_params(&p).prob_purchases(t, n);
            assert!(rel(got, want) < 1e-12, "{p:?} t={t} n={n}: {got} vs {want}");
        }
    }

    #[test]
    fn expectation_is_smooth_through_a_equal_one() {
        let at = |a: f64| {
            BgNbdParams { a, ..CDNOW }.conditional_expected_purchases(52.0, 3.0, 20.0, 38.0)
        };
        let (lo, mid, hi) = (at(1.0 - 1e-7), at(1.0), at(1.0 + 1e-7));
        assert!(mid.is_finite() && mid > 0.0);
        // A step of 1e-7 in a moves E by O(1e-7); the midpoint sits on the line through both sides.
        assert!((hi - lo).abs() < 1e-6 * mid, "{lo} {mid} {hi}");
        assert!(
            ((lo + hi) / 2.0 - mid).abs() < 1e-12 * mid,
            "{lo} {mid} {hi}"
        );
    }

    #[test]
    fn purchase_distribution_sums_to_one_with_mean_e_x() {
        let models = [
            CDNOW,
            BgNbdParams {
                r: 2.5,
                alpha: 3.0,
                a: 1.7,
                b: 0.9,
            },
        ];
        for m in &models {
            for t in [0.0, 1.0, 39.0, 78.0] {
                let (mut total, mut mean) = (0.0, 0.0);
                for n in 0..3000u32 {
                    let p = m.prob_purchases(t, n);
                    assert!(p >= 0.0, "{m:?} t={t} n={n}: {p}");
                    total += p;
                    mean += f64::from(n) * p;
                }
                assert!((total - 1.0).abs() < 1e-12, "{m:?} t={t}: Σ P = {total}");
                let e = m.expected_purchases(t);
                assert!(
                    (mean - e).abs() < 1e-11 * (1.0 + e),
                    "{m:?} t={t}: {mean} vs {e}"
                );
            }
        }
    }

    #[test]
    fn upper_tail_agrees_with_complement_of_head() {
        // NBD(r = 0.7, p = 0.2): both branches against 1 − Σ_{j<n} pmf(j).
        let (r, ln_p, ln_q) = (0.7, 0.2f64.ln(), 0.8f64.ln());
        let mut head = 0.0;
        for n in 0..40u32 {
            let tail = ln_nbd_upper_tail(r, n, ln_p, ln_q).exp();
            assert!(
                (tail - (1.0 - head)).abs() < 1e-14,
                "n={n}: {tail} vs {}",
                1.0 - head
            );
            head += ln_nbd_pmf(r, f64::from(n), ln_p, ln_q).exp();
        }
        // Deep in the tail the value keeps its relative accuracy: P(N ≥ 400) for r = 1 is q^400.
        let t = ln_nbd_upper_tail(1.0, 400, ln_p, ln_q);
        assert!(rel(t, 400.0 * ln_q) < 1e-13, "{t}");
    }

    #[test]
    fn fit_rejects_data_without_repeat_buyers() {
        let d = Rfm::new(&[RfmRow {
            x: 0.0,
            t_x: 0.0,
            t: 5.0,
        }])
        .expect("valid row");
        assert!(matches!(
            fit_bgnbd(&d, &FitOptions::default()),
            Err(ModelError::Data(DataError::Degenerate(_)))
        ));
    }

    #[test]
    fn fit_on_degenerate_data_is_finite_or_an_error() {
        // Everyone alive and buying to the end, or a single repeat buyer: no interior maximum.
        let sets: [&[(f64, f64, f64)]; 3] = [
            &[(3., 10., 10.), (5., 10., 10.), (1., 10., 10.)],
            &[(1., 2., 10.)],
            &[(1., 10., 10.), (0., 0., 10.)],
        ];
        for rows in sets {
            let rows: Vec<RfmRow> = rows
                .iter()
                .map(|&(x, t_x, t)| RfmRow { x, t_x, t })
                .collect();
            let d = Rfm::new(&rows).expect("valid rows");
            match fit_bgnbd(&d, &FitOptions::default()) {
                Ok((p, fit)) => {
                    assert!(fit.log_likelihood.is_finite());
                    assert!(
                        p.params().iter().all(|v| v.is_finite() && *v > 0.0),
                        "{p:?}"
                    );
                }
                Err(e) => assert!(matches!(e, ModelError::Data(_) | ModelError::Fit(_))),
            }
        }
    }

    #[test]
    fn with_params_round_trips_and_tolerates_short_slices() {
        let m = CDNOW.with_params(&CDNOW.params());
        assert_eq!(m, CDNOW);
        assert!(CDNOW.with_params(&[1.0]).p_alive(1.0, 1.0, 2.0).is_nan());
        assert_eq!(CDNOW.name(), "bgnbd");
        assert_eq!(CDNOW.param_names(), &["r", "alpha", "a", "b"]);
    }
}
