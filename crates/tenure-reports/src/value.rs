//! The vendor's value ledger: per customer and calendar month, revenue by conduit, referral
//! credit, COGS, acquisition, retention and service costs, profit and cumulative profit,
//! breakeven and CAC payback; roll-ups by any [`Grouping`]; and [`explain`], which lists the
//! records behind every figure. Policies are in the crate docs.

use crate::calendar::{Day, Month};
use crate::groups::Grouping;
use crate::money::{share_of, split_evenly, Fx};
use crate::mrr::Timeline;
use crate::{Excluded, ReportError};
use rust_decimal::Decimal;
use std::collections::HashMap;
use tenure_core::{CostCategory, Currency, TransactionKind};
use tenure_store::dataset::{CampaignIdx, CostTargetRow, CustomerIdx, NameId, PerCustomer};
use tenure_store::Dataset;

/// How the ledger is computed.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueConfig {
    /// Records dated after this day are ignored.
    pub as_of: Day,
    pub fx: Fx,
    /// Share of a referred customer's net revenue credited to her referrer, in [0, 1].
    pub referral_share: Decimal,
}

impl ValueConfig {
    /// `as_of`, one currency, the default referral share of 10 %.
    pub fn new(as_of: Day, currency: Currency) -> ValueConfig {
        ValueConfig {
            as_of,
            fx: Fx::new(currency),
            referral_share: Decimal::new(1, 1),
        }
    }
}

/// The position of a transaction kind in [`Figures::revenue`] (`TransactionKind::ALL` order:
/// new, upsell, expansion, renewal, change_order, one_off, refund).
pub fn conduit(kind: TransactionKind) -> usize {
    TransactionKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0)
}

/// The figures of a ledger (one month, a customer's total or a group's), in minor units of the
/// report currency. Costs are positive numbers that profit subtracts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Revenue by conduit, in `TransactionKind::ALL` order; the refund entry is ≤ 0.
    pub revenue: [i64; 7],
    pub referral_credit: i64,
    pub cogs: i64,
    pub acquisition_direct: i64,
    pub acquisition_allocated: i64,
    pub retention_direct: i64,
    pub retention_allocated: i64,
    pub service_direct: i64,
    pub service_allocated: i64,
}

impl Figures {
    /// Revenue of all conduits, refunds netted.
    pub fn net_revenue(&self) -> i64 {
        self.revenue.iter().sum()
    }
    pub fn acquisition(&self) -> i64 {
        self.acquisition_direct + self.acquisition_allocated
    }
    pub fn retention(&self) -> i64 {
        self.retention_direct + self.retention_allocated
    }
    pub fn service(&self) -> i64 {
        self.service_direct + self.service_allocated
    }
    /// Net revenue − COGS.
    pub fn contribution(&self) -> i64 {
        self.net_revenue() - self.cogs
    }
    /// Profit without referral credit.
    pub fn own_profit(&self) -> i64 {
        self.contribution() - self.acquisition() - self.retention() - self.service()
    }
    /// Profit with referral credit.
    pub fn profit(&self) -> i64 {
        self.own_profit() + self.referral_credit
    }
    pub fn add(&mut self, o: &Figures) {
        for (a, b) in self.revenue.iter_mut().zip(o.revenue) {
            *a += b;
        }
        self.referral_credit += o.referral_credit;
        self.cogs += o.cogs;
        self.acquisition_direct += o.acquisition_direct;
        self.acquisition_allocated += o.acquisition_allocated;
        self.retention_direct += o.retention_direct;
        self.retention_allocated += o.retention_allocated;
        self.service_direct += o.service_direct;
        self.service_allocated += o.service_allocated;
    }
}

/// One month of a customer's ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerMonth {
    pub month: Month,
    pub figures: Figures,
    /// Profit (with referral credit) from the first month to this one.
    pub cumulative_profit: i64,
}

