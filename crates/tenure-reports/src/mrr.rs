//! Monthly recurring revenue: each customer's MRR as a step function of the day, and its
//! movements by calendar month.
//!
//! Policies (also in the crate docs):
//! - **MRR** of a subscription row = its recurring amount per month: `amount` for monthly
//!   billing, `amount / 3` quarterly, `amount / 12` yearly. Amounts are what is billed, so
//!   discounts (negotiated, annual) are already in them. One-off lines, change orders and
//!   refunds are not recurring and never move MRR. Rows whose status is `trialing` or `paused`
//!   carry no MRR. MRR is kept exactly, in twelfths of a minor unit ([`Twelfths`]).
//! - A row counts from its `started_at` day up to the day before `ended_at` (the first day not
//!   paid for): **churn is recognised when the paid period ends**, in the month that contains
//!   `ended_at`, not when a cancellation is requested.
//! - A customer's MRR is the sum over her rows; she has **churned only when no subscription
//!   remains** (her MRR is 0 at the end of a month) — a seat or plan change that closes one row
//!   and opens the next the same day is an expansion or a contraction, never churn plus new.
//! - Movements are **netted per customer per calendar month**: opening = her MRR at the end of
//!   the previous month, closing = at the end of this month (the `as_of` day for the last,
//!   partial month). 0 → x is **new** if she never had MRR before, otherwise **reactivation**
//!   (at any time after churn); x → 0 is **churn**; x → y is **expansion** or **contraction**.
//!   A subscription that starts and ends within one month (0 → 0 with MRR in between) is new
//!   (or reactivation) and churn of its first MRR in that month.
//! - Invariant, exactly: closing − opening = new + expansion + reactivation − contraction −
//!   churn, for every month and group.

use crate::calendar::{Day, Month};
use crate::groups::Grouping;
use crate::money::Fx;
use crate::Excluded;
use tenure_core::{BillingInterval, SubscriptionStatus};
use tenure_store::dataset::{CustomerIdx, SubscriptionRow};
use tenure_store::Dataset;

/// Money in twelfths of a minor unit: MRR of a yearly subscription is its amount / 12, held
/// exactly. Divide by 12 (rounding) only to print.
pub type Twelfths = i64;

/// MRR of one subscription row in [`Twelfths`] of the report currency, `None` when its currency
/// has no rate. Rows without MRR (trialing, paused) give `Some(0)`.
pub fn row_mrr(row: &SubscriptionRow, fx: &Fx) -> Option<Twelfths> {
    if matches!(
        row.status,
        SubscriptionStatus::Trialing | SubscriptionStatus::Paused
    ) {
        return Some(0);
    }
    let amount = fx.convert(row.amount, row.currency)?;
    let per_year = match row.interval {
        BillingInterval::Month => 12,
        BillingInterval::Quarter => 4,
        BillingInterval::Year => 1,
    };
    amount.checked_mul(per_year)
}

/// From `day` on (until the next step), the customer's MRR and seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub day: Day,
    pub mrr: Twelfths,
    pub seats: u64,
}

/// A customer's MRR over time, up to `as_of`: steps sorted by day, each day once (changes of
/// one day netted). Before the first step her MRR is 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub steps: Vec<Step>,
}

impl Timeline {
    /// Build customer `c`'s timeline from her subscription rows that start on or before
    /// `as_of`; rows in a currency without a rate are counted in `excluded`.
    pub fn of(
        data: &Dataset,
        fx: &Fx,
        c: CustomerIdx,
        as_of: Day,
        excluded: &mut Excluded,
    ) -> Timeline {
        let mut changes: Vec<(Day, Twelfths, i64)> = Vec::new();
        for row in data.subscriptions_of(c) {
            if row.start > as_of {
                continue;
            }
            let Some(m) = row_mrr(row, fx) else {
                excluded.subscription(row.currency);
                continue;
            };
            let seats = if m > 0 { i64::from(row.seats) } else { 0 };
            if row.end == Some(row.start) || (m == 0 && seats == 0) {
                continue;
            }
            changes.push((row.start, m, seats));
            if let Some(e) = row.end.filter(|e| *e <= as_of) {
                changes.push((e, -m, -seats));
            }
        }
        changes.sort_unstable_by_key(|c| c.0);
        let mut steps: Vec<Step> = Vec::with_capacity(changes.len());
        let (mut mrr, mut seats) = (0i64, 0i64);
        for (day, dm, ds) in changes {
            mrr += dm;
            seats += ds;
            let s = Step {
                day,
                mrr,
                seats: seats.max(0) as u64,
            };
            match steps.last_mut() {
                Some(last) if last.day == day => *last = s,
                _ => steps.push(s),
            }
        }
        Timeline { steps }
    }

