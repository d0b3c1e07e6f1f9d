//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987, "Counting your customers: who
//! are they and what will they do next?"): while alive a customer buys as a Poisson process with
//! rate λ ~ Gamma(r, α) and dies after an exponential lifetime with rate μ ~ Gamma(s, β).
//!
//! Likelihood, P(alive) and conditional expectations follow Fader & Hardie (2005), "A note on
//! deriving the Pareto/NBD model and related expressions" (the likelihood is their eqs. 22–23);
//! P(X(t) = n) follows Fader & Hardie (2006), "Deriving an expression for P(X(t) = x) under the
//! Pareto/NBD model". Times are in the unit of the data.
//!
//! Numerics. The note's A₀ is a difference of two Gauss ₂F₁ terms; Tenure rewrites the likelihood
//! as a sum of two positive tail integrals (see [`ParetoNbdParams::log_likelihood_one`]) and
//! evaluates each in log space through an Euler-transformed ₂F₁ (`hyp2f1`), so no term cancels
//! and nothing overflows at frequencies in the tens of thousands or ages of 10,000 periods.

use crate::data::{Rfm, RfmRow, RowMap};
use crate::fit::{maximize, Fit, FitOptions, Likelihood};
use crate::group::KeyTable;
use crate::hyp2f1::{euler_series, ln_tail, ln_tail_grad, Tail, Z_SERIES};
use crate::rfm::RfmModel;
use crate::special::{digamma, ln_gamma, Compensated};
use crate::ModelError;

const NAMES: &[&str] = &["r", "alpha", "s", "beta"];

