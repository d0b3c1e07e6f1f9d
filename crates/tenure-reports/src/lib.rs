//! Tenure's value and retention reports: from the store's records ([`Dataset`]) to plain result
//! structs — the vendor's profit ledger per customer with predicted lifetime value, the
//! customer's own view (usage value, adoption, time to first value), cohort retention by
//! customers, revenue and seats, Kaplan–Meier survival of subscription tenure, and MRR
//! movements with a derived status per customer.
//!
//! ```
//! use tenure_core::{Currency, Customer, RecordId, Subscription, Timestamp, MinorUnits,
//!                   BillingInterval, SubscriptionStatus};
//! use tenure_reports::{mrr_report, Fx, Grouping, GroupBy};
//! use tenure_store::{DatasetBuilder, LoadOptions};
//! let usd = Currency::parse("USD").unwrap();
//! let mut b = DatasetBuilder::new(false);
//! b.customer(&Customer { id: RecordId::new("c1").unwrap(), name: None,
//!     acquired_at: Timestamp::parse("2024-01-10").unwrap(), channel: None, plan: None,
//!     region: None, referred_by: None, attributes: None });
//! b.subscription(&Subscription { id: RecordId::new("s1").unwrap(),
//!     customer_id: RecordId::new("c1").unwrap(), plan: "pro".into(),
//!     started_at: Timestamp::parse("2024-01-10").unwrap(), ended_at: None, seats: 2,
//!     amount: MinorUnits::new(12_000, usd), interval: BillingInterval::Year,
//!     status: SubscriptionStatus::Active });
//! let data = b.build(LoadOptions::all()).unwrap();
//! let as_of = tenure_reports::calendar::day_from_ymd(2024, 3, 31);
//! let r = mrr_report(&data, &Fx::new(usd), as_of, &Grouping::new(&data, GroupBy::All));
//! // 120.00 a year is 10.00 a month: 1,000 cents = 12,000 twelfths.
//! assert_eq!(r.total.months[0].new, 12_000);
//! assert_eq!(r.total.months[2].closing, 12_000);
//! ```
//!
//! # What each report computes, and the policies where the records leave a choice
//!
//! **Common.** Every report takes the "as of" day as an argument (no clock): records dated
//! after it are ignored. Days are UTC calendar days. One report currency ([`Fx`]); amounts in
//! other currencies are converted only at rates given by the caller, else left out and counted
//! in [`Excluded`]. Money is integer minor units (MRR: twelfths of a minor unit, exact);
//! `f64` only for ratios, rates and model outputs.
//!
//! **Value ledger** ([`value`]): per customer and calendar month, revenue by conduit (the seven
//! transaction kinds; refunds are negative and netted), referral credit, COGS, acquisition,
//! retention and service costs, profit and cumulative profit. Policies:
//! - *Referral credit*: a customer is credited `referral_share` (default 10 %) of the net
//!   revenue of each customer whose `referred_by` names her, in the month it is earned — one
//!   level only (in a chain A → B → C, A is credited from B, B from C, A not from C). The
//!   credit is an attribution: the referred customer's own ledger is unchanged, so company
//!   totals of `profit` count it twice; `own_profit` does not.
//! - *Cost allocation* (costs attached to a channel or a cohort rather than a customer), split
//!   equally in whole minor units (the first customers by id get the remainder's units, so the
//!   parts add up exactly): an `acquisition` cost attached to a channel goes to the customers
//!   acquired through that channel in the cost's calendar month; attached to a cohort, to the
//!   customers acquired in that month. A `retention` or `service` cost attached to a channel
//!   or cohort goes to that channel's or cohort's customers active (MRR > 0 or a purchase) in
//!   the cost's month. A cost with no such customer stays unallocated and is reported as such.
//! - *Campaign costs* (issue 10) are retention costs: a campaign's cost, converted to the
//!   report currency, is split equally among its touches sent on or before `as_of`, in whole
//!   minor units — each touch gets ⌊cost / n⌋ and the first `cost mod n` touches in touch
//!   order (sent day, then customer id, then store order) one unit more, so the shares add up
//!   to the cost exactly (100.00 over three touches: 33.34, 33.33, 33.33). Each share is
//!   booked as allocated retention cost of the touched customer in the month of the touch. A
//!   campaign with no touch yet stays unallocated
//!   ([`Allocations::unallocated_campaigns`](value::Allocations::unallocated_campaigns)).
//! - *Profit* = net revenue + referral credit − COGS − acquisition − retention − service.
//!   *Breakeven* is the first month in which cumulative profit ≥ 0; *CAC payback* the first
//!   month in which cumulative contribution (net revenue − COGS) covers the acquisition cost
//!   to date. Both count the acquisition month as month 1.
//!
//! **Predicted value** ([`predict`]): realised profit to date + predicted future profit =
//! lifetime value, with the method named per customer: for a paying subscriber, the sBG fitted
//! to the first subscriptions of her plan and billing interval (Fader & Hardie 2007) gives the
//! discounted expected residual lifetime (DERL, Fader & Hardie 2010) in periods, times her
//! current recurring amount × her gross margin, less her cost to serve per period; for a
//! customer with purchases but no subscription, BG/NBD with Gamma-Gamma spend gives the
//! discounted CLV over a horizon; a churned subscriber has none (0, "churned").
//!
//! **Customer's view** ([`usage`]): a usage value index (weighted feature actions in a window,
//! normalised so that the median active customer scores 100), adoption breadth (share of
//! features used) and depth (actions per active user per week), time to first value (days
//! from acquisition to the first configured value event) and each one's trend (this window
//! against the previous one).
//!
//! **Retention** ([`retention`]): by acquisition cohort (month or quarter) and period since
//! acquisition, logo retention, gross and net revenue retention and seat retention, measured
//! at each period's end; a trailing-window summary by group. **Survival** ([`survival`]):
//! Kaplan–Meier of subscription tenure in days with right-censoring at `as_of`, the median and
//! its interval ([`km`]). **MRR** ([`mrr`]): movements per month and policies in its docs.
//! **Status** ([`status`]): active, inactive, churned, reactivated — derived, never stored.
//!
//! Invariants: no I/O, clock, environment or serde; every function is deterministic in its
//! inputs; money is never a float; every figure of the value ledger can be listed as the
//! records (ids and amounts) that make it up ([`value::explain`]); MRR movements add up to the
//! change in MRR exactly; allocated costs add up to the cost.

