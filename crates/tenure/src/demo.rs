//! `tenure demo`: the whole product on a synthetic company, as a user starts it — the company's
//! eleven record files are generated, imported into the embedded SQLite store, every customer's
//! models are fitted and decisions made, every report is computed once, and the dashboard is
//! served on 127.0.0.1 with an admin token in the printed URL.
//!
//! Everything lands in `--dir` (default `tenure-demo/`): `company/*.csv`, `tenure.db` (made
//! afresh each run), `tenure.toml` (demo playbooks, editable from the dashboard; kept if it
//! exists). The same files work with every other command (`tenure report mrr --db
//! tenure-demo/tenure.db`, `tenure serve --db … --config …`).

use crate::cmd_journal::{now_secs, store_err};
use crate::cmd_report::build_fx;
use crate::error::CliError;
use crate::table::Table;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenure_core::{Currency, RecordKind};
use tenure_reports::calendar::Interval;
use tenure_reports::retention::cohort_report;
use tenure_reports::survival::{survival_report, Spells};
use tenure_reports::value::{value_report, ValueConfig};
use tenure_reports::{mrr_report, GroupBy, Grouping};
use tenure_store::tokens::{NewToken, Role};
use tenure_store::{ImportOptions, Location};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's files (created if missing; its tenure.db is made afresh).
    #[arg(long, default_value = "tenure-demo")]
    pub dir: PathBuf,
    /// Customers in the synthetic company.
    #[arg(long, default_value_t = 5000)]
    pub customers: usize,
    /// Seed of the synthetic company (same seed, same company).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where the dashboard listens (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Build everything and print the figures, but do not serve.
    #[arg(long)]
    pub no_serve: bool,
}

/// The demo's report currency and its fixed rate for EUR (the company bills in both).
const CURRENCY: &str = "USD";
const EUR_RATE: &str = "EUR=1.087";

/// The demo's configuration: three playbooks whose actions are tasks in the team's queues (no
/// secrets needed), so the worker has nothing external to reach.
const DEMO_CONFIG: &str = r#"# Tenure demo configuration (docs/tenure.toml documents every key).
# The playbooks below can be edited from the dashboard (Playbooks) or here.
currency = "USD"

[[playbooks]]
name = "low-health"
when = { health_below = { score = 40 } }
cooldown = "30d"
then = [{ task = "cs-queue", title = "Call {customer_id}: {reason}" }]

[[playbooks]]
name = "detractor"
when = { nps_detractor = { below = 7 } }
then = [{ task = "cs-queue", title = "Detractor {customer_id}: {reason}" }]

[[playbooks]]
name = "renewal-soon"
when = { renewal_within = { days = "30d" } }
if = { segment = ["key", "potential_key"] }
then = [{ task = "renewals", title = "Renewal of {customer_id}: {reason}" }]
"#;

struct Steps {
    started: Instant,
    n: usize,
    total: usize,
}

impl Steps {
    fn next(&mut self, what: &str) {
        self.n += 1;
        eprintln!(
            "[{}/{}] {what} ({:.1} s)",
            self.n,
            self.total,
            self.started.elapsed().as_secs_f64()
        );
    }
}

fn remove_db(path: &Path) -> Result<(), CliError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(CliError::io(&p, e));
            }
            _ => {}
        }
    }
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{:.1} %", 100.0 * x))
}

