//! What the fake is told to do besides accepting: whole-request failures
//! ([`Failure`]), per-number refusals, and the delivery reports it posts per
//! number ([`DeliveryPlan`]).

use std::time::Duration;

use serde::Deserialize;

/// How the next sends fail as a whole (see [`super::FakeSms::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// HTTP 500, nothing sent.
    ServerError,
    /// HTTP 429, nothing sent.
    Throttled,
    /// HTTP 401, nothing sent.
    Unauthorized,
    /// HTTP 201 with every recipient refused 405 `InsufficientBalance`;
    /// nothing sent.
    InsufficientBalance,
    /// The message IS recorded as sent, then the answer is held longer than
    /// the client waits: AT accepted it and the answer was lost.
    Timeout,
}

/// The next `times` requests fail with `failure`.
#[derive(Debug, Clone, Copy)]
pub(super) struct FailurePlan {
    failure: Failure,
    left: usize,
}

impl FailurePlan {
    pub(super) fn new(times: usize, failure: Failure) -> Option<FailurePlan> {
        (times > 0).then_some(FailurePlan {
            failure,
            left: times,
        })
    }

    /// The failure for this request, and what is left of the plan.
    pub(super) fn take(plan: &mut Option<FailurePlan>) -> Option<Failure> {
        let current = plan.as_mut()?;
        let failure = current.failure;
        current.left -= 1;
        if current.left == 0 {
            *plan = None;
        }
        Some(failure)
    }
}

/// A permanent per-recipient refusal (e.g. 406 `UserInBlacklist`).
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub status_code: u16,
    pub status: String,
}

/// The delivery reports the fake posts for one accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryPlan {
    /// `Submitted`, then `Success` (the default).
    Success,
    /// `Submitted`, then `Failed` with this `failureReason` (e.g.
    /// `UserIsInactive`, `DeliveryFailure`).
    Failed(String),
    /// `Rejected` with this `failureReason`, alone.
    Rejected(String),
    /// No report at all, as when AT never learns the outcome.
    Silent,
    /// Exactly these reports, in order: a late final after an earlier one,
    /// `Buffered` then `Success`, an unknown status...
    Steps(Vec<ReportStep>),
}

/// One delivery report of a [`DeliveryPlan::Steps`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportStep {
    /// Waited after the previous report (or after the report delay, for the
    /// first).
    pub after: Duration,
    /// AT's `status` (`Sent`, `Submitted`, `Buffered`, `Success`, `Failed`...).
    pub status: String,
    /// AT's `failureReason`, which AT sends only with `Failed` and `Rejected`.
    pub failure_reason: Option<String>,
}

impl ReportStep {
    /// A report right after the previous one.
    pub fn now(status: &str, failure_reason: Option<&str>) -> ReportStep {
        ReportStep {
            after: Duration::ZERO,
            status: status.to_owned(),
            failure_reason: failure_reason.map(str::to_owned),
        }
    }
}

impl DeliveryPlan {
    /// The reports this plan posts, in order.
    pub(super) fn steps(&self) -> Vec<ReportStep> {
        match self {
            DeliveryPlan::Success => vec![
                ReportStep::now("Submitted", None),
                ReportStep::now("Success", None),
            ],
            DeliveryPlan::Failed(reason) => vec![
                ReportStep::now("Submitted", None),
                ReportStep::now("Failed", Some(reason)),
            ],
            DeliveryPlan::Rejected(reason) => vec![ReportStep::now("Rejected", Some(reason))],
            DeliveryPlan::Silent => Vec::new(),
            DeliveryPlan::Steps(steps) => steps.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_fails_exactly_its_count_then_ends() {
        let mut plan = FailurePlan::new(2, Failure::Throttled);
        assert_eq!(FailurePlan::take(&mut plan), Some(Failure::Throttled));
        assert_eq!(FailurePlan::take(&mut plan), Some(Failure::Throttled));
        assert_eq!(FailurePlan::take(&mut plan), None);
        assert!(FailurePlan::new(0, Failure::ServerError).is_none());
    }

    #[test]
    fn failures_read_as_snake_case() {
        let failure: Failure = serde_json::from_str(r#""insufficient_balance""#).unwrap();
        assert_eq!(failure, Failure::InsufficientBalance);
        assert!(serde_json::from_str::<Failure>(r#""Nope""#).is_err());
    }
}
