//! The first pass: who the customers are. Acquisition dates are drawn, sorted (ids follow
//! acquisition order), and each customer gets a profile — channel, plan, billing interval,
//! region, currency, churn probability, the length of her first subscription — and, for
//! referrals, a referrer among the customers acquired before her. Profiles are small and
//! kept for the whole run (the referrer is chosen among them, and the channel costs are
//! their monthly counts); everything per event is drawn in the second pass
//! ([`crate::customer`]) and streamed out.

use crate::config::{Config, REFERRAL};
use chrono::{Datelike, Months, NaiveDate};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Days since the common era (chrono's `num_days_from_ce`): 0001-01-01 is day 1, a Monday.
pub(crate) type Day = i32;

pub(crate) fn day_of(d: NaiveDate) -> Day {
    d.num_days_from_ce()
}

pub(crate) fn date_of(day: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day)
        .expect("generated days stay within a few hundred years of a validated start")
}

/// `day` plus `months` calendar months, clamped to the month's last day (Jan 31 + 1 month =
/// Feb 28/29), as billing systems do.
pub(crate) fn add_months(day: Day, months: u32) -> Day {
    day_of(
        date_of(day)
            .checked_add_months(Months::new(months))
            .expect("generated dates stay within chrono's range"),
    )
}

/// Monday = 0 … Sunday = 6.
pub(crate) fn weekday(day: Day) -> i32 {
    (day - 1).rem_euclid(7)
}

