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

    // Fit straight from the log: the engine reduces it to distinct (x, t_x, T) rows with
    // customer counts (on the cluster: on the executors), the optimiser runs on the client.
    let fit_log = |engine: &str, name: &str| -> serde_json::Value {
        let model = dir.join(format!("{name}-model.json"));
        let o = tenure_ok(&[
            "fit",
            "bgnbd",
            "--input",
            log.to_str().unwrap(),
            "--end",
            "2025-03-31",
            "--engine",
            engine,
            "--output",
            model.to_str().unwrap(),
            "--format",
            "json",
        ]);
        serde_json::from_str(&o).unwrap()
    };
    let fl = fit_log("local", "local");
    let fr = fit_log(&url, "cluster");
    // Same distinct rows in the same order: the same fit, to the bit.
    for k in ["params", "standard_errors", "log_likelihood", "n", "input"] {
        if k == "input" {
            assert_eq!(fl[k]["distinct_rows"], fr[k]["distinct_rows"], "{k}");
            assert_eq!(fl[k]["rows"], fr[k]["rows"], "{k}");
        } else {
            assert_eq!(fl[k], fr[k], "{k}");
        }
    }
    assert_eq!(fr["input"]["rows"], 40_000, "{fr}");
    let distinct = fr["input"]["distinct_rows"].as_u64().unwrap();
    assert!(distinct > 1_000 && distinct < 40_000, "{distinct}");
    // The reference: the same model fitted on the local summary file, its rows sorted by
    // (frequency, recency, T) — the order in which the engine hands the distinct rows to the
    // optimiser. A fit groups identical rows in order of first appearance with integer counts,
    // so the optimiser sees the same weighted rows and the fit must be the same to the bit
    // (in the file's own order the sums round differently, and on this log, whose dropout
    // is nearly homogeneous, the optimum lies on a flat ridge where that moves a and b).
    let sorted = dir.join("local-sorted.csv");
    {
        let mut rd = csv::Reader::from_path(&local).unwrap();
        let h = rd.headers().unwrap().clone();
        let at = |n: &str| h.iter().position(|c| c == n).unwrap();
        let (f, r, t) = (at("frequency"), at("recency"), at("T"));
        let mut recs: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
        let key = |rec: &csv::StringRecord| -> (u64, f64, f64) {
            (
                rec[f].parse().unwrap(),
                rec[r].parse().unwrap(),
                rec[t].parse().unwrap(),
            )
        };
        recs.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap());
        let mut w = csv::Writer::from_path(&sorted).unwrap();
        w.write_record(&h).unwrap();
        for rec in &recs {
            w.write_record(rec).unwrap();
        }
        w.flush().unwrap();
    }
    let fs: serde_json::Value = serde_json::from_str(&tenure_ok(&[
        "fit",
        "bgnbd",
        "--input",
        sorted.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    for k in ["params", "standard_errors", "log_likelihood", "n"] {
        assert_eq!(fs[k], fr[k], "{k}: summary file vs the log on the cluster");
    }
    assert_eq!(fs["input"]["distinct_rows"], fr["input"]["distinct_rows"]);
    let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * a.abs().max(b.abs());

    // Score straight from the log; on the cluster the executors score and write the Parquet.
    let model = dir.join("cluster-model.json");
    for (name, engine) in [("local", "local"), ("cluster", url.as_str())] {
        let out = dir.join(format!("{name}-scores.parquet"));
        let o = tenure_ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            log.to_str().unwrap(),
            "--end",
            "2025-03-31",
            "--horizon",
            "52w",
            "--engine",
            engine,
            "--output",
            out.to_str().unwrap(),
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(v["customers"], 40_000, "{v}");
    }
    let lp = read_scores(&dir.join("local-scores.parquet"));
    let cp = read_scores(&dir.join("cluster-scores.parquet"));
    assert_eq!(lp.len(), 40_000);
    assert!(lp == cp, "the cluster's scores differ from the local ones");
    assert!(
        lp.windows(2).all(|w| w[0].0 < w[1].0),
        "sorted by customer id"
    );
    // The reference: `tenure predict` on the summary file with the same model.
    let csv_out = dir.join("summary-scores.csv");
    tenure_ok(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        local.to_str().unwrap(),
        "--horizon",
        "52w",
        "--no-intervals",
        "--output",
        csv_out.to_str().unwrap(),
    ]);
    let mut rd = csv::Reader::from_path(&csv_out).unwrap();
    let h = rd.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (id, pa, ep) = (at("customer_id"), at("p_alive"), at("expected_purchases"));
    let mut n = 0;
    for (rec, s) in rd.records().zip(&lp) {
        let rec = rec.unwrap();
        assert_eq!(rec[id].parse::<i64>().unwrap(), s.0);
        let (p, e): (f64, f64) = (rec[pa].parse().unwrap(), rec[ep].parse().unwrap());
        assert!(
            close(p, f64::from_bits(s.4), 1e-12),
            "{}: p_alive {p} vs {}",
            s.0,
            f64::from_bits(s.4)
        );
        assert!(
            close(e, f64::from_bits(s.5), 1e-12),
            "{}: expected {e} vs {}",
            s.0,
            f64::from_bits(s.5)
        );
        n += 1;
    }
    assert_eq!(n, 40_000);
}

/// A scores file's rows: id, frequency, and the bits of recency, T, p_alive, expected purchases.
type ScoreRow = (i64, i64, u64, u64, u64, u64);

fn read_scores(path: &Path) -> Vec<ScoreRow> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;
    let r = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let names: Vec<String> = r
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "customer_id",
            "frequency",
            "recency",
            "T",
            "p_alive",
            "expected_purchases"
        ]
    );
    r.get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            (
                row.get_long(0).unwrap(),
                row.get_long(1).unwrap(),
                row.get_double(2).unwrap().to_bits(),
                row.get_double(3).unwrap().to_bits(),
                row.get_double(4).unwrap().to_bits(),
                row.get_double(5).unwrap().to_bits(),
            )
        })
        .collect()
}

