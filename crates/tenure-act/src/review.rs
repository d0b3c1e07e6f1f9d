//! A one-account value review for a quarterly business review: the account plan's goals, the
//! value received (usage, features adopted, time to first value), support, what was paid, and
//! the lifecycle stage with what comes next — as numbers ([`Review`], serialisable) and as one
//! printable HTML page ([`render_html`], inline CSS and SVG, no external asset).
//!
//! Every figure comes from the same calls as the rest of the decision layer: usage, first value
//! and realised profit from [`facts`](crate::facts()), the stage from [`decide`](crate::decide);
//! the period's records are counted straight from the [`Dataset`].
//!
//! Invariants: no I/O, no clock; records after `as_of` (the end of the quarter, or the caller's
//! earlier day) are never looked at. Money is integer minor units of the report currency until
//! it is printed.

use crate::config::Config;
use crate::stages::Stage;
use serde::Serialize;
use tenure_core::{Currency, PaymentKind};
use tenure_reports::money::to_decimal;
use tenure_reports::{Fx, ReportError};
use tenure_store::dataset::{day_from_ymd, ymd_of_day, Day};
use tenure_store::journal::Goal;
use tenure_store::Dataset;

/// A calendar quarter, `2026-Q3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    year: i32,
    q: u32,
}

impl Quarter {
    /// Parse `YYYY-Qn` (n = 1–4).
    pub fn parse(s: &str) -> Result<Quarter, ReviewError> {
        let bad = || ReviewError::BadPeriod(s.to_string());
        let (y, q) = s.split_once("-Q").ok_or_else(bad)?;
        if y.len() != 4 || q.len() != 1 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let q: u32 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) {
            return Err(bad());
        }
        Ok(Quarter { year, q })
    }
    /// The quarter holding `day`.
    pub fn of_day(day: Day) -> Quarter {
        let (year, m, _) = ymd_of_day(day);
        Quarter {
            year,
            q: (m - 1) / 3 + 1,
        }
    }
    /// Its first day.
    pub fn start(self) -> Day {
        day_from_ymd(self.year, 3 * (self.q - 1) + 1, 1)
    }
    /// The first day after it.
    pub fn end(self) -> Day {
        if self.q == 4 {
            day_from_ymd(self.year + 1, 1, 1)
        } else {
            day_from_ymd(self.year, 3 * self.q + 1, 1)
        }
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-Q{}", self.year, self.q)
    }
}

/// Why a review cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("`{0}` is not a quarter (expected YYYY-Qn, e.g. 2026-Q3)")]
    BadPeriod(String),
    #[error("no customer `{0}`")]
    UnknownCustomer(String),
    #[error("customer `{customer}` was acquired on {acquired}, after the end of {period}")]
    NotYetAcquired {
        customer: String,
        acquired: String,
        period: String,
    },
    #[error("{period} starts on {start}, after the last day of the records ({last})")]
    AfterRecords {
        period: String,
        start: String,
        last: String,
    },
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// One account-plan goal and where it stands at the end of the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReviewGoal {
    pub title: String,
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub target_day: String,
    /// planned, on_track, at_risk, done, dropped.
    pub status: String,
    pub metric: Option<String>,
    pub target: Option<String>,
    /// Not done or dropped and its target day is on or before `as_of`.
    pub overdue: bool,
}

/// Usage per week of the period (weeks start on the period's first day; the last one holds the
/// remaining 7–13 days, or fewer when the period is cut short by `as_of`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UsageWeek {
    /// `YYYY-MM-DD`, the week's first day.
    pub week: String,
    /// Sum of usage quantities (a count, not money).
    pub quantity: f64,
}

