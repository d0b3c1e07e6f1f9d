//! Campaign effect (issue 10): per campaign and overall, the retention of touched customers
//! against comparable untouched ones, segment by segment. An association, not a cause.
//!
//! Definitions:
//! - A campaign's *day* d is its `started_at`, or its first touch's day when it has none.
//! - A customer is *active* on a day when a subscription of hers runs on it (started on or
//!   before, not ended by it) — or, for a customer who never subscribed, when her
//!   [`status`](crate::status) on that day is active or reactivated.
//! - The campaign's population: customers of a segment (a group of the [`Grouping`];
//!   customers in no group are left out) acquired and active on d. *Touched*: those it
//!   touched (any touch of it sent by `as_of`); *untouched*: the rest — the comparable
//!   customers of the same segment, active on the same day.
//! - *Retained*: active on d + `window_days` (default 180). A campaign whose d + window is
//!   after `as_of` is not observed yet and has no figures.
//! - Per segment: counts, retention rates, difference (touched − untouched) and relative churn
//!   = churn_touched / churn_untouched (a hazard-ratio-like ratio: below 1, touched customers
//!   left less).
//! - A campaign's overall row and the all-campaigns rows pool the counts; their untouched
//!   rate is standardised to the touched customers' segments (Σₛ touchedₛ · untouched rateₛ /
//!   Σₛ touchedₛ over segments with both arms), so a segment mix that differs between the arms
//!   does not pass for an effect. The all-campaigns rows count (customer, campaign) pairs.

use crate::calendar::Day;
use crate::groups::Grouping;
use crate::money::Fx;
use crate::status::{statuses, Status, StatusConfig};
use crate::ReportError;
use std::collections::HashMap;
use tenure_store::dataset::CampaignIdx;
use tenure_store::Dataset;

/// The sentence every campaign-effect report carries.
pub const ASSOCIATION_NOTE: &str = "Touched and untouched customers are compared within \
     segments on the campaign's day; the difference is an association, not a measured cause: \
     who was touched may differ from who was not in ways the segments do not capture.";

/// How the report is computed.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignEffectConfig {
    /// Records after this day are not read; campaigns not observed for a whole window by it
    /// have no figures.
    pub as_of: Day,
    /// Retained = active this many days after the campaign's day.
    pub window_days: u32,
    /// For the status of purchase customers.
    pub fx: Fx,
}

impl CampaignEffectConfig {
    /// A 180-day window.
    pub fn new(as_of: Day, fx: Fx) -> Self {
        CampaignEffectConfig {
            as_of,
            window_days: 180,
            fx,
        }
    }
}

/// Customers of one arm and how many were retained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Arm {
    pub customers: u64,
    pub retained: u64,
}

impl Arm {
    pub fn retention(&self) -> Option<f64> {
        (self.customers > 0).then(|| self.retained as f64 / self.customers as f64)
    }
    fn add(&mut self, o: &Arm) {
        self.customers += o.customers;
        self.retained += o.retained;
    }
}

/// Touched against untouched, for one segment or pooled.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The segment's label, or `all`.
    pub segment: String,
    pub touched: Arm,
    pub untouched: Arm,
    pub touched_retention: Option<f64>,
    /// For pooled rows, standardised to the touched customers' segments (module docs).
    pub untouched_retention: Option<f64>,
    /// touched − untouched retention.
    pub difference: Option<f64>,
    /// churn_touched / churn_untouched; `None` when untouched churn is 0.
    pub relative_churn: Option<f64>,
}

impl Comparison {
    fn new(segment: &str, touched: Arm, untouched: Arm, untouched_retention: Option<f64>) -> Self {
        let t = touched.retention();
        let u = untouched_retention;
        Comparison {
            segment: segment.to_string(),
            touched,
            untouched,
            touched_retention: t,
            untouched_retention: u,
            difference: t.zip(u).map(|(t, u)| t - u),
            relative_churn: t
                .zip(u)
                .and_then(|(t, u)| (u < 1.0).then(|| (1.0 - t) / (1.0 - u))),
        }
    }

    /// Pool segment rows: raw counts, standardised untouched retention.
    fn pooled(rows: &[(Arm, Arm)]) -> Self {
        let (mut t, mut u) = (Arm::default(), Arm::default());
        let (mut w, mut acc) = (0u64, 0.0);
        for (a, b) in rows {
            t.add(a);
            u.add(b);
            if let (true, Some(r)) = (a.customers > 0, b.retention()) {
                w += a.customers;
                acc += a.customers as f64 * r;
            }
        }
        Comparison::new("all", t, u, (w > 0).then(|| acc / w as f64))
    }
}

/// One campaign's comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignEffect {
    pub campaign: CampaignIdx,
    /// The campaign's id and name.
    pub id: String,
    pub name: String,
    /// Its day (module docs).
    pub day: Day,
    /// d + window is on or before `as_of`; when false, `segments` is empty and `overall` has
    /// no customers.
    pub observed: bool,
    pub segments: Vec<Comparison>,
    pub overall: Comparison,
}

