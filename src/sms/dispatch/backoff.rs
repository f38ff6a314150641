//! How long a message waits before its next attempt: exponential back-off
//! with full jitter (a uniform pick between zero and the ceiling), so a
//! thousand messages that failed together in an outage do not all come back
//! in the same instant when Africa's Talking does.

use std::time::Duration;

use rand::Rng;

/// The longest wait after `attempts` attempts: `base` doubled per attempt
/// after the first, never beyond `max`.
pub fn ceiling(attempts: u32, base: Duration, max: Duration) -> Duration {
    let doublings = attempts.saturating_sub(1).min(31);
    base.saturating_mul(1 << doublings).min(max)
}

/// A random wait in `0..=ceiling(attempts, base, max)`.
pub fn delay(attempts: u32, base: Duration, max: Duration) -> Duration {
    let ceiling = ceiling(attempts, base, max).as_millis();
    let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=ceiling))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(15);
    const MAX: Duration = Duration::from_secs(3600);

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        let secs: Vec<u64> = (1..=10).map(|a| ceiling(a, BASE, MAX).as_secs()).collect();
        assert_eq!(secs, [15, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(ceiling(0, BASE, MAX), BASE);
        assert_eq!(ceiling(u32::MAX, BASE, MAX), MAX);
    }

    #[test]
    fn the_delay_stays_under_the_ceiling() {
        for attempts in 1..=12 {
            for _ in 0..50 {
                assert!(delay(attempts, BASE, MAX) <= ceiling(attempts, BASE, MAX));
            }
        }
    }
}
