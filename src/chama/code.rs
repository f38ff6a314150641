//! `ChamaCode`: the short code members and officials use for a chama.

use std::fmt;

use rand::Rng;

/// 3 to 12 upper-case letters or digits (the same rule as the database check).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChamaCode(String);

/// Length of the random suffix of a generated code.
const SUFFIX_DIGITS: usize = 3;
/// Letters of the name kept in a generated code.
const NAME_PREFIX: usize = 6;

impl ChamaCode {
    /// Accepts any case and surrounding spaces; refuses anything else.
    pub fn parse(input: &str) -> Result<ChamaCode, String> {
        let code = input.trim().to_ascii_uppercase();
        if (3..=12).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(ChamaCode(code))
        } else {
            Err("a chama code has 3 to 12 letters or digits".into())
        }
    }

    /// A code derived from the name plus random digits, e.g. `UMOJAW482`.
    pub fn generate(name: &str) -> ChamaCode {
        let mut code: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(NAME_PREFIX)
            .collect::<String>()
            .to_ascii_uppercase();
        let mut rng = rand::rng();
        for _ in 0..SUFFIX_DIGITS {
            code.push(char::from(b'0' + rng.random_range(0..10)));
        }
        ChamaCode(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChamaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_to_upper_case() {
        assert_eq!(ChamaCode::parse(" umoja1 ").unwrap().as_str(), "UMOJA1");
    }

    #[test]
    fn codes_with_symbols_or_bad_length_are_refused() {
        for bad in ["ab", "UMOJA-1", "ABCDEFGHIJKLM", "", "UM OJ"] {
            assert!(ChamaCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_codes_are_valid_even_for_odd_names() {
        for name in ["Umoja Women Group", "!!", "Jirani", "Ñandú"] {
            let code = ChamaCode::generate(name);
            assert!(ChamaCode::parse(code.as_str()).is_ok(), "{name} -> {code}");
        }
    }
}
