//! Every customer's decisions on one day, computed once from the store and served from memory.
//!
//! The same library calls as `tenure segments`, `tenure stages`, `tenure health` and `tenure
//! advocates` with the same settings, so the API's figures equal the CLI's for the same store,
//! day, currency and configuration. Invariant: `customers` is sorted by id and `index` maps an
//! id to its position.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tenure_act::advocacy::advocates;
use tenure_act::stages::{funnel, FunnelRow, Stage};
use tenure_act::{decide, Band, Config, Segment};
use tenure_reports::money::{div_round, to_decimal};
use tenure_reports::retention::{retention_report, RetentionRow};
use tenure_reports::status::Status;
use tenure_reports::value::{allocate, Allocations, ValueConfig};
use tenure_reports::Excluded;
use tenure_reports::{mrr_report, Fx, GroupBy, Grouping};
use tenure_store::dataset::{ymd_of_day, Day};
use tenure_store::{Dataset, LoadOptions, Location, Store};

/// The report currency and its conversion rates for a loaded store (the CLI's `--currency` /
/// `--fx` rules), or why none can be chosen.
pub type FxRule = Arc<dyn Fn(&Dataset) -> Result<Fx, String> + Send + Sync>;

/// How the server decides: the store, the configuration, the currency, the day.
#[derive(Clone)]
pub struct Settings {
    pub location: Location,
    pub config: Config,
    /// Where the configuration came from (`defaults`, a path), reported with every answer.
    pub config_source: String,
    /// The file playbooks are saved to (`PUT /api/playbooks/{name}`); `None`: playbooks are
    /// read-only (the server runs on the defaults).
    pub config_path: Option<std::path::PathBuf>,
    pub fx: FxRule,
    /// The day to decide on; `None`: the newest record's day at each refresh.
    pub as_of: Option<Day>,
    /// Origins (`https://app.example.com`) allowed to call the API from a browser; empty (the
    /// default): no CORS headers at all, so only the dashboard's own origin can.
    pub cors_origins: Vec<String>,
}

/// One health component, as `tenure health CUSTOMER` explains it.
#[derive(Debug, Clone)]
pub struct ComponentView {
    pub name: &'static str,
    pub input: String,
    pub points: Option<f64>,
    pub max_points: f64,
}

/// One customer's decisions. Money in minor units of the snapshot's currency.
#[derive(Debug, Clone)]
pub struct CustomerView {
    pub id: String,
    pub acquired: String,
    pub tenure_days: i32,
    pub channel: Option<String>,
    pub plan: Option<String>,
    pub region: Option<String>,
    pub status: &'static str,
    pub subscribed: bool,
    pub segment: &'static str,
    pub segment_reason: String,
    pub stage: &'static str,
    pub stage_since: String,
    pub days_in_stage: i32,
    pub stage_overdue: bool,
    pub stage_reason: String,
    pub health: Option<f64>,
    pub band: Option<&'static str>,
    pub components: Vec<ComponentView>,
    pub realised_profit: i64,
    pub future_profit: Option<i64>,
    pub method: String,
    pub p_alive: Option<f64>,
    pub nps: Option<u8>,
    pub referrals: u32,
    /// 1-based rank in the advocacy list, if she is in it.
    pub advocate_rank: Option<usize>,
}

/// What the customer list can be ordered by besides id. Missing values come last in either
/// direction; ties keep id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    Health,
    RealisedProfit,
    LifetimeProfit,
    PAlive,
    Tenure,
}

impl Order {
    pub const ALL: [Order; 5] = [
        Order::Health,
        Order::RealisedProfit,
        Order::LifetimeProfit,
        Order::PAlive,
        Order::Tenure,
    ];

    fn key(self, c: &CustomerView) -> Option<f64> {
        match self {
            Order::Health => c.health,
            Order::RealisedProfit => Some(c.realised_profit as f64),
            Order::LifetimeProfit => c.future_profit.map(|f| (f + c.realised_profit) as f64),
            Order::PAlive => c.p_alive,
            Order::Tenure => Some(f64::from(c.tenure_days)),
        }
    }

    fn cmp(self, desc: bool, a: &CustomerView, b: &CustomerView) -> std::cmp::Ordering {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let o = match (self.key(a), self.key(b)) {
            (Some(x), Some(y)) if desc => y.total_cmp(&x),
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => Less,
            (None, Some(_)) => Greater,
            (None, None) => Equal,
        };
        o.then_with(|| a.id.cmp(&b.id))
    }
}