// Stream tags: each kind of draw has its own family of generators, so that (for example)
// changing a usage parameter does not change the invoices.
pub(crate) const STREAM_ACQUIRED: u64 = 0x6163_7175;
pub(crate) const STREAM_PROFILE: u64 = 0x7072_6f66;
pub(crate) const STREAM_REFERRER: u64 = 0x7265_6665;
pub(crate) const STREAM_NAME: u64 = 0x6e61_6d65;
pub(crate) const STREAM_LIFE: u64 = 0x6c69_6665;
pub(crate) const STREAM_USAGE: u64 = 0x7573_6167;
pub(crate) const STREAM_CARE: u64 = 0x6361_7265;
pub(crate) const STREAM_CHANNEL_COST: u64 = 0x6361_6300;
pub(crate) const STREAM_BRAND: u64 = 0x6272_616e;
// The issue-10 records. Trouble and touch assignment shape churn; the others only describe.
pub(crate) const STREAM_TROUBLE: u64 = 0x7472_6f75;
pub(crate) const STREAM_TOUCH: u64 = 0x746f_7563;
pub(crate) const STREAM_PAY: u64 = 0x7061_796d;
pub(crate) const STREAM_CASE: u64 = 0x6361_7365;
pub(crate) const STREAM_CRM: u64 = 0x6372_6d00;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of item `i` (a customer's draw index, a month) in stream `tag`.
pub(crate) fn stream(seed: u64, tag: u64, i: u64) -> StdRng {
    StdRng::seed_from_u64(splitmix64(splitmix64(seed ^ tag).wrapping_add(i)))
}

/// Index of the category drawn by `u` ∈ [0, 1) from shares adding up to 1.
pub(crate) fn pick(u: f64, shares: impl Iterator<Item = f64>) -> usize {
    let mut acc = 0.0;
    let mut last = 0;
    for (i, s) in shares.enumerate() {
        if s > 0.0 {
            acc += s;
            last = i;
            if u < acc {
                return i;
            }
        }
    }
    // u at or above the rounded total: the last category with a share.
    last
}

/// A standard normal draw (Box–Muller on two uniforms; only one of the pair is used, which
/// keeps the number of draws fixed).
pub(crate) fn normal(rng: &mut StdRng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Beta(a, b) draw as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b).
pub(crate) fn beta(rng: &mut StdRng, a: f64, b: f64) -> f64 {
    use rand::distr::Distribution;
    // Parameters are validated positive and finite, so the distributions exist.
    let x: f64 = rand_distr::Gamma::new(a, 1.0)
        .expect("alpha is validated positive")
        .sample(rng);
    let y: f64 = rand_distr::Gamma::new(b, 1.0)
        .expect("beta is validated positive")
        .sample(rng);
    if x + y > 0.0 {
        x / (x + y)
    } else {
        // Both underflowed (tiny shapes): the mean is the best stand-in.
        a / (a + b)
    }
}

/// Periods until churn under a constant churn probability θ: T = 1 + Geometric(θ) failures,
/// T ≥ 1 (the sBG's T; Fader & Hardie 2007). Capped at `cap` (θ ≈ 0 never churns).
/// The generator draws through [`ChurnRule::periods`], which gives exactly this T when no
/// decision is modified (tested below).
#[cfg(test)]
pub(crate) fn periods_until_churn(rng: &mut StdRng, theta: f64, cap: u32) -> u32 {
    let u = 1.0 - rng.random::<f64>(); // (0, 1]
    if theta >= 1.0 {
        return 1;
    }
    let ln_keep = (-theta).ln_1p(); // ln(1 − θ) < 0, or −0 for θ = 0
    if !(ln_keep < 0.0) {
        return cap;
    }
    let failures = (u.ln() / ln_keep).floor();
    if failures >= f64::from(cap - 1) {
        cap
    } else {
        1 + failures as u32
    }
}

/// Uniform draws per campaign of one customer, `[assign, open, click, reply]`, from her
/// touch stream: she is touched by campaign c when subscribed on its day and
/// `assign < reach`. Drawn for every campaign, so one campaign's outcome does not move
/// another's draws.
pub(crate) fn touch_draws(cfg: &Config, draw: u64) -> Vec<[f64; 4]> {
    let mut r = stream(cfg.seed, STREAM_TOUCH, draw);
    (0..cfg.campaigns.count)
        .map(|_| [r.random(), r.random(), r.random(), r.random()])
        .collect()
}

/// How long a subscription lasts when the churn probability varies from one renewal
/// decision to the next: decision j (at the end of billing period j) churns with
/// probability θ_j = min(1, θ · f_j), f_j = (troubled ? factor : 1) × (a touch's effect
/// covers it ? hazard ratio : 1).
///
/// One uniform u per subscription, as in [`periods_until_churn`]: with the budget
/// E = ln u / ln(1 − θ) and decision j costing w_j = ln(1 − θ_j) / ln(1 − θ) (w = 1 when
/// f_j = 1), the subscription lasts T = the first n with w_1 + … + w_n > E periods. Then
/// P(T > n) = P(u ≤ Π_{j≤n} (1 − θ_j)), the survival of independent decisions, and a
/// customer whose decisions are all unmodified gets exactly the T of
/// [`periods_until_churn`] (her sum is an exact integer), so her records do not move.
pub(crate) struct ChurnRule<'c> {
    pub campaign_days: &'c [Day],
    pub effect_until: Day,
    pub reach: f64,
    pub hazard_ratio: f64,
    pub effect_months: u32,
    pub troubled_factor: f64,
}

