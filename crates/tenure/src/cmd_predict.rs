//! `tenure predict`: score every customer with a fitted model — P(alive), expected purchases in
//! a horizon with its unit, and with a spend model the expected spend and discounted CLV — each
//! with a delta-method interval.

use crate::cmd_fit::ModelKind;
use crate::error::CliError;
use crate::inputs::{self, data_error};
use crate::model_file::ModelFile;
use crate::table::{num, Table};
use crate::{write_atomically, Format};
use clap::Args;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use tenure_core::{Duration, Rate, TimeUnit};
use tenure_engine::SummaryRow;
use tenure_models::bgnbd::BgNbdParams;
use tenure_models::clv::{clv_interval, ClvConfig, Spend};
use tenure_models::data::validate_rfm;
use tenure_models::fit::{delta_method, normal_quantile_two_sided};
use tenure_models::gammagamma::GammaGammaParams;
use tenure_models::mbgnbd::MbgNbdParams;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::{Estimate, RfmModel, RfmRow, Scale};

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model file written by `tenure fit --output` (bgnbd, paretonbd or mbgnbd).
    #[arg(long)]
    pub model: PathBuf,
    /// Customers to score: a summary file (customer_id, frequency, recency, T[, monetary_value])
    /// in the model's time unit.
    #[arg(long)]
    pub input: PathBuf,
    /// How far ahead, with its unit: 52w, 12mo, 365d, 1y.
    #[arg(long)]
    pub horizon: String,
    /// A Gamma-Gamma model file: adds expected_spend and clv (needs monetary_value in the input).
    #[arg(long)]
    pub spend: Option<PathBuf>,
    /// Share of spend that is profit, for CLV.
    #[arg(long, default_value_t = 1.0)]
    pub margin: f64,
    /// Discount rate per stated period, for CLV: 1%/mo, 10%/y, 0.01/4.345w. The horizon must be
    /// a whole number of these periods. Default: no discounting.
    #[arg(long)]
    pub discount_rate: Option<String>,
    /// Where to write one row per customer (CSV, written atomically).
    #[arg(long)]
    pub output: PathBuf,
    /// Confidence level of the per-customer intervals.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Skip the per-customer intervals (faster).
    #[arg(long)]
    pub no_intervals: bool,
    /// How to report what was done.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// One customer's scores.
struct Scores {
    p_alive: Estimate,
    expected: Estimate,
    spend: Option<Estimate>,
    clv: Option<Estimate>,
}

fn point(v: f64) -> Estimate {
    Estimate {
        value: v,
        se: f64::NAN,
        lower: f64::NAN,
        upper: f64::NAN,
    }
}

/// The CLV valuation in the model's unit: K periods of the discount rate's period.
fn clv_config(
    horizon: &Duration,
    rate: Option<&Rate>,
    unit: TimeUnit,
    margin: f64,
) -> Result<ClvConfig, CliError> {
    let h = horizon.in_unit(unit);
    let cfg = match rate {
        None => ClvConfig::new(1, h, 0.0),
        Some(r) if r.value() == 0.0 => ClvConfig::new(1, h, 0.0),
        Some(r) => {
            let len = r.per().in_unit(unit);
            let k = h / len;
            let whole = k.round();
            if whole < 1.0 || (k - whole).abs() > 1e-6 * whole.max(1.0) {
                return Err(CliError::input(format!(
                    "--horizon {horizon} is {k:.4} discount periods of {}: make it a whole number of periods (or state the rate per a period that divides it)",
                    r.per()
                )));
            }
            ClvConfig::new(whole as u32, len, r.value())
        }
    };
    cfg.and_then(|c| c.with_margin(margin))
        .map_err(|e| CliError::input(format!("CLV settings: {e}")))
}

