//! Transaction dates. Three shapes are read, recognised by their form:
//! `YYYY-MM-DD`, `YYYYMMDD`, and timestamps `YYYY-MM-DDTHH:MM:SS[.fff]` followed by an
//! RFC 3339 offset (`Z`, `+02:00`, `-05:00`; `T` may be `t` or a space). A timestamp's date is
//! the calendar date **in its own offset**: `2024-01-05T23:30:00-05:00` is 5 January, although it
//! is 6 January in UTC. The purchase happened on the customer's (or shop's) day, and converting
//! to UTC would move late-evening purchases of western time zones to the next day. A timestamp
//! without an offset (`2024-01-05T23:30:00`) is read the same way, by its date part.

use crate::error::FieldError;
use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parse a date or timestamp (see the module docs) to a calendar date.
pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, FieldError> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let bad = |why: &str| FieldError::BadDate {
        value: s.to_string(),
        why: why.to_string(),
    };
    if b.is_empty() {
        return Err(FieldError::Empty);
    }
    if b.len() == 8 && digits(0..8) {
        return ymd(num(&b[0..4]), num(&b[4..6]), num(&b[6..8])).ok_or_else(|| bad("no such day"));
    }
    let iso_date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    if iso_date && b.len() == 10 {
        return ymd(num(&b[0..4]), num(&b[5..7]), num(&b[8..10])).ok_or_else(|| bad("no such day"));
    }
    if iso_date && matches!(b[10], b'T' | b't' | b' ') {
        if ymd(num(&b[0..4]), num(&b[5..7]), num(&b[8..10])).is_none() {
            return Err(bad("no such day"));
        }
        return match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Ok(t.date_naive()),
            Err(with_offset) => {
                let fmt = if b[10] == b' ' {
                    "%Y-%m-%d %H:%M:%S%.f"
                } else {
                    "%Y-%m-%dT%H:%M:%S%.f"
                };
                match NaiveDateTime::parse_from_str(s, fmt) {
                    Ok(t) => Ok(t.date()),
                    Err(_) => Err(bad(&format!("not an RFC 3339 timestamp ({with_offset})"))),
                }
            }
        };
    }
    Err(FieldError::UnknownDateFormat {
        value: s.to_string(),
    })
}

/// The value of a run of ASCII digits (callers check they are digits; at most 4 of them).
fn num(d: &[u8]) -> u32 {
    d.iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0'))
}

fn ymd(y: u32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn reads_the_three_shapes() {
        assert_eq!(parse_date("1997-01-01"), Ok(d(1997, 1, 1)));
        assert_eq!(parse_date("19970930"), Ok(d(1997, 9, 30)));
        assert_eq!(parse_date("2024-01-05T10:00:00Z"), Ok(d(2024, 1, 5)));
        assert_eq!(
            parse_date("2024-01-05 10:00:00.123+02:00"),
            Ok(d(2024, 1, 5))
        );
        assert_eq!(parse_date("2024-01-05T10:00:00"), Ok(d(2024, 1, 5)));
        assert_eq!(parse_date("2024-01-05 10:00:00.5"), Ok(d(2024, 1, 5)));
    }

    #[test]
    fn a_timestamp_keeps_its_own_days_date() {
        // 23:30 at UTC-5 is 04:30 on the 6th in UTC; the purchase day is the 5th.
        assert_eq!(parse_date("2024-01-05T23:30:00-05:00"), Ok(d(2024, 1, 5)));
        // 00:30 at UTC+9 is still the 4th in UTC; the purchase day is the 5th.
        assert_eq!(parse_date("2024-01-05T00:30:00+09:00"), Ok(d(2024, 1, 5)));
    }

    #[test]
    fn tells_bad_dates_from_unknown_formats() {
        assert!(matches!(
            parse_date("2023-02-29"),
            Err(FieldError::BadDate { .. })
        ));
        assert!(matches!(
            parse_date("19971301"),
            Err(FieldError::BadDate { .. })
        ));
        assert!(matches!(
            parse_date("2024-01-05T25:00:00Z"),
            Err(FieldError::BadDate { .. })
        ));
        assert!(matches!(
            parse_date("2024-01-05Tnoon"),
            Err(FieldError::BadDate { .. })
        ));
        assert!(matches!(
            parse_date("05/01/2024"),
            Err(FieldError::UnknownDateFormat { .. })
        ));
        assert!(matches!(
            parse_date("1997-1-5"),
            Err(FieldError::UnknownDateFormat { .. })
        ));
        assert!(matches!(
            parse_date("1997010"),
            Err(FieldError::UnknownDateFormat { .. })
        ));
        assert!(matches!(
            parse_date("é997-01-01"),
            Err(FieldError::UnknownDateFormat { .. })
        ));
        assert_eq!(parse_date(""), Err(FieldError::Empty));
    }
}
