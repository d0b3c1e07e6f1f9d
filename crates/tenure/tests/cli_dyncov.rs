//! `tenure predict` on a Pareto/NBD model with time-varying covariates (`paretonbd-dyncov`,
//! issue 9): the numbers written are the library's (`DynParams::score`, and with --spend
//! `DynParams::score_det`), and a covariate grid that does not cover the prediction window is
//! a usage error (exit 2) naming the file and the first period missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use tenure_models::clv::{discounted_expected_purchases, ClvConfig};
use tenure_models::covariates::{CovariateModel, CovariateParams, CovariateSpec};
use tenure_models::fit::normal_quantile_two_sided;
use tenure_models::gammagamma::GammaGammaParams;
use tenure_models::paretonbd_dyncov::{DynCustomer, DynParams, TimeGrid};
use tenure_models::RfmRow;

/// CDNOW's transaction log as `customer_id,date,amount`.
fn cdnow_log(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(ref_file("CDNOW_sample.txt")).unwrap();
    let mut out = String::from("customer_id,date,amount\n");
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        let (id, d) = (f[1].parse::<u32>().unwrap(), f[2]);
        out += &format!("{id},{}-{}-{},{}\n", &d[..4], &d[4..6], &d[6..8], f[4]);
    }
    let p = dir.join("log.csv");
    std::fs::write(&p, out).unwrap();
    p.display().to_string()
}

/// Week k's covariates: a seasonal wave and a promotion in weeks 8–11 and 45–48 (the second
/// inside the prediction window).
fn week(k: usize) -> (f64, f64) {
    let season = (std::f64::consts::TAU * k as f64 / 52.0).sin();
    let promo = f64::from(u8::from((8..12).contains(&k) || (45..49).contains(&k)));
    (season, promo)
}

/// A weekly grid from 1997-01-01 for `weeks` weeks.
fn grid_file(dir: &std::path::Path, weeks: usize) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(1997, 1, 1).unwrap();
    let mut s = String::from("period_start,season,promo\n");
    for k in 0..weeks {
        let d = start + chrono::Duration::days(7 * k as i64);
        let (season, promo) = week(k);
        s += &format!("{d},{season},{promo}\n");
    }
    let p = dir.join(format!("grid-{weeks}.csv"));
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

