//! A seeded synthetic B2B SaaS company, written as the eleven record files of
//! `docs/schema.md` (`customers.csv`, `transactions.csv`, `subscriptions.csv`, `costs.csv`,
//! `usage.csv`, `feedback.csv`, and from issue 10 `cases.csv`, `payments.csv`,
//! `interactions.csv`, `campaigns.csv`, `touches.csv`) plus `parameters.json`, the
//! parameters it was drawn from and the truth the files do not show — so that every
//! analysis Tenure makes can be checked against the truth (`tenure generate`).
//!
//! ```
//! use tenure_generate::{generate, Config, RecordFile};
//! let config = Config { customers: 50, seed: 7, ..Config::default() };
//! let mut files: [Vec<u8>; RecordFile::COUNT] = Default::default();
//! let summary = generate(&config, &mut files).unwrap();
//! let customers = String::from_utf8(files[RecordFile::Customers as usize].clone()).unwrap();
//! assert_eq!(customers.lines().count(), 51); // header + 50 customers
//! assert_eq!(summary.customers, 50);
//! assert_eq!(files.len(), 11);
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
//! **Support cases** (`cases.csv`): every support ticket above is a case, opened the
//! ticket's day — so cases rise in the decline window exactly as tickets do (rate × (1 +
//! `service.decline_uplift` · (1 − m))). Severity 1 (outage) to 4 (question) with shares
//! `cases.severity_shares`; in the decline window severities 1 and 2 are (2 − m) times as
//! likely (renormalised). Escalated with probability `cases.escalation` of the severity
//! (severities 1–2 mostly: to `engineering` 70 % of the time, else `tier2`); resolved after
//! Exp(`cases.resolution_days` of the severity) whole days (at most 90): `closed` when
//! that is at least 4 days before `observed_until`, `solved` when less, `pending`
//! (`cases.pending_share`) or `open` without `closed_at` when after it — so open cases are
//! only the recent ones. The ticket's CSAT answer, if any, is the case's `satisfaction`
//! (solved and closed cases only).
//!
//! **Payments** (`payments.csv`, the invoice reference is the transaction id): every
//! `new`/`renewal` invoice is collected on its day (`succeeded`); expansions, upsells, fees
//! and change orders are `succeeded`, refunds `refunded`. Dunning is `failed` +
//! `dunning_started` on the invoice day, `retried` + `failed` 2 days later, `retried` 5
//! days later and then `succeeded` + `dunning_resolved` (`payments.dunning_resolve`) or a
//! last `failed`. Customers who are not troubled fail at most once in their life
//! (`payments.isolated_failure_rate` per invoice: `failed`, then `retried` + `succeeded`).
//! A collected invoice is charged back 14–60 days later with `payments.chargeback_rate`.
//!
//! **Interactions** (`interactions.csv`): each customer has one customer-success owner,
//! who logs Poisson(`interactions.monthly_rate`, × `sales_led_factor` on sales-led plans)
//! calls, emails, meetings and notes a month while she is subscribed.
//!
//! **Campaigns and touches** (`campaigns.csv`, `touches.csv`): `campaigns.count` retention
//! campaigns, campaign i sent on the 15th of month ⌊(i + ½) · M / count⌋ of the M-month
//! window (defaults: months 3, 9, …, 33 — six months apart) on channel
//! `campaigns.channels[i mod len]`, costing `fixed_cost` + `cost_per_touch` × touches. Every
//! customer subscribed on a campaign's day is touched with probability `campaigns.reach`,
//! independently of everything about her (random assignment); a touch is opened with
//! `open_rate`, clicked (`click_rate`) and replied to (`reply_rate`) among the opened.
//!
//! # Churn effects (the truth in `parameters.json`)
//!
//! Churn is decided at each renewal (the end of a billing period). Decision j churns with
//! probability θ_j = min(1, θ · f_j), θ the customer's draw above and f_j the product of:
//!
//! - **payment trouble**: `payments.troubled_churn_factor` (default 2) at every decision
//!   of a payment-troubled customer — `payments.troubled_share` (8 %) of the
//!   monthly-billed customers (annual contracts are prepaid and invoiced). Every invoice of
//!   hers in the `payments.trouble_window_days` (90) days before her churn — or before
//!   `observed_until` while she is subscribed — goes through dunning, and earlier ones with
//!   `payments.troubled_failure_rate`: at least two `failed` payments in those 90 days
//!   (unless her last subscription began in the window's last 2 days).
//! - **a retention touch**: `campaigns.hazard_ratio` (default 0.8) at every decision
//!   strictly after a touch and before the same day `campaigns.effect_months` (6) months
//!   later — once, however many touches cover it; intention to treat (opened or not).
//!
//! Both act through the same uniform draw as the plain sBG (budget E = ln u / ln(1 − θ),
//! decision j costing ln(1 − θ_j) / ln(1 − θ), churn when the costs exceed E), which gives
//! P(survive n decisions) = Π (1 − θ_j) and leaves every customer none of whose decisions
//! is modified exactly where the plain sBG put her: with both factors 1 the six original
//! files are byte-identical to those of the generator before issue 10. With the defaults
//! the troubled customers and the touched ones whose churn moved change (about 8 % of a
//! company), and so may the referrer of a customer referred by one of them.
//! `parameters.json` records, under `truth`, the ids of the troubled customers, the
//! touches per campaign and customers touched, and each effect's definition and size; the
//! churn fit of the plans (`churn_monthly`) describes θ before either effect.
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
//! | `payments.troubled_share, troubled_churn_factor` | 0.08, 2.0 | payment-troubled share of monthly-billed customers; × θ |
//! | `payments.trouble_window_days, troubled_failure_rate, dunning_resolve` | 90, 0.25, 0.6 | dunning of troubled customers' invoices |
//! | `payments.isolated_failure_rate, chargeback_rate` | 0.01, 0.002 | per invoice |
//! | `cases.severity_shares, escalation, resolution_days` | [0.05, 0.15, 0.45, 0.35], [0.6, 0.3, 0.05, 0.01], [1, 3, 5, 8] | by severity 1–4 |
//! | `cases.pending_share` | 0.3 | unresolved cases that are `pending` |
//! | `interactions.monthly_rate, sales_led_factor, kind_shares` | 0.4, 3.0, [0.3, 0.4, 0.15, 0.15] | CRM log: call, email, meeting, note |
//! | `campaigns.count, channels, reach` | 6, [email, webinar, in_app], 0.3 | retention campaigns; touched share of subscribed customers |
//! | `campaigns.hazard_ratio, effect_months` | 0.8, 6 | × θ at renewals within 6 months after a touch |
//! | `campaigns.fixed_cost, cost_per_touch` | 1500.00, 1.50 | campaign cost (USD) |
//! | `campaigns.open_rate, click_rate, reply_rate` | 0.45, 0.25, 0.05 | touch responses (click, reply among opened) |
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
mod crm;
mod customer;
mod format;
mod output;

pub use config::{
    BetaParams, CampaignParams, CaseParams, Cents, Channel, Config, Date, Feature, FeedbackParams,
    InteractionParams, ParametersFile, PaymentParams, Plan, Region, RetentionParams, ServiceParams,
    UsageParams, REFERRAL,
};
pub use output::{generate, write_dir, RecordFile, Summary, Truth};

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
