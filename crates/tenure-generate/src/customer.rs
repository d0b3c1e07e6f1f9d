//! The second pass: one customer's whole history, written as rows of the eleven files.
//!
//! Her subscriptions and invoices are drawn from her `life` stream, her product usage from
//! her `usage` stream, support tickets, feedback and retention spend from her `care` stream;
//! so changing, say, a usage parameter leaves the invoices as they were. The records of
//! issue 10 (cases, payments, interactions, touches: [`crate::crm`]) have streams of their
//! own, so they describe the history above without moving any of its draws.

use crate::company::{
    add_months, date_of, normal, stream, touch_draws, weekday, Company, Day, Profile, STREAM_CARE,
    STREAM_CASE, STREAM_LIFE, STREAM_NAME, STREAM_USAGE,
};
use crate::crm::{self, Case};
use crate::format::{push_cents, push_date, push_json_cell, push_padded, push_u64};
use crate::RecordFile;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::RngExt;
use rand_distr::{Exp1, Poisson};

/// Rows of the eleven files waiting to be written, how many rows each file has received,
/// and the touches counted per campaign (their cost) and per customer.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub text: [String; RecordFile::COUNT],
    pub counts: [u64; RecordFile::COUNT],
    pub campaign_touches: Vec<u64>,
    pub touched_customers: u64,
}

impl Rows {
    pub fn buf(&mut self, f: RecordFile) -> &mut String {
        self.counts[f as usize] += 1;
        &mut self.text[f as usize]
    }
}

/// Seats never exceed this (keeps money within i64 cents).
const SEAT_CAP: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    New,
    Renewal,
    Expansion,
    Upsell,
    ChangeOrder,
    OneOff,
    Refund,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::Renewal => "renewal",
            Kind::Expansion => "expansion",
            Kind::Upsell => "upsell",
            Kind::ChangeOrder => "change_order",
            Kind::OneOff => "one_off",
            Kind::Refund => "refund",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Product {
    Plan(usize),
    Onboarding,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    pub date: Day,
    pub kind: Kind,
    pub amount: i64,
    cogs: Option<i64>,
    product: Product,
}

#[derive(Debug, Clone, Copy)]
enum Category {
    Acquisition,
    Retention,
    Service,
}

#[derive(Debug, Clone, Copy)]
struct CostLine {
    date: Day,
    category: Category,
    amount: i64,
}

#[derive(Debug, Clone, Copy)]
struct Response {
    date: Day,
    nps: bool,
    score: u32,
    comment: Option<&'static str>,
}

/// From `from` on, `seats` seats on plan `plan`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    from: Day,
    seats: u32,
    plan: usize,
}

/// One subscription from its start to its end (exclusive; `None` beyond the horizon), with
/// its seat and plan history.
#[derive(Debug, Clone)]
pub(crate) struct Spell {
    pub start: Day,
    pub end: Option<Day>,
    segments: Vec<Segment>,
}

impl Spell {
    /// The plan in force on `day` (`default` before the first segment).
    pub fn plan_on(&self, day: Day, default: usize) -> usize {
        self.segments
            .iter()
            .take_while(|s| s.from <= day)
            .last()
            .map_or(default, |s| s.plan)
    }

    /// Last day that can carry an event: the day before the end, and not after the window.
    pub fn last_day(&self, observed_until: Day) -> Day {
        self.end
            .map_or(observed_until, |e| (e - 1).min(observed_until))
    }
}

/// Multiplier on expected usage `day` days before the end: 1, falling linearly to
/// 1 − `decline` over the last `weeks` weeks (k = whole weeks left, 0 in the last week).
pub(crate) fn usage_multiplier(end: Option<Day>, day: Day, decline: f64, weeks: u32) -> f64 {
    match end {
        Some(e) if e > day => {
            let k = (e - day - 1) / 7;
            if (k as u32) < weeks {
                1.0 - decline * (1.0 - f64::from(k) / f64::from(weeks))
            } else {
                1.0
            }
        }
        _ => 1.0,
    }
}

