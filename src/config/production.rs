//! Rules that only `serve` and `config check` apply: a production node must
//! not start with the example file's placeholders, a guessable PIN secret or
//! callbacks that anyone can call. `dev` and the tests run without them.
//!
//! Like every check in [`super`], a refusal names the variable and never
//! echoes the value: it may be a secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Checker;

/// The marker of every value an operator must replace in
/// `systemd/pesachama.env.example`.
const PLACEHOLDER: &str = "CHANGE-ME";

/// Random bytes the PIN secret must carry: a leaked hash table is then no
/// easier to attack than the 256-bit HMAC key itself.
const PIN_SECRET_BYTES: usize = 32;

/// Adds every production problem of the raw settings to `c`.
pub(super) fn check(c: &mut Checker<'_>) {
    refuse_placeholders(c);
    // A placeholder is already reported; one problem per variable is clearer.
    if c.value("PESACHAMA_PIN_SECRET")
        .is_some_and(|secret| !secret.contains(PLACEHOLDER) && !looks_random(secret))
    {
        c.fail(
            "PESACHAMA_PIN_SECRET",
            format!(
                "must be {PIN_SECRET_BYTES} random bytes as hex (64 characters) or padded \
                 base64; generate one with `openssl rand -hex {PIN_SECRET_BYTES}`"
            ),
        );
    }
    if c.value("PESACHAMA_USSD_CALLBACK_TOKEN").is_none()
        && c.value("PESACHAMA_USSD_BASIC_AUTH").is_none()
    {
        c.fail(
            "PESACHAMA_USSD_CALLBACK_TOKEN",
            "USSD callbacks must require a secret: set it or PESACHAMA_USSD_BASIC_AUTH",
        );
    }
    if c.value("PESACHAMA_SMS_CALLBACK_TOKEN").is_none() {
        c.fail(
            "PESACHAMA_SMS_CALLBACK_TOKEN",
            "SMS delivery reports and inbound messages must require a secret",
        );
    }
}

/// One problem per variable still holding the example file's placeholder.
fn refuse_placeholders(c: &mut Checker<'_>) {
    let holding: Vec<&'static str> = super::KNOWN
        .iter()
        .copied()
        .filter(|name| c.value(name).is_some_and(|v| v.contains(PLACEHOLDER)))
        .collect();
    for name in holding {
        c.fail(
            name,
            format!("still holds the {PLACEHOLDER} placeholder of the example file"),
        );
    }
}

/// True for hex of at least 64 digits, or standard padded base64 (as
/// `openssl rand -base64 32` prints it) of at least 32 bytes. The form is all
/// that can be judged: it rules out passwords and sentences, which are what
/// operators type. The URL-safe and unpadded base64 forms are refused on
/// purpose: long dash-joined words would pass as them.
fn looks_random(secret: &str) -> bool {
    let hex = secret.len() >= 2 * PIN_SECRET_BYTES && secret.bytes().all(|b| b.is_ascii_hexdigit());
    hex || STANDARD
        .decode(secret)
        .is_ok_and(|bytes| bytes.len() >= PIN_SECRET_BYTES)
}

#[cfg(test)]
mod tests {
    use super::looks_random;

    #[test]
    fn hex_of_32_bytes_or_more_is_random_enough() {
        assert!(looks_random(&"a1".repeat(32)));
        assert!(looks_random(&"A1".repeat(40)));
        assert!(!looks_random(&"a1".repeat(31)));
    }

    #[test]
    fn padded_base64_of_32_bytes_or_more_is_random_enough() {
        assert!(looks_random("q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="));
        assert!(looks_random(
            "q8+vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ/83vEjRW"
        ));
        assert!(!looks_random("q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80"));
        assert!(!looks_random("q83vEjRWeJq83vEjRWeJq83vEjRWeJq8"));
    }

    #[test]
    fn passwords_and_sentences_are_refused() {
        assert!(!looks_random(
            "correct horse battery staple, said the chama"
        ));
        assert!(!looks_random("test-pin-secret-0123456789abcdef0123"));
        assert!(!looks_random(
            "CHANGE-ME-to-64-hex-characters-from-openssl-rand"
        ));
        assert!(!looks_random(
            "our-chama-pin-secret-is-definitely-long-enough"
        ));
        assert!(!looks_random(""));
    }
}
