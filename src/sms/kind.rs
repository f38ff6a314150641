//! What a message is for. The kind decides two things the dispatcher and the
//! reminder job must agree on: whether a member's opt-out (`STOP`/`ACHA`)
//! silences it, and what to do with a send whose outcome is unknown (a
//! timeout after Africa's Talking may have accepted it, or a node killed
//! between claim and answer).

use std::fmt;

/// The kind of an outbox row (`sms_outbox.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmsKind {
    /// A payment or payout receipt: the member's record.
    Receipt,
    /// A security alert (PIN set, changed, locked, unlocked).
    Alert,
    /// A contribution or meeting reminder.
    Reminder,
    /// Any other notice about the member's chama (approval needed, decided):
    /// operational, so an opt-out does not silence it.
    Notice,
    /// An answer to a message the member texted us.
    Reply,
    /// A one-time code: useless once stale, harmful if repeated late.
    Otp,
}

/// What to do with a send whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnsure {
    /// Send again: a possible duplicate costs a few shillings and confuses
    /// nobody (a second receipt for the same payment says the same thing).
    Retry,
    /// Park it for an operator: a second copy, late, would mislead.
    Park,
}

impl SmsKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [SmsKind; 6] = [
        SmsKind::Receipt,
        SmsKind::Alert,
        SmsKind::Reminder,
        SmsKind::Notice,
        SmsKind::Reply,
        SmsKind::Otp,
    ];

    /// The name stored in `sms_outbox.kind` and used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsKind::Receipt => "receipt",
            SmsKind::Alert => "alert",
            SmsKind::Reminder => "reminder",
            SmsKind::Notice => "notice",
            SmsKind::Reply => "reply",
            SmsKind::Otp => "otp",
        }
    }

    /// Reads a stored name; `None` for anything else.
    pub fn parse(name: &str) -> Option<SmsKind> {
        SmsKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether a member who texted `STOP` no longer gets it: reminders
    /// only. Receipts and security alerts always go (the record and the
    /// alarm bell), and so do notices: an official who asked for fewer
    /// nudges still has to hear that a payout waits for their approval.
    pub fn respects_opt_out(self) -> bool {
        matches!(self, SmsKind::Reminder)
    }

    /// What to do when a send of this kind may or may not have gone out.
    pub fn when_unsure(self) -> WhenUnsure {
        match self {
            SmsKind::Otp => WhenUnsure::Park,
            _ => WhenUnsure::Retry,
        }
    }
}

impl fmt::Display for SmsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in SmsKind::ALL {
            assert_eq!(SmsKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SmsKind::parse("marketing"), None);
    }

    #[test]
    fn only_reminders_are_silenced_by_an_opt_out() {
        let silenced: Vec<_> = SmsKind::ALL
            .into_iter()
            .filter(|k| k.respects_opt_out())
            .collect();
        assert_eq!(silenced, [SmsKind::Reminder]);
    }

    #[test]
    fn only_a_one_time_code_is_parked_when_unsure() {
        for kind in SmsKind::ALL {
            let expected = if kind == SmsKind::Otp {
                WhenUnsure::Park
            } else {
                WhenUnsure::Retry
            };
            assert_eq!(kind.when_unsure(), expected, "{kind}");
        }
    }
}
