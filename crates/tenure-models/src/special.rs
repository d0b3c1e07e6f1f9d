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
    fn log_exp_helpers() {
        assert!((log_add_exp(1000.0, 1000.0) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!((log_sub_exp(2f64.ln(), 0.0) - 0.0).abs() < 1e-15);
        assert_eq!(log_sub_exp(1.0, 1.0), f64::NEG_INFINITY);
    }
}
