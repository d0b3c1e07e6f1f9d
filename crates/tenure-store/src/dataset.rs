//! The store's records in a compact in-memory form, for reports and customer views: customer
//! ids interned to indexes, dates as whole UTC days, money as integer minor units, names
//! (channels, plans, regions, features, users) interned. 10M invoice lines take ~32 bytes
//! each, not a `String` per id.
//!
//! A [`Dataset`] is built by a [`DatasetBuilder`] — from typed `tenure-core` records (tests,
//! other sources) or from the store's rows ([`Store::load`](crate::Store::load)); both go
//! through the same checks.
//!
//! Invariants:
//! - Customers are in id order (byte order), so index `i` is the same on every backend for the
//!   same records; every row's `customer` is a valid index; `referred_by` points at another
//!   customer.
//! - Per-customer rows (transactions, subscriptions, usage, feedback, customer-attached costs,
//!   support cases, payment events, interactions, campaign touches) are sorted by (customer,
//!   day, then the remaining fields; by id first when ids are loaded), and [`Dataset::range`]
//!   gives each customer's slice in O(1).
//! - Campaigns are not per customer: they are in id order (byte order) with their ids always
//!   kept in [`Dataset::campaign_ids`], and every touch's `campaign` is a valid index into
//!   them. Loading touches loads campaigns too.
//! - Days are UTC calendar days counted from 1970-01-01 ([`Day`]); a timestamp's time of day
//!   is dropped, nothing else is rounded. Money is never a float; usage quantities (counts,
//!   not money) are `f64`.
//! - With `ids: false` no record id is kept (ids cost a `String` each); with `ids: true`
//!   every row's id is kept in `*_ids`, parallel to the rows. Free text that is not a name
//!   (payment invoices, interaction summaries) is not loaded.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use tenure_core::{
    BillingInterval, Campaign, CaseStatus, Cohort, Cost, CostCategory, CostTarget, Currency,
    Customer, Feedback, FeedbackKind, Interaction, InteractionKind, MinorUnits, PaymentEvent,
    PaymentKind, SubscriptionStatus, SupportCase, Timestamp, Touch, Transaction, TransactionKind,
    UsageEvent,
};

/// A UTC calendar day: days since 1970-01-01 (negative before).
pub type Day = i32;

/// Index of a customer in [`Dataset::customer_ids`].
pub type CustomerIdx = u32;

/// Index of a campaign in [`Dataset::campaign_ids`].
pub type CampaignIdx = u32;

/// Index of an interned name in [`Names`].
pub type NameId = u32;

/// Days from 1970-01-01 to (year, month 1–12, day 1–31), proleptic Gregorian (H. Hinnant's
/// `days_from_civil`). The caller passes a valid date.
pub fn day_from_ymd(year: i32, month: u32, day: u32) -> Day {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1–12, day 1–31) of a [`Day`] (H. Hinnant's `civil_from_days`).
pub fn ymd_of_day(z: Day) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The UTC day of a timestamp.
pub fn day_of(t: Timestamp) -> Day {
    use chrono::Datelike;
    let d = t.as_utc().date_naive();
    day_from_ymd(d.year(), d.month(), d.day())
}

/// The UTC day of a stored timestamp's text (`YYYY-MM-DD…`, as both the SQLite store and
/// `Timestamp`'s `Display` write it). `None` when the first ten bytes are not a valid date.
pub fn day_of_text(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if y == 0 || d == 0 || d > days_in {
        return None;
    }
    Some(day_from_ymd(y as i32, m, d))
}

/// FNV-1a, 64 bits: a fast, deterministic hasher for interning (keys are ids the store has
/// validated; no adversary picks them to collide).
#[derive(Default, Clone, Copy)]
pub struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A `HashMap` with [`FnvHasher`].
pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<FnvHasher>>;

/// Interned names: each distinct string once, numbered in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct Names {
    names: Vec<String>,
    index: FnvMap<String, NameId>,
}

impl Names {
    /// The id of `name`, interning it if new.
    pub fn intern(&mut self, name: &str) -> NameId {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let i = self.names.len() as NameId;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }
    /// The id of `name` if it has been interned.
    pub fn get(&self, name: &str) -> Option<NameId> {
        self.index.get(name).copied()
    }
    /// The name of an id. Ids come from this table; an unknown id gives `""`.
    pub fn name(&self, id: NameId) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Every name, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

/// A customer. Text attributes are interned in [`Dataset::names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerRow {
    /// The UTC day of `acquired_at`.
    pub acquired: Day,
    pub channel: Option<NameId>,
    pub plan: Option<NameId>,
    pub region: Option<NameId>,
    pub referred_by: Option<CustomerIdx>,
}

/// An invoice line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionRow {
    pub customer: CustomerIdx,
    pub day: Day,
    /// Minor units of `currency`; negative only for refunds.
    pub amount: i64,
    /// Cost of goods sold, minor units of `currency`.
    pub cogs: Option<i64>,
    pub currency: Currency,
    pub kind: TransactionKind,
}

/// A subscription row (one stretch of constant plan and seats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub customer: CustomerIdx,
    pub plan: NameId,
    pub start: Day,
    /// The UTC day of `ended_at` (the first day not covered); `None` while running.
    pub end: Option<Day>,
    pub seats: u32,
    /// Recurring amount per `interval`, minor units of `currency`.
    pub amount: i64,
    pub currency: Currency,
    pub interval: BillingInterval,
    pub status: SubscriptionStatus,
}

