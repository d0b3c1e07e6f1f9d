//! Streaming the company out: headers, the company-level cost rows, then customer after
//! customer in id order, each file's rows flushed to its writer in blocks. Customers are
//! generated in parallel batches (their streams are independent) and written in order, so
//! the bytes do not depend on the number of threads.

use crate::company::{date_of, stream, Company, STREAM_BRAND, STREAM_CHANNEL_COST};
use crate::config::{Config, ParametersFile};
use crate::crm::push_campaign_id;
use crate::customer::{write_customer, Rows};
use crate::format::{push_cents, push_date, push_padded};
use crate::GenerateError;
use chrono::Datelike;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The eleven record files of `docs/schema.md`, in the order of the `sinks` array: the six
/// original kinds, then the five of issue 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordFile {
    Customers = 0,
    Transactions = 1,
    Subscriptions = 2,
    Costs = 3,
    Usage = 4,
    Feedback = 5,
    Cases = 6,
    Payments = 7,
    Interactions = 8,
    Campaigns = 9,
    Touches = 10,
}

impl RecordFile {
    /// How many record files there are (the length of the `sinks` array).
    pub const COUNT: usize = 11;

    pub const ALL: [RecordFile; RecordFile::COUNT] = [
        RecordFile::Customers,
        RecordFile::Transactions,
        RecordFile::Subscriptions,
        RecordFile::Costs,
        RecordFile::Usage,
        RecordFile::Feedback,
        RecordFile::Cases,
        RecordFile::Payments,
        RecordFile::Interactions,
        RecordFile::Campaigns,
        RecordFile::Touches,
    ];

    /// The file name, e.g. `customers.csv`.
    pub fn file_name(self) -> &'static str {
        match self {
            RecordFile::Customers => "customers.csv",
            RecordFile::Transactions => "transactions.csv",
            RecordFile::Subscriptions => "subscriptions.csv",
            RecordFile::Costs => "costs.csv",
            RecordFile::Usage => "usage.csv",
            RecordFile::Feedback => "feedback.csv",
            RecordFile::Cases => "cases.csv",
            RecordFile::Payments => "payments.csv",
            RecordFile::Interactions => "interactions.csv",
            RecordFile::Campaigns => "campaigns.csv",
            RecordFile::Touches => "touches.csv",
        }
    }

    /// The columns, in the order of `docs/schema.md`.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            RecordFile::Customers => &[
                "id",
                "name",
                "acquired_at",
                "channel",
                "plan",
                "region",
                "referred_by",
                "attributes",
            ],
            RecordFile::Transactions => &[
                "id",
                "customer_id",
                "date",
                "amount",
                "currency",
                "kind",
                "cogs",
                "product",
            ],
            RecordFile::Subscriptions => &[
                "id",
                "customer_id",
                "plan",
                "started_at",
                "ended_at",
                "seats",
                "amount",
                "currency",
                "interval",
                "status",
            ],
            RecordFile::Costs => &[
                "id",
                "date",
                "amount",
                "currency",
                "category",
                "customer_id",
                "channel",
                "cohort",
            ],
            RecordFile::Usage => &[
                "id",
                "customer_id",
                "user",
                "feature",
                "occurred_at",
                "quantity",
            ],
            RecordFile::Feedback => &[
                "id",
                "customer_id",
                "occurred_at",
                "kind",
                "score",
                "comment",
            ],
            RecordFile::Cases => &[
                "id",
                "customer_id",
                "opened_at",
                "closed_at",
                "severity",
                "category",
                "product",
                "status",
                "owner",
                "escalated",
                "escalated_to",
                "satisfaction",
            ],
            RecordFile::Payments => &[
                "id",
                "customer_id",
                "occurred_at",
                "kind",
                "amount",
                "currency",
                "invoice",
            ],
            RecordFile::Interactions => &[
                "id",
                "customer_id",
                "occurred_at",
                "kind",
                "owner",
                "summary",
            ],
            RecordFile::Campaigns => &["id", "name", "channel", "started_at", "cost", "currency"],
            RecordFile::Touches => &[
                "id",
                "campaign_id",
                "customer_id",
                "sent_at",
                "opened",
                "clicked",
                "replied",
            ],
        }
    }
}

