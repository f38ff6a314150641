//! Africa's Talking's delivery statuses (protocols.md 2.4) and what each
//! means for the outbox row.
//!
//! Final: `Success` (on the handset), `Failed`, `Rejected` (AT marks these
//! three final) and `Expired`: the telco gave up on the message (its validity
//! ran out, or it discarded the content or sender), and nothing follows it.
//! `AbsentSubscriber` is not final: the phone is off or out of coverage and
//! the telco keeps trying until the validity runs out, so a `Success` or an
//! `Expired` may still come. A final state is never replaced, by a non-final
//! one or by another final one (the first final AT reports wins: the row does
//! not flip between delivered and failed on a confused report).

/// A delivery status as AT writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Sent,
    Submitted,
    Buffered,
    Success,
    Failed,
    Rejected,
    AbsentSubscriber,
    Expired,
    /// A status AT may add later: the report is kept, the row left alone.
    Unknown,
}

/// AT's documented `failureReason` values, the only ones used as metric
/// labels (anything else counts as `other`).
const FAILURE_REASONS: [&str; 10] = [
    "InsufficientCredit",
    "InvalidLinkId",
    "UserIsInactive",
    "UserInBlackList",
    "UserAccountSuspended",
    "NotNetworkSubcriber",
    "UserNotSubscribedToProduct",
    "UserDoesNotExist",
    "DeliveryFailure",
    "DoNotDisturbRejection",
];

/// What a status does to its outbox row's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still on its way: only `delivery_status` changes.
    Pending,
    /// On the handset: `delivered`.
    Delivered,
    /// Will never arrive: `failed`, with the reason.
    Failed,
}

impl DeliveryStatus {
    const KNOWN: [DeliveryStatus; 8] = [
        DeliveryStatus::Sent,
        DeliveryStatus::Submitted,
        DeliveryStatus::Buffered,
        DeliveryStatus::Success,
        DeliveryStatus::Failed,
        DeliveryStatus::Rejected,
        DeliveryStatus::AbsentSubscriber,
        DeliveryStatus::Expired,
    ];

    /// Reads AT's spelling exactly; anything else is [`DeliveryStatus::Unknown`].
    pub fn parse(value: &str) -> DeliveryStatus {
        DeliveryStatus::KNOWN
            .into_iter()
            .find(|s| s.as_str() == value)
            .unwrap_or(DeliveryStatus::Unknown)
    }

    /// AT's spelling, also the metric label (`unknown` for the rest).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "Sent",
            DeliveryStatus::Submitted => "Submitted",
            DeliveryStatus::Buffered => "Buffered",
            DeliveryStatus::Success => "Success",
            DeliveryStatus::Failed => "Failed",
            DeliveryStatus::Rejected => "Rejected",
            DeliveryStatus::AbsentSubscriber => "AbsentSubscriber",
            DeliveryStatus::Expired => "Expired",
            DeliveryStatus::Unknown => "unknown",
        }
    }

    pub fn outcome(self) -> Outcome {
        match self {
            DeliveryStatus::Success => Outcome::Delivered,
            DeliveryStatus::Failed | DeliveryStatus::Rejected | DeliveryStatus::Expired => {
                Outcome::Failed
            }
            _ => Outcome::Pending,
        }
    }

    pub fn is_final(self) -> bool {
        self.outcome() != Outcome::Pending
    }
}

/// A failure reason as a bounded metric label.
pub fn reason_label(reason: Option<&str>) -> &'static str {
    match reason {
        None => "none",
        Some(reason) => FAILURE_REASONS
            .into_iter()
            .find(|known| *known == reason)
            .unwrap_or("other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_statuses_round_trip_and_others_are_unknown() {
        for status in DeliveryStatus::KNOWN {
            assert_eq!(DeliveryStatus::parse(status.as_str()), status);
        }
        assert_eq!(DeliveryStatus::parse("success"), DeliveryStatus::Unknown);
        assert_eq!(DeliveryStatus::parse("Teleported"), DeliveryStatus::Unknown);
    }

    #[test]
    fn success_failed_rejected_and_expired_are_final() {
        let finals: Vec<_> = DeliveryStatus::KNOWN
            .into_iter()
            .filter(|s| s.is_final())
            .map(DeliveryStatus::as_str)
            .collect();
        assert_eq!(finals, ["Success", "Failed", "Rejected", "Expired"]);
        assert!(!DeliveryStatus::AbsentSubscriber.is_final());
        assert!(!DeliveryStatus::Unknown.is_final());
    }

    #[test]
    fn reasons_outside_the_documented_list_share_one_label() {
        assert_eq!(reason_label(Some("UserInBlackList")), "UserInBlackList");
        assert_eq!(reason_label(Some("+254711000001 said no")), "other");
        assert_eq!(reason_label(None), "none");
    }
}
