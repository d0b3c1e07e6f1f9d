//! Bad and unusual inputs: every error names the file, line, column and field.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use tenure_core::TimeUnit;
use tenure_engine::{
    read_summaries, read_summaries_from, read_transactions, read_transactions_from, summarize,
    CdnowId, CsvColumns, EngineError, FieldError, MergePeriod, NaiveDate, SummaryConfig,
    TransactionFormat,
};

fn csv(text: &str) -> Result<Vec<tenure_engine::Transaction>, EngineError> {
    read_transactions_from(
        text.as_bytes(),
        Path::new("log.csv"),
        &TransactionFormat::default(),
    )
}

fn cdnow(text: &str) -> Result<Vec<tenure_engine::Transaction>, EngineError> {
    read_transactions_from(
        text.as_bytes(),
        Path::new("cdnow.txt"),
        &TransactionFormat::Cdnow(CdnowId::Index),
    )
}

fn summaries(text: &str) -> Result<Vec<tenure_engine::SummaryRow>, EngineError> {
    read_summaries_from(text.as_bytes(), Path::new("summary.csv"))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// (line, column, field, reason) of a field error; panics on any other result.
fn field_error<T: std::fmt::Debug>(r: Result<T, EngineError>) -> (u64, usize, String, FieldError) {
    match r {
        Err(EngineError::BadField {
            line,
            column,
            field,
            reason,
            ..
        }) => (line, column, field, reason),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn bad_date_on_line_3_column_2() {
    let r = csv("customer_id,date,amount\nc1,2024-01-01,1\nc2,2024-02-30,2\n");
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        "log.csv:3:2: date: `2024-02-30` is not a valid date: no such day"
    );
    let (line, column, field, reason) = field_error::<()>(Err(e));
    assert_eq!((line, column, field.as_str()), (3, 2, "date"));
    assert!(matches!(reason, FieldError::BadDate { value, .. } if value == "2024-02-30"));
}

#[test]
fn unreadable_date_format_is_its_own_error() {
    let (line, column, _, reason) = field_error(csv("customer_id,date,amount\nc1,05/01/2024,1\n"));
    assert_eq!((line, column), (2, 2));
    assert_eq!(
        reason,
        FieldError::UnknownDateFormat {
            value: "05/01/2024".into()
        }
    );
}

#[test]
fn bad_missing_and_empty_fields() {
    let head = "customer_id,date,amount\n";
    let (l, c, f, r) = field_error(csv(&format!("{head}c1,2024-01-01,$5\n")));
    assert_eq!(
        (l, c, f.as_str(), r),
        (2, 3, "amount", FieldError::BadAmount { value: "$5".into() })
    );
    let (l, c, _, r) = field_error(csv(&format!("{head}c1,2024-01-01,1e3\n")));
    assert_eq!(
        (l, c, r),
        (
            2,
            3,
            FieldError::BadAmount {
                value: "1e3".into()
            }
        )
    );
    let (l, c, f, r) = field_error(csv(&format!("{head}c1,2024-01-01,1\nc1,2024-01-02\n")));
    assert_eq!((l, c, f.as_str(), r), (3, 3, "amount", FieldError::Missing));
    let (l, c, f, r) = field_error(csv(&format!("{head}c1, ,5\n")));
    assert_eq!((l, c, f.as_str(), r), (2, 2, "date", FieldError::Empty));
    let (l, c, f, r) = field_error(csv(&format!("{head}\"\",2024-01-01,5\n")));
    assert_eq!(
        (l, c, f.as_str(), r),
        (2, 1, "customer_id", FieldError::Empty)
    );
}

#[test]
fn line_numbers_count_blank_lines_crlf_and_quoted_newlines() {
    let text = "customer_id,date,amount\r\n\r\nc1,2024-01-01,1\r\n\"multi\nline\",2024-01-01,2\r\nc3,2024-13-01,3\r\n";
    let (l, c, _, _) = field_error(csv(text));
    assert_eq!((l, c), (6, 2));
    let ok =
        csv("customer_id,date,amount\r\nc1,2024-01-01,1\r\n\r\nc2,\"2024-01-02\"\r\n").unwrap_err();
    // The last row lacks its amount: it is on line 4.
    assert_eq!(field_error::<()>(Err(ok)).0, 4);
    let tx = csv("customer_id,date,amount\r\nc1,2024-01-01,1.50\r\n\r\nc2,2024-01-02,\"2\"\r\n")
        .unwrap();
    assert_eq!(tx.iter().map(|t| t.line).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(tx[0].amount.to_string(), "1.50");
    assert_eq!(tx[1].amount.to_string(), "2");
}

#[test]
fn missing_and_duplicate_columns() {
    let e = csv("id,date,amount\nc1,2024-01-01,1\n").unwrap_err();
    assert!(
        matches!(&e, EngineError::MissingColumn { line: 1, wanted, .. } if wanted == "`customer_id`")
    );
    assert_eq!(
        e.to_string(),
        "log.csv:1: no column `customer_id` in the header (found: id,date,amount)"
    );
    let e = csv("customer_id,Date,date,amount\nc1,2024-01-01,2024-01-01,1\n").unwrap_err();
    assert!(matches!(
        e,
        EngineError::DuplicateColumn {
            first: 2,
            second: 3,
            ..
        }
    ));
}

#[test]
fn empty_files() {
    assert!(matches!(csv(""), Err(EngineError::EmptyFile { .. })));
    assert!(matches!(
        csv("\n\n  \n"),
        Err(EngineError::EmptyFile { .. })
    ));
    assert!(matches!(
        csv("customer_id,date,amount\n"),
        Err(EngineError::NoRows { .. })
    ));
    assert!(matches!(cdnow(""), Err(EngineError::EmptyFile { .. })));
    assert!(matches!(
        cdnow("\r\n \r\n"),
        Err(EngineError::EmptyFile { .. })
    ));
    assert!(matches!(summaries(""), Err(EngineError::EmptyFile { .. })));
    assert!(matches!(
        summaries("x,t_x,T\n"),
        Err(EngineError::NoRows { .. })
    ));
    let e = csv("").unwrap_err();
    assert_eq!(e.to_string(), "log.csv: the file is empty");
}

#[test]
fn missing_file_names_its_path() {
    let e = read_transactions(
        Path::new("/nonexistent/tx.csv"),
        &TransactionFormat::default(),
    )
    .unwrap_err();
    assert!(matches!(e, EngineError::Io { .. }));
    assert!(e.to_string().starts_with("/nonexistent/tx.csv: "), "{e}");
    assert!(read_summaries(Path::new("/nonexistent/s.csv")).is_err());
}

#[test]
fn not_utf8_is_reported_at_its_field() {
    let mut bytes = b"customer_id,date,amount\nc1,2024-01-01,1\nc\xff,2024-01-01,1\n".to_vec();
    let r = read_transactions_from(
        &bytes[..],
        Path::new("log.csv"),
        &TransactionFormat::default(),
    );
    let (l, c, f, reason) = field_error(r);
    assert_eq!(
        (l, c, f.as_str(), reason),
        (3, 1, "customer_id", FieldError::NotUtf8)
    );
    bytes[41] = b'1';
    assert!(read_transactions_from(
        &bytes[..],
        Path::new("log.csv"),
        &TransactionFormat::default()
    )
    .is_ok());
}

#[test]
fn columns_and_delimiter_can_be_overridden() {
    let format = TransactionFormat::Csv(CsvColumns {
        customer_id: "User".into(),
        date: "ts".into(),
        amount: Some("total".into()),
        delimiter: b';',
    });
    let text = "\u{feff}ts; total ;note;user\n2024-03-01;9.99;x;u1\n20240302;1;;u2\n";
    let tx = read_transactions_from(text.as_bytes(), Path::new("t.csv"), &format).unwrap();
    assert_eq!(tx.len(), 2);
    assert_eq!(
        (tx[0].customer_id.as_str(), tx[0].date),
        ("u1", date(2024, 3, 1))
    );
    assert_eq!(tx[1].date, date(2024, 3, 2));
    assert_eq!(tx[0].amount.to_string(), "9.99");
    // Without an amount column every amount is 0.
    let format = TransactionFormat::Csv(CsvColumns {
        amount: None,
        ..CsvColumns::default()
    });
    let tx = read_transactions_from(
        "customer_id,date\na,2024-01-01\n".as_bytes(),
        Path::new("t.csv"),
        &format,
    )
    .unwrap();
    assert!(tx[0].amount.is_zero());
}

#[test]
fn cdnow_errors_point_at_the_field() {
    let good = " 00004 0001 19970101  2   29.33\r\n";
    let (l, c, f, r) = field_error(cdnow(&format!(
        "{good}{good} 00004 0001 1997013x  2   29.33\r\n"
    )));
    assert_eq!((l, c, f.as_str()), (3, 3, "date"));
    assert!(matches!(r, FieldError::UnknownDateFormat { .. }));
    let (l, c, f, r) = field_error(cdnow(&format!("{good} 00004 0001 19970101  2\r\n")));
    assert_eq!(
        (l, c, f.as_str(), r),
        (2, 5, "dollars", FieldError::Missing)
    );
    let (l, c, _, r) = field_error(cdnow(" 00004 0001 19970101  2.5 29.33\n"));
    assert_eq!(
        (l, c, r),
        (
            1,
            4,
            FieldError::NotWhole {
                value: "2.5".into()
            }
        )
    );
    let (l, c, _, r) = field_error(cdnow(" 0000x 0001 19970101  2 29.33\n"));
    assert_eq!(
        (l, c, r),
        (
            1,
            1,
            FieldError::BadId {
                value: "0000x".into()
            }
        )
    );
    let e = cdnow(" 00004 0001 19970101  2 29.33 extra\n").unwrap_err();
    assert!(matches!(e, EngineError::BadRow { line: 1, .. }));
    // Ids lose their leading zeros; either id field can be chosen.
    assert_eq!(cdnow(good).unwrap()[0].customer_id, "1");
    let by_customer = read_transactions_from(
        good.as_bytes(),
        Path::new("cdnow.txt"),
        &TransactionFormat::Cdnow(CdnowId::Customer),
    )
    .unwrap();
    assert_eq!(by_customer[0].customer_id, "4");
}

#[test]
fn timestamps_are_dated_in_their_own_offset() {
    // 23:30 at UTC−5 on the 5th is 04:30 UTC on the 6th; 01:00 UTC on the 6th. In their own
    // offsets they are two different days, so one repeat purchase, one day apart.
    let tx = csv("customer_id,date,amount\n\
                  a,2024-01-05T23:30:00-05:00,10\n\
                  a,2024-01-06T01:00:00Z,20\n\
                  a,2024-01-06 22:00:00+02:00,5\n")
    .unwrap();
    assert_eq!(tx[0].date, date(2024, 1, 5));
    assert_eq!(tx[1].date, date(2024, 1, 6));
    let mut c = SummaryConfig::new(date(2024, 1, 12), TimeUnit::Days);
    c.round = Some(2);
    let s = summarize(&tx, &c).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].frequency, 1);
    assert_eq!(s[0].recency.to_string(), "1.00");
    assert_eq!(s[0].t.to_string(), "7.00");
    assert_eq!(s[0].monetary_value.to_string(), "25.00");
    let (l, c, _, r) = field_error(csv(
        "customer_id,date,amount\na,2024-01-05T23:30:00+25:00,1\n",
    ));
    assert_eq!((l, c), (2, 2));
    assert!(matches!(r, FieldError::BadDate { .. }));
}

fn tx(id: &str, d: NaiveDate, amount: i64) -> tenure_engine::Transaction {
    tenure_engine::Transaction {
        customer_id: id.into(),
        date: d,
        amount: amount.into(),
        line: 0,
    }
}

#[test]
fn calibration_holdout_split_and_exclusions() {
    let log = [
        tx("10", date(2024, 1, 1), 10),
        tx("10", date(2024, 1, 31), 30),
        tx("10", date(2024, 2, 1), 7),  // holdout
        tx("10", date(2024, 2, 1), 3),  // holdout, same day
        tx("10", date(2024, 3, 1), 5),  // holdout end, inclusive
        tx("10", date(2024, 3, 2), 99), // after the holdout: ignored
        tx("2", date(2024, 2, 10), 1),  // first purchase after the calibration end: left out
        tx("9", date(2024, 1, 31), 4),  // first purchase on the calibration end: T = 0
    ];
    let mut c = SummaryConfig::new(date(2024, 1, 31), TimeUnit::Days);
    c.holdout_end = Some(date(2024, 3, 1));
    let s = summarize(&log, &c).unwrap();
    assert_eq!(
        s.iter().map(|r| r.customer_id.as_str()).collect::<Vec<_>>(),
        ["9", "10"]
    );
    let a = &s[1];
    assert_eq!(
        (a.frequency, a.recency, a.t, a.monetary_value),
        (1, 30.into(), 30.into(), 30.into())
    );
    let h = a.holdout.as_ref().unwrap();
    assert_eq!(
        (h.frequency, h.monetary_value, h.duration),
        (2, tenure_core::Decimal::new(75, 1), 30.into())
    );
    assert_eq!(
        (s[0].frequency, s[0].t, s[0].monetary_value),
        (0, 0.into(), 0.into())
    );
    assert_eq!(s[0].holdout.as_ref().unwrap().frequency, 0);

    // Without a holdout, everything after the calibration end is ignored.
    let plain = summarize(&log, &SummaryConfig::new(date(2024, 1, 31), TimeUnit::Days)).unwrap();
    assert_eq!(plain.len(), 2);
    assert!(plain.iter().all(|r| r.holdout.is_none()));

    // Months are 30.4375 days.
    let mut m = SummaryConfig::new(date(2024, 1, 31), TimeUnit::Months);
    m.round = Some(4);
    let s = summarize(&log, &m).unwrap();
    assert_eq!(s[1].t.to_string(), "0.9856"); // 30 / 30.4375 = 0.98562…
}

#[test]
fn merging_by_calendar_unit() {
    let log = [
        tx("a", date(2024, 1, 1), 1),  // Monday, week 0
        tx("a", date(2024, 1, 7), 2),  // Sunday, week 0
        tx("a", date(2024, 1, 8), 4),  // Monday, week 1
        tx("a", date(2024, 1, 31), 8), // week 4
    ];
    let mut c = SummaryConfig::new(date(2024, 2, 4), TimeUnit::Weeks);
    c.merge = MergePeriod::Unit;
    let s = summarize(&log, &c).unwrap();
    assert_eq!(
        (s[0].frequency, s[0].recency, s[0].t),
        (2, 4.into(), 4.into())
    );
    assert_eq!(s[0].monetary_value, 6.into());
    c.unit = TimeUnit::Months;
    let s = summarize(&log, &c).unwrap();
    assert_eq!(
        (s[0].frequency, s[0].recency, s[0].t),
        (0, 0.into(), 1.into())
    );
    // By day, the same log has four purchases.
    c.merge = MergePeriod::Day;
    assert_eq!(summarize(&log, &c).unwrap()[0].frequency, 3);
}

#[test]
fn invalid_settings_and_overflow() {
    let mut c = SummaryConfig::new(date(2024, 1, 31), TimeUnit::Days);
    c.holdout_end = Some(date(2024, 1, 31));
    assert!(matches!(summarize(&[], &c), Err(EngineError::Config(_))));
    c.holdout_end = None;
    c.round = Some(29);
    assert!(matches!(summarize(&[], &c), Err(EngineError::Config(_))));
    c.round = None;
    assert!(summarize(&[], &c).unwrap().is_empty());
    let max = tenure_core::Decimal::MAX;
    let big = |d| tenure_engine::Transaction {
        customer_id: "rich".into(),
        date: d,
        amount: max,
        line: 0,
    };
    let e = summarize(&[big(date(2024, 1, 1)), big(date(2024, 1, 1))], &c).unwrap_err();
    assert!(matches!(e, EngineError::Overflow { customer_id } if customer_id == "rich"));
}

#[test]
fn summary_headers_of_lifetimes_the_papers_and_bgbb() {
    let r = summaries("customer_id,frequency,recency,T,monetary_value\nc7,2,30.43,38.86,22.35\n")
        .unwrap();
    assert_eq!(r[0].id, "c7");
    assert_eq!(
        (r[0].x, r[0].t_x, r[0].t, r[0].monetary, r[0].weight),
        (2.0, 30.43, 38.86, Some(22.35), 1.0)
    );
    let r = summaries("ID, x ,T_X,T,zbar,extra\n1,0,0,38.86,0.00,whatever\n").unwrap();
    assert_eq!(
        (r[0].id.as_str(), r[0].t, r[0].monetary, r[0].line),
        ("1", 38.86, Some(0.0), 2)
    );
    let r = summaries("frequency,recency,periods,weights\n0,0,6,3464\n6,6,6,1203\n").unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(
        (r[1].id.as_str(), r[1].x, r[1].t, r[1].weight, r[1].monetary),
        ("2", 6.0, 6.0, 1203.0, None)
    );
    let r = summaries("frequency,recency,periods\n1,1,6\n").unwrap();
    assert_eq!(r[0].weight, 1.0);
}

#[test]
fn summary_errors_name_line_column_and_field() {
    let e = summaries("ID,x,t_x,t,zbar\n1,0,0,38.86,0\n").unwrap_err();
    assert!(e.to_string().contains("T is case-sensitive"), "{e}");
    assert!(matches!(e, EngineError::MissingColumn { line: 1, .. }));
    let e = summaries("x,frequency,t_x,T\n1,1,1,2\n").unwrap_err();
    assert!(matches!(
        e,
        EngineError::DuplicateColumn {
            first: 1,
            second: 2,
            ..
        }
    ));
    let head = "ID,x,t_x,T,zbar\n1,0,0,38.86,0\n";
    let cases: [(&str, usize, &str, FieldError); 7] = [
        (
            "2,1.5,1,3,1",
            2,
            "x",
            FieldError::NotWhole {
                value: "1.5".into(),
            },
        ),
        (
            "2,-1,1,3,1",
            2,
            "x",
            FieldError::Negative { value: "-1".into() },
        ),
        (
            "2,1,abc,3,1",
            3,
            "t_x",
            FieldError::BadNumber {
                value: "abc".into(),
            },
        ),
        (
            "2,1,1,inf,1",
            4,
            "T",
            FieldError::NotFinite {
                value: "inf".into(),
            },
        ),
        (
            "2,1,1,3,NaN",
            5,
            "zbar",
            FieldError::NotFinite {
                value: "NaN".into(),
            },
        ),
        ("2,1,1,3", 5, "zbar", FieldError::Missing),
        ("2,1,1,,1", 4, "T", FieldError::Empty),
    ];
    for (row, column, field, reason) in cases {
        let got = field_error(summaries(&format!("{head}{row}\n")));
        assert_eq!(got, (3, column, field.to_string(), reason), "{row}");
    }
    let (l, c, f, r) = field_error(summaries(&format!("{head}2,1,4,3,1\n")));
    assert_eq!((l, c, f.as_str()), (3, 3, "t_x"));
    assert!(matches!(r, FieldError::Inconsistent { .. }));
    let e = summaries(&format!("{head}2,1,4,3,1\n")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "summary.csv:3:3: t_x: `4`: the last purchase comes after the end of observation (T = 3)"
    );
}
