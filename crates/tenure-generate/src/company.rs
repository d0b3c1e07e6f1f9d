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
                let first_periods = periods_until_churn(&mut r, theta, PERIOD_CAP);
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
    fn pick_follows_the_shares() {
        let s = [0.2, 0.0, 0.8];
        assert_eq!(pick(0.0, s.iter().copied()), 0);
        assert_eq!(pick(0.19, s.iter().copied()), 0);
        assert_eq!(pick(0.2, s.iter().copied()), 2);
        assert_eq!(pick(0.999_999_9, s.iter().copied()), 2);
    }
}
