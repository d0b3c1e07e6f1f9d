//! Fits and per-customer scoring at 10k, 100k and 1M customers.
//!
//! Data: the 2,357 CDNOW customers (`cdnow_customers_summary_with_transactions.csv` in the
//! reference data, found through `TENURE_REFDATA` as in the tests) resampled with replacement by
//! a seeded LCG, so the data have CDNOW's shape (at most 2,357 distinct rows whatever the size).
//! Fit timings include building the grouped data (`Rfm::new`, `SpendData::repeat_buyers`) from
//! the ungrouped rows. Scoring is P(alive) and the conditional expected purchases in the next
//! 52 weeks of every customer, one by one (no grouping).
//!
//! The worst case for the grouped fits is data where every row is distinct: 100k customers
//! simulated from BG/NBD (CDNOW's parameters) observed for T ~ Uniform[26, 78] weeks in
//! continuous time, fitted with BG/NBD and Pareto/NBD.
//!
//! Run: `cargo bench -p tenure-models` (about 3 minutes on 2 cores).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use tenure_models::bgnbd::{fit_bgnbd, BgNbdParams};
use tenure_models::bootstrap::{ages_of, replicate, BootstrapOptions};
use tenure_models::data::{group_rows_of, validate_rfm};
use tenure_models::gammagamma::{fit_gammagamma, SpendData, SpendRow};
use tenure_models::group::gather;
use tenure_models::paretonbd::{fit_paretonbd, ParetoNbdParams};
use tenure_models::simulate::{simulate_bgnbd, uniform_ages};
use tenure_models::{FitOptions, Rfm, RfmModel, RfmRow};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// BG/NBD maximum-likelihood estimate on CDNOW (testdata/refdata/README.md).
const BGNBD: BgNbdParams = BgNbdParams {
    r: 0.2425929,
    alpha: 4.413531,
    a: 0.7928862,
    b: 2.425754,
};

/// Pareto/NBD maximum-likelihood estimate on CDNOW (testdata/refdata/README.md).
const PARETONBD: ParetoNbdParams = ParetoNbdParams {
    r: 0.5532755,
    alpha: 10.57761,
    s: 0.6062137,
    beta: 11.66792,
};

fn refdata(file: &str) -> PathBuf {
    let dir = std::env::var("TENURE_REFDATA").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/refdata").to_string()
    });
    PathBuf::from(dir).join(file)
}

/// One CDNOW customer: (x, t_x, T) in weeks and the mean repeat spend zbar (0 when x = 0).
#[derive(Clone, Copy)]
struct Customer {
    row: RfmRow,
    zbar: f64,
}

/// The CDNOW summary (columns ID, x, t_x, T, zbar).
fn cdnow() -> Vec<Customer> {
    let path = refdata("cdnow_customers_summary_with_transactions.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    assert_eq!(
        header,
        ["ID", "x", "t_x", "T", "zbar"],
        "{}",
        path.display()
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<f64> = l
                .split(',')
                .map(|v| v.trim().parse().expect("a number"))
                .collect();
            Customer {
                row: RfmRow {
                    x: f[1],
                    t_x: f[2],
                    t: f[3],
                },
                zbar: f[4],
            }
        })
        .collect()
}

/// `n` customers drawn with replacement from `base` by a 64-bit LCG (Knuth's MMIX constants).
fn resample(base: &[Customer], n: usize, seed: u64) -> Vec<Customer> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            base[((state >> 33) % base.len() as u64) as usize]
        })
        .collect()
}

fn label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 => format!("{}M", n / 1_000_000),
        n => format!("{}k", n / 1_000),
    }
}

/// Few samples for big inputs: `cargo bench` must finish in minutes on 2 cores.
fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sampling_mode(SamplingMode::Flat);
}

