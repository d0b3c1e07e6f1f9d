//! The customer's view of value, with usage as the proxy.
//!
//! - **Usage value index**: Σ_f w_f × (actions on feature f in the window) — the weights are
//!   configurable per feature (default 1) — divided by the median of the same sum over the
//!   customers with any usage in the window, × 100: the median active customer scores 100,
//!   one with twice her weighted actions 200. The previous window uses the same divisor, so
//!   the **trend** (index now − index then) is a real change.
//! - **Adoption breadth**: features used in the window ÷ features in the catalogue (every
//!   feature seen in the records, or the configured weights' features, with weight > 0).
//! - **Adoption depth**: actions in the window ÷ (active users × weeks in the window): how
//!   intensively the people who use the product use it (events without a user count as one
//!   user).
//! - **Time to first value**: days from acquisition to the first configured value event (a
//!   feature, with at least a quantity) on or after the acquisition day; `None` if not yet.

use crate::calendar::Day;
use crate::groups::Grouping;
use crate::ReportError;
use tenure_store::dataset::{CustomerIdx, NameId};
use tenure_store::Dataset;

/// Settings of the customer's view.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageConfig {
    pub as_of: Day,
    /// Window length, days (the window ends on `as_of`; the previous one just before it).
    pub window_days: u32,
    /// (feature, weight); features not listed get `default_weight`.
    pub weights: Vec<(String, f64)>,
    pub default_weight: f64,
    /// The value event: a feature and the least quantity that counts; `None`: any usage.
    pub value_event: Option<(String, f64)>,
}

impl UsageConfig {
    pub fn new(as_of: Day) -> UsageConfig {
        UsageConfig {
            as_of,
            window_days: 28,
            weights: Vec::new(),
            default_weight: 1.0,
            value_event: None,
        }
    }
}

/// One customer's view.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerUsage {
    pub customer: CustomerIdx,
    /// Weighted actions in the window (before normalising) and in the previous window.
    pub raw: f64,
    pub raw_previous: f64,
    pub index: Option<f64>,
    pub index_previous: Option<f64>,
    pub breadth: f64,
    pub breadth_previous: f64,
    pub depth: Option<f64>,
    pub depth_previous: Option<f64>,
    pub active_users: u32,
    pub time_to_first_value_days: Option<u32>,
}

/// A group's summary of the customer's view.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageGroup {
    pub label: String,
    pub customers: u64,
    /// Customers with usage in the window.
    pub active: u64,
    pub median_index: Option<f64>,
    pub mean_breadth: Option<f64>,
    pub mean_depth: Option<f64>,
    pub reached_value: u64,
    pub median_time_to_first_value_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UsageReport {
    pub as_of: Day,
    pub window_days: u32,
    /// The median weighted actions that scores 100 (`None`: no usage in the window).
    pub normaliser: Option<f64>,
    /// The catalogue of features breadth is measured against.
    pub features: Vec<String>,
    pub customers: Vec<CustomerUsage>,
    pub grouping: String,
    pub total: UsageGroup,
    pub groups: Vec<UsageGroup>,
}

/// One window's tally: weighted actions, features used, users, actions.
type Window = (f64, Vec<NameId>, Vec<Option<NameId>>, f64);

