//! Lifecycle stages Deliver → Develop → Retain → Grow. (Being written.)

use serde::Deserialize;

/// `[stages]` in `tenure.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StageSettings {}

impl StageSettings {
    /// Checks across keys: (the key to blame, why).
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        Ok(())
    }
}