pub fn run(a: PredictArgs) -> Result<(), CliError> {
    let t_read = Instant::now();
    let mf = ModelFile::read(&a.model)?;
    let kind = ModelKind::from_name(&mf.model).ok_or_else(|| {
        CliError::input(format!(
            "{}: unknown model `{}`",
            a.model.display(),
            mf.model
        ))
    })?;
    let unit: TimeUnit = mf
        .time_unit
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(|_| {
            CliError::input(format!(
                "{}: `tenure predict` scores recency-frequency models (bgnbd, paretonbd, mbgnbd) fitted with a time unit; this is `{}`",
                a.model.display(),
                mf.model
            ))
        })?;
    let horizon: Duration = a
        .horizon
        .parse()
        .map_err(|e| CliError::input(format!("--horizon: {e}")))?;
    let rate: Option<Rate> = a
        .discount_rate
        .as_deref()
        .map(|s| {
            s.parse()
                .map_err(|e| CliError::input(format!("--discount-rate: {e}")))
        })
        .transpose()?;
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(CliError::input(format!(
            "--level {}: must be strictly between 0 and 1",
            a.level
        )));
    }
    let spend_model = match &a.spend {
        Some(p) => {
            let sf = ModelFile::read(p)?;
            if sf.model != "gammagamma" {
                return Err(CliError::input(format!(
                    "{}: --spend needs a gammagamma model, this is `{}`",
                    p.display(),
                    sf.model
                )));
            }
            let th = sf.params_in_order(p, &["p", "q", "gamma"])?;
            Some((
                GammaGammaParams {
                    p: th[0],
                    q: th[1],
                    gamma: th[2],
                },
                sf.covariance.clone(),
            ))
        }
        None => None,
    };
    let cfg = clv_config(&horizon, rate.as_ref(), unit, a.margin)?;
    let rows = inputs::summaries(&a.input)?;
    let read_ms = t_read.elapsed().as_secs_f64() * 1000.0;

    let t_score = Instant::now();
    let ctx = Ctx {
        args: &a,
        rows: &rows,
        cfg: &cfg,
        h: horizon.in_unit(unit),
        spend: spend_model.as_ref().map(|(p, c)| (p, c.as_deref())),
        cov: mf.covariance.as_deref(),
        z: normal_quantile_two_sided(a.level),
    };
    let scores = match kind {
        ModelKind::Bgnbd => {
            let th = mf.params_in_order(&a.model, &["r", "alpha", "a", "b"])?;
            score_all(
                &BgNbdParams {
                    r: th[0],
                    alpha: th[1],
                    a: th[2],
                    b: th[3],
                },
                &ctx,
            )?
        }
        ModelKind::Mbgnbd => {
            let th = mf.params_in_order(&a.model, &["r", "alpha", "a", "b"])?;
            score_all(
                &MbgNbdParams {
                    r: th[0],
                    alpha: th[1],
                    a: th[2],
                    b: th[3],
                },
                &ctx,
            )?
        }
        ModelKind::Paretonbd => {
            let th = mf.params_in_order(&a.model, &["r", "alpha", "s", "beta"])?;
            score_all(
                &ParetoNbdParams {
                    r: th[0],
                    alpha: th[1],
                    s: th[2],
                    beta: th[3],
                },
                &ctx,
            )?
        }
        other => {
            return Err(CliError::input(format!(
                "{}: `tenure predict` scores bgnbd, paretonbd and mbgnbd models; `{}` is not one",
                a.model.display(),
                other.name()
            )))
        }
    };
    let score_ms = t_score.elapsed().as_secs_f64() * 1000.0;

    let t_write = Instant::now();
    let csv = render_csv(&rows, &scores, !a.no_intervals);
    write_atomically(&a.output, csv.as_bytes())?;
    let write_ms = t_write.elapsed().as_secs_f64() * 1000.0;

    report(
        &a,
        &mf.model,
        unit,
        &horizon,
        rate.as_ref(),
        &rows,
        &scores,
        [read_ms, score_ms, write_ms],
    );
    Ok(())
}

struct Ctx<'a> {
    args: &'a PredictArgs,
    rows: &'a [SummaryRow],
    cfg: &'a ClvConfig,
    h: f64,
    spend: Option<(&'a GammaGammaParams, Option<&'a [Vec<f64>]>)>,
    cov: Option<&'a [Vec<f64>]>,
    z: f64,
}

