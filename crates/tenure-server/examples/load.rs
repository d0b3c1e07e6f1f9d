//! A closed-loop load generator for `bench/serve_load.sh`: C threads, each with its own
//! keep-alive connection, send GET requests back to back until N have been sent, and the
//! latency of each is recorded. Prints one JSON line per path: requests, errors, p50 / p90 /
//! p99 / max in milliseconds, requests per second.
//!
//! usage: load BASE_URL TOKEN CONCURRENCY REQUESTS PATH...
//!
//! A `{id}` in a path is replaced by customer ids taken in turn from `/api/customers`, so the
//! customer 360 is measured over many customers, not one cached answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .new_agent()
}

fn get(a: &ureq::Agent, url: &str, token: &str) -> (u16, String) {
    let mut r = a
        .get(url)
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("the server answers");
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

fn customer_ids(base: &str, token: &str, want: usize) -> Vec<String> {
    let a = agent();
    let mut ids = Vec::new();
    let mut offset = 0;
    while ids.len() < want {
        let (s, body) = get(
            &a,
            &format!("{base}/api/customers?limit=1000&offset={offset}"),
            token,
        );
        assert_eq!(s, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let items = v["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        ids.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        offset += 1000;
    }
    // Spread over the whole list, not its first ids.
    let step = (ids.len() / want.max(1)).max(1);
    ids.into_iter().step_by(step).take(want).collect()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: load BASE_URL TOKEN CONCURRENCY REQUESTS PATH...");
        std::process::exit(2);
    }
    let base = args[1].trim_end_matches('/').to_string();
    let token = args[2].clone();
    let concurrency: usize = args[3].parse().expect("CONCURRENCY is a number");
    let requests: usize = args[4].parse().expect("REQUESTS is a number");
    let ids = Arc::new(if args[5..].iter().any(|p| p.contains("{id}")) {
        customer_ids(&base, &token, 2000)
    } else {
        Vec::new()
    });
    for path in &args[5..] {
        let next = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        let lat = Arc::new(Mutex::new(Vec::with_capacity(requests)));
        let started = Instant::now();
        let threads: Vec<_> = (0..concurrency)
            .map(|_| {
                let (next, errors, lat, ids) =
                    (next.clone(), errors.clone(), lat.clone(), ids.clone());
                let (base, token, path) = (base.clone(), token.clone(), path.clone());
                std::thread::spawn(move || {
                    let a = agent();
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= requests {
                            break;
                        }
                        let p = if ids.is_empty() {
                            path.clone()
                        } else {
                            path.replace("{id}", &ids[k % ids.len()])
                        };
                        let t = Instant::now();
                        let (s, _) = get(&a, &format!("{base}{p}"), &token);
                        mine.push(t.elapsed().as_secs_f64() * 1000.0);
                        if s != 200 {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    lat.lock().unwrap().extend(mine);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        let mut l = lat.lock().unwrap().clone();
        l.sort_by(f64::total_cmp);
        println!(
            "{}",
            serde_json::json!({
                "path": path,
                "concurrency": concurrency,
                "requests": l.len(),
                "errors": errors.load(Ordering::Relaxed),
                "p50_ms": quantile(&l, 0.50),
                "p90_ms": quantile(&l, 0.90),
                "p99_ms": quantile(&l, 0.99),
                "max_ms": l.last().copied().unwrap_or(0.0),
                "requests_per_s": l.len() as f64 / secs,
            })
        );
    }
}
