//! `Amount`: money typed by a member, parsed once into whole shillings.

use std::fmt;

/// A positive amount of whole Kenya shillings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

/// Largest single amount we accept: M-Pesa's own per-transaction ceiling.
pub const MAX_AMOUNT: i64 = 250_000;

impl Amount {
    /// Parses `1000`, `1,000` or `1 000`; refuses zero, decimals, signs and
    /// anything above [`MAX_AMOUNT`].
    pub fn parse(input: &str) -> Option<Amount> {
        let digits: String = input
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != ' ')
            .collect();
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: i64 = digits.parse().ok()?;
        (1..=MAX_AMOUNT).contains(&value).then_some(Amount(value))
    }

    /// Whole shillings.
    pub fn shillings(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::i18n::format_kes(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_may_type_thousands_separators() {
        assert_eq!(Amount::parse("1,000").unwrap().shillings(), 1000);
        assert_eq!(Amount::parse(" 2 500 ").unwrap().shillings(), 2500);
    }

    #[test]
    fn zero_decimals_signs_and_huge_amounts_are_refused() {
        for bad in [
            "0",
            "10.50",
            "-5",
            "+5",
            "",
            "250001",
            "99999999999999999999",
            "1e3",
        ] {
            assert!(Amount::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn amounts_display_as_members_expect() {
        assert_eq!(Amount::parse("1250").unwrap().to_string(), "KES 1,250");
    }
}