/// What a cost is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostTargetRow {
    Customer(CustomerIdx),
    Channel(NameId),
    Cohort(Cohort),
}

/// A cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostRow {
    pub day: Day,
    /// Minor units of `currency`, ≥ 0.
    pub amount: i64,
    pub currency: Currency,
    pub category: CostCategory,
    pub target: CostTargetRow,
}

/// A usage event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageRow {
    pub customer: CustomerIdx,
    pub day: Day,
    pub feature: NameId,
    /// The user, interned in [`Dataset::users`].
    pub user: Option<NameId>,
    /// ≥ 0 (a count, not money).
    pub quantity: f64,
}

/// A survey answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackRow {
    pub customer: CustomerIdx,
    pub day: Day,
    pub kind: FeedbackKind,
    /// NPS 0–10, CSAT 1–5.
    pub score: u8,
}

/// A support case. Text attributes are interned in [`Dataset::names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseRow {
    pub customer: CustomerIdx,
    /// The UTC day of `opened_at`.
    pub day: Day,
    /// The UTC day of `closed_at`; `Some` exactly when `status` is solved or closed.
    pub closed: Option<Day>,
    /// 1 (an outage) – 4 (a question).
    pub severity: u8,
    pub status: CaseStatus,
    pub category: Option<NameId>,
    pub product: Option<NameId>,
    pub owner: Option<NameId>,
    pub escalated: bool,
    /// Only when `escalated`.
    pub escalated_to: Option<NameId>,
    /// The customer's rating, 1–5.
    pub satisfaction: Option<u8>,
}

/// A payment event (the invoice reference is not loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentRow {
    pub customer: CustomerIdx,
    pub day: Day,
    pub kind: PaymentKind,
    /// ≥ 0; always present for succeeded, failed, refunded and chargeback events.
    pub amount: Option<MinorUnits>,
}

/// A CRM interaction (the summary is not loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InteractionRow {
    pub customer: CustomerIdx,
    pub day: Day,
    pub kind: InteractionKind,
    pub owner: Option<NameId>,
}

/// A campaign: not attached to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignRow {
    pub name: NameId,
    pub channel: Option<NameId>,
    /// The UTC day of `started_at`.
    pub started: Option<Day>,
    /// The campaign's total cost, ≥ 0.
    pub cost: MinorUnits,
}

/// One campaign reaching one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TouchRow {
    pub customer: CustomerIdx,
    pub campaign: CampaignIdx,
    /// The UTC day of `sent_at`.
    pub day: Day,
    pub opened: bool,
    pub clicked: bool,
    pub replied: bool,
}

/// Which record kinds a load reads besides customers (always read), and whether to keep ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    pub transactions: bool,
    pub subscriptions: bool,
    pub costs: bool,
    pub usage: bool,
    pub feedback: bool,
    pub cases: bool,
    pub payments: bool,
    pub interactions: bool,
    /// Campaigns (read whole: they belong to no customer).
    pub campaigns: bool,
    /// Campaign touches; implies `campaigns`, which they refer to.
    pub touches: bool,
    /// Keep every row's record id (for explanations; a `String` per row).
    pub ids: bool,
    /// Read per-customer records (transactions, subscriptions, usage, feedback, costs attached
    /// to a customer, cases, payments, interactions, touches) of these customer ids only;
    /// customers, campaigns and channel- or cohort-attached costs are always read whole, since allocations and groups need every customer. (A
    /// report that needs other customers' records — the split of a channel's retention spend
    /// among the customers active that month — sees only these customers' activity.)
    pub only: Option<Vec<String>>,
}

impl LoadOptions {
    /// Everything, without ids.
    pub fn all() -> Self {
        LoadOptions {
            transactions: true,
            subscriptions: true,
            costs: true,
            usage: true,
            feedback: true,
            cases: true,
            payments: true,
            interactions: true,
            campaigns: true,
            touches: true,
            ids: false,
            only: None,
        }
    }
    /// Customers only; set the kinds wanted.
    pub fn customers_only() -> Self {
        LoadOptions {
            transactions: false,
            subscriptions: false,
            costs: false,
            usage: false,
            feedback: false,
            cases: false,
            payments: false,
            interactions: false,
            campaigns: false,
            touches: false,
            ids: false,
            only: None,
        }
    }
}

/// Why records do not make a dataset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    #[error("{kind} `{id}` refers to customer `{customer}`, which is not among the customers")]
    UnknownCustomer {
        kind: &'static str,
        id: String,
        customer: String,
    },
    #[error("customer `{0}` appears twice")]
    DuplicateCustomer(String),
    #[error("touch `{id}` refers to campaign `{campaign}`, which is not among the campaigns")]
    UnknownCampaign { id: String, campaign: String },
    #[error("campaign `{0}` appears twice")]
    DuplicateCampaign(String),
    #[error("more than {} customers", u32::MAX)]
    TooMany,
}

