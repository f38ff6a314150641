//! `Msisdn`: a mobile number parsed once at the edge and kept in E.164.
//!
//! Parsing is delegated to the `phonenumber` crate (libphonenumber's metadata),
//! so the set of valid Kenyan mobile ranges follows the numbering plan rather
//! than a regex of ours. Past the edge nothing handles a raw phone `String`.
//!
//! Parsing accepts any country's mobile numbers (Daraja and SMS speak of
//! them); who may be a member is narrower, [`MemberCountries`].

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::LazyLock;

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber, Type};

/// A valid mobile number in E.164 form (`+254712345678`).
///
/// `Display` masks the middle digits (`+254712***678`) so a number can go into a
/// log line; use [`Msisdn::as_e164`] where the full number is needed.
#[derive(Clone)]
pub struct Msisdn {
    e164: String,
    /// The country the numbering plan gives the number, found while parsing
    /// (and remembered with it) so that checking it costs a hop nothing.
    /// A function of `e164`, so equality and order look at `e164` alone.
    country: Option<Id>,
}

impl PartialEq for Msisdn {
    fn eq(&self, other: &Msisdn) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for Msisdn {}

impl Hash for Msisdn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.e164.hash(state);
    }
}

impl PartialOrd for Msisdn {
    fn partial_cmp(&self, other: &Msisdn) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Msisdn {
    fn cmp(&self, other: &Msisdn) -> Ordering {
        self.e164.cmp(&other.e164)
    }
}

/// Why a phone number was refused; the message is safe to show to the person
/// who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number given")]
    Empty,
    #[error("a phone number has only digits, spaces, dashes and an optional leading +")]
    BadCharacters,
    #[error("not a phone number: {0}")]
    Unparseable(String),
    #[error("not a valid number for its country (check the digits)")]
    Invalid,
    #[error("not a mobile number (landlines cannot use USSD or M-Pesa)")]
    NotMobile,
    #[error(
        "a number of {country}; members need a phone of {allowed} (PESACHAMA_MEMBER_COUNTRIES)"
    )]
    CountryNotAllowed {
        /// ISO 3166 code of the number's country, or `no country` (`+800…`).
        country: String,
        /// The allowed codes, comma-separated.
        allowed: String,
    },
}

/// Longest input we even try to parse; anything longer is not a phone number.
const MAX_INPUT_LEN: usize = 32;

/// Numbers [`Msisdn::parse_recent`] remembers: the phones of the sessions in
/// flight several times over, a few megabytes at most.
const RECENT_CAPACITY: usize = 50_000;

/// Recently parsed numbers, by the text they came as. Parsing is a pure
/// function of the text, so a remembered answer is always right; only
/// accepted numbers are kept, so junk input cannot crowd out members.
static RECENT: LazyLock<quick_cache::sync::Cache<String, Msisdn>> =
    LazyLock::new(|| quick_cache::sync::Cache::new(RECENT_CAPACITY));

