//! Tenure's decision layer: from what each customer is worth and how she behaves to what to do
//! about her.
//!
//! - [`facts`]: one day's view of each customer (realised and predicted profit, P(alive) or
//!   renewal probability, usage trend, newest NPS, support load, payment state, referrals),
//!   from the value reports of `tenure-reports` and records dated on or before that day;
//! - [`forecast`]: next purchase window and P(purchase in 30/90 days), next renewal with its
//!   likelihood and expected value, expansion propensity from the dataset's own past;
//! - [`segments`]: CLV segments (key, potential key, general, never profitable), each with the
//!   retention plan of [`config::Plans`];
//! - [`health`]: a weighted, explained score; missing inputs re-weighted, never scored 0;
//! - [`advocacy`]: promoters × healthy × tenured, ranked;
//! - [`stages`]: lifecycle stages Deliver → Develop → Retain → Grow with since and reason,
//!   transitions and the funnel;
//! - [`playbooks`]: `when` trigger `if` conditions `then` actions, evaluated into outbox fires;
//! - [`config`]: `tenure.toml`, validated at load, every key defaulted.
//!
//! Invariants: no I/O, clock or environment (the CLI reads the file and the store and picks
//! the day); everything is a deterministic function of the dataset, the day and the config.
//! Money is integer minor units of the report currency; `f64` only for scores and ratios.
//!
//! ```
//! use tenure_act::config::Config;
//! let cfg = Config::parse("[health.weights]\nnps = 40\n", "tenure.toml").unwrap();
//! assert_eq!(cfg.health.weights.nps, 40.0);
//! let err = Config::parse("[health]\nweight = 1\n", "tenure.toml").unwrap_err();
//! assert_eq!((err.line, err.column), (2, 1));
//! ```

pub mod advocacy;
pub mod config;
pub mod day;
pub mod facts;
pub mod forecast;
pub mod health;
pub mod playbooks;
pub mod review;
pub mod segments;
pub mod stages;

pub use config::{Config, ConfigError};
pub use day::{decide, plan_day, DayPlan, Decisions, Journaled};
pub use facts::{facts, Facts};
pub use forecast::{forecasts, Forecast, ForecastKind};
pub use health::{health, Band, Health};
pub use segments::{segment, thresholds, Assignment, Segment, Thresholds};