/// Pareto/NBD parameters in the papers' notation: purchase rates λ ~ Gamma(shape r, rate α),
/// dropout rates μ ~ Gamma(shape s, rate β). α and β are in the time unit of the data. All four
/// must be positive and finite; with any other value the methods return NaN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl ParetoNbdParams {
    fn valid(&self) -> bool {
        [self.r, self.alpha, self.s, self.beta]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// The tail integral I(a, b; y) = ∫_y^∞ (α+τ)^(−a) (β+τ)^(−b) dτ, oriented for `hyp2f1`.
    fn tail(&self, a: f64, b: f64, y: f64) -> Tail {
        if self.alpha >= self.beta {
            Tail::new(a, b, self.alpha, self.beta, y)
        } else {
            Tail::new(b, a, self.beta, self.alpha, y)
        }
    }

    /// ln[(r+x) I(r+x+1, s; T) + s I(r+x, s+1; t_x)], the likelihood without its constant
    /// (see [`ParetoNbdParams::log_likelihood_one`]). The first term is the customer still
    /// alive at T, the second the customer dead in (t_x, T].
    fn ln_bracket(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let (r, s) = (self.r, self.s);
        let ln_alive = (r + x).ln() + ln_tail(&self.tail(r + x + 1.0, s, t));
        let ln_died = s.ln() + ln_tail(&self.tail(r + x, s + 1.0, t_x));
        log_add(ln_alive, ln_died)
    }

    /// (M, m) = (max(α, β), min(α, β)), the orientation of every `hyp2f1` tail.
    #[inline]
    fn big_small(&self) -> (f64, f64) {
        if self.alpha >= self.beta {
            (self.alpha, self.beta)
        } else {
            (self.beta, self.alpha)
        }
    }

    /// The logarithms and reciprocals `Tail::new` computes for a time y, computed once for
    /// every integral and row with that y (the same operations, so the same bits).
    #[inline]
    fn time_logs(&self, y: f64) -> TimeLogs {
        let (big, small) = self.big_small();
        let (b, m) = (big + y, small + y);
        TimeLogs {
            ln_big: b.ln(),
            ln_small: m.ln(),
            inv_big: 1.0 / b,
            inv_small: 1.0 / m,
        }
    }

    /// (ln(α+y), ln(β+y)) from y's logarithms.
    #[inline]
    fn ln_alpha_beta(&self, l: &TimeLogs) -> (f64, f64) {
        if self.alpha >= self.beta {
            (l.ln_big, l.ln_small)
        } else {
            (l.ln_small, l.ln_big)
        }
    }

    /// [`ParetoNbdParams::tail`] with y's logarithms given.
    #[inline]
    fn tail_at(&self, a: f64, b: f64, y: f64, l: &TimeLogs) -> Tail {
        let (big, small) = self.big_small();
        let (p_big, p_small) = if self.alpha >= self.beta {
            (a, b)
        } else {
            (b, a)
        };
        Tail {
            p_big,
            p_small,
            big,
            small,
            y,
            ln_big: l.ln_big,
            ln_small: l.ln_small,
            inv_big: l.inv_big,
            inv_small: l.inv_small,
        }
    }

    /// The alive term of the bracket over the alive-at-T density,
    ///
    /// ```text
    /// a = (r+x) I(r+x+1, s; T) (α+T)^(r+x) (β+T)^s = (r+x)/(r+s+x) · S(T) · [(β+T)/(α+T) if α ≥ β],
    /// ```
    ///
    /// with S the tail's Euler series (`hyp2f1::euler_series`): the powers cancel exactly, so this
    /// takes no logarithm or exponential. NaN when z = (M−m)/(M+T) is past the series' range
    /// (then P(alive) takes the log-space path).
    #[inline]
    fn alive_ratio(&self, x: f64, t: f64, l: &TimeLogs) -> f64 {
        let (big, small) = self.big_small();
        let z = (big - small) * l.inv_big;
        if !(z <= Z_SERIES) {
            return f64::NAN;
        }
        let (r, s) = (self.r, self.s);
        let a = r + s + x;
        let lead = (r + x) / a;
        if self.alpha >= self.beta {
            // p_M = r+x+1 on α; (β+T)/(α+T) = (m+T)/(M+T).
            lead * euler_series(r + x + 1.0, a, z) * ((small + t) * l.inv_big)
        } else {
            lead * euler_series(s, a, z)
        }
    }

    /// The died term of the bracket over the died-at-t_x density,
    ///
    /// ```text
    /// d = s I(r+x, s+1; t_x) (α+t_x)^(r+x) (β+t_x)^s = s/(r+s+x) · S(t_x) · [(α+t_x)/(β+t_x) if α < β],
    /// ```
    ///
    /// NaN when z at t_x is past the series' range. The died term over the alive-at-T density
    /// is d·e^E with E from [`ParetoNbdParams::died_exponent`].
    #[inline]
    fn died_ratio(&self, x: f64, t_x: f64, l: &TimeLogs) -> f64 {
        let (big, small) = self.big_small();
        let z = (big - small) * l.inv_big;
        if !(z <= Z_SERIES) {
            return f64::NAN;
        }
        let (r, s) = (self.r, self.s);
        let a = r + s + x;
        let lead = s / a;
        if self.alpha >= self.beta {
            lead * euler_series(r + x, a, z)
        } else {
            // p_M = s+1 on β; (α+t_x)/(β+t_x) = (m+t_x)/(M+t_x).
            lead * euler_series(s + 1.0, a, z) * ((small + t_x) * l.inv_big)
        }
    }

    /// E = ln[(α+T)^(r+x) (β+T)^s / ((α+t_x)^(r+x) (β+t_x)^s)] (≥ 0 when t_x ≤ T), the ratio of
    /// the alive-at-T and died-at-t_x densities.
    #[inline]
    fn died_exponent(&self, x: f64, at_t: &TimeLogs, at_tx: &TimeLogs) -> f64 {
        let (la_t, lb_t) = self.ln_alpha_beta(at_t);
        let (la_tx, lb_tx) = self.ln_alpha_beta(at_tx);
        (self.r + x) * (la_t - la_tx) + self.s * (lb_t - lb_tx)
    }

    /// ln[(r+x) I(r+x+1, s; T)], the alive term of [`ParetoNbdParams::ln_bracket`].
    fn ln_alive(&self, x: f64, t: f64, l: &TimeLogs) -> f64 {
        let (r, s) = (self.r, self.s);
        (r + x).ln() + ln_tail(&self.tail_at(r + x + 1.0, s, t, l))
    }

    /// ln[s I(r+x, s+1; t_x)], the died term of [`ParetoNbdParams::ln_bracket`].
    fn ln_died(&self, x: f64, t_x: f64, l: &TimeLogs) -> f64 {
        let (r, s) = (self.r, self.s);
        s.ln() + ln_tail(&self.tail_at(r + x, s + 1.0, t_x, l))
    }

    /// P(alive at T | x, t_x, T), Fader & Hardie (2005): the share of the likelihood that comes
    /// from customers still alive, Γ(r+x)αʳβˢ / (Γ(r)(α+T)^(r+x)(β+T)ˢ) / L, that is
    /// 1 / (a + d·e^E) with a, d and E from [`ParetoNbdParams::alive_ratio`],
    /// [`ParetoNbdParams::died_ratio`] and [`ParetoNbdParams::died_exponent`] (a + d·e^E ≥ 1).
    ///
    /// That costs the two series and one exponential. When a series is out of range,
    /// E > [`E_MAX`] (e^E near overflow) or |ln(alive at T)| > [`LN_CLOSED_MAX`], the log-space
    /// form exp(ln(alive at T) − ln bracket) instead, with the log-tails from `ln_alive` and
    /// `ln_died` (passed lazily, so that batch scoring can share them): the same operations as
    /// before the closed form existed, so those rows keep their values to the bit. Where the
    /// closed form is used the two agree to ~1e-14 relative (the log-space form loses about
    /// |ln(alive at T)|·ε to its large logarithms, the closed form (r+x)·|ln(α+T)|·ε to E).
    #[inline]
    fn p_alive_from(
        &self,
        x: f64,
        (at_t, alive): (&TimeLogs, f64),
        (at_tx, died): (&TimeLogs, f64),
        ln_alive: impl FnOnce() -> f64,
        ln_died: impl FnOnce() -> f64,
    ) -> f64 {
        let (la_t, lb_t) = self.ln_alpha_beta(at_t);
        let ln_alive_at_t = -(self.r + x) * la_t - self.s * lb_t;
        if ln_alive_at_t.abs() <= LN_CLOSED_MAX {
            let e = self.died_exponent(x, at_t, at_tx);
            if e <= E_MAX {
                let q = alive + died * e.exp();
                // Positive terms (NaN fails too): anything else is data outside the model
                // (r + x ≤ 0), which keeps the log-space form's answer.
                if q.is_finite() && alive > 0.0 && died > 0.0 {
                    return (1.0 / q).clamp(0.0, 1.0);
                }
            }
        }
        let ln_bracket = log_add(ln_alive(), ln_died());
        (ln_alive_at_t - ln_bracket).min(0.0).exp().clamp(0.0, 1.0)
    }

    /// [`RfmModel::p_alive`] and [`RfmModel::conditional_expected_purchases`] of every row, to
    /// the bit (the same helpers on the same inputs), sharing work between rows: logarithms and
    /// the horizon factor per distinct time, the alive series (and, if needed, the alive
    /// log-tail) per distinct (x, T), the died series (log-tail) per distinct (x, t_x).
    ///
    /// Scratch is sized once (no reallocation in the loop) and kept small: in a cold process
    /// every new allocation size class costs first-touch page faults that can exceed the
    /// arithmetic, so the per-key entries are 24 and 16 bytes and the log-tails, needed only by
    /// rows outside the closed form, get their own tables only when some row needs them.
    fn score(&self, horizon: f64, rows: &[RfmRow]) -> Vec<(f64, f64)> {
        if !self.valid() {
            return rows.iter().map(|_| (f64::NAN, f64::NAN)).collect();
        }
        // Per distinct y: its logarithms and, for the y that are some row's T, the horizon
        // factor [1 − (β/(β+T+t))^(s−1)]/(s−1) (NaN until needed).
        let mut ys: KeyTable<1> = KeyTable::new();
        let mut y_logs: Vec<(TimeLogs, f64)> = Vec::with_capacity(2 * rows.len());
        let logs_at = |ys: &mut KeyTable<1>, y_logs: &mut Vec<(TimeLogs, f64)>, y: f64| {
            let (j, new) = ys.find_or_insert([y.to_bits()]);
            if new {
                y_logs.push((self.time_logs(y), f64::NAN));
            }
            j
        };
        // Per (x, T): T's entry in `y_logs`, the alive ratio, E's factor.
        let mut xts: KeyTable<2> = KeyTable::new();
        let mut xt: Vec<(u32, f64, f64)> = Vec::with_capacity(rows.len());
        // Per (x, t_x): t_x's entry in `y_logs`, the died ratio.
        let mut xtxs: KeyTable<2> = KeyTable::new();
        let mut xtx: Vec<(u32, f64)> = Vec::with_capacity(rows.len());
        // The alive and died log-tails per (x, T) and (x, t_x) (NaN: not yet; empty until a
        // row leaves the closed form).
        let (mut ln_alive_of, mut ln_died_of): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
        let cached = |cache: &mut Vec<f64>, i: usize, f: &dyn Fn() -> f64| {
            if cache.len() <= i {
                cache.resize(rows.len(), f64::NAN);
            }
            if cache[i].is_nan() {
                cache[i] = f();
            }
            cache[i]
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (x, t_x, t) = (row.x, row.t_x, row.t);
            let (j, new) = xts.find_or_insert([x.to_bits(), t.to_bits()]);
            if new {
                let lt = logs_at(&mut ys, &mut y_logs, t);
                let (l, omp) = &mut y_logs[lt as usize];
                if omp.is_nan() {
                    *omp = one_minus_pow_over(self.s - 1.0, -(horizon / (self.beta + t)).ln_1p());
                }
                let factor = (self.r + x) * (self.beta + t) / (self.alpha + t) * *omp;
                xt.push((lt, self.alive_ratio(x, t, l), factor));
            }
            let (k, new) = xtxs.find_or_insert([x.to_bits(), t_x.to_bits()]);
            if new {
                let ltx = logs_at(&mut ys, &mut y_logs, t_x);
                xtx.push((ltx, self.died_ratio(x, t_x, &y_logs[ltx as usize].0)));
            }
            let (lt, alive, factor) = xt[j as usize];
            let (ltx, died) = xtx[k as usize];
            let (at_t, at_tx) = (&y_logs[lt as usize].0, &y_logs[ltx as usize].0);
            let p = self.p_alive_from(
                x,
                (at_t, alive),
                (at_tx, died),
                || cached(&mut ln_alive_of, j as usize, &|| self.ln_alive(x, t, at_t)),
                || cached(&mut ln_died_of, k as usize, &|| self.ln_died(x, t_x, at_tx)),
            );
            out.push((p, factor * p));
        }
        out
    }
}

