//! The timed step of `tenure predict --no-intervals` in a fresh process, without the rest of the
//! CLI: read a summary CSV (customer_id, frequency, recency, T, …), then time grouping, scoring
//! the distinct rows and spreading the scores back to every customer — once, cold, as the CLI
//! does. For studying first-call costs at small sizes (bench/run.sh measures the real program).
//!
//! usage: cargo run --release -p tenure-models --example score_cold -- FILE bgnbd|paretonbd [N]
//!
//! With N, also score the distinct rows N more times in the same process and print the median
//! of those warm calls (`warm_score_us`): the arithmetic alone, without first-touch costs.

use std::time::Instant;
use tenure_models::bgnbd::BgNbdParams;
use tenure_models::data::group_rows_of;
use tenure_models::paretonbd::ParetoNbdParams;
use tenure_models::{RfmModel, RfmRow};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn gather(values: &[f64], index: &[u32]) -> Vec<f64> {
    index.iter().map(|&g| values[g as usize]).collect()
}

fn timed<M: RfmModel>(m: &M, rows: &[RfmRow], warm: usize) -> (f64, usize, f64, f64) {
    let t0 = Instant::now();
    let g = group_rows_of(rows, |r| *r);
    let t1 = Instant::now();
    let s = m.score_rows(52.0, &g.distinct);
    let t2 = Instant::now();
    let (p, e): (Vec<f64>, Vec<f64>) = s.into_iter().unzip();
    let (pa, ex) = (gather(&p, &g.index), gather(&e, &g.index));
    let us = t0.elapsed().as_secs_f64() * 1e6;
    eprintln!(
        "group {:.1} µs, score {:.1} µs, gather {:.1} µs",
        (t1 - t0).as_secs_f64() * 1e6,
        (t2 - t1).as_secs_f64() * 1e6,
        t2.elapsed().as_secs_f64() * 1e6
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
    (us, g.distinct.len(), pa[0] + ex[ex.len() - 1], median)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(model)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: score_cold FILE bgnbd|paretonbd [N]");
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
                .take(3)
                .filter_map(|v| v.parse().ok())
                .collect();
            (f.len() == 3).then(|| RfmRow {
                x: f[0],
                t_x: f[1],
                t: f[2],
            })
        })
        .collect();
    let warm = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(0);
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
