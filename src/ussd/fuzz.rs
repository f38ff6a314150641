//! Property tests of the path every hop takes before the engine: the form
//! Africa's Talking posts, decoded as axum's `Form` decodes it, then
//! [`RawHop::parse`], then [`TextTrail::decode`] against the session's trail.
//! Small case counts keep them within seconds in CI.

use proptest::prelude::*;

use super::decode::{Fingerprinter, HopInput, TextTrail};
use super::hop::{Hop, RawHop};

const KEY: &[u8] = b"fuzz-test-key";

/// The form as Africa's Talking would post it; `None` leaves a field out.
fn form(fields: &[(&str, Option<&str>)]) -> String {
    let present: Vec<(&str, &str)> = fields
        .iter()
        .filter_map(|(name, value)| value.map(|v| (*name, v)))
        .collect();
    serde_urlencoded::to_string(present).expect("strings always encode")
}

/// A well-formed hop of `session` carrying `text`, through the whole path.
fn hop(session: &str, text: &str) -> Hop {
    let body = form(&[
        ("sessionId", Some(session)),
        ("serviceCode", Some("*384*1234#")),
        ("phoneNumber", Some("+254711000001")),
        ("networkCode", Some("63902")),
        ("text", Some(text)),
    ]);
    let raw: RawHop = serde_urlencoded::from_str(&body).expect("a complete form decodes");
    raw.parse().expect("a well-formed hop parses")
}

/// What a member types on one screen: anything printable, `*` included.
fn input() -> impl Strategy<Value = String> {
    "[0-9*#]{1,5}|\\PC{1,5}"
}

/// Walks a session as Africa's Talking sends it: a dial, then the cumulative
/// text of `inputs`. Returns the trail and every text answered, oldest first.
fn walk(session: &str, inputs: &[String]) -> (TextTrail, Vec<String>) {
    let fp = Fingerprinter::new(KEY, session);
    let mut trail = TextTrail::starting_with(&hop(session, "").text, &fp);
    let mut texts = vec![String::new()];
    for typed in inputs {
        let text = match texts.last().map(String::as_str) {
            Some("") | None => typed.clone(),
            Some(last) => format!("{last}*{typed}"),
        };
        let hop = hop(session, &text);
        assert_eq!(trail.decode(&hop.text, &fp), HopInput::New(typed.as_str()));
        trail.answered(&hop.text, &fp);
        texts.push(text);
    }
    (trail, texts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_form_fields_never_panic(
        session in proptest::option::of(any::<String>()),
        service in proptest::option::of("\\*[0-9*]{0,12}#|\\PC{0,20}"),
        phone in proptest::option::of("\\+?[0-9 ]{0,15}|\\PC{0,20}"),
        network in proptest::option::of("[0-9]{0,9}|\\PC{0,10}"),
        text in proptest::option::of(any::<String>()),
        answered in proptest::collection::vec(any::<String>(), 0..4),
    ) {
        let body = form(&[
            ("sessionId", session.as_deref()),
            ("serviceCode", service.as_deref()),
            ("phoneNumber", phone.as_deref()),
            ("networkCode", network.as_deref()),
            ("text", text.as_deref()),
        ]);
        let Ok(raw) = serde_urlencoded::from_str::<RawHop>(&body) else {
            return Ok(());
        };
        if let Ok(hop) = raw.parse() {
            let fp = Fingerprinter::new(KEY, hop.session_id.as_str());
            let mut trail = TextTrail::starting_with("", &fp);
            for earlier in &answered {
                trail.answered(earlier, &fp);
            }
            let _ = trail.decode(&hop.text, &fp);
        }
    }

    #[test]
    fn any_form_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(raw) = serde_urlencoded::from_bytes::<RawHop>(&body) {
            let _ = raw.parse();
        }
    }

    #[test]
    fn each_appended_input_is_new_and_exactly_what_was_typed(
        inputs in proptest::collection::vec(input(), 1..8),
    ) {
        // `walk` asserts New(input) on every hop, `*` in the input or not.
        let (_, texts) = walk("ATUid_fuzz_appended", &inputs);
        prop_assert_eq!(texts.len(), inputs.len() + 1);
    }

    #[test]
    fn the_text_just_answered_is_a_repeat(
        inputs in proptest::collection::vec(input(), 0..8),
    ) {
        let session = "ATUid_fuzz_repeat";
        let (trail, texts) = walk(session, &inputs);
        let last = hop(session, texts.last().unwrap());
        prop_assert_eq!(
            trail.decode(&last.text, &Fingerprinter::new(KEY, session)),
            HopInput::Repeat
        );
    }

    #[test]
    fn an_older_text_of_the_session_is_stale(
        inputs in proptest::collection::vec(input(), 1..8),
        pick in any::<proptest::sample::Index>(),
    ) {
        let session = "ATUid_fuzz_stale";
        let (trail, texts) = walk(session, &inputs);
        let older = hop(session, &texts[pick.index(texts.len() - 1)]);
        prop_assert_eq!(
            trail.decode(&older.text, &Fingerprinter::new(KEY, session)),
            HopInput::Stale
        );
    }

    #[test]
    fn an_unrelated_text_is_taken_whole_as_the_latest_input(
        inputs in proptest::collection::vec(input(), 1..8),
        other in "[0-9]{1,6}",
    ) {
        let session = "ATUid_fuzz_unrelated";
        let (trail, texts) = walk(session, &inputs);
        let last = texts.last().unwrap();
        prop_assume!(!texts.contains(&other) && !other.starts_with(&format!("{last}*")));
        // Neither answered nor an extension: an operator that sends only the
        // latest input, as the module documents.
        let unrelated = hop(session, &other);
        prop_assert_eq!(
            trail.decode(&unrelated.text, &Fingerprinter::new(KEY, session)),
            HopInput::New(other.as_str())
        );
    }

    #[test]
    fn another_sessions_trail_never_repeats_a_text(
        inputs in proptest::collection::vec(input(), 1..6),
    ) {
        let (trail, texts) = walk("ATUid_fuzz_owner", &inputs);
        let last = texts.last().unwrap();
        let foreign = Fingerprinter::new(KEY, "ATUid_fuzz_other");
        prop_assert_ne!(trail.decode(last, &foreign), HopInput::Repeat);
    }
}