/// Above this E (see [`ParetoNbdParams::died_exponent`]) P(alive) is taken in log space: e^E
/// stays below 1e261, so with the series' factors (at most 2) nothing overflows.
const E_MAX: f64 = 600.0;

/// Above this |ln(alive at T)| = (r+x) ln(α+T) + s ln(β+T) (large x and T) P(alive) is taken in
/// log space, as it always was: there both forms carry rounding errors near 1e-13 relative, and
/// the closed form would move the results by that much.
const LN_CLOSED_MAX: f64 = 300.0;

/// ln(M+y), ln(m+y), 1/(M+y), 1/(m+y) for one time y, M = max(α, β), m = min(α, β).
#[derive(Debug, Clone, Copy)]
struct TimeLogs {
    ln_big: f64,
    ln_small: f64,
    inv_big: f64,
    inv_small: f64,
}

/// One customer's log-likelihood and its gradient in (r, α, s, β): the terms of
/// [`ParetoNbdLikelihood`] for a single row, for models whose α and β differ between
/// customers (covariates). NaN unless all four parameters are positive and finite.
pub(crate) fn row_value_grad(theta: [f64; 4], x: f64, t_x: f64, t: f64) -> (f64, [f64; 4]) {
    let [r, alpha, s, beta] = theta;
    if !theta.iter().all(|v| v.is_finite() && *v > 0.0) {
        return (f64::NAN, [f64::NAN; 4]);
    }
    let alpha_big = alpha >= beta;
    // Gradient of ln I(a, b; y) in (a, α, b, β), a the exponent of (α+τ), b that of (β+τ).
    let tail = |a: f64, b: f64, y: f64| {
        let (v, g) = if alpha_big {
            ln_tail_grad(&Tail::new(a, b, alpha, beta, y))
        } else {
            ln_tail_grad(&Tail::new(b, a, beta, alpha, y))
        };
        let mapped = if alpha_big {
            [g[0], g[2], g[1], g[3]]
        } else {
            [g[1], g[3], g[0], g[2]]
        };
        (v, mapped)
    };
    let rx = r + x;
    let (l1, g1) = tail(rx + 1.0, s, t);
    let (l2, g2) = tail(rx, s + 1.0, t_x);
    let p = rx.ln() + l1;
    let q = s.ln() + l2;
    let (hi, lo) = if p >= q { (p, q) } else { (q, p) };
    let e = (lo - hi).exp();
    let w_hi = 1.0 / (1.0 + e);
    let (w1, w2) = if p >= q {
        (w_hi, e * w_hi)
    } else {
        (e * w_hi, w_hi)
    };
    let v = ln_gamma(rx) - ln_gamma(r) + r * alpha.ln() + s * beta.ln() + hi + e.ln_1p();
    let g = [
        digamma(rx) - digamma(r) + alpha.ln() + w1 * (1.0 / rx + g1[0]) + w2 * g2[0],
        r / alpha + w1 * g1[1] + w2 * g2[1],
        beta.ln() + w1 * g1[2] + w2 * (1.0 / s + g2[2]),
        s / beta + w1 * g1[3] + w2 * g2[3],
    ];
    (v, g)
}

/// ln(eᵃ + eᵇ).
#[inline]
pub(crate) fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// [1 − q^c]/c for q = e^l < 1, continuous at c = 0 (where it is −l): the factor
/// [1 − (β/(β+t))^(s−1)]/(s−1) of the Pareto/NBD expectations with c = s − 1.
fn one_minus_pow_over(c: f64, l: f64) -> f64 {
    if c == 0.0 {
        -l
    } else {
        -(c * l).exp_m1() / c
    }
}

