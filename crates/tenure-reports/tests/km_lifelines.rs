//! Kaplan–Meier estimates equal to lifelines 0.30.0's on the same data: the survival function,
//! the 95% exponential-Greenwood band, at-risk and event counts at every timeline point, the
//! median and its interval. The numbers are in `fixtures/` (regenerate with
//! `bench/km_reference.sh`; the version is in each file's first line). No Python here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use tenure_reports::kaplan_meier;

const DATA: &str = include_str!("fixtures/km_data.csv");
const CURVES: &str = include_str!("fixtures/km_lifelines_0.30.0.csv");
const MEDIANS: &str = include_str!("fixtures/km_median_lifelines_0.30.0.csv");

fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap()
}

/// lifelines writes an unbounded time as `inf`.
fn time(s: &str) -> Option<u32> {
    (s != "inf").then(|| num(s) as u32)
}

#[test]
fn the_fixture_says_which_lifelines() {
    for f in [DATA, CURVES, MEDIANS] {
        assert!(
            f.starts_with("# lifelines 0.30.0,"),
            "{}",
            f.lines().next().unwrap()
        );
    }
}

#[test]
fn survival_bands_and_medians_equal_lifelines() {
    let mut data: BTreeMap<&str, Vec<(u32, bool)>> = BTreeMap::new();
    for r in rows(DATA) {
        data.entry(r[0])
            .or_default()
            .push((r[1].parse().unwrap(), r[2] == "1"));
    }
    let mut curves: BTreeMap<&str, Vec<Vec<&str>>> = BTreeMap::new();
    for r in rows(CURVES) {
        curves.entry(r[0]).or_default().push(r);
    }
    let medians: BTreeMap<&str, Vec<&str>> = rows(MEDIANS).into_iter().map(|r| (r[0], r)).collect();
    assert_eq!(data.len(), 5);
    let close =
        |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300) || (a - b).abs() < 1e-15;
    for (name, obs) in &data {
        let km = kaplan_meier(obs, 0.95);
        let want = &curves[name];
        assert_eq!(km.points.len(), want.len(), "{name}: timeline length");
        for (p, w) in km.points.iter().zip(want) {
            assert_eq!(f64::from(p.time), num(w[1]), "{name}");
            assert_eq!(
                (p.at_risk, p.events, p.censored),
                (num(w[2]) as u64, num(w[3]) as u64, num(w[4]) as u64),
                "{name} t={}",
                p.time
            );
            assert!(
                close(p.survival, num(w[5])),
                "{name} t={}: S {} vs {}",
                p.time,
                p.survival,
                w[5]
            );
            assert!(
                close(p.lower, num(w[6])),
                "{name} t={}: lower {} vs {}",
                p.time,
                p.lower,
                w[6]
            );
            assert!(
                close(p.upper, num(w[7])),
                "{name} t={}: upper {} vs {}",
                p.time,
                p.upper,
                w[7]
            );
        }
        let m = &medians[name];
        assert_eq!(km.median, time(m[1]), "{name}: median");
        assert_eq!(km.median_lower, time(m[2]), "{name}: median lower");
        assert_eq!(km.median_upper, time(m[3]), "{name}: median upper");
    }
    // The cases the fixture covers: ties of events and censoring at event times, an
    // all-censored tail, S reaching 0, all censored (no median), an event at day 0.
    assert_eq!(medians["all_censored"][1], "inf");
    assert_eq!(medians["to_zero"][3], "11.0");
    assert_eq!(medians["ties"][3], "inf");
}
