//! Transactions → one recency-frequency-monetary row per customer.
//!
//! The recipe (lifetimes' `summary_data_from_transaction_data` and
//! `calibration_and_holdout_data`, and Fader, Hardie & Lee 2005 for CDNOW):
//!
//! 1. Transactions dated after the calibration end go to the holdout if they are on or before the
//!    holdout end, and are ignored otherwise. Both ends are inclusive.
//! 2. Within each side, purchases in the same period are merged into one, amounts summed. The
//!    period is a calendar day ([`MergePeriod::Day`]) or a calendar unit ([`MergePeriod::Unit`]).
//! 3. A customer with no calibration purchase (first purchase after the calibration end) is left
//!    out, even with holdout purchases: the models condition on the first purchase.
//! 4. frequency x = number of calibration periods − 1; recency t_x = last − first period;
//!    T = calibration end − first period; monetary value = mean of the repeat periods' totals (the
//!    first period excluded), 0 when x = 0.
//! 5. Holdout: frequency = number of holdout periods (all count: none is a first purchase);
//!    monetary value = mean of their totals, 0 without any; duration = holdout end − calibration
//!    end.
//! 6. Optionally every time and money value is rounded half-up (ties away from zero) to N
//!    decimals in decimal arithmetic, then written with exactly N decimals.

use crate::error::EngineError;
use crate::transactions::{for_each_transaction_in_file, Transaction, TransactionFormat};
use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::Path;
use tenure_core::TimeUnit;

/// Which purchases count as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergePeriod {
    /// Purchases on the same calendar day are one purchase; times are day differences converted
    /// to the unit (a week is 7 days, a month 30.4375, a year 365.25): t_x = 213 days = 30.428…
    /// weeks. This is what the published CDNOW summaries use.
    #[default]
    Day,
    /// Purchases in the same calendar unit are one purchase, and times are whole numbers of units
    /// between the periods (lifetimes' `freq="W"`/`"M"`): weeks run Monday to Sunday (ISO), months
    /// and years are calendar months and years — so here a month is a calendar month, not 30.4375
    /// days. With `TimeUnit::Days` this is the same as [`MergePeriod::Day`].
    Unit,
}

/// How to summarize. Build with [`SummaryConfig::new`] and set the optional fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryConfig {
    /// Last day of the calibration period, inclusive (lifetimes' `observation_period_end`, or
    /// `calibration_period_end` with a holdout).
    pub calibration_end: NaiveDate,
    /// Last day of the holdout period, inclusive; `None` for no holdout. Must be after
    /// `calibration_end`.
    pub holdout_end: Option<NaiveDate>,
    /// The unit of recency, T and the holdout duration.
    pub unit: TimeUnit,
    /// Which purchases are merged into one.
    pub merge: MergePeriod,
    /// Round times and money half-up to this many decimals (at most 28); `None` keeps full
    /// decimal precision (28 significant digits).
    pub round: Option<u32>,
}

impl SummaryConfig {
    /// Calibration up to `calibration_end` (inclusive), no holdout, day merging, no rounding.
    pub fn new(calibration_end: NaiveDate, unit: TimeUnit) -> Self {
        SummaryConfig {
            calibration_end,
            holdout_end: None,
            unit,
            merge: MergePeriod::Day,
            round: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), EngineError> {
        if let Some(h) = self.holdout_end {
            if h <= self.calibration_end {
                return Err(EngineError::Config(format!(
                    "the holdout end {h} must be after the calibration end {}",
                    self.calibration_end
                )));
            }
        }
        if let Some(n) = self.round {
            if n > 28 {
                return Err(EngineError::Config(format!(
                    "cannot round to {n} decimals: a decimal number holds at most 28"
                )));
            }
        }
        Ok(())
    }
}

/// One customer's summary. Invariants: `recency ≤ t`; `recency = 0` and `monetary_value = 0`
/// when `frequency = 0`; times are in the configured unit and ≥ 0 (`t = 0` for a customer whose
/// first purchase is on the calibration end). Money is in the log's currency, exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSummary {
    pub customer_id: String,
    /// Repeat purchases in the calibration period, x.
    pub frequency: u64,
    /// Time from the first to the last calibration purchase, t_x.
    pub recency: Decimal,
    /// Time from the first purchase to the calibration end, T.
    pub t: Decimal,
    /// Mean of the repeat purchases' amounts (first purchase excluded); 0 when x = 0.
    pub monetary_value: Decimal,
    /// Present exactly when the configuration has a holdout end.
    pub holdout: Option<HoldoutSummary>,
}

