//! How many SMS parts a text costs (3GPP TS 23.038/23.040, not an Africa's
//! Talking rule): GSM-7 fits 160 septets in one part and 153 per part once
//! concatenated (the user data header takes 7); one character outside GSM-7
//! makes the whole text UCS-2, 70 characters alone or 67 per part. Extension
//! characters (`€`, `[`, …) take two septets. Each part is billed.

use crate::i18n::{gsm7_len, is_gsm7};

/// The encoding a text goes out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// A text's encoding, length in its units and number of parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets for GSM-7, UTF-16 code units for UCS-2.
    pub units: usize,
    pub parts: usize,
}

/// The parts `text` costs.
pub fn count(text: &str) -> Segments {
    let (encoding, units, single, multi) = if is_gsm7(text) {
        (Encoding::Gsm7, gsm7_len(text), 160, 153)
    } else {
        (Encoding::Ucs2, text.encode_utf16().count(), 70, 67)
    };
    let parts = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    Segments {
        encoding,
        units,
        parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm7_is_160_alone_and_153_per_part() {
        assert_eq!(count(&"a".repeat(160)).parts, 1);
        assert_eq!(count(&"a".repeat(161)).parts, 2);
        assert_eq!(count(&"a".repeat(306)).parts, 2);
        assert_eq!(count(&"a".repeat(307)).parts, 3);
        assert_eq!(count("").parts, 1);
    }

    #[test]
    fn extension_characters_count_twice() {
        let text = format!("{}€", "a".repeat(158));
        let segments = count(&text);
        assert_eq!((segments.encoding, segments.units), (Encoding::Gsm7, 160));
        assert_eq!(segments.parts, 1);
        assert_eq!(count(&format!("{}€", "a".repeat(159))).parts, 2);
    }

    #[test]
    fn one_character_outside_gsm7_makes_it_ucs2() {
        let text = format!("{}✓", "a".repeat(69));
        let segments = count(&text);
        assert_eq!(segments.encoding, Encoding::Ucs2);
        assert_eq!(segments.parts, 1);
        assert_eq!(count(&format!("{}✓", "a".repeat(70))).parts, 2);
        assert_eq!(count(&"✓".repeat(134)).parts, 2);
        assert_eq!(count(&"✓".repeat(135)).parts, 3);
    }

    #[test]
    fn a_character_beyond_the_bmp_takes_two_units() {
        assert_eq!(count("😀").units, 2);
    }
}
