//! The account number a payer types on the paybill menu (`BillRefNumber`):
//! the chama's code, optionally with the member's number, `UMOJA` or
//! `UMOJA-17`. Payers type on a phone keypad, so case, spaces and the usual
//! separators are forgiven; a number glued to the code (`UMOJA17`) is read
//! as the code itself, since generated codes end in digits (`UMOJAW482`).

use crate::chama::ChamaCode;

/// Longest reference Daraja passes on (protocols.md 3.5: up to 20 characters).
const MAX_LEN: usize = 20;

/// What a paybill account number names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub chama: ChamaCode,
    /// The member's number in that chama, when the payer typed one.
    pub member_no: Option<i32>,
}

impl AccountRef {
    /// Reads `UMOJA`, `umoja 17`, `UMOJA-17`, `UMOJA#17`, `UMOJA/17`; `None`
    /// for anything that cannot name a chama.
    pub fn parse(input: &str) -> Option<AccountRef> {
        let input = input.trim();
        if input.is_empty() || input.len() > MAX_LEN {
            return None;
        }
        let mut parts = input
            .split(['-', ' ', '#', '/', '.', '_'])
            .filter(|p| !p.is_empty());
        let chama = ChamaCode::parse(parts.next()?).ok()?;
        let member_no = match parts.next() {
            None => None,
            Some(n) => Some(n.parse::<i32>().ok().filter(|n| *n > 0)?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(AccountRef { chama, member_no })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(chama: &str, member_no: Option<i32>) -> Option<AccountRef> {
        Some(AccountRef {
            chama: ChamaCode::parse(chama).unwrap(),
            member_no,
        })
    }

    #[test]
    fn the_forms_payers_type() {
        assert_eq!(AccountRef::parse("UMOJA"), r("UMOJA", None));
        assert_eq!(AccountRef::parse(" umoja "), r("UMOJA", None));
        assert_eq!(AccountRef::parse("UMOJA-17"), r("UMOJA", Some(17)));
        assert_eq!(AccountRef::parse("umoja 17"), r("UMOJA", Some(17)));
        assert_eq!(AccountRef::parse("UMOJA#17"), r("UMOJA", Some(17)));
        assert_eq!(AccountRef::parse("UMOJA / 17"), r("UMOJA", Some(17)));
        assert_eq!(AccountRef::parse("UMOJAW482"), r("UMOJAW482", None));
    }

    #[test]
    fn what_names_no_chama() {
        for input in [
            "",
            "  ",
            "-17",
            "UM",
            "UMOJA-0",
            "UMOJA-x",
            "UMOJA-17-2",
            "UMOJA-99999999999",
            "Sample Transaction",
            "UMOJA;DROP",
            "ABCDEFGHIJKLMNOPQRSTU",
        ] {
            assert_eq!(AccountRef::parse(input), None, "{input:?}");
        }
        // A trailing separator is forgiven: it names the chama alone.
        assert_eq!(AccountRef::parse("UMOJA-"), r("UMOJA", None));
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(input in "\\PC{0,30}") {
            if let Some(parsed) = AccountRef::parse(&input) {
                let again = match parsed.member_no {
                    Some(n) => format!("{}-{n}", parsed.chama),
                    None => parsed.chama.to_string(),
                };
                prop_assert_eq!(AccountRef::parse(&again), Some(parsed));
            }
        }
    }
}
