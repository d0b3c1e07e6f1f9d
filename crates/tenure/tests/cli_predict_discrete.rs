//! `tenure predict` with the discrete-time models: BG/BB (horizon in transaction opportunities)
//! and sBG (horizon in the model's periods), checked against the models' own functions at the
//! fitted parameters and against the sBG reference values (testdata/refdata/sbg_reference.csv).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tenure_models::bgbb::BgBbParams;
use tenure_models::sbg::SbgParams;

/// A column whose cells may be empty (churned sBG customers): `None` for an empty cell.
fn cells(head: &[String], rows: &[Vec<String>], name: &str) -> Vec<Option<f64>> {
    let i = head
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {head:?}"));
    rows.iter()
        .map(|r| (!r[i].is_empty()).then(|| r[i].parse().unwrap()))
        .collect()
}

fn params(model: &Path) -> Value {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(model).unwrap()).unwrap();
    v["params"].clone()
}

/// Run `tenure predict`, expect exit status 2 and one line on stderr containing `needle`, and
/// no output file.
fn rejects(args: &[&str], out: &Path, needle: &str) {
    let o = tenure(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("tenure: "), "{err}");
    assert!(err.contains(needle), "{args:?}: `{needle}` not in: {err}");
    assert!(!out.exists(), "nothing written on failure");
}

fn fit_bgbb(dir: &Path) -> PathBuf {
    let m = dir.join("bgbb.json");
    tenure_ok(&[
        "fit",
        "bgbb",
        "--input",
        &ref_file("donations.csv"),
        "--output",
        m.to_str().unwrap(),
    ]);
    m
}