    /// (MRR, seats) at the end of `day`.
    pub fn at(&self, day: Day) -> (Twelfths, u64) {
        let i = self.steps.partition_point(|s| s.day <= day);
        i.checked_sub(1)
            .map_or((0, 0), |i| (self.steps[i].mrr, self.steps[i].seats))
    }
    /// The first day with MRR > 0, and that MRR and seats.
    pub fn first_paying(&self) -> Option<Step> {
        self.steps.iter().find(|s| s.mrr > 0).copied()
    }
    /// Whether MRR was ever > 0 on or before `day`.
    pub fn paid_by(&self, day: Day) -> bool {
        self.steps
            .iter()
            .take_while(|s| s.day <= day)
            .any(|s| s.mrr > 0)
    }
}

/// One month's movements (of a group or the whole company). Amounts in [`Twelfths`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MrrMonth {
    pub month: Option<Month>,
    pub opening: Twelfths,
    pub new: Twelfths,
    pub expansion: Twelfths,
    pub contraction: Twelfths,
    pub churn: Twelfths,
    pub reactivation: Twelfths,
    pub closing: Twelfths,
    /// Customers with MRR > 0 at the end of the previous month / of this month.
    pub customers_opening: u64,
    pub customers_closing: u64,
    pub new_customers: u64,
    pub reactivated_customers: u64,
    pub churned_customers: u64,
    pub seats_closing: u64,
}

impl MrrMonth {
    /// ARR = 12 × closing MRR, in minor units × 12 / 12 = minor units (exact).
    pub fn arr_minor(&self) -> i64 {
        self.closing
    }
    /// ARPA: closing MRR per paying customer, in twelfths (rounded half up); `None` with no
    /// paying customer.
    pub fn arpa(&self) -> Option<Twelfths> {
        crate::money::div_round(i128::from(self.closing), i128::from(self.customers_closing))
    }
    /// closing − opening − (new + expansion + reactivation − contraction − churn): always 0.
    pub fn imbalance(&self) -> i64 {
        self.closing
            - self.opening
            - (self.new + self.expansion + self.reactivation - self.contraction - self.churn)
    }
    fn add(&mut self, o: &MrrMonth) {
        self.opening += o.opening;
        self.new += o.new;
        self.expansion += o.expansion;
        self.contraction += o.contraction;
        self.churn += o.churn;
        self.reactivation += o.reactivation;
        self.closing += o.closing;
        self.customers_opening += o.customers_opening;
        self.customers_closing += o.customers_closing;
        self.new_customers += o.new_customers;
        self.reactivated_customers += o.reactivated_customers;
        self.churned_customers += o.churned_customers;
        self.seats_closing += o.seats_closing;
    }
}

/// What moved one customer's MRR in one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    None,
    New,
    Expansion,
    Contraction,
    Churn,
    Reactivation,
    /// Started (or came back) and churned within the month.
    NewAndChurn,
    ReactivationAndChurn,
}

