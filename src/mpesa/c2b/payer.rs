//! Who paid, as far as a paybill confirmation says. Its `MSISDN` is not an
//! identity (protocols.md 3.5): C2B v2 masks it (`2547 ***** 126`), v1 sends
//! a SHA-256 of the number, and only the sandbox and older setups send the
//! number itself. A registered phone can be recognised in the plain and the
//! hashed form; a masked one fits too many phones to name anybody.

use sha2::{Digest, Sha256};

use crate::phone::Msisdn;

/// The payer's number in the form the confirmation carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payer {
    /// The number itself.
    Plain(Msisdn),
    /// Lower-case hex SHA-256 of the number as Daraja writes it (`2547…`).
    Hashed(String),
    /// Masked, or absent, or unreadable: names nobody.
    Unknown,
}

impl Payer {
    pub fn parse(msisdn: &str) -> Payer {
        let msisdn = msisdn.trim();
        if msisdn.len() == 64 && msisdn.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Payer::Hashed(msisdn.to_ascii_lowercase());
        }
        if msisdn.contains('*') {
            return Payer::Unknown;
        }
        Msisdn::parse(msisdn).map_or(Payer::Unknown, Payer::Plain)
    }

    /// Whether this is `phone`.
    pub fn is(&self, phone: &Msisdn) -> bool {
        match self {
            Payer::Plain(p) => p == phone,
            Payer::Hashed(hash) => *hash == hex::encode(Sha256::digest(phone.to_daraja())),
            Payer::Unknown => false,
        }
    }
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
        for input in ["2547 ***** 678", "", "not a number", "254"] {
            assert_eq!(Payer::parse(input), Payer::Unknown, "{input:?}");
        }
    }
}