/// (a + b/2) / b for a ≥ 0, b > 0: division rounded half up.
fn round_div(a: i128, b: i128) -> i64 {
    ((a + b / 2) / b) as i64
}

/// Write customer `p`: her customers row and every row of her history.
pub(crate) fn write_customer(co: &Company, p: usize, rows: &mut Rows) {
    let prof = &co.profiles[p];
    let mut cid = String::with_capacity(16);
    co.push_id(&mut cid, p);
    write_customer_row(co, prof, &cid, rows);

    let mut life = Life::new(co, prof, &cid);
    life.run(rows);
    let Life {
        mut lines,
        mut costs,
        spells,
        ..
    } = life;

    write_usage(co, prof, &cid, &spells, rows);
    let mut responses = Vec::new();
    let mut cases = Vec::new();
    care(co, prof, &spells, &mut costs, &mut responses, &mut cases);

    lines.sort_by_key(|l| l.date);
    write_lines(co, prof, &cid, &lines, rows);
    costs.sort_by_key(|c| c.date);
    write_costs(&cid, &costs, rows);
    responses.sort_by_key(|r| r.date);
    write_responses(&cid, &responses, rows);

    cases.sort_by_key(|c| c.opened);
    crm::write_cases(co, &cid, &cases, rows);
    crm::write_payments(co, prof, &cid, &lines, &spells, rows);
    crm::write_interactions(co, prof, &cid, &spells, rows);
    crm::write_touches(co, prof, &cid, &spells, rows);
}

const NAME_FIRST: &[&str] = &[
    "Acme",
    "Northwind",
    "Bluebird",
    "Summit",
    "Ironwood",
    "Lumen",
    "Vertex",
    "Harbor",
    "Cobalt",
    "Juniper",
    "Pioneer",
    "Silverline",
    "Redwood",
    "Atlas",
    "Beacon",
    "Cascade",
    "Evergreen",
    "Granite",
    "Horizon",
    "Keystone",
    "Meridian",
    "Nimbus",
    "Orchid",
    "Quartz",
    "Riverstone",
    "Sequoia",
    "Tidewater",
    "Upland",
    "Willow",
    "Zenith",
];
const NAME_SECOND: &[&str] = &[
    "Analytics",
    "Logistics",
    "Health",
    "Foods",
    "Robotics",
    "Energy",
    "Media",
    "Labs",
    "Systems",
    "Retail",
    "Capital",
    "Studios",
    "Networks",
    "Bio",
    "Freight",
    "Software",
    "Consulting",
    "Manufacturing",
    "Travel",
    "Education",
];
const NAME_SUFFIX: &[&str] = &["Inc", "LLC", "Ltd", "GmbH", "SA", "Corp", "BV", "Pty Ltd"];
const INDUSTRIES: &[&str] = &[
    "software",
    "retail",
    "healthcare",
    "manufacturing",
    "financial_services",
    "education",
    "logistics",
    "media",
];

pub(crate) fn choose<'s>(r: &mut StdRng, list: &[&'s str]) -> &'s str {
    list[r.random_range(0..list.len())]
}