/// A customer's realised value to `as_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerValue {
    pub customer: CustomerIdx,
    /// The month of `acquired_at`.
    pub acquired: Month,
    pub totals: Figures,
    /// Months from the acquisition month to the month of `as_of`, both counted (0 when
    /// acquired after `as_of`).
    pub months: u32,
    /// The first month in which cumulative profit ≥ 0; `None`: not yet.
    pub breakeven: Option<Month>,
    /// That month's number, the acquisition month being month 1.
    pub breakeven_after_months: Option<u32>,
    /// The number of the first month (acquisition month = 1) by which cumulative contribution
    /// covers the acquisition cost to date; `None`: not yet. 1 when there is no acquisition
    /// cost and the first month's contribution is ≥ 0.
    pub cac_payback_months: Option<u32>,
}

/// What a shared (channel or cohort) cost became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedCost {
    /// Index into `Dataset::costs`.
    pub cost: usize,
    /// Converted amount.
    pub amount: i64,
    /// How many customers it was split among (0: unallocated).
    pub recipients: u32,
}

/// What a campaign's cost became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignCost {
    pub campaign: CampaignIdx,
    /// Converted amount.
    pub amount: i64,
    /// How many touches (sent by `as_of`) it was split among (0: unallocated).
    pub touches: u32,
}

/// Shared costs and campaign costs split among customers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocations {
    pub shared: Vec<SharedCost>,
    /// (customer, index into `shared`, amount), sorted by customer.
    parts: Vec<(CustomerIdx, u32, i64)>,
    offsets: Vec<u32>,
    /// Campaigns whose cost could be converted, in campaign order.
    pub campaigns: Vec<CampaignCost>,
    /// (customer, index into `campaigns`, index into `Dataset::touches`, amount), sorted by
    /// customer then touch.
    touch_parts: Vec<(CustomerIdx, u32, u32, i64)>,
    touch_offsets: Vec<u32>,
}

impl Allocations {
    /// The parts of shared costs customer `c` received: (index into `shared`, amount).
    pub fn of(&self, c: CustomerIdx) -> impl Iterator<Item = (usize, i64)> + '_ {
        let c = c as usize;
        let r = match (self.offsets.get(c), self.offsets.get(c + 1)) {
            (Some(a), Some(b)) => *a as usize..*b as usize,
            _ => 0..0,
        };
        self.parts[r].iter().map(|(_, s, a)| (*s as usize, *a))
    }
    /// The shares of campaign costs customer `c` received, one per touch: (index into
    /// `campaigns`, index into `Dataset::touches`, amount).
    pub fn campaigns_of(&self, c: CustomerIdx) -> impl Iterator<Item = (usize, usize, i64)> + '_ {
        let c = c as usize;
        let r = match (self.touch_offsets.get(c), self.touch_offsets.get(c + 1)) {
            (Some(a), Some(b)) => *a as usize..*b as usize,
            _ => 0..0,
        };
        self.touch_parts[r]
            .iter()
            .map(|(_, k, t, a)| (*k as usize, *t as usize, *a))
    }
    /// Customer `c`'s campaign cost: the sum of her touches' shares.
    pub fn campaign_cost_of(&self, c: CustomerIdx) -> i64 {
        self.campaigns_of(c).map(|p| p.2).sum()
    }
    /// Campaign costs with no touch sent by `as_of`, total (not in any customer's ledger).
    pub fn unallocated_campaigns(&self) -> i64 {
        self.campaigns
            .iter()
            .filter(|k| k.touches == 0)
            .map(|k| k.amount)
            .sum()
    }
    /// Shared costs that found no customer, total (campaign costs: see
    /// [`Allocations::unallocated_campaigns`]).
    pub fn unallocated(&self) -> i64 {
        self.shared
            .iter()
            .filter(|s| s.recipients == 0)
            .map(|s| s.amount)
            .sum()
    }
}

