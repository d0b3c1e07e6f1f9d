//! `tenure predict` for the discrete-time models, whose horizons are counts rather than
//! calendar durations:
//! - BG/BB (Fader, Hardie & Shang 2010): P(alive) and expected transactions in the next N
//!   transaction opportunities, per summary row;
//! - sBG (Fader & Hardie 2007, 2010): for each active contract customer, the probability of
//!   renewing next period, of still being active after the horizon, and the discounted
//!   expected residual lifetime; plus the survival curve of a new customer.
//!
//! Every prediction has a delta-method interval when the model file holds a covariance.

use crate::cmd_fit::ModelKind;
use crate::cmd_predict::{point, push_csv_field, push_num, PredictArgs};
use crate::error::CliError;
use crate::inputs::{self, data_error, SmallCsv};
use crate::model_file::ModelFile;
use crate::table::{num, Table};
use crate::timing::ms_since;
use crate::{write_atomically, Format};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;
use tenure_core::{Duration, Rate, TimeUnit};
use tenure_engine::SummaryRow;
use tenure_models::bgbb::{validate_bgbb_row, BgBbParams, BgBbRow, MAX_PERIODS};
use tenure_models::data::group_rows;
use tenure_models::fit::{delta_method, normal_quantile_two_sided};
use tenure_models::sbg::SbgParams;
use tenure_models::{Estimate, RfmRow, Scale};

/// Longest sBG horizon accepted, in the model's periods: the report prints one row per period.
const MAX_SBG_HORIZON: u32 = 10_000;

/// Score a BG/BB or sBG model file; `t_read` is when reading the model file began.
pub fn run(
    a: &PredictArgs,
    mf: &ModelFile,
    kind: ModelKind,
    t_read: Instant,
) -> Result<(), CliError> {
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(CliError::input(format!(
            "--level {}: must be strictly between 0 and 1",
            a.level
        )));
    }
    if a.spend.is_some() {
        return Err(CliError::input(format!(
            "--spend: a Gamma-Gamma spend model goes with the recency-frequency models (bgnbd, paretonbd, mbgnbd), not `{}`",
            mf.model
        )));
    }
    if a.margin != 1.0 {
        return Err(CliError::input(format!(
            "--margin: applies to CLV with --spend (recency-frequency models), not to `{}`",
            mf.model
        )));
    }
    let z = normal_quantile_two_sided(a.level);
    match kind {
        ModelKind::Bgbb => {
            let th = mf.params_in_order(&a.model, &["alpha", "beta", "gamma", "delta"])?;
            let cov = covariance(a, mf, th.len())?;
            predict_bgbb(a, mf, &th, cov, z, t_read)
        }
        ModelKind::Sbg => {
            let th = mf.params_in_order(&a.model, &["alpha", "beta"])?;
            let cov = covariance(a, mf, th.len())?;
            predict_sbg(a, mf, &th, cov, z, t_read)
        }
        other => Err(CliError::failure(format!(
            "internal: `{}` is not a discrete-time model",
            other.name()
        ))),
    }
}

/// The model file's covariance for the intervals: `None` with `--no-intervals` or when the file
/// has none; an error when it is not k × k.
fn covariance<'a>(
    a: &PredictArgs,
    mf: &'a ModelFile,
    k: usize,
) -> Result<Option<&'a [Vec<f64>]>, CliError> {
    match mf.covariance.as_deref() {
        Some(c) if c.len() != k || c.iter().any(|r| r.len() != k) => Err(CliError::input(format!(
            "{}: the covariance is not a {k} × {k} matrix (one row and column per parameter)",
            a.model.display()
        ))),
        Some(c) if !a.no_intervals => Ok(Some(c)),
        _ => Ok(None),
    }
}

fn interval_method(a: &PredictArgs, cov: Option<&[Vec<f64>]>) -> String {
    if a.no_intervals {
        "none".into()
    } else if cov.is_none() {
        "none (the model file has no covariance)".into()
    } else {
        format!(
            "delta method (observed information), {}%",
            num(a.level * 100.0, 3)
        )
    }
}

/// `,value[,lower,upper]`; empty cells for `None` (and for non-finite numbers).
fn push_estimate(s: &mut String, e: Option<&Estimate>, intervals: bool) {
    match e {
        Some(e) => {
            push_num(s, e.value);
            if intervals {
                push_num(s, e.lower);
                push_num(s, e.upper);
            }
        }
        None => s.push_str(if intervals { ",,," } else { "," }),
    }
}

