//! Special functions in log space. `ln_gamma` is musl's `lgamma` (through `libm`, accurate to a
//! few ulp); `digamma` is written here (recurrence to x ≥ 12, then the asymptotic series) and
//! tested against known values.

/// ln Γ(x) for x > 0.
#[inline]
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0.
#[inline]
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ψ(x) = d/dx ln Γ(x) for x > 0 (NaN otherwise). Absolute error below 1e-14 for x ≥ 1e-3.
pub fn digamma(mut x: f64) -> f64 {
    if !(x > 0.0) || !x.is_finite() {
        return f64::NAN;
    }
    let mut acc = 0.0;
    while x < 12.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // Abramowitz & Stegun 6.3.18
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0)))));
    acc + x.ln() - 0.5 * inv - series
}

/// ψ₁(x) = d²/dx² ln Γ(x) for x > 0 (NaN otherwise): the recurrence ψ₁(x) = ψ₁(x+1) + 1/x²
/// up to x ≥ 12, then the asymptotic series 1/x + 1/(2x²) + Σ B₂ₖ/x^(2k+1) (Abramowitz &
/// Stegun 6.4.12), to B₁₄. Relative error below 1e-14.
pub fn trigamma(mut x: f64) -> f64 {
    if !(x > 0.0) || !x.is_finite() {
        return f64::NAN;
    }
    let mut acc = 0.0;
    while x < 12.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv
        * (1.0
            + inv
                * (0.5
                    + inv
                        * (1.0 / 6.0
                            - inv2
                                * (1.0 / 30.0
                                    - inv2
                                        * (1.0 / 42.0
                                            - inv2
                                                * (1.0 / 30.0
                                                    - inv2
                                                        * (5.0 / 66.0
                                                            - inv2
                                                                * (691.0 / 2730.0
                                                                    - inv2 * (7.0 / 6.0)))))))));
    acc + series
}

/// ln(e^a + e^b) without overflow.
#[inline]
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// ln(e^a − e^b) for a ≥ b (−∞ when equal).
#[inline]
pub fn log_sub_exp(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    a + (-(b - a).exp()).ln_1p()
}

/// Gauss hypergeometric function ₂F₁(a, b; c; z) by its defining series
/// Σ_k (a)_k (b)_k / ((c)_k k!) z^k, for |z| < 1 and c not a non-positive integer. Summed until
/// a bound on the remaining terms is below 1e-17 of the sum; NaN if that does not happen within
/// 10⁷ terms (z too close to 1) or the terms overflow. Accurate when the terms do not cancel
/// (e.g. a, b, c > 0 and 0 ≤ z < 1).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z.is_nan() || z.abs() >= 1.0 {
        return f64::NAN;
    }
    1.0 + b * hyp2f1_minus_one_over_b(a, b, c, z)
}

/// ln ₂F₁(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, where every term is positive: the terms
/// are summed through their logarithms with a running maximum, so neither a term nor the sum
/// overflows for parameters in the thousands (a peak of e^800 is fine). Same stopping rule as
/// [`hyp2f1`]; NaN outside the domain or when 10⁸ terms do not suffice.
pub fn ln_hyp2f1_positive(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(a > 0.0 && b > 0.0 && c > 0.0 && (0.0..1.0).contains(&z)) {
        return f64::NAN;
    }
    if z == 0.0 {
        return 0.0;
    }
    let ln_z = z.ln();
    // Σ = e^m · s, with m the largest log-term so far.
    let (mut ln_t, mut m, mut s) = (0.0f64, 0.0f64, 1.0f64);
    let mut k = 0.0f64;
    while k < 1e8 {
        let ratio = (a + k) * (b + k) / ((c + k) * (k + 1.0));
        ln_t += ratio.ln() + ln_z;
        k += 1.0;
        if ln_t > m {
            s = s * (m - ln_t).exp() + 1.0;
            m = ln_t;
        } else {
            s += (ln_t - m).exp();
        }
        let rho = ratio * z;
        // Past the peak the ratios fall towards z: the rest is below term·ρ/(1−ρ).
        let term = (ln_t - m).exp();
        if rho < 1.0 && term * rho <= 1e-17 * s * (1.0 - rho) {
            return m + s.ln();
        }
    }
    f64::NAN
}

