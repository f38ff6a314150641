//! What a Daraja result code means to the member who paid, and which codes
//! get their own metric label (protocols.md 3.3).

/// Why a payment did not go through, in words a member can act on. Its
/// key selects the phrase of `sms-payment-failed` in the member's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// 1: not enough money in the payer's M-Pesa.
    Insufficient,
    /// 1032: the payer dismissed the prompt.
    Cancelled,
    /// 1037, 1019: the phone was off, busy or nobody answered in time.
    Unreachable,
    /// 2001: the M-Pesa PIN was wrong.
    WrongPin,
    /// Anything else (1025, 9999, limits, configuration): nothing the member
    /// did, so the text only says M-Pesa could not complete it.
    Other,
}

impl FailureReason {
    /// The reason for Daraja's result code, as Daraja sent it.
    pub fn from_code(code: &str) -> FailureReason {
        match code.trim() {
            "1" => FailureReason::Insufficient,
            "1032" => FailureReason::Cancelled,
            "1037" | "1019" => FailureReason::Unreachable,
            "2001" => FailureReason::WrongPin,
            _ => FailureReason::Other,
        }
    }

    /// The select key in `sms-payment-failed`.
    pub fn key(self) -> &'static str {
        match self {
            FailureReason::Insufficient => "insufficient",
            FailureReason::Cancelled => "cancelled",
            FailureReason::Unreachable => "unreachable",
            FailureReason::WrongPin => "wrong-pin",
            FailureReason::Other => "other",
        }
    }
}

/// The metric label of a result code: the codes of protocols.md 3.3 as
/// themselves, anything else `other`, so a stranger's codes cannot grow
/// the label set.
pub fn result_code_label(code: &str) -> &'static str {
    const KNOWN: [&str; 18] = [
        "0",
        "1",
        "2",
        "3",
        "4",
        "8",
        "17",
        "26",
        "1001",
        "1019",
        "1025",
        "1032",
        "1037",
        "2001",
        "2028",
        "8006",
        "9999",
        "SFC_IC0003",
    ];
    KNOWN
        .iter()
        .find(|known| **known == code.trim())
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_common_code_has_its_reason() {
        let reasons: Vec<_> = ["1", "1032", "1037", "2001", "1025", "9999", "SFC_IC0003"]
            .into_iter()
            .map(|c| FailureReason::from_code(c).key())
            .collect();
        assert_eq!(
            reasons,
            [
                "insufficient",
                "cancelled",
                "unreachable",
                "wrong-pin",
                "other",
                "other",
                "other"
            ]
        );
    }

    #[test]
    fn unknown_codes_share_one_label() {
        assert_eq!(result_code_label("1032"), "1032");
        assert_eq!(result_code_label("SFC_IC0003"), "SFC_IC0003");
        assert_eq!(result_code_label("31337"), "other");
        assert_eq!(result_code_label("' or 1=1"), "other");
    }
}
