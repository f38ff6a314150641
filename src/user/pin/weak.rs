//! PINs too easy to guess, refused when a member sets or changes one.
//!
//! An attacker with three guesses per lock period tries the likeliest PINs
//! first; each rule below removes a family of them. The old PIN on a change is
//! judged against its stored hash by `set_pin`, since it is never kept in clear.

use crate::phone::Msisdn;

use super::Pin;

/// Why a PIN is refused. Each reason has its own message in
/// `locales/<lang>/ussd.ftl` ([`Weakness::message_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// One digit four times (`0000`, `7777`).
    Repeated,
    /// A straight run up or down, wrapping past 9 and 0 as on a keypad's
    /// row (`1234`, `4321`, `0123`, `9876`, `8901`, `1098`).
    Run,
    /// One of the PINs people choose most ([`COMMON`]).
    Common,
    /// The last four digits of the member's own phone.
    PhoneSuffix,
    /// The PIN the member already has (on a change).
    SameAsOld,
}

impl Weakness {
    /// The Fluent message that explains the refusal.
    pub fn message_id(self) -> &'static str {
        match self {
            Weakness::Repeated => "pin-weak-repeated",
            Weakness::Run => "pin-weak-run",
            Weakness::Common => "pin-weak-common",
            Weakness::PhoneSuffix => "pin-weak-phone",
            Weakness::SameAsOld => "pin-weak-same",
        }
    }

    /// Every reason, for checks that each has its message.
    pub const ALL: [Weakness; 5] = [
        Weakness::Repeated,
        Weakness::Run,
        Weakness::Common,
        Weakness::PhoneSuffix,
        Weakness::SameAsOld,
    ];
}

/// The most common four-digit PINs that the other rules do not already catch.
/// From Nick Berry's analysis of 3.4 million leaked PINs (DataGenetics, "PIN
/// number analysis", 2012): its top 20 are 1234, 1111, 0000, 1212, 7777, 1004,
/// 2000, 4444, 2222, 6969, 9999, 3333, 5555, 6666, 1122, 1313, 8888, 4321,
/// 2001, 1010; the same study notes 2580 (straight down a phone keypad's
/// middle column), listed here with its reverse 0852.
pub const COMMON: [&str; 10] = [
    "1212", "1004", "2000", "6969", "1122", "1313", "2001", "1010", "2580", "0852",
];

/// The first rule `pin` breaks, judged without the database: all the rules
/// but [`Weakness::SameAsOld`].
pub fn weakness(pin: &Pin, phone: &Msisdn) -> Option<Weakness> {
    let digits: Vec<u8> = pin.0.bytes().map(|b| b - b'0').collect();
    let steps: Vec<u8> = digits.windows(2).map(|w| (w[1] + 10 - w[0]) % 10).collect();
    if steps.iter().all(|&s| s == 0) {
        Some(Weakness::Repeated)
    } else if steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == 9) {
        Some(Weakness::Run)
    } else if COMMON.contains(&pin.0.as_str()) {
        Some(Weakness::Common)
    } else if phone.as_e164().ends_with(pin.0.as_str()) {
        Some(Weakness::PhoneSuffix)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(pin: &str) -> Option<Weakness> {
        let phone = Msisdn::parse("0712345678").unwrap();
        weakness(&Pin::parse(pin).unwrap(), &phone)
    }

    #[test]
    fn one_digit_four_times_is_refused() {
        for pin in ["0000", "1111", "5555", "9999"] {
            assert_eq!(judge(pin), Some(Weakness::Repeated), "{pin}");
        }
    }

    #[test]
    fn runs_up_and_down_are_refused_including_wrap_arounds() {
        for pin in [
            "0123", "1234", "6789", "7890", "8901", "9012", "3210", "4321", "9876", "0987", "1098",
            "2109",
        ] {
            assert_eq!(judge(pin), Some(Weakness::Run), "{pin}");
        }
    }

    #[test]
    fn the_most_common_pins_are_refused() {
        for pin in COMMON {
            assert_eq!(judge(pin), Some(Weakness::Common), "{pin}");
        }
    }

    #[test]
    fn the_end_of_the_members_own_phone_is_refused() {
        // 0712345678 ends in 5678, which is also a run; another phone shows
        // the rule on its own.
        let phone = Msisdn::parse("0722 901 357").unwrap();
        assert_eq!(
            weakness(&Pin::parse("1357").unwrap(), &phone),
            Some(Weakness::PhoneSuffix)
        );
        let other = Msisdn::parse("0722 901 358").unwrap();
        assert_eq!(weakness(&Pin::parse("1357").unwrap(), &other), None);
    }

    #[test]
    fn near_misses_of_each_rule_are_strong_pins() {
        for pin in [
            "1235", "1243", "0124", "9875", "1110", "8902", "2468", "7391", "4096",
        ] {
            assert_eq!(judge(pin), None, "{pin}");
        }
    }

    #[test]
    fn every_reason_has_its_own_message_in_both_languages() {
        let ids: std::collections::BTreeSet<_> =
            Weakness::ALL.iter().map(|w| w.message_id()).collect();
        assert_eq!(ids.len(), Weakness::ALL.len());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let texts = crate::i18n::Locales::load(&dir).unwrap();
        for lang in crate::i18n::Lang::ALL {
            for id in &ids {
                assert!(texts.has_message(lang, id), "{lang} {id}");
            }
        }
    }
}
