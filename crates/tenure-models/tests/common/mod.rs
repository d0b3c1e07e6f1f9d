//! Reference-data helpers shared by the model tests: where the data is, and small CSV reading.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use tenure_models::RfmRow;

/// A reference file: `$TENURE_REFDATA/name` (CI: ../shared/refdata), else the in-repo copy.
pub fn refdata(name: &str) -> PathBuf {
    let dir = std::env::var("TENURE_REFDATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/refdata").into());
    PathBuf::from(dir).join(name)
}

/// Header and rows of a reference CSV (no quoting); lines starting with '#' are comments.
pub fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let path = refdata(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// Index of a column by exact name.
pub fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

pub fn num(s: &str) -> f64 {
    s.trim().parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// (x, t_x, T) of the 2,357 CDNOW customers (cdnow_customers_summary.csv), in file order.
pub fn cdnow() -> Vec<RfmRow> {
    let (h, rows) = read_csv("cdnow_customers_summary.csv");
    let (fx, ftx, ft) = (
        column(&h, "frequency"),
        column(&h, "recency"),
        column(&h, "T"),
    );
    rows.iter()
        .map(|r| RfmRow {
            x: num(&r[fx]),
            t_x: num(&r[ftx]),
            t: num(&r[ft]),
        })
        .collect()
}

/// `"key": number` inside the object reached by following `path` (e.g. `["fits", "bgbb",
/// "mle_params"]`) in a JSON text — enough for the reference files, no JSON parser needed.
pub fn json_number(json: &str, path: &[&str], key: &str) -> f64 {
    let mut rest = json;
    for p in path {
        let at = rest.find(&format!("\"{p}\"")).unwrap();
        rest = &rest[at..];
    }
    let at = rest.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
    let end = rest[at..].find([',', '}', '\n']).unwrap();
    rest[at..at + end].trim().parse().unwrap()
}

/// A binary covariate `premium` (share 0.4) and a standard normal `size`, seeded: the design
/// of the covariate tests.
pub fn covariate_design(n: usize, seed: u64) -> tenure_models::covariates::Design {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = StdRng::seed_from_u64(seed);
    let mut values = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let z1 = if rng.random::<f64>() < 0.4 { 1.0 } else { 0.0 };
        let z2: f64 = StandardNormal.sample(&mut rng);
        values.extend([z1, z2]);
    }
    tenure_models::covariates::Design::raw(&["premium", "size"], values)
}

/// Customer i of design `d` simulated with her own parameters under `params` (T = `ages[i]`,
/// a holdout of `holdout` after it), seeded.
pub fn simulate_covariate_customers(
    params: &tenure_models::covariates::CovariateParams,
    d: &tenure_models::covariates::Design,
    ages: &[f64],
    holdout: f64,
    seed: u64,
) -> Vec<tenure_models::simulate::SimulatedCustomer> {
    use tenure_models::covariates::CovariateModel;
    use tenure_models::simulate::{
        simulate_bgnbd_each, simulate_ggomnbd_each, simulate_paretonbd_each,
    };
    let each: Vec<Vec<f64>> = (0..d.rows).map(|i| params.individual(d.row(i))).collect();
    let four = || -> Vec<[f64; 4]> { each.iter().map(|p| [p[0], p[1], p[2], p[3]]).collect() };
    match params.model {
        CovariateModel::BgNbd => simulate_bgnbd_each(&four(), ages, holdout, seed),
        CovariateModel::ParetoNbd => simulate_paretonbd_each(&four(), ages, holdout, seed),
        CovariateModel::GGomNbd => {
            let five: Vec<[f64; 5]> = each
                .iter()
                .map(|p| [p[0], p[1], p[2], p[3], p[4]])
                .collect();
            simulate_ggomnbd_each(&five, ages, holdout, seed)
        }
    }
    .unwrap()
}
