//! `tenure cluster` and `--engine ballista://…`: a scheduler and two executors started as
//! separate `tenure` processes on 127.0.0.1, the same summaries as the local engine's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scratch, tenure, tenure_ok};
use parquet::data_type::{Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

/// A seeded transaction log as `files` Parquet files in `dir`: `customers` customers with
/// 1–49 purchases each (about 25 on average), the first in 2024, the rest within 400 days, amounts in cents
/// (DECIMAL(12,2)). Returns the number of rows.
fn write_log(dir: &Path, customers: i64, files: usize) -> usize {
    std::fs::create_dir_all(dir).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let start = 19_723; // 2024-01-01 in days since 1970-01-01
    let (mut ids, mut days, mut cents) = (Vec::new(), Vec::new(), Vec::new());
    for c in 1..=customers {
        let first = start + (next() % 365) as i32;
        let n = 1 + next() % 49;
        for k in 0..n {
            ids.push(c);
            // The first purchase on `first` (in 2024, before the calibration end).
            days.push(first + if k == 0 { 0 } else { (next() % 400) as i32 });
            cents.push(100 + (next() % 20_000) as i64);
        }
    }
    // Shuffle so that every file holds some of every customer's rows.
    for i in (1..ids.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
        days.swap(i, j);
        cents.swap(i, j);
    }
    let schema = Arc::new(
        parse_message_type(
            "message log {
                required int64 customer_id;
                required int32 date (DATE);
                required int64 amount (DECIMAL(12,2));
            }",
        )
        .unwrap(),
    );
    let per = ids.len().div_ceil(files);
    for f in 0..files {
        let (lo, hi) = (f * per, ((f + 1) * per).min(ids.len()));
        let file = std::fs::File::create(dir.join(format!("part-{f}.parquet"))).unwrap();
        let props = Arc::new(WriterProperties::builder().build());
        let mut w = SerializedFileWriter::new(file, schema.clone(), props).unwrap();
        for s in (lo..hi).step_by(65_536) {
            let e = (s + 65_536).min(hi);
            let mut rg = w.next_row_group().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<Int64Type>()
                .write_batch(&ids[s..e], None, None)
                .unwrap();
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<Int32Type>()
                .write_batch(&days[s..e], None, None)
                .unwrap();
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<Int64Type>()
                .write_batch(&cents[s..e], None, None)
                .unwrap();
            c.close().unwrap();
            rg.close().unwrap();
        }
        w.close().unwrap();
    }
    ids.len()
}

/// Child processes killed when the test ends, however it ends.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scheduler (on a port it picks) and `n` executors; returns the processes and the
/// scheduler's URL.
fn cluster(dir: &Path, n: usize) -> (Procs, String) {
    let mut procs = Procs(Vec::new());
    let mut s = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args(["cluster", "scheduler", "--addr", "127.0.0.1:0"])
        .args(["--executor-timeout-secs", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(s.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    procs.0.push(s);
    let addr = line
        .trim()
        .strip_prefix("scheduler listening on ")
        .unwrap_or_else(|| panic!("scheduler said {line:?}"))
        .to_string();
    for i in 0..n {
        let work = dir.join(format!("executor-{i}"));
        let e = Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(["cluster", "executor", "--scheduler", &addr])
            .args(["--addr", &format!("127.0.0.1:{}", free_port())])
            .args(["--grpc-port", &free_port().to_string()])
            .args(["--work-dir", work.to_str().unwrap()])
            .args(["--concurrency", "2", "--heartbeat-secs", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        procs.0.push(e);
    }
    (procs, format!("ballista://{addr}"))
}

fn summarize(input: &Path, out: &Path, engine: &str) -> serde_json::Value {
    let o = tenure_ok(&[
        "summarize",
        "--input",
        input.to_str().unwrap(),
        "--end",
        "2025-03-31",
        "--holdout-end",
        "2025-12-31",
        "--output",
        out.to_str().unwrap(),
        "--format",
        "json",
        "--engine",
        engine,
    ]);
    serde_json::from_str(&o).unwrap()
}

#[test]
fn a_two_executor_cluster_gives_the_local_engines_summaries_fits_and_scores() {
    let dir = scratch("cluster");
    let log = dir.join("log");
    let rows = write_log(&log, 40_000, 4);
    assert!(rows > 900_000, "{rows} rows");
    let (_procs, url) = cluster(&dir, 2);

    let local = dir.join("local.csv");
    let remote = dir.join("cluster.csv");
    let l = summarize(&log, &local, "local");
    let t0 = Instant::now();
    let r = summarize(&log, &remote, &url);
    assert!(
        r["engine"].as_str().unwrap().starts_with("ballista ("),
        "{r}"
    );
    assert!(
        l["engine"].as_str().unwrap().starts_with("datafusion"),
        "{l}"
    );
    assert_eq!(l["customers"], r["customers"]);
    assert_eq!(l["customers"], 40_000);
    // Counts, days and decimal sums: byte for byte, rows in the same (sorted) order.
    let (a, b) = (
        std::fs::read_to_string(&local).unwrap(),
        std::fs::read_to_string(&remote).unwrap(),
    );
    assert!(a == b, "the cluster's summary differs from the local one");
    eprintln!("cluster summarize of {rows} rows: {:?}", t0.elapsed());
    // The work ran on the executors: they wrote the job's shuffle files in their work dirs.
    let jobs = (0..2)
        .filter(|i| {
            std::fs::read_dir(dir.join(format!("executor-{i}")))
                .unwrap()
                .flatten()
                .any(|e| !e.file_name().to_string_lossy().starts_with("datafusion-"))
        })
        .count();
    assert!(jobs >= 1, "no executor wrote shuffle files");

    // The fit and scores from the cluster's summary equal the local ones.
    for (name, s) in [("local", &local), ("cluster", &remote)] {
        let model = dir.join(format!("{name}-model.json"));
        tenure_ok(&[
            "fit",
            "bgnbd",
            "--input",
            s.to_str().unwrap(),
            "--output",
            model.to_str().unwrap(),
            "--format",
            "json",
        ]);
        tenure_ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            s.to_str().unwrap(),
            "--horizon",
            "52w",
            "--output",
            dir.join(format!("{name}-scores.csv")).to_str().unwrap(),
        ]);
    }
    let params = |n: &str| -> serde_json::Value {
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{n}-model.json"))).unwrap(),
        )
        .unwrap();
        m["params"].clone()
    };
    assert_eq!(params("local"), params("cluster"));
    assert_eq!(
        std::fs::read_to_string(dir.join("local-scores.csv")).unwrap(),
        std::fs::read_to_string(dir.join("cluster-scores.csv")).unwrap()
    );
}

#[test]
fn an_unreachable_scheduler_is_exit_1_naming_it_and_writes_nothing() {
    let dir = scratch("cluster-unreachable");
    let log = dir.join("log");
    write_log(&log, 50, 1);
    let port = free_port();
    let out = dir.join("s.csv");
    let url = format!("ballista://127.0.0.1:{port}");
    let o = tenure(&[
        "summarize",
        "--input",
        log.to_str().unwrap(),
        "--end",
        "2025-03-31",
        "--output",
        out.to_str().unwrap(),
        "--engine",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&url), "{err}");
    assert!(!out.exists());
    // A bad engine is a usage error.
    let o = tenure(&[
        "summarize",
        "--input",
        log.to_str().unwrap(),
        "--end",
        "2025-03-31",
        "--engine",
        "ballista://nowhere",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
