//! The generating parameters: every number the company is drawn from, with its default.
//!
//! [`Config`] is plain data with public fields; [`Config::validate`] checks it and every
//! generation starts by calling it. It (de)serialises as the JSON of `parameters.json`:
//! money as decimal strings (`"15.00"`, USD unless said otherwise), dates as `YYYY-MM-DD`,
//! rates as fractions (`0.03` = 3 %). Missing fields take their defaults, so a parameters file
//! may hold only what it changes.

use crate::GenerateError;
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An amount of money in cents (integer minor units; USD unless said otherwise). Serialised
/// as a decimal string with two decimals, as money is in the record files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub i64);

impl Cents {
    /// Parse `15`, `15.5` or `15.50` exactly; more than two decimals is an error, not rounded.
    pub fn parse(s: &str) -> Result<Cents, String> {
        let d = tenure_core::parse_amount(s).map_err(|e| e.to_string())?;
        if d.scale() > 2 {
            return Err(format!(
                "`{s}` has more than two decimals (amounts are in cents)"
            ));
        }
        let cents = d.mantissa() * 10i128.pow(2 - d.scale());
        i64::try_from(cents)
            .map(Cents)
            .map_err(|_| format!("`{s}` is too large"))
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        crate::format::push_cents(&mut s, self.0);
        f.write_str(&s)
    }
}

impl Serialize for Cents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cents, D::Error> {
        let s = String::deserialize(d)?;
        Cents::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A calendar date, serialised as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.format("%Y-%m-%d"))
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Date)
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a YYYY-MM-DD date")))
    }
}

/// Beta(`alpha`, `beta`): the distribution of a customer's churn probability per billing
/// period across customers, as in the shifted-beta-geometric model (Fader & Hardie 2007,
/// "How to project customer retention"). Mean churn α/(α+β).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BetaParams {
    pub alpha: f64,
    pub beta: f64,
}

impl BetaParams {
    /// The mean churn probability per period, α/(α+β).
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }
}

/// An acquisition channel: its share of new customers and its acquisition cost per customer
/// (spent on the channel, written as channel-attached `acquisition` costs each month).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub name: String,
    pub share: f64,
    pub cac: Cents,
}

/// A plan (tier). Plans are listed cheapest first: an upgrade moves a customer to the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub name: String,
    /// Share of new customers starting on this plan.
    pub share: f64,
    /// List price per seat per month, USD.
    pub price_per_seat_month: Cents,
    /// Share of this plan's new customers billed yearly (the rest monthly).
    pub annual_share: f64,
    /// Median seats at acquisition; seats are max(1, round(LogNormal(ln median, seats_sd))).
    pub median_seats: f64,
    pub seats_sd: f64,
    /// Churn probability per month of monthly-billed customers ~ Beta(α, β).
    pub churn_monthly: BetaParams,
    /// Churn probability per year of yearly-billed customers ~ Beta(α, β).
    pub churn_annual: BetaParams,
    /// One-off onboarding fee (USD) charged to `onboarding_share` of new customers.
    pub onboarding_fee: Cents,
    pub onboarding_share: f64,
    /// Sales-led plans get a negotiated discount, a sales commission (a customer-attached
    /// acquisition cost), a customer-success manager (retention cost) and change orders on
    /// their implementation.
    pub sales_led: bool,
}

/// A region and the share of its customers billed in EUR (the rest in USD).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    pub share: f64,
    pub eur_share: f64,
}

/// A product feature: the chance a tracked user touches it in a week, and the mean number of
/// actions when she does (before her customer's engagement factor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    pub name: String,
    pub weekly_share: f64,
    pub mean_actions: f64,
}

/// Product usage: one row per tracked user, feature and week in which she used it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageParams {
    /// Users tracked per customer: min(seats, this).
    pub users_per_customer: u32,
    /// The effect that makes usage predict churn: in the `decline_weeks` weeks before a
    /// subscription ends, expected usage falls linearly to (1 − `decline`) of its level.
    pub decline: f64,
    pub decline_weeks: u32,
    /// Standard deviation of ln(engagement), a per-customer factor on actions per use.
    pub engagement_sd: f64,
    pub features: Vec<Feature>,
}