impl Msisdn {
    /// Parses a number as a Kenyan member types it: `0712 345 678`,
    /// `254712345678`, `+254712345678`, `712345678`. Numbers of other countries
    /// are accepted in international form (`+256…`).
    pub fn parse(input: &str) -> Result<Msisdn, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if trimmed.len() > MAX_INPUT_LEN
            || !trimmed
                .chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0))
        {
            return Err(PhoneError::BadCharacters);
        }
        let digits: String = trimmed.chars().filter(|c| *c != ' ' && *c != '-').collect();
        // `254…` without the plus is how Daraja writes numbers; libphonenumber
        // would read it as a national number, so add the plus ourselves.
        let normalised = if digits.len() == 12 && digits.starts_with("254") {
            format!("+{digits}")
        } else {
            digits
        };
        let number = phonenumber::parse(Some(Id::KE), &normalised)
            .map_err(|e| PhoneError::Unparseable(e.to_string()))?;
        Self::from_parsed(&number)
    }

    /// A number read back from one of our own tables, where only an
    /// `Msisdn`'s E.164 form is ever written. A Kenyan mobile shape
    /// (`+2547…`/`+2541…`, nine digits) is taken as it is: checking each row
    /// of a bulk claim against the numbering plan again cost more than the
    /// rest of its send. Anything else is parsed.
    pub fn from_stored(e164: &str) -> Result<Msisdn, PhoneError> {
        match e164.strip_prefix("+254") {
            Some(national)
                if national.len() == 9
                    && matches!(national.as_bytes()[0], b'1' | b'7')
                    && national.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(Msisdn {
                    e164: e164.to_owned(),
                    country: Some(Id::KE),
                })
            }
            _ => Msisdn::parse(e164),
        }
    }

    /// [`Msisdn::parse`] for a number that arrives again and again, as the
    /// `phoneNumber` of every hop of a USSD session does: libphonenumber's
    /// metadata regexes are the costliest step of a hop, so a number seen
    /// recently is answered from memory.
    pub fn parse_recent(input: &str) -> Result<Msisdn, PhoneError> {
        if let Some(known) = RECENT.get(input) {
            return Ok(known);
        }
        let parsed = Msisdn::parse(input)?;
        RECENT.insert(input.to_owned(), parsed.clone());
        Ok(parsed)
    }

    fn from_parsed(number: &PhoneNumber) -> Result<Msisdn, PhoneError> {
        if !phonenumber::is_valid(number) {
            return Err(PhoneError::Invalid);
        }
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => Ok(Msisdn {
                e164: number.format().mode(Mode::E164).to_string(),
                country: number.country().id(),
            }),
            _ => Err(PhoneError::NotMobile),
        }
    }

    /// The full number, `+254712345678`.
    pub fn as_e164(&self) -> &str {
        &self.e164
    }

    /// The number's country (ISO 3166), when the numbering plan names one.
    pub fn country(&self) -> Option<Id> {
        self.country
    }

    /// The number as Daraja wants it: digits only, `254712345678`.
    pub fn to_daraja(&self) -> &str {
        &self.e164[1..]
    }

    /// A masked form for screens and logs: `0712***678` for Kenyan numbers.
    pub fn masked_local(&self) -> String {
        match self.e164.strip_prefix("+254") {
            Some(nsn) if nsn.len() == 9 => format!("0{}***{}", &nsn[..3], &nsn[6..]),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Msisdn {
    /// Masked: keeps the country code, the operator prefix and the last three digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = &self.e164;
        let head = n.len().min(7);
        let tail = n.len().saturating_sub(3).max(head);
        write!(f, "{}***{}", &n[..head], &n[tail..])
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msisdn({self})")
    }
}

/// The countries whose phones may be members (`PESACHAMA_MEMBER_COUNTRIES`):
/// Kenya unless configured. Chamas are Kenyan and M-Pesa pays Kenyan
/// phones; a foreign number would be a member who can never pay in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCountries(Vec<Id>);

impl Default for MemberCountries {
    fn default() -> MemberCountries {
        MemberCountries(vec![Id::KE])
    }
}

impl MemberCountries {
    /// Parses a comma-separated list of ISO 3166 codes (`KE`, `KE,UG`); the
    /// error names the first code that is not one.
    pub fn parse(list: &str) -> Result<MemberCountries, String> {
        let mut countries = Vec::new();
        for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let id = Id::from_str(&code.to_ascii_uppercase())
                .map_err(|_| format!("`{code}` is not an ISO 3166 country code like KE"))?;
            if !countries.contains(&id) {
                countries.push(id);
            }
        }
        if countries.is_empty() {
            return Err("names no country (KE, for Kenya, is the default)".to_owned());
        }
        Ok(MemberCountries(countries))
    }

    /// Whether `phone` may be a member, or why not.
    pub fn check(&self, phone: &Msisdn) -> Result<(), PhoneError> {
        if phone.country.is_some_and(|id| self.0.contains(&id)) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.0.iter().map(|id| id.as_ref()).collect();
        Err(PhoneError::CountryNotAllowed {
            country: phone
                .country
                .as_ref()
                .map_or("no country", |id| id.as_ref())
                .to_owned(),
            allowed: allowed.join(", "),
        })
    }
}

