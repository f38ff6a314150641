//! What a member meant by the text they sent: a keyword in English or
//! Swahili, read forgivingly. Only the first word counts, in any case, with
//! punctuation and spacing around it ignored: `bal`, ` Bal. `, `SALIO!` and
//! `salio 1` all ask for the balance.

use crate::i18n::Lang;

/// What an inbound message asks for (`sms_inbound.keyword`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Balance,
    Help,
    Stop,
    Start,
    Unknown,
}

/// A keyword and, when its word is Swahili, that language: a member who
/// texts `SALIO` reads Swahili whatever their setting says. The English
/// words (`BAL`, `HELP`, `STOP`, `START`) are everyone's, so they say
/// nothing about the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Understood {
    pub keyword: Keyword,
    pub lang: Option<Lang>,
}

const WORDS: [(&str, Keyword, Option<Lang>); 10] = [
    ("BAL", Keyword::Balance, None),
    ("BALANCE", Keyword::Balance, None),
    ("SALIO", Keyword::Balance, Some(Lang::Sw)),
    ("HELP", Keyword::Help, None),
    ("MSAADA", Keyword::Help, Some(Lang::Sw)),
    ("STOP", Keyword::Stop, None),
    ("ACHA", Keyword::Stop, Some(Lang::Sw)),
    ("START", Keyword::Start, None),
    ("ANZA", Keyword::Start, Some(Lang::Sw)),
    ("MWANZO", Keyword::Start, Some(Lang::Sw)),
];

impl Keyword {
    /// The name stored in `sms_inbound.keyword`, also the metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Balance => "balance",
            Keyword::Help => "help",
            Keyword::Stop => "stop",
            Keyword::Start => "start",
            Keyword::Unknown => "unknown",
        }
    }
}

/// Reads the first word of `text`.
pub fn understand(text: &str) -> Understood {
    let first = text
        .split(|c: char| !c.is_alphanumeric())
        .find(|word| !word.is_empty())
        .unwrap_or("")
        .to_uppercase();
    WORDS
        .into_iter()
        .find(|(word, _, _)| *word == first)
        .map(|(_, keyword, lang)| Understood { keyword, lang })
        .unwrap_or(Understood {
            keyword: Keyword::Unknown,
            lang: None,
        })
}

/// The text as it is stored for officials to read. A member who thinks the
/// balance needs a PIN texts `BAL 1234`: after a keyword, a standalone run of
/// four to six digits (a PIN's length) is masked, so no PIN is kept. Other
/// texts are kept as sent (their numbers may be what the member means).
pub fn as_stored(text: &str, keyword: Keyword) -> String {
    if keyword == Keyword::Unknown {
        return text.to_owned();
    }
    let mut stored = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        let pin_like = (4..=6).contains(&word.len()) && word.chars().all(|d| d.is_ascii_digit());
        if pin_like {
            stored.extend(std::iter::repeat_n('*', word.len()));
        } else {
            stored.push_str(&word);
        }
        word.clear();
        stored.push(c);
    }
    stored.pop();
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyword(text: &str) -> Keyword {
        understand(text).keyword
    }

    #[test]
    fn case_spacing_and_punctuation_are_forgiven() {
        for text in [
            "bal",
            " Bal. ",
            "BAL",
            "balance",
            "SALIO!",
            "salio 1",
            "\n*Salio*",
        ] {
            assert_eq!(keyword(text), Keyword::Balance, "{text:?}");
        }
        for text in ["stop", "STOP.", "Acha", " acha!! "] {
            assert_eq!(keyword(text), Keyword::Stop, "{text:?}");
        }
        for text in ["start", "Anza", "ANZA tena"] {
            assert_eq!(keyword(text), Keyword::Start, "{text:?}");
        }
        for text in ["help", "Msaada?", "HELP me"] {
            assert_eq!(keyword(text), Keyword::Help, "{text:?}");
        }
    }

    #[test]
    fn only_the_first_word_counts_and_anything_else_is_unknown() {
        for text in [
            "",
            "   ",
            "!!!",
            "balo",
            "please bal",
            "habari",
            "b a l",
            "😀",
        ] {
            assert_eq!(keyword(text), Keyword::Unknown, "{text:?}");
        }
    }

    #[test]
    fn a_pin_after_a_keyword_is_not_kept() {
        assert_eq!(as_stored("BAL 1234", Keyword::Balance), "BAL ****");
        assert_eq!(
            as_stored("salio,123456.", Keyword::Balance),
            "salio,******."
        );
        assert_eq!(as_stored("salio 1", Keyword::Balance), "salio 1");
        assert_eq!(as_stored("stop 12345678", Keyword::Stop), "stop 12345678");
        assert_eq!(
            as_stored("nimelipa 2000", Keyword::Unknown),
            "nimelipa 2000"
        );
        assert_eq!(as_stored("", Keyword::Help), "");
    }

    #[test]
    fn only_swahili_words_name_a_language() {
        assert_eq!(understand("salio").lang, Some(Lang::Sw));
        assert_eq!(understand("bal").lang, None);
        assert_eq!(understand("habari").lang, None);
    }
}