fn write_customer_row(co: &Company, prof: &Profile, cid: &str, rows: &mut Rows) {
    let cfg = co.cfg;
    let mut r = stream(cfg.seed, STREAM_NAME, prof.draw);
    let (a, b, c) = (
        choose(&mut r, NAME_FIRST),
        choose(&mut r, NAME_SECOND),
        choose(&mut r, NAME_SUFFIX),
    );
    let industry = choose(&mut r, INDUSTRIES);
    let per_seat = r.random_range(2.0..12.0);
    let plan = &cfg.plans[prof.plan];
    let employees = (plan.median_seats * per_seat).round().max(1.0) as u64;

    let out = rows.buf(RecordFile::Customers);
    out.push_str(cid);
    out.push(',');
    for (i, w) in [a, b, c].iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    out.push(',');
    push_date(out, date_of(prof.acquired));
    out.push(',');
    out.push_str(&cfg.channels[prof.channel].name);
    out.push(',');
    out.push_str(&plan.name);
    out.push(',');
    out.push_str(&cfg.regions[prof.region].name);
    out.push(',');
    if let Some(q) = prof.referred_by {
        co.push_id(out, q);
    }
    out.push(',');
    let mut json = String::with_capacity(64);
    json.push_str("{\"industry\":\"");
    json.push_str(industry);
    json.push_str("\",\"employees\":");
    push_u64(&mut json, employees);
    json.push('}');
    push_json_cell(out, &json);
    out.push('\n');
}

/// Subscriptions and invoices.
struct Life<'c, 'a> {
    co: &'c Company<'a>,
    prof: &'c Profile,
    cid: &'c str,
    rng: StdRng,
    seats: u32,
    plan: usize,
    /// Negotiated discount in whole percent (applies on sales-led plans only).
    discount_pct: i64,
    /// Seats to remove at the next billing date.
    pending_removal: u32,
    row_start: Day,
    row_seq: u64,
    lines: Vec<Line>,
    costs: Vec<CostLine>,
    spells: Vec<Spell>,
}

impl<'c, 'a> Life<'c, 'a> {
    fn new(co: &'c Company<'a>, prof: &'c Profile, cid: &'c str) -> Self {
        let cfg = co.cfg;
        let mut rng = stream(cfg.seed, STREAM_LIFE, prof.draw);
        let plan = &cfg.plans[prof.plan];
        let z = normal(&mut rng);
        let seats = (plan.median_seats.ln() + plan.seats_sd * z)
            .exp()
            .round()
            .clamp(1.0, f64::from(SEAT_CAP)) as u32;
        let max_pct = (cfg.negotiated_discount_max * 100.0).floor() as i64;
        let discount_pct = rng.random_range(0..=max_pct);
        Life {
            co,
            prof,
            cid,
            rng,
            seats,
            plan: prof.plan,
            discount_pct,
            pending_removal: 0,
            row_start: prof.acquired,
            row_seq: 0,
            lines: Vec::new(),
            costs: Vec::new(),
            spells: Vec::new(),
        }
    }

    /// Recurring amount per billing interval, cents: list price × seats, less the negotiated
    /// discount on sales-led plans, times 12 × (1 − annual discount) for yearly billing.
    fn amount(&self, plan: usize, seats: u32) -> i64 {
        let co = self.co;
        let price = co.price[plan][usize::from(self.prof.eur)];
        let mut monthly = i128::from(price) * i128::from(seats);
        if co.cfg.plans[plan].sales_led {
            monthly = i128::from(round_div(
                monthly * (100 - i128::from(self.discount_pct)),
                100,
            ));
        }
        if self.prof.annual {
            round_div(monthly * 12 * i128::from(co.annual_factor_bp), 10_000)
        } else {
            monthly as i64
        }
    }

    fn cogs(amount: i64, margin_bp: i64) -> i64 {
        round_div(i128::from(amount) * i128::from(10_000 - margin_bp), 10_000)
    }

    fn line(&mut self, date: Day, kind: Kind, amount: i64, services: bool, product: Product) {
        let bp = if services {
            self.co.services_margin_bp
        } else {
            self.co.margin_bp
        };
        let cogs = (kind != Kind::Refund).then(|| Self::cogs(amount, bp));
        self.lines.push(Line {
            date,
            kind,
            amount,
            cogs,
            product,
        });
    }

