//! The GSM 03.38 7-bit alphabet, which a USSD screen of 182 characters assumes.
//!
//! One character outside it switches the whole screen to UCS-2 and cuts the
//! limit to 80, so the checker refuses such characters in messages and the
//! renderer replaces them in dynamic text (chama names, statement lines).

/// The basic GSM-7 character set (one septet each).
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: two septets each (escape + character), and badly
/// rendered by some handsets, so menus avoid them.
const EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// Whether `c` is in the basic GSM-7 set.
pub fn is_gsm7_basic(c: char) -> bool {
    BASIC.contains(c)
}

fn is_extension(c: char) -> bool {
    EXTENSION.contains(c)
}

/// Whether every character of `text` can be sent as GSM-7 (basic set or
/// extension table).
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| is_gsm7_basic(c) || is_extension(c))
}

/// Length of `text` in septets: extension characters count 2, everything else
/// 1 (a character outside GSM-7 never reaches a screen: [`to_gsm7_basic`]
/// replaces it with one basic character).
pub fn gsm7_len(text: &str) -> usize {
    text.chars()
        .map(|c| if is_extension(c) { 2 } else { 1 })
        .sum()
}

/// Replaces every character outside the basic set: typographic quotes and
/// dashes by their plain forms, anything else by `?`.
pub fn to_gsm7_basic(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if is_gsm7_basic(c) => c,
            '\u{2018}' | '\u{2019}' | '`' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            '\t' => ' ',
            '[' | '{' => '(',
            ']' | '}' => ')',
            _ => '?',
        })
        .collect()
}

/// Cuts `text` to at most `max` septets, ending with `..` when something was
/// cut (if there is room for it).
pub fn truncate_gsm7(text: &str, max: usize) -> String {
    if gsm7_len(text) <= max {
        return text.to_owned();
    }
    let marker = if max >= 2 { ".." } else { "" };
    let room = max - marker.len();
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let width = gsm7_len(c.encode_utf8(&mut [0; 4]));
        if used + width > room {
            break;
        }
        used += width;
        out.push(c);
    }
    out.push_str(marker);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_swahili_and_english_are_gsm7() {
        assert!(is_gsm7("Salio: KES 1,250\n0 Rudi 00 Menyu kuu"));
        assert_eq!(gsm7_len("Salio"), 5);
    }

    #[test]
    fn extension_characters_count_two_septets() {
        assert!(is_gsm7("[1]"));
        assert_eq!(gsm7_len("a[b]€"), 8);
    }

    #[test]
    fn characters_outside_the_alphabet_are_refused_and_replaced() {
        assert!(!is_gsm7("Wanjik\u{169}"));
        assert!(
            !is_gsm7("caf\u{e7}"),
            "lower-case c cedilla is not in GSM-7"
        );
        assert_eq!(to_gsm7_basic("Mama\u{2019}s \u{1f600}"), "Mama's ?");
    }

    #[test]
    fn truncation_respects_the_septet_budget() {
        assert_eq!(truncate_gsm7("abcdef", 10), "abcdef");
        assert_eq!(truncate_gsm7("abcdef", 5), "abc..");
        assert_eq!(truncate_gsm7("a{{{{", 4), "a..");
        assert_eq!(truncate_gsm7("abc", 0), "");
        assert_eq!(truncate_gsm7("abc", 1), "a");
    }
}
