//! sBG on Fader & Hardie (2007) Table 1 against `sbg_reference.csv` (mpmath, 30 digits):
//! fits on years 0–7 of a cohort of 1000 (params 1e-6 relative, LL ±1e-6), S(0..12) and DERL
//! at d = 10% for n = 1..5 (1e-9 relative); and the records form giving the same fit.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use tenure_models::sbg::{
    fit_sbg_records, fit_sbg_survival, SbgParams, SbgRecords, SurvivalSeries,
};
use tenure_models::FitOptions;

fn refdata(file: &str) -> PathBuf {
    let dir = std::env::var("TENURE_REFDATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/refdata").into());
    PathBuf::from(dir).join(file)
}

/// Percent active by year (0..=7) for a segment column of sbg_survival.csv.
fn percentages(column: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(refdata("sbg_survival.csv")).unwrap();
    let mut lines = text.lines();
    let cols: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = cols.iter().position(|h| *h == column).unwrap();
    let pct: Vec<f64> = lines
        .map(|l| l.split(',').nth(c).unwrap().to_string())
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().unwrap())
        .collect();
    pct[..=7].to_vec()
}

/// segment → (column name → value) from sbg_reference.csv.
fn reference() -> HashMap<String, HashMap<String, f64>> {
    let text = std::fs::read_to_string(refdata("sbg_reference.csv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let cols: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let values = cols[1..]
                .iter()
                .zip(&f[1..])
                .map(|(k, v)| (k.clone(), v.parse().unwrap()))
                .collect();
            (f[0].to_string(), values)
        })
        .collect()
}

const SEGMENTS: [(&str, &str); 2] = [
    ("regular", "regular_pct_active"),
    ("highend", "highend_pct_active"),
];

#[test]
fn survival_series_fits_match_the_reference() {
    let refs = reference();
    for (segment, column) in SEGMENTS {
        let want = &refs[segment];
        let series = SurvivalSeries::from_percentages(&percentages(column), 1000.0).unwrap();
        assert_eq!(series.periods(), 7);
        let start = std::time::Instant::now();
        let (p, fit) = fit_sbg_survival(&series, &FitOptions::default()).unwrap();
        println!("{segment}: fit in {:?}: {fit:?}", start.elapsed());
        assert!(fit.converged);
        for (name, got) in [("alpha", p.alpha), ("beta", p.beta)] {
            let w = want[name];
            assert!((got - w).abs() < 1e-6 * w, "{segment} {name}: {got} vs {w}");
        }
        let w_ll = want["log_likelihood"];
        assert!(
            (fit.log_likelihood - w_ll).abs() < 1e-6,
            "{segment} LL: {} vs {w_ll}",
            fit.log_likelihood
        );
        for se in &fit.standard_errors {
            assert!(se.is_finite() && *se > 0.0, "{:?}", fit.standard_errors);
        }
    }
}

#[test]
fn survival_and_derl_match_the_reference() {
    let refs = reference();
    let mut worst: f64 = 0.0;
    for (segment, _) in SEGMENTS {
        let want = &refs[segment];
        let p = SbgParams {
            alpha: want["alpha"],
            beta: want["beta"],
        };
        for t in 0..=12u32 {
            let (got, w) = (p.survival(t), want[&format!("survival_{t}")]);
            worst = worst.max((got - w).abs() / w);
            assert!((got - w).abs() < 1e-9 * w, "{segment} S({t}): {got} vs {w}");
        }
        for n in 1..=5u32 {
            let (got, w) = (p.derl(0.10, n).unwrap(), want[&format!("derl_n{n}_d0.10")]);
            worst = worst.max((got - w).abs() / w);
            assert!(
                (got - w).abs() < 1e-9 * w,
                "{segment} DERL n={n}: {got} vs {w}"
            );
        }
    }
    println!("worst relative difference {worst:e}");
}

#[test]
fn records_expanded_from_the_series_give_the_same_fit() {
    let refs = reference();
    for (segment, column) in SEGMENTS {
        let series = SurvivalSeries::from_percentages(&percentages(column), 1000.0).unwrap();
        // One record per customer: 1000 unit-weight records.
        let mut records = Vec::new();
        for (rec, w) in series.to_records() {
            records.extend(std::iter::repeat_n(rec, w as usize));
        }
        assert_eq!(records.len(), 1000);
        let data = SbgRecords::new(&records).unwrap();
        assert_eq!(data.customers(), 1000.0);
        let (ps, fs) = fit_sbg_survival(&series, &FitOptions::default()).unwrap();
        let (pr, fr) = fit_sbg_records(&data, &FitOptions::default()).unwrap();
        assert!(
            (ps.alpha - pr.alpha).abs() < 1e-8 * ps.alpha,
            "{segment}: {ps:?} vs {pr:?}"
        );
        assert!(
            (ps.beta - pr.beta).abs() < 1e-8 * ps.beta,
            "{segment}: {ps:?} vs {pr:?}"
        );
        assert!((fs.log_likelihood - fr.log_likelihood).abs() < 1e-9);
        assert!((fr.log_likelihood - refs[segment]["log_likelihood"]).abs() < 1e-6);
    }
}
