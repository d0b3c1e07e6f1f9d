//! The timed step of `tenure predict --no-intervals` in a fresh process, without the rest of the
//! CLI: read a summary CSV (customer_id, frequency, recency, T, …), then time grouping, scoring
//! the distinct rows and spreading the scores back to every customer — once, cold, as the CLI
//! does. For studying first-call costs at small sizes (bench/run.sh measures the real program).
//!
//! usage: cargo run --release -p tenure-models --example score_cold -- FILE bgnbd|paretonbd

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

fn timed<M: RfmModel>(m: &M, rows: &[RfmRow]) -> (f64, usize, f64) {
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
    (us, g.distinct.len(), pa[0] + ex[ex.len() - 1])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(model)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: score_cold FILE bgnbd|paretonbd");
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
    let (us, distinct, check) = match model.as_str() {
        "bgnbd" => timed(
            &BgNbdParams {
                r: 0.2426,
                alpha: 4.4135,
                a: 0.7929,
                b: 2.4258,
            },
            &rows,
        ),
        _ => timed(
            &ParetoNbdParams {
                r: 0.5533,
                alpha: 10.5776,
                s: 0.6062,
                beta: 11.6679,
            },
            &rows,
        ),
    };
    println!(
        "{{\"rows\": {}, \"distinct\": {distinct}, \"score_us\": {us:.1}, \"check\": {check}}}",
        rows.len()
    );
}
