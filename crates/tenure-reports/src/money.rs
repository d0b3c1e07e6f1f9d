//! One report currency: amounts in other currencies are converted at rates the user states, or
//! left out and counted — never converted at a guessed rate.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use tenure_core::Currency;

/// The currency a report is in, and the rates for others (units of the report currency per
/// unit of the other, e.g. EUR → USD at 1.087).
#[derive(Debug, Clone, PartialEq)]
pub struct Fx {
    currency: Currency,
    rates: Vec<(Currency, Decimal)>,
}

impl Fx {
    /// Report in `currency`; amounts in any other currency are left out.
    pub fn new(currency: Currency) -> Fx {
        Fx {
            currency,
            rates: Vec::new(),
        }
    }
    /// Convert `from` at `rate` report-currency units per unit (must be > 0).
    pub fn with_rate(mut self, from: Currency, rate: Decimal) -> Result<Fx, String> {
        if rate <= Decimal::ZERO {
            return Err(format!("the rate for {from} must be positive, got {rate}"));
        }
        self.rates.retain(|(c, _)| *c != from);
        self.rates.push((from, rate));
        Ok(self)
    }
    pub fn currency(&self) -> Currency {
        self.currency
    }
    pub fn rates(&self) -> &[(Currency, Decimal)] {
        &self.rates
    }
    /// `minor` units of `from` in minor units of the report currency, rounded half away from
    /// zero to the report currency's minor unit; `None` when there is no rate (or the result
    /// does not fit).
    pub fn convert(&self, minor: i64, from: Currency) -> Option<i64> {
        if from == self.currency {
            return Some(minor);
        }
        let rate = self.rates.iter().find(|(c, _)| *c == from)?.1;
        let major = Decimal::new(minor, from.exponent()).checked_mul(rate)?;
        let scaled = major
            .round_dp_with_strategy(
                self.currency.exponent(),
                RoundingStrategy::MidpointAwayFromZero,
            )
            .checked_mul(Decimal::from(10i64.pow(self.currency.exponent())))?;
        scaled.to_i64()
    }
}

/// Minor units of `currency` as an exact decimal in major units (`1250` → `12.50`).
pub fn to_decimal(minor: i64, currency: Currency) -> Decimal {
    Decimal::new(minor, currency.exponent())
}

/// `num / den` minor units, rounded half away from zero; `None` when `den` is 0.
pub fn div_round(num: i128, den: i128) -> Option<i64> {
    if den == 0 {
        return None;
    }
    let (n, d) = if den < 0 { (-num, -den) } else { (num, den) };
    let q = if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    };
    i64::try_from(q).ok()
}

/// `amount × share` (a fraction), rounded half away from zero to a minor unit.
pub fn share_of(amount: i64, share: Decimal) -> i64 {
    (Decimal::from(amount) * share)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(0)
}

/// Split `amount` minor units into `n` parts as equal as possible: the first `amount mod n`
/// parts get one unit more, so the parts add up to `amount` exactly.
pub fn split_evenly(amount: i64, n: usize) -> impl Iterator<Item = i64> {
    let n = n.max(1) as i64;
    let (q, r) = (amount.div_euclid(n), amount.rem_euclid(n));
    (0..n).map(move |i| q + i64::from(i < r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(s: &str) -> Currency {
        Currency::parse(s).expect("known")
    }

    #[test]
    fn converts_at_stated_rates_only() {
        let fx = Fx::new(cur("USD"))
            .with_rate(cur("EUR"), Decimal::new(1087, 3))
            .expect("positive");
        assert_eq!(fx.convert(1000, cur("USD")), Some(1000));
        // 10.00 EUR × 1.087 = 10.87 USD.
        assert_eq!(fx.convert(1000, cur("EUR")), Some(1087));
        // 0.05 EUR × 1.087 = 0.05435 → 0.05.
        assert_eq!(fx.convert(5, cur("EUR")), Some(5));
        // -0.50 EUR → -0.5435 → -0.54.
        assert_eq!(fx.convert(-50, cur("EUR")), Some(-54));
        assert_eq!(fx.convert(100, cur("GBP")), None);
        // JPY has no minor unit: 1500 JPY at 0.0067 = 10.05 USD.
        let fx = fx
            .with_rate(cur("JPY"), Decimal::new(67, 4))
            .expect("positive");
        assert_eq!(fx.convert(1500, cur("JPY")), Some(1005));
        assert!(Fx::new(cur("USD"))
            .with_rate(cur("EUR"), Decimal::ZERO)
            .is_err());
    }

    #[test]
    fn splits_add_up() {
        let parts: Vec<i64> = split_evenly(1000, 3).collect();
        assert_eq!(parts, [334, 333, 333]);
        assert_eq!(split_evenly(2, 3).collect::<Vec<_>>(), [1, 1, 0]);
        assert_eq!(div_round(5, 2), Some(3));
        assert_eq!(div_round(-5, 2), Some(-3));
        assert_eq!(div_round(1, 0), None);
        assert_eq!(share_of(-1005, Decimal::new(1, 1)), -101);
    }
}