fn push_header(s: &mut String, name: &str, intervals: bool) {
    let _ = write!(s, ",{name}");
    if intervals {
        let _ = write!(s, ",{name}_lower,{name}_upper");
    }
}

/// An estimate of `g` at θ: with a delta-method interval on `scale` when there is a covariance.
fn estimate(
    g: impl Fn(&[f64]) -> f64,
    theta: &[f64],
    cov: Option<&[Vec<f64>]>,
    scale: Scale,
    z: f64,
) -> Estimate {
    match cov {
        Some(c) => delta_method(g, theta, c, scale, z),
        None => point(g(theta)),
    }
}

/// `num(v, 6)` without trailing zeros: 0.1, 0.126825, 1.5.
fn short(v: f64) -> String {
    let s = num(v, 6);
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn interval_text(e: &Estimate, sig: usize) -> String {
    if e.lower.is_finite() && e.upper.is_finite() {
        format!("{} – {}", num(e.lower, sig), num(e.upper, sig))
    } else {
        "-".into()
    }
}

// ---------------------------------------------------------------------------------------------
// BG/BB

/// `--horizon` for a BG/BB model: a bare whole number of future transaction opportunities
/// (optionally followed by the word `opportunities`), 1..=[`MAX_PERIODS`].
fn bgbb_horizon(s: &str) -> Result<u32, CliError> {
    let t = s.trim();
    let bare = t
        .strip_suffix("opportunities")
        .or_else(|| t.strip_suffix("opportunity"))
        .unwrap_or(t)
        .trim();
    let hint = "a BG/BB model counts discrete transaction opportunities and has no calendar unit: give a bare whole number of future opportunities, e.g. --horizon 5";
    match bare.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && (1.0..=MAX_PERIODS).contains(&v) => {
            // Whole and in [1, 1e6]: the cast is exact.
            Ok(v as u32)
        }
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v < 1.0 => Err(CliError::input(format!(
            "--horizon {s}: must be at least 1 opportunity"
        ))),
        Ok(v) if v.is_finite() && v.fract() == 0.0 => Err(CliError::input(format!(
            "--horizon {s}: at most {MAX_PERIODS} opportunities"
        ))),
        Ok(_) => Err(CliError::input(format!(
            "--horizon {s}: not a whole number; {hint}"
        ))),
        Err(_) => Err(CliError::input(format!("--horizon {s}: {hint}"))),
    }
}

fn bgbb_at(th: &[f64]) -> BgBbParams {
    BgBbParams {
        alpha: th[0],
        beta: th[1],
        gamma: th[2],
        delta: th[3],
    }
}

