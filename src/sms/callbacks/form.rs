//! Reading the fields of a callback form. Every field arrives as an optional
//! string (AT sends strings, and a form with a missing field must still be
//! read so the answer can name it); these turn one into a checked value or a
//! 400 that says which field is wrong.

use crate::api::ApiError;

/// A required field, trimmed, of 1 to `max` characters.
pub fn required(value: Option<&str>, name: &str, max: usize) -> Result<String, ApiError> {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        return Err(ApiError::BadRequest(format!("missing field {name}")));
    }
    checked_len(value, name, max)
}

/// An optional field, trimmed; empty counts as absent.
pub fn optional(value: Option<&str>, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => checked_len(value, name, max).map(Some),
    }
}

fn checked_len(value: &str, name: &str, max: usize) -> Result<String, ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::BadRequest(format!(
            "malformed field {name}: longer than {max} characters"
        )));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_required_field_is_missing_and_names_itself() {
        let error = required(Some("  "), "id", 10).unwrap_err();
        assert_eq!(error.to_string(), "missing field id");
        assert!(required(None, "id", 10).is_err());
        assert_eq!(required(Some(" ATXid_1 "), "id", 10).unwrap(), "ATXid_1");
    }

    #[test]
    fn an_overlong_field_is_malformed() {
        let error = optional(Some("abcdef"), "networkCode", 5).unwrap_err();
        assert!(error.to_string().starts_with("malformed field networkCode"));
        assert_eq!(optional(Some(""), "networkCode", 5).unwrap(), None);
    }
}
