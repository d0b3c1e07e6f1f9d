//! `tenure fit … --covariates` and `tenure predict --covariates` (issue 9): CDNOW with synthetic
//! customer covariates (a three-level channel and a numeric age), the model file round trip,
//! predictions equal to the library's for each customer's own parameters, constraints, L2, and
//! bad input (exit 2, file:line[:column], no output file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use std::path::Path;
use tenure_models::covariates::{CovariateModel, CovariateParams, CovariateSpec};

const CHANNELS: [&str; 3] = ["web", "store", "phone"];

fn age(id: usize) -> usize {
    20 + (id * 37) % 50
}

/// The covariates of CDNOW's customers 1..=2357, in reverse order (the join is by id).
/// Customer `id`'s covariates as the fit encodes them: channel one-hot against `phone` (store,
/// web) and age standardised with the model file's mean and sd.
fn encoded(id: usize, mean: f64, sd: f64) -> [f64; 3] {
    [
        f64::from(u8::from(CHANNELS[id % 3] == "store")),
        f64::from(u8::from(CHANNELS[id % 3] == "web")),
        (age(id) as f64 - mean) / sd,
    ]
}

fn covariates_file(
    dir: &Path,
    skip: Option<usize>,
    edit: impl Fn(usize, String) -> String,
) -> String {
    let mut s = String::from("customer_id,channel,age\n");
    for id in (1..=2357).rev() {
        if Some(id) == skip {
            continue;
        }
        s += &edit(id, format!("{id},{},{}\n", CHANNELS[id % 3], age(id)));
    }
    let p = dir.join("covariates.csv");
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

fn fail(args: &[&str]) -> String {
    let out = tenure(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn fit_and_predict_with_covariates() {
    let dir = scratch("covariates");
    let summary = ref_file("cdnow_customers_summary.csv");
    let cov = covariates_file(&dir, None, |_, l| l);
    let model = dir.join("m.json").display().to_string();
    let out = json(&[
        "fit",
        "paretonbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--format",
        "json",
        "--output",
        &model,
    ]);
    let params = out["params"].as_object().unwrap();
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    // Reference level: the most frequent (store and phone tie at 786; the first sorted wins).
    assert_eq!(
        names,
        [
            "r",
            "alpha",
            "s",
            "beta",
            "trans.channel=store",
            "trans.channel=web",
            "trans.age",
            "life.channel=store",
            "life.channel=web",
            "life.age"
        ]
    );
    let c = &out["covariates"];
    assert_eq!(c["df"], 6);
    assert_eq!(c["encodings"][2]["kind"], "standardised");
    assert_eq!(c["encodings"][0]["reference"], "phone");
    let plain = json(&["fit", "paretonbd", "--input", &summary, "--format", "json"]);
    let plain_ll = plain["log_likelihood"].as_f64().unwrap();
    assert!(rel(c["plain_log_likelihood"].as_f64().unwrap(), plain_ll) < 1e-8);
    let ll = out["log_likelihood"].as_f64().unwrap();
    assert!(ll >= plain_ll - 1e-6, "{ll} vs {plain_ll}");
    // A covariate unrelated to behaviour: a small gain (LR ~ χ²(6)).
    assert!(c["likelihood_ratio"].as_f64().unwrap() < 30.0);
    assert_eq!(out["covariance"].as_array().unwrap().len(), 10);

    // Table output names the encodings and the comparison.
    let table = tenure_ok(&[
        "fit",
        "paretonbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
    ]);
    assert!(table.contains("likelihood ratio"), "{table}");
    assert!(table.contains("reference phone"), "{table}");

    // Predict: each customer with her own parameters, equal to the library's.
    let scores = dir.join("scores.csv");
    tenure_ok(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--horizon",
        "39w",
        "--output",
        scores.to_str().unwrap(),
    ]);
    let (head, rows) = read_csv(&scores);
    assert_eq!(rows.len(), 2357);
    let p_alive = column(&head, &rows, "p_alive");
    let expected = column(&head, &rows, "expected_purchases");
    let lower = column(&head, &rows, "expected_purchases_lower");
    let upper = column(&head, &rows, "expected_purchases_upper");
    let theta: Vec<f64> = params.values().map(|v| v.as_f64().unwrap()).collect();
    let enc = &c["encodings"];
    let (mean, sd) = (
        enc[2]["mean"].as_f64().unwrap(),
        enc[2]["sd"].as_f64().unwrap(),
    );
    let lib =
        CovariateParams::from_theta(CovariateModel::ParetoNbd, CovariateSpec::both(3), &theta);
    let (sh, srows) = read_csv(Path::new(&summary));
    let (x, tx, t) = (
        column(&sh, &srows, "frequency"),
        column(&sh, &srows, "recency"),
        column(&sh, &srows, "T"),
    );
    for i in [0usize, 1, 17, 1000, 2356] {
        let id = i + 1;
        let m = lib.customer(&encoded(id, mean, sd));
        let p = m.model().p_alive(x[i], tx[i], t[i]);
        let e = m
            .model()
            .conditional_expected_purchases(39.0, x[i], tx[i], t[i]);
        assert!(
            rel(p_alive[i], p) < 1e-12,
            "customer {id}: {} vs {p}",
            p_alive[i]
        );
        assert!(
            rel(expected[i], e) < 1e-12,
            "customer {id}: {} vs {e}",
            expected[i]
        );
        assert!(lower[i] <= e && e <= upper[i]);
    }

    // P(alive at T + 39 weeks) and the distribution of purchases in the window, each customer
    // with her own parameters: the library's, and a distribution that sums to 1.
    let more = dir.join("more.csv");
    tenure_ok(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--horizon",
        "39w",
        "--alive-at-horizon",
        "--purchase-pmf",
        "3",
        "--output",
        more.to_str().unwrap(),
    ]);
    let (mh, mrows) = read_csv(&more);
    let at = column(&mh, &mrows, "p_alive_at_horizon");
    let pmf: Vec<Vec<f64>> = [
        "p_purchases_0",
        "p_purchases_1",
        "p_purchases_2",
        "p_purchases_3_plus",
    ]
    .iter()
    .map(|c| column(&mh, &mrows, c))
    .collect();
    for i in [0usize, 1, 17, 1000, 2356] {
        let id = i + 1;
        let m = lib.customer(&encoded(id, mean, sd));
        let a = m.model().p_alive_at(39.0, x[i], tx[i], t[i]);
        assert!(rel(at[i], a) < 1e-12, "customer {id}: {} vs {a}", at[i]);
        assert!(at[i] <= p_alive[i] + 1e-15);
        for n in 0..3u32 {
            let want = m.model().prob_future_purchases(39.0, n, x[i], tx[i], t[i]);
            let got = pmf[n as usize][i];
            assert!(
                (got - want).abs() < 1e-12,
                "customer {id}, P({n}): {got} vs {want}"
            );
        }
        let total: f64 = pmf.iter().map(|c| c[i]).sum();
        assert!((total - 1.0).abs() < 1e-9, "customer {id}: {total}");
    }

    // Constraint: one age coefficient on both processes; channel on purchases only.
    let out = json(&[
        "fit",
        "bgnbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--trans",
        "channel",
        "--constrain",
        "age",
        "--format",
        "json",
    ]);
    let names: Vec<String> = out["params"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        names,
        [
            "r",
            "alpha",
            "a",
            "b",
            "trans.channel=store",
            "trans.channel=web",
            "constr.age"
        ]
    );
    // L2 pulls the coefficients toward 0.
    let norm = |v: &serde_json::Value| -> f64 {
        v["params"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.contains('.'))
            .map(|(_, v)| v.as_f64().unwrap().powi(2))
            .sum::<f64>()
    };
    let free = json(&[
        "fit",
        "bgnbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--format",
        "json",
    ]);
    let pen = json(&[
        "fit",
        "bgnbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--l2-trans",
        "50",
        "--l2-life",
        "50",
        "--format",
        "json",
    ]);
    assert!(
        norm(&pen) < norm(&free),
        "{} vs {}",
        norm(&pen),
        norm(&free)
    );
    assert!(
        pen["covariates"]["log_likelihood_unpenalised"]
            .as_f64()
            .unwrap()
            <= free["log_likelihood"].as_f64().unwrap() + 1e-6
    );
}

/// GGom/NBD with covariates: the encoding and names as for the others, the plain fit inside
/// equal to `tenure fit ggomnbd`, and each customer scored with her own parameters.
#[test]
fn ggomnbd_fits_and_predicts_with_covariates() {
    let dir = scratch("covariates-ggom");
    let summary = ref_file("cdnow_customers_summary.csv");
    let cov = covariates_file(&dir, None, |_, l| l);
    let model = dir.join("g.json").display().to_string();
    let out = json(&[
        "fit",
        "ggomnbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--life",
        "age",
        "--trans",
        "channel",
        "--format",
        "json",
        "--output",
        &model,
    ]);
    let params = out["params"].as_object().unwrap();
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "r",
            "alpha",
            "b",
            "s",
            "beta",
            "trans.channel=store",
            "trans.channel=web",
            "life.age"
        ]
    );
    let c = &out["covariates"];
    let plain = json(&["fit", "ggomnbd", "--input", &summary, "--format", "json"]);
    let plain_ll = plain["log_likelihood"].as_f64().unwrap();
    assert!(rel(c["plain_log_likelihood"].as_f64().unwrap(), plain_ll) < 1e-8);
    assert!(out["log_likelihood"].as_f64().unwrap() >= plain_ll - 1e-6);
    let scores = dir.join("scores.csv");
    tenure_ok(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--horizon",
        "39w",
        "--output",
        scores.to_str().unwrap(),
    ]);
    let (head, rows) = read_csv(&scores);
    assert_eq!(rows.len(), 2357);
    let p_alive = column(&head, &rows, "p_alive");
    let expected = column(&head, &rows, "expected_purchases");
    let theta: Vec<f64> = params.values().map(|v| v.as_f64().unwrap()).collect();
    let enc = &c["encodings"];
    let (mean, sd) = (
        enc[2]["mean"].as_f64().unwrap(),
        enc[2]["sd"].as_f64().unwrap(),
    );
    let spec = CovariateSpec {
        trans: vec![0, 1],
        life: vec![2],
        ..CovariateSpec::default()
    };
    let lib = CovariateParams::from_theta(CovariateModel::GGomNbd, spec, &theta);
    let (sh, srows) = read_csv(Path::new(&summary));
    let (x, tx, t) = (
        column(&sh, &srows, "frequency"),
        column(&sh, &srows, "recency"),
        column(&sh, &srows, "T"),
    );
    for i in [0usize, 1, 17, 1000, 2356] {
        let id = i + 1;
        let m = lib.customer(&encoded(id, mean, sd));
        let p = m.model().p_alive(x[i], tx[i], t[i]);
        let e = m
            .model()
            .conditional_expected_purchases(39.0, x[i], tx[i], t[i]);
        assert!(
            rel(p_alive[i], p) < 1e-12,
            "customer {id}: {} vs {p}",
            p_alive[i]
        );
        assert!(
            rel(expected[i], e) < 1e-12,
            "customer {id}: {} vs {e}",
            expected[i]
        );
    }
}