impl RfmModel for ParetoNbdParams {
    fn name(&self) -> &'static str {
        "paretonbd"
    }

    fn param_names(&self) -> &'static [&'static str] {
        NAMES
    }

    fn params(&self) -> Vec<f64> {
        vec![self.r, self.alpha, self.s, self.beta]
    }

    fn with_params(&self, theta: &[f64]) -> Self {
        let get = |i: usize| theta.get(i).copied().unwrap_or(f64::NAN);
        ParetoNbdParams {
            r: get(0),
            alpha: get(1),
            s: get(2),
            beta: get(3),
        }
    }

    /// Fader & Hardie (2005), eqs. (22)–(23), rewritten as a sum of positive terms:
    ///
    /// ```text
    /// L = Γ(r+x) αʳ βˢ / Γ(r) · [ (r+x) I(r+x+1, s; T) + s I(r+x, s+1; t_x) ],
    /// I(a, b; y) = ∫_y^∞ (α+τ)^(−a) (β+τ)^(−b) dτ.
    /// ```
    ///
    /// Integrating by parts, (r+x) I(r+x+1, s; T) = (α+T)^(−(r+x)) (β+T)^(−s) − s I(r+x, s+1; T),
    /// which turns this into the note's 1/((α+T)^(r+x)(β+T)ˢ) + s/(r+s+x) · A₀, since
    /// A₀ = (r+s+x) [I(r+x, s+1; t_x) − I(r+x, s+1; T)]. Each I is one of the note's ₂F₁ terms.
    fn log_likelihood_one(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        let (r, s) = (self.r, self.s);
        ln_gamma(r + x) - ln_gamma(r)
            + r * self.alpha.ln()
            + s * self.beta.ln()
            + self.ln_bracket(x, t_x, t)
    }

    /// Fader & Hardie (2005): P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (α+T)^(r+x) (β+T)ˢ A₀),
    /// computed as the alive share of the likelihood (never above 1, never NaN).
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        let (at_t, at_tx) = (self.time_logs(t), self.time_logs(t_x));
        self.p_alive_from(
            x,
            (&at_t, self.alive_ratio(x, t, &at_t)),
            (&at_tx, self.died_ratio(x, t_x, &at_tx)),
            || self.ln_alive(x, t, &at_t),
            || self.ln_died(x, t_x, &at_tx),
        )
    }

    /// P(X(T, T+t) = n | x, t_x, T). Given alive at T, λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s,
    /// β+T) independently, and the remaining lifetime is Exp(μ) (memoryless): she buys
    /// Poisson(λ·min(τ, t)). Over λ the Poisson becomes NBD(n; τ) = NBD(r+x, (α+T)/(α+T+τ)),
    /// over μ: P(n | alive) = ((β+T)/(β+T+t))^s NBD(n; t) + ∫₀ᵗ s(β+T)^s (β+T+τ)^(−s−1)
    /// NBD(n; τ) dτ, the integral by adaptive Gauss–Kronrod in log space. A dead customer
    /// makes none.
    fn prob_future_purchases(&self, horizon: f64, n: u32, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() || !horizon.is_finite() || horizon < 0.0 {
            return f64::NAN;
        }
        let alive = self.p_alive(x, t_x, t);
        let none = if n == 0 { 1.0 - alive } else { 0.0 };
        if horizon == 0.0 {
            return if n == 0 { 1.0 } else { 0.0 };
        }
        let (rp, al, s, bp) = (self.r + x, self.alpha + t, self.s, self.beta + t);
        let nf = f64::from(n);
        let ln_coef = ln_gamma(rp + nf) - ln_gamma(rp) - ln_gamma(nf + 1.0);
        // ln NBD(n; τ) = coef − (r+x) ln(1 + τ/α') − n ln(1 + α'/τ).
        let ln_nbd = |tau: f64| {
            let tail = if n == 0 {
                0.0
            } else {
                -nf * (al / tau).ln_1p()
            };
            ln_coef - rp * (tau / al).ln_1p() + tail
        };
        let survive = -s * (horizon / bp).ln_1p() + ln_nbd(horizon);
        let ln_s_bp = s.ln() + s * bp.ln();
        let ln_die = ln_integrate(
            |tau| ln_s_bp - (s + 1.0) * (bp + tau).ln() + ln_nbd(tau),
            0.0,
            horizon,
        );
        alive * log_add(survive, ln_die).exp() + none
    }

    /// Given alive at T the dropout rate is μ ~ Gamma(s, β+T) (the data say nothing more about
    /// it), so P(alive at T + t) = P(alive at T) · E[e^{−μt}] = P(alive) · ((β+T)/(β+T+t))^s.
    fn p_alive_at(&self, future: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() || !(future >= 0.0) {
            return f64::NAN;
        }
        let now = self.p_alive(x, t_x, t);
        if future.is_infinite() {
            return 0.0 * now;
        }
        now * (-self.s * (future / (self.beta + t)).ln_1p()).exp()
    }

    /// Fader & Hardie (2005) (also SMC 1987): E[X(T, T+t) | x, t_x, T] =
    /// (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive), with the s → 1 limit
    /// (r+x)(β+T)/(α+T) · ln((β+T+t)/(β+T)) · P(alive).
    fn conditional_expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        let ln_q = -(horizon / (self.beta + t)).ln_1p();
        (self.r + x) * (self.beta + t) / (self.alpha + t)
            * one_minus_pow_over(self.s - 1.0, ln_q)
            * self.p_alive(x, t_x, t)
    }

    /// Fader & Hardie (2005) (SMC 1987): E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)], with
    /// the s → 1 limit (rβ/α) ln((β+t)/β).
    fn expected_purchases(&self, t: f64) -> f64 {
        if !self.valid() {
            return f64::NAN;
        }
        let ln_q = -(t / self.beta).ln_1p();
        self.r * self.beta / self.alpha * one_minus_pow_over(self.s - 1.0, ln_q)
    }

    /// Fader & Hardie (2006): P(X(t) = n) = P(alive through t, n purchases) + P(died at τ < t
    /// after n purchases),
    ///
    /// ```text
    /// Γ(r+n)/(Γ(r) n!) (α/(α+t))ʳ (t/(α+t))ⁿ (β/(β+t))ˢ
    ///   + Γ(r+n)/(Γ(r) n!) αʳ s βˢ ∫_0^t τⁿ (α+τ)^(−(r+n)) (β+τ)^(−(s+1)) dτ.
    /// ```
    ///
    /// The note writes the integral as B₁ − Σ_{i≤n} (r+s)ᵢ/i! tⁱ B₂ᵢ with ₂F₁ terms B₁, B₂ᵢ; that
    /// difference cancels catastrophically when n is large, so the integral is taken here by
    /// adaptive Gauss–Kronrod quadrature in v = ln(1 + τ/c), c = min(α, β), in log space.
    fn score_rows(&self, horizon: f64, rows: &[RfmRow]) -> Vec<(f64, f64)> {
        self.score(horizon, rows)
    }

    fn prob_purchases(&self, t: f64, n: u32) -> f64 {
        if !self.valid() || !(t >= 0.0) {
            return f64::NAN;
        }
        if t == 0.0 || t.is_infinite() {
            // Nobody has bought at 0; as t → ∞ P(X(t) = n) tends to the mixture over lifetimes,
            // which the integral below covers with t = ∞ only approximately: reject instead.
            return if t == 0.0 {
                f64::from(n == 0)
            } else {
                f64::NAN
            };
        }
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let nf = f64::from(n);
        let ln_coef = ln_gamma(r + nf) - ln_gamma(r) - ln_gamma(nf + 1.0);
        let ln_first =
            ln_coef - r * (t / alpha).ln_1p() - nf * (alpha / t).ln_1p() - s * (t / beta).ln_1p();
        let c = alpha.min(beta);
        let ln_integrand = |v: f64| {
            let tau = c * v.exp_m1();
            nf * tau.ln() - (r + nf) * (alpha + tau).ln() - (s + 1.0) * (beta + tau).ln()
                + c.ln()
                + v
        };
        let ln_integral = ln_integrate(ln_integrand, 0.0, (t / c).ln_1p());
        let ln_second = ln_coef + r * alpha.ln() + s.ln() + s * beta.ln() + ln_integral;
        (ln_first.exp() + ln_second.exp()).clamp(0.0, 1.0)
    }
}

