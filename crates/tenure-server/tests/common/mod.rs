//! Fixtures shared by the server's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use tenure_core::RecordKind;
use tenure_store::{ImportOptions, Location, Store};

/// A generated company (`customers`, seed 3) with every record kind imported into a fresh
/// SQLite store in a scratch folder named after `tag`: (the folder, the store's location, the
/// open store).
pub fn generated_store(tag: &str, customers: usize) -> (PathBuf, Location, Box<dyn Store>) {
    let dir = std::env::temp_dir().join(format!("tenure-api-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let gen = dir.join("company");
    let cfg = tenure_generate::Config {
        customers,
        seed: 3,
        ..Default::default()
    };
    tenure_generate::write_dir(&cfg, &gen).unwrap();
    let location = Location::Sqlite(dir.join("t.db"));
    let mut store = tenure_store::open(&location).unwrap();
    for &kind in RecordKind::ALL {
        let f = gen.join(format!("{}.csv", kind.as_str()));
        store
            .import(kind, &f, &ImportOptions::default(), &mut |_| {})
            .unwrap();
    }
    (dir, location, store)
}