fn predict_bgbb(
    a: &PredictArgs,
    mf: &ModelFile,
    theta: &[f64],
    cov: Option<&[Vec<f64>]>,
    z: f64,
    t_read: Instant,
) -> Result<(), CliError> {
    let horizon = bgbb_horizon(&a.horizon)?;
    if let Some(d) = &a.discount_rate {
        return Err(CliError::input(format!(
            "--discount-rate {d}: a BG/BB model has no calendar time to discount over; leave it out"
        )));
    }
    let path = a.input.as_path();
    let rows = inputs::summaries(path)?;
    let read_ms = ms_since(t_read);

    let t_score = Instant::now();
    let h = f64::from(horizon);
    let g = group_rows(rows.iter().map(|r| RfmRow {
        x: r.x,
        t_x: r.t_x,
        t: r.t,
    }));
    let mut p_alive = Vec::with_capacity(g.distinct.len());
    let mut expected = Vec::with_capacity(g.distinct.len());
    for (j, r) in g.distinct.iter().enumerate() {
        let (x, tx, n) = (r.x, r.t_x, r.t);
        validate_bgbb_row(g.first[j], &BgBbRow { x, t_x: tx, n })
            .map_err(|e| data_error(path, &rows, e))?;
        p_alive.push(estimate(
            |th| bgbb_at(th).p_alive(x, tx, n),
            theta,
            cov,
            Scale::Logit,
            z,
        ));
        expected.push(estimate(
            |th| bgbb_at(th).conditional_expected_transactions(h, x, tx, n),
            theta,
            cov,
            Scale::Log,
            z,
        ));
    }
    let score_ms = ms_since(t_score);

    let t_write = Instant::now();
    let intervals = cov.is_some();
    let mut s = String::with_capacity(rows.len() * if intervals { 160 } else { 48 });
    s.push_str("customer_id");
    push_header(&mut s, "p_alive", intervals);
    push_header(&mut s, "expected_purchases", intervals);
    s.push('\n');
    for (i, r) in rows.iter().enumerate() {
        let j = g.index[i] as usize;
        push_csv_field(&mut s, &r.id);
        push_estimate(&mut s, Some(&p_alive[j]), intervals);
        push_estimate(&mut s, Some(&expected[j]), intervals);
        s.push('\n');
    }
    write_atomically(&a.output, s.as_bytes())?;
    let write_ms = ms_since(t_write);

    // Totals over customers: a row stands for `weight` of them.
    let weight_sum: f64 = rows.iter().map(|r| r.weight).sum();
    let w = |r: &SummaryRow| if weight_sum > 0.0 { r.weight } else { 1.0 };
    let customers = if weight_sum > 0.0 {
        weight_sum
    } else {
        rows.len() as f64
    };
    let mut sum_alive = 0.0;
    let mut total = 0.0;
    for (i, r) in rows.iter().enumerate() {
        let j = g.index[i] as usize;
        sum_alive += w(r) * p_alive[j].value;
        total += w(r) * expected[j].value;
    }
    let mean_alive = sum_alive / customers;
    let method = interval_method(a, cov);
    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "model": mf.model,
                "output": a.output.display().to_string(),
                "customers": customers,
                "rows": rows.len(),
                "time_unit": "opportunities",
                "horizon": { "amount": horizon, "unit": "opportunities", "in_model_unit": horizon },
                "mean_p_alive": mean_alive,
                "total_expected_purchases": total,
                "intervals": method,
                "elapsed_ms": { "read": read_ms, "score": score_ms, "write": write_ms },
            });
            println!("{v}");
        }
        Format::Table => {
            let mut t = Table::new(&["prediction", "value"]);
            t.row(vec!["model".into(), mf.model.clone()]);
            t.row(vec![
                "customers".into(),
                format!("{} ({} rows)", num(customers, 12), rows.len()),
            ]);
            t.row(vec!["horizon".into(), format!("{horizon} opportunities")]);
            t.row(vec!["mean P(alive)".into(), num(mean_alive, 4)]);
            t.row(vec![
                format!("expected transactions in the next {horizon} opportunities"),
                num(total, 6),
            ]);
            t.row(vec!["intervals".into(), method]);
            t.row(vec!["output".into(), a.output.display().to_string()]);
            print!("{}", t.render());

            let mut idx: Vec<usize> = (0..rows.len()).collect();
            let key = |i: usize| expected[g.index[i] as usize].value;
            idx.sort_by(|&i, &j| key(j).total_cmp(&key(i)).then(i.cmp(&j)));
            let exp = format!("E[transactions, {horizon} opp.]");
            let mut top = Table::new(&[
                "customer",
                "frequency",
                "recency",
                "periods",
                "P(alive)",
                exp.as_str(),
                "interval",
            ]);
            for &i in idx.iter().take(10) {
                let r = &rows[i];
                let e = &expected[g.index[i] as usize];
                top.row(vec![
                    r.id.clone(),
                    num(r.x, 12),
                    num(r.t_x, 12),
                    num(r.t, 12),
                    num(p_alive[g.index[i] as usize].value, 3),
                    num(e.value, 4),
                    interval_text(e, 4),
                ]);
            }
            println!("\nTop customers by expected transactions:");
            print!("{}", top.render());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// sBG

/// The length of an sBG model's period: a calendar unit (`years`) or just a name (`periods`).
#[derive(Debug, Clone, PartialEq)]
enum Period {
    Calendar(TimeUnit),
    Named(String),
}

impl Period {
    fn of_model(mf: &ModelFile) -> Period {
        let s = mf.time_unit.as_deref().unwrap_or("periods").trim();
        match s.parse::<TimeUnit>() {
            Ok(u) => Period::Calendar(u),
            Err(_) => Period::Named(if s.is_empty() { "periods" } else { s }.to_string()),
        }
    }

    fn name(&self) -> String {
        match self {
            Period::Calendar(u) => u.name().to_string(),
            Period::Named(n) => n.clone(),
        }
    }

    /// Whether `word` names one model period: `period(s)`, or the model's own unit name.
    fn is_period_word(&self, word: &str) -> bool {
        let w = word.trim().to_ascii_lowercase();
        if ["period", "periods"].contains(&w.as_str()) {
            return true;
        }
        match self {
            Period::Named(n) => {
                let n = n.to_ascii_lowercase();
                w == n || Some(w.as_str()) == n.strip_suffix('s')
            }
            Period::Calendar(_) => false,
        }
    }
}

/// A whole number of periods in 1..=[`MAX_SBG_HORIZON`], or an error naming `arg`.
fn whole_periods(arg: &str, v: f64, period: &Period) -> Result<u32, CliError> {
    if !(v.is_finite() && v.fract() == 0.0) {
        return Err(CliError::input(format!(
            "--horizon {arg}: not a whole number of the model's periods ({}); the sBG moves in whole periods",
            period.name()
        )));
    }
    if v < 1.0 {
        return Err(CliError::input(format!(
            "--horizon {arg}: must be at least one period"
        )));
    }
    if v > f64::from(MAX_SBG_HORIZON) {
        return Err(CliError::input(format!(
            "--horizon {arg}: at most {MAX_SBG_HORIZON} periods"
        )));
    }
    // Whole and in [1, MAX_SBG_HORIZON]: the cast is exact.
    Ok(v as u32)
}

/// `--horizon` for an sBG model: a bare whole number of periods, a number of `periods` (or of
/// the model's named unit), or a calendar duration that is a whole number of the model's
/// calendar periods.
fn sbg_horizon(s: &str, period: &Period) -> Result<u32, CliError> {
    let t = s.trim();
    if let Ok(v) = t.parse::<f64>() {
        return whole_periods(s, v, period);
    }
    if let Some(i) = t.find(|c: char| c.is_alphabetic()) {
        let (n, unit) = t.split_at(i);
        if period.is_period_word(unit) {
            if let Ok(v) = n.trim().parse::<f64>() {
                return whole_periods(s, v, period);
            }
        }
    }
    match period {
        Period::Calendar(u) => {
            let d: Duration = t.parse().map_err(|e| {
                CliError::input(format!(
                    "--horizon {s}: {e}; or give a bare whole number of the model's periods ({})",
                    u.name()
                ))
            })?;
            let k = d.in_unit(*u);
            let whole = k.round();
            if (k - whole).abs() > 1e-9 * whole.max(1.0) {
                return Err(CliError::input(format!(
                    "--horizon {s} is {} {}: make it a whole number of the model's periods",
                    short(k),
                    u.name()
                )));
            }
            whole_periods(s, whole, period)
        }
        Period::Named(n) => Err(CliError::input(format!(
            "--horizon {s}: this sBG model's periods (`{n}`) have no calendar length; give a bare whole number of periods, e.g. --horizon 3"
        ))),
    }
}

/// A fraction written as a number or a percentage: `0.1`, `10%`.
fn fraction(s: &str) -> Option<f64> {
    let s = s.trim();
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
        None => s.parse::<f64>().ok()?,
    };
    v.is_finite().then_some(v)
}