impl ChurnRule<'_> {
    /// Periods of a subscription from `start` (periods of `mpp` months) for a customer with
    /// churn probability `theta`, her trouble flag, the subscription's uniform `u` ∈ (0, 1]
    /// and her touch draws; capped at `cap`.
    #[allow(clippy::too_many_arguments)]
    pub fn periods(
        &self,
        theta: f64,
        troubled: bool,
        mpp: u32,
        start: Day,
        u: f64,
        touches: &[[f64; 4]],
        cap: u32,
    ) -> u32 {
        if theta >= 1.0 {
            return 1;
        }
        let ln_keep = (-theta).ln_1p();
        if !(ln_keep < 0.0) {
            return cap; // θ = 0: no multiplier makes her churn
        }
        let budget = u.ln() / ln_keep;
        let weight = |f: f64| {
            if f == 1.0 {
                1.0
            } else {
                (-(theta * f).min(1.0)).ln_1p() / ln_keep
            }
        };
        let base = if troubled {
            weight(self.troubled_factor)
        } else {
            1.0
        };
        let mut last_touch: Option<Day> = None;
        let mut acc = 0.0f64;
        let mut n: u32 = 0;
        loop {
            if start >= self.effect_until || n >= cap {
                break;
            }
            let ps = add_months(start, n * mpp);
            let pe = add_months(start, (n + 1) * mpp);
            for (c, &d) in self.campaign_days.iter().enumerate() {
                if ps <= d && d < pe && touches[c][0] < self.reach {
                    last_touch = Some(last_touch.map_or(d, |t: Day| t.max(d)));
                }
            }
            n += 1;
            let covered =
                last_touch.is_some_and(|t| t < pe && pe < add_months(t, self.effect_months));
            let f = if troubled { self.troubled_factor } else { 1.0 }
                * if covered { self.hazard_ratio } else { 1.0 };
            acc += weight(f);
            if acc > budget {
                return n.min(cap);
            }
            if pe >= self.effect_until {
                break;
            }
        }
        // No later decision is covered: each costs `base`; the first k with acc + k·base > E.
        let k = if base.is_infinite() {
            1.0
        } else {
            ((budget - acc) / base).floor() + 1.0
        };
        let total = f64::from(n) + k;
        if total >= f64::from(cap) {
            cap
        } else {
            total as u32
        }
    }
}

/// One customer as drawn in the first pass.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    /// Index of the acquisition draw: keys the customer's random streams.
    pub draw: u64,
    pub acquired: Day,
    pub channel: usize,
    pub plan: usize,
    pub annual: bool,
    pub region: usize,
    pub eur: bool,
    /// Churn probability per billing period, ~ Beta of her plan and interval.
    pub theta: f64,
    /// Billing periods of her first subscription (the sBG's T), capped.
    pub first_periods: u32,
    /// Position (0-based) of the customer who referred her.
    pub referred_by: Option<usize>,
    /// Payment-troubled (monthly-billed only): churn probability × the trouble factor,
    /// invoices through dunning.
    pub troubled: bool,
}

impl Profile {
    pub fn months_per_period(&self) -> u32 {
        if self.annual {
            12
        } else {
            1
        }
    }
}

/// The generated company before its events: settings derived from the config and the
/// customer profiles in id order.
pub(crate) struct Company<'a> {
    pub cfg: &'a Config,
    /// First and last day observed (inclusive).
    pub start: Day,
    pub end: Day,
    /// Calendar months the window touches.
    pub months: u32,
    /// Ends of subscriptions are computed up to this many months after their start; later
    /// ones are "beyond the horizon" (they affect nothing observed).
    pub horizon_months: u32,
    pub id_width: usize,
    /// List price per seat per month, cents, [USD, EUR], by plan.
    pub price: Vec<[i64; 2]>,
    /// Onboarding fee, cents, [USD, EUR], by plan.
    pub fee: Vec<[i64; 2]>,
    /// Yearly billing factor in basis points: 12 months cost 12 × this / 10000 months.
    pub annual_factor_bp: i64,
    pub margin_bp: i64,
    pub services_margin_bp: i64,
    pub profiles: Vec<Profile>,
    /// New customers by channel and month of the window.
    pub acquired_by_channel: Vec<Vec<u32>>,
    /// Send days of the retention campaigns, in campaign order.
    pub campaign_days: Vec<Day>,
    /// No renewal decision on or after this day is covered by a touch's effect.
    pub effect_until: Day,
}

/// Cap on billing periods drawn for one subscription.
const PERIOD_CAP: u32 = 100_000;

fn to_bp(x: f64) -> i64 {
    (x * 10_000.0).round() as i64
}