/// A customer's filterable categories as small numbers, kept apart from [`CustomerView`] so a
/// filter walks a dense array: positions in `Segment::ALL`, `Stage::ALL`, `Band` order
/// (at risk, neutral, healthy; [`Tags::NONE`] without a score) and `Status::ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tags {
    pub segment: u8,
    pub stage: u8,
    pub band: u8,
    pub status: u8,
}

impl Tags {
    pub const NONE: u8 = u8::MAX;
    pub const BANDS: [&'static str; 3] = ["at_risk", "neutral", "healthy"];

    /// The position of `name` among the names of `all`, or [`Tags::NONE`].
    fn position<T: Copy>(all: &[T], name: fn(T) -> &'static str, v: &str) -> u8 {
        all.iter()
            .position(|&x| name(x) == v)
            .map_or(Tags::NONE, |p| p as u8)
    }
    pub fn segment_of(v: &str) -> u8 {
        Tags::position(&Segment::ALL, Segment::as_str, v)
    }
    pub fn stage_of(v: &str) -> u8 {
        Tags::position(&Stage::ALL, Stage::as_str, v)
    }
    pub fn band_of(v: &str) -> u8 {
        Tags::position(&Tags::BANDS, |b| b, v)
    }
    pub fn status_of(v: &str) -> u8 {
        Tags::position(&Status::ALL, Status::as_str, v)
    }

    fn of(c: &CustomerView) -> Tags {
        Tags {
            segment: Tags::segment_of(c.segment),
            stage: Tags::stage_of(c.stage),
            band: c.band.map_or(Tags::NONE, Tags::band_of),
            status: Tags::status_of(c.status),
        }
    }
}

/// Company-wide counts and sums of the snapshot (money in minor units).
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// By status name, in name order.
    pub by_status: Vec<(&'static str, usize)>,
    /// In [`Segment::ALL`] order.
    pub segments: Vec<SegmentTotal>,
    pub at_risk: usize,
    pub healthy: usize,
    pub realised_profit: i64,
    /// Over customers with a prediction.
    pub future_profit: i64,
    pub average_lifetime_profit: Option<i64>,
}

/// One segment's customers and their profit (minor units; future profit over customers with a
/// prediction).
#[derive(Debug, Clone)]
pub struct SegmentTotal {
    pub segment: Segment,
    pub customers: usize,
    pub realised_profit: i64,
    pub future_profit: i64,
}

impl Totals {
    fn of(customers: &[CustomerView]) -> Totals {
        let mut by_status: Vec<(&'static str, usize)> = Vec::new();
        for c in customers {
            match by_status.iter_mut().find(|k| k.0 == c.status) {
                Some(k) => k.1 += 1,
                None => by_status.push((c.status, 1)),
            }
        }
        by_status.sort();
        let mut segments: Vec<SegmentTotal> = Segment::ALL
            .iter()
            .map(|&segment| SegmentTotal {
                segment,
                customers: 0,
                realised_profit: 0,
                future_profit: 0,
            })
            .collect();
        for c in customers {
            if let Some(t) = segments.get_mut(Tags::segment_of(c.segment) as usize) {
                t.customers += 1;
                t.realised_profit += c.realised_profit;
                t.future_profit += c.future_profit.unwrap_or(0);
            }
        }
        let predicted: Vec<(i64, i64)> = customers
            .iter()
            .filter_map(|c| c.future_profit.map(|f| (f, c.realised_profit)))
            .collect();
        let lifetime: i128 = predicted.iter().map(|p| i128::from(p.0 + p.1)).sum();
        Totals {
            by_status,
            segments,
            at_risk: customers
                .iter()
                .filter(|c| c.band == Some("at_risk"))
                .count(),
            healthy: customers
                .iter()
                .filter(|c| c.band == Some("healthy"))
                .count(),
            realised_profit: customers.iter().map(|c| c.realised_profit).sum(),
            future_profit: predicted.iter().map(|p| p.0).sum(),
            average_lifetime_profit: div_round(lifetime, predicted.len() as i128),
        }
    }
}

/// The decisions of every customer acquired by `as_of`.
pub struct Snapshot {
    /// `None` when the store holds no records yet.
    pub as_of: Option<Day>,
    pub currency: tenure_core::Currency,
    pub config_source: String,
    pub customers: Vec<CustomerView>,
    pub index: HashMap<String, usize>,
    /// High realised / predicted profit thresholds (minor units; `i64::MAX`: none reaches).
    pub thresholds: (i64, i64),
    pub funnel: Vec<FunnelRow>,
    /// Indexes into `customers`, ranked.
    pub advocates: Vec<usize>,
    /// MRR at `as_of`, minor units (rounded from twelfths), and paying customers.
    pub mrr: i64,
    pub mrr_customers: u64,
    pub totals: Totals,
    /// Parallel to `customers`.
    pub tags: Vec<Tags>,
    /// Positions into `customers` for each (order, descending), computed once: a sorted page
    /// is a filtered walk, not a sort per request.
    orders: HashMap<(Order, bool), Vec<u32>>,
    /// Logo, gross and net revenue and seat retention over the [`RETENTION_MONTHS`] before
    /// `as_of` (`None` without subscriptions).
    pub retention: Option<RetentionRow>,
    /// The records the decisions were made from, kept for the reports (`/api/reports/…`),
    /// the 360 and the fit jobs — all but the usage events, dropped once the decisions are
    /// made (`loaded.usage` is false) — and the report currency's conversion rules.
    pub data: Arc<Dataset>,
    pub fx: Fx,
    /// The value ledger's settings and the shared costs allocated to customers, so one
    /// customer's ledger (the 360) is one pass over her records.
    pub value_cfg: ValueConfig,
    pub allocations: Arc<Allocations>,
    /// For each customer of `data` (dataset order), her position in `customers`
    /// ([`u32::MAX`]: acquired after `as_of`).
    pub position: Vec<u32>,
    /// For each of `customers`, her index in `data`: the inverse of `position`.
    pub customer_idx: Vec<tenure_store::dataset::CustomerIdx>,
    /// Unix seconds when built, and how long it took.
    pub built_at: i64,
    pub build_ms: f64,
}

/// The trailing window of the overview's retention figures, months.
pub const RETENTION_MONTHS: u32 = 12;

/// `YYYY-MM-DD`.
pub fn day_text(d: Day) -> String {
    let (y, m, dd) = ymd_of_day(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

impl Snapshot {
    /// Decide for every customer from the store's records.
    pub fn build(store: &mut dyn Store, settings: &Settings) -> Result<Snapshot, String> {
        let started = Instant::now();
        let data = Snapshot::load(store)?;
        Snapshot::from_data(data, settings, started)
    }

    /// Every record of the store, as a snapshot needs them.
    pub fn load(store: &mut dyn Store) -> Result<Dataset, String> {
        store.load(&LoadOptions::all()).map_err(|e| e.to_string())
    }

    /// Decide for every customer of `data` (loaded since `started`), without the store.
    pub fn from_data(
        data: Dataset,
        settings: &Settings,
        started: Instant,
    ) -> Result<Snapshot, String> {
        let fx = (settings.fx)(&data)?;
        let currency = fx.currency();
        let data = Arc::new(data);
        let value_cfg = |as_of: Day| {
            let mut v = ValueConfig::new(as_of, currency);
            v.fx = fx.clone();
            v.referral_share =
                rust_decimal::Decimal::from_f64_retain(settings.config.value.referral_share)
                    .map(|d| d.round_dp(6))
                    .unwrap_or_default();
            v
        };
        let empty = |as_of| Snapshot {
            as_of,
            currency,
            config_source: settings.config_source.clone(),
            customers: Vec::new(),
            index: HashMap::new(),
            thresholds: (i64::MAX, i64::MAX),
            funnel: Vec::new(),
            advocates: Vec::new(),
            mrr: 0,
            mrr_customers: 0,
            totals: Totals::default(),
            tags: Vec::new(),
            orders: HashMap::new(),
            retention: None,
            data: data.clone(),
            fx: fx.clone(),
            value_cfg: value_cfg(0),
            allocations: Arc::new(Allocations::default()),
            position: vec![u32::MAX; data.len()],
            customer_idx: Vec::new(),
            built_at: crate::now_secs(),
            build_ms: 0.0,
        };
        let Some(as_of) = settings.as_of.or_else(|| data.last_day()) else {
            return Ok(empty(None));
        };
        let cfg: &Config = &settings.config;
        let d = decide(&data, &fx, as_of, cfg).map_err(|e| e.to_string())?;
        let (fs, hs, stages, t) = (&d.facts, &d.health, &d.stages, &d.thresholds);
        let ranked = advocates(fs, hs, &cfg.advocacy);
        let mut rank = vec![None; fs.len()];
        for (k, cand) in ranked.iter().enumerate() {
            rank[cand.index] = Some(k + 1);
        }
        let name =
            |n: Option<tenure_store::dataset::NameId>| n.map(|n| data.names.name(n).to_string());
        let mut customers: Vec<CustomerView> = fs
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let c = f.customer as usize;
                let row = &data.customers[c];
                let (h, st) = (&hs[i], &stages[i]);
                let seg = &d.segments[i];
                CustomerView {
                    id: data.customer_ids[c].clone(),
                    acquired: day_text(row.acquired),
                    tenure_days: f.tenure_days,
                    channel: name(row.channel),
                    plan: name(row.plan),
                    region: name(row.region),
                    status: f.status.as_str(),
                    subscribed: f.subscribed,
                    segment: seg.segment.as_str(),
                    segment_reason: seg.reason.clone(),
                    stage: st.stage.as_str(),
                    stage_since: day_text(st.since),
                    days_in_stage: st.days_in_stage(as_of),
                    stage_overdue: st.overdue,
                    stage_reason: st.reason.clone(),
                    health: h.score,
                    band: h.band.map(Band::as_str),
                    components: h
                        .components
                        .iter()
                        .map(|k| ComponentView {
                            name: k.name,
                            input: k.input.clone(),
                            points: k.fraction.map(|_| k.points),
                            max_points: k.max_points,
                        })
                        .collect(),
                    realised_profit: f.realised_profit,
                    future_profit: f.future_profit,
                    method: f.method.clone(),
                    p_alive: f.p_alive,
                    nps: f.nps.map(|(s, _)| s),
                    referrals: f.referrals,
                    advocate_rank: rank[i],
                }
            })
            .collect();
        // Advocates by position in `customers` after sorting by id.
        let mut order: Vec<usize> = (0..customers.len()).collect();
        order.sort_by(|&a, &b| customers[a].id.cmp(&customers[b].id));
        let mut new_pos = vec![0usize; customers.len()];
        for (pos, &old) in order.iter().enumerate() {
            new_pos[old] = pos;
        }
        let advocates: Vec<usize> = ranked.iter().map(|c| new_pos[c.index]).collect();
        let mut sorted: Vec<Option<CustomerView>> = customers.drain(..).map(Some).collect();
        let customers: Vec<CustomerView> =
            order.iter().filter_map(|&old| sorted[old].take()).collect();
        let index: HashMap<String, usize> = customers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        let mut position = vec![u32::MAX; data.len()];
        let mut customer_idx = vec![0; customers.len()];
        for (c, id) in data.customer_ids.iter().enumerate() {
            if let Some(&i) = index.get(id) {
                position[c] = i as u32;
                customer_idx[i] = c as tenure_store::dataset::CustomerIdx;
            }
        }
        let mut orders = HashMap::new();
        for o in Order::ALL {
            for desc in [false, true] {
                let mut v: Vec<u32> = (0..customers.len() as u32).collect();
                v.sort_by(|&a, &b| o.cmp(desc, &customers[a as usize], &customers[b as usize]));
                orders.insert((o, desc), v);
            }
        }
        let totals = Totals::of(&customers);
        let tags = customers.iter().map(Tags::of).collect();
        let all = Grouping::new(&data, GroupBy::All);
        let mrr = mrr_report(&data, &fx, as_of, &all);
        let last = mrr.total.months.last();
        let retention = retention_report(&data, &fx, as_of, RETENTION_MONTHS, &all)
            .ok()
            .map(|r| r.total);
        let vcfg = value_cfg(as_of);
        let allocations = Arc::new(allocate(&data, &vcfg, &mut Excluded::default()));
        // The decisions are made; no report served from the snapshot reads usage.
        let mut data = Arc::try_unwrap(data).unwrap_or_else(|shared| (*shared).clone());
        data.drop_usage();
        let data = Arc::new(data);
        Ok(Snapshot {
            as_of: Some(as_of),
            currency,
            config_source: settings.config_source.clone(),
            customers,
            index,
            thresholds: (t.realised, t.predicted),
            funnel: funnel(stages, as_of),
            advocates,
            mrr: last
                .and_then(|m| div_round(i128::from(m.closing), 12))
                .unwrap_or(0),
            mrr_customers: last.map_or(0, |m| m.customers_closing),
            tags,
            totals,
            orders,
            retention,
            position,
            customer_idx,
            value_cfg: vcfg,
            allocations,
            fx: fx.clone(),
            data,
            built_at: crate::now_secs(),
            build_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Minor units as an exact decimal string of the currency (`1234.50`).
    pub fn money(&self, minor: i64) -> String {
        to_decimal(minor, self.currency).to_string()
    }

    /// Every customer's position in `customers`, in an order: by id (`None`), or by
    /// `order`, ascending or descending.
    pub fn ordered(
        &self,
        order: Option<Order>,
        desc: bool,
    ) -> Box<dyn Iterator<Item = usize> + '_> {
        let n = self.customers.len();
        match order {
            None if desc => Box::new((0..n).rev()),
            None => Box::new(0..n),
            Some(o) => match self.orders.get(&(o, desc)) {
                Some(v) => Box::new(v.iter().map(|&i| i as usize)),
                None => Box::new(std::iter::empty()),
            },
        }
    }
}