/// `--discount-rate` for an sBG model as a rate per model period: `10%/period` (or per the
/// model's named unit), or a calendar rate compounded to the model's calendar period. DERL
/// needs it positive.
fn sbg_discount(s: &str, period: &Period) -> Result<f64, CliError> {
    let t = s.trim();
    let per_period = t
        .split_once('/')
        .filter(|(_, per)| period.is_period_word(per))
        .map(|(v, _)| {
            fraction(v).ok_or_else(|| {
                CliError::input(format!(
                    "--discount-rate {s}: `{}` is not a number or a percentage",
                    v.trim()
                ))
            })
        });
    let d = match per_period {
        Some(d) => d?,
        None => {
            let rate: Rate = t.parse().map_err(|e| {
                CliError::input(format!(
                    "--discount-rate {s}: {e}; or state it per the model's period, e.g. 10%/period"
                ))
            })?;
            match period {
                Period::Calendar(u) if (rate.per().in_unit(*u) - 1.0).abs() < 1e-12 => rate.value(),
                Period::Calendar(u) => rate.compounded_per(*u),
                Period::Named(n) => {
                    return Err(CliError::input(format!(
                        "--discount-rate {s}: this sBG model's periods (`{n}`) have no calendar length; state the rate per period, e.g. 10%/period"
                    )))
                }
            }
        }
    };
    if !(d.is_finite() && d > 0.0) {
        return Err(CliError::input(format!(
            "--discount-rate {s}: DERL needs a positive rate per period (this is {d})"
        )));
    }
    Ok(d)
}