/// Whether each customer was active (MRR > 0 on some day, or a purchase that is not a
/// refund) in each month from `first`, over `n` months.
fn active_months(data: &Dataset, fx: &Fx, as_of: Day, first: Month, n: usize) -> Vec<Vec<bool>> {
    let mut ex = Excluded::default();
    (0..data.len() as CustomerIdx)
        .map(|c| {
            let mut on = vec![false; n];
            let mut mark = |m: Month| {
                let i = m.since(first);
                if i >= 0 && (i as usize) < n {
                    on[i as usize] = true;
                }
            };
            for t in data.transactions_of(c) {
                if t.day <= as_of && t.kind != TransactionKind::Refund {
                    mark(Month::of_day(t.day));
                }
            }
            let tl = Timeline::of(data, fx, c, as_of, &mut ex);
            for (i, s) in tl.steps.iter().enumerate() {
                if s.mrr <= 0 {
                    continue;
                }
                let until = tl.steps.get(i + 1).map_or(as_of, |n| n.day - 1).min(as_of);
                let mut m = Month::of_day(s.day);
                while m <= Month::of_day(until) {
                    mark(m);
                    m = m.plus(1);
                }
            }
            on
        })
        .collect()
}

/// Split every channel- or cohort-attached cost dated on or before `as_of` among its
/// customers (rules in the crate docs).
pub fn allocate(data: &Dataset, cfg: &ValueConfig, excluded: &mut Excluded) -> Allocations {
    let as_of = cfg.as_of;
    let base = data.costs.len() - data.shared_costs().len();
    let mut by_channel_month: HashMap<(NameId, Month), Vec<CustomerIdx>> = HashMap::new();
    let mut by_cohort: HashMap<Month, Vec<CustomerIdx>> = HashMap::new();
    let mut by_channel: HashMap<NameId, Vec<CustomerIdx>> = HashMap::new();
    for (c, row) in data.customers.iter().enumerate() {
        if row.acquired > as_of {
            continue;
        }
        let m = Month::of_day(row.acquired);
        by_cohort.entry(m).or_default().push(c as CustomerIdx);
        if let Some(ch) = row.channel {
            by_channel_month
                .entry((ch, m))
                .or_default()
                .push(c as CustomerIdx);
            by_channel.entry(ch).or_default().push(c as CustomerIdx);
        }
    }
    // Activity is needed only for retention and service costs shared by a channel or cohort.
    let needs_activity = data
        .shared_costs()
        .iter()
        .any(|k| k.category != CostCategory::Acquisition && k.day <= as_of);
    let first = data
        .customers
        .iter()
        .map(|c| c.acquired)
        .chain(data.shared_costs().iter().map(|k| k.day))
        .min()
        .map(Month::of_day);
    let (first, n) = match first {
        Some(f) => (f, (Month::of_day(as_of).since(f) + 1).max(0) as usize),
        None => (Month::of_day(as_of), 0),
    };
    let active = if needs_activity {
        active_months(data, &cfg.fx, as_of, first, n)
    } else {
        Vec::new()
    };
    let is_active = |c: CustomerIdx, m: Month| {
        let i = m.since(first);
        i >= 0 && active.get(c as usize).and_then(|a| a.get(i as usize)) == Some(&true)
    };

    let mut shared = Vec::new();
    let mut parts = Vec::new();
    for (j, k) in data.shared_costs().iter().enumerate() {
        if k.day > as_of {
            continue;
        }
        let Some(amount) = cfg.fx.convert(k.amount, k.currency) else {
            excluded.cost(k.currency);
            continue;
        };
        let m = Month::of_day(k.day);
        let empty = Vec::new();
        let recipients: Vec<CustomerIdx> = match (k.category, k.target) {
            (CostCategory::Acquisition, CostTargetRow::Channel(ch)) => {
                by_channel_month.get(&(ch, m)).unwrap_or(&empty).clone()
            }
            (CostCategory::Acquisition, CostTargetRow::Cohort(co)) => by_cohort
                .get(&Month::new(i32::from(co.year()), u32::from(co.month())))
                .unwrap_or(&empty)
                .clone(),
            (_, CostTargetRow::Channel(ch)) => by_channel
                .get(&ch)
                .unwrap_or(&empty)
                .iter()
                .copied()
                .filter(|c| is_active(*c, m))
                .collect(),
            (_, CostTargetRow::Cohort(co)) => by_cohort
                .get(&Month::new(i32::from(co.year()), u32::from(co.month())))
                .unwrap_or(&empty)
                .iter()
                .copied()
                .filter(|c| is_active(*c, m))
                .collect(),
            (_, CostTargetRow::Customer(_)) => continue,
        };
        let idx = shared.len() as u32;
        for (c, part) in recipients
            .iter()
            .zip(split_evenly(amount, recipients.len()))
        {
            parts.push((*c, idx, part));
        }
        shared.push(SharedCost {
            cost: base + j,
            amount,
            recipients: recipients.len() as u32,
        });
    }
    parts.sort_unstable_by_key(|p| (p.0, p.1));
    let offsets = offsets_of(data.len(), parts.iter().map(|p| p.0));
    let (campaigns, touch_parts) = allocate_campaigns(data, cfg, excluded);
    let touch_offsets = offsets_of(data.len(), touch_parts.iter().map(|p| p.0));
    Allocations {
        shared,
        parts,
        offsets,
        campaigns,
        touch_parts,
        touch_offsets,
    }
}