#[test]
fn an_executor_killed_mid_job_gives_the_same_scores_or_a_clear_failure_and_no_file() {
    let dir = scratch("cluster-kill");
    let log = dir.join("log");
    let rows = write_log(&log, 240_000, 8);
    let (mut procs, url) = cluster(&dir, 2);
    let model = dir.join("model.json");
    tenure_ok(&[
        "fit",
        "bgnbd",
        "--input",
        log.to_str().unwrap(),
        "--end",
        "2025-03-31",
        "--output",
        model.to_str().unwrap(),
    ]);
    let predict = |engine: &str, out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(["predict", "--model", model.to_str().unwrap()])
            .args(["--input", log.to_str().unwrap(), "--end", "2025-03-31"])
            .args(["--horizon", "52w", "--engine", engine])
            .args(["--output", out.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let local = dir.join("local.parquet");
    assert!(predict("local", &local).wait().unwrap().success());
    let out = dir.join("cluster.parquet");
    let t0 = Instant::now();
    let mut job = predict(&url, &out);
    // Kill executor 1 as soon as the job's tasks have started writing shuffle files.
    let started = |i: usize| {
        std::fs::read_dir(dir.join(format!("executor-{i}")))
            .map(|d| {
                d.flatten()
                    .any(|e| !e.file_name().to_string_lossy().starts_with("datafusion-"))
            })
            .unwrap_or(false)
    };
    while !(started(0) || started(1)) {
        assert!(t0.elapsed().as_secs() < 120, "the job never started");
        assert!(
            job.try_wait().unwrap().is_none(),
            "the job ended before an executor was killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let killed_at = t0.elapsed();
    procs.0[2].kill().unwrap(); // SIGKILL
    procs.0[2].wait().unwrap();
    let status = loop {
        if let Some(s) = job.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed().as_secs() < 300,
            "the job neither finished nor failed in 300 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut job.stderr.take().unwrap(), &mut err).unwrap();
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tenure-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    if status.success() {
        eprintln!(
            "{rows} rows: executor 1 killed after {killed_at:?}; the job completed on the other in {:?}",
            t0.elapsed()
        );
        assert!(
            read_scores(&out) == read_scores(&local),
            "scores differ after the kill"
        );
    } else {
        eprintln!("{rows} rows: executor 1 killed after {killed_at:?}; the job failed: {err}");
        assert_eq!(status.code(), Some(1), "{err}");
        assert!(err.contains(&url), "the message names the cluster: {err}");
        assert!(!out.exists(), "a failed job left an output file");
    }
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