fn sbg_at(th: &[f64]) -> SbgParams {
    SbgParams {
        alpha: th[0],
        beta: th[1],
    }
}

/// One active customer's predictions (shared by every customer with the same tenure).
struct SbgScore {
    p_renew: Estimate,
    p_active: Estimate,
    derl: Option<Estimate>,
}

/// One input record, in file order.
struct Customer {
    id: String,
    line: usize,
    tenure: u32,
    churned: bool,
}

fn read_customers(path: &std::path::Path) -> Result<Vec<Customer>, CliError> {
    let table = SmallCsv::read(path)?;
    if !(table.has("tenure") && table.has("churned")) {
        return Err(CliError::input(format!(
            "{}:1: an sBG model scores per-customer records: columns tenure (whole periods completed) and churned (true/false), customer_id optional (found: {})",
            path.display(),
            table.header.join(", ")
        )));
    }
    let records = inputs::sbg_records(&table)?;
    let id_col = table
        .header
        .iter()
        .position(|h| h.eq_ignore_ascii_case("customer_id"))
        .or_else(|| {
            table
                .header
                .iter()
                .position(|h| h.eq_ignore_ascii_case("id"))
        });
    let mut out = Vec::with_capacity(records.len());
    for (i, (rec, (line, cells))) in records.iter().zip(&table.rows).enumerate() {
        if rec.churned && rec.tenure == 0 {
            return Err(CliError::at(
                path,
                *line,
                None,
                "churned with tenure 0: a customer churns in period 1 at the earliest",
            ));
        }
        let id = match id_col {
            Some(c) => cells.get(c).cloned().unwrap_or_default(),
            None => (i + 1).to_string(),
        };
        out.push(Customer {
            id,
            line: *line,
            tenure: rec.tenure,
            churned: rec.churned,
        });
    }
    if out.is_empty() {
        return Err(CliError::input(format!(
            "{}: no customers to score",
            path.display()
        )));
    }
    Ok(out)
}

