//! `tenure.toml`: every setting of the decision layer in one file, validated at load.
//!
//! Every key has a default, so an empty file (or none) is a valid configuration. Unknown keys
//! are errors (a typo must not silently fall back to a default), and so are values out of
//! range; both are reported with the key, line and column ([`ConfigError`]). Durations carry
//! their unit (`28d`, `12w`, `6mo`), amounts are decimals in the report currency, never
//! floats.

use rust_decimal::Decimal;
use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use std::collections::BTreeMap;
use tenure_core::{Duration, Rate, TimeUnit};

/// A configuration that could not be loaded: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the error has no position.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The whole decision-layer configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Report currency (ISO 4217); `None`: the store's only currency.
    pub currency: Option<String>,
    pub value: ValueSettings,
    pub usage: UsageSettings,
    pub segments: SegmentSettings,
    pub health: HealthSettings,
    pub advocacy: AdvocacySettings,
    pub stages: crate::stages::StageSettings,
    /// `[[playbooks]]`: the rules, in evaluation order.
    pub playbooks: Vec<crate::playbooks::Rule>,
    /// `[webhooks.NAME]`: endpoints the rules' webhook actions name.
    pub webhooks: BTreeMap<String, crate::playbooks::Webhook>,
    pub smtp: Option<crate::playbooks::Smtp>,
    pub delivery: crate::playbooks::DeliverySettings,
}

impl Config {
    /// Parse and validate `text`, naming `file` in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_column(text, s.start))
                .unwrap_or((0, 0));
            let message = e.message().trim();
            // Name the key written on that line, when there is one (`key = value`).
            let key = text
                .lines()
                .nth(line.saturating_sub(1))
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().trim_matches('"'))
                .filter(|k| !k.is_empty() && !k.starts_with('['));
            ConfigError {
                file: file.to_string(),
                line,
                column,
                message: match key {
                    Some(k) if !message.contains(&format!("`{k}`")) => format!("`{k}`: {message}"),
                    _ => message.to_string(),
                },
            }
        })?;
        cfg.check().map_err(|(key, message)| {
            let (line, column) = find_key(text, key).unwrap_or((0, 0));
            ConfigError {
                file: file.to_string(),
                line,
                column,
                message: format!("`{key}`: {message}"),
            }
        })?;
        Ok(cfg)
    }

    /// Checks that involve more than one key: (the key to blame, why).
    fn check(&self) -> Result<(), (&'static str, String)> {
        self.stages.check()?;
        crate::playbooks::check(self)?;
        let h = &self.health;
        if h.bands.at_risk_below > h.bands.healthy_from {
            return Err((
                "at_risk_below",
                format!(
                    "{} is above healthy_from ({}): the bands overlap",
                    h.bands.at_risk_below, h.bands.healthy_from
                ),
            ));
        }
        let w = &h.weights;
        if [w.usage_trend, w.p_alive, w.nps, w.support, w.payment]
            .iter()
            .all(|v| *v == 0.0)
        {
            return Err(("weights", "every health weight is 0".into()));
        }
        for (key, r) in [
            ("usage_trend", &h.usage_trend),
            ("p_alive", &h.p_alive),
            ("support", &h.support),
            ("case_load", &h.case_load),
        ] {
            if r.zero_at == r.full_at {
                return Err((key, "zero_at and full_at are equal".into()));
            }
        }
        Ok(())
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where `key = …` is written (first occurrence), or `[..key]` / `[..key.…]` for a table.
fn find_key(text: &str, key: &str) -> Option<(usize, usize)> {
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        let indent = l.len() - t.len();
        let bare = t.strip_prefix(key).is_some_and(|r| {
            let r = r.trim_start();
            r.starts_with('=')
        });
        let table = t.starts_with('[')
            && t.trim_start_matches('[')
                .trim_end_matches(']')
                .split('.')
                .any(|p| p.trim() == key);
        if bare || table {
            return Some((i + 1, indent + 1));
        }
    }
    None
}