impl Default for UsageParams {
    fn default() -> Self {
        let f = |name: &str, weekly_share, mean_actions| Feature {
            name: name.into(),
            weekly_share,
            mean_actions,
        };
        UsageParams {
            users_per_customer: 3,
            decline: 0.6,
            decline_weeks: 12,
            engagement_sd: 0.5,
            features: vec![
                f("core", 0.85, 12.0),
                f("reports", 0.35, 3.0),
                f("integrations", 0.2, 2.0),
                f("api", 0.1, 25.0),
            ],
        }
    }
}

/// NPS surveys and CSAT after support tickets. A customer's health is
/// h = −risk − (1 − m), with risk = θ/E(θ) − 1 her churn probability relative to her plan's
/// mean and m the usage multiplier (1, or less in the weeks before churn).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackParams {
    /// NPS is surveyed in month `nps_first_month` of a subscription, then every
    /// `nps_every_months`; `nps_response` of surveys are answered.
    pub nps_first_month: u32,
    pub nps_every_months: u32,
    pub nps_response: f64,
    /// NPS = clamp(round(base + tenure_slope · ln(1 + months since acquisition)
    ///   + health_slope · h + sd · z), 0, 10), z ~ N(0, 1).
    pub nps_base: f64,
    pub nps_tenure_slope: f64,
    pub nps_health_slope: f64,
    pub nps_sd: f64,
    /// Share of support tickets followed by a CSAT answer;
    /// CSAT = clamp(round(base + health_slope · h + sd · z), 1, 5).
    pub csat_response: f64,
    pub csat_base: f64,
    pub csat_health_slope: f64,
    pub csat_sd: f64,
    /// Share of answers with a (canned) comment.
    pub comment_share: f64,
}

impl Default for FeedbackParams {
    fn default() -> Self {
        FeedbackParams {
            nps_first_month: 3,
            nps_every_months: 6,
            nps_response: 0.35,
            nps_base: 6.8,
            nps_tenure_slope: 0.5,
            nps_health_slope: 2.0,
            nps_sd: 1.8,
            csat_response: 0.3,
            csat_base: 4.0,
            csat_health_slope: 0.8,
            csat_sd: 0.8,
            comment_share: 0.15,
        }
    }
}

/// Support tickets (service costs, each followed by a CSAT survey).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceParams {
    /// Tickets per month ~ Poisson(rate · √seats · (1 + decline_uplift · (1 − m))).
    pub ticket_rate: f64,
    pub decline_uplift: f64,
    /// Cost per ticket (USD): ticket_cost · LogNormal(−sd²/2, sd), mean ticket_cost.
    pub ticket_cost: Cents,
    pub ticket_cost_sd: f64,
}

impl Default for ServiceParams {
    fn default() -> Self {
        ServiceParams {
            ticket_rate: 0.15,
            decline_uplift: 1.0,
            ticket_cost: Cents(2500),
            ticket_cost_sd: 0.5,
        }
    }
}

/// Retention spend (customer-attached `retention` costs). It has no effect on churn: spend and
/// outcome are correlated only through risk. (The retention *campaigns* of
/// [`CampaignParams`] do have an effect.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionParams {
    /// Customer-success manager cost per month of a sales-led plan (USD).
    pub csm_monthly: Cents,
    /// A save offer (USD), made `save_lead_weeks` before a subscription ends with probability
    /// `save_detect`, and to any customer in any month with probability `save_false_alarm`.
    pub save_offer_cost: Cents,
    pub save_lead_weeks: u32,
    pub save_detect: f64,
    pub save_false_alarm: f64,
}

impl Default for RetentionParams {
    fn default() -> Self {
        RetentionParams {
            csm_monthly: Cents(40_000),
            save_offer_cost: Cents(15_000),
            save_lead_weeks: 4,
            save_detect: 0.5,
            save_false_alarm: 0.01,
        }
    }
}

/// Payment events (`payments.csv`) and the payment-trouble effect on churn.
///
/// A share of the monthly-billed customers is *payment-troubled* (annual contracts are
/// prepaid and invoiced, so card trouble is drawn among monthly payers only): every renewal
/// decision of a troubled customer has churn probability min(1, `troubled_churn_factor` · θ)
/// instead of θ, and her invoices go through dunning (failed, retried, maybe collected) —
/// always in the `trouble_window_days` before her churn (or before `observed_until` while she
/// is active), with probability `troubled_failure_rate` before that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentParams {
    /// Share of monthly-billed customers who are payment-troubled.
    pub troubled_share: f64,
    /// Multiplier on a troubled customer's churn probability per period (capped at 1).
    pub troubled_churn_factor: f64,
    /// Days before the churn (or the window's end) in which every invoice of a troubled
    /// customer goes through dunning.
    pub trouble_window_days: u32,
    /// Probability that an earlier invoice of a troubled customer goes through dunning.
    pub troubled_failure_rate: f64,
    /// Probability that a dunning ends with the payment collected (`dunning_resolved`).
    pub dunning_resolve: f64,
    /// Per invoice of any other customer: one failed attempt, collected on the retry; at most
    /// one per customer.
    pub isolated_failure_rate: f64,
    /// Per collected invoice: a chargeback 14–60 days later.
    pub chargeback_rate: f64,
}