/// A customer's purchases in the holdout period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldoutSummary {
    /// Number of (merged) purchases in the holdout period.
    pub frequency: u64,
    /// Mean amount of those purchases; 0 when there are none.
    pub monetary_value: Decimal,
    /// Holdout end − calibration end, in the configured unit (the same for every customer).
    pub duration: Decimal,
}

/// Round half-up: to `decimals` places, ties away from zero (Python's `ROUND_HALF_UP`), and
/// give the result exactly `decimals` places so it prints as `30.40`, `0.00`.
/// `decimals` above 28 is treated as 28.
pub fn round_half_up(value: Decimal, decimals: u32) -> Decimal {
    let decimals = decimals.min(28);
    let mut r = value.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(decimals);
    r
}

/// Length of a unit in days, exactly.
fn unit_days(unit: TimeUnit) -> Decimal {
    match unit {
        TimeUnit::Days => Decimal::ONE,
        TimeUnit::Weeks => Decimal::from(7),
        // 365.25 / 12 and 365.25: tenure_core::DAYS_PER_MONTH and DAYS_PER_YEAR, exactly.
        TimeUnit::Months => Decimal::new(304_375, 4),
        TimeUnit::Years => Decimal::new(36_525, 2),
    }
}

/// A purchase kept for the summary: customer (index into `ids`), day number, merge-period key,
/// amount.
#[derive(Debug, Clone, Copy)]
struct Purchase {
    customer: usize,
    day: i32,
    key: i32,
    amount: Decimal,
}

/// Builds summaries from transactions fed one at a time, in any order (no sorting of the log is
/// needed). Memory: each customer id once, plus 32 bytes per purchase up to the last end date;
/// later purchases are dropped on arrival. About 0.33 s per million CSV rows in release builds,
/// reading included (one core).
#[derive(Debug)]
pub struct Summarizer {
    config: SummaryConfig,
    last_day: NaiveDate,
    index: HashMap<String, usize>,
    ids: Vec<String>,
    /// All kept purchases, in arrival order; grouped by customer in `finish`.
    purchases: Vec<Purchase>,
}

impl Summarizer {
    /// Fails when the configuration is invalid (holdout end not after the calibration end,
    /// rounding to more than 28 decimals).
    pub fn new(config: SummaryConfig) -> Result<Self, EngineError> {
        config.validate()?;
        Ok(Summarizer {
            last_day: config.holdout_end.unwrap_or(config.calibration_end),
            config,
            index: HashMap::new(),
            ids: Vec::new(),
            purchases: Vec::new(),
        })
    }

    /// Add one purchase. Purchases after the last end date are ignored.
    pub fn add(&mut self, customer_id: &str, date: NaiveDate, amount: Decimal) {
        if date > self.last_day {
            return;
        }
        let customer = match self.index.get(customer_id) {
            Some(&i) => i,
            None => {
                let i = self.ids.len();
                self.index.insert(customer_id.to_string(), i);
                self.ids.push(customer_id.to_string());
                i
            }
        };
        self.purchases.push(Purchase {
            customer,
            day: date.num_days_from_ce(),
            key: self.key(date),
            amount,
        });
    }