    /// Write the open subscription row (current plan and seats) ending at `end` (`None`:
    /// still active).
    fn close_row(&mut self, rows: &mut Rows, end: Option<Day>) {
        let co = self.co;
        let amount = self.amount(self.plan, self.seats);
        self.row_seq += 1;
        let out = rows.buf(RecordFile::Subscriptions);
        out.push_str(self.cid);
        out.push_str("-S");
        push_padded(out, self.row_seq, 3);
        out.push(',');
        out.push_str(self.cid);
        out.push(',');
        out.push_str(&co.cfg.plans[self.plan].name);
        out.push(',');
        push_date(out, date_of(self.row_start));
        out.push(',');
        if let Some(e) = end {
            push_date(out, date_of(e));
        }
        out.push(',');
        push_u64(out, self.seats.into());
        out.push(',');
        push_cents(out, amount);
        out.push_str(if self.prof.eur { ",EUR," } else { ",USD," });
        out.push_str(if self.prof.annual { "year" } else { "month" });
        out.push_str(if end.is_some() {
            ",canceled\n"
        } else {
            ",active\n"
        });
    }

    fn open_row(&mut self, at: Day) {
        self.row_start = at;
        let seg = Segment {
            from: at,
            seats: self.seats,
            plan: self.plan,
        };
        if let Some(s) = self.spells.last_mut() {
            s.segments.push(seg);
        }
    }

    fn run(&mut self, rows: &mut Rows) {
        let co = self.co;
        let cfg = co.cfg;
        let plan = &cfg.plans[self.plan];
        if plan.sales_led && cfg.commission_rate > 0.0 {
            // Commission on the first year's list value, USD.
            let list = co.price[self.plan][0] as f64 * f64::from(self.seats) * 12.0;
            self.costs.push(CostLine {
                date: self.prof.acquired,
                category: Category::Acquisition,
                amount: (list * cfg.commission_rate).round() as i64,
            });
        }
        let mut start = self.prof.acquired;
        let mut periods = self.prof.first_periods;
        loop {
            let end = self.spell(rows, start, periods);
            let Some(e) = end.filter(|&e| e <= co.end) else {
                break;
            };
            if !(self.rng.random::<f64>() < cfg.reactivation_rate) {
                break;
            }
            let gap: f64 = Exp1.sample(&mut self.rng);
            let gap = 1
                + (gap * (cfg.reactivation_gap_months - 1.0))
                    .floor()
                    .min(1200.0) as u32;
            let next = add_months(e, gap);
            if next > co.end {
                break;
            }
            // The same rule as the first subscription's (company.rs): trouble and touches
            // change the churn probability of the decisions they cover.
            let u = 1.0 - self.rng.random::<f64>();
            let prof = self.prof;
            let touches = touch_draws(cfg, prof.draw);
            periods = co.rule().periods(
                prof.theta,
                prof.troubled,
                prof.months_per_period(),
                next,
                u,
                &touches,
                100_000,
            );
            start = next;
        }
    }

