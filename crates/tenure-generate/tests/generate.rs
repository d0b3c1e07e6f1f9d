//! The generated company: determinism, the schema's columns, referential integrity, and
//! the generating parameters recovered from the files alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Datelike, Months, NaiveDate};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;
use tenure_generate::{generate, write_dir, Config, GenerateError, RecordFile, Summary};
use tenure_models::fit::FitOptions;
use tenure_models::sbg::{fit_sbg_records, SbgRecord, SbgRecords};

/// One file: header and rows (RFC 4180 parsing, so the quoted attributes cell is one field).
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn parse(bytes: &[u8]) -> Table {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes);
        let header = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
            .collect();
        Table { header, rows }
    }
    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
    /// The values of one column.
    fn values(&self, name: &str) -> Vec<&str> {
        let i = self.col(name);
        self.rows.iter().map(|r| r[i].as_str()).collect()
    }
}

struct Company {
    config: Config,
    summary: Summary,
    bytes: [Vec<u8>; RecordFile::COUNT],
    files: [Table; RecordFile::COUNT],
}

impl Company {
    fn new(config: Config) -> Company {
        let mut bytes: [Vec<u8>; RecordFile::COUNT] = Default::default();
        let summary = generate(&config, &mut bytes).unwrap();
        let files = std::array::from_fn(|i| Table::parse(&bytes[i]));
        Company {
            config,
            summary,
            bytes,
            files,
        }
    }
    fn file(&self, f: RecordFile) -> &Table {
        &self.files[f as usize]
    }
}

fn config(customers: usize, seed: u64) -> Config {
    Config {
        customers,
        seed,
        ..Config::default()
    }
}

/// The N = 5000 company the recovery tests share (generated once).
fn big() -> &'static Company {
    static BIG: OnceLock<Company> = OnceLock::new();
    BIG.get_or_init(|| Company::new(config(5000, 20240601)))
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|_| panic!("bad date {s:?}"))
}