#[test]
fn predict_scores_a_dyncov_model_as_the_library_does() {
    let dir = scratch("cli-dyncov");
    let log = cdnow_log(&dir);
    let grid = grid_file(&dir, 78);
    let model = dir.join("m.json").display().to_string();
    let summary = dir.join("s.csv").display().to_string();
    let scores = dir.join("p.csv");
    fit_and_summarize(&log, &grid, &model, &summary);
    let predict = |grid: &str, extra: &[&str]| {
        let mut a = vec![
            "predict",
            "--model",
            &model,
            "--input",
            &summary,
            "--time-covariates",
            grid,
            "--end",
            "1997-09-30",
            "--horizon",
            "39w",
            "--output",
            scores.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        tenure(&a)
    };
    let out = predict(&grid, &["--alive-at-horizon", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["model"], "paretonbd-dyncov");
    assert!(
        report["intervals"]
            .as_str()
            .unwrap()
            .starts_with("delta method"),
        "{report}"
    );
    assert!(report["time_covariates"]
        .as_str()
        .unwrap()
        .contains("grid-78.csv"));

    // The library, from the model file, the grid and the summaries.
    let (_, theta, cov) = params_and_covariance(&model);
    assert_eq!(theta.len(), 7);
    let params = DynParams::from_theta(&theta, 2);
    let g = TimeGrid {
        origin: 0.0,
        step: 1.0,
        trans: (0..78).map(|k| vec![week(k).0, week(k).1]).collect(),
        life: (0..78).map(|k| vec![week(k).1]).collect(),
    };
    let (customers, _, _) = summary_customers(&summary);
    let want = params
        .score(
            &g,
            &customers,
            39.0,
            Some((&cov, normal_quantile_two_sided(0.95))),
        )
        .unwrap();
    let (h, rows) = read_csv(&scores);
    assert_eq!(rows.len(), customers.len());
    let got = |name: &str| column(&h, &rows, name);
    let lib = |f: fn(&tenure_models::paretonbd_dyncov::DynScore) -> f64| -> Vec<f64> {
        want.iter().map(f).collect()
    };
    let cols = [
        ("p_alive", lib(|s| s.p_alive.value)),
        ("p_alive_lower", lib(|s| s.p_alive.lower)),
        ("p_alive_upper", lib(|s| s.p_alive.upper)),
        ("expected_purchases", lib(|s| s.expected_purchases.value)),
        (
            "expected_purchases_lower",
            lib(|s| s.expected_purchases.lower),
        ),
        (
            "expected_purchases_upper",
            lib(|s| s.expected_purchases.upper),
        ),
        ("p_alive_at_horizon", lib(|s| s.p_alive_at_horizon)),
    ];
    for (name, lib) in &cols {
        for (i, (w, l)) in got(name).iter().zip(lib).enumerate() {
            assert!(rel(*w, *l) < 1e-12, "{name} row {i}: {w} vs {l}");
        }
    }
    let total: f64 = want.iter().map(|s| s.expected_purchases.value).sum();
    let reported = report["total_expected_purchases"].as_f64().unwrap();
    assert!(rel(reported, total) < 1e-12, "{reported} vs {total}");
    assert!(total > 0.0);

    // Bad input: exit 2 with the file and the reason.
    let fail = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    // 45 weeks cover the fit (to 1997-09-30) but not the window (to 1998-06-30).
    let short = grid_file(&dir, 45);
    let err = fail(predict(&short, &[]));
    assert!(
        err.contains("grid-45.csv")
            && err.contains("must cover the prediction window")
            && err.contains("1998-06-30")
            && err.contains("first missing period starts on 1997-11-12"),
        "{err}"
    );
    let err = fail(tenure(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--horizon",
        "39w",
        "--output",
        scores.to_str().unwrap(),
    ]));
    assert!(
        err.contains("paretonbd-dyncov") && err.contains("--time-covariates"),
        "{err}"
    );
    let err = fail(tenure(&[
        "predict",
        "--model",
        &model,
        "--input",
        &summary,
        "--time-covariates",
        &grid,
        "--horizon",
        "39w",
        "--output",
        scores.to_str().unwrap(),
    ]));
    assert!(err.contains("--end"), "{err}");
}

/// The customers of a summary ending 1997-09-30, placed on the grid (first purchase T whole
/// days before that day, which is day 272 of the grid), with the summary's header and rows.
fn summary_customers(summary: &str) -> (Vec<DynCustomer>, Vec<String>, Vec<Vec<String>>) {
    let (sh, srows) = read_csv(std::path::Path::new(summary));
    let (x, t_x, t) = (
        column(&sh, &srows, "frequency"),
        column(&sh, &srows, "recency"),
        column(&sh, &srows, "T"),
    );
    let customers = (0..x.len())
        .map(|i| DynCustomer {
            birth: (272.0 - (t[i] * 7.0).round()) / 7.0,
            rfm: RfmRow {
                x: x[i],
                t_x: t_x[i],
                t: t[i],
            },
        })
        .collect();
    (customers, sh, srows)
}

/// Fit the season-and-promo dyncov model of `log` on `grid` to `model` and summarize `log`
/// (both ending 1997-09-30) to `summary`.
fn fit_and_summarize(log: &str, grid: &str, model: &str, summary: &str) {
    tenure_ok(&[
        "fit",
        "paretonbd",
        "--input",
        log,
        "--time-covariates",
        grid,
        "--end",
        "1997-09-30",
        "--trans",
        "season,promo",
        "--life",
        "promo",
        "--output",
        model,
    ]);
    tenure_ok(&[
        "summarize",
        "--input",
        log,
        "--end",
        "1997-09-30",
        "--output",
        summary,
    ]);
}

/// `tenure predict --spend --discount-rate` with a `paretonbd-dyncov` model: each customer's
/// CLV is margin × Gamma-Gamma expected spend × the library's DET along the grid's path
/// (`DynParams::score_det`) and its interval holds the point; with covariates constant in
/// time it is the static covariate Pareto/NBD's CLV; a summary without monetary values is
/// exit 2 at its first customer's line; --bootstrap and --purchase-pmf stay refused.
#[test]
fn dyncov_models_value_customers_with_spend() {
    let dir = scratch("cli-dyncov-clv");
    let log = cdnow_log(&dir);
    let grid = grid_file(&dir, 78);
    let model = dir.join("m.json").display().to_string();
    let summary = dir.join("s.csv").display().to_string();
    let gg = dir.join("gg.json").display().to_string();
    fit_and_summarize(&log, &grid, &model, &summary);
    tenure_ok(&["fit", "gammagamma", "--input", &summary, "--output", &gg]);
    let (_, theta, cov) = params_and_covariance(&model);
    let (_, gth, _) = params_and_covariance(&gg);
    let spend_model = GammaGammaParams {
        p: gth[0],
        q: gth[1],
        gamma: gth[2],
    };
    // 39 weeks valued in 3 periods of 13 weeks at 3% each, margin 0.3.
    let cfg = ClvConfig::new(3, 13.0, 0.03)
        .unwrap()
        .with_margin(0.3)
        .unwrap();
    let scores = dir.join("p.csv");
    let predict = |grid: &str, input: &str, extra: &[&str]| {
        let mut a = vec![
            "predict",
            "--model",
            &model,
            "--input",
            input,
            "--time-covariates",
            grid,
            "--end",
            "1997-09-30",
            "--horizon",
            "39w",
            "--output",
            scores.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        tenure(&a)
    };
    let with_spend = [
        "--spend",
        gg.as_str(),
        "--discount-rate",
        "3%/13w",
        "--margin",
        "0.3",
        "--format",
        "json",
    ];
    let (customers, sh, srows) = summary_customers(&summary);
    let m = column(&sh, &srows, "monetary_value");
    let spends: Vec<f64> = customers
        .iter()
        .zip(&m)
        .map(|(c, m)| spend_model.conditional_expected_spend(c.rfm.x, *m).unwrap())
        .collect();

    // The seasonal grid: the library's DET along it.
    let out = predict(&grid, &summary, &with_spend);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["discount_rate"]["value"], 0.03);
    let params = DynParams::from_theta(&theta, 2);
    let g = TimeGrid {
        origin: 0.0,
        step: 1.0,
        trans: (0..78).map(|k| vec![week(k).0, week(k).1]).collect(),
        life: (0..78).map(|k| vec![week(k).1]).collect(),
    };
    let det = params
        .score_det(
            &g,
            &customers,
            &cfg,
            Some((&cov, normal_quantile_two_sided(0.95))),
        )
        .unwrap();
    let (h, rows) = read_csv(&scores);
    assert_eq!(rows.len(), customers.len());
    let col = |name: &str| column(&h, &rows, name);
    let (clv, lower, upper, spend) = (
        col("clv"),
        col("clv_lower"),
        col("clv_upper"),
        col("expected_spend"),
    );
    for i in 0..rows.len() {
        let want = cfg.margin() * spends[i] * det[i].value;
        assert!(rel(spend[i], spends[i]) < 1e-12, "row {i}");
        assert!(rel(clv[i], want) < 1e-12, "row {i}: {} vs {want}", clv[i]);
        assert!(
            want > 0.0 && lower[i] <= clv[i] && clv[i] <= upper[i] && lower[i] < upper[i],
            "row {i}: {} ({} – {})",
            clv[i],
            lower[i],
            upper[i]
        );
    }
    let total: f64 = clv.iter().sum();
    assert!(rel(report["total_clv"].as_f64().unwrap(), total) < 1e-9);
    // Discounting matters: the undiscounted DET of the same window is larger.
    let flat = ClvConfig::new(1, 39.0, 0.0).unwrap();
    let undiscounted = params.score_det(&g, &customers, &flat, None).unwrap();
    assert!(undiscounted[0].value > det[0].value);

    // Covariates constant in time: the static covariate Pareto/NBD of the same parameters,
    // each customer a Pareto/NBD with α e^{−γ_trans'z}, β e^{−γ_life'z}.
    let (season, promo) = (0.3, 1.0);
    let mut flat_grid = String::from("period_start,season,promo\n");
    for k in 0..78 {
        let d =
            chrono::NaiveDate::from_ymd_opt(1997, 1, 1).unwrap() + chrono::Duration::days(7 * k);
        flat_grid += &format!("{d},{season},{promo}\n");
    }
    let flat_path = dir.join("flat.csv");
    std::fs::write(&flat_path, flat_grid).unwrap();
    let out = predict(flat_path.to_str().unwrap(), &summary, &with_spend);
    assert!(out.status.success(), "{out:?}");
    let fixed = CovariateParams::from_theta(
        CovariateModel::ParetoNbd,
        CovariateSpec {
            trans: vec![0, 1],
            life: vec![1],
            ..CovariateSpec::default()
        },
        &theta,
    )
    .customer(&[season, promo]);
    let (h, rows) = read_csv(&scores);
    let clv = column(&h, &rows, "clv");
    for (i, c) in customers.iter().enumerate() {
        let d = discounted_expected_purchases(fixed.model(), &c.rfm, &cfg).unwrap();
        let want = cfg.margin() * spends[i] * d;
        assert!(rel(clv[i], want) < 1e-9, "row {i}: {} vs {want}", clv[i]);
    }

    // Bad input: no monetary values (exit 2 at the first customer's line); what stays refused.
    let fail = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let text = std::fs::read_to_string(&summary).unwrap();
    let bare: String = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{}\n", f[..4].join(","))
        })
        .collect();
    assert!(
        bare.starts_with("customer_id,frequency,recency,T\n"),
        "{bare}"
    );
    let bare_path = dir.join("bare.csv");
    std::fs::write(&bare_path, bare).unwrap();
    std::fs::remove_file(&scores).unwrap();
    let err = fail(predict(&grid, bare_path.to_str().unwrap(), &with_spend));
    assert!(
        err.contains("bare.csv:2:") && err.contains("monetary_value"),
        "{err}"
    );
    assert!(!scores.exists());
    for refused in [&["--purchase-pmf", "2"][..], &["--bootstrap", "20"]] {
        let err = fail(predict(&grid, &summary, refused));
        assert!(
            err.contains(refused[0]) && err.contains("not available"),
            "{err}"
        );
    }
}