/// A duration with its unit (`28d`, `12w`, `6mo`, `1y`), whole days ≥ 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Days(pub u32);

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let dur: Duration = s
            .parse()
            .map_err(|e| D::Error::custom(format!("`{s}`: {e}")))?;
        let days = dur.in_unit(TimeUnit::Days).round();
        if !(1.0..=36_600.0).contains(&days) {
            return Err(D::Error::custom(format!(
                "`{s}`: between 1 day and 100 years"
            )));
        }
        Ok(Days(days as u32))
    }
}

/// A fraction in [0, 1].
fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(D::Error::custom(format!("{v} is not between 0 and 1")));
    }
    Ok(v)
}

/// A finite number ≥ 0.
fn non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(D::Error::custom(format!("{v} must be a number ≥ 0")));
    }
    Ok(v)
}

/// A finite number.
fn finite<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !v.is_finite() {
        return Err(D::Error::custom(format!("{v} is not a finite number")));
    }
    Ok(v)
}

/// A decimal amount ≥ 0 written as a string (`"1200.00"`), so it never passes through a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v: Decimal = s.trim().parse().map_err(|_| {
            D::Error::custom(format!(
                "`{s}` is not a decimal amount (write it as a string, e.g. \"1200.00\")"
            ))
        })?;
        if v.is_sign_negative() {
            return Err(D::Error::custom(format!("`{s}`: an amount must be ≥ 0")));
        }
        Ok(Amount(v))
    }
}

/// Settings of the value and prediction behind segments and health.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValueSettings {
    /// Share of a referred customer's net revenue credited to her referrer.
    #[serde(deserialize_with = "fraction")]
    pub referral_share: f64,
    /// Discount rate of predicted profit, per a stated period (`1%/mo`).
    #[serde(deserialize_with = "rate")]
    pub discount_rate: Rate,
    /// Horizon of a purchase customer's predicted value.
    pub horizon: Days,
}

fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
    let s = String::deserialize(d)?;
    s.parse()
        .map_err(|e| D::Error::custom(format!("`{s}`: {e}")))
}

impl Default for ValueSettings {
    fn default() -> Self {
        ValueSettings {
            referral_share: 0.10,
            discount_rate: Rate::new(0.01, TimeUnit::Months).unwrap_or_else(|_| unreachable!()),
            horizon: Days(1096),
        }
    }
}

/// Settings of the usage measures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsageSettings {
    /// The recent window of the usage trend (ends on the as-of day).
    pub window: Days,
    /// The baseline the recent window is compared with (just before it).
    pub baseline: Days,
    /// Weight of a feature's actions (others weigh 1).
    pub weights: BTreeMap<String, f64>,
    /// The feature whose first use is the customer's first value; `None`: any usage.
    pub value_event: Option<String>,
}

impl Default for UsageSettings {
    fn default() -> Self {
        UsageSettings {
            window: Days(28),
            baseline: Days(91),
            weights: BTreeMap::new(),
            value_event: None,
        }
    }
}

/// Where "high" starts: a quantile of the customers' values, or an amount.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Threshold {
    /// High = at or above this quantile (0.8: the top 20 %).
    Quantile(#[serde(deserialize_with = "fraction")] f64),
    /// High = at or above this amount of the report currency.
    Amount(Amount),
}

/// A retention plan: what a segment's customers get.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPlan {
    /// Channels of contact, in order of preference.
    pub channels: Vec<String>,
    /// How often each customer is contacted.
    pub cadence: Days,
    /// Retention budget per customer and year, report currency.
    pub budget_per_year: Amount,
}

/// The four segments' thresholds and plans.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentSettings {
    /// High realised value (profit to date).
    pub high_realised: Threshold,
    /// High predicted value (future profit).
    pub high_predicted: Threshold,
    pub plans: Plans,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Plans {
    pub key: RetentionPlan,
    pub potential_key: RetentionPlan,
    pub general: RetentionPlan,
    pub never_profitable: RetentionPlan,
}

fn plan(channels: &[&str], cadence_days: u32, budget: i64) -> RetentionPlan {
    RetentionPlan {
        channels: channels.iter().map(|c| c.to_string()).collect(),
        cadence: Days(cadence_days),
        budget_per_year: Amount(Decimal::new(budget, 0)),
    }
}

