//! When to try again: capped exponential backoff with jitter from a caller-supplied uniform.

/// How the jitter spreads a delay below its exponential ceiling `c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly `c`.
    None,
    /// `c·u`, uniform from 0 to `c`: the widest spread, but a delay can be near zero.
    Full,
    /// `c·(1+u)/2`, uniform from `c/2` to `c`: half the spread, and with `factor >= 2`, below
    /// the cap, every possible delay of attempt `n + 1` is at least every one of attempt `n`.
    Equal,
}

/// Capped exponential backoff: after `n >= 1` failed attempts the ceiling is
/// `min(max_delay_secs, base_secs * factor^(n-1))`, jittered by [`Jitter`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub base_secs: f64,
    pub factor: f64,
    pub max_delay_secs: f64,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    /// 30 s, doubling, capped at 6 h, 12 attempts, equal jitter: the ceilings are 30 s, 1 min,
    /// 2 min, … 4 h 16 min, 6 h, so the twelfth attempt comes 7.3 to 14.5 h after the first.
    fn default() -> Self {
        RetryPolicy {
            base_secs: 30.0,
            factor: 2.0,
            max_delay_secs: 6.0 * 3600.0,
            max_attempts: 12,
            jitter: Jitter::Equal,
        }
    }
}

impl RetryPolicy {
    /// Seconds to wait before attempt `attempts + 1`, after `attempts` failed ones; `u` is a
    /// uniform draw in `[0, 1)` (clamped into it; NaN counts as 0). Zero for `attempts == 0`.
    /// Within `[0, max_delay_secs]` whatever the policy's numbers (negatives and NaN count as
    /// 0), so finite whenever `max_delay_secs` is.
    pub fn delay_secs(&self, attempts: u32, u: f64) -> f64 {
        if attempts == 0 {
            return 0.0;
        }
        let cap = nonneg(self.max_delay_secs);
        let exponent = i32::try_from(attempts - 1).unwrap_or(i32::MAX);
        let ceiling = nonneg(self.base_secs * nonneg(self.factor).powi(exponent)).min(cap);
        let u = if u.is_nan() { 0.0 } else { u.clamp(0.0, 1.0) };
        match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => ceiling * u,
            Jitter::Equal => ceiling * (0.5 + 0.5 * u),
        }
    }

    /// True when `attempts` attempts have been made and no more are allowed.
    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }
}

/// `x` if it is a non-negative number, `0` for negatives and NaN; `inf` stays `inf` (and
/// is then capped).
fn nonneg(x: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_without_jitter() {
        let p = RetryPolicy {
            jitter: Jitter::None,
            ..RetryPolicy::default()
        };
        let delays: Vec<f64> = (0..13).map(|n| p.delay_secs(n, 0.5)).collect();
        let expected = [
            0.0, 30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3840.0, 7680.0, 15360.0, 21600.0,
            21600.0,
        ];
        assert_eq!(delays, expected);
    }

    #[test]
    fn nonsense_numbers_never_panic_or_escape_the_bounds() {
        let weird = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0, 1e308];
        for &base in &weird {
            for &factor in &weird {
                for &max in &weird {
                    let p = RetryPolicy {
                        base_secs: base,
                        factor,
                        max_delay_secs: max,
                        max_attempts: 3,
                        jitter: Jitter::Equal,
                    };
                    for n in [0, 1, 2, u32::MAX] {
                        for u in [f64::NAN, -1.0, 0.0, 0.99, 2.0] {
                            let d = p.delay_secs(n, u);
                            assert!(d >= 0.0 && d <= super::nonneg(max), "{p:?} {n} {u} {d}");
                        }
                    }
                }
            }
        }
    }
}