/// Every record a report reads, compact. See the module docs for the invariants.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Customer ids in byte order; a customer's index is its position.
    pub customer_ids: Vec<String>,
    pub customers: Vec<CustomerRow>,
    /// Channels, plans, regions, features (one table; ids are distinct across kinds only by
    /// name).
    pub names: Names,
    /// Usage users.
    pub users: Names,
    pub transactions: Vec<TransactionRow>,
    pub subscriptions: Vec<SubscriptionRow>,
    /// Costs attached to a customer first (sorted like the other per-customer rows), then
    /// channel and cohort costs (sorted by day).
    pub costs: Vec<CostRow>,
    pub usage: Vec<UsageRow>,
    pub feedback: Vec<FeedbackRow>,
    pub cases: Vec<CaseRow>,
    pub payments: Vec<PaymentRow>,
    pub interactions: Vec<InteractionRow>,
    /// Campaigns in id order; `campaign_ids[i]` is the id of `campaigns[i]`.
    pub campaigns: Vec<CampaignRow>,
    /// Campaign ids in byte order, always kept (touches refer to campaigns by index).
    pub campaign_ids: Vec<String>,
    pub touches: Vec<TouchRow>,
    /// Record ids parallel to the rows, when loaded with `ids`.
    pub transaction_ids: Option<Vec<String>>,
    pub subscription_ids: Option<Vec<String>>,
    pub cost_ids: Option<Vec<String>>,
    pub usage_ids: Option<Vec<String>>,
    pub feedback_ids: Option<Vec<String>>,
    pub case_ids: Option<Vec<String>>,
    pub payment_ids: Option<Vec<String>>,
    pub interaction_ids: Option<Vec<String>>,
    pub touch_ids: Option<Vec<String>>,
    /// Which kinds were read (a report refuses to run on a kind that was not).
    pub loaded: LoadOptions,
    offsets: Offsets,
    index: FnvMap<String, CustomerIdx>,
}

/// Per-customer start offsets into each row vector (length customers + 1).
#[derive(Debug, Clone, Default)]
struct Offsets {
    transactions: Vec<u32>,
    subscriptions: Vec<u32>,
    costs: Vec<u32>,
    usage: Vec<u32>,
    feedback: Vec<u32>,
    cases: Vec<u32>,
    payments: Vec<u32>,
    interactions: Vec<u32>,
    touches: Vec<u32>,
}

/// A row kind with a customer per row, for [`Dataset::range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerCustomer {
    Transactions,
    Subscriptions,
    /// Costs attached to the customer.
    Costs,
    Usage,
    Feedback,
    Cases,
    Payments,
    Interactions,
    Touches,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.customers.len()
    }
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }
    /// Forget the usage events (the largest kind by far) once they have been used: afterwards
    /// `loaded.usage` is false, so a report that needs them refuses rather than sees none.
    pub fn drop_usage(&mut self) {
        self.usage = Vec::new();
        self.usage_ids = None;
        self.offsets.usage = Vec::new();
        self.loaded.usage = false;
    }
    /// The index of a customer id.
    pub fn customer(&self, id: &str) -> Option<CustomerIdx> {
        self.index.get(id).copied()
    }
    /// The id of a customer index.
    pub fn customer_id(&self, c: CustomerIdx) -> &str {
        self.customer_ids.get(c as usize).map_or("", String::as_str)
    }
    /// Positions of customer `c`'s rows of `kind` in its row vector.
    pub fn range(&self, kind: PerCustomer, c: CustomerIdx) -> std::ops::Range<usize> {
        let o = match kind {
            PerCustomer::Transactions => &self.offsets.transactions,
            PerCustomer::Subscriptions => &self.offsets.subscriptions,
            PerCustomer::Costs => &self.offsets.costs,
            PerCustomer::Usage => &self.offsets.usage,
            PerCustomer::Feedback => &self.offsets.feedback,
            PerCustomer::Cases => &self.offsets.cases,
            PerCustomer::Payments => &self.offsets.payments,
            PerCustomer::Interactions => &self.offsets.interactions,
            PerCustomer::Touches => &self.offsets.touches,
        };
        let c = c as usize;
        match (o.get(c), o.get(c + 1)) {
            (Some(a), Some(b)) => *a as usize..*b as usize,
            _ => 0..0,
        }
    }
    pub fn transactions_of(&self, c: CustomerIdx) -> &[TransactionRow] {
        &self.transactions[self.range(PerCustomer::Transactions, c)]
    }
    pub fn subscriptions_of(&self, c: CustomerIdx) -> &[SubscriptionRow] {
        &self.subscriptions[self.range(PerCustomer::Subscriptions, c)]
    }
    pub fn usage_of(&self, c: CustomerIdx) -> &[UsageRow] {
        &self.usage[self.range(PerCustomer::Usage, c)]
    }
    pub fn feedback_of(&self, c: CustomerIdx) -> &[FeedbackRow] {
        &self.feedback[self.range(PerCustomer::Feedback, c)]
    }
    pub fn cases_of(&self, c: CustomerIdx) -> &[CaseRow] {
        &self.cases[self.range(PerCustomer::Cases, c)]
    }
    pub fn payments_of(&self, c: CustomerIdx) -> &[PaymentRow] {
        &self.payments[self.range(PerCustomer::Payments, c)]
    }
    pub fn interactions_of(&self, c: CustomerIdx) -> &[InteractionRow] {
        &self.interactions[self.range(PerCustomer::Interactions, c)]
    }
    pub fn touches_of(&self, c: CustomerIdx) -> &[TouchRow] {
        &self.touches[self.range(PerCustomer::Touches, c)]
    }
    /// The index of a campaign id.
    pub fn campaign(&self, id: &str) -> Option<CampaignIdx> {
        self.campaign_ids
            .binary_search_by(|c| c.as_str().cmp(id))
            .ok()
            .map(|i| i as CampaignIdx)
    }
    /// The id of a campaign index.
    pub fn campaign_id(&self, c: CampaignIdx) -> &str {
        self.campaign_ids.get(c as usize).map_or("", String::as_str)
    }
    /// Costs attached to customer `c`.
    pub fn costs_of(&self, c: CustomerIdx) -> &[CostRow] {
        &self.costs[self.range(PerCustomer::Costs, c)]
    }
    /// Costs attached to a channel or cohort (after every customer-attached cost).
    pub fn shared_costs(&self) -> &[CostRow] {
        let start = self.offsets.costs.last().copied().unwrap_or(0) as usize;
        &self.costs[start.min(self.costs.len())..]
    }
    /// The record id of a row, when ids were loaded.
    pub fn id_of(&self, kind: PerCustomer, row: usize) -> Option<&str> {
        let ids = match kind {
            PerCustomer::Transactions => &self.transaction_ids,
            PerCustomer::Subscriptions => &self.subscription_ids,
            PerCustomer::Costs => &self.cost_ids,
            PerCustomer::Usage => &self.usage_ids,
            PerCustomer::Feedback => &self.feedback_ids,
            PerCustomer::Cases => &self.case_ids,
            PerCustomer::Payments => &self.payment_ids,
            PerCustomer::Interactions => &self.interaction_ids,
            PerCustomer::Touches => &self.touch_ids,
        };
        ids.as_ref()?.get(row).map(String::as_str)
    }
    /// The name of an interned channel, plan, region or feature.
    pub fn name(&self, id: NameId) -> &str {
        self.names.name(id)
    }
    /// The last day any loaded record is dated (acquisitions, lines, subscription starts and
    /// ends, costs, usage, feedback, case openings and closings, payments, interactions,
    /// campaign starts, touches): the natural "as of" day when none is given.
    pub fn last_day(&self) -> Option<Day> {
        let c = self.customers.iter().map(|c| c.acquired);
        let t = self.transactions.iter().map(|t| t.day);
        let s = self
            .subscriptions
            .iter()
            .map(|s| s.end.map_or(s.start, |e| e.max(s.start)));
        let k = self.costs.iter().map(|k| k.day);
        let u = self.usage.iter().map(|u| u.day);
        let f = self.feedback.iter().map(|f| f.day);
        let cases = self
            .cases
            .iter()
            .map(|x| x.closed.map_or(x.day, |e| e.max(x.day)));
        let p = self.payments.iter().map(|p| p.day);
        let i = self.interactions.iter().map(|i| i.day);
        let m = self.campaigns.iter().filter_map(|m| m.started);
        let h = self.touches.iter().map(|h| h.day);
        c.chain(t)
            .chain(s)
            .chain(k)
            .chain(u)
            .chain(f)
            .chain(cases)
            .chain(p)
            .chain(i)
            .chain(m)
            .chain(h)
            .max()
    }
}

