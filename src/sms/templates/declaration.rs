//! The line that declares a template, the last line of the Fluent comment
//! right above it:
//!
//! ```text
//! # @kind receipt @segments 1 @var amount=15 @var chama=30
//! ```
//!
//! `@kind` is an [`SmsKind`] name, `@segments` the most parts the text may
//! cost, and each `@var name=N` the longest value (in characters) the variable
//! takes: the checker renders the template at those lengths, and
//! [`super::Templates::render`] cuts longer values to them.

use std::collections::BTreeMap;

use crate::sms::SmsKind;

/// What a template promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// Decides opt-outs and what an unsure send does.
    pub kind: SmsKind,
    /// Most SMS parts the text may cost at the worst-case lengths.
    pub segments: usize,
    /// Longest value of each variable, in characters.
    pub vars: BTreeMap<String, usize>,
}

/// Why a comment line is not a declaration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclarationError {
    /// No comment, or its last line does not start with `@`.
    #[error("no `# @kind … @segments …` declaration right above it")]
    Missing,
    /// A declaration that cannot be read.
    #[error("malformed declaration: {0}")]
    Malformed(String),
    /// A kind `SmsKind` does not know.
    #[error("unknown kind `{0}` (receipt, alert, reminder, notice, reply, otp)")]
    UnknownKind(String),
}

/// Most parts a declaration may allow: 6 parts are 918 GSM-7 characters,
/// beyond what any handset joins reliably.
const MAX_SEGMENTS: usize = 6;

/// Reads the declaration from the last line of a message's comment.
pub fn parse(comment_last_line: Option<&str>) -> Result<Declaration, DeclarationError> {
    let line = comment_last_line
        .map(str::trim)
        .filter(|line| line.starts_with('@'))
        .ok_or(DeclarationError::Missing)?;
    let malformed = |what: String| DeclarationError::Malformed(what);
    let mut kind = None;
    let mut segments = None;
    let mut vars = BTreeMap::new();
    let mut words = line.split_whitespace();
    while let Some(tag) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| malformed(format!("`{tag}` has no value")))?;
        match tag {
            "@kind" if kind.is_none() => kind = Some(value),
            "@segments" if segments.is_none() => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_SEGMENTS).contains(n))
                    .ok_or_else(|| {
                        malformed(format!("@segments `{value}` is not 1 to {MAX_SEGMENTS}"))
                    })?;
                segments = Some(n);
            }
            "@var" => {
                let (name, len) = value
                    .split_once('=')
                    .ok_or_else(|| malformed(format!("@var `{value}` is not name=length")))?;
                let len = len
                    .parse::<usize>()
                    .ok()
                    .filter(|len| *len > 0)
                    .ok_or_else(|| {
                        malformed(format!("@var `{value}`: length must be 1 or more"))
                    })?;
                if name.is_empty() || vars.insert(name.to_owned(), len).is_some() {
                    return Err(malformed(format!(
                        "@var `{name}` is empty or declared twice"
                    )));
                }
            }
            "@kind" | "@segments" => return Err(malformed(format!("{tag} is declared twice"))),
            other => return Err(malformed(format!("unknown tag `{other}`"))),
        }
    }
    let kind = kind.ok_or_else(|| malformed("no @kind".into()))?;
    let kind = SmsKind::parse(kind).ok_or_else(|| DeclarationError::UnknownKind(kind.into()))?;
    let segments = segments.ok_or_else(|| malformed("no @segments".into()))?;
    Ok(Declaration {
        kind,
        segments,
        vars,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_declaration_is_read() {
        let declared = parse(Some(
            " @kind receipt @segments 2 @var amount=15 @var chama=30",
        ))
        .unwrap();
        assert_eq!(declared.kind, SmsKind::Receipt);
        assert_eq!(declared.segments, 2);
        assert_eq!(declared.vars.get("amount"), Some(&15));
        assert_eq!(declared.vars.get("chama"), Some(&30));
        assert!(
            parse(Some("@segments 1 @kind alert"))
                .unwrap()
                .vars
                .is_empty()
        );
    }

    #[test]
    fn a_missing_or_prose_comment_is_no_declaration() {
        assert_eq!(parse(None), Err(DeclarationError::Missing));
        assert_eq!(parse(Some("A receipt.")), Err(DeclarationError::Missing));
    }

    #[test]
    fn every_malformed_declaration_is_refused() {
        for bad in [
            "@kind receipt",
            "@segments 1",
            "@kind receipt @segments 0",
            "@kind receipt @segments 7",
            "@kind receipt @segments one",
            "@kind receipt @segments 1 @var amount",
            "@kind receipt @segments 1 @var amount=0",
            "@kind receipt @segments 1 @var amount=x",
            "@kind receipt @segments 1 @var amount=3 @var amount=4",
            "@kind receipt @segments 1 @var =4",
            "@kind receipt @kind alert @segments 1",
            "@kind receipt @segments 1 @colour red",
            "@kind receipt @segments",
        ] {
            assert!(
                matches!(parse(Some(bad)), Err(DeclarationError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_unknown_kind_is_named() {
        assert_eq!(
            parse(Some("@kind marketing @segments 1")),
            Err(DeclarationError::UnknownKind("marketing".into()))
        );
    }
}
