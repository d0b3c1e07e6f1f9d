//! A seeded synthetic B2B SaaS company, written as the six record files of `docs/schema.md`
//! (`customers.csv`, `transactions.csv`, `subscriptions.csv`, `costs.csv`, `usage.csv`,
//! `feedback.csv`) plus `parameters.json`, the parameters it was drawn from — so that every
//! analysis Tenure makes can be checked against the truth (`tenure generate`).
//!
//! ```
//! use tenure_generate::{generate, Config, RecordFile};
//! let config = Config { customers: 50, seed: 7, ..Config::default() };
//! let mut files: [Vec<u8>; 6] = Default::default();
//! let summary = generate(&config, &mut files).unwrap();
//! let customers = String::from_utf8(files[RecordFile::Customers as usize].clone()).unwrap();
//! assert_eq!(customers.lines().count(), 51); // header + 50 customers
//! assert_eq!(summary.customers, 50);
//! ```
//!
//! # The company
//!
//! Customers are acquired over `years` from `start`, at a rate growing by
//! `acquisition_growth` a year; ids (`C000001`, …) follow acquisition order. Each is drawn
//! a channel, a plan, a billing interval (month or year), a region and currency, and a churn
//! probability θ per billing period, θ ~ Beta(α, β) of her plan and interval — the
//! shifted-beta-geometric model (Fader & Hardie 2007, "How to project customer retention",
//! J. Interactive Marketing 21(1)): she renews each period with probability 1 − θ, so her
//! first subscription lasts T = 1 + Geometric(θ) periods. Fitting the sBG to the
//! monthly-billed customers of one plan recovers that plan's `churn_monthly` (α, β).
//!
//! **Subscriptions** (the representation): one row per stretch of constant plan and seats.
//! A change of seats or plan closes the current row (`ended_at` = the day of the change,
//! `status` = `canceled`) and opens the next one the same day; a subscription — from a
//! customer's start to her churn — is therefore a chain of rows, each starting on the day
//! the previous one ended. The last row of a churned subscription ends on the first day not
//! paid for (start + T periods) with `canceled`; a running one has an empty `ended_at` and
//! `active`. A reactivation is a new chain starting at least a month after the churn.
//! Tenure in periods = whole billing periods from the chain's first `started_at` to its last
//! `ended_at` (or, for a running one, the renewals seen by `observed_until`).
//!
//! **Invoice lines** (`transactions.csv`, kind = revenue conduit): `new` for the first
//! period of a subscription (a reactivation too), `renewal` for each later period, for the
//! recurring amount in force on that day; `expansion` (seats added) and `upsell` (upgrade to
//! the next plan), effective the day they happen and charged pro rata for the rest of the
//! current period; contractions take effect at the next billing date and show only as a
//! smaller renewal; `one_off` onboarding fees; `change_order` amending a sales-led
//! implementation (20–50 % of its fee, 14–60 days after it); `refund` (negative: the whole
//! first invoice, or 10–50 % of a later one). `cogs` = amount × (1 − margin), absent on
//! refunds. Money is integer cents throughout, written with two decimals; EUR customers pay
//! EUR list prices (USD × `eur_per_usd`); every cost is in USD.
//!
//! **Costs**: `acquisition` attached to a channel per month (cac × customers acquired ×
//! noise; CAC per channel = channel spend / channel customers), to a cohort month (brand
//! spend), and to a customer (commission on sales-led deals); `service` per support ticket;
//! `retention` for customer-success managers and save offers. Spend has no effect on
//! churn.
//!
//! **Usage** (`usage.csv`, rows without an id — the store derives it): per tracked user,
//! feature and week (dated Monday) in which she used the feature, with the number of
//! actions. Usage predicts churn: in the `usage.decline_weeks` weeks before a subscription
//! ends expected usage falls linearly to 1 − `usage.decline` of its level (defaults: to 40 %
//! over 12 weeks, so the last 8 weeks average 57.5 % of normal). Support tickets rise in the
//! same window (`service.decline_uplift`).
//!
//! **Feedback**: NPS surveys 3 months into a subscription and every 6 months after, CSAT
//! after support tickets; scores rise with tenure and with health h = −(θ/E(θ) − 1) − (1 − m),
//! so promoters are more common among healthy, long-tenured customers.
//!
//! Nothing is dated after `observed_until` = start + years − 1 day, and the generator knows
//! the future (churn dates after it) only to shape the usage decline and save offers before
//! it, as a real company's data would.
//!
//! # Parameters and defaults
//!
//! | parameter | default | drives |
//! |---|---|---|
//! | `customers`, `seed` | 1000, 42 | size; same seed → byte-identical files |
//! | `start`, `years` | 2023-01-01, 3 | window (observed until 2025-12-31) |
//! | `acquisition_growth` | 0.5 | yearly growth of the acquisition rate |
//! | `channels[].{name, share, cac}` | paid_search 0.30 / 900.00, outbound 0.20 / 2500.00, partner 0.15 / 1500.00, referral 0.15 / 300.00, organic 0.20 / 100.00 | channel mix and spend per acquired customer |
//! | `cac_noise` | 0.1 | sd of ln(monthly channel spend / expected) |
//! | `brand_monthly` | 5000.00 | cohort-attached brand spend a month |
//! | `commission_rate` | 0.10 | commission on a sales-led deal's first-year list value |
//! | `plans[].name, share` | starter 0.55, growth 0.35, enterprise 0.10 | plan mix; upgrades go to the next plan |
//! | `plans[].price_per_seat_month` | 15.00, 40.00, 90.00 | USD list prices |
//! | `plans[].annual_share` | 0.15, 0.40, 0.80 | share billed yearly |
//! | `plans[].median_seats, seats_sd` | 3 / 0.5, 12 / 0.6, 60 / 0.7 | seats = max(1, round(LogNormal(ln median, sd))) |
//! | `plans[].churn_monthly` (α, β) | (0.9, 12), (1.2, 30), (1.5, 60) | θ per month ~ Beta(α, β), mean 7.0 %, 3.8 %, 2.4 % |
//! | `plans[].churn_annual` (α, β) | (1.0, 3.0), (1.5, 6.0), (2.0, 12.0) | θ per year ~ Beta(α, β), mean 25 %, 20 %, 14 % |
//! | `plans[].onboarding_fee, onboarding_share` | 0.00 / 0, 750.00 / 0.3, 5000.00 / 1.0 | `one_off` fees |
//! | `plans[].sales_led` | false, false, true | negotiated discount, commission, CSM, change orders |
//! | `annual_discount` | 0.15 | a year costs 12 × 0.85 months |
//! | `negotiated_discount_max` | 0.30 | sales-led discount ~ U{0, …, 30} % |
//! | `upgrade_rate`, `expansion_rate`, `contraction_rate` | 0.005, 0.03, 0.015 | per month (at most one a month) |
//! | `reactivation_rate`, `reactivation_gap_months` | 0.08, 6 | chance a churned customer returns; mean gap |
//! | `refund_rate`, `change_order_rate` | 0.01, 0.3 | per invoice; per sales-led implementation |
//! | `gross_margin`, `services_margin` | 0.80, 0.30 | cogs of subscriptions; of fees and change orders |
//! | `regions[].{name, share, eur_share}` | NA 0.55, EU 0.25 (40 % EUR), APAC 0.15, LATAM 0.05 | region; currency |
//! | `eur_per_usd` | 0.92 | EUR list prices |
//! | `usage.users_per_customer` | 3 | tracked users = min(seats, this) |
//! | `usage.decline`, `usage.decline_weeks` | 0.6, 12 | the usage drop before churn |
//! | `usage.engagement_sd` | 0.5 | sd of ln(engagement), a per-customer factor on actions |
//! | `usage.features[].{name, weekly_share, mean_actions}` | core 0.85 / 12, reports 0.35 / 3, integrations 0.2 / 2, api 0.1 / 25 | weekly use per user; actions = 1 + Poisson((mean − 1) × engagement) |
//! | `feedback.nps_first_month, nps_every_months, nps_response` | 3, 6, 0.35 | NPS surveys |
//! | `feedback.nps_base, nps_tenure_slope, nps_health_slope, nps_sd` | 6.8, 0.5, 2.0, 1.8 | NPS = base + slope · ln(1 + months) + slope · h + sd · z, rounded, 0–10 |
//! | `feedback.csat_response, csat_base, csat_health_slope, csat_sd` | 0.3, 4.0, 0.8, 0.8 | CSAT after a ticket, 1–5 |
//! | `feedback.comment_share` | 0.15 | answers with a comment |
//! | `service.ticket_rate, decline_uplift` | 0.15, 1.0 | tickets a month ~ Poisson(rate · √seats · (1 + uplift · (1 − m))) |
//! | `service.ticket_cost, ticket_cost_sd` | 25.00, 0.5 | service cost per ticket (lognormal, mean 25.00) |
//! | `retention.csm_monthly` | 400.00 | per month of a sales-led plan |
//! | `retention.save_offer_cost, save_lead_weeks, save_detect, save_false_alarm` | 150.00, 4, 0.5, 0.01 | save offers before churn / by mistake (per month) |
//!
//! # Determinism and speed
//!
//! Customer `i` draws from her own generators (`StdRng::seed_from_u64` of a mix of the seed,
//! a stream tag and her draw index), one per concern, so the same config gives the same
//! bytes — for one version of this crate, `rand` and `rand_distr`, on one platform (the
//! float functions `ln`/`exp` come from the platform). Customers are generated in parallel
//! batches and written in id order; files are streamed through buffered writers, holding
//! only the customer profiles (≈ 100 bytes each) in memory.

mod company;
mod config;
mod customer;
mod format;
mod output;

pub use config::{
    BetaParams, Cents, Channel, Config, Date, Feature, FeedbackParams, ParametersFile, Plan,
    Region, RetentionParams, ServiceParams, UsageParams, REFERRAL,
};
pub use output::{generate, write_dir, RecordFile, Summary};

use std::path::PathBuf;

/// Why a company could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A parameter is out of range: `name` is its path, e.g. `plans[1].share`.
    #[error("parameter {name}: {reason}")]
    Parameter { name: String, reason: String },
    /// The parameters file is not valid JSON of the expected shape (serde's message gives the
    /// line and column).
    #[error("parameters file: {0}")]
    Json(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