/// Whole calendar months from `a` to `b`: the largest k with a + k months ≤ b (month ends
/// clamped, as billing does).
fn months_between(a: NaiveDate, b: NaiveDate) -> u32 {
    let mut k = ((b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32).max(0) as u32;
    while k > 0 && a.checked_add_months(Months::new(k)).unwrap() > b {
        k -= 1;
    }
    k
}

/// Cents of a money cell; panics unless it has exactly two decimals.
fn cents(s: &str) -> i64 {
    let (int, frac) = s
        .split_once('.')
        .unwrap_or_else(|| panic!("{s:?}: no decimals"));
    assert_eq!(frac.len(), 2, "{s:?}: not two decimals");
    assert!(frac.bytes().all(|b| b.is_ascii_digit()), "{s:?}");
    let neg = int.starts_with('-');
    let whole: i64 = int.trim_start_matches('-').parse().unwrap();
    let c = whole * 100 + frac.parse::<i64>().unwrap();
    if neg {
        -c
    } else {
        c
    }
}

/// One subscription chain: rows of a customer, each starting the day the previous ended.
#[derive(Debug, Clone)]
struct Chain {
    customer: String,
    plan_at_start: String,
    interval: String,
    start: NaiveDate,
    end: Option<NaiveDate>,
}

/// The chains of every customer, in order of start, from subscriptions.csv.
fn chains(t: &Table) -> Vec<Chain> {
    let (cu, pl, st, en, iv) = (
        t.col("customer_id"),
        t.col("plan"),
        t.col("started_at"),
        t.col("ended_at"),
        t.col("interval"),
    );
    let mut by_customer: BTreeMap<&str, Vec<&Vec<String>>> = BTreeMap::new();
    for r in &t.rows {
        by_customer.entry(&r[cu]).or_default().push(r);
    }
    let mut out = Vec::new();
    for (c, mut rows) in by_customer {
        rows.sort_by_key(|r| date(&r[st]));
        let mut current: Option<Chain> = None;
        for r in rows {
            let s = date(&r[st]);
            let e = (!r[en].is_empty()).then(|| date(&r[en]));
            match current.as_mut() {
                Some(ch) if ch.end == Some(s) => ch.end = e,
                _ => {
                    if let Some(ch) = current.take() {
                        out.push(ch);
                    }
                    current = Some(Chain {
                        customer: c.to_string(),
                        plan_at_start: r[pl].clone(),
                        interval: r[iv].clone(),
                        start: s,
                        end: e,
                    });
                }
            }
        }
        out.extend(current);
    }
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_company() {
    let a = Company::new(config(300, 5));
    let b = Company::new(config(300, 5));
    for f in RecordFile::ALL {
        assert_eq!(
            a.bytes[f as usize],
            b.bytes[f as usize],
            "{} differs between two runs",
            f.file_name()
        );
        // Six campaigns; every other file has many rows.
        let least = if f == RecordFile::Campaigns { 5 } else { 10 };
        assert!(
            a.file(f).rows.len() > least,
            "{} nearly empty",
            f.file_name()
        );
    }
    let c = Company::new(config(300, 6));
    assert_ne!(
        a.bytes[RecordFile::Transactions as usize],
        c.bytes[RecordFile::Transactions as usize]
    );
    assert_eq!(a.summary, b.summary);
    for f in RecordFile::ALL {
        assert_eq!(a.summary.rows[f as usize], a.file(f).rows.len() as u64);
    }
}

#[test]
fn write_dir_writes_the_same_bytes_and_the_parameters() {
    let dir = std::env::temp_dir().join(format!("tenure-generate-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = config(200, 11);
    let summary = write_dir(&cfg, &dir).unwrap();
    let mem = Company::new(cfg.clone());
    assert_eq!(summary, mem.summary);
    for f in RecordFile::ALL {
        let on_disk = std::fs::read(dir.join(f.file_name())).unwrap();
        assert_eq!(on_disk, mem.bytes[f as usize], "{}", f.file_name());
    }
    let params = std::fs::read_to_string(dir.join("parameters.json")).unwrap();
    assert_eq!(Config::from_json(&params).unwrap(), cfg);
    let json: serde_json::Value = serde_json::from_str(&params).unwrap();
    assert_eq!(json["observed_until"], "2025-12-31");
    assert_eq!(json["plans"][0]["churn_monthly"]["alpha"], 0.9);
    assert_eq!(json["channels"][1]["cac"], "2500.00");
    // The truth: who was payment-troubled, how many were touched, the effects' sizes.
    let truth = &json["truth"];
    let troubled: Vec<&str> = truth["payment_trouble"]["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(troubled, summary.truth.payment_troubled);
    assert!(!troubled.is_empty());
    assert_eq!(truth["payment_trouble"]["churn_factor"], 2.0);
    assert_eq!(truth["retention_touch"]["hazard_ratio"], 0.8);
    assert_eq!(truth["retention_touch"]["effect_months"], 6);
    assert_eq!(
        truth["retention_touch"]["touches"],
        summary.rows[RecordFile::Touches as usize]
    );
    // Nothing but the twelve files: no temporary file left behind.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "campaigns.csv",
            "cases.csv",
            "costs.csv",
            "customers.csv",
            "feedback.csv",
            "interactions.csv",
            "parameters.json",
            "payments.csv",
            "subscriptions.csv",
            "touches.csv",
            "transactions.csv",
            "usage.csv"
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_run_leaves_no_file() {
    // The output folder is a file: nothing can be written, and the error names it.
    let path = std::env::temp_dir().join(format!("tenure-generate-file-{}", std::process::id()));
    std::fs::write(&path, "x").unwrap();
    let err = write_dir(&config(10, 1), &path).unwrap_err();
    assert!(matches!(err, GenerateError::Io { .. }), "{err}");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "x");
    std::fs::remove_file(&path).unwrap();
}

/// The columns of each kind, read from docs/schema.md's table (not from the generator).
fn schema_columns() -> BTreeMap<String, Vec<String>> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/schema.md"))
            .unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut kind = String::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[2].starts_with('`') {
            continue; // header or rule
        }
        if !cells[1].is_empty() {
            kind = cells[1]
                .split('`')
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
        }
        out.entry(kind.clone())
            .or_default()
            .push(cells[2].trim_matches('`').to_string());
    }
    out
}

/// The columns of the five kinds of issue 10, as its schema gives them (used while
/// docs/schema.md does not list them yet; once it does, the test reads them from there).
const ISSUE_10_COLUMNS: [(&str, &[&str]); 5] = [
    (
        "cases",
        &[
            "id",
            "customer_id",
            "opened_at",
            "closed_at",
            "severity",
            "category",
            "product",
            "status",
            "owner",
            "escalated",
            "escalated_to",
            "satisfaction",
        ],
    ),
    (
        "payments",
        &[
            "id",
            "customer_id",
            "occurred_at",
            "kind",
            "amount",
            "currency",
            "invoice",
        ],
    ),
    (
        "interactions",
        &[
            "id",
            "customer_id",
            "occurred_at",
            "kind",
            "owner",
            "summary",
        ],
    ),
    (
        "campaigns",
        &["id", "name", "channel", "started_at", "cost", "currency"],
    ),
    (
        "touches",
        &[
            "id",
            "campaign_id",
            "customer_id",
            "sent_at",
            "opened",
            "clicked",
            "replied",
        ],
    ),
];

#[test]
fn every_file_has_exactly_the_schema_columns() {
    let mut schema = schema_columns();
    assert!(schema.len() >= 6, "{schema:?}");
    for (kind, cols) in ISSUE_10_COLUMNS {
        let listed = schema
            .entry(kind.to_string())
            .or_insert_with(|| cols.iter().map(|c| c.to_string()).collect());
        assert_eq!(listed, cols, "{kind}: docs/schema.md and issue 10 disagree");
    }
    assert_eq!(schema.len(), RecordFile::COUNT, "{schema:?}");
    let co = Company::new(config(100, 3));
    for f in RecordFile::ALL {
        let kind = f.file_name().trim_end_matches(".csv");
        let want = &schema[kind];
        assert_eq!(&co.file(f).header, want, "{}", f.file_name());
        assert_eq!(f.columns(), want.as_slice());
        for (i, r) in co.file(f).rows.iter().enumerate() {
            assert_eq!(r.len(), want.len(), "{} row {}", f.file_name(), i + 2);
        }
    }
}

#[test]
fn records_are_consistent() {
    let co = Company::new(config(2000, 99));
    let until = co.summary.observed_until;
    let start = co.config.start.0;
    let in_window = |d: NaiveDate, what: &str| {
        assert!(d >= start && d <= until, "{what}: {d} outside the window");
    };

    // Customers: unique ids; referrers exist and were acquired strictly earlier.
    let cu = co.file(RecordFile::Customers);
    let mut acquired: HashMap<&str, NaiveDate> = HashMap::new();
    for r in &cu.rows {
        let d = date(&r[cu.col("acquired_at")]);
        in_window(d, "acquired_at");
        assert!(
            acquired.insert(&r[0], d).is_none(),
            "customer {} twice",
            r[0]
        );
        let attrs: serde_json::Value = serde_json::from_str(&r[cu.col("attributes")]).unwrap();
        assert!(attrs["employees"].as_u64().unwrap() >= 1);
    }
    assert_eq!(acquired.len(), 2000);
    let mut referred = 0;
    for r in &cu.rows {
        let by = &r[cu.col("referred_by")];
        let channel = &r[cu.col("channel")];
        assert_eq!(by.is_empty(), channel != "referral", "{r:?}");
        if !by.is_empty() {
            referred += 1;
            let when = acquired.get(by.as_str()).expect("referrer exists");
            assert!(
                *when < acquired[r[0].as_str()],
                "{r:?} referred by later {by}"
            );
        }
    }
    assert!(referred > 200, "{referred} referrals");

    let unique = |t: &Table, what: &str| {
        let mut seen = HashSet::new();
        for id in t.values("id") {
            assert!(!id.is_empty(), "{what}: empty id");
            assert!(seen.insert(id), "{what}: id {id} twice");
        }
    };
    let known = |c: &str, what: &str| {
        assert!(acquired.contains_key(c), "{what}: unknown customer {c:?}");
    };

    // Transactions.
    let tx = co.file(RecordFile::Transactions);
    unique(tx, "transactions");
    let mut currency: HashMap<&str, &str> = HashMap::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &tx.rows {
        let c = r[tx.col("customer_id")].as_str();
        known(c, "transactions");
        let d = date(&r[tx.col("date")]);
        in_window(d, "transaction date");
        assert!(d >= acquired[c], "{r:?} before acquisition");
        let kind = r[tx.col("kind")].as_str();
        *kinds.entry(kind).or_default() += 1;
        let amount = cents(&r[tx.col("amount")]);
        assert_eq!(amount < 0, kind == "refund", "{r:?}");
        let cogs = &r[tx.col("cogs")];
        if kind == "refund" {
            assert!(cogs.is_empty());
        } else {
            let g = cents(cogs);
            assert!(g >= 0 && g <= amount, "{r:?}");
        }
        let cur = r[tx.col("currency")].as_str();
        assert!(cur == "USD" || cur == "EUR", "{r:?}");
        assert_eq!(
            *currency.entry(c).or_insert(cur),
            cur,
            "{c}: two currencies"
        );
    }
    for k in [
        "new",
        "renewal",
        "expansion",
        "upsell",
        "change_order",
        "one_off",
        "refund",
    ] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) > 0,
            "no {k} lines: {kinds:?}"
        );
    }
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    let eur = currency.values().filter(|c| **c == "EUR").count();
    assert!(
        eur > 100 && eur < 300,
        "{eur} EUR customers of 2000 (10 % expected)"
    );

    // Subscriptions: chains that never overlap.
    let su = co.file(RecordFile::Subscriptions);
    unique(su, "subscriptions");
    for r in &su.rows {
        known(&r[su.col("customer_id")], "subscriptions");
        let s = date(&r[su.col("started_at")]);
        in_window(s, "started_at");
        let end = &r[su.col("ended_at")];
        let status = r[su.col("status")].as_str();
        if end.is_empty() {
            assert_eq!(status, "active", "{r:?}");
        } else {
            let e = date(end);
            assert!(e >= s, "{r:?}: ends before it starts");
            in_window(e, "ended_at");
            assert_eq!(status, "canceled", "{r:?}");
        }
        let seats: u64 = r[su.col("seats")].parse().unwrap();
        assert!(seats >= 1, "{r:?}");
        assert!(cents(&r[su.col("amount")]) >= 0, "{r:?}");
        assert!(["month", "year"].contains(&r[su.col("interval")].as_str()));
    }
    let all = chains(su);
    let mut last_end: HashMap<&str, Option<NaiveDate>> = HashMap::new();
    for ch in &all {
        if let Some(prev) = last_end.insert(&ch.customer, ch.end) {
            let prev = prev.expect("only the last chain of a customer may be running");
            assert!(ch.start > prev, "{ch:?} overlaps the previous chain");
        }
    }
    let reactivated = all.len() - last_end.len();
    assert!(reactivated > 0, "no reactivations");

    // Costs: one attachment each, known customers and channels, months as cohorts.
    let co_t = co.file(RecordFile::Costs);
    unique(co_t, "costs");
    let channels: HashSet<&str> = co.config.channels.iter().map(|c| c.name.as_str()).collect();
    let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &co_t.rows {
        in_window(date(&r[co_t.col("date")]), "cost date");
        assert!(cents(&r[co_t.col("amount")]) >= 0, "{r:?}");
        assert_eq!(&r[co_t.col("currency")], "USD");
        let cat = r[co_t.col("category")].as_str();
        *categories.entry(cat).or_default() += 1;
        let (c, ch, cohort) = (
            &r[co_t.col("customer_id")],
            &r[co_t.col("channel")],
            &r[co_t.col("cohort")],
        );
        let set = [c, ch, cohort].iter().filter(|s| !s.is_empty()).count();
        assert_eq!(set, 1, "{r:?}: exactly one of customer_id, channel, cohort");
        if !c.is_empty() {
            known(c, "costs");
        }
        if !ch.is_empty() {
            assert!(channels.contains(ch.as_str()), "{r:?}");
            assert_eq!(cat, "acquisition");
        }
        if !cohort.is_empty() {
            assert!(date(&format!("{cohort}-01")) >= start, "{r:?}");
        }
    }
    assert_eq!(
        categories.keys().copied().collect::<Vec<_>>(),
        ["acquisition", "retention", "service"]
    );

    // Usage: the derived id (customer, user, feature, week) is unique; Mondays only.
    let us = co.file(RecordFile::Usage);
    let mut seen = HashSet::new();
    for r in &us.rows {
        assert!(r[0].is_empty());
        known(&r[us.col("customer_id")], "usage");
        let d = date(&r[us.col("occurred_at")]);
        in_window(d, "usage");
        assert_eq!(d.weekday(), chrono::Weekday::Mon);
        let q: u64 = r[us.col("quantity")].parse().unwrap();
        assert!(q >= 1);
        assert!(seen.insert((
            &r[us.col("customer_id")],
            &r[us.col("user")],
            &r[us.col("feature")],
            d
        )));
    }

    // Feedback.
    let fb = co.file(RecordFile::Feedback);
    unique(fb, "feedback");
    for r in &fb.rows {
        known(&r[fb.col("customer_id")], "feedback");
        in_window(date(&r[fb.col("occurred_at")]), "feedback");
        let score: u32 = r[fb.col("score")].parse().unwrap();
        match r[fb.col("kind")].as_str() {
            "nps" => assert!(score <= 10),
            "csat" => assert!((1..=5).contains(&score)),
            k => panic!("kind {k}"),
        }
    }
}