/// Start offsets per customer (length `n + 1`) of rows sorted by customer.
fn offsets_of(n: usize, customers: impl Iterator<Item = CustomerIdx>) -> Vec<u32> {
    let mut offsets = vec![0u32; n + 1];
    for c in customers {
        offsets[c as usize + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    offsets
}

/// Split each campaign's cost (converted to the report currency) equally among its touches
/// sent on or before `as_of`, in touch order (sent day, then customer order, then the touch's
/// position in the store): every touch gets ⌊cost / n⌋ minor units and the first `cost mod n`
/// touches one more, so the shares add up to the cost exactly. Returns the campaigns and the
/// parts (customer, campaign position, touch row, amount) sorted by customer then touch row.
#[allow(clippy::type_complexity)]
fn allocate_campaigns(
    data: &Dataset,
    cfg: &ValueConfig,
    excluded: &mut Excluded,
) -> (Vec<CampaignCost>, Vec<(CustomerIdx, u32, u32, i64)>) {
    let mut touches: Vec<Vec<u32>> = vec![Vec::new(); data.campaigns.len()];
    for (i, t) in data.touches.iter().enumerate() {
        if t.day <= cfg.as_of {
            if let Some(v) = touches.get_mut(t.campaign as usize) {
                v.push(i as u32);
            }
        }
    }
    let mut campaigns = Vec::new();
    let mut parts = Vec::new();
    for (m, (k, mut ts)) in data.campaigns.iter().zip(touches).enumerate() {
        if ts.is_empty() && k.started.is_none_or(|d| d > cfg.as_of) {
            continue;
        }
        let Some(amount) = cfg.fx.convert(k.cost.units(), k.cost.currency()) else {
            excluded.cost(k.cost.currency());
            continue;
        };
        ts.sort_unstable_by_key(|&i| {
            let t = &data.touches[i as usize];
            (t.day, t.customer, i)
        });
        let idx = campaigns.len() as u32;
        for (&i, part) in ts.iter().zip(split_evenly(amount, ts.len())) {
            parts.push((data.touches[i as usize].customer, idx, i, part));
        }
        campaigns.push(CampaignCost {
            campaign: m as CampaignIdx,
            amount,
            touches: ts.len() as u32,
        });
    }
    parts.sort_unstable_by_key(|p| (p.0, p.2));
    (campaigns, parts)
}

/// Which figure an explained amount is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Revenue(TransactionKind),
    Cogs,
    ReferralCredit,
    AcquisitionDirect,
    AcquisitionAllocated,
    RetentionDirect,
    RetentionAllocated,
    ServiceDirect,
    ServiceAllocated,
}

impl Figure {
    pub fn name(self) -> String {
        match self {
            Figure::Revenue(k) => format!("revenue.{k}"),
            Figure::Cogs => "cogs".into(),
            Figure::ReferralCredit => "referral_credit".into(),
            Figure::AcquisitionDirect => "acquisition.direct".into(),
            Figure::AcquisitionAllocated => "acquisition.allocated".into(),
            Figure::RetentionDirect => "retention.direct".into(),
            Figure::RetentionAllocated => "retention.allocated".into(),
            Figure::ServiceDirect => "service.direct".into(),
            Figure::ServiceAllocated => "service.allocated".into(),
        }
    }
}

/// One record's part in a figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainItem {
    pub figure: Figure,
    pub month: Month,
    pub day: Day,
    /// `transaction`, `cost` or (for referral credit) `referral`.
    pub record_kind: &'static str,
    /// The record id (ids loaded), or for a referral the referred customer's id.
    pub record: Option<String>,
    /// Amount in minor units of the report currency, as it enters the figure.
    pub amount: i64,
    /// How the amount was obtained (conversion, split, share).
    pub note: String,
}

