//! The clocks behind every `elapsed_ms` a command reports, and the repeated timing of one step
//! that `--repeat-fit` / `--repeat-score` ask for (benchmarks compare it with a library's
//! repeated calls).

use crate::error::CliError;
use std::time::Instant;

/// Milliseconds since `t`.
pub fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Run `step` `n` more times (after the call that gave the command's result) and return the
/// fastest run in milliseconds; `None` when `n` is `None` or 0. Each repeat's result is
/// dropped before its clock stops (the first call's is kept and used), so a repeat also pays
/// for releasing its memory.
pub fn fastest_repeat<T>(
    n: Option<usize>,
    mut step: impl FnMut() -> Result<T, CliError>,
) -> Result<Option<f64>, CliError> {
    let mut best: Option<f64> = None;
    for _ in 0..n.unwrap_or(0) {
        let t = Instant::now();
        drop(std::hint::black_box(step()?));
        let ms = ms_since(t);
        best = Some(best.map_or(ms, |b| b.min(ms)));
    }
    Ok(best)
}