/// (tenure in months, churned) of the first subscription of each monthly-billed customer
/// who started on `plan`.
fn sbg_records(co: &Company, plan: &str) -> Vec<SbgRecord> {
    let until = co.summary.observed_until;
    let mut seen = HashSet::new();
    chains(co.file(RecordFile::Subscriptions))
        .into_iter()
        .filter(|ch| seen.insert(ch.customer.clone())) // the first chain only
        .filter(|ch| ch.plan_at_start == plan && ch.interval == "month")
        .map(|ch| match ch.end {
            Some(e) => SbgRecord {
                tenure: months_between(ch.start, e),
                churned: true,
            },
            None => SbgRecord {
                tenure: months_between(ch.start, until),
                churned: false,
            },
        })
        .collect()
}

#[test]
fn churn_recovers_each_plans_sbg_parameters() {
    let co = big();
    for (i, plan) in ["starter", "growth"].iter().enumerate() {
        let truth = co.config.plans[i].churn_monthly;
        let records = sbg_records(co, plan);
        assert!(records.iter().all(|r| !r.churned || r.tenure >= 1));
        let data = SbgRecords::new(&records).unwrap();
        let (est, fit) = fit_sbg_records(&data, &FitOptions::default()).unwrap();
        assert!(fit.converged);
        let (se_a, se_b) = (fit.standard_errors[0], fit.standard_errors[1]);
        eprintln!(
            "{plan}: n = {}, alpha {:.3} ± {se_a:.3} (true {}), beta {:.2} ± {se_b:.2} (true {})",
            records.len(),
            est.alpha,
            truth.alpha,
            est.beta,
            truth.beta
        );
        assert!(se_a.is_finite() && se_b.is_finite());
        assert!(
            (est.alpha - truth.alpha).abs() < 3.0 * se_a,
            "{plan}: alpha {} vs {} (se {se_a})",
            est.alpha,
            truth.alpha
        );
        assert!(
            (est.beta - truth.beta).abs() < 3.0 * se_b,
            "{plan}: beta {} vs {} (se {se_b})",
            est.beta,
            truth.beta
        );
        // The estimate is informative: a wrong tenure (off by one month) would be rejected.
        let shifted: Vec<SbgRecord> = records
            .iter()
            .map(|r| SbgRecord {
                tenure: r.tenure + 1,
                ..*r
            })
            .collect();
        let (off, _) =
            fit_sbg_records(&SbgRecords::new(&shifted).unwrap(), &FitOptions::default()).unwrap();
        let mean = |a: f64, b: f64| a / (a + b);
        let mean_se = 0.1 * truth.mean();
        assert!(
            (mean(off.alpha, off.beta) - truth.mean()).abs() > mean_se,
            "{plan}: shifting tenures by one month should move the mean churn"
        );
    }
}