/// Builds a [`Dataset`]: customers first (any order), campaigns before touches, then the other
/// rows (any order); `build` sorts and indexes. Rows that name an unknown customer, and touches
/// that name an unknown campaign, are an error.
#[derive(Debug, Default)]
pub struct DatasetBuilder {
    ids: Vec<String>,
    rows: Vec<CustomerRow>,
    referrers: Vec<Option<String>>,
    index: FnvMap<String, CustomerIdx>,
    names: Names,
    users: Names,
    keep_ids: bool,
    transactions: Vec<TransactionRow>,
    subscriptions: Vec<SubscriptionRow>,
    costs: Vec<CostRow>,
    usage: Vec<UsageRow>,
    feedback: Vec<FeedbackRow>,
    cases: Vec<CaseRow>,
    payments: Vec<PaymentRow>,
    interactions: Vec<InteractionRow>,
    campaigns: Vec<CampaignRow>,
    campaign_ids: Vec<String>,
    campaign_index: FnvMap<String, CampaignIdx>,
    touches: Vec<TouchRow>,
    transaction_ids: Vec<String>,
    subscription_ids: Vec<String>,
    cost_ids: Vec<String>,
    usage_ids: Vec<String>,
    feedback_ids: Vec<String>,
    case_ids: Vec<String>,
    payment_ids: Vec<String>,
    interaction_ids: Vec<String>,
    touch_ids: Vec<String>,
    error: Option<DatasetError>,
}

impl DatasetBuilder {
    /// A builder; with `keep_ids`, every row's record id is kept.
    pub fn new(keep_ids: bool) -> Self {
        DatasetBuilder {
            keep_ids,
            ..Default::default()
        }
    }

    fn fail(&mut self, e: DatasetError) {
        self.error.get_or_insert(e);
    }

    fn lookup(&mut self, kind: &'static str, id: &str, customer: &str) -> Option<CustomerIdx> {
        match self.index.get(customer) {
            Some(c) => Some(*c),
            None => {
                self.fail(DatasetError::UnknownCustomer {
                    kind,
                    id: id.to_string(),
                    customer: customer.to_string(),
                });
                None
            }
        }
    }

    /// Add a customer from its parts (`referred_by` is resolved at `build`).
    #[allow(clippy::too_many_arguments)]
    pub fn add_customer(
        &mut self,
        id: &str,
        acquired: Day,
        channel: Option<&str>,
        plan: Option<&str>,
        region: Option<&str>,
        referred_by: Option<&str>,
    ) {
        if self.index.contains_key(id) {
            return self.fail(DatasetError::DuplicateCustomer(id.to_string()));
        }
        if self.ids.len() >= u32::MAX as usize {
            return self.fail(DatasetError::TooMany);
        }
        let i = self.ids.len() as CustomerIdx;
        self.index.insert(id.to_string(), i);
        self.ids.push(id.to_string());
        let channel = channel.map(|s| self.names.intern(s));
        let plan = plan.map(|s| self.names.intern(s));
        let region = region.map(|s| self.names.intern(s));
        self.rows.push(CustomerRow {
            acquired,
            channel,
            plan,
            region,
            referred_by: None,
        });
        self.referrers.push(referred_by.map(str::to_string));
    }