/// What was generated: rows per file (in [`RecordFile::ALL`] order, headers excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub customers: usize,
    pub rows: [u64; RecordFile::COUNT],
    /// The last day observed (inclusive).
    pub observed_until: chrono::NaiveDate,
    /// Who was treated how: what the files alone do not say.
    pub truth: Truth,
}

/// The hidden part of the company that analyses are checked against (also written to
/// `parameters.json` under `truth`, with the effects' definitions).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Truth {
    /// Ids of the payment-troubled customers, in id order: their churn probability per
    /// period is `payments.troubled_churn_factor` × θ and their invoices go through dunning.
    pub payment_troubled: Vec<String>,
    /// Touches of each retention campaign (`CMP001`, … in order).
    pub touches_by_campaign: Vec<u64>,
    /// Customers touched by at least one campaign.
    pub touched_customers: u64,
}

impl Truth {
    /// The `truth` object of `parameters.json`: the lists and counts above, and what each
    /// churn effect is, in words and numbers.
    pub fn to_json(&self, config: &Config) -> serde_json::Value {
        let pa = &config.payments;
        let cp = &config.campaigns;
        serde_json::json!({
            "payment_trouble": {
                "definition": "a payment-troubled customer (drawn among monthly-billed customers with probability payments.troubled_share) has churn probability min(1, churn_factor × θ) at every renewal decision; every invoice of hers within payments.trouble_window_days before her churn (or before observed_until while subscribed) goes through dunning (at least two failed payments)",
                "churn_factor": pa.troubled_churn_factor,
                "window_days": pa.trouble_window_days,
                "customers": self.payment_troubled,
            },
            "retention_touch": {
                "definition": "a renewal decision (the end of a billing period) falling strictly after a touch and before the same day effect_months months later has churn probability hazard_ratio × θ (intention to treat: opened or not; once however many touches cover it); touches are assigned at random (probability campaigns.reach) among the customers subscribed on the campaign's day",
                "hazard_ratio": cp.hazard_ratio,
                "effect_months": cp.effect_months,
                "touches": self.touches_by_campaign.iter().sum::<u64>(),
                "touches_by_campaign": self.touches_by_campaign,
                "touched_customers": self.touched_customers,
            },
        })
    }
}

/// A block of rows is handed to the writers once it holds about this many bytes.
const FLUSH_BYTES: usize = 1 << 20;
/// Customers generated per batch (split across threads).
const BATCH: usize = 512;

fn io_error(file: RecordFile) -> impl Fn(std::io::Error) -> GenerateError {
    move |source| GenerateError::Io {
        path: PathBuf::from(file.file_name()),
        source,
    }
}

fn flush_rows<W: Write>(
    rows: &mut Rows,
    sinks: &mut [W; RecordFile::COUNT],
) -> Result<(), GenerateError> {
    for f in RecordFile::ALL {
        let t = &mut rows.text[f as usize];
        sinks[f as usize]
            .write_all(t.as_bytes())
            .map_err(io_error(f))?;
        t.clear();
    }
    Ok(())
}

/// Generate the company of `config` into eleven writers, indexed by [`RecordFile`]
/// (`sinks[0]` receives customers.csv, …). Validates the config first. Same config, same
/// bytes.
pub fn generate<W: Write>(
    config: &Config,
    sinks: &mut [W; RecordFile::COUNT],
) -> Result<Summary, GenerateError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 8);
    generate_with_threads(config, sinks, threads)
}