pub mod calendar;
pub mod campaigns;
pub mod groups;
pub mod km;
pub mod money;
pub mod mrr;
pub mod predict;
pub mod retention;
pub mod status;
pub mod survival;
pub mod usage;
pub mod validation;
pub mod value;

pub use campaigns::{campaign_effect_report, CampaignEffectConfig, CampaignEffectReport};
pub use groups::{GroupBy, Grouping};
pub use km::{kaplan_meier, KaplanMeier, KmPoint};
pub use money::Fx;
pub use mrr::{mrr_report, MrrMonth, MrrReport};
pub use tenure_store::Dataset;

use tenure_core::Currency;

/// Records left out of a report because their currency has no rate. Counted, never converted
/// at a guess.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excluded {
    pub transactions: u64,
    pub subscriptions: u64,
    pub costs: u64,
    /// The currencies concerned, sorted.
    pub currencies: Vec<Currency>,
}

impl Excluded {
    fn note(&mut self, c: Currency) {
        if let Err(i) = self.currencies.binary_search(&c) {
            self.currencies.insert(i, c);
        }
    }
    pub(crate) fn transaction(&mut self, c: Currency) {
        self.transactions += 1;
        self.note(c);
    }
    pub(crate) fn subscription(&mut self, c: Currency) {
        self.subscriptions += 1;
        self.note(c);
    }
    pub(crate) fn cost(&mut self, c: Currency) {
        self.costs += 1;
        self.note(c);
    }
    pub fn is_empty(&self) -> bool {
        self.transactions + self.subscriptions + self.costs == 0
    }
    pub fn merge(&mut self, o: &Excluded) {
        self.transactions += o.transactions;
        self.subscriptions += o.subscriptions;
        self.costs += o.costs;
        for c in &o.currencies {
            self.note(*c);
        }
    }
}

/// Why a report cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The dataset was loaded without a record kind the report needs.
    #[error("the {0} were not loaded")]
    NotLoaded(&'static str),
    #[error("unknown customer `{0}`")]
    UnknownCustomer(String),
    #[error("{0}")]
    Setting(String),
}