#[test]
fn channel_shares_and_cac_are_recovered() {
    let co = big();
    let cu = co.file(RecordFile::Customers);
    let n = cu.rows.len() as f64;
    let mut count: HashMap<&str, f64> = HashMap::new();
    for c in cu.values("channel") {
        *count.entry(c).or_default() += 1.0;
    }
    let costs = co.file(RecordFile::Costs);
    let mut spend: HashMap<&str, i64> = HashMap::new();
    let (ch, am) = (costs.col("channel"), costs.col("amount"));
    for r in &costs.rows {
        if !r[ch].is_empty() {
            *spend.entry(&r[ch]).or_default() += cents(&r[am]);
        }
    }
    for c in &co.config.channels {
        let share = count.get(c.name.as_str()).copied().unwrap_or(0.0) / n;
        let se = (c.share * (1.0 - c.share) / n).sqrt();
        eprintln!(
            "{}: share {share:.4} (true {}, se {se:.4})",
            c.name, c.share
        );
        assert!(
            (share - c.share).abs() < 3.0 * se,
            "{}: share {share} vs {}",
            c.name,
            c.share
        );
        // CAC = channel spend / customers acquired; monthly noise (sd 10 %) averages out.
        let cac = spend[c.name.as_str()] as f64 / count[c.name.as_str()];
        eprintln!("{}: cac {:.2} (true {})", c.name, cac / 100.0, c.cac);
        assert!(
            (cac / c.cac.0 as f64 - 1.0).abs() < 0.06,
            "{}: cac {} vs {}",
            c.name,
            cac / 100.0,
            c.cac
        );
    }
}

/// (mean weekly usage in the last 8 weeks, in the 12 weeks before them).
type Windows = (f64, f64);

/// Mean weekly usage (total quantity a week) of each customer in the 8 weeks before the
/// end of her first subscription (`churned`) or before the window's end (running ones),
/// and in the 12 weeks before that; starter customers billed monthly with 3+ seats
/// throughout are used, so tracked users (min(seats, 3)) do not differ between groups.
fn usage_windows(co: &Company) -> (Vec<Windows>, Vec<Windows>) {
    let until = co.summary.observed_until;
    let su = co.file(RecordFile::Subscriptions);
    let (cu, se) = (su.col("customer_id"), su.col("seats"));
    let mut min_seats: HashMap<&str, u64> = HashMap::new();
    for r in &su.rows {
        let s: u64 = r[se].parse().unwrap();
        let m = min_seats.entry(&r[cu]).or_insert(s);
        *m = (*m).min(s);
    }
    let mut first: HashMap<String, Chain> = HashMap::new();
    let mut chains_per: HashMap<String, usize> = HashMap::new();
    for ch in chains(su) {
        *chains_per.entry(ch.customer.clone()).or_default() += 1;
        first.entry(ch.customer.clone()).or_insert(ch);
    }
    let us = co.file(RecordFile::Usage);
    let (uc, ud, uq) = (
        us.col("customer_id"),
        us.col("occurred_at"),
        us.col("quantity"),
    );
    let mut weekly: HashMap<&str, BTreeMap<NaiveDate, f64>> = HashMap::new();
    for r in &us.rows {
        *weekly
            .entry(&r[uc])
            .or_default()
            .entry(date(&r[ud]))
            .or_default() += r[uq].parse::<f64>().unwrap();
    }
    let empty = BTreeMap::new();
    let (mut churned, mut running) = (Vec::new(), Vec::new());
    for (c, ch) in &first {
        if ch.plan_at_start != "starter"
            || ch.interval != "month"
            || min_seats[c.as_str()] < 3
            || chains_per[c] > 1
        {
            continue;
        }
        let end = ch.end.unwrap_or(until + chrono::Duration::days(1));
        // 20 weeks of history before the end.
        if end - ch.start < chrono::Duration::days(7 * 21) {
            continue;
        }
        let w = weekly.get(c.as_str()).unwrap_or(&empty);
        let mean = |from: i64, to: i64| {
            // Mondays in [end − from days, end − to days).
            let (a, b) = (
                end - chrono::Duration::days(from),
                end - chrono::Duration::days(to),
            );
            let mut weeks = 0.0;
            let mut total = 0.0;
            let mut d = a;
            while d < b {
                if d.weekday() == chrono::Weekday::Mon {
                    weeks += 1.0;
                    total += w.get(&d).copied().unwrap_or(0.0);
                }
                d += chrono::Duration::days(1);
            }
            total / weeks
        };
        let pair = (mean(56, 0), mean(140, 56));
        if ch.end.is_some() {
            churned.push(pair);
        } else {
            running.push(pair);
        }
    }
    (churned, running)
}

fn avg(v: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0.0);
    for x in v {
        s += x;
        n += 1.0;
    }
    s / n
}

#[test]
fn usage_declines_before_churn() {
    let (churned, running) = usage_windows(big());
    assert!(
        churned.len() > 100 && running.len() > 100,
        "{} {}",
        churned.len(),
        running.len()
    );
    let last_churned = avg(churned.iter().map(|p| p.0));
    let last_running = avg(running.iter().map(|p| p.0));
    // Ratio of the last 8 weeks to the 12 before them, per group.
    let ratio_churned = last_churned / avg(churned.iter().map(|p| p.1));
    let ratio_running = last_running / avg(running.iter().map(|p| p.1));
    eprintln!(
        "last 8 weeks: churned {last_churned:.1}, running {last_running:.1}; ratio to the 12 weeks before: {ratio_churned:.3} vs {ratio_running:.3} (n = {}, {})",
        churned.len(),
        running.len()
    );
    assert!(last_churned < 0.8 * last_running);
    // The documented effect: the last 8 weeks (k = 0..7 whole weeks left) average
    // 1 − 0.6 · (1 − 3.5/12) = 57.5 % of normal; of the 12 weeks before them, k = 8..11 are
    // still in the ramp (0.80, 0.85, 0.90, 0.95), a mean of 11.5/12 = 0.958, so the ratio is
    // 0.575 / 0.958 = 0.60.
    assert!((ratio_churned - 0.60).abs() < 0.06, "{ratio_churned}");
    assert!((ratio_running - 1.0).abs() < 0.08, "{ratio_running}");

    // Without the effect, churners' usage does not fall: the test above can fail.
    let mut flat = config(3000, 20240601);
    flat.usage.decline = 0.0;
    let (churned, _) = usage_windows(&Company::new(flat));
    let ratio = avg(churned.iter().map(|p| p.0)) / avg(churned.iter().map(|p| p.1));
    assert!(
        (ratio - 1.0).abs() < 0.08,
        "no decline configured, ratio {ratio}"
    );
}