fn generate_with_threads<W: Write>(
    config: &Config,
    sinks: &mut [W; RecordFile::COUNT],
    threads: usize,
) -> Result<Summary, GenerateError> {
    config.validate()?;
    let co = Company::draw(config);
    let mut rows = Rows::default();
    for f in RecordFile::ALL {
        let t = &mut rows.text[f as usize];
        t.push_str(&f.columns().join(","));
        t.push('\n');
    }
    company_costs(&co, &mut rows);

    let n = co.profiles.len();
    let mut first = 0;
    while first < n {
        let last = (first + BATCH).min(n);
        if threads == 1 || last - first < 2 * threads {
            for p in first..last {
                write_customer(&co, p, &mut rows);
            }
        } else {
            let per = (last - first).div_ceil(threads);
            let co = &co;
            let parts: Vec<Rows> = std::thread::scope(|s| {
                let handles: Vec<_> = (first..last)
                    .step_by(per)
                    .map(|a| {
                        let b = (a + per).min(last);
                        s.spawn(move || {
                            let mut part = Rows::default();
                            for p in a..b {
                                write_customer(co, p, &mut part);
                            }
                            part
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a generator thread does not panic"))
                    .collect()
            });
            for part in parts {
                for f in 0..RecordFile::COUNT {
                    rows.text[f].push_str(&part.text[f]);
                    rows.counts[f] += part.counts[f];
                }
                if rows.campaign_touches.len() < part.campaign_touches.len() {
                    rows.campaign_touches.resize(part.campaign_touches.len(), 0);
                }
                for (t, p) in rows.campaign_touches.iter_mut().zip(&part.campaign_touches) {
                    *t += p;
                }
                rows.touched_customers += part.touched_customers;
            }
        }
        if rows.text.iter().map(String::len).sum::<usize>() >= FLUSH_BYTES {
            flush_rows(&mut rows, sinks)?;
        }
        first = last;
    }
    rows.campaign_touches.resize(co.campaign_days.len(), 0);
    campaigns(&co, &mut rows);
    flush_rows(&mut rows, sinks)?;
    for f in RecordFile::ALL {
        sinks[f as usize].flush().map_err(io_error(f))?;
    }
    let payment_troubled = co
        .profiles
        .iter()
        .enumerate()
        .filter(|(_, p)| p.troubled)
        .map(|(i, _)| {
            let mut id = String::new();
            co.push_id(&mut id, i);
            id
        })
        .collect();
    Ok(Summary {
        customers: n,
        rows: rows.counts,
        observed_until: config.observed_until(),
        truth: Truth {
            payment_troubled,
            touches_by_campaign: rows.campaign_touches,
            touched_customers: rows.touched_customers,
        },
    })
}

/// `campaigns.csv`, written once every customer's touches are counted: campaign c is named
/// after its channel and month, sent (`started_at`) on its day, and costs
/// `fixed_cost` + `cost_per_touch` × its touches, USD.
fn campaigns(co: &Company, rows: &mut Rows) {
    let cp = &co.cfg.campaigns;
    for (c, &day) in co.campaign_days.iter().enumerate() {
        let channel = &cp.channels[c % cp.channels.len()];
        let touches = rows.campaign_touches[c];
        let cost = cp
            .fixed_cost
            .0
            .saturating_add(cp.cost_per_touch.0.saturating_mul(touches as i64));
        let out = rows.buf(RecordFile::Campaigns);
        push_campaign_id(out, c);
        out.push_str(",Retention ");
        out.push_str(channel);
        out.push(' ');
        push_month(out, date_of(day));
        out.push(',');
        out.push_str(channel);
        out.push(',');
        push_date(out, date_of(day));
        out.push(',');
        push_cents(out, cost);
        out.push_str(",USD\n");
    }
}

fn push_month(out: &mut String, d: chrono::NaiveDate) {
    push_padded(out, d.year().unsigned_abs().into(), 4);
    out.push('-');
    push_padded(out, d.month().into(), 2);
}

/// Costs attached to the company rather than a customer: brand spend by acquisition cohort
/// (month) and each channel's spend by month, cac × customers acquired that month ×
/// LogNormal(−σ²/2, σ) noise (mean 1), dated the month's first day.
fn company_costs(co: &Company, rows: &mut Rows) {
    let cfg = co.cfg;
    let sigma = cfg.cac_noise;
    let noise = |tag: u64, m: usize| {
        let mut r = stream(cfg.seed, tag, m as u64);
        (sigma * crate::company::normal(&mut r) - sigma * sigma / 2.0).exp()
    };
    for m in 0..co.months as usize {
        let day = date_of(co.month_start(m));
        if cfg.brand_monthly.0 > 0 {
            let amount = (cfg.brand_monthly.0 as f64 * noise(STREAM_BRAND, m)).round() as i64;
            let out = rows.buf(RecordFile::Costs);
            out.push_str("BRAND-");
            push_month(out, day);
            out.push(',');
            push_date(out, day);
            out.push(',');
            push_cents(out, amount);
            out.push_str(",USD,acquisition,,,");
            push_month(out, day);
            out.push('\n');
        }
        for (c, ch) in cfg.channels.iter().enumerate() {
            let count = co.acquired_by_channel[c][m];
            if count == 0 || ch.cac.0 == 0 {
                continue;
            }
            let f = noise(STREAM_CHANNEL_COST.wrapping_add(c as u64 + 1), m);
            let amount = (ch.cac.0 as f64 * f64::from(count) * f).round() as i64;
            let out = rows.buf(RecordFile::Costs);
            out.push_str("ACQ-");
            out.push_str(&ch.name);
            out.push('-');
            push_month(out, day);
            out.push(',');
            push_date(out, day);
            out.push(',');
            push_cents(out, amount);
            out.push_str(",USD,acquisition,,");
            out.push_str(&ch.name);
            out.push_str(",\n");
        }
    }
}

/// Write the eleven files and `parameters.json` (with the [`Truth`]) into `dir` (created if missing). Each file is
/// written under a temporary name in `dir` and renamed into place only after all of them
/// are complete, so an interrupted or failed run leaves no partial file under a final
/// name: a failed run removes its temporary files; a killed one may leave hidden
/// `.NAME.tmp-PID` files, never a truncated `NAME`.
pub fn write_dir(config: &Config, dir: &Path) -> Result<Summary, GenerateError> {
    config.validate()?;
    std::fs::create_dir_all(dir).map_err(|source| GenerateError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let pid = std::process::id();
    let tmp = |name: &str| dir.join(format!(".{name}.tmp-{pid}"));
    let mut names: Vec<&str> = RecordFile::ALL.iter().map(|f| f.file_name()).collect();
    names.push("parameters.json");
    let temps: Vec<PathBuf> = names.iter().map(|n| tmp(n)).collect();
    let cleanup = || {
        for t in &temps {
            let _ = std::fs::remove_file(t);
        }
    };
    let result = (|| {
        let mut writers = Vec::with_capacity(RecordFile::COUNT);
        for t in &temps[..RecordFile::COUNT] {
            let f = File::create(t).map_err(|source| GenerateError::Io {
                path: t.clone(),
                source,
            })?;
            writers.push(BufWriter::with_capacity(1 << 16, f));
        }
        let mut sinks: [BufWriter<File>; RecordFile::COUNT] = writers
            .try_into()
            .map_err(|_| ())
            .expect("one writer per record file");
        let summary = generate(config, &mut sinks).map_err(|e| match e {
            // Name the file on disk, not just its kind.
            GenerateError::Io { path, source } => GenerateError::Io {
                path: dir.join(path),
                source,
            },
            e => e,
        })?;
        for (w, t) in sinks.into_iter().zip(&temps) {
            let f = w.into_inner().map_err(|e| GenerateError::Io {
                path: t.clone(),
                source: e.into_error(),
            })?;
            f.sync_all().map_err(|source| GenerateError::Io {
                path: t.clone(),
                source,
            })?;
        }
        let params = &temps[RecordFile::COUNT];
        let json = ParametersFile::new(config)
            .with_truth(summary.truth.to_json(config))
            .to_json();
        std::fs::write(params, json).map_err(|source| GenerateError::Io {
            path: params.clone(),
            source,
        })?;
        for (t, n) in temps.iter().zip(&names) {
            let dest = dir.join(n);
            std::fs::rename(t, &dest).map_err(|source| GenerateError::Io { path: dest, source })?;
        }
        Ok(summary)
    })();
    if result.is_err() {
        cleanup();
    }
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_do_not_depend_on_the_number_of_threads() {
        let config = Config {
            customers: 1500,
            seed: 9,
            ..Config::default()
        };
        let mut one: [Vec<u8>; RecordFile::COUNT] = Default::default();
        let mut three: [Vec<u8>; RecordFile::COUNT] = Default::default();
        let a = generate_with_threads(&config, &mut one, 1).unwrap();
        let b = generate_with_threads(&config, &mut three, 3).unwrap();
        assert_eq!(a, b);
        assert_eq!(one, three);
        assert!(a.rows[RecordFile::Usage as usize] > 10_000);
    }
}
