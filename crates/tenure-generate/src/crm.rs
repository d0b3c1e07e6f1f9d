//! The records of issue 10, one customer at a time: support cases (one per support ticket
//! of [`crate::customer`]'s care pass), payment events (one or more per invoice line),
//! the CRM activity log, and the touches of the retention campaigns. Each has its own
//! stream (`case`, `pay`, `crm`, `touch`), so none of them moves a draw of the six
//! original files; the two that shape churn — payment trouble and touches — act through
//! [`crate::company::ChurnRule`], decided in the first pass.

use crate::company::{
    add_months, date_of, pick, stream, touch_draws, Company, Day, Profile, STREAM_CRM, STREAM_PAY,
};
use crate::customer::{choose, Kind, Line, Rows, Spell};
use crate::format::{push_cents, push_date, push_padded, push_u64};
use crate::RecordFile;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::RngExt;
use rand_distr::{Exp1, Poisson};

const SUPPORT_REPS: &[&str] = &[
    "support.ada",
    "support.bruno",
    "support.chen",
    "support.dara",
    "support.emeka",
    "support.farah",
    "support.gus",
    "support.hana",
];
const CSM_OWNERS: &[&str] = &[
    "csm.alvarez",
    "csm.baker",
    "csm.costa",
    "csm.dubois",
    "csm.eriksen",
    "csm.fujita",
];
const CATEGORIES: &[&str] = &[
    "bug",
    "how_to",
    "billing",
    "integration",
    "performance",
    "access",
];
const INTERACTION_KINDS: [&str; 4] = ["call", "email", "meeting", "note"];
const SUMMARIES: [&[&str]; 4] = [
    &["Check-in call", "Renewal call", "Onboarding call"],
    &[
        "Sent release notes",
        "Followed up on a ticket",
        "Shared best practices",
    ],
    &[
        "Quarterly business review",
        "Training session",
        "Roadmap review",
    ],
    &[
        "Account looks healthy",
        "Champion changed roles",
        "Budget review coming up",
    ],
];

/// Days after its opening by which a case is resolved, at most.
const MAX_RESOLUTION_DAYS: f64 = 90.0;

/// A support case: one support ticket of the care pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub opened: Day,
    /// 1 (outage) to 4 (question).
    severity: u8,
    category: &'static str,
    /// Index of a usage feature, the product the case is about.
    product: Option<usize>,
    /// The day the case is resolved (may lie after `observed_until`: then it is open).
    resolved: Day,
    owner: &'static str,
    escalated_to: Option<&'static str>,
    /// The ticket's CSAT answer, if any.
    satisfaction: Option<u32>,
    /// Unresolved at `observed_until`: `pending` rather than `open`.
    pending: bool,
}

/// The attributes of a case opened on `day`, `m` the usage multiplier there (1, or less in
/// the weeks before churn). Always eight draws, whatever they decide.
pub(crate) fn draw_case(
    co: &Company,
    rng: &mut StdRng,
    day: Day,
    m: f64,
    satisfaction: Option<u32>,
) -> Case {
    let ca = &co.cfg.cases;
    let features = &co.cfg.usage.features;
    let (u_sev, u_cat, u_prod, u_owner) = (
        rng.random::<f64>(),
        rng.random::<f64>(),
        rng.random::<f64>(),
        rng.random::<f64>(),
    );
    let e: f64 = Exp1.sample(rng);
    let (u_esc, u_to, u_pending) = (
        rng.random::<f64>(),
        rng.random::<f64>(),
        rng.random::<f64>(),
    );
    // Before churn the two severe levels are (2 − m) times as likely, then renormalised.
    let s = 2.0 - m.clamp(0.0, 1.0);
    let mut shares = ca.severity_shares;
    shares[0] *= s;
    shares[1] *= s;
    let total: f64 = shares.iter().sum();
    let sev = pick(u_sev * total, shares.iter().copied());
    let category = if sev == 0 {
        "outage"
    } else {
        CATEGORIES[((u_cat * CATEGORIES.len() as f64) as usize).min(CATEGORIES.len() - 1)]
    };
    let product = (!features.is_empty())
        .then(|| ((u_prod * features.len() as f64) as usize).min(features.len() - 1));
    let days = (e * ca.resolution_days[sev])
        .floor()
        .min(MAX_RESOLUTION_DAYS);
    let escalated_to = (u_esc < ca.escalation[sev]).then_some(if sev <= 1 && u_to < 0.7 {
        "engineering"
    } else {
        "tier2"
    });
    Case {
        opened: day,
        severity: sev as u8 + 1,
        category,
        product,
        resolved: day + days as Day,
        owner: SUPPORT_REPS
            [((u_owner * SUPPORT_REPS.len() as f64) as usize).min(SUPPORT_REPS.len() - 1)],
        escalated_to,
        satisfaction,
        pending: u_pending < ca.pending_share,
    }
}