fn fits(c: &mut Criterion) {
    let base = cdnow();
    let opts = FitOptions::default();
    let mut g = c.benchmark_group("fit_cdnow");
    configure(&mut g);
    for n in SIZES {
        let customers = resample(&base, n, 42);
        let rows: Vec<RfmRow> = customers.iter().map(|c| c.row).collect();
        let spends: Vec<SpendRow> = customers
            .iter()
            .map(|c| SpendRow {
                x: c.row.x,
                mean_spend: c.zbar,
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        // Grouping alone, the part of every fit below that grows with the customers.
        g.bench_with_input(
            BenchmarkId::new("group_only", label(n)),
            &rows,
            |b, rows| b.iter(|| Rfm::new(rows).expect("CDNOW rows are valid")),
        );
        g.bench_with_input(BenchmarkId::new("bgnbd", label(n)), &rows, |b, rows| {
            b.iter(|| {
                let data = Rfm::new(rows).expect("CDNOW rows are valid");
                fit_bgnbd(&data, &opts).expect("BG/NBD fits CDNOW")
            })
        });
        g.bench_with_input(BenchmarkId::new("paretonbd", label(n)), &rows, |b, rows| {
            b.iter(|| {
                let data = Rfm::new(rows).expect("CDNOW rows are valid");
                fit_paretonbd(&data, &opts).expect("Pareto/NBD fits CDNOW")
            })
        });
        g.bench_with_input(
            BenchmarkId::new("gammagamma", label(n)),
            &spends,
            |b, spends| {
                b.iter(|| {
                    let data = SpendData::repeat_buyers(spends).expect("CDNOW spends are valid");
                    fit_gammagamma(&data, &opts).expect("Gamma-Gamma fits CDNOW")
                })
            },
        );
    }
    g.finish();
}

/// Σ over customers of P(alive) + E[X(T, T + 52) | x, t_x, T], one customer at a time.
fn score<M: RfmModel>(m: &M, rows: &[RfmRow]) -> f64 {
    rows.iter()
        .map(|r| {
            m.p_alive(r.x, r.t_x, r.t) + m.conditional_expected_purchases(52.0, r.x, r.t_x, r.t)
        })
        .sum()
}

fn scoring(c: &mut Criterion) {
    let base = cdnow();
    let mut g = c.benchmark_group("score_cdnow");
    configure(&mut g);
    for n in SIZES {
        let rows: Vec<RfmRow> = resample(&base, n, 43).iter().map(|c| c.row).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("bgnbd", label(n)), &rows, |b, rows| {
            b.iter(|| score(&BGNBD, black_box(rows)))
        });
        g.bench_with_input(BenchmarkId::new("paretonbd", label(n)), &rows, |b, rows| {
            b.iter(|| score(&PARETONBD, black_box(rows)))
        });
    }
    g.finish();
}

/// What `tenure predict --no-intervals` times as its score step: group the customers by
/// (x, t_x, T), validate each distinct row, score the distinct rows with
/// [`RfmModel::score_rows`] and give every customer its row's P(alive) and expectation.
fn score_grouped<M: RfmModel>(m: &M, rows: &[RfmRow]) -> (Vec<f64>, Vec<f64>) {
    let g = group_rows_of(rows, |r| *r);
    for (j, row) in g.distinct.iter().enumerate() {
        validate_rfm(g.first[j], row).expect("CDNOW rows are valid");
    }
    let (p, e): (Vec<f64>, Vec<f64>) = m.score_rows(52.0, &g.distinct).into_iter().unzip();
    (gather(&p, &g.index), gather(&e, &g.index))
}

fn scoring_grouped(c: &mut Criterion) {
    let base = cdnow();
    let mut g = c.benchmark_group("score_grouped_cdnow");
    configure(&mut g);
    for n in SIZES {
        let rows: Vec<RfmRow> = resample(&base, n, 43).iter().map(|c| c.row).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("bgnbd", label(n)), &rows, |b, rows| {
            b.iter(|| score_grouped(&BGNBD, black_box(rows)))
        });
        g.bench_with_input(BenchmarkId::new("paretonbd", label(n)), &rows, |b, rows| {
            b.iter(|| score_grouped(&PARETONBD, black_box(rows)))
        });
    }
    g.finish();
}

