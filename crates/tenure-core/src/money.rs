//! Money as an exact decimal amount with an ISO 4217 currency code. Never a binary float:
//! converting to `f64` happens once, inside the models, at a named boundary.

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// An amount of money. Invariant: `currency` is three ASCII upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: [u8; 3],
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an amount of money")]
    BadAmount(String),
    #[error("`{0}` is not an ISO 4217 currency code (three letters, e.g. USD)")]
    BadCurrency(String),
    #[error("cannot add {0} to {1}: different currencies")]
    CurrencyMismatch(String, String),
}

impl Money {
    pub fn new(amount: Decimal, currency: &str) -> Result<Self, MoneyError> {
        let c = currency.trim().to_ascii_uppercase();
        let bytes = c.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(|b| b.is_ascii_uppercase()) {
            return Err(MoneyError::BadCurrency(currency.to_string()));
        }
        Ok(Money {
            amount,
            currency: [bytes[0], bytes[1], bytes[2]],
        })
    }
    /// Parse an amount such as `12.30`, `-4`, `1e3` is rejected (no exponents in money).
    pub fn parse(amount: &str, currency: &str) -> Result<Self, MoneyError> {
        Self::new(parse_amount(amount)?, currency)
    }
    pub fn amount(&self) -> Decimal {
        self.amount
    }
    pub fn currency(&self) -> &str {
        std::str::from_utf8(&self.currency).expect("currency is ASCII by construction")
    }
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(
                other.to_string(),
                self.to_string(),
            ));
        }
        Ok(Money {
            amount: self.amount + other.amount,
            currency: self.currency,
        })
    }
}

/// Parse a decimal amount exactly (`"12.30"` → 12.30). Rejects exponents, NaN and
/// thousands separators.
pub fn parse_amount(s: &str) -> Result<Decimal, MoneyError> {
    let t = s.trim();
    if t.is_empty() || t.contains(['e', 'E', ',']) {
        return Err(MoneyError::BadAmount(s.to_string()));
    }
    Decimal::from_str(t).map_err(|_| MoneyError::BadAmount(s.to_string()))
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_exactly() {
        let a = Money::parse("0.10", "usd").unwrap();
        let b = Money::parse("0.20", "USD").unwrap();
        assert_eq!(a.checked_add(&b).unwrap().amount().to_string(), "0.30");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Money::parse("1e3", "USD").is_err());
        assert!(Money::parse("NaN", "USD").is_err());
        assert!(Money::parse("1", "US").is_err());
        let e = Money::parse("1", "EUR")
            .unwrap()
            .checked_add(&Money::parse("1", "USD").unwrap());
        assert!(matches!(e, Err(MoneyError::CurrencyMismatch(..))));
    }
}