/// ln ∫_a^b e^{f(v)} dv for a smooth f, by globally adaptive 15-point Gauss–Kronrod
/// (Piessens et al. 1983, QUADPACK QAG with QK15) on e^{f − shift}: the interval with the
/// largest error estimate is bisected until the total is below 1e-13 relative, or below the
/// rounding noise of f itself (f of size F is known to ~F·ε), or 1000 intervals are used.
pub(crate) fn ln_integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    // Scale by the largest value on a grid so that e^{f − shift} neither overflows nor vanishes.
    let grid = 64;
    let values: Vec<f64> = (0..=grid)
        .map(|i| f(a + (b - a) * (i as f64 + 0.5) / (grid as f64 + 1.0)))
        .filter(|v| v.is_finite())
        .collect();
    let shift = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !shift.is_finite() {
        return f64::NEG_INFINITY;
    }
    let size = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let rel_tol = 1e-13f64.max(64.0 * f64::EPSILON * size);
    let g = |v: f64| (f(v) - shift).exp();
    let pieces = 8;
    let width = (b - a) / pieces as f64;
    let mut parts: Vec<(f64, f64, f64, f64)> = (0..pieces)
        .map(|i| {
            let (lo, hi) = (a + width * i as f64, a + width * (i + 1) as f64);
            let (k, err) = gk15(&g, lo, hi);
            (lo, hi, k, err)
        })
        .collect();
    while parts.len() < 1000 {
        let total: f64 = parts.iter().map(|p| p.2).sum();
        let err: f64 = parts.iter().map(|p| p.3).sum();
        if err <= rel_tol * total.abs() {
            break;
        }
        let worst = parts
            .iter()
            .enumerate()
            .fold(0, |w, (i, p)| if p.3 > parts[w].3 { i } else { w });
        let (lo, hi, _, _) = parts.swap_remove(worst);
        let mid = 0.5 * (lo + hi);
        for (l, h) in [(lo, mid), (mid, hi)] {
            let (k, e) = gk15(&g, l, h);
            parts.push((l, h, k, e));
        }
    }
    shift + parts.iter().map(|p| p.2).sum::<f64>().ln()
}

/// 15-point Kronrod rule on [lo, hi] and the difference from its embedded 7-point Gauss rule.
fn gk15(f: &impl Fn(f64) -> f64, lo: f64, hi: f64) -> (f64, f64) {
    #[allow(clippy::excessive_precision)]
    const XGK: [f64; 8] = [
        0.991455371120812639206854697526329,
        0.949107912342758524526189684047851,
        0.864864423359769072789712788640926,
        0.741531185599394439863864773280788,
        0.586087235467691130294144845693013,
        0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
        0.0,
    ];
    #[allow(clippy::excessive_precision)]
    const WGK: [f64; 8] = [
        0.022935322010529224963732008058970,
        0.063092092629978553290700663189204,
        0.104790010322250183839876322541518,
        0.140653259715525918745189590510238,
        0.169004726639267902826583426598550,
        0.190350578064785409913256402421014,
        0.204432940075298892414161999234649,
        0.209482141084727828012999174891714,
    ];
    #[allow(clippy::excessive_precision)]
    const WG: [f64; 4] = [
        0.129484966168869693270611432679082,
        0.279705391489276667901467771423780,
        0.381830050505118944950369775488975,
        0.417959183673469387755102040816327,
    ];
    let centre = 0.5 * (lo + hi);
    let half = 0.5 * (hi - lo);
    let fc = f(centre);
    let mut kronrod = WGK[7] * fc;
    let mut gauss = WG[3] * fc;
    for j in 0..7 {
        let dx = half * XGK[j];
        let pair = f(centre - dx) + f(centre + dx);
        kronrod += WGK[j] * pair;
        if j % 2 == 1 {
            gauss += WG[j / 2] * pair;
        }
    }
    (kronrod * half, ((kronrod - gauss) * half).abs())
}

