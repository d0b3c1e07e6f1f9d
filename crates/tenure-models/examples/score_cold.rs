//! The timed step of `tenure predict --no-intervals` in a fresh process, without the rest of the
//! CLI: read a summary CSV (customer_id, frequency, recency, T, …), then time grouping and
//! scoring the distinct rows — once, cold, as the CLI does — and, as a third step, copying the
//! scores out to every customer ([`tenure_models::group::gather`]; the CLI stopped doing that in
//! 07ba07d and keeps a customer → row index instead). Each step's minor page faults are printed
//! beside its time. For studying first-call costs at small sizes (bench/run.sh measures the
//! real program); `score_us` is the three steps together.
//!
//! usage: cargo run --release -p tenure-models --example score_cold -- FILE bgnbd|paretonbd|gammagamma [N]
//!
//! With N, also score the distinct rows N more times in the same process and print the median
//! of those warm calls (`warm_score_us`): the arithmetic alone, without first-touch costs.
//!
//! `gammagamma` instead times the Gamma-Gamma fit from the rows (frequency, monetary_value):
//! grouping and validation, then the fit with standard errors, cold and (with N) warm.

use std::time::Instant;
use tenure_models::bgnbd::BgNbdParams;
use tenure_models::data::group_rows_of;
use tenure_models::fit::FitOptions;
use tenure_models::gammagamma::{fit_gammagamma, SpendData, SpendRow};
use tenure_models::group::gather;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::{RfmModel, RfmRow};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Minor page faults of this process so far (field 10 of /proc/self/stat; 0 elsewhere).
fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.to_string();
            after.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}

fn timed<M: RfmModel>(m: &M, rows: &[RfmRow], warm: usize) -> (f64, usize, f64, f64) {
    let f0 = minor_faults();
    let t0 = Instant::now();
    let g = group_rows_of(rows, |r| *r);
    let t1 = Instant::now();
    let f1 = minor_faults();
    let t1b = Instant::now();
    let s = m.score_rows(52.0, &g.distinct);
    let t2 = Instant::now();
    let f2 = minor_faults();
    let t2b = Instant::now();
    let (p, e): (Vec<f64>, Vec<f64>) = s.into_iter().unzip();
    let (pa, ex) = (gather(&p, &g.index), gather(&e, &g.index));
    let t3 = Instant::now();
    let f3 = minor_faults();
    let us = ((t1 - t0) + (t2 - t1b) + (t3 - t2b)).as_secs_f64() * 1e6;
    eprintln!(
        "group {:.1} µs ({} faults), score {:.1} µs ({} faults), gather {:.1} µs ({} faults)",
        (t1 - t0).as_secs_f64() * 1e6,
        f1 - f0,
        (t2 - t1b).as_secs_f64() * 1e6,
        f2 - f1,
        (t3 - t2b).as_secs_f64() * 1e6,
        f3 - f2
    );
    let mut warm_us: Vec<f64> = (0..warm)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(m.score_rows(52.0, std::hint::black_box(&g.distinct)));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    warm_us.sort_by(f64::total_cmp);
    let median = warm_us.get(warm_us.len() / 2).copied().unwrap_or(f64::NAN);
    let mut group_us: Vec<f64> = (0..warm)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(group_rows_of(std::hint::black_box(rows), |r| *r));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    group_us.sort_by(f64::total_cmp);
    if let Some(g) = group_us.get(group_us.len() / 2) {
        eprintln!("warm grouping {g:.1} µs");
    }
    (us, g.distinct.len(), pa[0] + ex[ex.len() - 1], median)
}

/// The Gamma-Gamma fit, cold then `warm` more times: prints the split and the warm median.
/// A row as wide as the CLI's parsed summary row (id, x, t_x, T, monetary, weight, line).
struct Wide {
    _id: String,
    x: f64,
    _t_x: f64,
    _t: f64,
    monetary: Option<f64>,
    weight: f64,
    _line: u64,
}

fn gammagamma(spend: &[SpendRow], warm: usize) {
    let wide: Vec<Wide> = spend
        .iter()
        .enumerate()
        .map(|(i, r)| Wide {
            _id: (i + 1).to_string(),
            x: r.x,
            _t_x: 0.0,
            _t: 0.0,
            monetary: Some(r.mean_spend),
            weight: 1.0,
            _line: i as u64 + 2,
        })
        .collect();
    let fit_once = || {
        let t0 = Instant::now();
        let data = SpendData::repeat_buyers_from(&wide, |r| {
            (
                SpendRow {
                    x: r.x,
                    mean_spend: r.monetary.unwrap_or(f64::NAN),
                },
                r.weight,
            )
        })
        .expect("valid spend rows");
        let t1 = Instant::now();
        let (p, fit) = fit_gammagamma(&data, &FitOptions::default()).expect("a fit");
        (t1 - t0, t1.elapsed(), p, fit, data.distinct())
    };
    let (group, fit_t, p, fit, distinct) = fit_once();
    let mut warm_us: Vec<f64> = (0..warm)
        .map(|_| {
            let (g, f, ..) = fit_once();
            (g + f).as_secs_f64() * 1e6
        })
        .collect();
    warm_us.sort_by(f64::total_cmp);
    println!(
        "{{\"rows\": {}, \"distinct\": {distinct}, \"group_us\": {:.1}, \"fit_us\": {:.1}, \"iterations\": {}, \"p\": {}, \"warm_us\": {:.1}}}",
        spend.len(),
        group.as_secs_f64() * 1e6,
        fit_t.as_secs_f64() * 1e6,
        fit.iterations,
        p.p,
        warm_us.get(warm_us.len() / 2).copied().unwrap_or(f64::NAN)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(model)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: score_cold FILE bgnbd|paretonbd|gammagamma [N]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let rows: Vec<RfmRow> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<f64> = l
                .split(',')
                .skip(1)
                .take(4)
                .filter_map(|v| v.parse().ok())
                .collect();
            (f.len() >= 3).then(|| RfmRow {
                x: f[0],
                t_x: f[1],
                t: f[2],
            })
        })
        .collect();
    let warm = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(0);
    if model == "gammagamma" {
        let spend: Vec<SpendRow> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Some(SpendRow {
                    x: f.get(1)?.parse().ok()?,
                    mean_spend: f.get(4)?.parse().ok()?,
                })
            })
            .collect();
        return gammagamma(&spend, warm);
    }
    let (us, distinct, check, warm_us) = match model.as_str() {
        "bgnbd" => timed(
            &BgNbdParams {
                r: 0.2426,
                alpha: 4.4135,
                a: 0.7929,
                b: 2.4258,
            },
            &rows,
            warm,
        ),
        _ => timed(
            &ParetoNbdParams {
                r: 0.5533,
                alpha: 10.5776,
                s: 0.6062,
                beta: 11.6679,
            },
            &rows,
            warm,
        ),
    };
    println!(
        "{{\"rows\": {}, \"distinct\": {distinct}, \"score_us\": {us:.1}, \"check\": {check}, \"warm_score_us\": {warm_us:.1}}}",
        rows.len()
    );
}