impl Default for Plans {
    fn default() -> Self {
        Plans {
            key: plan(&["csm", "executive_review", "email"], 30, 2000),
            potential_key: plan(&["csm", "email", "in_app"], 30, 800),
            general: plan(&["email", "in_app"], 91, 100),
            never_profitable: plan(&["in_app"], 182, 0),
        }
    }
}

impl Default for SegmentSettings {
    fn default() -> Self {
        SegmentSettings {
            high_realised: Threshold::Quantile(0.8),
            high_predicted: Threshold::Quantile(0.8),
            plans: Plans::default(),
        }
    }
}

/// Weights of the health components (any scale; only ratios matter).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    #[serde(deserialize_with = "non_negative")]
    pub usage_trend: f64,
    #[serde(deserialize_with = "non_negative")]
    pub p_alive: f64,
    #[serde(deserialize_with = "non_negative")]
    pub nps: f64,
    #[serde(deserialize_with = "non_negative")]
    pub support: f64,
    #[serde(deserialize_with = "non_negative")]
    pub payment: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            usage_trend: 45.0,
            p_alive: 10.0,
            nps: 20.0,
            support: 15.0,
            payment: 10.0,
        }
    }
}

/// A linear ramp: the component scores 0 at `zero_at`, full at `full_at`, linear between.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    #[serde(deserialize_with = "finite")]
    pub zero_at: f64,
    #[serde(deserialize_with = "finite")]
    pub full_at: f64,
}

impl Ramp {
    /// The fraction of full points at `v`, in [0, 1].
    pub fn at(&self, v: f64) -> f64 {
        ((v - self.zero_at) / (self.full_at - self.zero_at)).clamp(0.0, 1.0)
    }
}

/// Score bands, in points out of 100.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bands {
    #[serde(deserialize_with = "non_negative")]
    pub healthy_from: f64,
    #[serde(deserialize_with = "non_negative")]
    pub at_risk_below: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            healthy_from: 75.0,
            at_risk_below: 60.0,
        }
    }
}

/// The health score's components, ramps and bands.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthSettings {
    pub weights: Weights,
    pub bands: Bands,
    /// Usage trend = recent rate / baseline rate − 1 (−0.5: half the usage).
    pub usage_trend: Ramp,
    /// P(alive) (purchase customers) or the probability of the next renewal (subscribers).
    pub p_alive: Ramp,
    /// Support tickets (service costs attached to the customer) per 30 days over `lookback`:
    /// the support input when the store holds no support case.
    pub support: Ramp,
    /// The support input when the store holds support cases: the case load, Σ over her open
    /// cases of `severity_weights[severity − 1]` plus `escalation_weight` per escalated case
    /// opened within `lookback` (the schema has no escalation date, so the opening day
    /// stands for it).
    pub case_load: Ramp,
    /// Weight of an open case of severity 1 (outage), 2, 3, 4 (question).
    #[serde(deserialize_with = "non_negative4")]
    pub severity_weights: [f64; 4],
    #[serde(deserialize_with = "non_negative")]
    pub escalation_weight: f64,
    /// The payment input when the store holds payment events: fraction = 1 −
    /// `failed_payment_penalty` × failed payments within `lookback`, floored at 0, and 0 while
    /// in dunning (a `dunning_started` with no `dunning_resolved` on or after it).
    #[serde(deserialize_with = "non_negative")]
    pub failed_payment_penalty: f64,
    /// The window of support load and payment problems.
    pub lookback: Days,
    /// The newest NPS answer counts if it is at most this old.
    pub nps_within: Days,
    /// Points (fraction of the component) for a detractor (0–6), passive (7–8), promoter (9–10).
    #[serde(deserialize_with = "fractions3")]
    pub nps_points: [f64; 3],
    /// The score's history: this many earlier scores, one every `trend_step`.
    pub trend_points: u32,
    pub trend_step: Days,
}

fn non_negative4<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 4], D::Error> {
    let v = <[f64; 4]>::deserialize(d)?;
    if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(D::Error::custom("every value must be ≥ 0"));
    }
    Ok(v)
}