/// Per-customer inputs the ledger needs besides the dataset.
pub struct Context<'a> {
    pub data: &'a Dataset,
    pub cfg: &'a ValueConfig,
    pub alloc: &'a Allocations,
    /// Customers referred by each customer (direct referrals).
    pub referees: Vec<Vec<CustomerIdx>>,
}

impl<'a> Context<'a> {
    pub fn new(data: &'a Dataset, cfg: &'a ValueConfig, alloc: &'a Allocations) -> Self {
        let mut referees = vec![Vec::new(); data.len()];
        for (c, row) in data.customers.iter().enumerate() {
            if let Some(r) = row.referred_by {
                if let Some(v) = referees.get_mut(r as usize) {
                    v.push(c as CustomerIdx);
                }
            }
        }
        Context {
            data,
            cfg,
            alloc,
            referees,
        }
    }
}

fn fmt_minor(v: i64, c: Currency) -> String {
    crate::money::to_decimal(v, c).to_string()
}

/// Customer `c`'s ledger: her value and her months (first month = the earlier of her
/// acquisition month and her first record's month), adding to `items` the record behind
/// each amount when given.
pub fn customer_ledger(
    ctx: &Context,
    c: CustomerIdx,
    excluded: &mut Excluded,
    mut items: Option<&mut Vec<ExplainItem>>,
) -> (CustomerValue, Vec<LedgerMonth>) {
    let (data, cfg) = (ctx.data, ctx.cfg);
    let as_of = cfg.as_of;
    let cur = cfg.fx.currency();
    let acquired = Month::of_day(data.customers[c as usize].acquired);
    let last = Month::of_day(as_of);
    // Entries: (month, figure, amount); items when explaining.
    let mut entries: Vec<(Month, Figure, i64)> = Vec::new();
    let push = |entries: &mut Vec<(Month, Figure, i64)>,
                items: &mut Option<&mut Vec<ExplainItem>>,
                day: Day,
                fig: Figure,
                amount: i64,
                kind: &'static str,
                record: Option<String>,
                note: String| {
        let m = Month::of_day(day);
        entries.push((m, fig, amount));
        if let Some(v) = items.as_deref_mut() {
            v.push(ExplainItem {
                figure: fig,
                month: m,
                day,
                record_kind: kind,
                record,
                amount,
                note,
            });
        }
    };
    let conv_note = |orig: i64, from: Currency| {
        if from == cur {
            String::new()
        } else {
            format!("{} {from} converted", fmt_minor(orig, from))
        }
    };
    let tr = data.range(PerCustomer::Transactions, c);
    for (i, t) in data.transactions[tr.clone()].iter().enumerate() {
        if t.day > as_of {
            continue;
        }
        let Some(a) = cfg.fx.convert(t.amount, t.currency) else {
            excluded.transaction(t.currency);
            continue;
        };
        let id = || {
            data.id_of(PerCustomer::Transactions, tr.start + i)
                .map(str::to_string)
        };
        push(
            &mut entries,
            &mut items,
            t.day,
            Figure::Revenue(t.kind),
            a,
            "transaction",
            id(),
            conv_note(t.amount, t.currency),
        );
        if let Some(g) = t.cogs.and_then(|g| cfg.fx.convert(g, t.currency)) {
            if g != 0 {
                push(
                    &mut entries,
                    &mut items,
                    t.day,
                    Figure::Cogs,
                    g,
                    "transaction",
                    id(),
                    conv_note(t.cogs.unwrap_or(0), t.currency),
                );
            }
        }
    }
    // Referral credit: a share of each referred customer's net revenue per month.
    if cfg.referral_share != Decimal::ZERO {
        for &r in &ctx.referees[c as usize] {
            let mut by_month: Vec<(Month, i64)> = Vec::new();
            for t in data.transactions_of(r) {
                if t.day > as_of {
                    continue;
                }
                let Some(a) = cfg.fx.convert(t.amount, t.currency) else {
                    continue;
                };
                let m = Month::of_day(t.day);
                match by_month.iter_mut().find(|(x, _)| *x == m) {
                    Some(e) => e.1 += a,
                    None => by_month.push((m, a)),
                }
            }
            for (m, net) in by_month {
                let credit = share_of(net, cfg.referral_share);
                if credit != 0 {
                    push(
                        &mut entries,
                        &mut items,
                        m.first_day().max(data.customers[r as usize].acquired),
                        Figure::ReferralCredit,
                        credit,
                        "referral",
                        Some(data.customer_id(r).to_string()),
                        format!(
                            "{} × net revenue {} of referred customer in {m}",
                            cfg.referral_share,
                            fmt_minor(net, cur)
                        ),
                    );
                }
            }
        }
    }
    let kr = data.range(PerCustomer::Costs, c);
    for (i, k) in data.costs[kr.clone()].iter().enumerate() {
        if k.day > as_of {
            continue;
        }
        let Some(a) = cfg.fx.convert(k.amount, k.currency) else {
            excluded.cost(k.currency);
            continue;
        };
        let fig = match k.category {
            CostCategory::Acquisition => Figure::AcquisitionDirect,
            CostCategory::Retention => Figure::RetentionDirect,
            CostCategory::Service => Figure::ServiceDirect,
        };
        let id = data
            .id_of(PerCustomer::Costs, kr.start + i)
            .map(str::to_string);
        push(
            &mut entries,
            &mut items,
            k.day,
            fig,
            a,
            "cost",
            id,
            conv_note(k.amount, k.currency),
        );
    }
    for (s, part) in ctx.alloc.of(c) {
        let sc = &ctx.alloc.shared[s];
        let k = &data.costs[sc.cost];
        let fig = match k.category {
            CostCategory::Acquisition => Figure::AcquisitionAllocated,
            CostCategory::Retention => Figure::RetentionAllocated,
            CostCategory::Service => Figure::ServiceAllocated,
        };
        let target = match k.target {
            CostTargetRow::Channel(ch) => format!("channel {}", data.name(ch)),
            CostTargetRow::Cohort(m) => format!("cohort {m}"),
            CostTargetRow::Customer(_) => String::new(),
        };
        let note = format!(
            "{} of {target} split among {} customers",
            fmt_minor(sc.amount, cur),
            sc.recipients
        );
        let id = data.id_of(PerCustomer::Costs, sc.cost).map(str::to_string);
        push(&mut entries, &mut items, k.day, fig, part, "cost", id, note);
    }
    for (m, t, part) in ctx.alloc.campaigns_of(c) {
        let mc = &ctx.alloc.campaigns[m];
        let k = &data.campaigns[mc.campaign as usize];
        let note = format!(
            "{} of campaign {} ({}) split among {} touches",
            fmt_minor(mc.amount, cur),
            data.name(k.name),
            data.campaign_id(mc.campaign),
            mc.touches
        );
        let id = data.id_of(PerCustomer::Touches, t).map(str::to_string);
        push(
            &mut entries,
            &mut items,
            data.touches[t].day,
            Figure::RetentionAllocated,
            part,
            "touch",
            id,
            note,
        );
    }

    let first = entries
        .iter()
        .map(|e| e.0)
        .min()
        .map_or(acquired, |m| m.min(acquired));
    let n = if last >= first {
        (last.since(first) + 1) as usize
    } else {
        0
    };
    let mut months: Vec<LedgerMonth> = (0..n)
        .map(|i| LedgerMonth {
            month: first.plus(i as i32),
            figures: Figures::default(),
            cumulative_profit: 0,
        })
        .collect();
    for (m, fig, a) in entries {
        let i = m.since(first);
        if i < 0 || i as usize >= n {
            continue;
        }
        let f = &mut months[i as usize].figures;
        match fig {
            Figure::Revenue(k) => f.revenue[conduit(k)] += a,
            Figure::Cogs => f.cogs += a,
            Figure::ReferralCredit => f.referral_credit += a,
            Figure::AcquisitionDirect => f.acquisition_direct += a,
            Figure::AcquisitionAllocated => f.acquisition_allocated += a,
            Figure::RetentionDirect => f.retention_direct += a,
            Figure::RetentionAllocated => f.retention_allocated += a,
            Figure::ServiceDirect => f.service_direct += a,
            Figure::ServiceAllocated => f.service_allocated += a,
        }
    }
    let mut totals = Figures::default();
    let mut cum = 0i64;
    let (mut breakeven, mut breakeven_n, mut payback) = (None, None, None);
    let (mut contribution, mut acquisition) = (0i64, 0i64);
    for lm in months.iter_mut() {
        totals.add(&lm.figures);
        cum += lm.figures.profit();
        lm.cumulative_profit = cum;
        contribution += lm.figures.contribution();
        acquisition += lm.figures.acquisition();
        if lm.month < acquired {
            continue;
        }
        let number = (lm.month.since(acquired) + 1) as u32;
        if breakeven.is_none() && cum >= 0 {
            breakeven = Some(lm.month);
            breakeven_n = Some(number);
        }
        if payback.is_none() && contribution >= acquisition {
            payback = Some(number);
        }
    }
    let months_observed = if last >= acquired {
        (last.since(acquired) + 1) as u32
    } else {
        0
    };
    (
        CustomerValue {
            customer: c,
            acquired,
            totals,
            months: months_observed,
            breakeven,
            breakeven_after_months: breakeven_n,
            cac_payback_months: payback,
        },
        months,
    )
}