#[test]
fn promoters_are_healthy_long_tenured_customers() {
    let co = big();
    let cu = co.file(RecordFile::Customers);
    let acquired: HashMap<&str, NaiveDate> = cu
        .rows
        .iter()
        .map(|r| (r[0].as_str(), date(&r[cu.col("acquired_at")])))
        .collect();
    let until = co.summary.observed_until;
    let mut churn_dates: HashMap<String, Vec<NaiveDate>> = HashMap::new();
    for ch in chains(co.file(RecordFile::Subscriptions)) {
        if let Some(e) = ch.end {
            churn_dates.entry(ch.customer).or_default().push(e);
        }
    }
    let fb = co.file(RecordFile::Feedback);
    let (mut good, mut bad) = ((0.0, 0.0), (0.0, 0.0));
    for r in &fb.rows {
        if r[fb.col("kind")] != "nps" {
            continue;
        }
        let c = r[fb.col("customer_id")].as_str();
        let d = date(&r[fb.col("occurred_at")]);
        let score: u32 = r[fb.col("score")].parse().unwrap();
        let promoter = if score >= 9 { 1.0 } else { 0.0 };
        let churn_soon = churn_dates
            .get(c)
            .is_some_and(|v| v.iter().any(|e| *e > d && (*e - d).num_days() < 120));
        let tenure = (d - acquired[c]).num_days();
        if tenure >= 365 && !churn_soon && until - d > chrono::Duration::days(120) {
            good = (good.0 + promoter, good.1 + 1.0);
        } else if tenure < 365 && churn_soon {
            bad = (bad.0 + promoter, bad.1 + 1.0);
        }
    }
    let (pg, pb) = (good.0 / good.1, bad.0 / bad.1);
    eprintln!(
        "promoters: {pg:.3} of {} healthy long-tenured, {pb:.3} of {} about to churn",
        good.1, bad.1
    );
    assert!(good.1 > 200.0 && bad.1 > 50.0);
    assert!(pg > pb + 0.1, "{pg} vs {pb}");
}