    /// The merge-period key of a date; keys are increasing in the date.
    fn key(&self, date: NaiveDate) -> i32 {
        period_key(self.config.merge, self.config.unit, date)
    }

    /// The summaries, sorted by customer id: numerically when every id is a string of ASCII
    /// digits (`2` before `10`; ties such as `7` and `007` by string), otherwise by string
    /// (byte order). Customers without a calibration purchase are left out.
    pub fn finish(self) -> Result<Vec<CustomerSummary>, EngineError> {
        self.finish_inner(None)
    }

    fn finish_inner(
        mut self,
        mut tracking: Option<&mut Tracking>,
    ) -> Result<Vec<CustomerSummary>, EngineError> {
        let cal_day = self.config.calibration_end.num_days_from_ce();
        let rules = Rules::new(&self.config);
        let mut purchases = std::mem::take(&mut self.purchases);
        purchases.sort_unstable_by_key(|p| (p.customer, p.day));
        let mut ids = std::mem::take(&mut self.ids);
        let mut out = Vec::with_capacity(ids.len());
        for ps in purchases.chunk_by(|a, b| a.customer == b.customer) {
            // Each customer's purchases form one chunk, so each id is taken once.
            let id = std::mem::take(&mut ids[ps[0].customer]);
            let split = ps.partition_point(|p| p.day <= cal_day);
            let cal = merge(&ps[..split], &id)?;
            let (Some(&(first, _)), Some(&(last, _))) = (cal.first(), cal.last()) else {
                continue;
            };
            let hold = merge(&ps[split..], &id)?;
            if let Some(t) = tracking.as_deref_mut() {
                t.add(first, cal[1..].iter().chain(&hold).map(|&(k, _)| k));
            }
            let totals = PeriodTotals {
                first,
                last,
                n_cal: cal.len() as u64,
                repeat_total: sum(cal[1..].iter().map(|&(_, a)| a), &id)?,
                n_hold: hold.len() as u64,
                hold_total: sum(hold.iter().map(|&(_, a)| a), &id)?,
            };
            out.push(rules.summary(id, &totals)?);
        }
        sort_by_id(&mut out);
        Ok(out)
    }
}

/// The purchase days of the customers a tracked summary covers (those with a calibration
/// purchase), for the tracking series of model checking: how many customers made their first
/// purchase on each day, and how many repeat purchases (merged per day, calibration and holdout)
/// were made on each day. Both are sorted by day, days without any left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    pub first_purchases: Vec<(NaiveDate, u64)>,
    pub repeat_purchases: Vec<(NaiveDate, u64)>,
    births: std::collections::BTreeMap<i32, u64>,
    repeats: std::collections::BTreeMap<i32, u64>,
}

impl Tracking {
    fn add(&mut self, first: i32, repeats: impl Iterator<Item = i32>) {
        *self.births.entry(first).or_default() += 1;
        for d in repeats {
            *self.repeats.entry(d).or_default() += 1;
        }
    }

    fn finish(&mut self) {
        let dated = |m: &std::collections::BTreeMap<i32, u64>| {
            m.iter()
                .filter_map(|(&d, &n)| NaiveDate::from_num_days_from_ce_opt(d).map(|d| (d, n)))
                .collect()
        };
        self.first_purchases = dated(&self.births);
        self.repeat_purchases = dated(&self.repeats);
    }
}

/// A summary with a holdout period and the purchase days behind it ([`summarize_tracked_file`]).
#[derive(Debug, Clone)]
pub struct TrackedSummary {
    pub rows: Vec<CustomerSummary>,
    pub tracking: Tracking,
    /// The holdout end used: the one asked for, or the last purchase date in the log.
    pub holdout_end: NaiveDate,
}