#[test]
fn covariate_bad_input_is_exit_2_with_the_place() {
    let dir = scratch("covariates-bad");
    let summary = ref_file("cdnow_customers_summary.csv");
    let out = dir.join("m.json");
    let out_s = out.to_str().unwrap();
    let fit = |cov: &str, extra: &[&str]| {
        let mut a = vec!["fit", "paretonbd", "--input", &summary, "--covariates", cov];
        a.extend_from_slice(extra);
        a.extend_from_slice(&["--output", out_s]);
        fail(&a)
    };
    // A customer without covariates: the summary's line (ID 5 is on line 6).
    let cov = covariates_file(&dir, Some(5), |_, l| l);
    let err = fit(&cov, &[]);
    assert!(
        err.contains("cdnow_customers_summary.csv:6:") && err.contains("customer `5`"),
        "{err}"
    );
    // An empty value: the covariates file's line and column (id 2357 is on line 2).
    let cov = covariates_file(
        &dir,
        None,
        |id, l| {
            if id == 2357 {
                "2357,,33\n".into()
            } else {
                l
            }
        },
    );
    let err = fit(&cov, &[]);
    assert!(
        err.contains("covariates.csv:2:2:") && err.contains("empty"),
        "{err}"
    );
    // A customer twice.
    let cov = covariates_file(
        &dir,
        None,
        |id, l| if id == 9 { format!("{l}{l}") } else { l },
    );
    let err = fit(&cov, &[]);
    assert!(err.contains("appears twice"), "{err}");
    // A constant column.
    let cov = covariates_file(&dir, None, |id, _| format!("{id},web,30\n"));
    let err = fit(&cov, &["--trans", "age"]);
    assert!(err.contains("constant"), "{err}");
    // A column that is not there; a constrained column with its own coefficient too.
    let cov = covariates_file(&dir, None, |_, l| l);
    let err = fit(&cov, &["--trans", "income"]);
    assert!(err.contains("no covariate column `income`"), "{err}");
    let err = fit(&cov, &["--trans", "age", "--constrain", "age"]);
    assert!(err.contains("constrained"), "{err}");
    let err = fit(&cov, &["--l2-trans=-1"]);
    assert!(err.contains("L2"), "{err}");
    // Models without covariates.
    let err = fail(&[
        "fit",
        "mbgnbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--output",
        out_s,
    ]);
    assert!(err.contains("bgnbd, paretonbd and ggomnbd"), "{err}");
    assert!(!out.exists(), "no model file after a failure");

    // Predict: a covariate model needs the covariates, and knows its levels.
    let model = dir.join("ok.json").display().to_string();
    tenure_ok(&[
        "fit",
        "bgnbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--output",
        &model,
    ]);
    let scores = dir.join("s.csv");
    let s = scores.to_str().unwrap();
    let err = fail(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--horizon",
        "39w",
        "--output",
        s,
    ]);
    assert!(err.contains("--covariates"), "{err}");
    let odd = covariates_file(&dir, None, |id, l| {
        if id == 2000 {
            "2000,fax,40\n".into()
        } else {
            l
        }
    });
    let err = fail(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--covariates",
        &odd,
        "--horizon",
        "39w",
        "--output",
        s,
    ]);
    assert!(
        err.contains("covariates.csv:359:") && err.contains("fax"),
        "{err}"
    );
    assert!(!scores.exists());
}