    /// Add a customer record.
    pub fn customer(&mut self, c: &Customer) {
        self.add_customer(
            c.id.as_str(),
            day_of(c.acquired_at),
            c.channel.as_deref(),
            c.plan.as_deref(),
            c.region.as_deref(),
            c.referred_by.as_ref().map(|r| r.as_str()),
        );
    }

    /// Add an invoice line from its parts.
    #[allow(clippy::too_many_arguments)]
    pub fn add_transaction(
        &mut self,
        id: &str,
        customer: &str,
        day: Day,
        amount: i64,
        cogs: Option<i64>,
        currency: Currency,
        kind: TransactionKind,
    ) {
        let Some(c) = self.lookup("transaction", id, customer) else {
            return;
        };
        self.transactions.push(TransactionRow {
            customer: c,
            day,
            amount,
            cogs,
            currency,
            kind,
        });
        if self.keep_ids {
            self.transaction_ids.push(id.to_string());
        }
    }

    pub fn transaction(&mut self, t: &Transaction) {
        self.add_transaction(
            t.id.as_str(),
            t.customer_id.as_str(),
            day_of(t.date),
            t.amount.units(),
            t.cogs.map(|c| c.units()),
            t.amount.currency(),
            t.kind,
        );
    }

    /// Add a subscription row from its parts.
    #[allow(clippy::too_many_arguments)]
    pub fn add_subscription(
        &mut self,
        id: &str,
        customer: &str,
        plan: &str,
        start: Day,
        end: Option<Day>,
        seats: u32,
        amount: i64,
        currency: Currency,
        interval: BillingInterval,
        status: SubscriptionStatus,
    ) {
        let Some(c) = self.lookup("subscription", id, customer) else {
            return;
        };
        let plan = self.names.intern(plan);
        self.subscriptions.push(SubscriptionRow {
            customer: c,
            plan,
            start,
            end,
            seats,
            amount,
            currency,
            interval,
            status,
        });
        if self.keep_ids {
            self.subscription_ids.push(id.to_string());
        }
    }

    pub fn subscription(&mut self, s: &tenure_core::Subscription) {
        self.add_subscription(
            s.id.as_str(),
            s.customer_id.as_str(),
            &s.plan,
            day_of(s.started_at),
            s.ended_at.map(day_of),
            s.seats,
            s.amount.units(),
            s.amount.currency(),
            s.interval,
            s.status,
        );
    }

    /// The target of a cost from its parts: a customer id, a channel or a cohort.
    pub fn add_cost(
        &mut self,
        id: &str,
        day: Day,
        amount: i64,
        currency: Currency,
        category: CostCategory,
        target: &CostTarget,
    ) {
        let target = match target {
            CostTarget::Customer(c) => match self.lookup("cost", id, c.as_str()) {
                Some(c) => CostTargetRow::Customer(c),
                None => return,
            },
            CostTarget::Channel(ch) => CostTargetRow::Channel(self.names.intern(ch)),
            CostTarget::Cohort(m) => CostTargetRow::Cohort(*m),
        };
        self.costs.push(CostRow {
            day,
            amount,
            currency,
            category,
            target,
        });
        if self.keep_ids {
            self.cost_ids.push(id.to_string());
        }
    }

    pub fn cost(&mut self, k: &Cost) {
        self.add_cost(
            k.id.as_str(),
            day_of(k.date),
            k.amount.units(),
            k.amount.currency(),
            k.category,
            &k.target,
        );
    }

    /// Add a usage event from its parts.
    pub fn add_usage(
        &mut self,
        id: &str,
        customer: &str,
        user: Option<&str>,
        feature: &str,
        day: Day,
        quantity: f64,
    ) {
        let Some(c) = self.lookup("usage event", id, customer) else {
            return;
        };
        let feature = self.names.intern(feature);
        let user = user.map(|u| self.users.intern(u));
        self.usage.push(UsageRow {
            customer: c,
            day,
            feature,
            user,
            quantity,
        });
        if self.keep_ids {
            self.usage_ids.push(id.to_string());
        }
    }

    pub fn usage_event(&mut self, u: &UsageEvent) {
        use rust_decimal::prelude::ToPrimitive;
        self.add_usage(
            u.id.as_str(),
            u.customer_id.as_str(),
            u.user.as_deref(),
            &u.feature,
            day_of(u.occurred_at),
            u.quantity.to_f64().unwrap_or(0.0),
        );
    }

    /// Add a survey answer from its parts.
    pub fn add_feedback(
        &mut self,
        id: &str,
        customer: &str,
        day: Day,
        kind: FeedbackKind,
        score: u8,
    ) {
        let Some(c) = self.lookup("feedback", id, customer) else {
            return;
        };
        self.feedback.push(FeedbackRow {
            customer: c,
            day,
            kind,
            score,
        });
        if self.keep_ids {
            self.feedback_ids.push(id.to_string());
        }
    }