impl Default for PaymentParams {
    fn default() -> Self {
        PaymentParams {
            troubled_share: 0.08,
            troubled_churn_factor: 2.0,
            trouble_window_days: 90,
            troubled_failure_rate: 0.25,
            dunning_resolve: 0.6,
            isolated_failure_rate: 0.01,
            chargeback_rate: 0.002,
        }
    }
}

/// Support cases (`cases.csv`): one per support ticket of [`ServiceParams`] (so the rate
/// rises before churn exactly as the tickets do), with a severity, a resolution time and
/// maybe an escalation; the CSAT answer of the ticket, if any, is the case's satisfaction.
/// Arrays are by severity, 1 (outage) to 4 (question).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseParams {
    /// Shares of severities 1–4 outside the decline window; within it the shares of
    /// severities 1 and 2 are multiplied by 2 − m (m the usage multiplier) and severity 4
    /// gives up the difference.
    pub severity_shares: [f64; 4],
    /// Probability that a case of each severity is escalated.
    pub escalation: [f64; 4],
    /// Mean days to resolution by severity (exponential, whole days, at most 90).
    pub resolution_days: [f64; 4],
    /// Share of unresolved cases at `observed_until` that are `pending` (the rest `open`).
    pub pending_share: f64,
}

impl Default for CaseParams {
    fn default() -> Self {
        CaseParams {
            severity_shares: [0.05, 0.15, 0.45, 0.35],
            escalation: [0.6, 0.3, 0.05, 0.01],
            resolution_days: [1.0, 3.0, 5.0, 8.0],
            pending_share: 0.3,
        }
    }
}

/// The CRM activity log (`interactions.csv`): calls, emails, meetings and notes by the
/// customer's customer-success owner while she is subscribed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InteractionParams {
    /// Interactions a month ~ Poisson(this), times `sales_led_factor` on sales-led plans.
    pub monthly_rate: f64,
    pub sales_led_factor: f64,
    /// Shares of call, email, meeting, note.
    pub kind_shares: [f64; 4],
}

impl Default for InteractionParams {
    fn default() -> Self {
        InteractionParams {
            monthly_rate: 0.4,
            sales_led_factor: 3.0,
            kind_shares: [0.3, 0.4, 0.15, 0.15],
        }
    }
}

/// Retention campaigns (`campaigns.csv`) and their touches (`touches.csv`), and the
/// campaign effect on churn.
///
/// Campaign i of `count` (0-based) is sent on the 15th of month ⌊(i + ½) · M / count⌋ of the
/// M-month window, on channel `channels[i mod len]`. Each customer subscribed on that day is
/// touched with probability `reach`, independently of everything else (a randomised
/// assignment, so touched and untouched customers are comparable). A renewal decision
/// falling strictly after a touch and before the same day `effect_months` months later has
/// churn probability `hazard_ratio` × θ (once, however many touches cover it); the effect is
/// the touch's (intention to treat), whether or not it was opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignParams {
    pub count: u32,
    pub channels: Vec<String>,
    /// Probability that a subscribed customer is touched by a campaign.
    pub reach: f64,
    /// Multiplier on the churn probability of renewal decisions within `effect_months`
    /// after a touch.
    pub hazard_ratio: f64,
    pub effect_months: u32,
    /// A campaign costs `fixed_cost` + `cost_per_touch` × its touches (USD).
    pub fixed_cost: Cents,
    pub cost_per_touch: Cents,
    /// Probability a touch is opened; clicked and replied are drawn among the opened ones.
    pub open_rate: f64,
    pub click_rate: f64,
    pub reply_rate: f64,
}