/// The Pareto/NBD log-likelihood of grouped data, for [`maximize`].
///
/// Work per evaluation is one ₂F₁ tail per distinct (x, T) and per distinct (x, t_x), one
/// ln Γ per distinct x and a few logs per distinct y, then a log-sum per row. The gradient is
/// analytic: the ₂F₁ series carries its own derivatives (see `hyp2f1`). With many distinct
/// rows the tails are computed on all cores (each tail is computed the same way whatever the
/// split, so the result does not depend on the number of threads).
pub struct ParetoNbdLikelihood {
    xs: Vec<f64>,
    ys: Vec<f64>,
    /// The distinct tail integrals: I(r+x+1, s; T) (`died` false) and I(r+x, s+1; t_x).
    tails: Vec<TailKey>,
    rows: Vec<Row>,
    customers: f64,
    start: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TailKey {
    x: u32,
    y: u32,
    died: bool,
}

/// One distinct data row: indexes into `xs` and `tails`, and its weight.
#[derive(Debug, Clone, Copy)]
struct Row {
    x: u32,
    alive: u32,
    died: u32,
    w: f64,
}

fn intern(map: &mut RowMap<u64, u32>, list: &mut Vec<f64>, v: f64) -> u32 {
    *map.entry(v.to_bits()).or_insert_with(|| {
        list.push(v);
        (list.len() - 1) as u32
    })
}

fn intern_tail(map: &mut RowMap<TailKey, u32>, list: &mut Vec<TailKey>, k: TailKey) -> u32 {
    *map.entry(k).or_insert_with(|| {
        list.push(k);
        (list.len() - 1) as u32
    })
}

/// Below this many items a map runs on the calling thread: spawning costs more than it saves.
const PARALLEL_MIN: usize = 8192;

/// `items.iter().map(f).collect()`, on up to `available_parallelism` scoped threads for long
/// inputs. Falls back to the calling thread if a thread cannot be spawned.
pub(crate) fn par_map<U: Sync, T: Send>(items: &[U], f: impl Fn(&U) -> T + Sync) -> Vec<T> {
    let threads = crate::cores().min(8);
    if threads < 2 || items.len() < PARALLEL_MIN {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let work = move || part.iter().map(f).collect::<Vec<T>>();
                std::thread::Builder::new()
                    .spawn_scoped(scope, work)
                    .map_err(|_| part)
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            match h {
                Ok(handle) => match handle.join() {
                    Ok(v) => out.extend(v),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(part) => out.extend(part.iter().map(f)),
            }
        }
        out
    })
}

impl ParetoNbdLikelihood {
    /// Index the data's distinct frequencies, times and integrals.
    pub fn new(data: &Rfm) -> ParetoNbdLikelihood {
        let (mut xm, mut ym, mut tm) = (RowMap::default(), RowMap::default(), RowMap::default());
        let mut lik = ParetoNbdLikelihood {
            xs: Vec::new(),
            ys: Vec::new(),
            tails: Vec::new(),
            rows: Vec::new(),
            customers: 0.0,
            start: Vec::new(),
        };
        let (mut sum_x, mut sum_t) = (0.0, 0.0);
        for (row, w) in data.iter() {
            let x = intern(&mut xm, &mut lik.xs, row.x);
            let t = intern(&mut ym, &mut lik.ys, row.t);
            let t_x = intern(&mut ym, &mut lik.ys, row.t_x);
            let alive = TailKey {
                x,
                y: t,
                died: false,
            };
            let died = TailKey {
                x,
                y: t_x,
                died: true,
            };
            let alive = intern_tail(&mut tm, &mut lik.tails, alive);
            let died = intern_tail(&mut tm, &mut lik.tails, died);
            lik.rows.push(Row { x, alive, died, w });
            lik.customers += w;
            sum_x += w * row.x;
            sum_t += w * row.t;
        }
        // Start: r = s = 1 (exponential mixing), E[λ] = r/α at the mean purchase rate, and a
        // typical lifetime 1/E[μ] = β/s of the length of the observation window. In the data's
        // time unit, so the start does not depend on whether times are in days or weeks.
        let n = lik.customers.max(f64::MIN_POSITIVE);
        let (mean_x, mean_t) = (sum_x / n, (sum_t / n).max(f64::MIN_POSITIVE));
        lik.start = vec![1.0, mean_t / mean_x.max(0.1), 1.0, mean_t];
        lik
    }

