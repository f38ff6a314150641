//! The typed input validators. Each returns the input in the form actions
//! receive it, or `None` when it is refused.

use super::model::Validator;
use crate::i18n::to_gsm7_basic;
use crate::phone::Msisdn;

/// Digits in a PIN.
const PIN_LEN: usize = 4;
/// Most digits in a member number.
const MEMBER_NO_MAX_LEN: usize = 10;

impl Validator {
    /// Checks `input` (already trimmed). Amounts come back as plain digits,
    /// phone numbers in E.164, text reduced to basic GSM-7.
    pub fn check(&self, input: &str) -> Option<String> {
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match *self {
            Validator::Amount { min, max } => {
                // Members type `1,000` as often as `1000`.
                let digits: String = input.chars().filter(|c| *c != ',').collect();
                if !all_digits(&digits) {
                    return None;
                }
                let amount: i64 = digits.parse().ok()?;
                (min..=max).contains(&amount).then(|| amount.to_string())
            }
            Validator::Pin => {
                (input.len() == PIN_LEN && all_digits(input)).then(|| input.to_owned())
            }
            Validator::Phone => Msisdn::parse(input).ok().map(|m| m.as_e164().to_owned()),
            Validator::MemberNo => {
                (input.len() <= MEMBER_NO_MAX_LEN && all_digits(input)).then(|| input.to_owned())
            }
            Validator::Text { max } => {
                let count = input.chars().count();
                (1..=max).contains(&count).then(|| to_gsm7_basic(input))
            }
        }
    }

    /// Longest value [`Validator::check`] returns, for sizing stored inputs.
    pub fn max_len(&self) -> usize {
        match *self {
            Validator::Amount { max, .. } => max.to_string().len(),
            Validator::Pin => PIN_LEN,
            Validator::Phone => "+254712345678".len(),
            Validator::MemberNo => MEMBER_NO_MAX_LEN,
            Validator::Text { max } => max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_bounded_and_accept_thousands_separators() {
        let v = Validator::Amount {
            min: 10,
            max: 70_000,
        };
        assert_eq!(v.check("1,000").as_deref(), Some("1000"));
        assert_eq!(v.check("9"), None);
        assert_eq!(v.check("70001"), None);
        assert_eq!(v.check("-5"), None);
        assert_eq!(v.check("99999999999999999999999"), None);
    }

    #[test]
    fn pins_are_exactly_four_digits() {
        assert_eq!(Validator::Pin.check("0420").as_deref(), Some("0420"));
        for bad in ["042", "04201", "12a4", "", "\u{661}234"] {
            assert_eq!(Validator::Pin.check(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn phones_member_numbers_and_text_are_checked() {
        assert_eq!(
            Validator::Phone.check("0712345678").as_deref(),
            Some("+254712345678")
        );
        assert_eq!(Validator::Phone.check("12"), None);
        assert_eq!(Validator::MemberNo.check("0042").as_deref(), Some("0042"));
        assert_eq!(Validator::MemberNo.check("12345678901"), None);
        assert_eq!(
            Validator::Text { max: 5 }.check("abcde").as_deref(),
            Some("abcde")
        );
        assert_eq!(Validator::Text { max: 5 }.check("abcdef"), None);
    }
}
