//! Settings of the STK push worker: how soon a push is queried, how long a
//! claim may last before its node counts as dead, how often Daraja may say
//! "busy" before the payment is given up.

use std::time::Duration;

use super::Checker;

/// Settings of the STK push worker (`mpesa::push`).
#[derive(Debug, Clone)]
pub struct MpesaPushSettings {
    /// How long after an accepted push its result is first queried (the
    /// prompt lives about a minute; the callback usually comes first): the
    /// reconciliation's `MPESA_QUERY_AFTER_SECS`.
    pub query_after: Duration,
    /// A row claimed longer than this without an answer belongs to a node
    /// that died mid-push: the push may have gone out, so it is queried,
    /// never pushed again.
    pub claim_timeout: Duration,
    /// Pushes Daraja may refuse as busy before the payment fails.
    pub max_busy_attempts: u32,
    /// Wait before pushing again after "busy"; doubled per attempt.
    pub busy_backoff: Duration,
}

/// Three times the client's whole-request timeout (30 s).
pub const DEFAULT_CLAIM_TIMEOUT: Duration = Duration::from_secs(90);
/// Five pushes over about eight minutes: longer and the member has given up.
pub const DEFAULT_MAX_BUSY_ATTEMPTS: u32 = 5;
/// Daraja's busy answers ask for a minute or so; 30 s doubling gets there.
pub const DEFAULT_BUSY_BACKOFF: Duration = Duration::from_secs(30);

impl Default for MpesaPushSettings {
    fn default() -> MpesaPushSettings {
        MpesaPushSettings {
            query_after: super::stk::DEFAULT_QUERY_AFTER,
            claim_timeout: DEFAULT_CLAIM_TIMEOUT,
            max_busy_attempts: DEFAULT_MAX_BUSY_ATTEMPTS,
            busy_backoff: DEFAULT_BUSY_BACKOFF,
        }
    }
}

pub(super) fn mpesa_push_settings(c: &mut Checker<'_>, query_after: Duration) -> MpesaPushSettings {
    let claim_timeout = c.seconds(
        "PESACHAMA_MPESA_PUSH_CLAIM_TIMEOUT_SECS",
        DEFAULT_CLAIM_TIMEOUT,
        3600,
    );
    let max_busy_attempts = c.parsed(
        "PESACHAMA_MPESA_PUSH_MAX_BUSY_ATTEMPTS",
        DEFAULT_MAX_BUSY_ATTEMPTS,
        "a whole number",
    );
    if max_busy_attempts == 0 || max_busy_attempts > 20 {
        c.fail(
            "PESACHAMA_MPESA_PUSH_MAX_BUSY_ATTEMPTS",
            "must be between 1 and 20",
        );
    }
    MpesaPushSettings {
        query_after,
        claim_timeout,
        max_busy_attempts,
        busy_backoff: DEFAULT_BUSY_BACKOFF,
    }
}