pub fn run(a: DemoArgs) -> Result<(), CliError> {
    let mut steps = Steps {
        started: Instant::now(),
        n: 0,
        total: if a.no_serve { 5 } else { 6 },
    };
    if a.customers < 50 {
        return Err(CliError::input(
            "--customers: the demo needs at least 50 customers",
        ));
    }
    let addr: SocketAddr = a.addr.parse().map_err(|_| {
        CliError::input(format!(
            "--addr `{}`: not HOST:PORT (e.g. 127.0.0.1:8080)",
            a.addr
        ))
    })?;
    std::fs::create_dir_all(&a.dir).map_err(|e| CliError::io(&a.dir, e))?;

    // 1. The company's records.
    steps.next(&format!(
        "generating a company of {} customers (seed {})",
        a.customers, a.seed
    ));
    let company = a.dir.join("company");
    let gen = tenure_generate::Config {
        customers: a.customers,
        seed: a.seed,
        ..Default::default()
    };
    let summary = tenure_generate::write_dir(&gen, &company)
        .map_err(|e| CliError::failure(format!("demo: {e}")))?;

    // 2. Into a fresh SQLite store, kind by kind, all or nothing each.
    let db = a.dir.join("tenure.db");
    steps.next(&format!(
        "importing the eleven record files into {}",
        db.display()
    ));
    remove_db(&db)?;
    let location = Location::Sqlite(db.clone());
    let mut store = tenure_store::open(&location).map_err(store_err)?;
    for &kind in RecordKind::ALL {
        let file = company.join(format!("{}.csv", kind.as_str()));
        let t = Instant::now();
        let bar = crate::cmd_import::progress_bar(&file);
        let r = store.import(kind, &file, &ImportOptions::default(), &mut |p| {
            crate::cmd_import::show_progress(bar.as_ref(), p)
        });
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        let r = r.map_err(|e| CliError::input(e.to_string()))?;
        eprintln!(
            "      {:<13} {:>9} rows  {:>6.1} s",
            kind.as_str(),
            r.rows,
            t.elapsed().as_secs_f64()
        );
    }
    let (token, sha256) = tenure_server::new_token();
    let name = format!("demo-{}", now_secs());
    store
        .add_token(
            &NewToken {
                name,
                role: Role::Admin,
                sha256,
            },
            now_secs(),
        )
        .map_err(store_err)?;
    drop(store);

    // 3. Models and decisions for every customer: the server's snapshot.
    let config_path = a.dir.join("tenure.toml");
    if !config_path.exists() {
        crate::write_atomically(&config_path, DEMO_CONFIG.as_bytes())?;
    }
    let (cfg, config_source) = crate::cmd_act::load_config(Some(&config_path))?;
    steps.next(
        "fitting the models (sBG per plan for subscribers, BG/NBD + Gamma-Gamma for purchase \
         customers) and deciding segment, stage and health for every customer",
    );
    let currency =
        Currency::parse(CURRENCY).map_err(|e| CliError::failure(format!("demo: {e}")))?;
    let fx = build_fx(currency, &[EUR_RATE.to_string()])?;
    let rule_fx = fx.clone();
    let state = tenure_server::AppState::new(tenure_server::Settings {
        location,
        config_path: Some(config_path.clone()),
        config: cfg.clone(),
        config_source,
        fx: Arc::new(move |_| Ok(rule_fx.clone())),
        as_of: None,
        cors_origins: Vec::new(),
    })
    .map_err(CliError::failure)?;
    let snap = state.snapshot();
    let as_of = snap
        .as_of
        .ok_or_else(|| CliError::failure("demo: the company has no records"))?;

    // 4. Every report once, as the dashboard will ask for them.
    steps.next("computing the value, MRR, cohort, retention and survival reports");
    let all = Grouping::new(&snap.data, GroupBy::All);
    let mut vcfg = ValueConfig::new(as_of, currency);
    vcfg.fx = fx.clone();
    let value =
        value_report(&snap.data, &vcfg, &all).map_err(|e| CliError::failure(e.to_string()))?;
    let mrr = mrr_report(&snap.data, &fx, as_of, &all);
    let cohorts = cohort_report(&snap.data, &fx, as_of, Interval::Month, &all)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let survival = survival_report(&snap.data, as_of, Spells::First, &all, 0.95)
        .map_err(|e| CliError::failure(e.to_string()))?;

    // 5. The figures.
    steps.next("the figures");
    let t = &snap.totals;
    let m = |minor: i64| format!("{} {}", snap.money(minor), currency.code());
    let mut table = Table::new(&["figure", "value"]);
    let mut row = |k: &str, v: String| table.row(vec![k.to_string(), v]);
    row("customers", snap.customers.len().to_string());
    row(
        "records",
        format!(
            "{} transactions, {} subscriptions, {} costs, {} usage, {} feedback",
            summary.rows[1], summary.rows[2], summary.rows[3], summary.rows[4], summary.rows[5]
        ),
    );
    row("MRR", m(snap.mrr));
    row("ARR", m(snap.mrr * 12));
    row("paying customers", snap.mrr_customers.to_string());
    let r = snap.retention.as_ref();
    row("NRR, 12 months", pct(r.and_then(|r| r.nrr())));
    row("GRR, 12 months", pct(r.and_then(|r| r.grr())));
    row("logo retention, 12 months", pct(r.and_then(|r| r.logo())));
    row("realised profit", m(t.realised_profit));
    row("predicted future profit", m(t.future_profit));
    row(
        "average lifetime profit",
        t.average_lifetime_profit.map_or("—".into(), m),
    );
    for s in &t.segments {
        row(
            &format!("segment {}", s.segment.as_str()),
            s.customers.to_string(),
        );
    }
    row("at risk (health band)", t.at_risk.to_string());
    row("advocates", snap.advocates.len().to_string());
    row(
        "reports",
        format!(
            "{} MRR months, {} monthly cohorts, median subscription {} days, profit {}",
            mrr.total.months.len(),
            cohorts.total.len(),
            survival
                .total
                .km
                .median
                .map_or("not reached".into(), |d| d.to_string()),
            m(value.total.totals.profit())
        ),
    );
    println!(
        "Tenure demo: a synthetic B2B SaaS company, decided on {} (amounts in {}; EUR at the demo's fixed rate {EUR_RATE}).",
        crate::cmd_report::date_text(as_of),
        currency.code()
    );
    print!("{}", table.render());
    println!(
        "Files in {}: company/*.csv, tenure.db, tenure.toml. Try: tenure report mrr --db {} --currency USD --fx {EUR_RATE}",
        a.dir.display(),
        db.display()
    );
    if a.no_serve {
        eprintln!("done in {:.1} s", steps.started.elapsed().as_secs_f64());
        return Ok(());
    }

    // 6. Serve.
    steps.next("serving the dashboard and the API");
    let worker = crate::cmd_playbooks::worker(&cfg, now_secs())?;
    tenure_server::serve(
        addr,
        state,
        Some((worker, Duration::from_secs(5))),
        |bound| {
            println!("\nDashboard: http://{bound}/#token={token}");
            println!("API:       http://{bound}/api/ (Authorization: Bearer {token}); OpenAPI at http://{bound}/openapi.json");
            println!("The token is an admin token of this demo's store. Ctrl-C stops.");
        },
    )
    .map_err(CliError::failure)
}