    /// Log-likelihood and, when `GRAD`, its gradient in (r, α, s, β).
    fn eval<const GRAD: bool>(&self, theta: &[f64]) -> (f64, [f64; 4]) {
        let nan = (f64::NAN, [f64::NAN; 4]);
        let &[r, alpha, s, beta] = theta else {
            return nan;
        };
        if !theta.iter().all(|v| v.is_finite() && *v > 0.0) {
            return nan;
        }
        let alpha_big = alpha >= beta;
        let (big, small) = if alpha_big {
            (alpha, beta)
        } else {
            (beta, alpha)
        };
        // Per distinct y: ln(M+y), ln(m+y), 1/(M+y), 1/(m+y).
        let ys: Vec<[f64; 4]> = par_map(&self.ys, |&y| {
            let (b, m) = (big + y, small + y);
            [b.ln(), m.ln(), 1.0 / b, 1.0 / m]
        });
        // Per distinct x: ln Γ(r+x) − ln Γ(r), its r-derivative, ln(r+x), 1/(r+x).
        let (lg_r, dg_r) = (ln_gamma(r), if GRAD { digamma(r) } else { 0.0 });
        let xs: Vec<[f64; 4]> = self
            .xs
            .iter()
            .map(|&x| {
                let rx = r + x;
                let dlg = if GRAD { digamma(rx) - dg_r } else { 0.0 };
                [ln_gamma(rx) - lg_r, dlg, rx.ln(), 1.0 / rx]
            })
            .collect();
        // Each tail integral with its gradient mapped from (p_M, p_m, M, m) to (a, α, b, β),
        // where a is the exponent of (α+τ) and b that of (β+τ).
        let tails: Vec<(f64, [f64; 4])> = par_map(&self.tails, |key| {
            let x = self.xs[key.x as usize];
            let (a, b) = if key.died {
                (r + x, s + 1.0)
            } else {
                (r + x + 1.0, s)
            };
            let [ln_big, ln_small, inv_big, inv_small] = ys[key.y as usize];
            let (p_big, p_small) = if alpha_big { (a, b) } else { (b, a) };
            let t = Tail {
                p_big,
                p_small,
                big,
                small,
                y: self.ys[key.y as usize],
                ln_big,
                ln_small,
                inv_big,
                inv_small,
            };
            if GRAD {
                let (v, g) = ln_tail_grad(&t);
                let mapped = if alpha_big {
                    [g[0], g[2], g[1], g[3]]
                } else {
                    [g[1], g[3], g[0], g[2]]
                };
                (v, mapped)
            } else {
                (ln_tail(&t), [0.0; 4])
            }
        });
        let (ln_s, inv_s) = (s.ln(), 1.0 / s);
        // A compensated sum (see `Compensated`).
        let mut total = Compensated::default();
        let mut g = [0.0; 4];
        for row in &self.rows {
            let [lg, dlg, ln_rx, inv_rx] = xs[row.x as usize];
            let (l1, g1) = &tails[row.alive as usize];
            let (l2, g2) = &tails[row.died as usize];
            let p = ln_rx + l1;
            let q = ln_s + l2;
            // log-sum with the two shares w1 + w2 = 1.
            let (hi, lo) = if p >= q { (p, q) } else { (q, p) };
            let e = (lo - hi).exp();
            total.add(row.w * (lg + hi + e.ln_1p()));
            if GRAD {
                let w_hi = 1.0 / (1.0 + e);
                let (w1, w2) = if p >= q {
                    (w_hi, e * w_hi)
                } else {
                    (e * w_hi, w_hi)
                };
                let w = row.w;
                g[0] += w * (dlg + w1 * (inv_rx + g1[0]) + w2 * g2[0]);
                g[1] += w * (w1 * g1[1] + w2 * g2[1]);
                g[2] += w * (w1 * g1[2] + w2 * (inv_s + g2[2]));
                g[3] += w * (w1 * g1[3] + w2 * g2[3]);
            }
        }
        let n = self.customers;
        let (ll, carry) = total.parts();
        let ll = ll + (carry + n * (r * alpha.ln() + s * beta.ln()));
        if GRAD {
            g[0] += n * alpha.ln();
            g[1] += n * r / alpha;
            g[2] += n * beta.ln();
            g[3] += n * s / beta;
        }
        (ll, g)
    }
}

impl Likelihood for ParetoNbdLikelihood {
    fn names(&self) -> &'static [&'static str] {
        NAMES
    }
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        self.eval::<false>(theta).0
    }
    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (v, g) = self.eval::<true>(theta);
        (v, g.to_vec())
    }
    fn has_analytic_gradient(&self) -> bool {
        true
    }
    fn observations(&self) -> f64 {
        self.customers
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        vec![self.start.clone()]
    }
}

