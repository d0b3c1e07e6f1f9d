//! Transactions to summaries: read a transaction log (CSV, CDNOW's text format or Parquet), turn
//! it into one recency-frequency-monetary row per customer (x, t_x, T, mean spend; optionally with a holdout period), and read and write
//! the summary files the models are fitted on.
//!
//! ```
//! use std::path::Path;
//! use tenure_core::{Decimal, TimeUnit};
//! use tenure_engine::{read_transactions_from, summarize, NaiveDate, SummaryConfig, TransactionFormat};
//!
//! let log = "customer_id,date,amount\n\
//!            a,2024-01-01,10.00\n\
//!            a,2024-01-01T18:30:00-05:00,5.00\n\
//!            a,2024-01-15,20.00\n\
//!            b,2024-01-08,7.50\n";
//! let tx = read_transactions_from(log.as_bytes(), Path::new("log.csv"), &TransactionFormat::default())?;
//! let mut config = SummaryConfig::new(NaiveDate::from_ymd_opt(2024, 1, 29).unwrap(), TimeUnit::Weeks);
//! config.round = Some(2);
//! let s = summarize(&tx, &config)?;
//! // a: two purchase days (the two on 1 January are one), so one repeat purchase, two weeks after
//! // the first, observed for four weeks; the repeat purchase was 20.00.
//! assert_eq!(s[0].customer_id, "a");
//! assert_eq!(s[0].frequency, 1);
//! assert_eq!(s[0].recency.to_string(), "2.00");
//! assert_eq!(s[0].t.to_string(), "4.00");
//! assert_eq!(s[0].monetary_value, Decimal::new(2000, 2));
//! assert_eq!((s[1].frequency, s[1].t.to_string()), (0, "3.00".to_string()));
//! # Ok::<(), tenure_engine::EngineError>(())
//! ```
//!
//! Invariants:
//! - Money stays an exact [`Decimal`](tenure_core::Decimal) from the file to the summary;
//!   rounding, when asked for, is half-up in decimal arithmetic.
//! - Dates are calendar dates; a text timestamp's date is taken in its own offset (see
//!   [`TransactionFormat`]); a Parquet timestamp stored in UTC is dated in UTC, one stored
//!   without a time zone by its own date (see [`ParquetColumns`]). Nothing here reads the clock:
//!   the observation end is an argument.
//! - Reading never panics on input: every bad row is an [`EngineError`] naming the file, the
//!   1-based line and column, and the field (for Parquet: the 1-based row and the column).
//! - Large inputs are streamed: [`summarize_file`] keeps per-customer purchases, not rows; a
//!   Parquet file is read a row group and a batch of rows at a time. Progress is reported
//!   through a callback ([`summarize_file_with_progress`]); nothing here prints.
//! - Output rows are sorted by customer id (numerically when all ids are digit strings).

mod columnar;
mod date;
mod error;
mod parquet_log;
mod summaries;
mod summarize;
mod transactions;

pub use chrono::NaiveDate;
pub use columnar::{
    score_parquet, score_parquet_in, session_config, sufficient_stats_in, sufficient_stats_parquet,
    summarize_parquet, summarize_parquet_in, Engine, EngineUsed, ScoreSpec, StatRow, TenureRfm,
    TenureScore,
};
pub use error::{EngineError, FieldError};
pub use parquet_log::ParquetColumns;
pub use summaries::{
    read_summaries, read_summaries_from, write_summaries, write_summaries_to, SummaryRow,
};
pub use summarize::{
    round_half_up, summarize, summarize_file, summarize_file_with_progress, summarize_tracked_file,
    CustomerSummary, HoldoutSummary, MergePeriod, Summarizer, SummaryConfig, TrackedSummary,
    Tracking,
};
pub use transactions::{
    read_transactions, read_transactions_from, CdnowId, CsvColumns, Transaction, TransactionFormat,
};
