//! Time units, durations and rates. A month is 365.25/12 = 30.4375 days and a year 365.25
//! days everywhere in Tenure; outputs print the unit so nobody has to guess.

use std::fmt;
use std::str::FromStr;

/// Days in a month: the mean Gregorian month, 365.25 / 12.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;
/// Days in a year: the mean Julian year.
pub const DAYS_PER_YEAR: f64 = 365.25;

/// The unit of a time quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    Days,
    Weeks,
    Months,
    Years,
}

impl TimeUnit {
    /// Length of one unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
            TimeUnit::Months => DAYS_PER_MONTH,
            TimeUnit::Years => DAYS_PER_YEAR,
        }
    }

    /// How many `other` units one `self` unit spans (e.g. Months in Weeks = 4.348…).
    pub fn in_unit(self, other: TimeUnit) -> f64 {
        self.days() / other.days()
    }

    /// Short suffix used in parsing and printing: `d`, `w`, `mo`, `y`.
    pub fn suffix(self) -> &'static str {
        match self {
            TimeUnit::Days => "d",
            TimeUnit::Weeks => "w",
            TimeUnit::Months => "mo",
            TimeUnit::Years => "y",
        }
    }

    /// Plural English name, as printed in tables: `days`, `weeks`, `months`, `years`.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
            TimeUnit::Months => "months",
            TimeUnit::Years => "years",
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TimeUnit {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "d" | "day" | "days" => Ok(TimeUnit::Days),
            "w" | "wk" | "week" | "weeks" => Ok(TimeUnit::Weeks),
            "mo" | "month" | "months" => Ok(TimeUnit::Months),
            "y" | "yr" | "year" | "years" => Ok(TimeUnit::Years),
            _ => Err(UnitError::UnknownUnit(s.to_string())),
        }
    }
}

/// Errors from parsing units, durations and rates.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error("unknown time unit `{0}` (use d, w, mo or y)")]
    UnknownUnit(String),
    #[error("`{0}` is not a duration: write a number and a unit, e.g. 52w, 12mo, 365d, 1y")]
    BadDuration(String),
    #[error("`{0}` is not a rate: write a number (or a percentage) per unit, e.g. 0.01/mo, 10%/y")]
    BadRate(String),
    #[error("`{0}` must be finite and not negative")]
    Negative(String),
}

/// A non-negative length of time with its unit. Invariant: `amount` is finite and ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duration {
    amount: f64,
    unit: TimeUnit,
}

impl Duration {
    /// A duration; fails on negative or non-finite amounts.
    pub fn new(amount: f64, unit: TimeUnit) -> Result<Self, UnitError> {
        if amount.is_finite() && amount >= 0.0 {
            Ok(Duration { amount, unit })
        } else {
            Err(UnitError::Negative(format!("{amount}{}", unit.suffix())))
        }
    }
    pub fn days(amount: f64) -> Result<Self, UnitError> {
        Self::new(amount, TimeUnit::Days)
    }
    pub fn weeks(amount: f64) -> Result<Self, UnitError> {
        Self::new(amount, TimeUnit::Weeks)
    }
    pub fn months(amount: f64) -> Result<Self, UnitError> {
        Self::new(amount, TimeUnit::Months)
    }
    pub fn amount(&self) -> f64 {
        self.amount
    }
    pub fn unit(&self) -> TimeUnit {
        self.unit
    }
    /// This duration expressed in `unit`.
    pub fn in_unit(&self, unit: TimeUnit) -> f64 {
        if unit == self.unit {
            self.amount
        } else {
            self.amount * self.unit.in_unit(unit)
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit.name())
    }
}

/// Split `"52w"` into (`"52"`, `"w"`).
fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(s.len());
    // `e` may begin a unit-less exponent only if followed by digits; units never start with e.
    (&s[..end], &s[end..])
}

impl FromStr for Duration {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let (num, unit) = split_number(t);
        let amount: f64 = num
            .parse()
            .map_err(|_| UnitError::BadDuration(s.to_string()))?;
        if unit.trim().is_empty() {
            return Err(UnitError::BadDuration(s.to_string()));
        }
        let unit: TimeUnit = unit.parse()?;
        Duration::new(amount, unit)
    }
}

/// A rate per period, such as a discount rate of 1% per month. Invariants: `value` is finite
/// and > −1 (a fraction: 0.01 is 1%); the period `per` is a positive [`Duration`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    value: f64,
    per: Duration,
}