#[test]
fn bgbb_predictions_equal_the_model_at_the_fitted_params() {
    let dir = scratch("bgbb-predict");
    let model = fit_bgbb(&dir);
    let p = params(&model);
    let bb = BgBbParams {
        alpha: p["alpha"].as_f64().unwrap(),
        beta: p["beta"].as_f64().unwrap(),
        gamma: p["gamma"].as_f64().unwrap(),
        delta: p["delta"].as_f64().unwrap(),
    };
    let input = ref_file("donations.csv");
    let (ih, irows) = read_csv(&refdata().join("donations.csv"));
    let (x, tx, n, w) = (
        column(&ih, &irows, "frequency"),
        column(&ih, &irows, "recency"),
        column(&ih, &irows, "periods"),
        column(&ih, &irows, "weights"),
    );
    for horizon in [1u32, 5] {
        let out = dir.join(format!("scores-{horizon}.csv"));
        let report = json(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            &input,
            "--horizon",
            &horizon.to_string(),
            "--output",
            out.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(report["model"], "bgbb");
        assert_eq!(report["horizon"]["unit"], "opportunities");
        assert_eq!(report["horizon"]["amount"], horizon);
        assert_eq!(report["customers"].as_f64(), Some(11104.0));
        assert_eq!(report["rows"], 22);
        let (h, rows) = read_csv(&out);
        assert_eq!(
            h,
            [
                "customer_id",
                "p_alive",
                "p_alive_lower",
                "p_alive_upper",
                "expected_purchases",
                "expected_purchases_lower",
                "expected_purchases_upper"
            ]
        );
        assert_eq!(rows.len(), 22);
        let pa = column(&h, &rows, "p_alive");
        let ex = column(&h, &rows, "expected_purchases");
        let mut total = 0.0;
        for i in 0..rows.len() {
            let want_pa = bb.p_alive(x[i], tx[i], n[i]);
            let want_ex =
                bb.conditional_expected_transactions(f64::from(horizon), x[i], tx[i], n[i]);
            assert!(
                rel(pa[i], want_pa) < 1e-12,
                "row {i}: {} vs {want_pa}",
                pa[i]
            );
            assert!(
                rel(ex[i], want_ex) < 1e-12,
                "row {i}: {} vs {want_ex}",
                ex[i]
            );
            assert!(ex[i] > 0.0 && ex[i] <= f64::from(horizon));
            total += w[i] * ex[i];
        }
        let got_total = report["total_expected_purchases"].as_f64().unwrap();
        assert!(rel(got_total, total) < 1e-12, "{got_total} vs {total}");
        for q in ["p_alive", "expected_purchases"] {
            let v = column(&h, &rows, q);
            let lo = column(&h, &rows, &format!("{q}_lower"));
            let hi = column(&h, &rows, &format!("{q}_upper"));
            for i in 0..v.len() {
                assert!(
                    lo[i] < v[i] && v[i] < hi[i],
                    "{q} row {i}: {} not in ({}, {})",
                    v[i],
                    lo[i],
                    hi[i]
                );
                if q == "p_alive" {
                    assert!(lo[i] > 0.0 && hi[i] < 1.0);
                }
            }
        }
    }
    // More opportunities ahead, more expected transactions; P(alive) does not depend on them.
    let (h1, r1) = read_csv(&dir.join("scores-1.csv"));
    let (h5, r5) = read_csv(&dir.join("scores-5.csv"));
    let (e1, e5) = (
        column(&h1, &r1, "expected_purchases"),
        column(&h5, &r5, "expected_purchases"),
    );
    assert!(e1.iter().zip(&e5).all(|(a, b)| a < b));
    assert_eq!(column(&h1, &r1, "p_alive"), column(&h5, &r5, "p_alive"));
}

#[test]
fn bgbb_table_report_states_the_horizon_in_opportunities() {
    let dir = scratch("bgbb-table");
    let model = fit_bgbb(&dir);
    let out = dir.join("scores.csv");
    let text = tenure_ok(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        &ref_file("donations.csv"),
        "--horizon",
        "5",
        "--no-intervals",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("5 opportunities"), "{text}");
    assert!(text.contains("11104 (22 rows)"), "{text}");
    let (h, _) = read_csv(&out);
    assert_eq!(h, ["customer_id", "p_alive", "expected_purchases"]);
}

#[test]
fn bgbb_rejects_calendar_and_fractional_horizons() {
    let dir = scratch("bgbb-bad-horizon");
    let model = fit_bgbb(&dir);
    let m = model.to_str().unwrap();
    let input = ref_file("donations.csv");
    let out = dir.join("never.csv");
    let o = out.to_str().unwrap();
    let run = |horizon: &str, extra: &[&str], needle: &str| {
        let mut args = vec![
            "predict",
            "--model",
            m,
            "--input",
            &input,
            "--horizon",
            horizon,
            "--output",
            o,
        ];
        args.extend_from_slice(extra);
        rejects(&args, &out, needle);
    };
    run("2.5", &[], "--horizon 2.5: not a whole number");
    run("52w", &[], "no calendar unit");
    run("1y", &[], "no calendar unit");
    run("0", &[], "at least 1");
    run("5", &["--discount-rate", "10%/y"], "--discount-rate");
}

/// Reference row of sbg_reference.csv for a segment: (name → value).
fn sbg_reference(segment: &str) -> impl Fn(&str) -> f64 {
    let (head, rows) = read_csv(&refdata().join("sbg_reference.csv"));
    let row = rows.into_iter().find(|r| r[0] == segment).unwrap();
    move |name: &str| {
        row[head.iter().position(|h| h == name).unwrap()]
            .parse()
            .unwrap()
    }
}

/// Active customers with tenure 0..=4 (renewals made), one churned, one more active at 2.
fn sbg_records(dir: &Path) -> String {
    let p = dir.join("records.csv");
    std::fs::write(
        &p,
        "customer_id,tenure,churned\nc0,0,false\nc1,1,false\nc2,2,false\nc3,3,false\nc4,4,false\ngone,2,true\nc2b,2,false\n",
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn sbg_derl_and_survival_ratios_equal_the_reference() {
    let dir = scratch("sbg-reference");
    let records = sbg_records(&dir);
    for segment in ["regular", "highend"] {
        let r = sbg_reference(segment);
        let model = model_file(
            &dir,
            segment,
            "sbg",
            &serde_json::json!({ "alpha": r("alpha"), "beta": r("beta") }),
            Some("years"),
        );
        // The same horizon and rate written three ways give the same file.
        let mut files = Vec::new();
        for (k, (horizon, rate)) in [("3", "10%/y"), ("3y", "0.1/period"), ("36mo", "10%/year")]
            .into_iter()
            .enumerate()
        {
            let out = dir.join(format!("{segment}-{k}.csv"));
            tenure_ok(&[
                "predict",
                "--model",
                &model,
                "--input",
                &records,
                "--horizon",
                horizon,
                "--discount-rate",
                rate,
                "--output",
                out.to_str().unwrap(),
            ]);
            files.push(std::fs::read_to_string(&out).unwrap());
        }
        assert_eq!(files[0], files[1], "{segment}: 3 vs 3y");
        assert_eq!(files[0], files[2], "{segment}: 3 vs 36mo");

        let (h, rows) = read_csv(&dir.join(format!("{segment}-0.csv")));
        assert_eq!(
            h,
            [
                "customer_id",
                "tenure",
                "p_renew",
                "p_active_at_horizon",
                "derl"
            ],
            "no interval columns without a covariance"
        );
        let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(ids, ["c0", "c1", "c2", "c3", "c4", "gone", "c2b"]);
        let tenure = column(&h, &rows, "tenure");
        let renew = cells(&h, &rows, "p_renew");
        let active = cells(&h, &rows, "p_active_at_horizon");
        let derl = cells(&h, &rows, "derl");
        for i in 0..rows.len() {
            if ids[i] == "gone" {
                assert_eq!((renew[i], active[i], derl[i]), (None, None, None));
                continue;
            }
            let n = tenure[i] as usize;
            let s = |t: usize| r(&format!("survival_{t}"));
            let d = derl[i].unwrap();
            let want = r(&format!("derl_n{}_d0.10", n + 1));
            assert!(
                (d - want).abs() < 1e-6,
                "{segment} tenure {n}: DERL {d} vs {want}"
            );
            let pr = renew[i].unwrap();
            assert!(rel(pr, s(n + 1) / s(n)) < 1e-9, "{segment} {n}: r {pr}");
            let pa = active[i].unwrap();
            assert!(
                rel(pa, s(n + 3) / s(n)) < 1e-9,
                "{segment} {n}: S ratio {pa}"
            );
        }
    }
}

#[test]
fn sbg_fitted_model_predicts_with_intervals_and_a_survival_curve() {
    let dir = scratch("sbg-fit-predict");
    let model = dir.join("sbg.json");
    tenure_ok(&[
        "fit",
        "sbg",
        "--input",
        &ref_file("sbg_survival.csv"),
        "--column",
        "regular_pct_active",
        "--cohort-size",
        "1000",
        "--periods",
        "7",
        "--time-unit",
        "years",
        "--output",
        model.to_str().unwrap(),
    ]);
    let p = params(&model);
    let sbg = SbgParams {
        alpha: p["alpha"].as_f64().unwrap(),
        beta: p["beta"].as_f64().unwrap(),
    };
    let r = sbg_reference("regular");
    let records = sbg_records(&dir);
    let out = dir.join("scores.csv");
    let report = json(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        &records,
        "--horizon",
        "4y",
        "--discount-rate",
        "10%/y",
        "--output",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(report["time_unit"], "years");
    assert_eq!(report["horizon"]["in_model_unit"], 4);
    assert_eq!(report["active"], 6);
    assert_eq!(report["churned"], 1);
    // The new customer's curve, t = 0..=4: S(t) against the reference (fitted params agree to
    // ~1e-9), r(t) = S(t)/S(t−1), intervals around both.
    let curve = report["survival_curve"].as_array().unwrap();
    assert_eq!(curve.len(), 5);
    for (t, c) in curve.iter().enumerate() {
        assert_eq!(c["t"], t);
        let s = c["survival"]["value"].as_f64().unwrap();
        let want = r(&format!("survival_{t}"));
        assert!(rel(s, want) < 1e-6, "S({t}) = {s} vs {want}");
        if t == 0 {
            assert!(c["retention"].is_null());
            continue;
        }
        let (lo, hi) = (
            c["survival"]["lower"].as_f64().unwrap(),
            c["survival"]["upper"].as_f64().unwrap(),
        );
        assert!(0.0 < lo && lo < s && s < hi && hi < 1.0, "S({t}) interval");
        let ret = c["retention"]["value"].as_f64().unwrap();
        let want_r = r(&format!("survival_{t}")) / r(&format!("survival_{}", t - 1));
        assert!(rel(ret, want_r) < 1e-6, "r({t}) = {ret} vs {want_r}");
    }

    let (h, rows) = read_csv(&out);
    for q in ["p_renew", "p_active_at_horizon", "derl"] {
        for suffix in ["", "_lower", "_upper"] {
            assert!(h.contains(&format!("{q}{suffix}")), "{q}{suffix} in {h:?}");
        }
    }
    let tenure = column(&h, &rows, "tenure");
    let get = |q: &str| cells(&h, &rows, q);
    let (renew, active, derl) = (get("p_renew"), get("p_active_at_horizon"), get("derl"));
    for i in 0..rows.len() {
        if rows[i][0] == "gone" {
            assert!(h.iter().skip(2).all(|q| get(q)[i].is_none()));
            continue;
        }
        let n = tenure[i] as u32;
        let want_pa = sbg.survival(n + 4) / sbg.survival(n);
        assert!(rel(active[i].unwrap(), want_pa) < 1e-12, "tenure {n}");
        assert!(rel(renew[i].unwrap(), sbg.retention(n + 1)) < 1e-12);
        let d = derl[i].unwrap();
        let want = r(&format!("derl_n{}_d0.10", n + 1));
        assert!(rel(d, want) < 1e-4, "fitted DERL {d} vs reference {want}");
        assert!(rel(d, sbg.derl(0.1, n + 1).unwrap()) < 1e-12);
        for q in ["p_renew", "p_active_at_horizon", "derl"] {
            let (v, lo, hi) = (
                get(q)[i].unwrap(),
                get(&format!("{q}_lower"))[i].unwrap(),
                get(&format!("{q}_upper"))[i].unwrap(),
            );
            assert!(lo < v && v < hi, "{q} tenure {n}: {v} not in ({lo}, {hi})");
            if q != "derl" {
                assert!(lo > 0.0 && hi < 1.0);
            }
        }
    }

    // Without a discount rate there is no derl column; the table shows the survival curve.
    let out2 = dir.join("no-derl.csv");
    let text = tenure_ok(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        &records,
        "--horizon",
        "2",
        "--output",
        out2.to_str().unwrap(),
    ]);
    let (h2, _) = read_csv(&out2);
    assert!(!h2.iter().any(|c| c.starts_with("derl")), "{h2:?}");
    assert!(text.contains("S(t)") && text.contains("r(t)"), "{text}");
    assert!(text.contains("0.626706"), "S(1) in the table: {text}");
}

#[test]
fn sbg_rejects_horizons_and_rates_that_are_not_whole_model_periods() {
    let dir = scratch("sbg-bad-horizon");
    let records = sbg_records(&dir);
    let r = sbg_reference("regular");
    let ab = serde_json::json!({ "alpha": r("alpha"), "beta": r("beta") });
    let years = model_file(&dir, "years", "sbg", &ab, Some("years"));
    let periods = model_file(&dir, "periods", "sbg", &ab, Some("periods"));
    let out = dir.join("never.csv");
    let o = out.to_str().unwrap();
    let run = |model: &str, horizon: &str, extra: &[&str], needle: &str| {
        let mut args = vec![
            "predict",
            "--model",
            model,
            "--input",
            &records,
            "--horizon",
            horizon,
            "--output",
            o,
        ];
        args.extend_from_slice(extra);
        rejects(&args, &out, needle);
    };
    run(&years, "2.5", &[], "not a whole number");
    run(&years, "18mo", &[], "is 1.5 years");
    run(&years, "0", &[], "at least one period");
    run(&periods, "52w", &[], "no calendar length");
    run(
        &periods,
        "3",
        &["--discount-rate", "10%/y"],
        "state the rate per period",
    );
    run(&years, "3", &["--discount-rate", "0%/y"], "positive");
    // Churned at tenure 0 is impossible: the line is named.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "customer_id,tenure,churned\na,1,false\nb,0,true\n").unwrap();
    let o2 = tenure(&[
        "predict",
        "--model",
        &years,
        "--input",
        bad.to_str().unwrap(),
        "--horizon",
        "3",
        "--output",
        o,
    ]);
    assert_eq!(o2.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o2.stderr).contains("bad.csv:3:"));
}