    pub fn feedback(&mut self, f: &Feedback) {
        self.add_feedback(
            f.id.as_str(),
            f.customer_id.as_str(),
            day_of(f.occurred_at),
            f.score.kind(),
            f.score.value(),
        );
    }

    /// Add a support case from its parts (text attributes are interned).
    #[allow(clippy::too_many_arguments)]
    pub fn add_case(
        &mut self,
        id: &str,
        customer: &str,
        day: Day,
        closed: Option<Day>,
        severity: u8,
        status: CaseStatus,
        category: Option<&str>,
        product: Option<&str>,
        owner: Option<&str>,
        escalated: bool,
        escalated_to: Option<&str>,
        satisfaction: Option<u8>,
    ) {
        let Some(c) = self.lookup("case", id, customer) else {
            return;
        };
        let mut intern = |s: Option<&str>| s.map(|s| self.names.intern(s));
        let (category, product, owner, escalated_to) = (
            intern(category),
            intern(product),
            intern(owner),
            intern(escalated_to),
        );
        self.cases.push(CaseRow {
            customer: c,
            day,
            closed,
            severity,
            status,
            category,
            product,
            owner,
            escalated,
            escalated_to,
            satisfaction,
        });
        if self.keep_ids {
            self.case_ids.push(id.to_string());
        }
    }

    pub fn case(&mut self, k: &SupportCase) {
        self.add_case(
            k.id.as_str(),
            k.customer_id.as_str(),
            day_of(k.opened_at),
            k.closed_at.map(day_of),
            k.severity,
            k.status,
            k.category.as_deref(),
            k.product.as_deref(),
            k.owner.as_deref(),
            k.escalated,
            k.escalated_to.as_deref(),
            k.satisfaction,
        );
    }

    /// Add a payment event from its parts.
    pub fn add_payment(
        &mut self,
        id: &str,
        customer: &str,
        day: Day,
        kind: PaymentKind,
        amount: Option<MinorUnits>,
    ) {
        let Some(c) = self.lookup("payment", id, customer) else {
            return;
        };
        self.payments.push(PaymentRow {
            customer: c,
            day,
            kind,
            amount,
        });
        if self.keep_ids {
            self.payment_ids.push(id.to_string());
        }
    }

    pub fn payment(&mut self, p: &PaymentEvent) {
        self.add_payment(
            p.id.as_str(),
            p.customer_id.as_str(),
            day_of(p.occurred_at),
            p.kind,
            p.amount,
        );
    }

    /// Add an interaction from its parts.
    pub fn add_interaction(
        &mut self,
        id: &str,
        customer: &str,
        day: Day,
        kind: InteractionKind,
        owner: Option<&str>,
    ) {
        let Some(c) = self.lookup("interaction", id, customer) else {
            return;
        };
        let owner = owner.map(|o| self.names.intern(o));
        self.interactions.push(InteractionRow {
            customer: c,
            day,
            kind,
            owner,
        });
        if self.keep_ids {
            self.interaction_ids.push(id.to_string());
        }
    }

    pub fn interaction(&mut self, i: &Interaction) {
        self.add_interaction(
            i.id.as_str(),
            i.customer_id.as_str(),
            day_of(i.occurred_at),
            i.kind,
            i.owner.as_deref(),
        );
    }

    /// Add a campaign from its parts (before the touches that refer to it).
    pub fn add_campaign(
        &mut self,
        id: &str,
        name: &str,
        channel: Option<&str>,
        started: Option<Day>,
        cost: MinorUnits,
    ) {
        if self.campaign_index.contains_key(id) {
            return self.fail(DatasetError::DuplicateCampaign(id.to_string()));
        }
        if self.campaign_ids.len() >= u32::MAX as usize {
            return self.fail(DatasetError::TooMany);
        }
        let i = self.campaign_ids.len() as CampaignIdx;
        self.campaign_index.insert(id.to_string(), i);
        self.campaign_ids.push(id.to_string());
        let name = self.names.intern(name);
        let channel = channel.map(|c| self.names.intern(c));
        self.campaigns.push(CampaignRow {
            name,
            channel,
            started,
            cost,
        });
    }

    pub fn campaign(&mut self, m: &Campaign) {
        self.add_campaign(
            m.id.as_str(),
            &m.name,
            m.channel.as_deref(),
            m.started_at.map(day_of),
            m.cost,
        );
    }

    /// Add a touch from its parts: its campaign must have been added already.
    #[allow(clippy::too_many_arguments)]
    pub fn add_touch(
        &mut self,
        id: &str,
        campaign: &str,
        customer: &str,
        day: Day,
        opened: bool,
        clicked: bool,
        replied: bool,
    ) {
        let Some(m) = self.campaign_index.get(campaign).copied() else {
            return self.fail(DatasetError::UnknownCampaign {
                id: id.to_string(),
                campaign: campaign.to_string(),
            });
        };
        let Some(c) = self.lookup("touch", id, customer) else {
            return;
        };
        self.touches.push(TouchRow {
            customer: c,
            campaign: m,
            day,
            opened,
            clicked,
            replied,
        });
        if self.keep_ids {
            self.touch_ids.push(id.to_string());
        }
    }

    pub fn touch(&mut self, t: &Touch) {
        self.add_touch(
            t.id.as_str(),
            t.campaign_id.as_str(),
            t.customer_id.as_str(),
            day_of(t.sent_at),
            t.opened,
            t.clicked,
            t.replied,
        );
    }

