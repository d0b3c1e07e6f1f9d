//! Survival of subscription tenure: Kaplan–Meier ([`crate::km`]) of how long subscriptions last,
//! in days, right-censored at `as_of`.
//!
//! A **subscription** here is a chain of a customer's rows that touch or overlap (a seat or
//! plan change closes one row and opens the next the same day): it starts with the first row's
//! `started_at` and ends with the last `ended_at`. Its tenure is `ended_at − started_at` days
//! when it ended on or before `as_of` (an event: churned), else `as_of + 1 − started_at` days
//! (censored: still running after that many days). A gap between rows starts a new chain (a
//! reactivation). By default only each customer's first chain is used — the customer's life
//! until her first churn; [`Spells::All`] uses every chain.

use crate::calendar::Day;
use crate::groups::Grouping;
use crate::km::{kaplan_meier, KaplanMeier};
use crate::ReportError;
use tenure_store::dataset::CustomerIdx;
use tenure_store::Dataset;

/// One chain of subscription rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spell {
    pub customer: CustomerIdx,
    pub start: Day,
    /// The last row's end, if it ended on or before `as_of`.
    pub end: Option<Day>,
    /// The plan of the first row.
    pub plan: u32,
    /// Billing interval of the first row.
    pub interval: tenure_core::BillingInterval,
}

impl Spell {
    /// (tenure in days, churned) at `as_of`.
    pub fn observation(&self, as_of: Day) -> (u32, bool) {
        match self.end {
            Some(e) => ((e - self.start).max(0) as u32, true),
            None => ((as_of + 1 - self.start).max(0) as u32, false),
        }
    }
}

/// Which chains of each customer count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spells {
    First,
    All,
}

/// Customer `c`'s chains of rows that start on or before `as_of`, in order.
pub fn spells_of(data: &Dataset, c: CustomerIdx, as_of: Day) -> Vec<Spell> {
    let mut out: Vec<Spell> = Vec::new();
    // Rows are sorted by start.
    let mut open_end: Option<Option<Day>> = None; // Some(None) = running chain
    for r in data.subscriptions_of(c) {
        if r.start > as_of {
            continue;
        }
        let end = r.end.filter(|e| *e <= as_of);
        match (out.last_mut(), open_end) {
            (Some(s), Some(cur)) if cur.is_none_or(|e| r.start <= e) => {
                let merged = match (cur, end) {
                    (None, _) | (_, None) => None,
                    (Some(a), Some(b)) => Some(a.max(b)),
                };
                s.end = merged;
                open_end = Some(merged);
            }
            _ => {
                out.push(Spell {
                    customer: c,
                    start: r.start,
                    end,
                    plan: r.plan,
                    interval: r.interval,
                });
                open_end = Some(end);
            }
        }
    }
    out
}

/// One group's estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalGroup {
    pub label: String,
    pub km: KaplanMeier,
}

/// Kaplan–Meier of subscription tenure (days) by group.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalReport {
    pub as_of: Day,
    pub spells: Spells,
    pub grouping: String,
    pub total: SurvivalGroup,
    pub groups: Vec<SurvivalGroup>,
}

/// Every observation (tenure days, churned) per group, then Kaplan–Meier at `level`.
pub fn survival_report(
    data: &Dataset,
    as_of: Day,
    which: Spells,
    grouping: &Grouping,
    level: f64,
) -> Result<SurvivalReport, ReportError> {
    if !data.loaded.subscriptions {
        return Err(ReportError::NotLoaded("subscriptions"));
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(ReportError::Setting(format!(
            "the confidence level must be between 0 and 1, got {level}"
        )));
    }
    let mut all = Vec::new();
    let mut by: Vec<Vec<(u32, bool)>> = vec![Vec::new(); grouping.len()];
    for c in 0..data.len() as CustomerIdx {
        let spells = spells_of(data, c, as_of);
        let take = match which {
            Spells::First => spells.len().min(1),
            Spells::All => spells.len(),
        };
        for s in &spells[..take] {
            let o = s.observation(as_of);
            all.push(o);
            if let Some(g) = grouping.group(c) {
                by[g].push(o);
            }
        }
    }
    Ok(SurvivalReport {
        as_of,
        spells: which,
        grouping: grouping.name.clone(),
        total: SurvivalGroup {
            label: "all".into(),
            km: kaplan_meier(&all, level),
        },
        groups: grouping
            .labels
            .iter()
            .zip(by)
            .map(|(l, o)| SurvivalGroup {
                label: l.clone(),
                km: kaplan_meier(&o, level),
            })
            .collect(),
    })
}
