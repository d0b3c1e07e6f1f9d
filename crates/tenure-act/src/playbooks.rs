//! Playbooks: `when <trigger> [if <conditions>] then <actions>`. (Being written.)

use serde::Deserialize;

/// One `[[playbooks]]` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {}

/// One `[webhooks.NAME]` endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {}

/// `[smtp]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {}

/// `[delivery]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {}

/// Checks across keys of the whole configuration: (the key to blame, why).
pub(crate) fn check(_cfg: &crate::Config) -> Result<(), (&'static str, String)> {
    Ok(())
}
