//! Retention by acquisition cohort and over a trailing window: logo retention, gross and net
//! revenue retention, seat retention.
//!
//! Definitions:
//! - A customer's **cohort** is the month (or quarter) of her `acquired_at`; period k is the
//!   k-th month (quarter) after it, period 0 the cohort's own. State is measured at the **end**
//!   of each period (the last day), and a period is shown only once it has ended by `as_of`.
//! - **Logo retention** at k = customers of the cohort still retained at the end of period k ÷
//!   the cohort's customers. A customer with subscriptions is retained while her MRR is > 0; a
//!   customer who never had a subscription row is retained in a period in which she made a
//!   purchase (a line that is not a refund). Period 0 can be below 100 %: a subscription
//!   started and cancelled in the acquisition month is not retained at its end.
//! - **Revenue retention** counts subscription customers only, from their **starting MRR**
//!   (the MRR of the first day on which it was > 0): NRR at k = Σ MRR at the end of k ÷ Σ
//!   starting MRR; GRR caps each customer at her start: Σ min(MRR_k, start) ÷ Σ start.
//!   **Seat retention** = Σ seats at the end of k ÷ Σ starting seats (net of expansion).
//! - The **trailing-window** summary takes the customers paying on the window's first day
//!   (`as_of` − window months) and compares their MRR, seats and count on `as_of`.

use crate::calendar::{add_months, Day, Interval, Period};
use crate::groups::Grouping;
use crate::money::Fx;
use crate::mrr::{Timeline, Twelfths};
use crate::{Excluded, ReportError};
use tenure_core::TransactionKind;
use tenure_store::dataset::CustomerIdx;
use tenure_store::Dataset;

/// One cell of a cohort table: the cohort's state at the end of period k.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CohortCell {
    pub period: u32,
    pub retained: u64,
    /// Σ MRR at the end of the period (subscription customers of the cohort).
    pub mrr: Twelfths,
    /// Σ min(MRR, starting MRR).
    pub mrr_capped: Twelfths,
    pub seats: u64,
}

/// One cohort's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortRow {
    pub cohort: Period,
    pub customers: u64,
    /// Customers with a starting MRR (the revenue base).
    pub subscribers: u64,
    pub starting_mrr: Twelfths,
    pub starting_seats: u64,
    pub cells: Vec<CohortCell>,
}

impl CohortRow {
    pub fn logo(&self, k: usize) -> Option<f64> {
        let c = self.cells.get(k)?;
        (self.customers > 0).then(|| c.retained as f64 / self.customers as f64)
    }
    pub fn nrr(&self, k: usize) -> Option<f64> {
        let c = self.cells.get(k)?;
        (self.starting_mrr > 0).then(|| c.mrr as f64 / self.starting_mrr as f64)
    }
    pub fn grr(&self, k: usize) -> Option<f64> {
        let c = self.cells.get(k)?;
        (self.starting_mrr > 0).then(|| c.mrr_capped as f64 / self.starting_mrr as f64)
    }
    pub fn seats(&self, k: usize) -> Option<f64> {
        let c = self.cells.get(k)?;
        (self.starting_seats > 0).then(|| c.seats as f64 / self.starting_seats as f64)
    }
}

/// Cohort tables (one per group, and all customers together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortReport {
    pub as_of: Day,
    pub interval: Interval,
    pub grouping: String,
    pub total: Vec<CohortRow>,
    /// (group label, its cohort rows).
    pub groups: Vec<(String, Vec<CohortRow>)>,
    pub excluded: Excluded,
}

/// A customer's state at the ends of periods.
struct Tracked {
    timeline: Timeline,
    subscriber: bool,
    start: (Twelfths, u64),
}

fn track(data: &Dataset, fx: &Fx, c: CustomerIdx, as_of: Day, ex: &mut Excluded) -> Tracked {
    let timeline = Timeline::of(data, fx, c, as_of, ex);
    let subscriber = !data.subscriptions_of(c).is_empty();
    let start = timeline.first_paying().map_or((0, 0), |s| (s.mrr, s.seats));
    Tracked {
        timeline,
        subscriber,
        start,
    }
}

fn purchased_in(data: &Dataset, c: CustomerIdx, from: Day, to: Day) -> bool {
    data.transactions_of(c)
        .iter()
        .any(|t| t.day >= from && t.day <= to && t.kind != TransactionKind::Refund)
}

