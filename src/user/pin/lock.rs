//! The lock rule as pure arithmetic, so it can be tested without a clock or
//! a database: how long the next lock lasts and what it leaves behind.

use std::time::Duration;

/// First lock period; doubles with each further lock.
pub const BASE_LOCK: Duration = Duration::from_secs(5 * 60);
/// Longest lock period.
pub const MAX_LOCK: Duration = Duration::from_secs(24 * 60 * 60);
/// Quiet time (no lock) that takes one step off the lock level.
pub const LOCK_DECAY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Lock period at `level` (0-based): 5 min, 10 min, 20 min … capped at a day.
pub fn lock_period(level: i32) -> Duration {
    let doublings = level.clamp(0, 16) as u32;
    BASE_LOCK.saturating_mul(1 << doublings).min(MAX_LOCK)
}

/// The level of the next lock, given how many locks the account carries
/// (`lock_count`) and how long ago the last one ended (`quiet`; `None` when
/// there is no earlier lock, or it has not ended). Each full [`LOCK_DECAY`]
/// of quiet takes one step off; nothing else does.
pub fn next_lock_level(lock_count: i32, quiet: Option<Duration>) -> i32 {
    let steps = quiet.map_or(0, |quiet| quiet.as_secs() / LOCK_DECAY.as_secs());
    let steps = i32::try_from(steps).unwrap_or(i32::MAX);
    lock_count.saturating_sub(steps).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    #[test]
    fn lock_periods_double_and_are_capped() {
        assert_eq!(lock_period(0), 5 * MINUTE);
        assert_eq!(lock_period(1), 10 * MINUTE);
        assert_eq!(lock_period(2), 20 * MINUTE);
        assert_eq!(lock_period(30), MAX_LOCK);
        assert_eq!(lock_period(-1), BASE_LOCK);
    }

    #[test]
    fn a_first_lock_is_at_level_zero() {
        assert_eq!(next_lock_level(0, None), 0);
    }

    #[test]
    fn locks_that_follow_each_other_keep_growing() {
        // An attacker who waits out each lock and guesses again: the quiet
        // between locks is the guessing time, minutes, never a week.
        let mut count = 0;
        let mut periods = Vec::new();
        for _ in 0..5 {
            let level = next_lock_level(count, Some(MINUTE));
            periods.push(lock_period(level));
            count = level + 1;
        }
        assert_eq!(
            periods,
            [5, 10, 20, 40, 80].map(|m| m * MINUTE).to_vec(),
            "each lock doubles"
        );
    }

    #[test]
    fn growth_decays_one_step_per_quiet_week_and_only_then() {
        assert_eq!(next_lock_level(4, Some(6 * DAY)), 4);
        assert_eq!(next_lock_level(4, Some(7 * DAY)), 3);
        assert_eq!(next_lock_level(4, Some(15 * DAY)), 2);
        assert_eq!(next_lock_level(4, Some(365 * DAY)), 0);
        assert_eq!(next_lock_level(4, Some(Duration::MAX)), 0);
    }

    #[test]
    fn a_lock_that_has_not_ended_takes_nothing_off() {
        assert_eq!(next_lock_level(3, None), 3);
    }
}