/// Walk one customer's timeline month by month from `first` to the month of `as_of`, calling
/// `each(month, movement row of this customer)`.
pub fn customer_months(
    t: &Timeline,
    first: Month,
    as_of: Day,
    mut each: impl FnMut(Month, &MrrMonth, Movement),
) {
    let last = Month::of_day(as_of);
    let mut k = 0;
    let mut prev = (0i64, 0u64);
    // Steps before `first` set the opening state.
    while k < t.steps.len() && t.steps[k].day < first.first_day() {
        prev = (t.steps[k].mrr, t.steps[k].seats);
        k += 1;
    }
    let mut ever = t.paid_by(first.first_day() - 1);
    let mut m = first;
    while m <= last {
        let end = m.last_day().min(as_of);
        let mut cur = prev;
        let mut first_pos: Option<i64> = None;
        while k < t.steps.len() && t.steps[k].day <= end {
            cur = (t.steps[k].mrr, t.steps[k].seats);
            if cur.0 > 0 {
                first_pos.get_or_insert(cur.0);
            }
            k += 1;
        }
        let (s, e) = (prev.0, cur.0);
        let mut row = MrrMonth {
            month: Some(m),
            opening: s,
            closing: e,
            customers_opening: u64::from(s > 0),
            customers_closing: u64::from(e > 0),
            seats_closing: if e > 0 { cur.1 } else { 0 },
            ..MrrMonth::default()
        };
        let mv = if s == 0 && e > 0 {
            if ever {
                row.reactivation = e;
                row.reactivated_customers = 1;
                Movement::Reactivation
            } else {
                row.new = e;
                row.new_customers = 1;
                Movement::New
            }
        } else if s > 0 && e == 0 {
            row.churn = s;
            row.churned_customers = 1;
            Movement::Churn
        } else if s > 0 && e > s {
            row.expansion = e - s;
            Movement::Expansion
        } else if s > 0 && e < s {
            row.contraction = s - e;
            Movement::Contraction
        } else if let (0, 0, Some(f)) = (s, e, first_pos) {
            row.churn = f;
            row.churned_customers = 1;
            if ever {
                row.reactivation = f;
                row.reactivated_customers = 1;
                Movement::ReactivationAndChurn
            } else {
                row.new = f;
                row.new_customers = 1;
                Movement::NewAndChurn
            }
        } else {
            Movement::None
        };
        each(m, &row, mv);
        ever |= s > 0 || e > 0 || first_pos.is_some();
        prev = cur;
        m = m.plus(1);
    }
}

/// MRR movements of one group, month by month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrrSeries {
    pub label: String,
    pub months: Vec<MrrMonth>,
}

/// The MRR report: for each group (and in `total`), every month from the first month with MRR
/// to the month of `as_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrrReport {
    pub as_of: Day,
    pub currency: tenure_core::Currency,
    pub grouping: String,
    pub total: MrrSeries,
    pub groups: Vec<MrrSeries>,
    pub excluded: Excluded,
}

/// Compute the MRR movements of every customer of `data` up to `as_of`, by `grouping`.
pub fn mrr_report(data: &Dataset, fx: &Fx, as_of: Day, grouping: &Grouping) -> MrrReport {
    let mut excluded = Excluded::default();
    let timelines: Vec<Timeline> = (0..data.len() as CustomerIdx)
        .map(|c| Timeline::of(data, fx, c, as_of, &mut excluded))
        .collect();
    let first = timelines
        .iter()
        .filter_map(|t| t.steps.first())
        .map(|s| Month::of_day(s.day))
        .min();
    let last = Month::of_day(as_of);
    let months = first.map_or(0, |f| (last.since(f) + 1).max(0) as usize);
    let blank = |label: &str| MrrSeries {
        label: label.to_string(),
        months: (0..months)
            .map(|i| MrrMonth {
                month: first.map(|f| f.plus(i as i32)),
                ..MrrMonth::default()
            })
            .collect(),
    };
    let mut total = blank("all");
    let mut groups: Vec<MrrSeries> = grouping.labels.iter().map(|l| blank(l)).collect();
    if let Some(f) = first {
        for (c, t) in timelines.iter().enumerate() {
            let Some(s0) = t.steps.first() else { continue };
            let g = grouping.group(c as CustomerIdx);
            let start = Month::of_day(s0.day);
            customer_months(t, start, as_of, |m, row, _| {
                let i = m.since(f) as usize;
                total.months[i].add(row);
                if let Some(g) = g {
                    groups[g].months[i].add(row);
                }
            });
        }
        // Months before a customer's first step carry no MRR of hers: nothing to add.
    }
    MrrReport {
        as_of,
        currency: fx.currency(),
        grouping: grouping.name.clone(),
        total,
        groups,
        excluded,
    }
}