/// Summarize a log with a holdout period for model checking: purchases merged per calendar
/// day; the holdout ends at `holdout_end`, or when `None` on the last purchase date found in
/// the log (after the calibration end, else an error). Also returns the days of first and
/// repeat purchases of the summarised customers. `config.merge` must be
/// [`MergePeriod::Day`] and `config.holdout_end` is ignored.
pub fn summarize_tracked_file(
    path: &Path,
    format: &TransactionFormat,
    config: &SummaryConfig,
    holdout_end: Option<NaiveDate>,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<TrackedSummary, EngineError> {
    if config.merge != MergePeriod::Day {
        return Err(EngineError::Config(
            "model checking merges purchases per calendar day".into(),
        ));
    }
    let mut c = config.clone();
    c.holdout_end = Some(holdout_end.unwrap_or(NaiveDate::MAX));
    let mut s = Summarizer::new(c)?;
    let mut last: Option<NaiveDate> = None;
    for_each_transaction_in_file(
        path,
        format,
        &mut |id, date, amount, _| {
            last = Some(last.map_or(date, |l| l.max(date)));
            s.add(id, date, amount)
        },
        progress,
    )?;
    let end = match holdout_end {
        Some(h) => h,
        None => match last {
            Some(l) if l > config.calibration_end => l,
            _ => {
                return Err(EngineError::Config(format!(
                    "{}: no purchase after the calibration end {}, so there is no holdout period to check against",
                    path.display(),
                    config.calibration_end
                )))
            }
        },
    };
    s.config.holdout_end = Some(end);
    let mut tracking = Tracking::default();
    let rows = s.finish_inner(Some(&mut tracking))?;
    tracking.finish();
    Ok(TrackedSummary {
        rows,
        tracking,
        holdout_end: end,
    })
}

/// One customer's purchases reduced to what a summary is computed from. Keys are merge-period
/// keys ([`period_key`]); `n_cal ≥ 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeriodTotals {
    /// First and last calibration period keys.
    pub first: i32,
    pub last: i32,
    /// Distinct calibration periods (the first included).
    pub n_cal: u64,
    /// Total of the calibration periods after the first.
    pub repeat_total: Decimal,
    /// Distinct holdout periods, and their total.
    pub n_hold: u64,
    pub hold_total: Decimal,
}

impl PeriodTotals {
    /// The totals that fix a customer's (frequency, recency, T): calibration periods only, no
    /// money (what fits and scoring need).
    pub fn counts(first: i32, last: i32, n_cal: u64) -> Self {
        PeriodTotals {
            first,
            last,
            n_cal,
            repeat_total: Decimal::ZERO,
            n_hold: 0,
            hold_total: Decimal::ZERO,
        }
    }
}

/// The arithmetic from [`PeriodTotals`] to a [`CustomerSummary`], shared by the streaming
/// summarizer and the columnar engine so both give the same rows.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    merge: MergePeriod,
    unit: TimeUnit,
    round: Option<u32>,
    cal_key: i32,
    holdout_duration: Option<Decimal>,
}

impl Rules {
    pub(crate) fn new(config: &SummaryConfig) -> Self {
        let mut r = Rules {
            merge: config.merge,
            unit: config.unit,
            round: config.round,
            cal_key: period_key(config.merge, config.unit, config.calibration_end),
            holdout_duration: None,
        };
        r.holdout_duration = config.holdout_end.map(|h| {
            let d = r.span(period_key(config.merge, config.unit, h) - r.cal_key);
            r.finish_value(d)
        });
        r
    }

    /// A difference of keys in the configured unit, unrounded.
    fn span(&self, keys: i32) -> Decimal {
        let k = Decimal::from(keys);
        match self.merge {
            MergePeriod::Unit => k,
            MergePeriod::Day => k
                .checked_div(unit_days(self.unit))
                .expect("a day count divided by a unit of at least one day fits a decimal"),
        }
    }

    fn finish_value(&self, v: Decimal) -> Decimal {
        match self.round {
            Some(n) => round_half_up(v, n),
            None => v,
        }
    }

