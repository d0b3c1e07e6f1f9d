//! RetryPolicy over a grid of uniforms: growth, bounds, jitter spread, exhaustion.

use tenure_deliver::{Jitter, RetryPolicy};

const JITTERS: [Jitter; 3] = [Jitter::None, Jitter::Full, Jitter::Equal];

/// u = 0, 0.01, …, 0.99 and 1 − ε.
fn grid() -> impl Iterator<Item = f64> {
    (0..100)
        .map(|i| f64::from(i) / 100.0)
        .chain([1.0 - f64::EPSILON])
}

fn policy(jitter: Jitter) -> RetryPolicy {
    RetryPolicy {
        jitter,
        ..RetryPolicy::default()
    }
}

#[test]
fn defaults() {
    let p = RetryPolicy::default();
    assert_eq!(
        (
            p.base_secs,
            p.factor,
            p.max_delay_secs,
            p.max_attempts,
            p.jitter
        ),
        (30.0, 2.0, 21_600.0, 12, Jitter::Equal)
    );
}

#[test]
fn delays_grow_with_attempts_for_every_u() {
    for jitter in JITTERS {
        let p = policy(jitter);
        for u in grid() {
            let delays: Vec<f64> = (0..40).map(|n| p.delay_secs(n, u)).collect();
            assert_eq!(delays[0], 0.0, "the first attempt is immediate");
            assert!(
                delays.windows(2).all(|w| w[0] <= w[1]),
                "{jitter:?} {u}: {delays:?}"
            );
        }
    }
}

#[test]
fn delays_stay_within_zero_and_max_delay() {
    for jitter in JITTERS {
        let p = policy(jitter);
        for n in (0..64).chain([u32::MAX]) {
            for u in grid() {
                let d = p.delay_secs(n, u);
                assert!(
                    (0.0..=p.max_delay_secs).contains(&d),
                    "{jitter:?} {n} {u}: {d}"
                );
            }
        }
    }
}

#[test]
fn jitter_spreads_within_its_band_below_the_ceiling() {
    let exact = policy(Jitter::None);
    for n in 1..20 {
        let ceiling = exact.delay_secs(n, 0.5);
        for u in grid() {
            let full = policy(Jitter::Full).delay_secs(n, u);
            let equal = policy(Jitter::Equal).delay_secs(n, u);
            assert!(
                full >= 0.0 && full <= ceiling,
                "{n} {u}: {full} vs {ceiling}"
            );
            assert!(
                equal >= ceiling / 2.0 && equal <= ceiling,
                "{n} {u}: {equal}"
            );
            assert_eq!(exact.delay_secs(n, u), ceiling);
        }
        assert_eq!(policy(Jitter::Full).delay_secs(n, 0.0), 0.0);
        assert_eq!(policy(Jitter::Equal).delay_secs(n, 0.0), ceiling / 2.0);
    }
}

#[test]
fn below_the_cap_equal_jitter_never_retries_sooner_than_the_previous_attempt_could() {
    let p = policy(Jitter::Equal);
    let uncapped = |n| policy(Jitter::None).delay_secs(n, 0.0) < p.max_delay_secs;
    for n in (1..30).take_while(|&n| uncapped(n + 1)) {
        let latest_now = grid().map(|u| p.delay_secs(n, u)).fold(0.0, f64::max);
        let earliest_next = grid()
            .map(|u| p.delay_secs(n + 1, u))
            .fold(f64::MAX, f64::min);
        assert!(
            latest_now <= earliest_next,
            "{n}: {latest_now} > {earliest_next}"
        );
    }
}

#[test]
fn default_schedule_spans_7_to_15_hours() {
    let p = RetryPolicy::default();
    let span = |u: f64| (1..p.max_attempts).map(|n| p.delay_secs(n, u)).sum::<f64>();
    assert_eq!(span(0.0), 26_145.0);
    assert!(span(1.0 - f64::EPSILON) <= 52_290.0);
}

#[test]
fn exhausted_at_max_attempts() {
    let p = RetryPolicy::default();
    assert!((0..12).all(|n| !p.exhausted(n)));
    assert!(p.exhausted(12) && p.exhausted(13) && p.exhausted(u32::MAX));
    let none = RetryPolicy {
        max_attempts: 0,
        ..p
    };
    assert!(none.exhausted(0));
}