/// Cohort tables by `interval`, up to `as_of`, for all customers and by `grouping`.
pub fn cohort_report(
    data: &Dataset,
    fx: &Fx,
    as_of: Day,
    interval: Interval,
    grouping: &Grouping,
) -> Result<CohortReport, ReportError> {
    if !data.loaded.subscriptions {
        return Err(ReportError::NotLoaded("subscriptions"));
    }
    let mut excluded = Excluded::default();
    let mut total: Vec<CohortRow> = Vec::new();
    let mut groups: Vec<Vec<CohortRow>> = vec![Vec::new(); grouping.len()];
    for c in 0..data.len() as CustomerIdx {
        let acquired = data.customers[c as usize].acquired;
        if acquired > as_of {
            continue;
        }
        let t = track(data, fx, c, as_of, &mut excluded);
        let cohort = interval.period_of(acquired);
        let mut cells = Vec::new();
        let mut k = 0;
        loop {
            let p = cohort.plus(k);
            let end = p.last_day();
            if end > as_of {
                break;
            }
            let (mrr, seats) = t.timeline.at(end);
            let retained = if t.subscriber {
                mrr > 0
            } else {
                purchased_in(data, c, p.first_day(), end)
            };
            cells.push(CohortCell {
                period: k as u32,
                retained: u64::from(retained),
                mrr,
                mrr_capped: mrr.min(t.start.0),
                seats,
            });
            k += 1;
        }
        let add = |rows: &mut Vec<CohortRow>| {
            let i = match rows.binary_search_by(|r| r.cohort.cmp(&cohort)) {
                Ok(i) => i,
                Err(i) => {
                    rows.insert(
                        i,
                        CohortRow {
                            cohort,
                            customers: 0,
                            subscribers: 0,
                            starting_mrr: 0,
                            starting_seats: 0,
                            cells: Vec::new(),
                        },
                    );
                    i
                }
            };
            let r = &mut rows[i];
            r.customers += 1;
            if t.start.0 > 0 {
                r.subscribers += 1;
                r.starting_mrr += t.start.0;
                r.starting_seats += t.start.1;
            }
            if r.cells.len() < cells.len() {
                r.cells.resize(cells.len(), CohortCell::default());
            }
            for (a, b) in r.cells.iter_mut().zip(&cells) {
                a.period = b.period;
                a.retained += b.retained;
                a.mrr += b.mrr;
                a.mrr_capped += b.mrr_capped;
                a.seats += b.seats;
            }
        };
        add(&mut total);
        if let Some(g) = grouping.group(c) {
            add(&mut groups[g]);
        }
    }
    Ok(CohortReport {
        as_of,
        interval,
        grouping: grouping.name.clone(),
        total,
        groups: grouping.labels.iter().cloned().zip(groups).collect(),
        excluded,
    })
}

/// Retention of one group over the trailing window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRow {
    pub label: String,
    /// Customers paying on the window's first day, and how many still pay on `as_of`.
    pub customers_start: u64,
    pub customers_retained: u64,
    pub mrr_start: Twelfths,
    /// Their MRR on `as_of` (new customers not included).
    pub mrr_end: Twelfths,
    pub mrr_end_capped: Twelfths,
    pub seats_start: u64,
    pub seats_end: u64,
}

impl RetentionRow {
    pub fn logo(&self) -> Option<f64> {
        (self.customers_start > 0)
            .then(|| self.customers_retained as f64 / self.customers_start as f64)
    }
    pub fn nrr(&self) -> Option<f64> {
        (self.mrr_start > 0).then(|| self.mrr_end as f64 / self.mrr_start as f64)
    }
    pub fn grr(&self) -> Option<f64> {
        (self.mrr_start > 0).then(|| self.mrr_end_capped as f64 / self.mrr_start as f64)
    }
    pub fn seats(&self) -> Option<f64> {
        (self.seats_start > 0).then(|| self.seats_end as f64 / self.seats_start as f64)
    }
}

/// The trailing-window summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub as_of: Day,
    pub window_start: Day,
    pub window_months: u32,
    pub grouping: String,
    pub total: RetentionRow,
    pub groups: Vec<RetentionRow>,
    pub excluded: Excluded,
}

/// Logo, gross, net and seat retention over the `window_months` before `as_of`.
pub fn retention_report(
    data: &Dataset,
    fx: &Fx,
    as_of: Day,
    window_months: u32,
    grouping: &Grouping,
) -> Result<RetentionReport, ReportError> {
    if !data.loaded.subscriptions {
        return Err(ReportError::NotLoaded("subscriptions"));
    }
    let start = add_months(as_of, -(window_months as i32));
    let blank = |label: &str| RetentionRow {
        label: label.to_string(),
        customers_start: 0,
        customers_retained: 0,
        mrr_start: 0,
        mrr_end: 0,
        mrr_end_capped: 0,
        seats_start: 0,
        seats_end: 0,
    };
    let mut total = blank("all");
    let mut groups: Vec<RetentionRow> = grouping.labels.iter().map(|l| blank(l)).collect();
    let mut excluded = Excluded::default();
    for c in 0..data.len() as CustomerIdx {
        let t = Timeline::of(data, fx, c, as_of, &mut excluded);
        let (m0, s0) = t.at(start);
        if m0 <= 0 {
            continue;
        }
        let (m1, s1) = t.at(as_of);
        let add = |r: &mut RetentionRow| {
            r.customers_start += 1;
            r.customers_retained += u64::from(m1 > 0);
            r.mrr_start += m0;
            r.mrr_end += m1;
            r.mrr_end_capped += m1.min(m0);
            r.seats_start += s0;
            r.seats_end += s1;
        };
        add(&mut total);
        if let Some(g) = grouping.group(c) {
            add(&mut groups[g]);
        }
    }
    Ok(RetentionReport {
        as_of,
        window_start: start,
        window_months,
        grouping: grouping.name.clone(),
        total,
        groups,
        excluded,
    })
}