    pub(crate) fn summary(
        &self,
        customer_id: String,
        t: &PeriodTotals,
    ) -> Result<CustomerSummary, EngineError> {
        let frequency = t.n_cal.saturating_sub(1);
        let monetary_value = divide(t.repeat_total, frequency, &customer_id)?;
        let holdout = match self.holdout_duration {
            None => None,
            Some(duration) => Some(HoldoutSummary {
                frequency: t.n_hold,
                monetary_value: self.finish_value(divide(t.hold_total, t.n_hold, &customer_id)?),
                duration,
            }),
        };
        Ok(CustomerSummary {
            frequency,
            recency: self.finish_value(self.span(t.last - t.first)),
            t: self.finish_value(self.span(self.cal_key - t.first)),
            monetary_value: self.finish_value(monetary_value),
            holdout,
            customer_id,
        })
    }
}

/// The merge-period key of a date; keys are increasing in the date.
pub(crate) fn period_key(merge: MergePeriod, unit: TimeUnit, date: NaiveDate) -> i32 {
    match (merge, unit) {
        (MergePeriod::Day, _) | (MergePeriod::Unit, TimeUnit::Days) => date.num_days_from_ce(),
        // Day 1 of the common era (0001-01-01) is a Monday.
        (MergePeriod::Unit, TimeUnit::Weeks) => (date.num_days_from_ce() - 1).div_euclid(7),
        (MergePeriod::Unit, TimeUnit::Months) => date.year() * 12 + date.month0() as i32,
        (MergePeriod::Unit, TimeUnit::Years) => date.year(),
    }
}

/// Merge purchases sorted by day into (period key, total) pairs, one per period.
fn merge(ps: &[Purchase], id: &str) -> Result<Vec<(i32, Decimal)>, EngineError> {
    let mut out: Vec<(i32, Decimal)> = Vec::new();
    for p in ps {
        match out.last_mut() {
            Some((k, total)) if *k == p.key => {
                *total = total.checked_add(p.amount).ok_or_else(|| overflow(id))?;
            }
            _ => out.push((p.key, p.amount)),
        }
    }
    Ok(out)
}

/// The exact sum of the amounts.
fn sum(mut amounts: impl Iterator<Item = Decimal>, id: &str) -> Result<Decimal, EngineError> {
    amounts.try_fold(Decimal::ZERO, |s, a| {
        s.checked_add(a).ok_or_else(|| overflow(id))
    })
}

/// `total / n`, 0 for n = 0: the mean of n periods' amounts.
fn divide(total: Decimal, n: u64, id: &str) -> Result<Decimal, EngineError> {
    if n == 0 {
        return Ok(Decimal::ZERO);
    }
    total
        .checked_div(Decimal::from(n))
        .ok_or_else(|| overflow(id))
}