impl Default for CampaignParams {
    fn default() -> Self {
        CampaignParams {
            count: 6,
            channels: vec!["email".into(), "webinar".into(), "in_app".into()],
            reach: 0.3,
            hazard_ratio: 0.8,
            effect_months: 6,
            fixed_cost: Cents(150_000),
            cost_per_touch: Cents(150),
            open_rate: 0.45,
            click_rate: 0.25,
            reply_rate: 0.05,
        }
    }
}

/// Every parameter of a generated company. See the crate documentation for the table of
/// defaults and what each one drives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub customers: usize,
    pub seed: u64,
    /// First day of acquisition and of the observation window.
    pub start: Date,
    /// Length of the window in years; the last day observed is start + years − 1 day.
    pub years: u32,
    /// Yearly growth of the acquisition rate (0.5: 50 % more new customers a year later).
    pub acquisition_growth: f64,
    pub channels: Vec<Channel>,
    /// Standard deviation of ln(monthly channel spend / (cac × customers acquired)).
    pub cac_noise: f64,
    /// Brand spend per month (USD), written as cohort-attached acquisition costs.
    pub brand_monthly: Cents,
    /// Sales commission on sales-led deals: this share of the first year's list value,
    /// written as a customer-attached acquisition cost.
    pub commission_rate: f64,
    pub plans: Vec<Plan>,
    /// Discount of yearly billing: a year costs 12 × (1 − this) months.
    pub annual_discount: f64,
    /// Negotiated discount on sales-led plans ~ Uniform(0, this), in whole percent.
    pub negotiated_discount_max: f64,
    /// Per month of a subscription, at most one of: an upgrade to the next plan, an
    /// expansion (seats × (1 + U(0.1, 0.5))), a contraction (seats × (1 − U(0.1, 0.3)),
    /// at least 1 seat, effective at the next billing date).
    pub upgrade_rate: f64,
    pub expansion_rate: f64,
    pub contraction_rate: f64,
    /// Probability that a churned customer comes back, after 1 + Exp(mean − 1) months.
    pub reactivation_rate: f64,
    pub reactivation_gap_months: f64,
    /// Probability that an invoice is (partly) refunded: fully for a first invoice
    /// (money-back), 10–50 % otherwise (service credit).
    pub refund_rate: f64,
    /// Share of sales-led implementations amended by a change order (20–50 % of the fee).
    pub change_order_rate: f64,
    /// Gross margin of subscriptions and of services (one-off fees, change orders):
    /// cogs = amount × (1 − margin).
    pub gross_margin: f64,
    pub services_margin: f64,
    pub regions: Vec<Region>,
    /// EUR list prices are the USD ones times this, rounded to cents.
    pub eur_per_usd: f64,
    pub usage: UsageParams,
    pub feedback: FeedbackParams,
    pub service: ServiceParams,
    pub retention: RetentionParams,
    pub payments: PaymentParams,
    pub cases: CaseParams,
    pub interactions: InteractionParams,
    pub campaigns: CampaignParams,
}