/// Score every row; purchase predictions are computed once per distinct (x, t_x, T).
fn score_all<M: RfmModel>(model: &M, c: &Ctx<'_>) -> Result<Vec<Scores>, CliError> {
    let path = c.args.input.as_path();
    let intervals = !c.args.no_intervals && c.cov.is_some();
    let theta = model.params();
    let mut cache: HashMap<(u64, u64, u64), (Estimate, Estimate)> = HashMap::new();
    let mut out = Vec::with_capacity(c.rows.len());
    for (i, r) in c.rows.iter().enumerate() {
        let row = RfmRow {
            x: r.x,
            t_x: r.t_x,
            t: r.t,
        };
        validate_rfm(i, &row).map_err(|e| data_error(path, c.rows, e))?;
        let key = (r.x.to_bits(), r.t_x.to_bits(), r.t.to_bits());
        let (pa, ex) = *cache
            .entry(key)
            .or_insert_with(|| match (intervals, c.cov) {
                (true, Some(cov)) => (
                    delta_method(
                        |t| model.with_params(t).p_alive(row.x, row.t_x, row.t),
                        &theta,
                        cov,
                        Scale::Logit,
                        c.z,
                    ),
                    delta_method(
                        |t| {
                            model
                                .with_params(t)
                                .conditional_expected_purchases(c.h, row.x, row.t_x, row.t)
                        },
                        &theta,
                        cov,
                        Scale::Log,
                        c.z,
                    ),
                ),
                _ => (
                    point(model.p_alive(row.x, row.t_x, row.t)),
                    point(model.conditional_expected_purchases(c.h, row.x, row.t_x, row.t)),
                ),
            });
        let (spend, clv) = match c.spend {
            None => (None, None),
            Some((gg, gcov)) => {
                let m = r.monetary.ok_or_else(|| {
                    CliError::at(
                        path,
                        r.line as usize,
                        None,
                        "--spend needs a monetary_value (or zbar) for every customer",
                    )
                })?;
                let spend = spend_estimate(gg, gcov.filter(|_| intervals), r.x, m, c.z)
                    .map_err(|e| CliError::at(path, r.line as usize, None, e))?;
                let clv = match (intervals, c.cov) {
                    (true, Some(cov)) => clv_interval(
                        model,
                        &row,
                        Spend {
                            mean: spend.value,
                            se: if spend.se.is_finite() { spend.se } else { 0.0 },
                        },
                        c.cfg,
                        cov,
                        c.args.level,
                    )
                    .map_err(|e| CliError::at(path, r.line as usize, None, e))?,
                    _ => point(
                        tenure_models::clv::customer_lifetime_value(
                            model,
                            &row,
                            spend.value,
                            c.cfg,
                        )
                        .map_err(|e| CliError::at(path, r.line as usize, None, e))?,
                    ),
                };
                (Some(spend), Some(clv))
            }
        };
        out.push(Scores {
            p_alive: pa,
            expected: ex,
            spend,
            clv,
        });
    }
    Ok(out)
}

fn spend_estimate(
    gg: &GammaGammaParams,
    cov: Option<&[Vec<f64>]>,
    x: f64,
    m: f64,
    z: f64,
) -> Result<Estimate, String> {
    let value = gg
        .conditional_expected_spend(x, m)
        .map_err(|e| e.to_string())?;
    Ok(match cov {
        Some(cov) => delta_method(
            |t| {
                GammaGammaParams {
                    p: t[0],
                    q: t[1],
                    gamma: t[2],
                }
                .conditional_expected_spend(x, m)
                .unwrap_or(f64::NAN)
            },
            &[gg.p, gg.q, gg.gamma],
            cov,
            Scale::Log,
            z,
        ),
        None => point(value),
    })
}

fn fmt(v: f64) -> String {
    if v.is_finite() {
        // Shortest representation that reads back to the same f64.
        format!("{v}")
    } else {
        String::new()
    }
}