    /// One subscription of `periods` billing periods from `start`; returns its end.
    fn spell(&mut self, rows: &mut Rows, start: Day, periods: u32) -> Option<Day> {
        let co = self.co;
        let cfg = co.cfg;
        let first = self.spells.is_empty();
        let mpp = self.prof.months_per_period();
        let end = co.spell_end(start, periods, mpp);
        self.spells.push(Spell {
            start,
            end,
            segments: Vec::new(),
        });
        self.pending_removal = 0;
        self.open_row(start);
        let (up, expand, contract) = (
            cfg.upgrade_rate,
            cfg.upgrade_rate + cfg.expansion_rate,
            cfg.upgrade_rate + cfg.expansion_rate + cfg.contraction_rate,
        );
        for k in 0..periods {
            let ps = add_months(start, k * mpp);
            if ps > co.end {
                break;
            }
            let pe = add_months(start, (k + 1) * mpp);
            if k > 0 && self.pending_removal > 0 {
                self.close_row(rows, Some(ps));
                self.seats -= self.pending_removal;
                self.pending_removal = 0;
                self.open_row(ps);
            }
            let amount = self.amount(self.plan, self.seats);
            let product = Product::Plan(self.plan);
            let kind = if k == 0 { Kind::New } else { Kind::Renewal };
            self.line(ps, kind, amount, false, product);
            if self.rng.random::<f64>() < cfg.refund_rate {
                let d = ps + self.rng.random_range(1..=20);
                let pct = if k == 0 {
                    100
                } else {
                    self.rng.random_range(10..=50)
                };
                if d <= co.end {
                    let refund = round_div(i128::from(amount) * pct, 100);
                    self.line(d, Kind::Refund, -refund, false, product);
                }
            }
            if k == 0 && first {
                self.onboarding(ps);
            }
            for m in 0..mpp {
                let ws = add_months(start, k * mpp + m);
                if ws > co.end {
                    break;
                }
                let we = add_months(start, k * mpp + m + 1);
                let u: f64 = self.rng.random();
                let day = ws + self.rng.random_range(1..we - ws);
                if day > co.end || u >= contract {
                    continue;
                }
                let before = self.amount(self.plan, self.seats);
                if u < up {
                    if self.plan + 1 >= cfg.plans.len() {
                        continue;
                    }
                    self.close_row(rows, Some(day));
                    self.plan += 1;
                    self.open_row(day);
                    let after = self.amount(self.plan, self.seats);
                    let delta = round_div(
                        i128::from(after - before).max(0) * i128::from(pe - day),
                        i128::from(pe - ps),
                    );
                    self.line(day, Kind::Upsell, delta, false, Product::Plan(self.plan));
                } else if u < expand {
                    let f = self.rng.random_range(0.1..0.5);
                    let add = ((f64::from(self.seats) * f).round() as u32).max(1);
                    let add = add.min(SEAT_CAP - self.seats);
                    if add == 0 {
                        continue;
                    }
                    self.close_row(rows, Some(day));
                    self.seats += add;
                    self.open_row(day);
                    let after = self.amount(self.plan, self.seats);
                    let delta = round_div(
                        i128::from(after - before).max(0) * i128::from(pe - day),
                        i128::from(pe - ps),
                    );
                    self.line(day, Kind::Expansion, delta, false, Product::Plan(self.plan));
                } else {
                    let f = self.rng.random_range(0.1..0.3);
                    let remaining = self.seats - self.pending_removal;
                    let remove = ((f64::from(self.seats) * f).round() as u32)
                        .max(1)
                        .min(remaining - 1);
                    self.pending_removal += remove;
                }
            }
        }
        match end {
            Some(e) if e <= co.end => self.close_row(rows, Some(e)),
            _ => self.close_row(rows, None),
        }
        end
    }

    /// The onboarding fee of a first subscription, and on sales-led plans maybe a change
    /// order on it.
    fn onboarding(&mut self, day: Day) {
        let co = self.co;
        let cfg = co.cfg;
        let plan = &cfg.plans[self.plan];
        let fee = co.fee[self.plan][usize::from(self.prof.eur)];
        if fee <= 0 || !(self.rng.random::<f64>() < plan.onboarding_share) {
            return;
        }
        self.line(day, Kind::OneOff, fee, true, Product::Onboarding);
        if plan.sales_led && self.rng.random::<f64>() < cfg.change_order_rate {
            let d = day + self.rng.random_range(14..=60);
            let pct = self.rng.random_range(20..=50);
            if d <= co.end {
                let amount = round_div(i128::from(fee) * pct, 100);
                self.line(d, Kind::ChangeOrder, amount, true, Product::Onboarding);
            }
        }
    }
}