fn median_f(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Compute every customer's view to `cfg.as_of`.
pub fn usage_report(
    data: &Dataset,
    cfg: &UsageConfig,
    grouping: &Grouping,
) -> Result<UsageReport, ReportError> {
    if !data.loaded.usage {
        return Err(ReportError::NotLoaded("usage events"));
    }
    if cfg.window_days == 0 {
        return Err(ReportError::Setting(
            "the usage window must be at least one day".into(),
        ));
    }
    // Weight of each interned name (features share the names table).
    let weight_of = |f: NameId| -> f64 {
        let n = data.name(f);
        cfg.weights
            .iter()
            .find(|(k, _)| k == n)
            .map_or(cfg.default_weight, |(_, w)| *w)
    };
    let mut seen: Vec<NameId> = data.usage.iter().map(|u| u.feature).collect();
    seen.sort_unstable();
    seen.dedup();
    let mut features: Vec<String> = seen
        .iter()
        .filter(|f| weight_of(**f) > 0.0)
        .map(|f| data.name(*f).to_string())
        .collect();
    for (k, w) in &cfg.weights {
        if *w > 0.0 && !features.contains(k) {
            features.push(k.clone());
        }
    }
    features.sort();
    let catalogue = features.len().max(1) as f64;
    let w = i64::from(cfg.window_days);
    let (cur_from, prev_from) = (cfg.as_of - w as Day + 1, cfg.as_of - 2 * w as Day + 1);
    let weeks = f64::from(cfg.window_days) / 7.0;
    let value_feature = cfg
        .value_event
        .as_ref()
        .map(|(f, q)| (data.names.get(f), *q));

    let mut customers = Vec::with_capacity(data.len());
    for c in 0..data.len() as CustomerIdx {
        let acquired = data.customers[c as usize].acquired;
        let mut acc: [Window; 2] = Default::default();
        let mut ttfv = None;
        for u in data.usage_of(c) {
            if u.day > cfg.as_of {
                break;
            }
            if ttfv.is_none() && u.day >= acquired {
                let hit = match value_feature {
                    None => true,
                    Some((Some(f), q)) => u.feature == f && u.quantity >= q,
                    Some((None, _)) => false,
                };
                if hit {
                    ttfv = Some((u.day - acquired) as u32);
                }
            }
            let slot = if u.day >= cur_from {
                0
            } else if u.day >= prev_from {
                1
            } else {
                continue;
            };
            let a = &mut acc[slot];
            a.0 += weight_of(u.feature) * u.quantity;
            a.3 += u.quantity;
            if weight_of(u.feature) > 0.0 && !a.1.contains(&u.feature) {
                a.1.push(u.feature);
            }
            if !a.2.contains(&u.user) {
                a.2.push(u.user);
            }
        }
        let depth = |a: &Window| (!a.2.is_empty()).then(|| a.3 / (a.2.len() as f64 * weeks));
        customers.push(CustomerUsage {
            customer: c,
            raw: acc[0].0,
            raw_previous: acc[1].0,
            index: None,
            index_previous: None,
            breadth: acc[0].1.len() as f64 / catalogue,
            breadth_previous: acc[1].1.len() as f64 / catalogue,
            depth: depth(&acc[0]),
            depth_previous: depth(&acc[1]),
            active_users: acc[0].2.len() as u32,
            time_to_first_value_days: ttfv,
        });
    }
    let mut positive: Vec<f64> = customers
        .iter()
        .map(|u| u.raw)
        .filter(|r| *r > 0.0)
        .collect();
    let normaliser = median_f(&mut positive);
    if let Some(n) = normaliser {
        for u in &mut customers {
            u.index = Some(100.0 * u.raw / n);
            u.index_previous = Some(100.0 * u.raw_previous / n);
        }
    }
    let summarise = |label: &str, members: &mut dyn Iterator<Item = &CustomerUsage>| {
        let (mut n, mut active, mut reached) = (0u64, 0u64, 0u64);
        let (mut idx, mut breadth, mut depth, mut ttfv) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for u in members {
            n += 1;
            if u.raw > 0.0 || u.active_users > 0 {
                active += 1;
                if let Some(i) = u.index {
                    idx.push(i);
                }
                breadth.push(u.breadth);
                if let Some(d) = u.depth {
                    depth.push(d);
                }
            }
            if let Some(t) = u.time_to_first_value_days {
                reached += 1;
                ttfv.push(t);
            }
        }
        ttfv.sort_unstable();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        UsageGroup {
            label: label.to_string(),
            customers: n,
            active,
            median_index: median_f(&mut idx),
            mean_breadth: mean(&breadth),
            mean_depth: mean(&depth),
            reached_value: reached,
            median_time_to_first_value_days: (!ttfv.is_empty()).then(|| ttfv[(ttfv.len() - 1) / 2]),
        }
    };
    let in_scope = |u: &&CustomerUsage| data.customers[u.customer as usize].acquired <= cfg.as_of;
    let total = summarise("all", &mut customers.iter().filter(in_scope));
    let groups = (0..grouping.len())
        .map(|g| {
            summarise(
                &grouping.labels[g],
                &mut customers
                    .iter()
                    .filter(in_scope)
                    .filter(|u| grouping.group(u.customer) == Some(g)),
            )
        })
        .collect();
    Ok(UsageReport {
        as_of: cfg.as_of,
        window_days: cfg.window_days,
        normaliser,
        features,
        customers,
        grouping: grouping.name.clone(),
        total,
        groups,
    })
}