    /// Sort, index and check. `loaded` records which kinds the rows are complete for.
    pub fn build(self, mut loaded: LoadOptions) -> Result<Dataset, DatasetError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        // Touches refer to campaigns: the builder has every campaign a touch names.
        loaded.campaigns |= loaded.touches;
        let n = self.ids.len();
        // Customers in byte order of their ids: old index → new index.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by(|a, b| self.ids[*a as usize].cmp(&self.ids[*b as usize]));
        let mut new_of = vec![0u32; n];
        for (new, old) in order.iter().enumerate() {
            new_of[*old as usize] = new as u32;
        }
        let mut ids = self.ids;
        let mut index = self.index;
        for v in index.values_mut() {
            *v = new_of[*v as usize];
        }
        let mut customers = vec![
            CustomerRow {
                acquired: 0,
                channel: None,
                plan: None,
                region: None,
                referred_by: None,
            };
            n
        ];
        for (old, row) in self.rows.iter().enumerate() {
            let mut row = *row;
            if let Some(r) = &self.referrers[old] {
                match index.get(r.as_str()) {
                    Some(q) => row.referred_by = Some(*q),
                    None => {
                        return Err(DatasetError::UnknownCustomer {
                            kind: "customer",
                            id: ids[old].clone(),
                            customer: r.clone(),
                        })
                    }
                }
            }
            customers[new_of[old] as usize] = row;
        }
        let mut sorted_ids = vec![String::new(); n];
        for (old, id) in ids.drain(..).enumerate() {
            sorted_ids[new_of[old] as usize] = id;
        }

        let remap = |c: &mut CustomerIdx| *c = new_of[*c as usize];
        let mut transactions = self.transactions;
        transactions.iter_mut().for_each(|t| remap(&mut t.customer));
        let mut subscriptions = self.subscriptions;
        subscriptions
            .iter_mut()
            .for_each(|s| remap(&mut s.customer));
        let mut usage = self.usage;
        usage.iter_mut().for_each(|u| remap(&mut u.customer));
        let mut feedback = self.feedback;
        feedback.iter_mut().for_each(|f| remap(&mut f.customer));
        let mut cases = self.cases;
        cases.iter_mut().for_each(|x| remap(&mut x.customer));
        let mut payments = self.payments;
        payments.iter_mut().for_each(|p| remap(&mut p.customer));
        let mut interactions = self.interactions;
        interactions.iter_mut().for_each(|i| remap(&mut i.customer));
        // Campaigns in byte order of their ids: old index → new index, as for customers.
        let mut m_order: Vec<u32> = (0..self.campaign_ids.len() as u32).collect();
        m_order.sort_unstable_by(|a, b| {
            self.campaign_ids[*a as usize].cmp(&self.campaign_ids[*b as usize])
        });
        let mut m_new_of = vec![0u32; m_order.len()];
        for (new, old) in m_order.iter().enumerate() {
            m_new_of[*old as usize] = new as u32;
        }
        let campaigns: Vec<CampaignRow> = m_order
            .iter()
            .map(|o| self.campaigns[*o as usize])
            .collect();
        let mut campaign_ids = self.campaign_ids;
        let campaign_ids: Vec<String> = m_order
            .iter()
            .map(|o| std::mem::take(&mut campaign_ids[*o as usize]))
            .collect();
        let mut touches = self.touches;
        for h in &mut touches {
            remap(&mut h.customer);
            h.campaign = m_new_of[h.campaign as usize];
        }
        let mut costs = self.costs;
        for k in &mut costs {
            if let CostTargetRow::Customer(c) = &mut k.target {
                remap(c);
            }
        }
        let keep = self.keep_ids;