impl fmt::Display for MemberCountries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.0.iter().map(|id| id.as_ref()).collect();
        write!(f, "{}", codes.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kenyan_shapes_all_normalise_to_e164() {
        for input in [
            "0712 345 678",
            "0712345678",
            "254712345678",
            "+254712345678",
            "712345678",
            "+254 712-345-678",
        ] {
            assert_eq!(
                Msisdn::parse(input).unwrap().as_e164(),
                "+254712345678",
                "{input}"
            );
        }
    }

    #[test]
    fn newer_safaricom_and_airtel_ranges_are_mobile() {
        assert_eq!(
            Msisdn::parse("0110123456").unwrap().as_e164(),
            "+254110123456"
        );
        assert_eq!(
            Msisdn::parse("0733123456").unwrap().as_e164(),
            "+254733123456"
        );
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(Msisdn::parse("  "), Err(PhoneError::Empty));
        assert_eq!(Msisdn::parse("07x2345678"), Err(PhoneError::BadCharacters));
        assert_eq!(Msisdn::parse("0712+345678"), Err(PhoneError::BadCharacters));
        assert_eq!(Msisdn::parse("071234567"), Err(PhoneError::Invalid));
        assert_eq!(
            Msisdn::parse("0712345678901234567890123456789012345"),
            Err(PhoneError::BadCharacters)
        );
        // A Nairobi landline.
        assert_eq!(Msisdn::parse("020 2222222"), Err(PhoneError::NotMobile));
    }

    #[test]
    fn members_are_kenyan_phones_unless_configured() {
        let us = Msisdn::parse("+12025550100").unwrap();
        let kenyan = Msisdn::parse("0712345678").unwrap();
        let uganda = Msisdn::parse("+256772123456").unwrap();
        let default = MemberCountries::default();
        assert_eq!(default.check(&kenyan), Ok(()));
        let refused = default.check(&us).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "a number of US; members need a phone of KE (PESACHAMA_MEMBER_COUNTRIES)"
        );
        assert!(default.check(&uganda).is_err());
        let east_africa = MemberCountries::parse(" ke, UG ,ke").unwrap();
        assert_eq!(east_africa.to_string(), "KE,UG");
        assert_eq!(east_africa.check(&uganda), Ok(()));
        assert!(east_africa.check(&us).is_err());
    }

    #[test]
    fn a_country_list_must_name_real_countries() {
        assert!(
            MemberCountries::parse("KE,XX")
                .unwrap_err()
                .contains("`XX`")
        );
        assert!(MemberCountries::parse("Kenya").is_err());
        assert!(MemberCountries::parse(" , ").is_err());
    }

    #[test]
    fn display_masks_the_number() {
        let m = Msisdn::parse("0712345678").unwrap();
        assert_eq!(m.to_string(), "+254712***678");
        assert_eq!(format!("{m:?}"), "Msisdn(+254712***678)");
        assert_eq!(m.masked_local(), "0712***678");
        assert_eq!(m.to_daraja(), "254712345678");
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in "\\PC{0,40}") {
            let _ = Msisdn::parse(&input);
        }

        #[test]
        fn a_remembered_number_parses_as_it_did_the_first_time(input in "(\\+?254|0)?[17][0-9]{8}|[0-9 +-]{0,14}") {
            let first = Msisdn::parse_recent(&input);
            prop_assert_eq!(&first, &Msisdn::parse(&input));
            prop_assert_eq!(Msisdn::parse_recent(&input), first);
        }

        #[test]
        fn parsing_is_idempotent(nsn in "7[0-9]{8}") {
            if let Ok(m) = Msisdn::parse(&nsn) {
                prop_assert_eq!(Msisdn::parse(m.as_e164()).unwrap(), m);
            }
        }

        #[test]
        fn parsing_never_panics_on_any_string(input in any::<String>()) {
            let _ = Msisdn::parse(&input);
        }

        #[test]
        fn every_accepted_number_round_trips_through_e164(
            input in "(\\+?254|0)?[17][0-9]{8}|\\+[1-9][0-9]{6,13}|[0-9 +-]{0,16}"
        ) {
            if let Ok(m) = Msisdn::parse(&input) {
                let e164 = m.as_e164();
                prop_assert!(e164.starts_with('+'), "{}", e164);
                prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{}", e164);
                prop_assert_eq!(Msisdn::parse(e164), Ok(m.clone()));
                prop_assert_eq!(Msisdn::parse(&format!("+{}", m.to_daraja())), Ok(m));
            }
        }

        #[test]
        fn the_kenyan_forms_of_one_number_agree(nsn in "[17][0-9]{8}") {
            let (a, b, c) = (&nsn[..3], &nsn[3..6], &nsn[6..]);
            let reference = Msisdn::parse(&format!("+254{nsn}"));
            for form in [
                format!("0{nsn}"),
                format!("254{nsn}"),
                nsn.clone(),
                format!("0{a} {b} {c}"),
                format!("+254 {a} {b} {c}"),
                format!(" 254 {a}-{b}-{c} "),
            ] {
                prop_assert_eq!(&Msisdn::parse(&form), &reference, "{}", form);
            }
            if let Ok(m) = &reference {
                prop_assert_eq!(m.as_e164(), format!("+254{nsn}"));
            }
        }

        #[test]
        fn a_stored_number_reads_back_as_it_was_written(input in "(\\+?254|0)?[17][0-9]{8}|\\+[1-9][0-9]{7,12}") {
            if let Ok(written) = Msisdn::parse(&input) {
                let read = Msisdn::from_stored(written.as_e164()).unwrap();
                prop_assert_eq!(read.country(), written.country());
                prop_assert_eq!(read, written);
            }
        }
    }
}
