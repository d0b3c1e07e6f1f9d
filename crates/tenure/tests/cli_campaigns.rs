//! `tenure report campaigns`: on a generated company with every record kind, each campaign of
//! `campaigns.csv` is reported in id order with the association note; an observed campaign's
//! pooled counts are its segments' sums, no arm is larger than the campaign's touches, and
//! the rates are proportions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{full_company, scratch, tenure_ok};
use serde_json::Value;

#[test]
fn campaign_report_compares_touched_and_untouched_within_segments() {
    let dir = scratch("campaigns");
    let db = full_company(&dir, "400", "9");
    let gen = dir.join("company");
    // The generator bills EUR customers in EUR: a fixed rate, as a user would give.
    let money = ["--currency", "USD", "--fx", "EUR=1.087"];
    let mut args = vec!["report", "campaigns", "--db", &db, "--format", "json"];
    args.extend(money);
    let out = tenure_ok(&args);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert!(r["note"]
        .as_str()
        .unwrap()
        .contains("association, not a measured cause"));
    assert_eq!(r["window_days"], 180);
    // Campaign ids in file order, and touches per campaign from the file.
    let campaigns = std::fs::read_to_string(gen.join("campaigns.csv")).unwrap();
    let ids: Vec<&str> = campaigns
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let touches = std::fs::read_to_string(gen.join("touches.csv")).unwrap();
    let head: Vec<&str> = touches.lines().next().unwrap().split(',').collect();
    let ci = head.iter().position(|h| *h == "campaign_id").unwrap();
    let reported: Vec<&Value> = r["campaigns"].as_array().unwrap().iter().collect();
    let got: Vec<&str> = reported.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(got, ids);
    let mut observed = 0;
    for m in &reported {
        let sent = touches
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(ci) == m["id"].as_str())
            .count() as u64;
        let all = &m["overall"];
        if m["observed"] == false {
            assert_eq!(all["touched"], 0);
            continue;
        }
        observed += 1;
        let seg = m["segments"].as_array().unwrap();
        for arm in [
            "touched",
            "untouched",
            "touched_retained",
            "untouched_retained",
        ] {
            let sum: u64 = seg.iter().map(|s| s[arm].as_u64().unwrap()).sum();
            assert_eq!(all[arm].as_u64().unwrap(), sum, "{} {arm}", m["id"]);
        }
        assert!(all["touched"].as_u64().unwrap() <= sent);
        for s in seg.iter().chain([all]) {
            for k in ["touched_retention", "untouched_retention"] {
                if let Some(x) = s[k].as_f64() {
                    assert!((0.0..=1.0).contains(&x), "{s}");
                }
            }
        }
    }
    assert!(observed >= 3, "{observed} observed campaigns");
    // The table names the definition and the note.
    let mut args = vec!["report", "campaigns", "--db", &db];
    args.extend(money);
    let table = tenure_ok(&args);
    assert!(
        table.contains("relative_churn") && table.contains("association"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