impl Default for Config {
    fn default() -> Self {
        let ch = |name: &str, share, cac| Channel {
            name: name.into(),
            share,
            cac: Cents(cac),
        };
        let region = |name: &str, share, eur_share| Region {
            name: name.into(),
            share,
            eur_share,
        };
        let beta = |alpha, beta| BetaParams { alpha, beta };
        Config {
            customers: 1000,
            seed: 42,
            start: Date(NaiveDate::from_ymd_opt(2023, 1, 1).expect("2023-01-01 is a date")),
            years: 3,
            acquisition_growth: 0.5,
            channels: vec![
                ch("paid_search", 0.30, 90_000),
                ch("outbound", 0.20, 250_000),
                ch("partner", 0.15, 150_000),
                ch("referral", 0.15, 30_000),
                ch("organic", 0.20, 10_000),
            ],
            cac_noise: 0.1,
            brand_monthly: Cents(500_000),
            commission_rate: 0.10,
            plans: vec![
                Plan {
                    name: "starter".into(),
                    share: 0.55,
                    price_per_seat_month: Cents(1500),
                    annual_share: 0.15,
                    median_seats: 3.0,
                    seats_sd: 0.5,
                    churn_monthly: beta(0.9, 12.0),
                    churn_annual: beta(1.0, 3.0),
                    onboarding_fee: Cents(0),
                    onboarding_share: 0.0,
                    sales_led: false,
                },
                Plan {
                    name: "growth".into(),
                    share: 0.35,
                    price_per_seat_month: Cents(4000),
                    annual_share: 0.4,
                    median_seats: 12.0,
                    seats_sd: 0.6,
                    churn_monthly: beta(1.2, 30.0),
                    churn_annual: beta(1.5, 6.0),
                    onboarding_fee: Cents(75_000),
                    onboarding_share: 0.3,
                    sales_led: false,
                },
                Plan {
                    name: "enterprise".into(),
                    share: 0.10,
                    price_per_seat_month: Cents(9000),
                    annual_share: 0.8,
                    median_seats: 60.0,
                    seats_sd: 0.7,
                    churn_monthly: beta(1.5, 60.0),
                    churn_annual: beta(2.0, 12.0),
                    onboarding_fee: Cents(500_000),
                    onboarding_share: 1.0,
                    sales_led: true,
                },
            ],
            annual_discount: 0.15,
            negotiated_discount_max: 0.30,
            upgrade_rate: 0.005,
            expansion_rate: 0.03,
            contraction_rate: 0.015,
            reactivation_rate: 0.08,
            reactivation_gap_months: 6.0,
            refund_rate: 0.01,
            change_order_rate: 0.3,
            gross_margin: 0.80,
            services_margin: 0.30,
            regions: vec![
                region("NA", 0.55, 0.0),
                region("EU", 0.25, 0.4),
                region("APAC", 0.15, 0.0),
                region("LATAM", 0.05, 0.0),
            ],
            eur_per_usd: 0.92,
            usage: UsageParams::default(),
            feedback: FeedbackParams::default(),
            service: ServiceParams::default(),
            retention: RetentionParams::default(),
            payments: PaymentParams::default(),
            cases: CaseParams::default(),
            interactions: InteractionParams::default(),
            campaigns: CampaignParams::default(),
        }
    }
}

/// The name of the channel whose customers carry `referred_by`.
pub const REFERRAL: &str = "referral";

fn bad(name: impl Into<String>, reason: impl Into<String>) -> GenerateError {
    GenerateError::Parameter {
        name: name.into(),
        reason: reason.into(),
    }
}

fn probability(name: &str, v: f64) -> Result<(), GenerateError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(bad(name, format!("{v} is not a probability in [0, 1]")))
    }
}

/// Below 1, not only a probability: a margin or discount of 100 % would make prices vanish.
fn fraction_below_one(name: &str, v: f64) -> Result<(), GenerateError> {
    if (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(bad(name, format!("{v} must be in [0, 1)")))
    }
}

fn nonneg(name: &str, v: f64) -> Result<(), GenerateError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(bad(name, format!("{v} must be a finite number ≥ 0")))
    }
}

fn positive(name: &str, v: f64) -> Result<(), GenerateError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(bad(name, format!("{v} must be a finite number > 0")))
    }
}

/// A multiplier on a probability: finite, 0 to 100.
fn factor(name: &str, v: f64) -> Result<(), GenerateError> {
    nonneg(name, v)?;
    if v > 100.0 {
        return Err(bad(name, format!("{v} must be at most 100")));
    }
    Ok(())
}

/// Shares of a fixed list of categories: probabilities adding up to 1.
fn share_array(name: &str, v: &[f64]) -> Result<(), GenerateError> {
    for (i, &x) in v.iter().enumerate() {
        probability(&format!("{name}[{i}]"), x)?;
    }
    let total: f64 = v.iter().sum();
    if (total - 1.0).abs() > 1e-6 {
        return Err(bad(name, format!("the shares add up to {total}, not 1")));
    }
    Ok(())
}

/// Money parameters are bounded so that seats × price × 12 never overflows an i64 of cents.
fn money(name: &str, v: Cents) -> Result<(), GenerateError> {
    if (0..=10_000_000_000).contains(&v.0) {
        Ok(())
    } else {
        Err(bad(name, format!("{v} must be between 0 and 100000000.00")))
    }
}

/// Names end up in CSV cells and ids: 1–64 characters, letters, digits, `_`, `-`, `.`, space.
fn name_ok(name: &str, v: &str) -> Result<(), GenerateError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.trim() == v
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    if ok {
        Ok(())
    } else {
        Err(bad(
            name,
            format!(
                "`{v}` must be 1–64 characters: letters, digits, `_`, `-`, `.` or inner spaces"
            ),
        ))
    }
}