/// (₂F₁(a, b; c; z) − 1) / b = Σ_{k≥1} (a)_k (b+1)_{k−1} / ((c)_k k!) z^k, also at b = 0
/// (where it is the derivative of ₂F₁ in b). Same convergence rule as [`hyp2f1`].
pub fn hyp2f1_minus_one_over_b(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z.is_nan() || z.abs() >= 1.0 {
        return f64::NAN;
    }
    let az = z.abs();
    let mut term = a * z / c;
    let mut sum = term;
    for k in 1..10_000_000u32 {
        let kf = f64::from(k);
        let ratio = (a + kf) * (b + kf) / ((c + kf) * (kf + 1.0)) * z;
        term *= ratio;
        sum += term;
        if !term.is_finite() {
            return f64::NAN;
        }
        // The ratio tends to z; the larger of it and |z| bounds the ratios still to come.
        let bound = ratio.abs().max(az);
        if term == 0.0 || (bound < 1.0 && term.abs() * bound <= 1e-17 * sum.abs() * (1.0 - bound)) {
            return sum;
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_known_values() {
        // ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2, ψ(10) = H_9 − γ.
        let euler = 0.577_215_664_901_532_9_f64;
        assert!((digamma(1.0) + euler).abs() < 1e-14);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-14);
        let h9: f64 = (1..10).map(|k| 1.0 / k as f64).sum();
        assert!((digamma(10.0) - (h9 - euler)).abs() < 1e-14);
        assert!(digamma(-1.0).is_nan());
    }

    #[test]
    fn digamma_is_derivative_of_ln_gamma() {
        for &x in &[0.01, 0.3, 2.5, 17.0, 1234.5] {
            let h = 1e-5 * x;
            let fd = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!(
                (fd - digamma(x)).abs() < 1e-6 * (1.0 + digamma(x).abs()),
                "x={x}"
            );
        }
    }

    #[test]
    fn trigamma_known_values() {
        // ψ₁(1) = π²/6, ψ₁(1/2) = π²/2, ψ₁(10) = π²/6 − Σ_{k<10} 1/k², ψ₁(x) ~ 1/x.
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        assert!(rel(trigamma(1.0), pi2 / 6.0) < 1e-14);
        assert!(rel(trigamma(0.5), pi2 / 2.0) < 1e-14);
        let h: f64 = (1..10).map(|k| 1.0 / (k * k) as f64).sum();
        assert!(rel(trigamma(10.0), pi2 / 6.0 - h) < 1e-14);
        assert!(rel(trigamma(1e8), 1e-8 + 0.5e-16) < 1e-14);
        assert!(trigamma(0.0).is_nan() && trigamma(f64::NAN).is_nan());
        // The derivative of digamma.
        for &x in &[0.01, 0.3, 2.5, 11.9, 12.1, 17.0, 1234.5] {
            let h = 1e-5 * x;
            let fd = (digamma(x + h) - digamma(x - h)) / (2.0 * h);
            assert!(
                rel(fd, trigamma(x)) < 1e-7,
                "x={x}: {fd} vs {}",
                trigamma(x)
            );
        }
    }

    #[test]
    fn log_exp_helpers() {
        assert!((log_add_exp(1000.0, 1000.0) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!((log_sub_exp(2f64.ln(), 0.0) - 0.0).abs() < 1e-15);
        assert_eq!(log_sub_exp(1.0, 1.0), f64::NEG_INFINITY);
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1−z)/z; ₂F₁(a, b; b; z) = (1−z)^{−a}.
        for &z in &[1e-6, 0.1, 0.5, 0.9, 0.99] {
            let f = hyp2f1(1.0, 1.0, 2.0, z);
            assert!(rel(f, -(-z).ln_1p() / z) < 1e-14, "z={z} {f}");
            let f = hyp2f1(0.7, 2.5, 2.5, z);
            assert!(rel(f, (1.0 - z).powf(-0.7)) < 1e-13, "z={z} {f}");
        }
        // ₂F₁(1/2, 1; 3/2; −z²) = arctan(z)/z (alternating).
        let z = 0.8f64;
        assert!(rel(hyp2f1(0.5, 1.0, 1.5, -z * z), z.atan() / z) < 1e-14);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
    }

    #[test]
    fn hyp2f1_minus_one_over_b_is_the_b_derivative_at_zero() {
        // d/db ₂F₁(a, b; c; z) at b = 0 is Σ (a)_k (k−1)! / ((c)_k k!) z^k; for a = c it is
        // Σ z^k / k = −ln(1−z).
        let z = 0.37;
        let v = hyp2f1_minus_one_over_b(2.2, 0.0, 2.2, z);
        assert!(rel(v, -(-z).ln_1p()) < 1e-14, "{v}");
    }
}

/// A compensated (Neumaier) sum. Summing 10⁵ log-likelihood terms plainly loses ~10⁻⁸ of the
/// total to rounding, enough to hide from a line search the changes it needs near an optimum.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Compensated {
    sum: f64,
    carry: f64,
}

impl Compensated {
    /// Add one term.
    #[inline]
    pub(crate) fn add(&mut self, term: f64) {
        let sum = self.sum + term;
        self.carry += if self.sum.abs() >= term.abs() {
            (self.sum - sum) + term
        } else {
            (term - sum) + self.sum
        };
        self.sum = sum;
    }
    /// The running sum and the rounding carried so far (their total is the sum).
    pub(crate) fn parts(&self) -> (f64, f64) {
        (self.sum, self.carry)
    }
    /// The sum.
    pub(crate) fn total(&self) -> f64 {
        self.sum + self.carry
    }
}
