//! `tenure review CUSTOMER --period 2026-Q3 --out FILE.html`: one account's value review for a
//! quarterly business review, as a printable HTML page (`tenure_act::review`).

use crate::cmd_act::{context, ActArgs};
use crate::cmd_journal::{open_store, store_err};
use crate::cmd_report::ReportFormat;
use crate::error::CliError;
use clap::Args;
use std::path::PathBuf;
use tenure_act::review::{render_html, review, Quarter, ReviewError};

#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// The customer id.
    pub customer: String,
    /// The quarter reviewed, `YYYY-Qn` [default: the quarter of the last day of any record].
    #[arg(long)]
    pub period: Option<String>,
    /// The store: a SQLite file or a postgres:// URL [default: $TENURE_DB, else ./tenure.db].
    #[arg(long, alias = "db", value_name = "PATH|URL")]
    pub store: Option<String>,
    /// The configuration [default: $TENURE_CONFIG, else ./tenure.toml if present, else the
    /// defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report currency (ISO 4217) [default: `currency` in the configuration, else the store's
    /// only currency].
    #[arg(long)]
    pub currency: Option<String>,
    /// Convert a currency at a fixed rate: `EUR=1.087` (repeatable).
    #[arg(long, value_name = "CUR=RATE")]
    pub fx: Vec<String>,
    /// The HTML file to write (atomically).
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
    /// Also write the review's figures as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub json: Option<PathBuf>,
}

fn review_err(e: ReviewError) -> CliError {
    CliError::input(e.to_string())
}

pub fn run(a: ReviewArgs) -> Result<(), CliError> {
    // The period is checked before the store is read.
    let period = a
        .period
        .as_deref()
        .map(Quarter::parse)
        .transpose()
        .map_err(review_err)?;
    let common = ActArgs {
        db: a.store.clone(),
        as_of: None,
        config: a.config.clone(),
        format: ReportFormat::Table,
        output: None,
        currency: a.currency.clone(),
        fx: a.fx.clone(),
    };
    let ctx = context(&common)?;
    if ctx.data.customer(&a.customer).is_none() {
        return Err(review_err(ReviewError::UnknownCustomer(a.customer)));
    }
    let period = period.unwrap_or_else(|| Quarter::of_day(ctx.as_of));
    let goals = open_store(a.store.as_deref())?
        .goals(Some(&a.customer))
        .map_err(store_err)?;
    let r = review(
        &ctx.data,
        &ctx.fx,
        &ctx.cfg,
        &a.customer,
        period,
        ctx.as_of,
        &goals,
    )
    .map_err(review_err)?;
    let html = render_html(&r);
    if let Some(j) = &a.json {
        let text = serde_json::to_string_pretty(&r)
            .map_err(|e| CliError::failure(format!("{}: {e}", j.display())))?;
        crate::write_atomically(j, text.as_bytes())?;
    }
    crate::write_atomically(&a.out, html.as_bytes())?;
    eprintln!(
        "Value review of {} for {} (to {}) written to {}",
        r.customer,
        r.period,
        r.as_of,
        a.out.display()
    );
    Ok(())
}