/// Average cumulative profit by months since acquisition, of a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgePoint {
    /// Months since acquisition, the acquisition month being 1.
    pub month_number: u32,
    /// Customers observed that long.
    pub customers: u64,
    /// Their cumulative profit at the end of that month, summed.
    pub cumulative_profit: i64,
}

/// A group's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueGroup {
    pub label: String,
    pub customers: u64,
    pub totals: Figures,
    /// Customers whose cumulative profit has reached 0.
    pub broken_even: u64,
    /// Median CAC payback months among those paid back; `None` if none.
    pub median_payback_months: Option<u32>,
    /// Customers whose CAC is paid back.
    pub paid_back: u64,
    pub by_age: Vec<AgePoint>,
}

/// The value ledger of every customer, and roll-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueReport {
    pub as_of: Day,
    pub currency: Currency,
    pub customers: Vec<CustomerValue>,
    pub grouping: String,
    pub groups: Vec<ValueGroup>,
    pub total: ValueGroup,
    pub allocations: Allocations,
    pub excluded: Excluded,
}

fn check_loaded(data: &Dataset) -> Result<(), ReportError> {
    if !data.loaded.transactions {
        return Err(ReportError::NotLoaded("transactions"));
    }
    if !data.loaded.costs {
        return Err(ReportError::NotLoaded("costs"));
    }
    Ok(())
}