/// What the customer received.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValueReceived {
    /// Weighted usage actions per day in the recent window (`[usage] window`) before `as_of`
    /// (the health score's usage input, `Facts::usage`); `None`: no usage record.
    pub usage_index: Option<f64>,
    /// The same rate in the baseline before the window.
    pub usage_baseline: Option<f64>,
    /// Recent / baseline − 1 (`Facts::usage_trend`).
    pub usage_trend: Option<f64>,
    /// Distinct features used by `as_of`, each with its first day.
    pub features_adopted: Vec<FeatureFirstUse>,
    /// Of which first used within the period.
    pub features_new_in_period: usize,
    /// Day of the first value event (`Facts::first_value`), `YYYY-MM-DD`.
    pub first_value: Option<String>,
    /// Days from acquisition to first value.
    pub days_to_first_value: Option<i32>,
    pub usage_by_week: Vec<UsageWeek>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeatureFirstUse {
    pub feature: String,
    /// `YYYY-MM-DD`.
    pub first_used: String,
}

/// Support cases of the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Support {
    /// Cases opened within the period.
    pub opened: u32,
    /// Cases closed (solved or closed) within the period.
    pub closed: u32,
    /// Cases opened within the period, by severity 1 (outage) – 4 (question).
    pub opened_by_severity: [u32; 4],
    /// Cases opened within the period and escalated.
    pub escalated: u32,
    /// Mean rating (1–5) of the cases closed within the period that were rated.
    pub mean_satisfaction: Option<f64>,
    pub rated: u32,
    /// Still open (not solved or closed) on `as_of`, opened at any time.
    pub open_at_end: u32,
}

/// What the customer paid in the period, in the report currency.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Paid {
    /// Sum of invoice lines dated within the period (refund lines are negative), decimal.
    pub total: String,
    /// The same in minor units.
    pub total_minor: i64,
    pub invoice_lines: u32,
    /// Payment events within the period.
    pub payments_succeeded: u32,
    pub payments_failed: u32,
    pub refunds: u32,
    /// Sum of the refund events' amounts, decimal.
    pub refunded: String,
    pub chargebacks: u32,
    /// Invoice lines in a currency without a rate (left out of `total`).
    pub unconverted_lines: u32,
}

/// Her stage on `as_of` and what comes next.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Lifecycle {
    pub stage: String,
    /// `YYYY-MM-DD`.
    pub since: String,
    pub days_in_stage: i32,
    pub overdue: bool,
    pub reason: String,
    /// The next stage of the journey (`None` in grow, the last).
    pub next_stage: Option<String>,
    /// What moves her there, in words.
    pub next_step: String,
}

/// A one-account value review. See the module docs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Review {
    pub customer: String,
    /// `YYYY-Qn`.
    pub period: String,
    /// `YYYY-MM-DD`: the period's first day.
    pub start: String,
    /// `YYYY-MM-DD`: the last day looked at (the period's last day, or earlier).
    pub as_of: String,
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub acquired: String,
    pub tenure_days: i32,
    /// Profit to `as_of`, referral credit included (`Facts::realised_profit`), decimal.
    pub realised_profit: String,
    /// Predicted future profit, decimal (`None`: no prediction).
    pub future_profit: Option<String>,
    pub goals: Vec<ReviewGoal>,
    pub value: ValueReceived,
    pub support: Support,
    pub paid: Paid,
    pub lifecycle: Lifecycle,
}