        let (transactions, transaction_ids, t_off) = sort_rows(
            n,
            transactions,
            keep.then_some(self.transaction_ids),
            |t| Some(t.customer),
            |a, b| {
                (a.day, a.kind as u8, a.amount, a.cogs, a.currency).cmp(&(
                    b.day,
                    b.kind as u8,
                    b.amount,
                    b.cogs,
                    b.currency,
                ))
            },
        );
        let (subscriptions, subscription_ids, s_off) = sort_rows(
            n,
            subscriptions,
            keep.then_some(self.subscription_ids),
            |s| Some(s.customer),
            |a, b| {
                (a.start, a.end, a.plan, a.seats, a.amount)
                    .cmp(&(b.start, b.end, b.plan, b.seats, b.amount))
            },
        );
        let (usage, usage_ids, u_off) = sort_rows(
            n,
            usage,
            keep.then_some(self.usage_ids),
            |u| Some(u.customer),
            |a, b| {
                (a.day, a.feature, a.user)
                    .cmp(&(b.day, b.feature, b.user))
                    .then(a.quantity.total_cmp(&b.quantity))
            },
        );
        let (feedback, feedback_ids, f_off) = sort_rows(
            n,
            feedback,
            keep.then_some(self.feedback_ids),
            |f| Some(f.customer),
            |a, b| (a.day, a.kind as u8, a.score).cmp(&(b.day, b.kind as u8, b.score)),
        );
        let (cases, case_ids, case_off) = sort_rows(
            n,
            cases,
            keep.then_some(self.case_ids),
            |x| Some(x.customer),
            |a, b| {
                let key = |x: &CaseRow| {
                    (
                        x.day,
                        x.closed,
                        x.severity,
                        x.status as u8,
                        x.category,
                        x.product,
                        x.owner,
                        x.escalated,
                        x.escalated_to,
                        x.satisfaction,
                    )
                };
                key(a).cmp(&key(b))
            },
        );
        let (payments, payment_ids, p_off) = sort_rows(
            n,
            payments,
            keep.then_some(self.payment_ids),
            |p| Some(p.customer),
            |a, b| {
                let key = |p: &PaymentRow| {
                    (
                        p.day,
                        p.kind as u8,
                        p.amount.map(|m| (m.units(), m.currency())),
                    )
                };
                key(a).cmp(&key(b))
            },
        );
        let (interactions, interaction_ids, i_off) = sort_rows(
            n,
            interactions,
            keep.then_some(self.interaction_ids),
            |i| Some(i.customer),
            |a, b| (a.day, a.kind as u8, a.owner).cmp(&(b.day, b.kind as u8, b.owner)),
        );
        let (touches, touch_ids, h_off) = sort_rows(
            n,
            touches,
            keep.then_some(self.touch_ids),
            |h| Some(h.customer),
            |a, b| {
                (a.day, a.campaign, a.opened, a.clicked, a.replied)
                    .cmp(&(b.day, b.campaign, b.opened, b.clicked, b.replied))
            },
        );
        let (costs, cost_ids, k_off) = sort_rows(
            n,
            costs,
            keep.then_some(self.cost_ids),
            |k| match k.target {
                CostTargetRow::Customer(c) => Some(c),
                _ => None,
            },
            |a, b| {
                let key = |k: &CostRow| {
                    let t = match k.target {
                        CostTargetRow::Customer(c) => (0u8, c, 0u32),
                        CostTargetRow::Channel(ch) => (1, ch, 0),
                        CostTargetRow::Cohort(m) => (2, u32::from(m.year()), u32::from(m.month())),
                    };
                    (k.day, t, k.category as u8, k.amount, k.currency)
                };
                key(a).cmp(&key(b))
            },
        );
        Ok(Dataset {
            customer_ids: sorted_ids,
            customers,
            names: self.names,
            users: self.users,
            transactions,
            subscriptions,
            costs,
            usage,
            feedback,
            cases,
            payments,
            interactions,
            campaigns,
            campaign_ids,
            touches,
            transaction_ids,
            subscription_ids,
            cost_ids,
            usage_ids,
            feedback_ids,
            case_ids,
            payment_ids,
            interaction_ids,
            touch_ids,
            loaded,
            offsets: Offsets {
                transactions: t_off,
                subscriptions: s_off,
                costs: k_off,
                usage: u_off,
                feedback: f_off,
                cases: case_off,
                payments: p_off,
                interactions: i_off,
                touches: h_off,
            },
            index,
        })
    }
}

/// Sort rows by (customer, `cmp`, id) — rows without a customer last, by (`cmp`, id) — with a
/// counting sort on the customer, and return them with the per-customer start offsets
/// (length n + 1; rows without a customer start at `offsets[n]`).
fn sort_rows<T: Copy>(
    n: usize,
    rows: Vec<T>,
    ids: Option<Vec<String>>,
    customer: impl Fn(&T) -> Option<CustomerIdx>,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> (Vec<T>, Option<Vec<String>>, Vec<u32>) {
    let bucket = |r: &T| customer(r).map_or(n, |c| c as usize);
    let mut counts = vec![0u32; n + 2];
    for r in &rows {
        counts[bucket(r) + 1] += 1;
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    let offsets: Vec<u32> = counts[..=n].to_vec();
    let mut next = counts;
    let mut perm = vec![0u32; rows.len()];
    for (i, r) in rows.iter().enumerate() {
        let b = bucket(r);
        perm[next[b] as usize] = i as u32;
        next[b] += 1;
    }
    // Sort within each bucket.
    let bounds: Vec<usize> = offsets
        .iter()
        .map(|o| *o as usize)
        .chain(std::iter::once(rows.len()))
        .collect();
    for w in bounds.windows(2) {
        let slice = &mut perm[w[0]..w[1]];
        if slice.len() > 1 {
            slice.sort_unstable_by(|a, b| {
                let (ra, rb) = (&rows[*a as usize], &rows[*b as usize]);
                let by_id = match &ids {
                    Some(ids) => ids[*a as usize].cmp(&ids[*b as usize]),
                    None => std::cmp::Ordering::Equal,
                };
                cmp(ra, rb).then(by_id)
            });
        }
    }
    let sorted: Vec<T> = perm.iter().map(|i| rows[*i as usize]).collect();
    let ids = ids.map(|mut ids| {
        perm.iter()
            .map(|i| std::mem::take(&mut ids[*i as usize]))
            .collect()
    });
    (sorted, ids, offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_the_civil_calendar() {
        assert_eq!(day_from_ymd(1970, 1, 1), 0);
        assert_eq!(day_from_ymd(2000, 3, 1), 11_017);
        assert_eq!(day_from_ymd(1969, 12, 31), -1);
        for d in (-800_000..800_000).step_by(997) {
            let (y, m, dd) = ymd_of_day(d);
            assert_eq!(day_from_ymd(y, m, dd), d);
        }
        assert_eq!(day_of_text("2024-02-29T23:59:59.000000Z"), Some(19_782));
        assert_eq!(day_of_text("2023-02-29"), None);
        assert_eq!(day_of_text("2023-13-01"), None);
        assert_eq!(day_of_text("20230101"), None);
        assert_eq!(
            day_of(Timestamp::parse("2024-02-29T23:30:00-02:00").expect("valid")),
            19_783
        );
    }
}