/// Worst case for the grouped likelihoods: every row distinct.
fn simulated(c: &mut Criterion) {
    const N: usize = 100_000;
    let ages = uniform_ages(N, 26.0, 78.0, 7).expect("a valid age range");
    let rows =
        simulate_bgnbd(BGNBD.r, BGNBD.alpha, BGNBD.a, BGNBD.b, &ages, 7).expect("valid parameters");
    let distinct = Rfm::new(&rows)
        .expect("simulated rows are valid")
        .distinct();
    eprintln!("simulated BG/NBD population: {N} customers, {distinct} distinct rows");
    let opts = FitOptions::default();
    let mut g = c.benchmark_group("fit_simulated_distinct");
    configure(&mut g);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_with_input(BenchmarkId::new("bgnbd", label(N)), &rows, |b, rows| {
        b.iter(|| {
            let data = Rfm::new(rows).expect("simulated rows are valid");
            fit_bgnbd(&data, &opts).expect("BG/NBD fits its own simulation")
        })
    });
    g.bench_with_input(BenchmarkId::new("paretonbd", label(N)), &rows, |b, rows| {
        b.iter(|| {
            let data = Rfm::new(rows).expect("simulated rows are valid");
            fit_paretonbd(&data, &opts).expect("Pareto/NBD fits a BG/NBD population")
        })
    });
    g.finish();
}

/// Parametric bootstrap (issue 9): 200 replications of a BG/NBD fit at 100k customers (the
/// CDNOW summary resampled), recencies on a one-day grid, on every core.
fn bootstrap(c: &mut Criterion) {
    const N: usize = 100_000;
    let rows: Vec<RfmRow> = resample(&cdnow(), N, 44).iter().map(|c| c.row).collect();
    let data = Rfm::new(&rows).expect("CDNOW rows are valid");
    let (fitted, _) = fit_bgnbd(&data, &FitOptions::default()).expect("BG/NBD fits CDNOW");
    let ages = ages_of(&data);
    let opts = BootstrapOptions {
        replications: 200,
        seed: 1,
        grid: Some(1.0 / 7.0),
        threads: 0,
    };
    let mut g = c.benchmark_group("bootstrap_200");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function(BenchmarkId::new("bgnbd", label(N)), |b| {
        b.iter(|| replicate(&fitted, black_box(&ages), &opts, &|_| {}))
    });
    g.finish();
}

/// Covariate fits (issue 9) at 100k customers simulated from each model with a binary and a
/// standard-normal covariate on both processes (8 parameters; every row distinct because of
/// the continuous covariate, so nothing groups). Each fit includes the plain fit it starts
/// from and the observed-information standard errors.
fn covariate_fits(c: &mut Criterion) {
    use tenure_models::covariates::{
        fit_covariates, CovariateModel, CovariateParams, CovariateSpec, Design,
    };
    use tenure_models::simulate::{simulate_bgnbd_each, simulate_paretonbd_each};
    const N: usize = 100_000;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut values = Vec::with_capacity(2 * N);
    for _ in 0..N {
        let premium = if uniform() < 0.4 { 1.0 } else { 0.0 };
        // Box–Muller.
        let (u1, u2) = (1.0 - uniform(), uniform());
        let size = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        values.extend([premium, size]);
    }
    let design = Design::raw(&["premium", "size"], values);
    let ages = uniform_ages(N, 26.0, 78.0, 3).expect("a valid age range");
    let spec = CovariateSpec::both(2);
    let opts = FitOptions::default();
    let mut g = c.benchmark_group("covariate_fit");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30))
        .sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(N as u64));
    for (model, truth) in [
        (
            CovariateModel::BgNbd,
            [0.24, 4.4, 0.79, 2.4, 0.6, -0.3, -0.5, 0.4],
        ),
        (
            CovariateModel::ParetoNbd,
            [0.55, 10.6, 0.61, 11.7, 0.6, -0.3, -0.5, 0.4],
        ),
    ] {
        let p = CovariateParams::from_theta(model, spec.clone(), &truth);
        let each: Vec<[f64; 4]> = (0..N)
            .map(|i| {
                let q = p.individual(design.row(i));
                [q[0], q[1], q[2], q[3]]
            })
            .collect();
        let sim = match model {
            CovariateModel::BgNbd => simulate_bgnbd_each(&each, &ages, 0.0, 3),
            _ => simulate_paretonbd_each(&each, &ages, 0.0, 3),
        }
        .expect("valid parameters");
        let rows: Vec<RfmRow> = sim.iter().map(|c| c.row).collect();
        g.bench_function(BenchmarkId::new(model.name(), label(N)), |b| {
            b.iter(|| fit_covariates(model, &rows, &design, &spec, &opts).expect("fits"))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    fits,
    scoring,
    scoring_grouped,
    simulated,
    bootstrap,
    covariate_fits
);
criterion_main!(benches);