fn day_text(d: Day) -> String {
    let (y, m, dd) = ymd_of_day(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

fn money(minor: i64, c: Currency) -> String {
    to_decimal(minor, c).to_string()
}

fn next_of(stage: Stage) -> (Option<Stage>, &'static str) {
    match stage {
        Stage::Deliver => (
            Some(Stage::Develop),
            "Reach first value: use every onboarding milestone feature",
        ),
        Stage::Develop => (
            Some(Stage::Retain),
            "Realise value after adoption and approach the renewal with healthy usage",
        ),
        Stage::Retain => (
            Some(Stage::Grow),
            "Stay healthy and become a promoter or expand (seats, plan)",
        ),
        Stage::Grow => (None, "Keep growing: expansion, references and referrals"),
    }
}

/// The review of `customer` for `period`, looking at records up to the earlier of the
/// period's last day and `last_day` (the caller's as-of day, e.g. the newest record).
/// `goals` are the customer's account-plan goals (the store's journal).
pub fn review(
    data: &Dataset,
    fx: &Fx,
    cfg: &Config,
    customer: &str,
    period: Quarter,
    last_day: Day,
    goals: &[Goal],
) -> Result<Review, ReviewError> {
    let c = data
        .customer(customer)
        .ok_or_else(|| ReviewError::UnknownCustomer(customer.to_string()))?;
    let (start, end) = (period.start(), period.end());
    if start > last_day {
        return Err(ReviewError::AfterRecords {
            period: period.to_string(),
            start: day_text(start),
            last: day_text(last_day),
        });
    }
    let as_of = (end - 1).min(last_day);
    let acquired = data.customers[c as usize].acquired;
    if acquired > as_of {
        return Err(ReviewError::NotYetAcquired {
            customer: customer.to_string(),
            acquired: day_text(acquired),
            period: period.to_string(),
        });
    }
    let decisions = crate::decide(data, fx, as_of, cfg)?;
    let k = decisions
        .facts
        .iter()
        .position(|f| f.customer == c)
        .ok_or_else(|| ReviewError::UnknownCustomer(customer.to_string()))?;
    let f = &decisions.facts[k];
    let st = &decisions.stages[k];
    let cur = fx.currency();
    let within = |d: Day| d >= start && d <= as_of;

    // Value received.
    let firsts = crate::playbooks::first_uses(data, c, as_of);
    let mut weeks: Vec<UsageWeek> = Vec::new();
    let mut w = start;
    while w <= as_of {
        // The last week holds the days left over (7–13 of them), so no stub week shows a drop.
        let we = if w + 14 > as_of + 1 { as_of + 1 } else { w + 7 };
        let q: f64 = data
            .usage_of(c)
            .iter()
            .filter(|u| u.day >= w && u.day < we)
            .fold(0.0, |acc, u| acc + u.quantity);
        weeks.push(UsageWeek {
            week: day_text(w),
            quantity: q,
        });
        w = we;
    }
    let value = ValueReceived {
        usage_index: f.usage.map(|u| u.0),
        usage_baseline: f.usage.map(|u| u.1),
        usage_trend: f.usage_trend(),
        features_new_in_period: firsts.iter().filter(|(_, d)| within(*d)).count(),
        features_adopted: firsts
            .iter()
            .map(|(n, d)| FeatureFirstUse {
                feature: n.clone(),
                first_used: day_text(*d),
            })
            .collect(),
        first_value: f.first_value.map(day_text),
        days_to_first_value: f.first_value.map(|d| d - acquired),
        usage_by_week: weeks,
    };

    // Support.
    let mut support = Support {
        opened: 0,
        closed: 0,
        opened_by_severity: [0; 4],
        escalated: 0,
        mean_satisfaction: None,
        rated: 0,
        open_at_end: 0,
    };
    let mut sat_sum = 0u32;
    for k in data.cases_of(c).iter().filter(|k| k.day <= as_of) {
        if within(k.day) {
            support.opened += 1;
            let s = usize::from(k.severity.clamp(1, 4)) - 1;
            support.opened_by_severity[s] += 1;
            support.escalated += u32::from(k.escalated);
        }
        match k.closed.filter(|&d| d <= as_of) {
            Some(d) => {
                if within(d) {
                    support.closed += 1;
                    if let Some(r) = k.satisfaction {
                        support.rated += 1;
                        sat_sum += u32::from(r);
                    }
                }
            }
            None => support.open_at_end += 1,
        }
    }
    if support.rated > 0 {
        support.mean_satisfaction = Some(f64::from(sat_sum) / f64::from(support.rated));
    }

    // Paid.
    let (mut total, mut lines, mut unconverted) = (0i64, 0u32, 0u32);
    for t in data.transactions_of(c).iter().filter(|t| within(t.day)) {
        match fx.convert(t.amount, t.currency) {
            Some(a) => {
                total += a;
                lines += 1;
            }
            None => unconverted += 1,
        }
    }
    let mut paid = Paid {
        total: String::new(),
        total_minor: total,
        invoice_lines: lines,
        payments_succeeded: 0,
        payments_failed: 0,
        refunds: 0,
        refunded: String::new(),
        chargebacks: 0,
        unconverted_lines: unconverted,
    };
    let mut refunded = 0i64;
    for p in data.payments_of(c).iter().filter(|p| within(p.day)) {
        match p.kind {
            PaymentKind::Succeeded => paid.payments_succeeded += 1,
            PaymentKind::Failed => paid.payments_failed += 1,
            PaymentKind::Refunded => {
                paid.refunds += 1;
                if let Some(a) = p.amount {
                    refunded += fx.convert(a.units(), a.currency()).unwrap_or(0);
                }
            }
            PaymentKind::Chargeback => paid.chargebacks += 1,
            _ => {}
        }
    }
    paid.total = money(total, cur);
    paid.refunded = money(refunded, cur);

    let (next, step) = next_of(st.stage);
    let lifecycle = Lifecycle {
        stage: st.stage.as_str().to_string(),
        since: day_text(st.since),
        days_in_stage: st.days_in_stage(as_of),
        overdue: st.overdue,
        reason: st.reason.clone(),
        next_stage: next.map(|s| s.as_str().to_string()),
        next_step: step.to_string(),
    };
    let as_of_text = day_text(as_of);
    let goals = goals
        .iter()
        .filter(|g| g.customer_id == customer)
        .map(|g| ReviewGoal {
            title: g.title.clone(),
            owner: g.owner.clone(),
            target_day: g.target_day.clone(),
            status: g.status.as_str().to_string(),
            metric: g.metric.clone(),
            target: g.target.clone(),
            overdue: !matches!(
                g.status,
                tenure_store::journal::GoalStatus::Done
                    | tenure_store::journal::GoalStatus::Dropped
            ) && g.target_day <= as_of_text,
        })
        .collect();
    Ok(Review {
        customer: customer.to_string(),
        period: period.to_string(),
        start: day_text(start),
        as_of: as_of_text,
        currency: cur.code().to_string(),
        acquired: day_text(acquired),
        tenure_days: f.tenure_days,
        realised_profit: money(f.realised_profit, cur),
        future_profit: f.future_profit.map(|x| money(x, cur)),
        goals,
        value,
        support,
        paid,
        lifecycle,
    })
}

fn esc(s: &str) -> String {
    tenure_charts::escape(s)
}

/// `12.3 %` style, signed.
fn pct(v: f64) -> String {
    format!("{:+.1} %", v * 100.0)
}

/// A figure with its `data-figure` key, so tests and readers can find it.
fn fig(key: &str, text: &str) -> String {
    format!(
        "<span class=\"fig\" data-figure=\"{}\">{}</span>",
        esc(key),
        esc(text)
    )
}

const CSS: &str = "body{font-family:Helvetica,Arial,sans-serif;color:#111;margin:24px;font-size:12px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;border-bottom:1px solid #999;margin:18px 0 6px;padding-bottom:2px}
.sub{color:#555}.grid{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ccc;border-radius:4px;padding:6px 10px;min-width:130px}
.card .k{color:#555;font-size:11px}.card .fig{font-size:16px;font-weight:bold}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;text-align:left;padding:3px 6px}
section{page-break-inside:avoid;break-inside:avoid}svg{max-width:100%;height:auto}
@page{size:A4;margin:14mm}
@media print{body{margin:0}h2{page-break-after:avoid;break-after:avoid}.chart svg{width:78%}}";

/// A standalone SVG document as an element of the HTML page: without its XML declaration and
/// namespace attribute (HTML puts `<svg>` in the SVG namespace itself), so the page holds no URL.
fn inline_svg(svg: &str) -> String {
    let body = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    };
    body.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

fn card(label: &str, key: &str, text: &str) -> String {
    format!(
        "<div class=\"card\"><div class=\"k\">{}</div>{}</div>",
        esc(label),
        fig(key, text)
    )
}

/// One printable HTML page of `r`: inline CSS and SVG only (no link, script or URL). Every key
/// figure carries `data-figure="…"` with exactly the text of the corresponding [`Review`] field.
pub fn render_html(r: &Review) -> String {
    let opt = |v: Option<f64>, d: usize| v.map_or("—".to_string(), |x| format!("{x:.d$}"));
    let mut h = String::with_capacity(16 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!(
        "<title>Value review: {} {}</title><style>{CSS}</style></head><body>\n",
        esc(&r.customer),
        esc(&r.period)
    ));
    h.push_str(&format!(
        "<h1>Value review — {}</h1><div class=\"sub\">{} ({} to {}) · customer since {} ({} days) · amounts in {}</div>\n",
        fig("customer", &r.customer),
        fig("period", &r.period),
        esc(&r.start),
        fig("as_of", &r.as_of),
        esc(&r.acquired),
        fig("tenure_days", &r.tenure_days.to_string()),
        esc(&r.currency)
    ));

    // Goals.
    h.push_str("<section><h2>Account plan: goals and progress</h2>");
    let done = r.goals.iter().filter(|g| g.status == "done").count();
    h.push_str(&format!(
        "<p>{} goals, {} done, {} overdue.</p>",
        fig("goals", &r.goals.len().to_string()),
        fig("goals_done", &done.to_string()),
        fig(
            "goals_overdue",
            &r.goals.iter().filter(|g| g.overdue).count().to_string()
        )
    ));
    if !r.goals.is_empty() {
        h.push_str("<table><tr><th>goal</th><th>owner</th><th>target day</th><th>metric</th><th>target</th><th>status</th></tr>");
        for g in &r.goals {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                esc(&g.title),
                esc(&g.owner),
                esc(&g.target_day),
                esc(g.metric.as_deref().unwrap_or("—")),
                esc(g.target.as_deref().unwrap_or("—")),
                esc(&g.status),
                if g.overdue { " (overdue)" } else { "" }
            ));
        }
        h.push_str("</table>");
    }
    h.push_str("</section>\n");

    // Value received.
    let v = &r.value;
    h.push_str("<section><h2>Value received</h2><div class=\"grid\">");
    h.push_str(&card(
        "usage index (weighted actions/day, recent window)",
        "usage_index",
        &opt(v.usage_index, 2),
    ));
    h.push_str(&card(
        "usage trend vs baseline",
        "usage_trend",
        &v.usage_trend.map_or("—".into(), pct),
    ));
    h.push_str(&card(
        "features adopted",
        "features_adopted",
        &v.features_adopted.len().to_string(),
    ));
    h.push_str(&card(
        "new features this period",
        "features_new_in_period",
        &v.features_new_in_period.to_string(),
    ));
    h.push_str(&card(
        "time to first value (days)",
        "days_to_first_value",
        &v.days_to_first_value
            .map_or("not reached".into(), |d| d.to_string()),
    ));
    h.push_str(&card(
        "realised profit to date",
        "realised_profit",
        &r.realised_profit,
    ));
    h.push_str("</div>");
    let points: Vec<(f64, f64)> = v
        .usage_by_week
        .iter()
        .enumerate()
        .map(|(i, w)| (i as f64 + 1.0, w.quantity))
        .collect();
    let chart = tenure_charts::line_chart(&tenure_charts::LineChart {
        title: format!("Usage per week, {}", r.period),
        x_label: "week of the period".into(),
        y_label: "usage quantity".into(),
        series: vec![tenure_charts::Series {
            name: "usage".into(),
            points,
            style: tenure_charts::Style::LineDots,
        }],
        x_ticks: None,
        rule: None,
    });
    h.push_str(&format!(
        "<div class=\"chart\">{}</div>",
        inline_svg(&chart)
    ));
    if !v.features_adopted.is_empty() {
        h.push_str("<p>Features (first used): ");
        let list: Vec<String> = v
            .features_adopted
            .iter()
            .map(|x| format!("{} ({})", esc(&x.feature), esc(&x.first_used)))
            .collect();
        h.push_str(&list.join(", "));
        h.push_str("</p>");
    }
    h.push_str("</section>\n");

    // Support.
    let s = &r.support;
    h.push_str("<section><h2>Support experience</h2><div class=\"grid\">");
    h.push_str(&card("cases opened", "cases_opened", &s.opened.to_string()));
    h.push_str(&card("cases closed", "cases_closed", &s.closed.to_string()));
    h.push_str(&card(
        "escalated",
        "cases_escalated",
        &s.escalated.to_string(),
    ));
    h.push_str(&card(
        "mean satisfaction (1–5)",
        "mean_satisfaction",
        &opt(s.mean_satisfaction, 2),
    ));
    h.push_str(&card(
        "open at the end",
        "cases_open_at_end",
        &s.open_at_end.to_string(),
    ));
    h.push_str("</div>");
    let bins: Vec<(f64, f64, f64)> = s
        .opened_by_severity
        .iter()
        .enumerate()
        .map(|(i, n)| (i as f64 + 0.5, i as f64 + 1.5, f64::from(*n)))
        .collect();
    let hist = tenure_charts::histogram(&tenure_charts::Histogram {
        title: "Cases opened by severity (1 = outage … 4 = question)".into(),
        x_label: "severity".into(),
        y_label: "cases".into(),
        bins,
    });
    h.push_str(&format!("<div class=\"chart\">{}</div>", inline_svg(&hist)));
    h.push_str("<table><tr><th>severity</th><th>1</th><th>2</th><th>3</th><th>4</th></tr><tr><td>opened</td>");
    for (i, n) in s.opened_by_severity.iter().enumerate() {
        h.push_str(&format!(
            "<td>{}</td>",
            fig(&format!("cases_severity_{}", i + 1), &n.to_string())
        ));
    }
    h.push_str("</tr></table></section>\n");

    // Paid.
    let p = &r.paid;
    h.push_str("<section><h2>What they paid</h2><div class=\"grid\">");
    h.push_str(&card("paid in the period", "paid_total", &p.total));
    h.push_str(&card(
        "invoice lines",
        "invoice_lines",
        &p.invoice_lines.to_string(),
    ));
    h.push_str(&card(
        "payments succeeded",
        "payments_succeeded",
        &p.payments_succeeded.to_string(),
    ));
    h.push_str(&card(
        "payments failed",
        "payments_failed",
        &p.payments_failed.to_string(),
    ));
    h.push_str(&card("refunds", "refunds", &p.refunds.to_string()));
    h.push_str(&card("refunded", "refunded", &p.refunded));
    h.push_str(&card(
        "chargebacks",
        "chargebacks",
        &p.chargebacks.to_string(),
    ));
    h.push_str("</div></section>\n");

    // Lifecycle.
    let l = &r.lifecycle;
    h.push_str("<section><h2>Lifecycle: where they are and what comes next</h2>");
    h.push_str(&format!(
        "<p>Stage {} since {} ({} days){}. {}</p><p>Next stage: {}. {}.</p>",
        fig("stage", &l.stage),
        esc(&l.since),
        fig("days_in_stage", &l.days_in_stage.to_string()),
        if l.overdue { ", overdue" } else { "" },
        esc(&l.reason),
        fig("next_stage", l.next_stage.as_deref().unwrap_or("—")),
        esc(&l.next_step)
    ));
    h.push_str("</section>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_parse_and_bound() {
        let q = Quarter::parse("2026-Q3").unwrap();
        assert_eq!(q.to_string(), "2026-Q3");
        assert_eq!(day_text(q.start()), "2026-07-01");
        assert_eq!(day_text(q.end()), "2026-10-01");
        assert_eq!(
            day_text(Quarter::parse("2025-Q4").unwrap().end()),
            "2026-01-01"
        );
        for bad in [
            "2026-Q5", "2026-Q0", "2026Q3", "26-Q3", "2026-Q3x", "", "abcd-Q1",
        ] {
            assert!(Quarter::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Quarter::of_day(q.start() + 40), q);
    }

    fn sample() -> Review {
        Review {
            customer: "C<1>".into(),
            period: "2026-Q3".into(),
            start: "2026-07-01".into(),
            as_of: "2026-09-30".into(),
            currency: "USD".into(),
            acquired: "2024-01-02".into(),
            tenure_days: 1002,
            realised_profit: "1234.50".into(),
            future_profit: None,
            goals: vec![ReviewGoal {
                title: "Roll out <reports> & API".into(),
                owner: "ana".into(),
                target_day: "2026-09-01".into(),
                status: "done".into(),
                metric: None,
                target: None,
                overdue: false,
            }],
            value: ValueReceived {
                usage_index: Some(2.345),
                usage_baseline: Some(2.0),
                usage_trend: Some(0.1725),
                features_adopted: vec![],
                features_new_in_period: 0,
                first_value: None,
                days_to_first_value: None,
                usage_by_week: vec![UsageWeek {
                    week: "2026-07-01".into(),
                    quantity: 3.0,
                }],
            },
            support: Support {
                opened: 5,
                closed: 4,
                opened_by_severity: [1, 0, 3, 1],
                escalated: 2,
                mean_satisfaction: Some(4.25),
                rated: 4,
                open_at_end: 1,
            },
            paid: Paid {
                total: "900.00".into(),
                total_minor: 90_000,
                invoice_lines: 3,
                payments_succeeded: 2,
                payments_failed: 1,
                refunds: 1,
                refunded: "10.00".into(),
                chargebacks: 0,
                unconverted_lines: 0,
            },
            lifecycle: Lifecycle {
                stage: "retain".into(),
                since: "2025-01-01".into(),
                days_in_stage: 637,
                overdue: false,
                reason: "renewal within 30 days".into(),
                next_stage: Some("grow".into()),
                next_step: "x".into(),
            },
        }
    }

    fn figure<'a>(html: &'a str, key: &str) -> &'a str {
        let at = format!("data-figure=\"{key}\">");
        let i = html.find(&at).unwrap_or_else(|| panic!("{key} missing")) + at.len();
        &html[i..i + html[i..].find('<').unwrap_or(0)]
    }

    #[test]
    fn the_page_shows_the_reviews_numbers_and_nothing_external() {
        let r = sample();
        let h = render_html(&r);
        assert_eq!(figure(&h, "customer"), "C&lt;1&gt;");
        assert_eq!(figure(&h, "paid_total"), r.paid.total);
        assert_eq!(figure(&h, "refunded"), r.paid.refunded);
        assert_eq!(figure(&h, "payments_failed"), "1");
        assert_eq!(figure(&h, "cases_opened"), "5");
        assert_eq!(figure(&h, "cases_closed"), "4");
        assert_eq!(figure(&h, "cases_escalated"), "2");
        assert_eq!(figure(&h, "cases_severity_3"), "3");
        assert_eq!(figure(&h, "mean_satisfaction"), "4.25");
        assert_eq!(figure(&h, "usage_index"), "2.35");
        assert_eq!(figure(&h, "usage_trend"), "+17.2 %");
        assert_eq!(figure(&h, "days_to_first_value"), "not reached");
        assert_eq!(figure(&h, "realised_profit"), "1234.50");
        assert_eq!(figure(&h, "goals_done"), "1");
        assert_eq!(figure(&h, "stage"), "retain");
        assert_eq!(figure(&h, "next_stage"), "grow");
        assert!(h.contains("Roll out &lt;reports&gt; &amp; API"));
        for bad in ["<link", "<script", "http:", "https:", "src=", "url("] {
            assert!(!h.contains(bad), "{bad}");
        }
        assert!(h.contains("@page"));
    }
}
