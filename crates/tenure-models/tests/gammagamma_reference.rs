//! Gamma-Gamma on CDNOW (rows with x > 0) against the polished MLE in
//! `fits_lifetimes_0.11.3.json`, and lifetimes' conditional expected average spend
//! (testdata/refdata/README.md: params 1e-4 relative, LL ±0.001, predictions 1e-6 relative).
#![allow(clippy::unwrap_used)]

mod common;
use common::{json_number, refdata};

use tenure_models::fit::numeric_observed_covariance;
use tenure_models::gammagamma::{fit_gammagamma, GammaGammaParams, SpendData, SpendRow};
use tenure_models::FitOptions;

fn cdnow() -> Vec<(String, SpendRow)> {
    let text =
        std::fs::read_to_string(refdata("cdnow_customers_summary_with_transactions.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "ID,x,t_x,T,zbar");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let row = SpendRow {
                x: f[1].parse().unwrap(),
                mean_spend: f[4].parse().unwrap(),
            };
            (f[0].to_string(), row)
        })
        .collect()
}

#[test]
fn cdnow_fit_matches_the_mle() {
    let json = std::fs::read_to_string(refdata("fits_lifetimes_0.11.3.json")).unwrap();
    let names = ["p", "q", "gamma"];
    let want: Vec<f64> = names
        .iter()
        .map(|k| json_number(&json, &["gammagamma", "mle_params"], k))
        .collect();
    let want_ll = json_number(&json, &["gammagamma"], "mle_log_likelihood");

    let rows: Vec<SpendRow> = cdnow().into_iter().map(|(_, r)| r).collect();
    assert!(
        SpendData::new(&rows).is_err(),
        "x = 0 rows must be rejected by `new`"
    );
    let data = SpendData::repeat_buyers(&rows).unwrap();
    assert_eq!((data.customers(), data.skipped()), (946.0, 1411.0));

    let start = std::time::Instant::now();
    let (p, fit) = fit_gammagamma(&data, &FitOptions::default()).unwrap();
    println!("Gamma-Gamma fit in {:?}: {fit:?}", start.elapsed());
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
    let at_ref = data.log_likelihood(&GammaGammaParams {
        p: want[0],
        q: want[1],
        gamma: want[2],
    });
    assert!(
        (at_ref - want_ll).abs() < 1e-6,
        "LL at the MLE {at_ref} vs {want_ll}"
    );
    for se in &fit.standard_errors {
        assert!(se.is_finite() && *se > 0.0, "{:?}", fit.standard_errors);
    }
    // The covariance from the analytic Hessian is the one central differences of the gradient
    // give.
    let numeric = numeric_observed_covariance(&data, &fit.params).unwrap();
    let cov = fit
        .covariance
        .as_ref()
        .expect("positive-definite information");
    for i in 0..3 {
        for j in 0..3 {
            let tol = 1e-6 * (cov[i][i] * cov[j][j]).sqrt();
            assert!(
                (cov[i][j] - numeric[i][j]).abs() < tol,
                "cov[{i}][{j}]: {} vs {}",
                cov[i][j],
                numeric[i][j]
            );
        }
    }
}

#[test]
fn cdnow_expected_spend_matches_lifetimes() {
    let text = std::fs::read_to_string(refdata("cdnow_predictions_lifetimes_0.11.3.csv")).unwrap();
    // The parameters lifetimes predicted with are in the header.
    let header = text
        .lines()
        .find(|l| l.starts_with("# Models fitted"))
        .unwrap();
    let params = GammaGammaParams {
        p: json_number(header, &["gammagamma"], "p"),
        q: json_number(header, &["gammagamma"], "q"),
        gamma: json_number(header, &["gammagamma"], "gamma"),
    };
    assert_eq!(params.q, 3.74458846092242);

    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let cols: Vec<&str> = lines.next().unwrap().split(',').collect();
    let id_col = cols.iter().position(|c| *c == "customer_id").unwrap();
    let gg_col = cols.iter().position(|c| *c == "gg_expected_spend").unwrap();
    let customers = cdnow();
    let mut checked = 0;
    let mut worst: f64 = 0.0;
    for (line, (id, row)) in lines.zip(&customers) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[id_col], id);
        let want: f64 = f[gg_col].parse().unwrap();
        let got = params
            .conditional_expected_spend(row.x, row.mean_spend)
            .unwrap();
        let rel = (got - want).abs() / want.abs();
        worst = worst.max(rel);
        assert!(rel < 1e-6, "customer {id}: {got} vs {want}");
        checked += 1;
    }
    println!("worst relative difference {worst:e}");
    assert_eq!(checked, 2357);
}