impl<'a> Company<'a> {
    /// Draw the customers of a validated config.
    pub fn draw(cfg: &'a Config) -> Company<'a> {
        let start = day_of(cfg.start.0);
        let end = day_of(cfg.observed_until());
        // Calendar months the window touches (one more when it starts mid-month).
        let months = {
            let (s, e) = (cfg.start.0, cfg.observed_until());
            ((e.year() - s.year()) * 12 + e.month() as i32 - s.month() as i32 + 1) as u32
        };
        // Decline windows and save offers look up to ~10 years past the window (520 weeks).
        let horizon_months = months + 12 * 11;
        let width = cfg.customers.to_string().len().max(6);
        let eur = |c: i64| (c as f64 * cfg.eur_per_usd).round() as i64;
        let price = cfg
            .plans
            .iter()
            .map(|p| {
                let c = p.price_per_seat_month.0;
                [c, eur(c)]
            })
            .collect();
        let fee = cfg
            .plans
            .iter()
            .map(|p| {
                let c = p.onboarding_fee.0;
                [c, eur(c)]
            })
            .collect();

        // Acquisition: density ∝ exp(κ t) over the window's days, κ = ln(1 + growth) per year;
        // t = ln(1 + u (e^{κD} − 1)) / κ by inversion.
        let days = f64::from(end - start + 1);
        let kappa = cfg.acquisition_growth.ln_1p() / 365.25;
        let span = (kappa * days).exp_m1();
        let mut draws: Vec<(Day, u64)> = (0..cfg.customers as u64)
            .map(|i| {
                let u: f64 = stream(cfg.seed, STREAM_ACQUIRED, i).random();
                let t = if kappa > 0.0 {
                    (u * span).ln_1p() / kappa
                } else {
                    u * days
                };
                let offset = (t.floor() as Day).clamp(0, end - start);
                (start + offset, i)
            })
            .collect();
        draws.sort_unstable();

        let first_of_month = day_of(cfg.start.0.with_day(1).expect("every month has a 1st"));
        let cp = &cfg.campaigns;
        let campaign_days: Vec<Day> = (0..cp.count)
            .map(|i| {
                let m = ((f64::from(i) + 0.5) * f64::from(months) / f64::from(cp.count)) as u32;
                (add_months(first_of_month, m) + 14).clamp(start, end)
            })
            .collect();
        let effect_until = campaign_days
            .iter()
            .map(|&d| add_months(d, cp.effect_months))
            .max()
            .unwrap_or(start);
        let rule = ChurnRule {
            campaign_days: &campaign_days,
            effect_until,
            reach: cp.reach,
            hazard_ratio: cp.hazard_ratio,
            effect_months: cp.effect_months,
            troubled_factor: cfg.payments.troubled_churn_factor,
        };

        let mut profiles: Vec<Profile> = draws
            .iter()
            .map(|&(acquired, draw)| {
                let mut r = stream(cfg.seed, STREAM_PROFILE, draw);
                let channel = pick(r.random(), cfg.channels.iter().map(|c| c.share));
                let plan = pick(r.random(), cfg.plans.iter().map(|p| p.share));
                let p = &cfg.plans[plan];
                let annual = r.random::<f64>() < p.annual_share;
                let region = pick(r.random(), cfg.regions.iter().map(|g| g.share));
                let eur = r.random::<f64>() < cfg.regions[region].eur_share;
                let churn = if annual {
                    p.churn_annual
                } else {
                    p.churn_monthly
                };
                let theta = beta(&mut r, churn.alpha, churn.beta);
                let u = 1.0 - r.random::<f64>(); // (0, 1], as periods_until_churn draws it
                let troubled = !annual
                    && stream(cfg.seed, STREAM_TROUBLE, draw).random::<f64>()
                        < cfg.payments.troubled_share;
                let mpp = if annual { 12 } else { 1 };
                let assign = touch_draws(cfg, draw);
                let first_periods =
                    rule.periods(theta, troubled, mpp, acquired, u, &assign, PERIOD_CAP);
                Profile {
                    draw,
                    acquired,
                    channel,
                    plan,
                    annual,
                    region,
                    eur,
                    theta,
                    first_periods,
                    referred_by: None,
                    troubled,
                }
            })
            .collect();

        let mut company = Company {
            cfg,
            start,
            end,
            months,
            horizon_months,
            id_width: width,
            price,
            fee,
            annual_factor_bp: to_bp(1.0 - cfg.annual_discount),
            margin_bp: to_bp(cfg.gross_margin),
            services_margin_bp: to_bp(cfg.services_margin),
            profiles: Vec::new(),
            acquired_by_channel: vec![vec![0; months as usize]; cfg.channels.len()],
            effect_until,
            campaign_days,
        };
        company.assign_referrers(&mut profiles);
        for p in &profiles {
            let m = company.month_index(p.acquired);
            company.acquired_by_channel[p.channel][m] += 1;
        }
        company.profiles = profiles;
        company
    }

    /// A referral points at a customer acquired strictly earlier, preferably one whose first
    /// subscription is running on the day (up to 8 tries, else the last one tried). A
    /// referral with nobody acquired before her moves to `organic` (or the first other
    /// channel).
    fn assign_referrers(&self, profiles: &mut [Profile]) {
        let cfg = self.cfg;
        let Some(referral) = cfg.channels.iter().position(|c| c.name == REFERRAL) else {
            return;
        };
        let fallback = cfg
            .channels
            .iter()
            .position(|c| c.name == "organic")
            .or_else(|| cfg.channels.iter().position(|c| c.name != REFERRAL))
            .expect("validate requires a channel besides referral");
        let mut first_of_day = 0;
        for p in 0..profiles.len() {
            if p > 0 && profiles[p].acquired != profiles[p - 1].acquired {
                first_of_day = p;
            }
            if profiles[p].channel != referral {
                continue;
            }
            if first_of_day == 0 {
                profiles[p].channel = fallback;
                continue;
            }
            let day = profiles[p].acquired;
            let mut r = stream(cfg.seed, STREAM_REFERRER, profiles[p].draw);
            let mut chosen = 0;
            for _ in 0..8 {
                chosen = r.random_range(0..first_of_day);
                let q = &profiles[chosen];
                let running = self
                    .spell_end(q.acquired, q.first_periods, q.months_per_period())
                    .is_none_or(|e| day < e);
                if running {
                    break;
                }
            }
            profiles[p].referred_by = Some(chosen);
        }
    }

    /// The churn rule of this company (see [`ChurnRule`]).
    pub fn rule(&self) -> ChurnRule<'_> {
        let cfg = self.cfg;
        ChurnRule {
            campaign_days: &self.campaign_days,
            effect_until: self.effect_until,
            reach: cfg.campaigns.reach,
            hazard_ratio: cfg.campaigns.hazard_ratio,
            effect_months: cfg.campaigns.effect_months,
            troubled_factor: cfg.payments.troubled_churn_factor,
        }
    }

