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