fn overflow(id: &str) -> EngineError {
    EngineError::Overflow {
        customer_id: id.to_string(),
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Compare strings of ASCII digits by their value, then as strings.
fn numeric_cmp(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    ta.len()
        .cmp(&tb.len())
        .then_with(|| ta.cmp(tb))
        .then_with(|| a.cmp(b))
}

pub(crate) fn sort_by_id(rows: &mut [CustomerSummary]) {
    if rows.iter().all(|r| is_digits(&r.customer_id)) {
        rows.sort_unstable_by(|a, b| numeric_cmp(&a.customer_id, &b.customer_id));
    } else {
        rows.sort_unstable_by(|a, b| a.customer_id.cmp(&b.customer_id));
    }
}

/// Summarize transactions held in memory (see the module docs for the recipe).
pub fn summarize(
    transactions: &[Transaction],
    config: &SummaryConfig,
) -> Result<Vec<CustomerSummary>, EngineError> {
    let mut s = Summarizer::new(config.clone())?;
    for t in transactions {
        s.add(&t.customer_id, t.date, t.amount);
    }
    s.finish()
}

/// Read a transaction log and summarize it in one pass, without keeping the rows (a Parquet
/// file is read a row group and a batch at a time).
pub fn summarize_file(
    path: &Path,
    format: &TransactionFormat,
    config: &SummaryConfig,
) -> Result<Vec<CustomerSummary>, EngineError> {
    summarize_file_with_progress(path, format, config, &mut |_, _| {})
}

/// [`summarize_file`], reporting progress as `progress(done, total)`:
/// - CSV and CDNOW: bytes of the file read so far, and the file's size;
/// - Parquet: rows read so far, and the number of rows in the file (from its footer).
///
/// `total` is `None` only when the size cannot be known. The callback is called once at the
/// start (`done = 0`), then after at least every 65,536 rows, and once at the end with
/// `done = total` when the whole file was read; it is not called after an error. Summarizing
/// after the last row (sorting, merging) takes a small fraction of the reading time and is
/// not reported.
pub fn summarize_file_with_progress(
    path: &Path,
    format: &TransactionFormat,
    config: &SummaryConfig,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<CustomerSummary>, EngineError> {
    let mut s = Summarizer::new(config.clone())?;
    for_each_transaction_in_file(
        path,
        format,
        &mut |id, date, amount, _| s.add(id, date, amount),
        progress,
    )?;
    s.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn rounds_half_up_in_decimal() {
        assert_eq!(round_half_up(dec("0.125"), 2).to_string(), "0.13");
        assert_eq!(round_half_up(dec("0.135"), 2).to_string(), "0.14");
        assert_eq!(round_half_up(dec("2.675"), 2).to_string(), "2.68"); // 2.67 in binary floats
        assert_eq!(round_half_up(dec("1.005"), 2).to_string(), "1.01"); // 1.0 in binary floats
        assert_eq!(round_half_up(dec("0.1249999"), 2).to_string(), "0.12");
        assert_eq!(round_half_up(dec("-0.125"), 2).to_string(), "-0.13");
        assert_eq!(round_half_up(Decimal::ZERO, 2).to_string(), "0.00");
        assert_eq!(round_half_up(dec("30.4"), 2).to_string(), "30.40");
        assert_eq!(round_half_up(dec("7.5"), 0).to_string(), "8");
        // 213 days / 7 = 30.428571…
        assert_eq!(round_half_up(dec("213") / dec("7"), 2).to_string(), "30.43");
    }

    #[test]
    fn unit_lengths_match_tenure_core() {
        for u in [
            TimeUnit::Days,
            TimeUnit::Weeks,
            TimeUnit::Months,
            TimeUnit::Years,
        ] {
            assert_eq!(unit_days(u).to_string().parse::<f64>().unwrap(), u.days());
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        let mut c = SummaryConfig::new(
            NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
            TimeUnit::Weeks,
        );
        c.merge = MergePeriod::Unit;
        let s = Summarizer::new(c).unwrap();
        let key = |d| s.key(NaiveDate::from_ymd_opt(2024, 1, d).unwrap());
        // 2024-01-01 is a Monday, 2024-01-07 a Sunday.
        assert_eq!(key(1), key(7));
        assert_eq!(key(8), key(1) + 1);
        assert_eq!(key(14), key(8));
    }

    #[test]
    fn sorts_numeric_ids_by_value() {
        let row = |id: &str| CustomerSummary {
            customer_id: id.into(),
            frequency: 0,
            recency: Decimal::ZERO,
            t: Decimal::ZERO,
            monetary_value: Decimal::ZERO,
            holdout: None,
        };
        let mut rows = vec![row("10"), row("2"), row("007"), row("7"), row("1")];
        sort_by_id(&mut rows);
        let ids: Vec<_> = rows.iter().map(|r| r.customer_id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "007", "7", "10"]);
        rows.push(row("a"));
        sort_by_id(&mut rows);
        let ids: Vec<_> = rows.iter().map(|r| r.customer_id.as_str()).collect();
        assert_eq!(ids, ["007", "1", "10", "2", "7", "a"]);
    }
}
