//! Settings of STK results: who may post Daraja's callbacks, and when the
//! reconciliation worker asks Daraja about a push whose callback is late.

use std::time::Duration;

use super::Checker;

/// Settings of STK callbacks and reconciliation.
#[derive(Debug, Clone)]
pub struct StkSettings {
    /// Source networks allowed to post STK callbacks; empty allows any.
    /// Daraja signs nothing, so this (with the path token) is the only
    /// check of who is talking (protocols.md 3.8).
    pub allowed_sources: Vec<ipnet::IpNet>,
    /// How long after the push a pending request is first queried. Daraja's
    /// prompt lives about a minute and it throttles earlier queries.
    pub query_after: Duration,
    /// Longest wait between two queries of one request (the back-off's cap).
    pub query_backoff_max: Duration,
    /// After this long without an answer a pending request becomes `unknown`.
    pub settle_deadline: Duration,
    /// How often the reconciliation worker looks for due requests.
    pub reconcile_every: Duration,
    /// Requests one reconciliation pass claims at most.
    pub reconcile_batch: u32,
    /// How far a paybill confirmation's `TransTime` may lie outside the
    /// span from a push to the query that booked it without a receipt, and
    /// still be taken for that push's payment (`c2b::query_booked`).
    pub c2b_match_window: Duration,
}

/// A minute and a half: the prompt has expired by then, so a query gives a
/// final answer unless the payer is still typing their PIN.
pub const DEFAULT_QUERY_AFTER: Duration = Duration::from_secs(90);
/// Half an hour: Daraja's spike arrest punishes fast polling.
pub const DEFAULT_QUERY_BACKOFF_MAX: Duration = Duration::from_secs(1800);
/// A day: long enough for Daraja outages, short enough that an official
/// looks at it while the member still remembers paying.
pub const DEFAULT_SETTLE_DEADLINE: Duration = Duration::from_secs(86_400);
pub const DEFAULT_RECONCILE_EVERY: Duration = Duration::from_secs(5);
pub const DEFAULT_RECONCILE_BATCH: u32 = 50;
/// Ten minutes: Safaricom's confirmation follows the payment within seconds,
/// and the two clocks may differ by a few minutes.
pub const DEFAULT_C2B_MATCH_WINDOW: Duration = Duration::from_secs(600);

pub(super) fn stk_settings(c: &mut Checker<'_>) -> StkSettings {
    let allowed_sources = c.networks("MPESA_CALLBACK_ALLOWED_SOURCES");
    let query_after = c.seconds("MPESA_QUERY_AFTER_SECS", DEFAULT_QUERY_AFTER, 3600);
    let query_backoff_max = c.seconds(
        "MPESA_QUERY_BACKOFF_MAX_SECS",
        DEFAULT_QUERY_BACKOFF_MAX,
        86_400,
    );
    let settle_deadline = c.seconds(
        "MPESA_SETTLE_DEADLINE_SECS",
        DEFAULT_SETTLE_DEADLINE,
        30 * 86_400,
    );
    if settle_deadline <= query_after {
        c.fail(
            "MPESA_SETTLE_DEADLINE_SECS",
            "must be longer than MPESA_QUERY_AFTER_SECS",
        );
    }
    let reconcile_every = c.seconds("MPESA_RECONCILE_EVERY_SECS", DEFAULT_RECONCILE_EVERY, 600);
    let reconcile_batch = c.parsed(
        "MPESA_RECONCILE_BATCH",
        DEFAULT_RECONCILE_BATCH,
        "a whole number",
    );
    if !(1..=1000).contains(&reconcile_batch) {
        c.fail("MPESA_RECONCILE_BATCH", "must be between 1 and 1000");
    }
    let c2b_match_window = c.seconds(
        "MPESA_C2B_MATCH_WINDOW_SECS",
        DEFAULT_C2B_MATCH_WINDOW,
        86_400,
    );
    StkSettings {
        allowed_sources,
        query_after,
        query_backoff_max,
        settle_deadline,
        reconcile_every,
        reconcile_batch,
        c2b_match_window,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, RawSettings, Settings};

    fn raw(extra: &[(&str, &str)]) -> RawSettings {
        [
            ("DATABASE_URL", "postgres://app@db/pesachama"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("PESACHAMA_PIN_SECRET", "0123456789abcdef0123456789abcdef"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    #[test]
    fn defaults_query_after_ninety_seconds_and_close_after_a_day() {
        let stk = Settings::parse_for_fakes(&raw(&[])).unwrap().stk;
        assert_eq!(stk.query_after.as_secs(), 90);
        assert_eq!(stk.settle_deadline.as_secs(), 86_400);
        assert_eq!(stk.c2b_match_window.as_secs(), 600);
        assert!(stk.allowed_sources.is_empty());
    }

    #[test]
    fn sources_parse_and_bad_values_are_each_reported() {
        let stk = Settings::parse_for_fakes(&raw(&[(
            "MPESA_CALLBACK_ALLOWED_SOURCES",
            "196.201.214.200, 196.201.212.0/24",
        )]))
        .unwrap()
        .stk;
        assert_eq!(stk.allowed_sources.len(), 2);

        let bad = raw(&[
            ("MPESA_CALLBACK_ALLOWED_SOURCES", "safaricom"),
            ("MPESA_QUERY_AFTER_SECS", "600"),
            ("MPESA_SETTLE_DEADLINE_SECS", "300"),
            ("MPESA_RECONCILE_BATCH", "0"),
            ("MPESA_C2B_MATCH_WINDOW_SECS", "0"),
        ]);
        let Err(ConfigError::Invalid(problems)) = Settings::parse_for_fakes(&bad) else {
            panic!("bad settings parsed");
        };
        let variables: Vec<_> = problems.iter().map(|p| p.variable).collect();
        assert_eq!(
            variables,
            [
                "MPESA_CALLBACK_ALLOWED_SOURCES",
                "MPESA_SETTLE_DEADLINE_SECS",
                "MPESA_RECONCILE_BATCH",
                "MPESA_C2B_MATCH_WINDOW_SECS"
            ]
        );
    }
}
