//! The node's pace towards Africa's Talking: a `governor` token bucket of
//! `rate_per_sec` recipients per second, a bulk request costing one token
//! per recipient. The bucket holds one second's worth, so an idle node may
//! send a burst of that size and no more.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The quota for `rate_per_sec` recipients per second (at least one).
pub fn quota(rate_per_sec: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(rate_per_sec).unwrap_or(NonZeroU32::MIN))
}

/// Rows one claim may take: the batch size, but no more than the pace lets
/// out in a quarter of the sending timeout. Claimed rows wait for the bucket;
/// one that waited past the timeout would be taken back by another node while
/// this one still meant to send it.
pub fn claim_limit(batch_size: u32, rate_per_sec: u32, sending_timeout: Duration) -> i64 {
    let by_pace = u64::from(rate_per_sec.max(1)) * (sending_timeout.as_secs() / 4).max(1);
    i64::try_from(by_pace.min(u64::from(batch_size.max(1)))).unwrap_or(i64::MAX)
}

/// The node-wide bucket.
pub struct Pace {
    limiter: DefaultDirectRateLimiter,
    burst: NonZeroU32,
}

impl Pace {
    pub fn new(rate_per_sec: u32) -> Pace {
        let quota = quota(rate_per_sec);
        Pace {
            burst: quota.burst_size(),
            limiter: RateLimiter::direct(quota),
        }
    }

    /// Waits until `recipients` tokens are free. A bulk request larger than
    /// the bucket waits for it in bucket-sized parts.
    pub async fn take(&self, recipients: usize) {
        let mut left = u32::try_from(recipients).unwrap_or(u32::MAX);
        while let Some(part) = NonZeroU32::new(left.min(self.burst.get())) {
            // `part` never exceeds the burst, the only way this can fail.
            if self.limiter.until_n_ready(part).await.is_err() {
                return;
            }
            left -= part.get();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_never_holds_more_than_a_quarter_timeout_of_sending() {
        let timeout = Duration::from_secs(120);
        assert_eq!(claim_limit(200, 50, timeout), 200);
        assert_eq!(claim_limit(5_000, 50, timeout), 1_500);
        assert_eq!(claim_limit(5_000, 10, Duration::from_secs(1)), 10);
        assert_eq!(claim_limit(0, 0, timeout), 1);
    }

    #[test]
    fn the_bucket_refills_at_the_rate_and_holds_one_second() {
        let quota = quota(50);
        assert_eq!(quota.burst_size().get(), 50);
        assert_eq!(quota.replenish_interval(), Duration::from_millis(20));
        assert_eq!(super::quota(0).burst_size().get(), 1);
    }

    #[test]
    fn a_full_bucket_gives_its_burst_and_then_refuses() {
        let limiter = RateLimiter::direct(quota(50));
        let fifty = NonZeroU32::new(50).unwrap();
        assert!(limiter.check_n(fifty).unwrap().is_ok());
        assert!(limiter.check().is_err(), "the 51st recipient must wait");
        assert!(
            limiter.check_n(NonZeroU32::new(51).unwrap()).is_err(),
            "more than a bucket can never pass at once"
        );
    }

    #[tokio::test]
    async fn a_request_smaller_than_the_bucket_passes_at_once() {
        let pace = Pace::new(100_000);
        pace.take(1_000).await;
        pace.take(0).await;
    }
}
