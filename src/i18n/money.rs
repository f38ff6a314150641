//! Amounts as members read them on a feature phone: `KES 1,250`.

/// Formats whole shillings with thousands separators: `KES 1,250`, `KES 0`,
/// `-KES 1,250`. Total for every `i64`.
pub fn format_kes(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}KES {grouped}")
}

#[cfg(test)]
mod tests {
    use super::format_kes;

    #[test]
    fn amounts_get_thousands_separators() {
        assert_eq!(format_kes(0), "KES 0");
        assert_eq!(format_kes(999), "KES 999");
        assert_eq!(format_kes(1_250), "KES 1,250");
        assert_eq!(format_kes(12_400), "KES 12,400");
        assert_eq!(format_kes(1_000_000), "KES 1,000,000");
    }

    #[test]
    fn negative_amounts_put_the_sign_before_the_currency() {
        assert_eq!(format_kes(-1_250), "-KES 1,250");
        assert_eq!(format_kes(i64::MIN), "-KES 9,223,372,036,854,775,808");
    }
}