    /// End (exclusive: the first day not paid for) of a subscription of `periods` billing
    /// periods of `months_per_period` months from `start`; `None` beyond the horizon.
    pub fn spell_end(&self, start: Day, periods: u32, months_per_period: u32) -> Option<Day> {
        let months = u64::from(periods) * u64::from(months_per_period);
        if months > u64::from(self.horizon_months) {
            None
        } else {
            Some(add_months(start, months as u32))
        }
    }

    /// Calendar month of the window (0-based: the start's month is 0) that contains `day`.
    pub fn month_index(&self, day: Day) -> usize {
        let (s, d) = (date_of(self.start), date_of(day));
        let m = (d.year() - s.year()) * 12 + d.month() as i32 - s.month() as i32;
        (m.max(0) as usize).min(self.months as usize - 1)
    }

    /// First observed day of calendar month `m` of the window: its 1st, or the start.
    pub fn month_start(&self, m: usize) -> Day {
        let first = date_of(self.start)
            .with_day(1)
            .expect("every month has a 1st");
        add_months(day_of(first), m as u32).max(self.start)
    }

    /// The customer id of position `p`: `C` and the 1-based position, zero-padded.
    pub fn push_id(&self, out: &mut String, p: usize) {
        out.push('C');
        crate::format::push_padded(out, p as u64 + 1, self.id_width);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn weekday_of_a_known_monday() {
        let d = day_of(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()); // a Monday
        assert_eq!(weekday(d), 0);
        assert_eq!(weekday(d + 6), 6);
        assert_eq!(weekday(d + 7), 0);
    }

    #[test]
    fn months_clamp_to_the_month_end() {
        let d = day_of(NaiveDate::from_ymd_opt(2023, 1, 31).unwrap());
        assert_eq!(
            date_of(add_months(d, 1)),
            NaiveDate::from_ymd_opt(2023, 2, 28).unwrap()
        );
        assert_eq!(
            date_of(add_months(d, 2)),
            NaiveDate::from_ymd_opt(2023, 3, 31).unwrap()
        );
    }

    #[test]
    fn geometric_periods_have_the_right_mean() {
        // E[T] = 1/θ for T = 1 + Geometric(θ).
        let mut r = stream(1, 2, 3);
        let n = 200_000;
        let total: u64 = (0..n)
            .map(|_| u64::from(periods_until_churn(&mut r, 0.2, PERIOD_CAP)))
            .sum();
        let mean = total as f64 / n as f64;
        // sd of T is √(1−θ)/θ ≈ 4.47; the mean's sd ≈ 0.01.
        assert!((mean - 5.0).abs() < 0.05, "mean {mean}");
        assert_eq!(periods_until_churn(&mut r, 1.0, 10), 1);
        assert_eq!(periods_until_churn(&mut r, 0.0, 10), 10);
    }

    #[test]
    fn an_unmodified_rule_is_the_plain_sbg_draw() {
        // No campaign, no trouble: exactly periods_until_churn, for every θ and u.
        let rule = ChurnRule {
            campaign_days: &[],
            effect_until: 0,
            reach: 0.3,
            hazard_ratio: 0.8,
            effect_months: 6,
            troubled_factor: 2.0,
        };
        let start = day_of(NaiveDate::from_ymd_opt(2023, 1, 31).unwrap());
        for (i, theta) in [0.0, 1e-9, 0.01, 0.07, 0.3, 0.999, 1.0]
            .into_iter()
            .enumerate()
        {
            for k in 0..2000u64 {
                let plain = periods_until_churn(&mut stream(3, i as u64, k), theta, 1000);
                let u = 1.0 - stream(3, i as u64, k).random::<f64>();
                let ruled = rule.periods(theta, false, 1, start, u, &[], 1000);
                assert_eq!(plain, ruled, "θ {theta}, draw {k}");
            }
        }
    }

    #[test]
    fn modified_decisions_have_the_survival_of_their_own_probabilities() {
        // One campaign touches everyone on day 10 of a monthly subscription; decisions 1–6
        // (days < 6 months later) have θ · 0.8 · 2 for a troubled customer, then θ · 2:
        // P(T > n) = Π_j (1 − θ_j).
        let start = day_of(NaiveDate::from_ymd_opt(2023, 1, 1).unwrap());
        let days = [start + 10];
        let rule = ChurnRule {
            campaign_days: &days,
            effect_until: add_months(start + 10, 6),
            reach: 1.0,
            hazard_ratio: 0.8,
            effect_months: 6,
            troubled_factor: 2.0,
        };
        let theta = 0.05;
        let n = 200_000;
        let mut alive = [0u32; 9];
        let mut r = stream(5, 6, 7);
        for _ in 0..n {
            let u = 1.0 - r.random::<f64>();
            let t = rule.periods(theta, true, 1, start, u, &[[0.0; 4]], 1000);
            for (k, a) in alive.iter_mut().enumerate() {
                *a += u32::from(t > k as u32);
            }
        }
        let mut s = 1.0;
        for k in 1..9 {
            s *= 1.0 - theta * 2.0 * if k <= 6 { 0.8 } else { 1.0 };
            let p = f64::from(alive[k]) / f64::from(n);
            let se = (s * (1.0 - s) / f64::from(n)).sqrt();
            assert!((p - s).abs() < 4.0 * se, "P(T > {k}) = {p}, expected {s}");
        }
    }

    #[test]
    fn pick_follows_the_shares() {
        let s = [0.2, 0.0, 0.8];
        assert_eq!(pick(0.0, s.iter().copied()), 0);
        assert_eq!(pick(0.19, s.iter().copied()), 0);
        assert_eq!(pick(0.2, s.iter().copied()), 2);
        assert_eq!(pick(0.999_999_9, s.iter().copied()), 2);
    }
}