fn predict_sbg(
    a: &PredictArgs,
    mf: &ModelFile,
    theta: &[f64],
    cov: Option<&[Vec<f64>]>,
    z: f64,
    t_read: Instant,
) -> Result<(), CliError> {
    let period = Period::of_model(mf);
    let horizon = sbg_horizon(&a.horizon, &period)?;
    let d = a
        .discount_rate
        .as_deref()
        .map(|s| sbg_discount(s, &period))
        .transpose()?;
    let path = a.input.as_path();
    let customers = read_customers(path)?;
    let read_ms = ms_since(t_read);

    let t_score = Instant::now();
    let params = sbg_at(theta);
    if let Some(d) = d {
        if params.derl(d, 1).is_none() {
            return Err(CliError::input(format!(
                "--discount-rate: {d} per period is too small for DERL's series to converge; use a larger rate"
            )));
        }
    }
    let mut scores: BTreeMap<u32, SbgScore> = BTreeMap::new();
    for c in customers.iter().filter(|c| !c.churned) {
        if scores.contains_key(&c.tenure) {
            continue;
        }
        let n = c.tenure;
        let (next, end) = match (n.checked_add(1), n.checked_add(horizon)) {
            (Some(next), Some(end)) => (next, end),
            _ => {
                return Err(CliError::at(
                    path,
                    c.line,
                    None,
                    format!("tenure {n} is too large to project {horizon} periods further"),
                ))
            }
        };
        // r(n+1) = S(n+1)/S(n) (FH 2007, the retention rate).
        let p_renew = estimate(|th| sbg_at(th).retention(next), theta, cov, Scale::Logit, z);
        // P(T > n+h | T > n) = S(n+h)/S(n) (FH 2007, the survivor function).
        let p_active = estimate(
            |th| {
                let p = sbg_at(th);
                p.survival(end) / p.survival(n)
            },
            theta,
            cov,
            Scale::Logit,
            z,
        );
        // FH 2010's DERL(d | n' − 1 renewals) with n' − 1 = n, the periods completed.
        let derl = d.map(|d| {
            estimate(
                |th| sbg_at(th).derl(d, next).unwrap_or(f64::NAN),
                theta,
                cov,
                Scale::Log,
                z,
            )
        });
        scores.insert(
            n,
            SbgScore {
                p_renew,
                p_active,
                derl,
            },
        );
    }
    // The survival curve and retention rates of a new customer, t = 0..=horizon.
    let curve: Vec<(u32, Estimate, Option<Estimate>)> = (0..=horizon)
        .map(|t| {
            let s = estimate(|th| sbg_at(th).survival(t), theta, cov, Scale::Logit, z);
            let r = (t > 0)
                .then(|| estimate(|th| sbg_at(th).retention(t), theta, cov, Scale::Logit, z));
            (t, s, r)
        })
        .collect();
    let score_ms = ms_since(t_score);

    let t_write = Instant::now();
    let intervals = cov.is_some();
    let mut s = String::with_capacity(customers.len() * if intervals { 200 } else { 64 });
    s.push_str("customer_id,tenure");
    push_header(&mut s, "p_renew", intervals);
    push_header(&mut s, "p_active_at_horizon", intervals);
    if d.is_some() {
        push_header(&mut s, "derl", intervals);
    }
    s.push('\n');
    for c in &customers {
        push_csv_field(&mut s, &c.id);
        let _ = write!(s, ",{}", c.tenure);
        let sc = (!c.churned).then(|| scores.get(&c.tenure)).flatten();
        push_estimate(&mut s, sc.map(|x| &x.p_renew), intervals);
        push_estimate(&mut s, sc.map(|x| &x.p_active), intervals);
        if d.is_some() {
            push_estimate(&mut s, sc.and_then(|x| x.derl.as_ref()), intervals);
        }
        s.push('\n');
    }
    write_atomically(&a.output, s.as_bytes())?;
    let write_ms = ms_since(t_write);

    let active: Vec<&SbgScore> = customers
        .iter()
        .filter(|c| !c.churned)
        .filter_map(|c| scores.get(&c.tenure))
        .collect();
    let n_active = active.len();
    let mean = |f: &dyn Fn(&SbgScore) -> f64| {
        if n_active == 0 {
            f64::NAN
        } else {
            active.iter().map(|x| f(x)).sum::<f64>() / n_active as f64
        }
    };
    let mean_renew = mean(&|x| x.p_renew.value);
    let expected_active: f64 = active.iter().map(|x| x.p_active.value).sum();
    let mean_derl = d.map(|_| mean(&|x| x.derl.map_or(f64::NAN, |e| e.value)));
    let method = interval_method(a, cov);
    let unit = period.name();
    let per_period = match &period {
        Period::Calendar(u) => format!("per {}", &u.name()[..u.name().len() - 1]),
        Period::Named(_) => "per period".to_string(),
    };
    match a.format {
        Format::Json => {
            let json_est = |e: &Estimate| serde_json::json!({ "value": e.value, "lower": finite(e.lower), "upper": finite(e.upper) });
            let curve_json: Vec<serde_json::Value> = curve
                .iter()
                .map(|(t, s, r)| {
                    serde_json::json!({
                        "t": t,
                        "survival": json_est(s),
                        "retention": r.as_ref().map(json_est),
                    })
                })
                .collect();
            let v = serde_json::json!({
                "model": mf.model,
                "output": a.output.display().to_string(),
                "customers": customers.len(),
                "active": n_active,
                "churned": customers.len() - n_active,
                "time_unit": unit,
                "horizon": { "amount": horizon, "unit": unit, "in_model_unit": horizon,
                             "as_given": a.horizon },
                "discount_rate": d.map(|d| serde_json::json!({
                    "as_given": a.discount_rate, "per_period": d })),
                "mean_p_renew": finite(mean_renew),
                "expected_active_at_horizon": expected_active,
                "mean_derl": mean_derl.and_then(finite),
                "survival_curve": curve_json,
                "intervals": method,
                "elapsed_ms": { "read": read_ms, "score": score_ms, "write": write_ms },
            });
            println!("{v}");
        }
        Format::Table => {
            let mut t = Table::new(&["prediction", "value"]);
            t.row(vec!["model".into(), mf.model.clone()]);
            t.row(vec![
                "customers".into(),
                format!(
                    "{} ({n_active} active, {} churned: not scored)",
                    customers.len(),
                    customers.len() - n_active
                ),
            ]);
            t.row(vec!["period".into(), unit.clone()]);
            t.row(vec!["horizon".into(), format!("{horizon} {unit}")]);
            if let (Some(d), Some(given)) = (d, &a.discount_rate) {
                t.row(vec![
                    "discount rate".into(),
                    format!("{given} (= {} {per_period})", short(d)),
                ]);
            }
            t.row(vec![
                "mean P(renew next period), active customers".into(),
                num(mean_renew, 4),
            ]);
            t.row(vec![
                format!("expected still active after {horizon} {unit}"),
                num(expected_active, 6),
            ]);
            if let Some(m) = mean_derl {
                t.row(vec![format!("mean DERL ({unit})"), num(m, 6)]);
            }
            t.row(vec!["intervals".into(), method]);
            t.row(vec!["output".into(), a.output.display().to_string()]);
            print!("{}", t.render());

            let tcol = format!("t ({unit})");
            let mut c = Table::new(&[tcol.as_str(), "S(t)", "interval", "r(t)", "interval"]);
            for (t, s, r) in &curve {
                c.row(vec![
                    t.to_string(),
                    num(s.value, 6),
                    interval_text(s, 4),
                    r.as_ref().map_or("-".into(), |r| num(r.value, 6)),
                    r.as_ref().map_or("-".into(), |r| interval_text(r, 4)),
                ]);
            }
            println!("\nA new customer: survival S(t) and retention rate r(t) = S(t)/S(t−1):");
            print!("{}", c.render());
        }
    }
    Ok(())
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(e: CliError) -> String {
        e.to_string()
    }

    #[test]
    fn bgbb_horizon_is_a_bare_whole_number() {
        assert_eq!(bgbb_horizon("5").ok(), Some(5));
        assert_eq!(bgbb_horizon(" 12 opportunities").ok(), Some(12));
        assert!(msg(bgbb_horizon("2.5").unwrap_err()).contains("not a whole number"));
        assert!(msg(bgbb_horizon("52w").unwrap_err()).contains("no calendar unit"));
        assert!(msg(bgbb_horizon("0").unwrap_err()).contains("at least 1"));
        assert!(bgbb_horizon("-3").is_err());
    }

    #[test]
    fn sbg_horizon_converts_whole_calendar_periods() {
        let years = Period::Calendar(TimeUnit::Years);
        assert_eq!(sbg_horizon("3", &years).ok(), Some(3));
        assert_eq!(sbg_horizon("3y", &years).ok(), Some(3));
        assert_eq!(sbg_horizon("36mo", &years).ok(), Some(3));
        assert_eq!(sbg_horizon("4 periods", &years).ok(), Some(4));
        assert!(msg(sbg_horizon("18mo", &years).unwrap_err()).contains("is 1.5 years"));
        assert!(sbg_horizon("2.5", &years).is_err());
        let named = Period::Named("quarters".into());
        assert_eq!(sbg_horizon("2 quarters", &named).ok(), Some(2));
        assert_eq!(sbg_horizon("1quarter", &named).ok(), Some(1));
        assert!(msg(sbg_horizon("52w", &named).unwrap_err()).contains("no calendar length"));
    }

    #[test]
    fn sbg_discount_rate_per_model_period() {
        let years = Period::Calendar(TimeUnit::Years);
        assert_eq!(sbg_discount("10%/y", &years).ok(), Some(0.1));
        assert_eq!(sbg_discount("0.1/period", &years).ok(), Some(0.1));
        let monthly = sbg_discount("1%/mo", &years).unwrap();
        assert!((monthly - (1.01f64.powi(12) - 1.0)).abs() < 1e-12);
        let named = Period::Named("periods".into());
        assert_eq!(sbg_discount("10%/period", &named).ok(), Some(0.1));
        assert!(msg(sbg_discount("10%/y", &named).unwrap_err()).contains("no calendar length"));
        assert!(sbg_discount("0%/y", &years).is_err());
        assert!(sbg_discount("10%", &years).is_err());
    }
}