impl Rate {
    /// A rate of `value` per one `per` unit (e.g. 0.01 per month).
    pub fn new(value: f64, per: TimeUnit) -> Result<Self, UnitError> {
        Self::per_duration(
            value,
            Duration {
                amount: 1.0,
                unit: per,
            },
        )
    }
    /// A rate of `value` per period of length `per` (e.g. 0.01 per 4.345 weeks).
    pub fn per_duration(value: f64, per: Duration) -> Result<Self, UnitError> {
        if !(value.is_finite() && value > -1.0) {
            return Err(UnitError::BadRate(format!("{value}")));
        }
        if !(per.amount > 0.0) {
            return Err(UnitError::BadRate(format!("{value} per {per}")));
        }
        Ok(Rate { value, per })
    }
    /// The fraction per period (0.01 = 1%).
    pub fn value(&self) -> f64 {
        self.value
    }
    /// The period the rate is stated for.
    pub fn per(&self) -> Duration {
        self.per
    }
    /// The equivalent compound rate per one `unit`: (1 + value)^(unit / per) − 1.
    pub fn compounded_per(&self, unit: TimeUnit) -> f64 {
        (1.0 + self.value).powf(1.0 / self.per.in_unit(unit)) - 1.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let singular = &self.per.unit.name()[..self.per.unit.name().len() - 1];
        if self.per.amount == 1.0 {
            write!(f, "{} per {singular}", self.value)
        } else {
            write!(f, "{} per {}", self.value, self.per)
        }
    }
}

impl FromStr for Rate {
    type Err = UnitError;
    /// `0.01/mo`, `1%/mo`, `10%/y`, `0.1/year`, `1%/4.345w` (per a period of 4.345 weeks).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || UnitError::BadRate(s.to_string());
        let (num, per) = s.trim().split_once('/').ok_or_else(bad)?;
        let num = num.trim();
        let value = if let Some(p) = num.strip_suffix('%') {
            p.trim().parse::<f64>().map_err(|_| bad())? / 100.0
        } else {
            num.parse::<f64>().map_err(|_| bad())?
        };
        let per = per.trim();
        let per = if per.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            per.parse::<Duration>().map_err(|_| bad())?
        } else {
            Duration::new(1.0, per.parse()?)?
        };
        Rate::per_duration(value, per).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_with_units() {
        assert_eq!(
            "52w".parse::<Duration>().unwrap(),
            Duration::weeks(52.0).unwrap()
        );
        assert_eq!(
            "12mo".parse::<Duration>().unwrap(),
            Duration::months(12.0).unwrap()
        );
        assert_eq!(
            "365d".parse::<Duration>().unwrap(),
            Duration::days(365.0).unwrap()
        );
        assert_eq!("1.5 y".parse::<Duration>().unwrap().unit(), TimeUnit::Years);
        assert!(
            "52".parse::<Duration>().is_err(),
            "a bare number has no unit"
        );
        assert!("-3w".parse::<Duration>().is_err());
        assert!("3 fortnights".parse::<Duration>().is_err());
    }

    #[test]
    fn converts_between_units() {
        let m = Duration::months(12.0).unwrap();
        assert!((m.in_unit(TimeUnit::Days) - 365.25).abs() < 1e-12);
        assert!((m.in_unit(TimeUnit::Weeks) - 365.25 / 7.0).abs() < 1e-12);
        assert_eq!(Duration::weeks(2.0).unwrap().in_unit(TimeUnit::Days), 14.0);
    }

    #[test]
    fn parses_rates() {
        let r: Rate = "10%/y".parse().unwrap();
        assert!((r.value() - 0.1).abs() < 1e-15);
        assert_eq!(r.per(), Duration::new(1.0, TimeUnit::Years).unwrap());
        let m: Rate = "0.01/month".parse().unwrap();
        assert_eq!(m.value(), 0.01);
        let l: Rate = "1%/4.345w".parse().unwrap();
        assert_eq!(l.per(), Duration::weeks(4.345).unwrap());
        assert_eq!(l.to_string(), "0.01 per 4.345 weeks");
        assert_eq!(m.to_string(), "0.01 per month");
        assert!("-150%/y".parse::<Rate>().is_err());
        assert!("0.01".parse::<Rate>().is_err(), "a rate needs its period");
        // 1% a month compounds to 12.68% a year.
        assert!((m.compounded_per(TimeUnit::Years) - (1.01f64.powf(12.0) - 1.0)).abs() < 1e-12);
    }
}
