//! Roll-ups: every report that is "by" something groups customers with a [`Grouping`], a label
//! per customer. The built-in keys are the customer's acquisition cohort, channel, plan and
//! region; any other key (issue 5's CLV segments, say) is a [`Grouping::custom`].

use crate::calendar::Interval;
use tenure_store::dataset::{CustomerIdx, NameId};
use tenure_store::Dataset;

/// What to group customers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One group, `all`.
    All,
    /// Acquisition month or quarter (the UTC day of `acquired_at`).
    Cohort(Interval),
    Channel,
    /// The customer record's `plan` (the plan at acquisition, for most sources).
    Plan,
    Region,
}

impl GroupBy {
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::All => "all",
            GroupBy::Cohort(Interval::Month) => "cohort",
            GroupBy::Cohort(Interval::Quarter) => "cohort_quarter",
            GroupBy::Channel => "channel",
            GroupBy::Plan => "plan",
            GroupBy::Region => "region",
        }
    }
}

/// The label given to customers without the attribute grouped by.
pub const NONE_LABEL: &str = "(none)";

/// A group per customer. Invariant: `of.len()` is the number of customers and every `Some(g)`
/// is an index into `labels`; labels are sorted (cohorts in time order) and distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// What the groups are (`channel`, `cohort`, `segment`, …).
    pub name: String,
    pub labels: Vec<String>,
    /// The group of each customer; `None` leaves the customer out of every group.
    pub of: Vec<Option<u32>>,
}

impl Grouping {
    /// Group the customers of `data` by `by`.
    pub fn new(data: &Dataset, by: GroupBy) -> Grouping {
        let name =
            |id: Option<NameId>| id.map_or(NONE_LABEL.to_string(), |i| data.name(i).to_string());
        let labels: Vec<Option<String>> = data
            .customers
            .iter()
            .map(|c| {
                Some(match by {
                    GroupBy::All => "all".to_string(),
                    GroupBy::Cohort(i) => i.period_of(c.acquired).to_string(),
                    GroupBy::Channel => name(c.channel),
                    GroupBy::Plan => name(c.plan),
                    GroupBy::Region => name(c.region),
                })
            })
            .collect();
        Grouping::custom(by.name(), labels)
    }

    /// A grouping from one optional label per customer (in the dataset's customer order).
    pub fn custom(name: &str, labels: Vec<Option<String>>) -> Grouping {
        let mut distinct: Vec<String> = labels.iter().flatten().cloned().collect();
        distinct.sort();
        distinct.dedup();
        let of = labels
            .iter()
            .map(|l| {
                l.as_ref()
                    .and_then(|l| distinct.binary_search(l).ok())
                    .map(|i| i as u32)
            })
            .collect();
        Grouping {
            name: name.to_string(),
            labels: distinct,
            of,
        }
    }

    /// The group of customer `c`.
    pub fn group(&self, c: CustomerIdx) -> Option<usize> {
        self.of
            .get(c as usize)
            .copied()
            .flatten()
            .map(|g| g as usize)
    }
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}