fn fractions3<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 3], D::Error> {
    let v = <[f64; 3]>::deserialize(d)?;
    if v.iter().any(|x| !(0.0..=1.0).contains(x)) {
        return Err(D::Error::custom("every value must be between 0 and 1"));
    }
    Ok(v)
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            weights: Weights::default(),
            bands: Bands::default(),
            usage_trend: Ramp {
                zero_at: -0.5,
                full_at: 0.0,
            },
            p_alive: Ramp {
                zero_at: 0.3,
                full_at: 0.95,
            },
            support: Ramp {
                zero_at: 3.0,
                full_at: 0.5,
            },
            case_load: Ramp {
                zero_at: 8.0,
                full_at: 0.0,
            },
            severity_weights: [4.0, 2.0, 1.0, 0.5],
            escalation_weight: 2.0,
            failed_payment_penalty: 0.25,
            lookback: Days(90),
            nps_within: Days(365),
            nps_points: [0.0, 0.5, 1.0],
            trend_points: 3,
            trend_step: Days(30),
        }
    }
}

/// Who may join the reference team.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdvocacySettings {
    /// Least NPS score of the newest answer (within `health.nps_within`).
    pub min_nps: u8,
    /// Least health score.
    #[serde(deserialize_with = "non_negative")]
    pub min_health: f64,
    /// Least time since acquisition.
    pub min_tenure: Days,
    /// At most this many candidates are listed.
    pub limit: usize,
}

impl Default for AdvocacySettings {
    fn default() -> Self {
        AdvocacySettings {
            min_nps: 9,
            min_health: 70.0,
            min_tenure: Days(182),
            limit: 50,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(Config::parse("", "t.toml").unwrap(), Config::default());
    }

    /// The documented file states exactly the defaults.
    #[test]
    fn the_documented_file_is_the_defaults() {
        let text = include_str!("../../../docs/tenure.toml");
        assert_eq!(
            Config::parse(text, "docs/tenure.toml").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn values_are_read() {
        let c = Config::parse(
            r#"
currency = "EUR"
[segments]
high_realised = { amount = "5000.00" }
high_predicted = { quantile = 0.9 }
[segments.plans.key]
channels = ["csm"]
cadence = "2w"
budget_per_year = "1500.50"
[health.weights]
nps = 0
[usage]
window = "4w"
"#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.currency.as_deref(), Some("EUR"));
        assert_eq!(
            c.segments.high_realised,
            Threshold::Amount(Amount(Decimal::new(500_000, 2)))
        );
        assert_eq!(c.segments.high_predicted, Threshold::Quantile(0.9));
        assert_eq!(c.segments.plans.key.cadence, Days(14));
        assert_eq!(
            c.segments.plans.key.budget_per_year,
            Amount(Decimal::new(150_050, 2))
        );
        assert_eq!(c.health.weights.nps, 0.0);
        assert_eq!(c.health.weights.usage_trend, 45.0);
        assert_eq!(c.usage.window, Days(28));
    }

    /// Each bad file: the line, column and a phrase of the message.
    #[test]
    fn errors_name_the_key_and_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("[health]\nweigths = {}\n", 2, "unknown field `weigths`"),
            ("[usage]\nwindow = \"28\"\n", 2, "`28`"),
            ("[usage]\nwindow = \"0d\"\n", 2, "between 1 day"),
            (
                "[segments]\nhigh_realised = { quantile = 1.5 }\n",
                2,
                "not between 0 and 1",
            ),
            (
                "[segments]\nhigh_realised = { amount = 5000.0 }\n",
                2,
                "string",
            ),
            ("[health.weights]\nnps = -1\n", 2, "≥ 0"),
            (
                "[health.bands]\nhealthy_from = 40\nat_risk_below = 60\n",
                3,
                "overlap",
            ),
            (
                "[health.weights]\nusage_trend = 0\np_alive = 0\nnps = 0\nsupport = 0\npayment = 0\n",
                1,
                "every health weight is 0",
            ),
            ("[value]\ndiscount_rate = \"1%\"\n", 2, "discount_rate"),
            ("currency = 5\n", 1, "string"),
            ("[segments\n", 1, ""),
        ];
        for (text, line, phrase) in cases {
            let e = Config::parse(text, "t.toml").unwrap_err();
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.to_string().contains(phrase), "{text:?}: {e}");
            assert!(e.to_string().starts_with("t.toml:"), "{e}");
        }
    }
}