fn write_lines(co: &Company, prof: &Profile, cid: &str, lines: &[Line], rows: &mut Rows) {
    let currency = if prof.eur { "EUR" } else { "USD" };
    for (i, l) in lines.iter().enumerate() {
        let out = rows.buf(RecordFile::Transactions);
        out.push_str(cid);
        out.push_str("-I");
        push_padded(out, i as u64 + 1, 4);
        out.push(',');
        out.push_str(cid);
        out.push(',');
        push_date(out, date_of(l.date));
        out.push(',');
        push_cents(out, l.amount);
        out.push(',');
        out.push_str(currency);
        out.push(',');
        out.push_str(l.kind.as_str());
        out.push(',');
        if let Some(c) = l.cogs {
            push_cents(out, c);
        }
        out.push(',');
        match l.product {
            Product::Plan(p) => out.push_str(&co.cfg.plans[p].name),
            Product::Onboarding => out.push_str("onboarding"),
        }
        out.push('\n');
    }
}

fn write_costs(cid: &str, costs: &[CostLine], rows: &mut Rows) {
    for (i, c) in costs.iter().enumerate() {
        let out = rows.buf(RecordFile::Costs);
        out.push_str(cid);
        out.push_str("-K");
        push_padded(out, i as u64 + 1, 4);
        out.push(',');
        push_date(out, date_of(c.date));
        out.push(',');
        push_cents(out, c.amount);
        out.push_str(match c.category {
            Category::Acquisition => ",USD,acquisition,",
            Category::Retention => ",USD,retention,",
            Category::Service => ",USD,service,",
        });
        out.push_str(cid);
        out.push_str(",,\n");
    }
}

fn write_responses(cid: &str, responses: &[Response], rows: &mut Rows) {
    for (i, r) in responses.iter().enumerate() {
        let out = rows.buf(RecordFile::Feedback);
        out.push_str(cid);
        out.push_str("-F");
        push_padded(out, i as u64 + 1, 4);
        out.push(',');
        out.push_str(cid);
        out.push(',');
        push_date(out, date_of(r.date));
        out.push_str(if r.nps { ",nps," } else { ",csat," });
        push_u64(out, r.score.into());
        out.push(',');
        if let Some(c) = r.comment {
            out.push_str(c);
        }
        out.push('\n');
    }
}

/// Weekly feature usage of the tracked users (min(seats, users_per_customer)), one row per
/// user, feature and week (dated the week's Monday) in which she used the feature. A user
/// uses feature f in a week with probability weekly_share_f × m, m the usage multiplier
/// (the decline before churn), and then takes 1 + Poisson((mean_actions_f − 1) × e)
/// actions, e her customer's engagement, LogNormal(−sd²/2, sd) (mean 1). Expected weekly
/// usage is therefore proportional to m.
fn write_usage(co: &Company, prof: &Profile, cid: &str, spells: &[Spell], rows: &mut Rows) {
    let cfg = co.cfg;
    let u = &cfg.usage;
    if u.users_per_customer == 0 || u.features.is_empty() {
        return;
    }
    let mut rng = stream(cfg.seed, STREAM_USAGE, prof.draw);
    let sd = u.engagement_sd;
    let engagement = (sd * normal(&mut rng) - sd * sd / 2.0).exp();
    let actions: Vec<Option<Poisson<f64>>> = u
        .features
        .iter()
        .map(|f| Poisson::new((f.mean_actions - 1.0) * engagement).ok())
        .collect();
    let mut date = String::with_capacity(10);
    let counts_before = rows.counts[RecordFile::Usage as usize];
    let out = &mut rows.text[RecordFile::Usage as usize];
    let mut n = 0u64;
    for spell in spells {
        let last = spell.last_day(co.end);
        let mut week = spell.start + (7 - weekday(spell.start)) % 7;
        let mut seg = 0;
        while week <= last {
            while seg + 1 < spell.segments.len() && spell.segments[seg + 1].from <= week {
                seg += 1;
            }
            let seats = spell.segments.get(seg).map_or(1, |s| s.seats);
            let users = seats.min(u.users_per_customer);
            let m = usage_multiplier(spell.end, week, u.decline, u.decline_weeks);
            date.clear();
            push_date(&mut date, date_of(week));
            for user in 1..=users {
                for (f, feature) in u.features.iter().enumerate() {
                    if !(rng.random::<f64>() < feature.weekly_share * m) {
                        continue;
                    }
                    let q = 1 + actions[f].as_ref().map_or(0, |d| d.sample(&mut rng) as u64);
                    out.push(',');
                    out.push_str(cid);
                    out.push_str(",u");
                    push_u64(out, user.into());
                    out.push(',');
                    out.push_str(&feature.name);
                    out.push(',');
                    out.push_str(&date);
                    out.push(',');
                    push_u64(out, q);
                    out.push('\n');
                    n += 1;
                }
            }
            week += 7;
        }
    }
    rows.counts[RecordFile::Usage as usize] = counts_before + n;
}