/// Fit Pareto/NBD by maximum likelihood. Fails when no customer made a repeat purchase or the
/// optimiser finds no finite likelihood.
pub fn fit_paretonbd(data: &Rfm, opts: &FitOptions) -> Result<(ParetoNbdParams, Fit), ModelError> {
    data.require_repeat_buyers()?;
    let lik = ParetoNbdLikelihood::new(data);
    let fit = maximize(&lik, opts)?;
    let params = ParetoNbdParams {
        r: fit.params[0],
        alpha: fit.params[1],
        s: fit.params[2],
        beta: fit.params[3],
    };
    Ok((params, fit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::RfmRow;
    use crate::fit::numeric_gradient;

    const CDNOW: ParetoNbdParams = ParetoNbdParams {
        r: 0.5532845580225381,
        alpha: 10.577843557978406,
        s: 0.6061981619148374,
        beta: 11.667669729487827,
    };

    fn rows() -> Vec<RfmRow> {
        let mut v = Vec::new();
        for (i, &(x, t_x, t)) in [
            (0.0, 0.0, 38.0),
            (2.0, 30.4, 38.9),
            (7.0, 2.0, 30.0),
            (1.0, 20.0, 20.0),
            (15.0, 35.0, 36.0),
        ]
        .iter()
        .enumerate()
        {
            for _ in 0..=i {
                v.push(RfmRow { x, t_x, t });
            }
        }
        v
    }

    #[test]
    fn gk15_integrates_polynomials_exactly() {
        // Kronrod 15 is exact to degree 22, its Gauss 7 to degree 13.
        for k in [0, 4, 12, 22] {
            let (v, _) = gk15(&|x: f64| x.powi(k), -1.0, 1.0);
            assert!(
                (v - 2.0 / (k as f64 + 1.0)).abs() < 1e-15,
                "degree {k}: {v}"
            );
        }
        let (_, err) = gk15(&|x: f64| x.powi(12), -1.0, 1.0);
        assert!(err < 1e-15);
    }

    #[test]
    fn prob_purchases_matches_the_closed_form() {
        // Fader & Hardie (2006) closed form (B₁ − Σ B₂ᵢ, ₂F₁ at 40 digits in mpmath).
        let cases = [
            (39.0, 0, 0.5935303801302243172269628),
            (39.0, 1, 0.1655859089741288306730984),
            (39.0, 5, 0.02149202232700231251669996),
            (78.0, 20, 0.001391991610668901802130053),
            (1.0, 0, 0.9524329585386262590177222),
            (1.0, 3, 0.0002160538043807356572943438),
        ];
        for (t, n, want) in cases {
            let p = CDNOW.prob_purchases(t, n);
            assert!(
                (p - want).abs() < 1e-12 * want,
                "t={t} n={n}: {p} vs {want}"
            );
        }
        let far = ParetoNbdParams {
            r: 2.0,
            alpha: 500.0,
            s: 0.3,
            beta: 2.0,
        };
        for (t, n, want) in [
            (52.0, 0, 0.9090063881944555652119767),
            (52.0, 2, 0.009635901510494572992396748),
            (1000.0, 10, 0.003664034760156502061990617),
        ] {
            let p = far.prob_purchases(t, n);
            assert!(
                (p - want).abs() < 1e-12 * want,
                "t={t} n={n}: {p} vs {want}"
            );
        }
        assert_eq!(CDNOW.prob_purchases(0.0, 0), 1.0);
        assert_eq!(CDNOW.prob_purchases(0.0, 2), 0.0);
    }

    #[test]
    fn analytic_gradient_matches_numeric() {
        let data = Rfm::new(&rows()).unwrap();
        let lik = ParetoNbdLikelihood::new(&data);
        for theta in [
            [0.55, 10.6, 0.61, 11.7],
            [0.55, 11.7, 0.61, 10.6],
            [2.0, 500.0, 0.3, 2.0],
            [0.5, 1.0, 0.5, 100.0],
            [1.3, 4.0, 2.0, 4.0],
        ] {
            let (v, g) = lik.eval::<true>(&theta);
            let (v0, _) = lik.eval::<false>(&theta);
            assert!((v - v0).abs() < 1e-12 * v.abs());
            let num = numeric_gradient(|t| lik.eval::<false>(t).0, &theta);
            for i in 0..4 {
                assert!(
                    (g[i] - num[i]).abs() < 1e-6 * (1.0 + num[i].abs()),
                    "{theta:?} ∂{i}: {} vs {}",
                    g[i],
                    num[i]
                );
            }
            // Grouped rows give the sum of the individual log-likelihoods.
            let p = CDNOW.with_params(&theta);
            let by_row: f64 = rows()
                .iter()
                .map(|r| p.log_likelihood_one(r.x, r.t_x, r.t))
                .sum();
            assert!((by_row - v).abs() < 1e-10 * v.abs(), "{by_row} vs {v}");
        }
    }

    #[test]
    fn row_gradient_matches_the_grouped_likelihood() {
        for theta in [
            [0.55, 10.6, 0.61, 11.7],
            [0.55, 11.7, 0.61, 10.6],
            [2.0, 500.0, 0.3, 2.0],
        ] {
            for r in rows() {
                let data = Rfm::new(&[r]).unwrap();
                let (v, g) = ParetoNbdLikelihood::new(&data).eval::<true>(&theta);
                let (v1, g1) = row_value_grad(theta, r.x, r.t_x, r.t);
                assert!((v - v1).abs() < 1e-12 * v.abs().max(1.0), "{v} vs {v1}");
                for i in 0..4 {
                    assert!((g[i] - g1[i]).abs() < 1e-10 * g[i].abs().max(1.0));
                }
            }
        }
        assert!(row_value_grad([0.5, -1.0, 1.0, 1.0], 1.0, 1.0, 2.0)
            .0
            .is_nan());
    }

    /// The closed form 1/(a + d·e^E) of P(alive) against the log-space form it replaces when a
    /// series is in range, over parameters where α and β are within a factor 2 or far apart
    /// (then only some rows take the closed form), frequencies up to 200 and ages up to 500: the
    /// rows that take the closed form move by less than 1e-13, the others not at all.
    #[test]
    fn closed_form_p_alive_matches_the_log_space_form() {
        let mut closed = 0;
        for theta in [
            [0.5533, 10.5776, 0.6062, 11.6679],
            [0.5533, 11.6679, 0.6062, 10.5776],
            [2.0, 3.0, 0.3, 5.5],
            [0.05, 20.0, 20.0, 12.0],
            [2.0, 500.0, 0.3, 2.0],
            [1.3, 4.0, 2.0, 4.0],
        ] {
            let m = CDNOW.with_params(&theta);
            for x in [0.0, 1.0, 2.0, 7.0, 30.0, 200.0] {
                for t in [0.5, 10.0, 38.86, 500.0] {
                    for frac in [0.0, 0.1, 0.5, 0.9, 1.0] {
                        let t_x = if x == 0.0 { 0.0 } else { frac * t };
                        let (at_t, at_tx) = (m.time_logs(t), m.time_logs(t_x));
                        let (a, d) = (m.alive_ratio(x, t, &at_t), m.died_ratio(x, t_x, &at_tx));
                        let e = m.died_exponent(x, &at_t, &at_tx);
                        let (la, lb) = m.ln_alpha_beta(&at_t);
                        let ln_at_t = -(m.r + x) * la - m.s * lb;
                        let ln_bracket =
                            log_add(m.ln_alive(x, t, &at_t), m.ln_died(x, t_x, &at_tx));
                        let logspace = (ln_at_t - ln_bracket).min(0.0).exp();
                        let p = m.p_alive(x, t_x, t);
                        if a.is_nan() || d.is_nan() || e > E_MAX || ln_at_t.abs() > LN_CLOSED_MAX {
                            assert_eq!(p.to_bits(), logspace.clamp(0.0, 1.0).to_bits());
                            continue;
                        }
                        closed += 1;
                        let tol = 1e-13;
                        assert!(
                            (p - logspace).abs() <= tol * logspace,
                            "{theta:?} x={x} t_x={t_x} T={t}: {p} vs {logspace}"
                        );
                    }
                }
            }
        }
        assert!(closed > 250, "{closed}");
    }

    #[test]
    fn expectations_at_s_equal_one_are_continuous() {
        let at = |s: f64| ParetoNbdParams { s, ..CDNOW };
        let e1 = at(1.0).expected_purchases(39.0);
        assert!((e1 - at(1.0 + 1e-9).expected_purchases(39.0)).abs() < 1e-8);
        let c1 = at(1.0).conditional_expected_purchases(39.0, 2.0, 30.0, 38.0);
        assert!(
            (c1 - at(1.0 - 1e-9).conditional_expected_purchases(39.0, 2.0, 30.0, 38.0)).abs()
                < 1e-8
        );
        assert!(e1 > 0.0 && c1 > 0.0);
    }

    #[test]
    fn invalid_parameters_give_nan() {
        let bad = ParetoNbdParams { r: -1.0, ..CDNOW };
        assert!(bad.log_likelihood_one(1.0, 1.0, 2.0).is_nan());
        assert!(bad.p_alive(1.0, 1.0, 2.0).is_nan());
        let data = Rfm::new(&rows()).unwrap();
        assert!(ParetoNbdLikelihood::new(&data)
            .log_likelihood(&[1.0, 0.0, 1.0, 1.0])
            .is_nan());
    }
}