/// Compute every customer's ledger to `cfg.as_of` and roll them up by `grouping`. Customers
/// acquired after `as_of` are left out.
pub fn value_report(
    data: &Dataset,
    cfg: &ValueConfig,
    grouping: &Grouping,
) -> Result<ValueReport, ReportError> {
    check_loaded(data)?;
    if cfg.referral_share < Decimal::ZERO || cfg.referral_share > Decimal::ONE {
        return Err(ReportError::Setting(format!(
            "the referral share must be between 0 and 1, got {}",
            cfg.referral_share
        )));
    }
    let mut excluded = Excluded::default();
    let alloc = allocate(data, cfg, &mut excluded);
    let ctx = Context::new(data, cfg, &alloc);
    let blank = |label: &str| ValueGroup {
        label: label.to_string(),
        customers: 0,
        totals: Figures::default(),
        broken_even: 0,
        median_payback_months: None,
        paid_back: 0,
        by_age: Vec::new(),
    };
    let mut total = blank("all");
    let mut groups: Vec<ValueGroup> = grouping.labels.iter().map(|l| blank(l)).collect();
    let mut paybacks: Vec<Vec<u32>> = vec![Vec::new(); groups.len() + 1];
    let mut customers = Vec::with_capacity(data.len());
    for c in 0..data.len() as CustomerIdx {
        if data.customers[c as usize].acquired > cfg.as_of {
            continue;
        }
        let (v, months) = customer_ledger(&ctx, c, &mut excluded, None);
        let g = grouping.group(c);
        let add = |grp: &mut ValueGroup, pb: &mut Vec<u32>| {
            grp.customers += 1;
            grp.totals.add(&v.totals);
            grp.broken_even += u64::from(v.breakeven.is_some());
            if let Some(p) = v.cac_payback_months {
                grp.paid_back += 1;
                pb.push(p);
            }
            for lm in months.iter().filter(|m| m.month >= v.acquired) {
                let k = lm.month.since(v.acquired) as usize;
                if grp.by_age.len() <= k {
                    grp.by_age.resize(k + 1, AgePoint::default());
                }
                let a = &mut grp.by_age[k];
                a.month_number = k as u32 + 1;
                a.customers += 1;
                a.cumulative_profit += lm.cumulative_profit;
            }
        };
        let last = paybacks.len() - 1;
        add(&mut total, &mut paybacks[last]);
        if let Some(g) = g {
            add(&mut groups[g], &mut paybacks[g]);
        }
        customers.push(v);
    }
    let median = |v: &mut Vec<u32>| {
        v.sort_unstable();
        (!v.is_empty()).then(|| v[(v.len() - 1) / 2])
    };
    for (g, pb) in groups.iter_mut().zip(paybacks.iter_mut()) {
        g.median_payback_months = median(pb);
    }
    let last = paybacks.len() - 1;
    total.median_payback_months = median(&mut paybacks[last]);
    Ok(ValueReport {
        as_of: cfg.as_of,
        currency: cfg.fx.currency(),
        customers,
        grouping: grouping.name.clone(),
        groups,
        total,
        allocations: alloc,
        excluded,
    })
}

/// One customer's ledger with the records behind every figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub customer: String,
    pub value: CustomerValue,
    pub months: Vec<LedgerMonth>,
    pub items: Vec<ExplainItem>,
    pub excluded: Excluded,
}

/// Explain customer `id`'s ledger: every amount with its record. Load the dataset with ids
/// (and, for speed, `only` the customer and those she referred) to get record ids.
pub fn explain(data: &Dataset, cfg: &ValueConfig, id: &str) -> Result<Explanation, ReportError> {
    check_loaded(data)?;
    let c = data
        .customer(id)
        .ok_or_else(|| ReportError::UnknownCustomer(id.to_string()))?;
    let mut excluded = Excluded::default();
    let alloc = allocate(data, cfg, &mut excluded);
    let ctx = Context::new(data, cfg, &alloc);
    let mut items = Vec::new();
    let (value, months) = customer_ledger(&ctx, c, &mut excluded, Some(&mut items));
    items.sort_by_key(|a| (a.day, a.figure.name()));
    Ok(Explanation {
        customer: id.to_string(),
        value,
        months,
        items,
        excluded,
    })
}