fn shares<'a>(
    list: &str,
    items: impl Iterator<Item = (&'a str, f64)>,
) -> Result<(), GenerateError> {
    let mut total = 0.0;
    let mut seen: Vec<&str> = Vec::new();
    for (i, (name, share)) in items.enumerate() {
        name_ok(&format!("{list}[{i}].name"), name)?;
        if seen.contains(&name) {
            return Err(bad(
                format!("{list}[{i}].name"),
                format!("`{name}` is listed twice"),
            ));
        }
        seen.push(name);
        probability(&format!("{list}[{i}].share"), share)?;
        total += share;
    }
    if seen.is_empty() {
        return Err(bad(list, "must list at least one"));
    }
    if (total - 1.0).abs() > 1e-6 {
        return Err(bad(list, format!("the shares add up to {total}, not 1")));
    }
    Ok(())
}

impl Config {
    /// Read a parameters file (JSON, e.g. a generated `parameters.json`); fields left out
    /// take their defaults. The result is validated.
    pub fn from_json(text: &str) -> Result<Config, GenerateError> {
        let json = |e: serde_json::Error| GenerateError::Json(e.to_string());
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(json)?;
        // What `ParametersFile` adds around the config is informative, not a parameter.
        if let Some(map) = value.as_object_mut() {
            map.remove("generator");
            map.remove("observed_until");
            map.remove("truth");
        }
        let config: Config = serde_json::from_value(value).map_err(json)?;
        config.validate()?;
        Ok(config)
    }

    /// The last day observed: start + `years` − 1 day.
    pub fn observed_until(&self) -> NaiveDate {
        self.start
            .0
            .checked_add_months(Months::new(12 * self.years))
            .and_then(|d| d.pred_opt())
            .expect("validate bounds start and years, so the window's end is a date")
    }