/// `cases.csv`: status from the resolution day — `closed` 4 days after it, `solved` before
/// that, and `pending`/`open` (no `closed_at`, no satisfaction) if it lies after
/// `observed_until`.
pub(crate) fn write_cases(co: &Company, cid: &str, cases: &[Case], rows: &mut Rows) {
    let features = &co.cfg.usage.features;
    for (i, c) in cases.iter().enumerate() {
        let out = rows.buf(RecordFile::Cases);
        out.push_str(cid);
        out.push_str("-CS");
        push_padded(out, i as u64 + 1, 4);
        out.push(',');
        out.push_str(cid);
        out.push(',');
        push_date(out, date_of(c.opened));
        out.push(',');
        let resolved = c.resolved <= co.end;
        if resolved {
            push_date(out, date_of(c.resolved));
        }
        out.push(',');
        push_u64(out, c.severity.into());
        out.push(',');
        out.push_str(c.category);
        out.push(',');
        if let Some(f) = c.product {
            out.push_str(&features[f].name);
        }
        out.push(',');
        out.push_str(if !resolved {
            if c.pending {
                "pending"
            } else {
                "open"
            }
        } else if c.resolved + 4 <= co.end {
            "closed"
        } else {
            "solved"
        });
        out.push(',');
        out.push_str(c.owner);
        out.push(',');
        match c.escalated_to {
            Some(to) => {
                out.push_str("true,");
                out.push_str(to);
            }
            None => out.push_str("false,"),
        }
        out.push(',');
        if let (true, Some(s)) = (resolved, c.satisfaction) {
            push_u64(out, s.into());
        }
        out.push('\n');
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PayKind {
    Succeeded,
    Failed,
    Retried,
    Refunded,
    Chargeback,
    DunningStarted,
    DunningResolved,
}

impl PayKind {
    fn as_str(self) -> &'static str {
        match self {
            PayKind::Succeeded => "succeeded",
            PayKind::Failed => "failed",
            PayKind::Retried => "retried",
            PayKind::Refunded => "refunded",
            PayKind::Chargeback => "chargeback",
            PayKind::DunningStarted => "dunning_started",
            PayKind::DunningResolved => "dunning_resolved",
        }
    }

    /// The kinds that carry the amount (the schema requires it for these).
    fn has_amount(self) -> bool {
        matches!(
            self,
            PayKind::Succeeded | PayKind::Failed | PayKind::Refunded | PayKind::Chargeback
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Payment {
    day: Day,
    kind: PayKind,
    amount: i64,
    /// Index of the invoice line (its id is `{cid}-I{line + 1}`).
    line: usize,
}

/// Days after a failed attempt at which the two retries run.
const RETRY_DAYS: [Day; 2] = [2, 5];

/// The end of the trouble window of a subscription: its end (the churn) if observed, else
/// the day after `observed_until`.
fn trouble_end(co: &Company, spell: &Spell) -> Day {
    match spell.end {
        Some(e) if e <= co.end => e,
        _ => co.end + 1,
    }
}

/// `payments.csv`: the payment events of the customer's invoice lines.
///
/// - Every `new`/`renewal` invoice is collected: `succeeded` on its day; or, through
///   dunning (troubled customers: always within `trouble_window_days` before the trouble
///   end, with probability `troubled_failure_rate` before it): `failed` and
///   `dunning_started` on its day, `retried` + `failed` 2 days later, `retried` 5 days
///   later and then `succeeded` + `dunning_resolved` (probability `dunning_resolve`) or
///   `failed` (the dunning stays open); or, for anyone else, at most once in her life
///   (probability `isolated_failure_rate` per invoice): `failed`, then `retried` +
///   `succeeded` 2 days later. A collected invoice is charged back 14–60 days later with
///   probability `chargeback_rate`.
/// - Expansions, upsells, one-off fees and change orders are `succeeded` on their day;
///   refunds are `refunded` for the refunded amount.
///
/// Nothing is written after `observed_until`.
pub(crate) fn write_payments(
    co: &Company,
    prof: &Profile,
    cid: &str,
    lines: &[Line],
    spells: &[Spell],
    rows: &mut Rows,
) {
    let cfg = co.cfg;
    let pa = &cfg.payments;
    let mut rng = stream(cfg.seed, STREAM_PAY, prof.draw);
    let mut events: Vec<Payment> = Vec::with_capacity(lines.len() + 4);
    let mut isolated_used = false;
    for (i, l) in lines.iter().enumerate() {
        let mut push = |day: Day, kind: PayKind, amount: i64| {
            events.push(Payment {
                day,
                kind,
                amount,
                line: i,
            })
        };
        match l.kind {
            Kind::New | Kind::Renewal => {
                let (u_fail, u_resolve, u_cb, u_cb_day) = (
                    rng.random::<f64>(),
                    rng.random::<f64>(),
                    rng.random::<f64>(),
                    rng.random::<f64>(),
                );
                let d = l.date;
                let collected = if prof.troubled {
                    let end = spells
                        .iter()
                        .find(|s| s.start <= d && s.end.is_none_or(|e| d < e))
                        .map_or(co.end + 1, |s| trouble_end(co, s));
                    let in_window = d >= end - pa.trouble_window_days as Day;
                    if in_window || u_fail < pa.troubled_failure_rate {
                        push(d, PayKind::Failed, l.amount);
                        push(d, PayKind::DunningStarted, 0);
                        let [r1, r2] = RETRY_DAYS;
                        push(d + r1, PayKind::Retried, 0);
                        push(d + r1, PayKind::Failed, l.amount);
                        push(d + r2, PayKind::Retried, 0);
                        if u_resolve < pa.dunning_resolve {
                            push(d + r2, PayKind::Succeeded, l.amount);
                            push(d + r2, PayKind::DunningResolved, 0);
                            Some(d + r2)
                        } else {
                            push(d + r2, PayKind::Failed, l.amount);
                            None
                        }
                    } else {
                        push(d, PayKind::Succeeded, l.amount);
                        Some(d)
                    }
                } else if !isolated_used && u_fail < pa.isolated_failure_rate {
                    isolated_used = true;
                    let r1 = RETRY_DAYS[0];
                    push(d, PayKind::Failed, l.amount);
                    push(d + r1, PayKind::Retried, 0);
                    push(d + r1, PayKind::Succeeded, l.amount);
                    Some(d + r1)
                } else {
                    push(d, PayKind::Succeeded, l.amount);
                    Some(d)
                };
                if let Some(paid) = collected {
                    if u_cb < pa.chargeback_rate {
                        let after = 14 + (u_cb_day * 47.0).min(46.0) as Day;
                        push(paid + after, PayKind::Chargeback, l.amount);
                    }
                }
            }
            Kind::Refund => push(l.date, PayKind::Refunded, -l.amount),
            _ if l.amount > 0 => push(l.date, PayKind::Succeeded, l.amount),
            _ => {}
        }
    }
    // Stable: events of one day keep the order in which they happened.
    events.sort_by_key(|e| e.day);
    let currency = if prof.eur { "EUR" } else { "USD" };
    let mut n = 0u64;
    for e in events.iter().filter(|e| e.day <= co.end) {
        n += 1;
        let out = rows.buf(RecordFile::Payments);
        out.push_str(cid);
        out.push_str("-PY");
        push_padded(out, n, 4);
        out.push(',');
        out.push_str(cid);
        out.push(',');
        push_date(out, date_of(e.day));
        out.push(',');
        out.push_str(e.kind.as_str());
        out.push(',');
        if e.kind.has_amount() {
            push_cents(out, e.amount);
            out.push(',');
            out.push_str(currency);
        } else {
            out.push(',');
        }
        out.push(',');
        out.push_str(cid);
        out.push_str("-I");
        push_padded(out, e.line as u64 + 1, 4);
        out.push('\n');
    }
}

/// `interactions.csv`: while subscribed, Poisson(`monthly_rate` × (`sales_led_factor` on a
/// sales-led plan)) interactions a month by her customer-success owner (one per customer),
/// each a call, email, meeting or note with a canned summary.
pub(crate) fn write_interactions(
    co: &Company,
    prof: &Profile,
    cid: &str,
    spells: &[Spell],
    rows: &mut Rows,
) {
    let cfg = co.cfg;
    let it = &cfg.interactions;
    let mut rng = stream(cfg.seed, STREAM_CRM, prof.draw);
    let owner = choose(&mut rng, CSM_OWNERS);
    let mut n = 0u64;
    for spell in spells {
        let last = spell.last_day(co.end);
        for j in 0u32.. {
            let ws = add_months(spell.start, j);
            if ws > last {
                break;
            }
            let we = add_months(spell.start, j + 1);
            let plan = spell.plan_on(ws, prof.plan);
            let rate = it.monthly_rate
                * if cfg.plans[plan].sales_led {
                    it.sales_led_factor
                } else {
                    1.0
                };
            let count = Poisson::new(rate).map_or(0, |d| d.sample(&mut rng) as u64);
            for _ in 0..count {
                let d = ws + rng.random_range(0..we - ws);
                let k = pick(rng.random(), it.kind_shares.iter().copied());
                let summary = choose(&mut rng, SUMMARIES[k]);
                if d > last {
                    continue;
                }
                n += 1;
                let out = rows.buf(RecordFile::Interactions);
                out.push_str(cid);
                out.push_str("-CR");
                push_padded(out, n, 4);
                out.push(',');
                out.push_str(cid);
                out.push(',');
                push_date(out, date_of(d));
                out.push(',');
                out.push_str(INTERACTION_KINDS[k]);
                out.push(',');
                out.push_str(owner);
                out.push(',');
                out.push_str(summary);
                out.push('\n');
            }
        }
    }
}

/// The id of campaign `c` (0-based): `CMP001`, …
pub(crate) fn push_campaign_id(out: &mut String, c: usize) {
    out.push_str("CMP");
    push_padded(out, c as u64 + 1, 3);
}

/// `touches.csv`: campaign c touches her when a subscription of hers runs on its day and her
/// assignment draw is below `reach` — the same decision [`crate::company::ChurnRule`] made
/// when it drew her churn. Opened with probability `open_rate`; clicked and replied among
/// the opened.
pub(crate) fn write_touches(
    co: &Company,
    prof: &Profile,
    cid: &str,
    spells: &[Spell],
    rows: &mut Rows,
) {
    let cfg = co.cfg;
    let cp = &cfg.campaigns;
    if co.campaign_days.is_empty() {
        return;
    }
    if rows.campaign_touches.len() < co.campaign_days.len() {
        rows.campaign_touches.resize(co.campaign_days.len(), 0);
    }
    let draws = touch_draws(cfg, prof.draw);
    let mut n = 0u64;
    for (c, &d) in co.campaign_days.iter().enumerate() {
        let [assign, open, click, reply] = draws[c];
        let subscribed = d <= co.end
            && spells
                .iter()
                .any(|s| s.start <= d && s.end.is_none_or(|e| d < e));
        if !subscribed || !(assign < cp.reach) {
            continue;
        }
        n += 1;
        rows.campaign_touches[c] += 1;
        let opened = open < cp.open_rate;
        let flag = |b: bool| if b { "true" } else { "false" };
        let out = rows.buf(RecordFile::Touches);
        out.push_str(cid);
        out.push_str("-TC");
        push_padded(out, n, 3);
        out.push(',');
        push_campaign_id(out, c);
        out.push(',');
        out.push_str(cid);
        out.push(',');
        push_date(out, date_of(d));
        out.push(',');
        out.push_str(flag(opened));
        out.push(',');
        out.push_str(flag(opened && click < cp.click_rate));
        out.push(',');
        out.push_str(flag(opened && reply < cp.reply_rate));
        out.push('\n');
    }
    if n > 0 {
        rows.touched_customers += 1;
    }
}
