//! Rate limits on what callers send (`governor`, in memory per node): USSD
//! hops per phone number and per source address, session-end events per
//! source. What a refusal looks like belongs to the endpoint.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::UssdSettings;
use crate::telemetry::USSD_RATE_LIMITED;

/// Per-phone and per-source limiters.
pub struct RateLimits {
    per_phone: DefaultKeyedRateLimiter<String>,
    per_source: DefaultKeyedRateLimiter<IpAddr>,
    events_per_source: DefaultKeyedRateLimiter<IpAddr>,
}

/// Which limit refused a hop or an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Phone,
    Source,
    Events,
}

impl RateLimits {
    /// Builds the limiters from the settings.
    pub fn new(settings: &UssdSettings) -> RateLimits {
        let per_minute = NonZeroU32::new(settings.rate_per_phone).unwrap_or(NonZeroU32::MIN);
        let per_second = NonZeroU32::new(settings.rate_per_source).unwrap_or(NonZeroU32::MIN);
        let events = NonZeroU32::new(settings.events_rate_per_source).unwrap_or(NonZeroU32::MIN);
        RateLimits {
            per_phone: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_source: RateLimiter::keyed(Quota::per_second(per_second)),
            events_per_source: RateLimiter::keyed(Quota::per_second(events)),
        }
    }

    /// Counts one hop from `source`.
    pub fn check_source(&self, source: IpAddr) -> Result<(), Limited> {
        self.per_source
            .check_key(&source.to_canonical())
            .map_err(|_| {
                metrics::counter!(USSD_RATE_LIMITED, "limit" => "source").increment(1);
                Limited::Source
            })
    }

    /// Counts one session-end event from `source`.
    pub fn check_events(&self, source: IpAddr) -> Result<(), Limited> {
        self.events_per_source
            .check_key(&source.to_canonical())
            .map_err(|_| {
                metrics::counter!(USSD_RATE_LIMITED, "limit" => "events").increment(1);
                Limited::Events
            })
    }

    /// Counts one hop of `phone` (E.164).
    pub fn check_phone(&self, phone: &str) -> Result<(), Limited> {
        self.per_phone.check_key(&phone.to_owned()).map_err(|_| {
            metrics::counter!(USSD_RATE_LIMITED, "limit" => "phone").increment(1);
            Limited::Phone
        })
    }

    /// Forgets keys whose limits are back to full, so the maps do not grow
    /// with every phone ever seen. Called periodically by a background task.
    pub fn forget_idle(&self) {
        self.per_phone.retain_recent();
        self.per_source.retain_recent();
        self.events_per_source.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_mapped_and_a_plain_ipv4_peer_share_one_rate_limit() {
        let limits = RateLimits::new(&UssdSettings {
            rate_per_source: 1,
            events_rate_per_source: 1,
            ..test_settings()
        });
        assert!(limits.check_source(ip("10.0.0.1")).is_ok());
        assert_eq!(
            limits.check_source(ip("::ffff:10.0.0.1")),
            Err(Limited::Source)
        );
        assert!(limits.check_events(ip("::ffff:10.0.0.1")).is_ok());
        assert_eq!(limits.check_events(ip("10.0.0.1")), Err(Limited::Events));
    }

    #[test]
    fn a_fast_member_never_meets_the_default_phone_limit_but_a_flood_does() {
        let limits = RateLimits::new(&test_settings());
        let phone = "+254711000001";
        // Three brisk sessions of 20 hops inside one minute: no refusal.
        for hop in 0..60 {
            assert!(limits.check_phone(phone).is_ok(), "hop {hop} refused");
        }
        // A script that keeps going is refused; other phones are not.
        assert_eq!(limits.check_phone(phone), Err(Limited::Phone));
        assert!(limits.check_phone("+254711000002").is_ok());
    }

    fn test_settings() -> UssdSettings {
        crate::config::Settings::parse_for_fakes(
            &[
                ("DATABASE_URL", "postgres://db/x"),
                ("REDIS_URL", "redis://cache"),
                (
                    "PESACHAMA_PIN_SECRET",
                    "unit-test-pin-secret-0123456789abcdef",
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        )
        .unwrap()
        .ussd
    }
}
