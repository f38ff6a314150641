//! Who paid, as far as a paybill confirmation says. Its `MSISDN` is not an
//! identity (protocols.md 3.5): C2B v2 masks it (`2547 ***** 126`), v1 sends
//! a SHA-256 of the number, and only the sandbox and older setups send the
//! number itself. A registered phone can be recognised in the plain and the
//! hashed form; a masked one fits too many phones to name anybody, but its
//! visible digits can still rule a phone out.

use sha2::{Digest, Sha256};

use crate::phone::Msisdn;

/// The payer's number in the form the confirmation carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payer {
    /// The number itself.
    Plain(Msisdn),
    /// Lower-case hex SHA-256 of the number as Daraja writes it (`2547…`).
    Hashed(String),
    /// Masked as C2B v2 does (`2547 ***** 126`): the twelve characters of
    /// the number as Daraja writes it, digits where shown and `*` where
    /// hidden. Names nobody; rules out phones whose digits differ.
    Masked(String),
    /// Absent or unreadable: names nobody, rules out nobody.
    Unknown,
}

impl Payer {
    pub fn parse(msisdn: &str) -> Payer {
        let msisdn = msisdn.trim();
        if msisdn.len() == 64 && msisdn.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Payer::Hashed(msisdn.to_ascii_lowercase());
        }
        if msisdn.contains('*') {
            return masked(msisdn).map_or(Payer::Unknown, Payer::Masked);
        }
        Msisdn::parse(msisdn).map_or(Payer::Unknown, Payer::Plain)
    }

    /// Whether this is `phone`.
    pub fn is(&self, phone: &Msisdn) -> bool {
        match self {
            Payer::Plain(p) => p == phone,
            Payer::Hashed(hash) => *hash == hex::encode(Sha256::digest(phone.to_daraja())),
            Payer::Masked(_) | Payer::Unknown => false,
        }
    }

    /// Whether this may be `phone`: it is, or it hides enough to be. A
    /// masked number is ruled out by any shown digit that differs.
    pub fn could_be(&self, phone: &Msisdn) -> bool {
        match self {
            Payer::Masked(pattern) => {
                let number = phone.to_daraja().as_bytes();
                pattern.len() == number.len()
                    && pattern
                        .bytes()
                        .zip(number)
                        .all(|(shown, digit)| shown == b'*' || shown == *digit)
            }
            Payer::Unknown => true,
            Payer::Plain(_) | Payer::Hashed(_) => self.is(phone),
        }
    }
}

/// A masked number in Daraja's form (`2547 ***** 126`, spaces ignored) or
/// the local one (`0712***126`), as twelve characters from `254`.
fn masked(msisdn: &str) -> Option<String> {
    let compact: String = msisdn.chars().filter(|c| !c.is_whitespace()).collect();
    let daraja = match compact.strip_prefix('0') {
        Some(rest) => format!("254{rest}"),
        None => compact,
    };
    let shape = daraja.len() == 12
        && daraja.starts_with("254")
        && daraja.bytes().all(|b| b.is_ascii_digit() || b == b'*');
    shape.then_some(daraja)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone() -> Msisdn {
        Msisdn::parse("0712345678").unwrap()
    }

    #[test]
    fn plain_and_hashed_numbers_are_recognised() {
        assert!(Payer::parse("254712345678").is(&phone()));
        let hash = hex::encode(Sha256::digest("254712345678"));
        assert!(Payer::parse(&hash).is(&phone()));
        assert!(Payer::parse(&hash.to_ascii_uppercase()).is(&phone()));
        assert!(!Payer::parse("254712345679").is(&phone()));
    }

    #[test]
    fn masked_empty_and_junk_name_nobody() {
        for input in ["2547 ***** 678", "0712***678", "", "not a number", "254"] {
            assert!(!Payer::parse(input).is(&phone()), "{input:?}");
        }
        for input in [
            "",
            "not a number",
            "254",
            "2547 **** 678",
            "+2547 ***** 678",
        ] {
            assert_eq!(Payer::parse(input), Payer::Unknown, "{input:?}");
        }
    }

    #[test]
    fn a_masked_number_rules_out_the_phones_its_shown_digits_do_not_fit() {
        for input in [
            "2547 ***** 678",
            "254712***678",
            "0712***678",
            "2547*******8",
        ] {
            let payer = Payer::parse(input);
            assert!(matches!(payer, Payer::Masked(_)), "{input:?}");
            assert!(payer.could_be(&phone()), "{input:?}");
        }
        for input in ["2547 ***** 679", "2541 ***** 678", "0711***678"] {
            assert!(!Payer::parse(input).could_be(&phone()), "{input:?}");
        }
        assert!(Payer::Unknown.could_be(&phone()));
        assert!(Payer::parse("254712345678").could_be(&phone()));
        assert!(!Payer::parse("254712345679").could_be(&phone()));
    }
}
