//! Hop decoding: what did the member type on this hop?
//!
//! Africa's Talking sends `text` cumulatively (`""`, `"1"`, `"1*1234"`), joined
//! with `*`, which members can also type. So the new input is derived by
//! comparing with the text the session last answered, never by taking the
//! last `*` segment: after `"1"`, the text `"1*5*0"` means the member typed
//! `5*0`. Operators that send only the latest input are handled too.
//!
//! The cumulative text holds every PIN the member typed, so it is never
//! stored: the session keeps a [`TextTrail`] of keyed fingerprints (HMAC with
//! the server secret and the session id) and the length of the last text.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::phone::Msisdn;

/// The meaning of one hop's `text` given what the session last answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HopInput<'a> {
    /// The same text again (AT retried the hop): answer as before, run nothing.
    Repeat,
    /// A new input on the current screen.
    New(&'a str),
    /// An older text (an out-of-order or stale hop): show the current screen again.
    Stale,
}

/// Most fingerprints kept; a USSD session has a few dozen hops at most.
const MAX_TRAIL: usize = 64;
/// Bytes of each fingerprint kept (128 bits: collisions are not a concern).
const FINGERPRINT_BYTES: usize = 16;
/// Prefix of a phone's fingerprinted value; texts never start with it.
const PHONE_TAG: &[u8] = b"\x01phone\x00";

/// Keyed fingerprints of one session's texts.
pub struct Fingerprinter<'k> {
    key: &'k [u8],
    session: &'k str,
}

impl<'k> Fingerprinter<'k> {
    /// Fingerprints texts of `session` under `key` (the server's PIN secret).
    pub fn new(key: &'k [u8], session: &'k str) -> Self {
        Fingerprinter { key, session }
    }

    /// The idempotency key of the hop answering `text` as the session's
    /// hop number `hops`: every copy of one hop has the same key; the same
    /// text later in the session (operators that send only the latest input)
    /// has another.
    pub fn request_key(&self, text: &str, hops: u32) -> String {
        format!("ussd:{}:{hops}", self.of(text))
    }

    fn of(&self, text: &str) -> String {
        self.mac(&[], text)
    }

    /// Fingerprint of the phone that dialled the session, kept in the record
    /// instead of the number. Tagged so it can never equal a text's: a hop
    /// whose text holds a control character is refused before decoding.
    pub fn phone(&self, phone: &Msisdn) -> String {
        self.mac(PHONE_TAG, phone.as_e164())
    }

    fn mac(&self, tag: &[u8], value: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.key).expect("HMAC accepts keys of any length");
        mac.update(self.session.as_bytes());
        mac.update(&[0]);
        mac.update(tag);
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..FINGERPRINT_BYTES])
    }
}

/// The texts a session has answered, as fingerprints; the last is current.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextTrail {
    /// Length in bytes of the last answered text.
    last_len: usize,
    /// Fingerprints of the answered texts, oldest first.
    seen: Vec<String>,
}

impl TextTrail {
    /// A trail whose last answered text is `text`.
    pub fn starting_with(text: &str, fp: &Fingerprinter<'_>) -> TextTrail {
        TextTrail {
            last_len: text.len(),
            seen: vec![fp.of(text)],
        }
    }

    /// Records `text` as the last answered one.
    pub fn answered(&mut self, text: &str, fp: &Fingerprinter<'_>) {
        self.last_len = text.len();
        self.seen.push(fp.of(text));
        if self.seen.len() > MAX_TRAIL {
            self.seen.remove(0);
        }
    }

    /// Decodes `text` against the last answered text.
    pub fn decode<'a>(&self, text: &'a str, fp: &Fingerprinter<'_>) -> HopInput<'a> {
        let Some(last) = self.seen.last() else {
            return HopInput::New(text);
        };
        let whole = fp.of(text);
        if &whole == last {
            return HopInput::Repeat;
        }
        if self.last_len == 0 {
            return HopInput::New(text);
        }
        let extends_last = text.as_bytes().get(self.last_len) == Some(&b'*')
            && text
                .get(..self.last_len)
                .is_some_and(|prefix| &fp.of(prefix) == last);
        if extends_last {
            return HopInput::New(&text[self.last_len + 1..]);
        }
        if self.seen.contains(&whole) {
            return HopInput::Stale;
        }
        // Not an extension of what we answered: an operator that sends only
        // the latest input.
        HopInput::New(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &[u8] = b"unit-test-key";

    fn trail(texts: &[&str]) -> TextTrail {
        let fp = Fingerprinter::new(KEY, "s1");
        let mut trail = TextTrail::starting_with(texts[0], &fp);
        for t in &texts[1..] {
            trail.answered(t, &fp);
        }
        trail
    }

    fn decode<'a>(answered: &[&str], text: &'a str) -> HopInput<'a> {
        trail(answered).decode(text, &Fingerprinter::new(KEY, "s1"))
    }

    #[test]
    fn cumulative_text_yields_the_newest_input() {
        assert_eq!(decode(&[""], "1"), HopInput::New("1"));
        assert_eq!(decode(&["", "1"], "1*1234"), HopInput::New("1234"));
        assert_eq!(decode(&["", "1", "1*1234"], "1*1234*0"), HopInput::New("0"));
    }

    #[test]
    fn an_input_containing_a_star_is_kept_whole() {
        assert_eq!(decode(&["", "2"], "2*1*2"), HopInput::New("1*2"));
        assert_eq!(decode(&[""], "*"), HopInput::New("*"));
    }

    #[test]
    fn the_same_text_again_is_a_repeat() {
        assert_eq!(decode(&[""], ""), HopInput::Repeat);
        assert_eq!(decode(&["", "1", "1*2"], "1*2"), HopInput::Repeat);
    }

    #[test]
    fn an_older_text_is_stale() {
        assert_eq!(decode(&["", "1", "1*2"], "1"), HopInput::Stale);
        assert_eq!(decode(&["", "1", "1*2", "1*2*3"], "1*2"), HopInput::Stale);
    }

    #[test]
    fn an_operator_sending_only_the_latest_input_still_works() {
        assert_eq!(decode(&["", "1"], "4"), HopInput::New("4"));
        assert_eq!(decode(&["", "1", "4"], "1234"), HopInput::New("1234"));
    }

    #[test]
    fn an_empty_input_after_a_screen_is_new_and_empty() {
        assert_eq!(decode(&["", "1"], "1*"), HopInput::New(""));
    }

    #[test]
    fn the_trail_holds_no_typed_text() {
        let stored = serde_json::to_string(&trail(&["", "1", "1*4321"])).unwrap();
        assert!(!stored.contains("4321"), "{stored}");
    }

    #[test]
    fn another_session_or_key_does_not_match() {
        let t = trail(&["", "1"]);
        assert_eq!(
            t.decode("1", &Fingerprinter::new(b"other-key", "s1")),
            HopInput::New("1")
        );
        assert_eq!(
            t.decode("1", &Fingerprinter::new(KEY, "s2")),
            HopInput::New("1")
        );
    }

    proptest! {
        #[test]
        fn extending_the_last_text_always_yields_exactly_the_extension(
            last in "[0-9*]{1,20}", input in "[0-9*]{0,20}"
        ) {
            let text = format!("{last}*{input}");
            prop_assert_eq!(decode(&["", &last], &text), HopInput::New(&input));
        }

        #[test]
        fn decoding_never_panics(answered in "\\PC{0,30}", text in "\\PC{0,30}") {
            let _ = decode(&["", &answered], &text);
        }
    }
}
