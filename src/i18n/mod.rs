//! Words and the characters they are made of: the member's language, the Fluent
//! bundles that hold every USSD string, amounts as members read them, and the
//! GSM-7 alphabet that bounds a USSD screen.
//!
//! This module knows nothing about screens; [`crate::menu`] asks it to format
//! messages and, when checking menus, to describe them (variables, worst-case
//! length, characters).

mod gsm7;
mod introspect;
mod locales;
mod money;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;
use unic_langid::langid;

pub use gsm7::{gsm7_len, is_gsm7, is_gsm7_basic, to_gsm7_basic, truncate_gsm7};
pub(crate) use locales::line_of;
pub use locales::{LoadError, LoadErrors, Locales};
pub use money::format_kes;

/// Variables passed to a message: every value is already formatted text
/// (amounts through [`format_kes`], dates as the member reads them).
pub type Vars = BTreeMap<String, String>;

/// A language the USSD menus are written in.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English, the default until a member chooses.
    #[default]
    En,
    /// Kiswahili.
    Sw,
}

impl Lang {
    /// Every language, in the order menus offer them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Sw];

    /// The short code used in folder names, the database and JSON (`en`, `sw`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sw => "sw",
        }
    }

    /// Reads a short code (`en`, `sw`, any case); `None` for anything else.
    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|lang| lang.as_str().eq_ignore_ascii_case(code.trim()))
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en"),
            Lang::Sw => langid!("sw"),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_round_trip_through_their_codes_and_json() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.as_str()), Some(lang));
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{}\"", lang.as_str()));
        }
        assert_eq!(Lang::parse(" SW "), Some(Lang::Sw));
        assert_eq!(Lang::parse("fr"), None);
    }
}