#[test]
fn bad_parameters_are_named() {
    let mut c = config(10, 1);
    c.channels[0].share = 0.5;
    match generate(&c, &mut <[Vec<u8>; RecordFile::COUNT]>::default()) {
        Err(GenerateError::Parameter { name, reason }) => {
            assert_eq!(name, "channels");
            assert!(reason.contains("add up to 1.2"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let mut c = config(10, 1);
    c.plans[1].churn_monthly.beta = 0.0;
    let err = generate(&c, &mut <[Vec<u8>; RecordFile::COUNT]>::default()).unwrap_err();
    assert!(
        err.to_string().contains("plans[1].churn_monthly.beta"),
        "{err}"
    );
    let err = Config::from_json(r#"{"customers": 10, "seeds": 3}"#).unwrap_err();
    assert!(matches!(err, GenerateError::Json(_)), "{err}");
    assert!(err.to_string().contains("seeds"), "{err}");
    let err = Config::from_json(r#"{"brand_monthly": "1.005"}"#).unwrap_err();
    assert!(err.to_string().contains("two decimals"), "{err}");
    // A partial file keeps the defaults for the rest.
    let c = Config::from_json(r#"{"customers": 10, "usage": {"decline": 0.3}}"#).unwrap();
    assert_eq!(c.customers, 10);
    assert_eq!(c.usage.decline, 0.3);
    assert_eq!(c.usage.decline_weeks, 12);
    assert_eq!(c.plans, Config::default().plans);
}

#[test]
fn a_mid_month_start_keeps_calendar_month_cohorts() {
    let mut c = config(400, 8);
    c.start = tenure_generate::Date(date("2023-01-15"));
    c.years = 1;
    let co = Company::new(c);
    assert_eq!(co.summary.observed_until, date("2024-01-14"));
    let costs = co.file(RecordFile::Costs);
    let (d, cohort) = (costs.col("date"), costs.col("cohort"));
    let brand: Vec<(&str, &str)> = costs
        .rows
        .iter()
        .filter(|r| !r[cohort].is_empty())
        .map(|r| (r[d].as_str(), r[cohort].as_str()))
        .collect();
    assert_eq!(brand.len(), 13, "{brand:?}");
    assert_eq!(brand[0], ("2023-01-15", "2023-01"));
    assert_eq!(brand[1], ("2023-02-01", "2023-02"));
    assert_eq!(brand[12], ("2024-01-01", "2024-01"));
    // Channel spend of a month covers the customers acquired in that calendar month.
    let cu = co.file(RecordFile::Customers);
    let jan = cu
        .rows
        .iter()
        .filter(|r| {
            r[cu.col("acquired_at")].starts_with("2023-01") && r[cu.col("channel")] == "outbound"
        })
        .count();
    let spend: i64 = costs
        .rows
        .iter()
        .filter(|r| r[0] == "ACQ-outbound-2023-01")
        .map(|r| cents(&r[costs.col("amount")]))
        .sum();
    let per = spend as f64 / jan as f64 / 250_000.0;
    assert!(
        jan > 0 && (per - 1.0).abs() < 0.35,
        "{jan} customers, {spend} cents"
    );
}

// ---------------------------------------------------------------------------------------------
// The records of issue 10: cases, payments, interactions, campaigns, touches.

/// `true`/`false`, the only booleans the generator writes.
fn boolean(s: &str) -> bool {
    match s {
        "true" => true,
        "false" => false,
        _ => panic!("{s:?} is not a boolean"),
    }
}

fn add_months(d: NaiveDate, m: u32) -> NaiveDate {
    d.checked_add_months(Months::new(m)).unwrap()
}

/// Whether a chain of customer `c` runs on day `d` (started, not yet ended).
fn subscribed(chains: &HashMap<String, Vec<Chain>>, c: &str, d: NaiveDate) -> bool {
    chains.get(c).is_some_and(|v| {
        v.iter()
            .any(|ch| ch.start <= d && ch.end.is_none_or(|e| d < e))
    })
}

fn chains_by_customer(co: &Company) -> HashMap<String, Vec<Chain>> {
    let mut out: HashMap<String, Vec<Chain>> = HashMap::new();
    for ch in chains(co.file(RecordFile::Subscriptions)) {
        out.entry(ch.customer.clone()).or_default().push(ch);
    }
    out
}

#[test]
fn the_issue_10_records_obey_their_schema() {
    let co = Company::new(config(2000, 99));
    let until = co.summary.observed_until;
    let start = co.config.start.0;
    let in_window = |d: NaiveDate, what: &str| {
        assert!(d >= start && d <= until, "{what}: {d} outside the window");
    };
    let cu = co.file(RecordFile::Customers);
    let acquired: HashMap<&str, NaiveDate> = cu
        .rows
        .iter()
        .map(|r| (r[0].as_str(), date(&r[cu.col("acquired_at")])))
        .collect();
    let unique = |t: &Table, what: &str| {
        let mut seen = HashSet::new();
        for id in t.values("id") {
            assert!(!id.is_empty(), "{what}: empty id");
            assert!(seen.insert(id), "{what}: id {id} twice");
        }
    };
    let known = |c: &str, what: &str| {
        assert!(acquired.contains_key(c), "{what}: unknown customer {c:?}");
    };
    let by_customer = chains_by_customer(&co);

    // Cases: one per support ticket (service cost), its CSAT answer as satisfaction.
    let cases = co.file(RecordFile::Cases);
    unique(cases, "cases");
    let costs = co.file(RecordFile::Costs);
    let mut tickets: HashMap<&str, usize> = HashMap::new();
    for r in &costs.rows {
        if r[costs.col("category")] == "service" {
            *tickets.entry(&r[costs.col("customer_id")]).or_default() += 1;
        }
    }
    let fb = co.file(RecordFile::Feedback);
    let csat: HashSet<(&str, &str, &str)> = fb
        .rows
        .iter()
        .filter(|r| r[fb.col("kind")] == "csat")
        .map(|r| {
            (
                r[fb.col("customer_id")].as_str(),
                r[fb.col("occurred_at")].as_str(),
                r[fb.col("score")].as_str(),
            )
        })
        .collect();
    let mut per_customer: HashMap<&str, usize> = HashMap::new();
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    // (escalated, cases) for severities 1–2 and 3–4.
    let (mut severe, mut mild) = ((0, 0), (0, 0));
    let mut rated = 0;
    for r in &cases.rows {
        let c = r[cases.col("customer_id")].as_str();
        known(c, "cases");
        *per_customer.entry(c).or_default() += 1;
        let opened = date(&r[cases.col("opened_at")]);
        in_window(opened, "opened_at");
        assert!(opened >= acquired[c], "{r:?}");
        let status = r[cases.col("status")].as_str();
        *statuses.entry(status).or_default() += 1;
        let closed = &r[cases.col("closed_at")];
        match status {
            "solved" | "closed" => {
                let d = date(closed);
                assert!(d >= opened, "{r:?}: closed before opened");
                in_window(d, "closed_at");
                if status == "closed" {
                    assert!((until - d).num_days() >= 4, "{r:?}");
                }
            }
            "open" | "pending" => {
                assert!(closed.is_empty(), "{r:?}: closed_at on an open case");
                // Open cases only near the window's end.
                assert!((until - opened).num_days() <= 90, "{r:?}");
            }
            s => panic!("status {s}"),
        }
        let severity: u32 = r[cases.col("severity")].parse().unwrap();
        assert!((1..=4).contains(&severity), "{r:?}");
        let escalated = boolean(&r[cases.col("escalated")]);
        let to = &r[cases.col("escalated_to")];
        assert_eq!(
            escalated,
            !to.is_empty(),
            "{r:?}: escalated_to without escalated"
        );
        let bucket = if severity <= 2 {
            &mut severe
        } else {
            &mut mild
        };
        bucket.0 += usize::from(escalated);
        bucket.1 += 1;
        assert!(!r[cases.col("owner")].is_empty());
        assert!(!r[cases.col("category")].is_empty());
        let sat = &r[cases.col("satisfaction")];
        if !sat.is_empty() {
            rated += 1;
            let s: u32 = sat.parse().unwrap();
            assert!((1..=5).contains(&s), "{r:?}");
            assert!(["solved", "closed"].contains(&status), "{r:?}");
            assert!(
                csat.contains(&(c, r[cases.col("opened_at")].as_str(), sat.as_str())),
                "{r:?}: satisfaction without the matching CSAT answer"
            );
        }
    }
    assert_eq!(per_customer, tickets, "a case per support ticket");
    assert!(rated > 100 && statuses.len() == 4, "{rated} {statuses:?}");
    let rate = |b: (usize, usize)| b.0 as f64 / b.1 as f64;
    eprintln!(
        "cases: {} ({statuses:?}); escalated: severity 1–2 {:.3}, 3–4 {:.3}",
        cases.rows.len(),
        rate(severe),
        rate(mild)
    );
    assert!(
        rate(severe) > 0.2 && rate(mild) < 0.1,
        "{severe:?} {mild:?}"
    );

    // Payments.
    let tx = co.file(RecordFile::Transactions);
    let invoices: HashMap<&str, &Vec<String>> =
        tx.rows.iter().map(|r| (r[0].as_str(), r)).collect();
    let pay = co.file(RecordFile::Payments);
    unique(pay, "payments");
    let troubled: HashSet<&str> = co
        .summary
        .truth
        .payment_troubled
        .iter()
        .map(String::as_str)
        .collect();
    let mut failed: HashMap<&str, usize> = HashMap::new();
    let mut by_invoice: HashMap<&str, Vec<&Vec<String>>> = HashMap::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &pay.rows {
        let c = r[pay.col("customer_id")].as_str();
        known(c, "payments");
        let d = date(&r[pay.col("occurred_at")]);
        in_window(d, "payment");
        assert!(d >= acquired[c], "{r:?}");
        let kind = r[pay.col("kind")].as_str();
        *kinds.entry(kind).or_default() += 1;
        let (amount, currency) = (&r[pay.col("amount")], &r[pay.col("currency")]);
        let needs = matches!(kind, "succeeded" | "failed" | "refunded" | "chargeback");
        assert!(
            matches!(
                kind,
                "succeeded"
                    | "failed"
                    | "retried"
                    | "refunded"
                    | "chargeback"
                    | "dunning_started"
                    | "dunning_resolved"
            ),
            "{r:?}"
        );
        assert_eq!(!amount.is_empty(), needs, "{r:?}: amount");
        assert_eq!(amount.is_empty(), currency.is_empty(), "{r:?}: currency");
        let inv = invoices
            .get(r[pay.col("invoice")].as_str())
            .unwrap_or_else(|| panic!("{r:?}: unknown invoice"));
        assert_eq!(inv[tx.col("customer_id")], c, "{r:?}");
        if needs {
            let a = cents(amount);
            assert!(a >= 0, "{r:?}");
            assert_eq!(currency, &inv[tx.col("currency")], "{r:?}");
            assert_eq!(a, cents(&inv[tx.col("amount")]).abs(), "{r:?}");
        }
        if kind == "failed" {
            *failed.entry(c).or_default() += 1;
        }
        by_invoice.entry(&inv[0]).or_default().push(r);
    }
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    eprintln!("payments: {kinds:?}");
    // Every invoice is collected on its day: succeeded, or failed (then retried).
    for r in &tx.rows {
        if !matches!(r[tx.col("kind")].as_str(), "new" | "renewal") {
            continue;
        }
        let events = by_invoice
            .get(r[0].as_str())
            .expect("every invoice has a payment");
        let first = events[0];
        assert_eq!(
            first[pay.col("occurred_at")],
            r[tx.col("date")],
            "{first:?}"
        );
        assert!(
            ["succeeded", "failed"].contains(&first[pay.col("kind")].as_str()),
            "{first:?}"
        );
        // Every failure is followed by a retry, unless the window ends first.
        let fails = events
            .iter()
            .filter(|e| e[pay.col("kind")] == "failed")
            .count();
        let retries = events
            .iter()
            .filter(|e| e[pay.col("kind")] == "retried")
            .count();
        let day = date(&r[tx.col("date")]);
        if (until - day).num_days() >= 5 {
            assert!(retries >= fails.min(2), "{events:?}");
        }
    }
    // Troubled customers are monthly-billed; everyone else fails at most once.
    for (c, n) in &failed {
        if !troubled.contains(c) {
            assert!(*n <= 1, "{c}: {n} failed payments but not troubled");
        }
    }
    for c in &troubled {
        assert!(
            by_customer[*c].iter().all(|ch| ch.interval == "month"),
            "{c}"
        );
    }

    // Interactions: while subscribed, one owner per customer.
    let it = co.file(RecordFile::Interactions);
    unique(it, "interactions");
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for r in &it.rows {
        let c = r[it.col("customer_id")].as_str();
        known(c, "interactions");
        let d = date(&r[it.col("occurred_at")]);
        in_window(d, "interaction");
        assert!(subscribed(&by_customer, c, d), "{r:?}: not subscribed");
        assert!(
            ["call", "email", "meeting", "note"].contains(&r[it.col("kind")].as_str()),
            "{r:?}"
        );
        let o = r[it.col("owner")].as_str();
        assert_eq!(*owner.entry(c).or_insert(o), o, "{c}: two owners");
        assert!(!r[it.col("summary")].is_empty());
    }
    // A few a quarter: 0.4 a month (1.2 on sales-led plans) while subscribed.
    let per_active = it.rows.len() as f64 / owner.len() as f64;
    assert!(it.rows.len() > 5000, "{} interactions", it.rows.len());

    // Campaigns and touches.
    let cp = co.file(RecordFile::Campaigns);
    unique(cp, "campaigns");
    let tc = co.file(RecordFile::Touches);
    unique(tc, "touches");
    let mut touches: HashMap<&str, u64> = HashMap::new();
    let mut pairs = HashSet::new();
    let sent: HashMap<&str, &str> = cp
        .rows
        .iter()
        .map(|r| (r[0].as_str(), r[cp.col("started_at")].as_str()))
        .collect();
    let (mut opened, mut clicked) = (0, 0);
    for r in &tc.rows {
        let (camp, c) = (
            r[tc.col("campaign_id")].as_str(),
            r[tc.col("customer_id")].as_str(),
        );
        known(c, "touches");
        let day = sent
            .get(camp)
            .unwrap_or_else(|| panic!("{r:?}: unknown campaign"));
        assert_eq!(&r[tc.col("sent_at")], day, "{r:?}");
        assert!(
            subscribed(&by_customer, c, date(day)),
            "{r:?}: not subscribed"
        );
        assert!(pairs.insert((camp, c)), "{r:?}: touched twice");
        let o = boolean(&r[tc.col("opened")]);
        let k = boolean(&r[tc.col("clicked")]);
        let y = boolean(&r[tc.col("replied")]);
        assert!(o || (!k && !y), "{r:?}: clicked or replied unopened");
        opened += usize::from(o);
        clicked += usize::from(k);
        *touches.entry(camp).or_default() += 1;
    }
    let cfg = &co.config.campaigns;
    assert_eq!(cp.rows.len(), cfg.count as usize);
    for r in &cp.rows {
        in_window(date(&r[cp.col("started_at")]), "campaign");
        assert!(!r[cp.col("name")].is_empty());
        assert_eq!(&r[cp.col("currency")], "USD");
        let n = touches.get(r[0].as_str()).copied().unwrap_or(0);
        assert_eq!(
            cents(&r[cp.col("cost")]),
            cfg.fixed_cost.0 + cfg.cost_per_touch.0 * n as i64,
            "{r:?}"
        );
        // Reach: a binomial share of the customers subscribed on the day.
        let day = date(&r[cp.col("started_at")]);
        let active = by_customer
            .keys()
            .filter(|c| subscribed(&by_customer, c, day))
            .count() as f64;
        let se = (active * cfg.reach * (1.0 - cfg.reach)).sqrt();
        assert!(
            (n as f64 - cfg.reach * active).abs() < 4.0 * se,
            "{}: {n} touches of {active} subscribed",
            r[0]
        );
    }
    let open_rate = opened as f64 / tc.rows.len() as f64;
    eprintln!(
        "interactions: {per_active:.1} per customer; touches: {} (opened {open_rate:.3}, clicked {:.3} of opened)",
        tc.rows.len(),
        clicked as f64 / opened as f64
    );
    assert!((open_rate - cfg.open_rate).abs() < 0.05, "{open_rate}");
}

/// The N = 20,000 company of the churn-effect tests (usage off: it has no effect on churn
/// and is most of the bytes).
fn effects_company(troubled_factor: f64, hazard_ratio: f64) -> Company {
    let mut c = config(20_000, 77);
    c.usage.users_per_customer = 0;
    c.payments.troubled_churn_factor = troubled_factor;
    c.campaigns.hazard_ratio = hazard_ratio;
    Company::new(c)
}

fn effects() -> &'static Company {
    static CO: OnceLock<Company> = OnceLock::new();
    CO.get_or_init(|| effects_company(2.0, 0.8))
}

/// The same company without either effect (its six original files are the pre-issue-10
/// generator's).
fn no_effects() -> &'static Company {
    static CO: OnceLock<Company> = OnceLock::new();
    CO.get_or_init(|| effects_company(1.0, 1.0))
}

/// (churned at the first renewal, had a first renewal) of the first subscription of each
/// monthly-billed customer, troubled and not.
fn first_renewal_churn(co: &Company) -> [(f64, f64); 2] {
    let until = co.summary.observed_until;
    let troubled: HashSet<&str> = co
        .summary
        .truth
        .payment_troubled
        .iter()
        .map(String::as_str)
        .collect();
    let mut out = [(0.0, 0.0); 2];
    for (c, v) in chains_by_customer(co) {
        let first = &v[0];
        let d = add_months(first.start, 1);
        if first.interval != "month" || d > until {
            continue;
        }
        let g = &mut out[usize::from(troubled.contains(c.as_str()))];
        g.0 += if first.end == Some(d) { 1.0 } else { 0.0 };
        g.1 += 1.0;
    }
    out
}

#[test]
fn payment_troubled_customers_fail_and_churn_more() {
    let co = effects();
    let until = co.summary.observed_until;
    let truth = &co.summary.truth.payment_troubled;
    let pay = co.file(RecordFile::Payments);
    let mut failures: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for r in &pay.rows {
        if r[pay.col("kind")] == "failed" {
            failures
                .entry(&r[pay.col("customer_id")])
                .or_default()
                .push(date(&r[pay.col("occurred_at")]));
        }
    }
    // At least two failed payments in the 90 days before the churn (or the window's end) —
    // unless the last subscription began in the window's last 2 days (the retry is later).
    let by_customer = chains_by_customer(co);
    let mut checked = 0;
    for c in truth {
        let last = by_customer[c].last().unwrap();
        let end = last.end.unwrap_or(until + chrono::Duration::days(1));
        if last.end.is_none() && (until - last.start).num_days() < 2 {
            continue;
        }
        let recent = failures.get(c.as_str()).map_or(0, |v| {
            v.iter()
                .filter(|d| **d < end && (end - **d).num_days() <= 90)
                .count()
        });
        assert!(recent >= 2, "{c}: {recent} failed payments before {end}");
        checked += 1;
    }
    let monthly = by_customer
        .values()
        .filter(|v| v[0].interval == "month")
        .count() as f64;
    let share = truth.len() as f64 / monthly;
    eprintln!(
        "troubled: {} of {monthly} monthly-billed ({share:.4}), {checked} checked",
        truth.len()
    );
    assert!(
        (share - 0.08).abs() < 4.0 * (0.08 * 0.92 / monthly).sqrt(),
        "{share}"
    );
    let others = failures
        .iter()
        .filter(|(c, _)| !truth.iter().any(|t| t == *c))
        .count();
    assert!(failures.values().filter(|v| v.len() >= 2).count() >= checked);
    assert!(others > 0, "some isolated failures");

    // Churn at the first renewal: the documented factor 2 on θ doubles the hazard.
    // SE of the log ratio from the binomial counts; tolerance 3 SE.
    let [(x0, n0), (x1, n1)] = first_renewal_churn(co);
    let (p0, p1) = (x0 / n0, x1 / n1);
    let ratio = p1 / p0;
    let se = ((1.0 - p1) / x1 + (1.0 - p0) / x0).sqrt();
    eprintln!(
        "first-renewal churn: troubled {p1:.4} ({x1}/{n1}), others {p0:.4} ({x0}/{n0}); ratio {ratio:.3} (true 2), se(ln) {se:.3}"
    );
    assert!(
        ratio > 1.3,
        "troubled customers churn measurably more: {ratio}"
    );
    assert!((ratio.ln() - 2f64.ln()).abs() < 3.0 * se, "{ratio} vs 2");

    // Without the factor, the troubled churn like the others: the test above can fail.
    let [(x0, n0), (x1, n1)] = first_renewal_churn(no_effects());
    let (p0, p1) = (x0 / n0, x1 / n1);
    let se = ((1.0 - p1) / x1 + (1.0 - p0) / x0).sqrt();
    eprintln!("no factor: ratio {:.3}, se(ln) {se:.3}", p1 / p0);
    assert!(
        (p1 / p0).ln().abs() < 3.0 * se,
        "{} without the factor",
        p1 / p0
    );
}

/// Renewal decisions in the `months` months after each campaign's day among the customers
/// subscribed on it, split by whether the campaign touched them:
/// [(churned, decisions) untouched, (churned, decisions) touched].
fn decisions_after_campaigns(co: &Company, months: u32) -> [(f64, f64); 2] {
    let until = co.summary.observed_until;
    let cp = co.file(RecordFile::Campaigns);
    let tc = co.file(RecordFile::Touches);
    let touched: HashSet<(&str, &str)> = tc
        .rows
        .iter()
        .map(|r| {
            (
                r[tc.col("campaign_id")].as_str(),
                r[tc.col("customer_id")].as_str(),
            )
        })
        .collect();
    let by_customer = chains_by_customer(co);
    let mut out = [(0.0, 0.0); 2];
    for r in &cp.rows {
        let s = date(&r[cp.col("started_at")]);
        let until_effect = add_months(s, months);
        for (c, v) in &by_customer {
            let Some(ch) = v
                .iter()
                .find(|ch| ch.start <= s && ch.end.is_none_or(|e| s < e))
            else {
                continue;
            };
            let g = &mut out[usize::from(touched.contains(&(r[0].as_str(), c.as_str())))];
            let mpp = if ch.interval == "year" { 12 } else { 1 };
            for k in 1.. {
                let d = add_months(ch.start, k * mpp);
                if d >= until_effect || d > until || ch.end.is_some_and(|e| d > e) {
                    break;
                }
                if d > s {
                    g.1 += 1.0;
                    g.0 += if ch.end == Some(d) { 1.0 } else { 0.0 };
                }
            }
        }
    }
    out
}

#[test]
fn retention_touches_lower_churn_by_the_configured_hazard_ratio() {
    // Touches are assigned at random among the customers subscribed on a campaign's day, so
    // the churn hazard at the renewal decisions of the next 6 months compares touched and
    // untouched customers fairly; the true ratio is campaigns.hazard_ratio = 0.8. SE of the
    // log ratio from the event counts; tolerance 3 SE.
    let co = effects();
    let [(xu, nu), (xt, nt)] = decisions_after_campaigns(co, 6);
    let hr = (xt / nt) / (xu / nu);
    let se = (1.0 / xt - 1.0 / nt + 1.0 / xu - 1.0 / nu).sqrt();
    eprintln!(
        "hazard after a touch: touched {:.4} ({xt}/{nt}), untouched {:.4} ({xu}/{nu}); ratio {hr:.3} (true 0.8), se(ln) {se:.3}",
        xt / nt,
        xu / nu
    );
    assert!(
        hr < 1.0 && hr.ln() + 2.0 * se < 0.0,
        "touched churn less: {hr}"
    );
    assert!((hr.ln() - 0.8f64.ln()).abs() < 3.0 * se, "{hr} vs 0.8");
    assert_eq!(
        co.summary.truth.touches_by_campaign.iter().sum::<u64>(),
        co.summary.rows[RecordFile::Touches as usize]
    );

    // Without the effect, touched and untouched churn alike: the test above can fail.
    let [(xu, nu), (xt, nt)] = decisions_after_campaigns(no_effects(), 6);
    let hr = (xt / nt) / (xu / nu);
    let se = (1.0 / xt - 1.0 / nt + 1.0 / xu - 1.0 / nu).sqrt();
    eprintln!("no effect: ratio {hr:.3}, se(ln) {se:.3}");
    assert!(hr.ln().abs() < 3.0 * se, "{hr} without an effect");
}
