//! Helpers shared by the CLI tests: the binary, reference data, scratch folders.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The reference data: `$TENURE_REFDATA` (CI: ../shared/refdata) or the in-repo copy.
pub fn refdata() -> PathBuf {
    match std::env::var_os("TENURE_REFDATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/refdata"),
    }
}

pub fn ref_file(name: &str) -> String {
    refdata().join(name).display().to_string()
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tenure-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn tenure(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args(args)
        .output()
        .expect("the tenure binary runs")
}

/// Run tenure, require success, return stdout.
pub fn tenure_ok(args: &[&str]) -> String {
    let out = tenure(args);
    assert!(
        out.status.success(),
        "tenure {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A generated company (300 customers, seed 3) imported into `DIR/t.db`, the six kinds of
/// issue 3; returns the store path.
pub fn company(dir: &Path) -> String {
    generated_store(
        dir,
        "300",
        "3",
        &[
            "customers",
            "subscriptions",
            "transactions",
            "costs",
            "usage",
            "feedback",
        ],
    )
}

/// A generated company with all eleven record kinds imported into `DIR/t.db`.
pub fn full_company(dir: &Path, customers: &str, seed: &str) -> String {
    generated_store(
        dir,
        customers,
        seed,
        &[
            "customers",
            "subscriptions",
            "transactions",
            "costs",
            "usage",
            "feedback",
            "cases",
            "payments",
            "interactions",
            "campaigns",
            "touches",
        ],
    )
}

/// `tenure generate` into `DIR/company`, then `tenure import` of `kinds` in order.
fn generated_store(dir: &Path, customers: &str, seed: &str, kinds: &[&str]) -> String {
    let gen = dir.join("company");
    tenure_ok(&[
        "generate",
        "--customers",
        customers,
        "--seed",
        seed,
        "--out",
        gen.to_str().unwrap(),
    ]);
    let db = dir.join("t.db").to_str().unwrap().to_string();
    for kind in kinds {
        let f = gen.join(format!("{kind}.csv"));
        tenure_ok(&["import", kind, f.to_str().unwrap(), "--db", &db]);
    }
    db
}

/// A decision command (`segments`, `stages`, `run-playbooks`, …) on `db` for `day`, in USD with
/// EUR at 1.087, as JSON, then `extra`.
pub fn decide_args<'a>(
    cmd: &[&'a str],
    db: &'a str,
    day: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut v = cmd.to_vec();
    v.extend_from_slice(&[
        "--db",
        db,
        "--as-of",
        day,
        "--currency",
        "USD",
        "--fx",
        "EUR=1.087",
        "--format",
        "json",
    ]);
    v.extend_from_slice(extra);
    v
}

pub fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&tenure_ok(args)).unwrap()
}

/// Parse a CSV (with `#` comment lines) into header + rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let head = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (head, rows)
}

pub fn column(head: &[String], rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let i = head
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    rows.iter().map(|r| r[i].parse().unwrap()).collect()
}

pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// A model file holding given parameters and no covariance, as `tenure fit --output` writes it;
/// lifetimes' Gamma-Gamma name `v` is renamed `gamma`. Returns its path.
pub fn model_file(
    dir: &Path,
    name: &str,
    model: &str,
    params: &serde_json::Value,
    unit: Option<&str>,
) -> String {
    let mut params = params.clone();
    if let Some(v) = params.as_object_mut().and_then(|o| o.remove("v")) {
        params["gamma"] = v;
    }
    let v = serde_json::json!({
        "model": model, "params": params, "standard_errors": {}, "log_likelihood": 0.0, "n": 0.0,
        "converged": true, "aic": 0.0, "bic": 0.0, "covariance": null, "time_unit": unit,
        "optimizer": {"method": "given", "iterations": 0, "gradient_norm": 0.0, "starts_tried": 0},
        "input": {"file": "", "rows": 0, "distinct_rows": 0}, "tenure_version": "test"
    });
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, v.to_string()).unwrap();
    p.display().to_string()
}

/// A PostgreSQL schema of its own for one test: `(admin client, URL whose search_path is the
/// schema, schema name)`. `None` (after printing why) when no server answers outside CI; with
/// `CI=true` an unreachable server fails the test. URL from `$TENURE_TEST_PG`.
pub fn pg_schema(prefix: &str) -> Option<(postgres::Client, String, String)> {
    let url = std::env::var("TENURE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut admin = match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(c) => c,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PostgreSQL not reachable at {url} and CI=true: {e}")
        }
        Err(e) => {
            eprintln!("skipped: PostgreSQL not reachable at {url}: {e}");
            return None;
        }
    };
    let schema = format!("{prefix}_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    Some((admin, db, schema))
}

/// A model file: its JSON, its parameters (in the file's order) and its covariance.
pub fn params_and_covariance(model: &str) -> (serde_json::Value, Vec<f64>, Vec<Vec<f64>>) {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model).unwrap()).unwrap();
    let theta = m["params"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let cov = m["covariance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    (m, theta, cov)
}
