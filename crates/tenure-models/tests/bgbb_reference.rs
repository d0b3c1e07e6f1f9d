//! BG/BB on the donations data of Fader, Hardie & Shang (2010) against the polished MLE in
//! `fits_lifetimes_0.11.3.json` (testdata/refdata/README.md: params 1e-4 relative, LL ±0.001).
#![allow(clippy::unwrap_used)]

mod common;
use common::{json_number, refdata};

use tenure_models::bgbb::{fit_bgbb, BgBbData, BgBbParams, BgBbRow};
use tenure_models::FitOptions;

fn donations() -> BgBbData {
    let text = std::fs::read_to_string(refdata("donations.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "frequency,recency,periods,weights");
    let rows = lines.map(|l| {
        let v: Vec<f64> = l.split(',').map(|s| s.parse().unwrap()).collect();
        (
            BgBbRow {
                x: v[0],
                t_x: v[1],
                n: v[2],
            },
            v[3],
        )
    });
    BgBbData::weighted(rows).unwrap()
}

#[test]
fn donations_fit_matches_the_mle() {
    let json = std::fs::read_to_string(refdata("fits_lifetimes_0.11.3.json")).unwrap();
    let names = ["alpha", "beta", "gamma", "delta"];
    let want: Vec<f64> = names
        .iter()
        .map(|k| json_number(&json, &["bgbb", "mle_params"], k))
        .collect();
    let want_ll = json_number(&json, &["bgbb"], "mle_log_likelihood");

    let data = donations();
    assert_eq!(data.customers(), 11104.0);
    let start = std::time::Instant::now();
    let (p, fit) = fit_bgbb(&data, &FitOptions::default()).unwrap();
    println!("BG/BB fit in {:?}: {fit:?}", start.elapsed());

    assert!(fit.converged);
    for (k, (got, want)) in p.to_vec().iter().zip(&want).enumerate() {
        assert!(
            (got - want).abs() < 1e-4 * want,
            "{}: {got} vs {want}",
            names[k]
        );
    }
    assert!(
        (fit.log_likelihood - want_ll).abs() < 1e-3,
        "LL {} vs {want_ll}",
        fit.log_likelihood
    );
    // The likelihood at the reference MLE itself, independent of the optimiser.
    let at_ref = data.log_likelihood(&BgBbParams::from_slice(&want).unwrap());
    assert!(
        (at_ref - want_ll).abs() < 1e-6,
        "LL at the MLE {at_ref} vs {want_ll}"
    );

    assert_eq!(fit.names, &names);
    for se in &fit.standard_errors {
        assert!(se.is_finite() && *se > 0.0, "{:?}", fit.standard_errors);
    }
    for (r, _) in data.iter() {
        let pa = p.p_alive(r.x, r.t_x, r.n);
        assert!((0.0..=1.0).contains(&pa), "{r:?}: {pa}");
        let e = p.conditional_expected_transactions(5.0, r.x, r.t_x, r.n);
        assert!((0.0..=5.0).contains(&e), "{r:?}: {e}");
    }
}

/// The counts the fitted model implies for the 6 opportunities match the data roughly (FHS
/// 2010, Figure 3): the share of donors with each number of repeat donations within 1.5 points.
#[test]
fn donations_fit_reproduces_the_frequency_histogram() {
    let data = donations();
    let (p, _) = fit_bgbb(&data, &FitOptions::default()).unwrap();
    let mut observed = [0.0; 7];
    for (r, w) in data.iter() {
        observed[r.x as usize] += w / data.customers();
    }
    for (x, obs) in observed.iter().enumerate() {
        let model = p.prob_transactions(6, x as u32);
        assert!(
            (model - obs).abs() < 0.015,
            "x={x}: model {model} vs observed {obs}"
        );
    }
}