/// The campaign-effect report.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignEffectReport {
    pub as_of: Day,
    pub window_days: u32,
    /// What the segments are (the grouping's name).
    pub grouping: String,
    /// [`ASSOCIATION_NOTE`].
    pub note: String,
    /// Campaigns with a day (started or touched by `as_of`), in id order.
    pub campaigns: Vec<CampaignEffect>,
    /// Every observed campaign pooled, per segment.
    pub segments: Vec<Comparison>,
    /// Every observed campaign pooled.
    pub overall: Comparison,
}

/// Who is active on `day` (module docs).
fn active_on(data: &Dataset, fx: &Fx, day: Day, subscriber: &[bool]) -> Vec<bool> {
    let mut on = vec![false; data.len()];
    for s in &data.subscriptions {
        if s.start <= day && s.end.is_none_or(|e| e > day) {
            on[s.customer as usize] = true;
        }
    }
    let buyers = data
        .customers
        .iter()
        .enumerate()
        .any(|(c, r)| !subscriber[c] && r.acquired <= day);
    if buyers {
        for s in statuses(data, fx, day, None, &StatusConfig::default()) {
            let c = s.customer as usize;
            if !subscriber[c] && matches!(s.status, Status::Active | Status::Reactivated) {
                on[c] = true;
            }
        }
    }
    on
}

/// Compare touched and untouched customers' retention, per campaign and segment.
pub fn campaign_effect_report(
    data: &Dataset,
    cfg: &CampaignEffectConfig,
    grouping: &Grouping,
) -> Result<CampaignEffectReport, ReportError> {
    for (loaded, kind) in [
        (data.loaded.touches, "touches"),
        (data.loaded.subscriptions, "subscriptions"),
        (data.loaded.transactions, "transactions"),
    ] {
        if !loaded {
            return Err(ReportError::NotLoaded(kind));
        }
    }
    let as_of = cfg.as_of;
    let n = data.len();
    let mut subscriber = vec![false; n];
    for s in data.subscriptions.iter().filter(|s| s.start <= as_of) {
        subscriber[s.customer as usize] = true;
    }
    // Customers touched by each campaign (by `as_of`), and its first touch's day.
    let mut touched: Vec<Vec<bool>> = vec![Vec::new(); data.campaigns.len()];
    let mut first_touch: Vec<Option<Day>> = vec![None; data.campaigns.len()];
    for t in data.touches.iter().filter(|t| t.day <= as_of) {
        let m = t.campaign as usize;
        if touched[m].is_empty() {
            touched[m] = vec![false; n];
        }
        touched[m][t.customer as usize] = true;
        if first_touch[m].is_none_or(|d| t.day < d) {
            first_touch[m] = Some(t.day);
        }
    }
    let mut active: HashMap<Day, Vec<bool>> = HashMap::new();
    let mut active_at = |day: Day| -> Vec<bool> {
        active
            .entry(day)
            .or_insert_with(|| active_on(data, &cfg.fx, day, &subscriber))
            .clone()
    };
    let groups = grouping.len();
    let mut pooled = vec![(Arm::default(), Arm::default()); groups];
    let mut campaigns = Vec::new();
    for (m, k) in data.campaigns.iter().enumerate() {
        let Some(day) = k.started.filter(|d| *d <= as_of).or(first_touch[m]) else {
            continue;
        };
        let end = day + cfg.window_days as i32;
        let observed = end <= as_of;
        let mut arms = vec![(Arm::default(), Arm::default()); groups];
        if observed {
            let (on, later) = (active_at(day), active_at(end));
            for c in 0..n {
                let Some(g) = grouping.group(c as _) else {
                    continue;
                };
                if data.customers[c].acquired > day || !on[c] {
                    continue;
                }
                let arm = if touched[m].get(c) == Some(&true) {
                    &mut arms[g].0
                } else {
                    &mut arms[g].1
                };
                arm.customers += 1;
                arm.retained += u64::from(later[c]);
            }
        }
        for (p, a) in pooled.iter_mut().zip(&arms) {
            p.0.add(&a.0);
            p.1.add(&a.1);
        }
        let segments: Vec<Comparison> = if observed {
            grouping
                .labels
                .iter()
                .zip(&arms)
                .filter(|(_, a)| a.0.customers + a.1.customers > 0)
                .map(|(l, (t, u))| Comparison::new(l, *t, *u, u.retention()))
                .collect()
        } else {
            Vec::new()
        };
        campaigns.push(CampaignEffect {
            campaign: m as CampaignIdx,
            id: data.campaign_id(m as CampaignIdx).to_string(),
            name: data.name(k.name).to_string(),
            day,
            observed,
            segments,
            overall: Comparison::pooled(&arms),
        });
    }
    let segments = grouping
        .labels
        .iter()
        .zip(&pooled)
        .filter(|(_, a)| a.0.customers + a.1.customers > 0)
        .map(|(l, (t, u))| Comparison::new(l, *t, *u, u.retention()))
        .collect();
    Ok(CampaignEffectReport {
        as_of,
        window_days: cfg.window_days,
        grouping: grouping.name.clone(),
        note: ASSOCIATION_NOTE.to_string(),
        campaigns,
        segments,
        overall: Comparison::pooled(&pooled),
    })
}
