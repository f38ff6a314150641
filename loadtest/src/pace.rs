//! Open-loop pacing: with `LOADTEST_PACE_MS` set, each user sends one hop
//! every that many milliseconds on a fixed schedule, whatever the answers take,
//! so `users × 1000 / pace_ms` is the offered rate (2,000 users at 400 ms offer
//! 5,000 hops/s).
//!
//! Why not goose's `--throttle-requests`: its token bucket releases tokens in
//! 10 ms batches, so at 5,000 hops/s fifty waiting users fire together every
//! 10 ms and the figures measure that burst's queue. Members dial on their own;
//! each user here starts at a random phase of its interval, so the hops of all
//! users arrive spread evenly over time, as they would from the network.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// One user's schedule: the instant of its next hop.
#[derive(Debug, Clone)]
pub struct Pacer {
    next: Instant,
    every: Duration,
}

impl Pacer {
    /// A schedule of one hop per `every`, the first at a random point of the
    /// first interval.
    pub fn new(every: Duration) -> Pacer {
        let phase = rand::rng().random_range(Duration::ZERO..every.max(Duration::from_millis(1)));
        Pacer::starting(Instant::now() + phase, every)
    }

    fn starting(first: Instant, every: Duration) -> Pacer {
        Pacer { next: first, every }
    }

    /// The instant the next hop is due, and the schedule moved on by one
    /// interval. A hop that is late (the previous answer took longer than the
    /// interval) is due at once: the schedule never slides, as in an open loop.
    pub fn next_slot(&mut self) -> Instant {
        let due = self.next;
        self.next += self.every;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_a_fixed_schedule() {
        let start = Instant::now();
        let every = Duration::from_millis(400);
        let mut pacer = Pacer::starting(start, every);
        assert_eq!(pacer.next_slot(), start);
        assert_eq!(pacer.next_slot(), start + every);
        assert_eq!(pacer.next_slot(), start + every * 2);
    }

    #[test]
    fn the_first_slot_falls_within_the_first_interval() {
        let every = Duration::from_millis(400);
        for _ in 0..100 {
            let before = Instant::now();
            let first = Pacer::new(every).next_slot();
            assert!(first >= before && first < Instant::now() + every);
        }
    }
}
