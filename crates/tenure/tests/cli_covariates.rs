//! `tenure fit … --covariates` and `tenure predict --covariates` (issue 9): CDNOW with synthetic
//! customer covariates (a three-level channel and a numeric age), the model file round trip,
//! predictions (and with --spend, CLV) equal to the library's for each customer's own
//! parameters, constraints, L2, and bad input (exit 2, file:line[:column], no output file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use std::path::Path;
use tenure_models::bootstrap::BootstrapOptions;
use tenure_models::bootstrap_covariates::{covariate_prediction_spreads, replicate_covariates};
use tenure_models::clv::{discounted_expected_purchases, ClvConfig};
use tenure_models::covariates::{CovariateModel, CovariateParams, CovariateSpec, Design};
use tenure_models::gammagamma::GammaGammaParams;
use tenure_models::{FitOptions, RfmRow};

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

/// `tenure predict --spend` with covariates: each customer's CLV is margin × Gamma-Gamma
/// expected spend × the DET of her own model, as the library computes them; the intervals
/// hold the points; customers whose covariates are all at the reference (z = 0) are valued as
/// the plain model with the base parameters, intervals included; a summary without monetary
/// values is exit 2 at its first customer's line.
#[test]
fn covariate_models_value_customers_with_spend() {
    let dir = scratch("covariates-clv");
    // ID, x, t_x, T, zbar: CDNOW with each customer's mean repeat spend.
    let summary = ref_file("cdnow_customers_summary_with_transactions.csv");
    let cov = covariates_file(&dir, None, |_, l| l);
    let gg = dir.join("gg.json").display().to_string();
    tenure_ok(&["fit", "gammagamma", "--input", &summary, "--output", &gg]);
    let (_, gth, _) = params_and_covariance(&gg);
    let spend_model = GammaGammaParams {
        p: gth[0],
        q: gth[1],
        gamma: gth[2],
    };
    let (sh, srows) = read_csv(Path::new(&summary));
    let (x, tx, t, m) = (
        column(&sh, &srows, "x"),
        column(&sh, &srows, "t_x"),
        column(&sh, &srows, "T"),
        column(&sh, &srows, "zbar"),
    );
    // 52 weeks valued in 13 periods of 4 weeks at 1% each, margin 0.3.
    let cfg = ClvConfig::new(13, 4.0, 0.01)
        .unwrap()
        .with_margin(0.3)
        .unwrap();
    let predict = |model: &str, covariates: Option<&str>, out: &Path, extra: &[&str]| {
        let mut a = vec![
            "predict",
            "--model",
            model,
            "--input",
            &summary,
            "--horizon",
            "52w",
            "--spend",
            &gg,
            "--discount-rate",
            "1%/4w",
            "--margin",
            "0.3",
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
        ];
        if let Some(c) = covariates {
            a.extend_from_slice(&["--covariates", c]);
        }
        a.extend_from_slice(extra);
        json(&a)
    };

    // Pareto/NBD with channel and age on both processes: the library, customer by customer.
    let model = dir.join("p.json").display().to_string();
    tenure_ok(&[
        "fit",
        "paretonbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--output",
        &model,
    ]);
    let (mf, theta, _) = params_and_covariance(&model);
    let enc = &mf["covariates"]["encodings"];
    let (mean, sd) = (
        enc[2]["mean"].as_f64().unwrap(),
        enc[2]["sd"].as_f64().unwrap(),
    );
    let lib =
        CovariateParams::from_theta(CovariateModel::ParetoNbd, CovariateSpec::both(3), &theta);
    let scores = dir.join("p.csv");
    let report = predict(&model, Some(&cov), &scores, &[]);
    assert_eq!(report["model"], "paretonbd with covariates");
    assert_eq!(report["margin"], 0.3);
    assert_eq!(report["discount_rate"]["value"], 0.01);
    let (h, rows) = read_csv(&scores);
    assert_eq!(rows.len(), 2357);
    let col = |name: &str| column(&h, &rows, name);
    let (clv, lower, upper) = (col("clv"), col("clv_lower"), col("clv_upper"));
    let (spend, spend_lower, spend_upper) = (
        col("expected_spend"),
        col("expected_spend_lower"),
        col("expected_spend_upper"),
    );
    for i in 0..rows.len() {
        let id = i + 1;
        let own = lib.customer(&encoded(id, mean, sd));
        let row = RfmRow {
            x: x[i],
            t_x: tx[i],
            t: t[i],
        };
        let det = discounted_expected_purchases(own.model(), &row, &cfg).unwrap();
        let sp = spend_model.conditional_expected_spend(x[i], m[i]).unwrap();
        let want = cfg.margin() * sp * det;
        assert!(
            rel(spend[i], sp) < 1e-12,
            "customer {id}: {} vs {sp}",
            spend[i]
        );
        assert!(
            rel(clv[i], want) < 1e-12,
            "customer {id}: {} vs {want}",
            clv[i]
        );
        assert!(
            want > 0.0 && lower[i] <= clv[i] && clv[i] <= upper[i] && lower[i] < upper[i],
            "customer {id}: {} ({} – {})",
            clv[i],
            lower[i],
            upper[i]
        );
        assert!(spend_lower[i] <= spend[i] && spend[i] <= spend_upper[i]);
    }
    let total: f64 = clv.iter().sum();
    let reported = report["total_clv"].as_f64().unwrap();
    assert!(rel(reported, total) < 1e-9, "{reported} vs {total}");

    // BG/NBD with channel only, every customer scored as `phone` (the reference: z = 0): the
    // plain BG/NBD with the base parameters and their block of the covariance.
    let model = dir.join("b.json").display().to_string();
    tenure_ok(&[
        "fit",
        "bgnbd",
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--trans",
        "channel",
        "--life",
        "channel",
        "--output",
        &model,
    ]);
    let (mut plain, theta, covariance) = params_and_covariance(&model);
    assert_eq!(theta.len(), 8);
    assert!(
        theta[4..].iter().all(|g| *g != 0.0),
        "the coefficients are not 0: {theta:?}"
    );
    let o = plain.as_object_mut().unwrap();
    o.remove("covariates");
    let base = ["r", "alpha", "a", "b"];
    o["params"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| base.contains(&k.as_str()));
    o["covariance"] = serde_json::json!(covariance[..4]
        .iter()
        .map(|r| r[..4].to_vec())
        .collect::<Vec<_>>());
    let plain_model = dir.join("plain.json");
    std::fs::write(&plain_model, plain.to_string()).unwrap();
    let phone_dir = dir.join("phone");
    std::fs::create_dir_all(&phone_dir).unwrap();
    let phone = covariates_file(&phone_dir, None, |id, _| {
        format!("{id},phone,{}\n", age(id))
    });
    let (with, without) = (dir.join("with.csv"), dir.join("without.csv"));
    let a = predict(&model, Some(&phone), &with, &[]);
    let b = predict(plain_model.to_str().unwrap(), None, &without, &[]);
    assert!(
        rel(
            a["total_clv"].as_f64().unwrap(),
            b["total_clv"].as_f64().unwrap()
        ) < 1e-9
    );
    let ((ha, ra), (hb, rb)) = (read_csv(&with), read_csv(&without));
    assert_eq!(ha, hb);
    for name in [
        "p_alive",
        "expected_purchases",
        "expected_purchases_lower",
        "expected_purchases_upper",
        "expected_spend",
        "expected_spend_lower",
        "expected_spend_upper",
        "clv",
        "clv_lower",
        "clv_upper",
    ] {
        for (i, (u, v)) in column(&ha, &ra, name)
            .iter()
            .zip(column(&hb, &rb, name))
            .enumerate()
        {
            assert!(rel(*u, v) < 1e-9, "{name}, customer {}: {u} vs {v}", i + 1);
        }
    }

    // No monetary values: exit 2 at the summary's first customer, nothing written.
    let bare = ref_file("cdnow_customers_summary.csv");
    let out = dir.join("none.csv");
    let err = fail(&[
        "predict",
        "--model",
        &model,
        "--input",
        &bare,
        "--covariates",
        &cov,
        "--horizon",
        "52w",
        "--spend",
        &gg,
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        err.contains("cdnow_customers_summary.csv:2:") && err.contains("monetary_value"),
        "{err}"
    );
    assert!(!out.exists());
}

/// `--bootstrap N` with covariates. `tenure fit`: every parameter, coefficients included, gets a
/// bootstrap sd close to its observed-information SE and a percentile interval, seeded.
/// `tenure predict`: the points stay the model's own and the intervals are exactly the
/// library's [`covariate_prediction_spreads`] of [`replicate_covariates`] with the same seed,
/// each customer with her own covariates and T.
#[test]
fn covariate_bootstrap_in_fit_and_predict() {
    let dir = scratch("covariates-bootstrap");
    let summary = ref_file("cdnow_customers_summary.csv");
    let cov = covariates_file(&dir, None, |_, l| l);
    let model = dir.join("b.json").display().to_string();
    let fit = |seed: &str| {
        json(&[
            "fit",
            "bgnbd",
            "--input",
            &summary,
            "--covariates",
            &cov,
            "--trans",
            "channel,age",
            "--bootstrap",
            "40",
            "--seed",
            seed,
            "--format",
            "json",
            "--output",
            &model,
        ])
    };
    let out = fit("5");
    let b = &out["bootstrap"];
    assert_eq!(b["replications"], 40);
    assert!(b["failed"].as_u64().unwrap() <= 2, "{b}");
    let names: Vec<&String> = out["params"].as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 7, "{names:?}");
    for name in names {
        let p = &b["params"][name.as_str()];
        let (sd, lo, hi) = (
            p["sd"].as_f64().unwrap(),
            p["lower"].as_f64().unwrap(),
            p["upper"].as_f64().unwrap(),
        );
        let est = out["params"][name.as_str()].as_f64().unwrap();
        let se = out["standard_errors"][name.as_str()].as_f64().unwrap();
        assert!(lo < est && est < hi, "{name}: {lo} < {est} < {hi}");
        // Two estimates of one sampling spread, the bootstrap's from 40 replicates.
        assert!(
            sd / se > 0.6 && sd / se < 1.7,
            "{name}: bootstrap sd {sd}, SE {se}"
        );
    }
    assert_eq!(fit("5")["bootstrap"]["params"], b["params"]);
    assert_ne!(fit("6")["bootstrap"]["params"], b["params"]);

    // Predict with the model file (the last fit, seed 6): against the library.
    let scores = dir.join("boot.csv");
    let report = json(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--covariates",
        &cov,
        "--horizon",
        "39w",
        "--bootstrap",
        "30",
        "--seed",
        "11",
        "--format",
        "json",
        "--output",
        scores.to_str().unwrap(),
    ]);
    assert!(
        report["intervals"]
            .as_str()
            .unwrap()
            .starts_with("parametric bootstrap (30 replications"),
        "{report}"
    );
    let (mf, theta, _) = params_and_covariance(&model);
    let enc = &mf["covariates"]["encodings"];
    let (mean, sd) = (
        enc[2]["mean"].as_f64().unwrap(),
        enc[2]["sd"].as_f64().unwrap(),
    );
    let spec = CovariateSpec {
        trans: vec![0, 1, 2],
        life: vec![],
        constrained: vec![],
        l2_trans: 0.0,
        l2_life: 0.0,
    };
    let fitted = CovariateParams::from_theta(CovariateModel::BgNbd, spec, &theta);
    let (sh, srows) = read_csv(Path::new(&summary));
    let (x, tx, t) = (
        column(&sh, &srows, "frequency"),
        column(&sh, &srows, "recency"),
        column(&sh, &srows, "T"),
    );
    let ids = column(&sh, &srows, "ID");
    let rows: Vec<RfmRow> = (0..srows.len())
        .map(|i| RfmRow {
            x: x[i],
            t_x: tx[i],
            t: t[i],
        })
        .collect();
    let values: Vec<f64> = ids
        .iter()
        .flat_map(|id| encoded(*id as usize, mean, sd))
        .collect();
    let design = Design::raw(&["channel=store", "channel=web", "age"], values);
    let ages: Vec<f64> = rows.iter().map(|r| r.t).collect();
    let opts = BootstrapOptions {
        replications: 30,
        seed: 11,
        grid: Some(1.0 / 7.0),
        threads: 0,
    };
    let reps = replicate_covariates(
        &fitted,
        &design,
        &ages,
        &FitOptions::default(),
        &opts,
        &|_| {},
    )
    .unwrap();
    let lib = covariate_prediction_spreads(&reps, &fitted, &design, &rows, 39.0, 0.95).unwrap();
    let (h, out_rows) = read_csv(&scores);
    let col = |name: &str| column(&h, &out_rows, name);
    let (p, plo, phi) = (col("p_alive"), col("p_alive_lower"), col("p_alive_upper"));
    let (e, elo, ehi) = (
        col("expected_purchases"),
        col("expected_purchases_lower"),
        col("expected_purchases_upper"),
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
    let mut inside = 0;
    for i in 0..rows.len() {
        let own = fitted.customer(design.row(i));
        let m = own.model();
        assert!(close(p[i], m.p_alive(x[i], tx[i], t[i])), "row {i}");
        assert!(close(
            e[i],
            m.conditional_expected_purchases(39.0, x[i], tx[i], t[i])
        ));
        assert!(close(plo[i], lib.p_alive[i].lower) && close(phi[i], lib.p_alive[i].upper));
        assert!(close(elo[i], lib.expected[i].lower) && close(ehi[i], lib.expected[i].upper));
        if elo[i] <= e[i] && e[i] <= ehi[i] {
            inside += 1;
        }
    }
    assert!(inside >= rows.len() * 9 / 10, "{inside} points inside");
    let ti = &report["total_expected_purchases_interval"];
    assert!(close(ti["lower"].as_f64().unwrap(), lib.total.lower));
    assert!(close(ti["upper"].as_f64().unwrap(), lib.total.upper));
}