const PRAISE: &[&str] = &[
    "Great product",
    "Support is excellent",
    "Saves our team hours every week",
    "Easy to roll out",
];
const NEUTRAL: &[&str] = &[
    "Works well enough",
    "Some features are missing",
    "Reporting could be better",
];
const COMPLAINT: &[&str] = &[
    "Too expensive for what we use",
    "Hard to get the team on board",
    "Slow support replies",
    "Considering alternatives",
];

/// Support tickets (service costs) with their CSAT answers, NPS surveys, and retention spend
/// (a customer-success manager on sales-led plans, save offers).
///
/// Each ticket is also a support case (`cases`): its attributes come from the case stream,
/// its satisfaction is the ticket's CSAT answer.
fn care(
    co: &Company,
    prof: &Profile,
    spells: &[Spell],
    costs: &mut Vec<CostLine>,
    responses: &mut Vec<Response>,
    cases: &mut Vec<Case>,
) {
    let cfg = co.cfg;
    let (fb, sv, rt, us) = (&cfg.feedback, &cfg.service, &cfg.retention, &cfg.usage);
    let mut rng = stream(cfg.seed, STREAM_CARE, prof.draw);
    let mut case_rng = stream(cfg.seed, STREAM_CASE, prof.draw);
    let plan0 = &cfg.plans[prof.plan];
    let churn = if prof.annual {
        plan0.churn_annual
    } else {
        plan0.churn_monthly
    };
    let risk = prof.theta / churn.mean() - 1.0;
    let health = |m: f64| -risk - (1.0 - m);
    let comment = |rng: &mut StdRng, positive: bool, negative: bool| {
        if rng.random::<f64>() < fb.comment_share {
            let list = if positive {
                PRAISE
            } else if negative {
                COMPLAINT
            } else {
                NEUTRAL
            };
            Some(choose(rng, list))
        } else {
            None
        }
    };
    let ticket_sd = sv.ticket_cost_sd;
    for spell in spells {
        let last = spell.last_day(co.end);
        let mut seg = 0;
        for j in 0u32.. {
            let ws = add_months(spell.start, j);
            if ws > last {
                break;
            }
            let we = add_months(spell.start, j + 1);
            while seg + 1 < spell.segments.len() && spell.segments[seg + 1].from <= ws {
                seg += 1;
            }
            let (seats, plan) = spell
                .segments
                .get(seg)
                .map_or((1, prof.plan), |s| (s.seats, s.plan));
            let m = usage_multiplier(spell.end, ws + 14, us.decline, us.decline_weeks);

            let rate =
                sv.ticket_rate * f64::from(seats).sqrt() * (1.0 + sv.decline_uplift * (1.0 - m));
            let tickets = Poisson::new(rate).map_or(0, |d| d.sample(&mut rng) as u64);
            for _ in 0..tickets {
                let d = ws + rng.random_range(0..we - ws);
                let z = normal(&mut rng);
                let answered = rng.random::<f64>() < fb.csat_response;
                let zc = normal(&mut rng);
                if d > last {
                    continue;
                }
                let f = (ticket_sd * z - ticket_sd * ticket_sd / 2.0).exp();
                costs.push(CostLine {
                    date: d,
                    category: Category::Service,
                    amount: (sv.ticket_cost.0 as f64 * f).round() as i64,
                });
                let mu = usage_multiplier(spell.end, d, us.decline, us.decline_weeks);
                let mut satisfaction = None;
                if answered {
                    let s = fb.csat_base + fb.csat_health_slope * health(mu) + fb.csat_sd * zc;
                    let score = s.round().clamp(1.0, 5.0) as u32;
                    let comment = comment(&mut rng, score >= 4, score <= 2);
                    responses.push(Response {
                        date: d,
                        nps: false,
                        score,
                        comment,
                    });
                    satisfaction = Some(score);
                }
                cases.push(crm::draw_case(co, &mut case_rng, d, mu, satisfaction));
            }

            if cfg.plans[plan].sales_led && rt.csm_monthly.0 > 0 {
                costs.push(CostLine {
                    date: ws,
                    category: Category::Retention,
                    amount: rt.csm_monthly.0,
                });
            }
            if rng.random::<f64>() < rt.save_false_alarm {
                let d = ws + rng.random_range(0..we - ws);
                if d <= last && rt.save_offer_cost.0 > 0 {
                    costs.push(CostLine {
                        date: d,
                        category: Category::Retention,
                        amount: rt.save_offer_cost.0,
                    });
                }
            }

            if j >= fb.nps_first_month && (j - fb.nps_first_month) % fb.nps_every_months == 0 {
                let answered = rng.random::<f64>() < fb.nps_response;
                let d = ws + rng.random_range(0..(we - ws).min(14));
                let z = normal(&mut rng);
                if answered && d <= last {
                    let months = f64::from(d - prof.acquired) / (365.25 / 12.0);
                    let mu = usage_multiplier(spell.end, d, us.decline, us.decline_weeks);
                    let s = fb.nps_base
                        + fb.nps_tenure_slope * months.max(0.0).ln_1p()
                        + fb.nps_health_slope * health(mu)
                        + fb.nps_sd * z;
                    let score = s.round().clamp(0.0, 10.0) as u32;
                    let comment = comment(&mut rng, score >= 9, score <= 6);
                    responses.push(Response {
                        date: d,
                        nps: true,
                        score,
                        comment,
                    });
                }
            }
        }
        // The save offer on a real risk, `save_lead_weeks` before the end.
        if let Some(e) = spell.end {
            let d = e - 7 * rt.save_lead_weeks as Day;
            let detected = rng.random::<f64>() < rt.save_detect;
            if detected && d >= spell.start && d <= co.end && rt.save_offer_cost.0 > 0 {
                costs.push(CostLine {
                    date: d,
                    category: Category::Retention,
                    amount: rt.save_offer_cost.0,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_falls_linearly_before_the_end() {
        let end = Some(1000);
        // More than 12 weeks before: untouched.
        assert_eq!(usage_multiplier(end, 1000 - 12 * 7 - 1, 0.6, 12), 1.0);
        // The last week: 1 − decline.
        assert!((usage_multiplier(end, 999, 0.6, 12) - 0.4).abs() < 1e-12);
        assert!((usage_multiplier(end, 993, 0.6, 12) - 0.4).abs() < 1e-12);
        // Six whole weeks left: 1 − 0.6 · (1 − 6/12) = 0.7.
        assert!((usage_multiplier(end, 1000 - 6 * 7 - 1, 0.6, 12) - 0.7).abs() < 1e-12);
        assert_eq!(usage_multiplier(None, 999, 0.6, 12), 1.0);
        assert_eq!(usage_multiplier(end, 999, 0.6, 0), 1.0);
    }

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(round_div(5, 10), 1);
        assert_eq!(round_div(4, 10), 0);
        assert_eq!(round_div(15, 10), 2);
        assert_eq!(round_div(0, 7), 0);
    }
}
