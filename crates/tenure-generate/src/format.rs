//! Formatting of CSV cells without the `fmt` machinery: the usage file has millions of rows.
//! Every cell written is plain ASCII without commas, quotes or line breaks, except the
//! `attributes` JSON cell, which is quoted ([`push_json_cell`]).

use chrono::{Datelike, NaiveDate};

/// Append a non-negative integer in decimal.
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// Append `v` zero-padded to `width` digits.
pub fn push_padded(out: &mut String, v: u64, width: usize) {
    let mut digits = 1;
    let mut x = v;
    while x >= 10 {
        x /= 10;
        digits += 1;
    }
    for _ in digits..width {
        out.push('0');
    }
    push_u64(out, v);
}

/// Append an amount of cents as a decimal string with two decimals: `1234.50`, `-0.05`.
pub fn push_cents(out: &mut String, cents: i64) {
    if cents < 0 {
        out.push('-');
    }
    let a = cents.unsigned_abs();
    push_u64(out, a / 100);
    out.push('.');
    push_padded(out, a % 100, 2);
}

/// Append a date as `YYYY-MM-DD` (years 1000–9999, which validation guarantees).
pub fn push_date(out: &mut String, d: NaiveDate) {
    push_padded(out, d.year().unsigned_abs().into(), 4);
    out.push('-');
    push_padded(out, d.month().into(), 2);
    out.push('-');
    push_padded(out, d.day().into(), 2);
}

/// Append a JSON object as one quoted CSV cell (RFC 4180: quotes doubled). `json` must be
/// a complete JSON text.
pub fn push_json_cell(out: &mut String, json: &str) {
    out.push('"');
    for c in json.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_have_two_decimals_and_a_sign() {
        let f = |c| {
            let mut s = String::new();
            push_cents(&mut s, c);
            s
        };
        assert_eq!(f(0), "0.00");
        assert_eq!(f(5), "0.05");
        assert_eq!(f(-5), "-0.05");
        assert_eq!(f(123_450), "1234.50");
        assert_eq!(f(-100), "-1.00");
        assert_eq!(f(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn dates_and_padding() {
        let mut s = String::new();
        push_date(
            &mut s,
            NaiveDate::from_ymd_opt(2023, 2, 9).expect("a valid date"),
        );
        assert_eq!(s, "2023-02-09");
        s.clear();
        push_padded(&mut s, 42, 6);
        push_padded(&mut s, 1_234_567, 3);
        assert_eq!(s, "0000421234567");
    }

    #[test]
    fn json_cells_double_their_quotes() {
        let mut s = String::new();
        push_json_cell(&mut s, r#"{"a":1,"b":"x"}"#);
        assert_eq!(s, r#""{""a"":1,""b"":""x""}""#);
    }
}
