//! Transactions to summaries.
