//! Calendar arithmetic on UTC days: months, quarters and whole billing months.

pub use tenure_store::dataset::{day_from_ymd, ymd_of_day, Day};

/// A calendar month, counted from January of year 0 (`year × 12 + month − 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i32);

impl Month {
    /// The month that contains `day`.
    pub fn of_day(day: Day) -> Month {
        let (y, m, _) = ymd_of_day(day);
        Month(y * 12 + m as i32 - 1)
    }
    pub fn new(year: i32, month: u32) -> Month {
        Month(year * 12 + month as i32 - 1)
    }
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }
    /// 1–12.
    pub fn month(self) -> u32 {
        (self.0.rem_euclid(12) + 1) as u32
    }
    pub fn first_day(self) -> Day {
        day_from_ymd(self.year(), self.month(), 1)
    }
    pub fn last_day(self) -> Day {
        self.plus(1).first_day() - 1
    }
    pub fn plus(self, k: i32) -> Month {
        Month(self.0 + k)
    }
    /// Months from `earlier` to `self` (negative when `earlier` is later).
    pub fn since(self, earlier: Month) -> i32 {
        self.0 - earlier.0
    }
    /// The calendar quarter (`year × 4 + quarter − 1`).
    pub fn quarter(self) -> i32 {
        self.0.div_euclid(3)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

/// How long a cohort and a retention period are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    Month,
    Quarter,
}

/// A calendar month or quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub interval: IntervalKey,
    /// Months (`Month.0`) or quarters (`Month.quarter()`).
    pub index: i32,
}

/// `Interval` with an order, so periods sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IntervalKey {
    Month,
    Quarter,
}

impl Interval {
    fn key(self) -> IntervalKey {
        match self {
            Interval::Month => IntervalKey::Month,
            Interval::Quarter => IntervalKey::Quarter,
        }
    }
    /// Calendar months in one period.
    pub fn months(self) -> i32 {
        match self {
            Interval::Month => 1,
            Interval::Quarter => 3,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Interval::Month => "month",
            Interval::Quarter => "quarter",
        }
    }
    /// The period that contains `day`.
    pub fn period_of(self, day: Day) -> Period {
        let m = Month::of_day(day);
        Period {
            interval: self.key(),
            index: match self {
                Interval::Month => m.0,
                Interval::Quarter => m.quarter(),
            },
        }
    }
}

impl Period {
    pub fn interval(self) -> Interval {
        match self.interval {
            IntervalKey::Month => Interval::Month,
            IntervalKey::Quarter => Interval::Quarter,
        }
    }
    /// The period's first month.
    pub fn first_month(self) -> Month {
        Month(self.index * self.interval().months())
    }
    pub fn first_day(self) -> Day {
        self.first_month().first_day()
    }
    pub fn last_day(self) -> Day {
        self.plus(1).first_day() - 1
    }
    pub fn plus(self, k: i32) -> Period {
        Period {
            interval: self.interval,
            index: self.index + k,
        }
    }
    pub fn since(self, earlier: Period) -> i32 {
        self.index - earlier.index
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.interval {
            IntervalKey::Month => write!(f, "{}", Month(self.index)),
            IntervalKey::Quarter => write!(
                f,
                "{:04}-Q{}",
                self.index.div_euclid(4),
                self.index.rem_euclid(4) + 1
            ),
        }
    }
}

/// `day` plus `k` calendar months, clamped to the month's last day (Jan 31 + 1 month = Feb
/// 28/29), as billing systems count.
pub fn add_months(day: Day, k: i32) -> Day {
    let (y, m, d) = ymd_of_day(day);
    let target = Month::new(y, m).plus(k);
    let last = target.last_day() - target.first_day() + 1;
    day_from_ymd(target.year(), target.month(), d.min(last as u32))
}

/// Whole calendar months from `a` to `b`: the largest k ≥ 0 with `add_months(a, k) ≤ b`.
pub fn months_between(a: Day, b: Day) -> i32 {
    if b <= a {
        return 0;
    }
    let mut k = Month::of_day(b).since(Month::of_day(a)).max(0);
    while k > 0 && add_months(a, k) > b {
        k -= 1;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_quarters() {
        let d = day_from_ymd(2024, 2, 29);
        let m = Month::of_day(d);
        assert_eq!(m.to_string(), "2024-02");
        assert_eq!(m.first_day(), day_from_ymd(2024, 2, 1));
        assert_eq!(m.last_day(), d);
        assert_eq!(m.plus(11).to_string(), "2025-01");
        assert_eq!(Interval::Quarter.period_of(d).to_string(), "2024-Q1");
        let q = Interval::Quarter.period_of(day_from_ymd(2024, 12, 31));
        assert_eq!(q.to_string(), "2024-Q4");
        assert_eq!(q.first_day(), day_from_ymd(2024, 10, 1));
        assert_eq!(q.last_day(), day_from_ymd(2024, 12, 31));
        assert_eq!(Month::new(-1, 12).to_string(), "-001-12");
    }

    #[test]
    fn billing_months_clamp() {
        let jan31 = day_from_ymd(2023, 1, 31);
        assert_eq!(add_months(jan31, 1), day_from_ymd(2023, 2, 28));
        assert_eq!(add_months(jan31, 13), day_from_ymd(2024, 2, 29));
        assert_eq!(months_between(jan31, day_from_ymd(2023, 2, 28)), 1);
        assert_eq!(months_between(jan31, day_from_ymd(2023, 2, 27)), 0);
        assert_eq!(
            months_between(day_from_ymd(2023, 1, 15), day_from_ymd(2024, 1, 15)),
            12
        );
        assert_eq!(months_between(jan31, jan31), 0);
    }
}