fn render_csv(rows: &[SummaryRow], scores: &[Scores], intervals: bool) -> String {
    let mut s = String::with_capacity(rows.len() * 96);
    let has_spend = scores.first().is_some_and(|x| x.spend.is_some());
    s.push_str("customer_id,p_alive");
    if intervals {
        s.push_str(",p_alive_lower,p_alive_upper");
    }
    s.push_str(",expected_purchases");
    if intervals {
        s.push_str(",expected_purchases_lower,expected_purchases_upper");
    }
    if has_spend {
        s.push_str(",expected_spend");
        if intervals {
            s.push_str(",expected_spend_lower,expected_spend_upper");
        }
        s.push_str(",clv");
        if intervals {
            s.push_str(",clv_lower,clv_upper");
        }
    }
    s.push('\n');
    let est = |s: &mut String, e: &Estimate| {
        let _ = write!(s, ",{}", fmt(e.value));
        if intervals {
            let _ = write!(s, ",{},{}", fmt(e.lower), fmt(e.upper));
        }
    };
    for (r, sc) in rows.iter().zip(scores) {
        s.push_str(&csv_field(&r.id));
        est(&mut s, &sc.p_alive);
        est(&mut s, &sc.expected);
        if let (Some(sp), Some(clv)) = (&sc.spend, &sc.clv) {
            est(&mut s, sp);
            est(&mut s, clv);
        }
        s.push('\n');
    }
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    a: &PredictArgs,
    model: &str,
    unit: TimeUnit,
    horizon: &Duration,
    rate: Option<&Rate>,
    rows: &[SummaryRow],
    scores: &[Scores],
    ms: [f64; 3],
) {
    let n = scores.len() as f64;
    let mean_alive = scores.iter().map(|s| s.p_alive.value).sum::<f64>() / n;
    let total_purchases: f64 = scores.iter().map(|s| s.expected.value).sum();
    let total_clv: Option<f64> = scores
        .first()
        .and_then(|s| s.clv)
        .map(|_| scores.iter().filter_map(|s| s.clv.map(|c| c.value)).sum());
    let method = if a.no_intervals {
        "none".to_string()
    } else {
        format!(
            "delta method (observed information), {}%",
            num(a.level * 100.0, 3)
        )
    };
    let discount = rate.map(|r| r.to_string()).unwrap_or_else(|| "none".into());
    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "model": model,
                "output": a.output.display().to_string(),
                "customers": rows.len(),
                "time_unit": unit.name(),
                "horizon": { "amount": horizon.amount(), "unit": horizon.unit().name(),
                             "in_model_unit": horizon.in_unit(unit) },
                "discount_rate": rate.map(|r| serde_json::json!({
                    "value": r.value(), "per": { "amount": r.per().amount(), "unit": r.per().unit().name() } })),
                "margin": a.margin,
                "mean_p_alive": mean_alive,
                "total_expected_purchases": total_purchases,
                "total_clv": total_clv,
                "intervals": method,
                "elapsed_ms": { "read": ms[0], "score": ms[1], "write": ms[2] },
            });
            println!("{v}");
        }
        Format::Table => {
            let mut t = Table::new(&["prediction", "value"]);
            t.row(vec!["model".into(), model.into()]);
            t.row(vec!["customers".into(), rows.len().to_string()]);
            t.row(vec![
                "horizon".into(),
                format!(
                    "{horizon} (= {} {})",
                    num(horizon.in_unit(unit), 6),
                    unit.name()
                ),
            ]);
            t.row(vec!["mean P(alive)".into(), num(mean_alive, 4)]);
            t.row(vec![
                format!("expected purchases in the next {horizon}"),
                num(total_purchases, 6),
            ]);
            if let Some(c) = total_clv {
                t.row(vec!["discount rate".into(), discount]);
                t.row(vec!["margin".into(), num(a.margin, 4)]);
                t.row(vec!["total CLV (input currency)".into(), format!("{c:.2}")]);
            }
            t.row(vec!["intervals".into(), method]);
            t.row(vec!["output".into(), a.output.display().to_string()]);
            print!("{}", t.render());
            print_top(rows, scores, horizon);
        }
    }
}

/// The ten customers with the highest CLV (or expected purchases without a spend model).
fn print_top(rows: &[SummaryRow], scores: &[Scores], horizon: &Duration) {
    let key = |s: &Scores| s.clv.map(|c| c.value).unwrap_or(s.expected.value);
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&i, &j| key(&scores[j]).total_cmp(&key(&scores[i])).then(i.cmp(&j)));
    let has_clv = scores.first().is_some_and(|s| s.clv.is_some());
    let exp = format!("E[purchases, {horizon}]");
    let mut head = vec!["customer", "P(alive)", exp.as_str()];
    if has_clv {
        head.extend(["E[spend]", "CLV", "CLV 95% interval"]);
    }
    let mut t = Table::new(&head);
    for &i in idx.iter().take(10) {
        let s = &scores[i];
        let mut cells = vec![
            rows[i].id.clone(),
            num(s.p_alive.value, 3),
            num(s.expected.value, 4),
        ];
        if let (Some(sp), Some(c)) = (s.spend, s.clv) {
            cells.push(format!("{:.2}", sp.value));
            cells.push(format!("{:.2}", c.value));
            cells.push(if c.lower.is_finite() {
                format!("{:.2} – {:.2}", c.lower, c.upper)
            } else {
                "-".into()
            });
        }
        t.row(cells);
    }
    println!(
        "\nTop customers by {}:",
        if has_clv { "CLV" } else { "expected purchases" }
    );
    print!("{}", t.render());
}