    /// Check every parameter; errors name the parameter (`plans[1].share`) and the reason.
    pub fn validate(&self) -> Result<(), GenerateError> {
        if self.customers == 0 || self.customers > 100_000_000 {
            return Err(bad("customers", "must be between 1 and 100000000"));
        }
        let y = self.start.0.year();
        if !(1900..=9000).contains(&y) {
            return Err(bad("start", format!("year {y} is outside 1900–9000")));
        }
        if !(1..=50).contains(&self.years) {
            return Err(bad("years", format!("{} is outside 1–50", self.years)));
        }
        nonneg("acquisition_growth", self.acquisition_growth)?;
        if self.acquisition_growth > 100.0 {
            return Err(bad(
                "acquisition_growth",
                "must be at most 100 (10000 % a year)",
            ));
        }
        shares(
            "channels",
            self.channels.iter().map(|c| (c.name.as_str(), c.share)),
        )?;
        for (i, c) in self.channels.iter().enumerate() {
            money(&format!("channels[{i}].cac"), c.cac)?;
        }
        if self.channels.iter().any(|c| c.name == REFERRAL)
            && self.channels.iter().all(|c| c.name == REFERRAL)
        {
            return Err(bad(
                "channels",
                "needs a channel besides `referral` (the first customers cannot be referred)",
            ));
        }
        nonneg("cac_noise", self.cac_noise)?;
        if self.cac_noise > 3.0 {
            return Err(bad("cac_noise", "must be at most 3"));
        }
        money("brand_monthly", self.brand_monthly)?;
        probability("commission_rate", self.commission_rate)?;
        shares(
            "plans",
            self.plans.iter().map(|p| (p.name.as_str(), p.share)),
        )?;
        for (i, p) in self.plans.iter().enumerate() {
            let n = |f: &str| format!("plans[{i}].{f}");
            money(&n("price_per_seat_month"), p.price_per_seat_month)?;
            money(&n("onboarding_fee"), p.onboarding_fee)?;
            probability(&n("annual_share"), p.annual_share)?;
            probability(&n("onboarding_share"), p.onboarding_share)?;
            positive(&n("median_seats"), p.median_seats)?;
            if p.median_seats > 100_000.0 {
                return Err(bad(n("median_seats"), "must be at most 100000"));
            }
            nonneg(&n("seats_sd"), p.seats_sd)?;
            if p.seats_sd > 3.0 {
                return Err(bad(n("seats_sd"), "must be at most 3"));
            }
            for (f, b) in [
                ("churn_monthly", p.churn_monthly),
                ("churn_annual", p.churn_annual),
            ] {
                positive(&n(&format!("{f}.alpha")), b.alpha)?;
                positive(&n(&format!("{f}.beta")), b.beta)?;
            }
        }
        fraction_below_one("annual_discount", self.annual_discount)?;
        fraction_below_one("negotiated_discount_max", self.negotiated_discount_max)?;
        for (name, v) in [
            ("upgrade_rate", self.upgrade_rate),
            ("expansion_rate", self.expansion_rate),
            ("contraction_rate", self.contraction_rate),
        ] {
            probability(name, v)?;
        }
        if self.upgrade_rate + self.expansion_rate + self.contraction_rate > 1.0 {
            return Err(bad(
                "upgrade_rate",
                "upgrade_rate + expansion_rate + contraction_rate must be at most 1 (one change a month)",
            ));
        }
        probability("reactivation_rate", self.reactivation_rate)?;
        if !(1.0..=120.0).contains(&self.reactivation_gap_months) {
            return Err(bad("reactivation_gap_months", "must be between 1 and 120"));
        }
        probability("refund_rate", self.refund_rate)?;
        probability("change_order_rate", self.change_order_rate)?;
        fraction_below_one("gross_margin", self.gross_margin)?;
        fraction_below_one("services_margin", self.services_margin)?;
        shares(
            "regions",
            self.regions.iter().map(|r| (r.name.as_str(), r.share)),
        )?;
        for (i, r) in self.regions.iter().enumerate() {
            probability(&format!("regions[{i}].eur_share"), r.eur_share)?;
        }
        positive("eur_per_usd", self.eur_per_usd)?;
        if self.eur_per_usd > 100.0 {
            return Err(bad("eur_per_usd", "must be at most 100"));
        }

        let u = &self.usage;
        if u.users_per_customer > 1000 {
            return Err(bad("usage.users_per_customer", "must be at most 1000"));
        }
        probability("usage.decline", u.decline)?;
        if u.decline_weeks > 520 {
            return Err(bad("usage.decline_weeks", "must be at most 520"));
        }
        nonneg("usage.engagement_sd", u.engagement_sd)?;
        if u.engagement_sd > 3.0 {
            return Err(bad("usage.engagement_sd", "must be at most 3"));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, f) in u.features.iter().enumerate() {
            name_ok(&format!("usage.features[{i}].name"), &f.name)?;
            if seen.contains(&f.name.as_str()) {
                return Err(bad(
                    format!("usage.features[{i}].name"),
                    format!("`{}` is listed twice", f.name),
                ));
            }
            seen.push(&f.name);
            probability(&format!("usage.features[{i}].weekly_share"), f.weekly_share)?;
            if !(f.mean_actions.is_finite() && (1.0..=1e6).contains(&f.mean_actions)) {
                return Err(bad(
                    format!("usage.features[{i}].mean_actions"),
                    format!("{} must be between 1 and 1000000", f.mean_actions),
                ));
            }
        }

        let fb = &self.feedback;
        if fb.nps_every_months == 0 {
            return Err(bad("feedback.nps_every_months", "must be at least 1"));
        }
        for (name, v) in [
            ("feedback.nps_response", fb.nps_response),
            ("feedback.csat_response", fb.csat_response),
            ("feedback.comment_share", fb.comment_share),
        ] {
            probability(name, v)?;
        }
        for (name, v) in [
            ("feedback.nps_base", fb.nps_base),
            ("feedback.nps_tenure_slope", fb.nps_tenure_slope),
            ("feedback.nps_health_slope", fb.nps_health_slope),
            ("feedback.csat_base", fb.csat_base),
            ("feedback.csat_health_slope", fb.csat_health_slope),
        ] {
            if !v.is_finite() {
                return Err(bad(name, format!("{v} must be finite")));
            }
        }
        nonneg("feedback.nps_sd", fb.nps_sd)?;
        nonneg("feedback.csat_sd", fb.csat_sd)?;

        let s = &self.service;
        nonneg("service.ticket_rate", s.ticket_rate)?;
        if s.ticket_rate > 100.0 {
            return Err(bad("service.ticket_rate", "must be at most 100 a month"));
        }
        nonneg("service.decline_uplift", s.decline_uplift)?;
        if s.decline_uplift > 100.0 {
            return Err(bad("service.decline_uplift", "must be at most 100"));
        }
        money("service.ticket_cost", s.ticket_cost)?;
        nonneg("service.ticket_cost_sd", s.ticket_cost_sd)?;
        if s.ticket_cost_sd > 3.0 {
            return Err(bad("service.ticket_cost_sd", "must be at most 3"));
        }

        let r = &self.retention;
        money("retention.csm_monthly", r.csm_monthly)?;
        money("retention.save_offer_cost", r.save_offer_cost)?;
        probability("retention.save_detect", r.save_detect)?;
        probability("retention.save_false_alarm", r.save_false_alarm)?;
        if r.save_lead_weeks > 520 {
            return Err(bad("retention.save_lead_weeks", "must be at most 520"));
        }

        let pa = &self.payments;
        for (name, v) in [
            ("payments.troubled_share", pa.troubled_share),
            ("payments.troubled_failure_rate", pa.troubled_failure_rate),
            ("payments.dunning_resolve", pa.dunning_resolve),
            ("payments.isolated_failure_rate", pa.isolated_failure_rate),
            ("payments.chargeback_rate", pa.chargeback_rate),
        ] {
            probability(name, v)?;
        }
        factor("payments.troubled_churn_factor", pa.troubled_churn_factor)?;
        if pa.trouble_window_days > 3660 {
            return Err(bad("payments.trouble_window_days", "must be at most 3660"));
        }

        let ca = &self.cases;
        share_array("cases.severity_shares", &ca.severity_shares)?;
        for (i, &v) in ca.escalation.iter().enumerate() {
            probability(&format!("cases.escalation[{i}]"), v)?;
        }
        for (i, &v) in ca.resolution_days.iter().enumerate() {
            nonneg(&format!("cases.resolution_days[{i}]"), v)?;
            if v > 90.0 {
                return Err(bad(
                    format!("cases.resolution_days[{i}]"),
                    "must be at most 90",
                ));
            }
        }
        probability("cases.pending_share", ca.pending_share)?;

        let it = &self.interactions;
        nonneg("interactions.monthly_rate", it.monthly_rate)?;
        if it.monthly_rate > 100.0 {
            return Err(bad(
                "interactions.monthly_rate",
                "must be at most 100 a month",
            ));
        }
        factor("interactions.sales_led_factor", it.sales_led_factor)?;
        share_array("interactions.kind_shares", &it.kind_shares)?;

        let cp = &self.campaigns;
        if cp.count > 100 {
            return Err(bad("campaigns.count", "must be at most 100"));
        }
        if cp.count > 0 && cp.channels.is_empty() {
            return Err(bad("campaigns.channels", "must list at least one channel"));
        }
        for (i, c) in cp.channels.iter().enumerate() {
            name_ok(&format!("campaigns.channels[{i}]"), c)?;
        }
        for (name, v) in [
            ("campaigns.reach", cp.reach),
            ("campaigns.open_rate", cp.open_rate),
            ("campaigns.click_rate", cp.click_rate),
            ("campaigns.reply_rate", cp.reply_rate),
        ] {
            probability(name, v)?;
        }
        factor("campaigns.hazard_ratio", cp.hazard_ratio)?;
        if cp.effect_months > 120 {
            return Err(bad("campaigns.effect_months", "must be at most 120"));
        }
        money("campaigns.fixed_cost", cp.fixed_cost)?;
        money("campaigns.cost_per_touch", cp.cost_per_touch)?;
        Ok(())
    }
}

/// The layout of `parameters.json`: what produced the files, the last day they observe,
/// the parameters (the [`Config`] fields, flattened) and, after a generation, the truth
/// (`crate::Truth::to_json`: who was payment-troubled, who was touched, and the effects'
/// definitions). Read it back with [`Config::from_json`] (which ignores the truth).
#[derive(Debug, Clone, Serialize)]
pub struct ParametersFile {
    /// `tenure-generate <version>`; results are reproducible for one version.
    pub generator: String,
    /// The last day observed (inclusive); nothing in the files is dated later.
    pub observed_until: Date,
    #[serde(flatten)]
    pub config: Config,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truth: Option<serde_json::Value>,
}

impl ParametersFile {
    pub fn new(config: &Config) -> ParametersFile {
        ParametersFile {
            generator: format!("tenure-generate {}", env!("CARGO_PKG_VERSION")),
            observed_until: Date(config.observed_until()),
            config: config.clone(),
            truth: None,
        }
    }

    /// The same, with the truth of a generation.
    pub fn with_truth(mut self, truth: serde_json::Value) -> ParametersFile {
        self.truth = Some(truth);
        self
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .expect("parameters serialise: plain numbers, strings and lists");
        s.push('\n');
        s
    }
}
