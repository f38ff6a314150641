//! What `pesachama sms check` reports: every problem, each naming its file,
//! its message id and its language, like the menus checker does.

use std::fmt;

use crate::i18n::Lang;

use super::declaration::DeclarationError;

/// One problem with the SMS templates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// The file (or folder) the problem is in.
    pub file: String,
    /// The template concerned, when there is one.
    pub id: Option<String>,
    /// The language concerned, when there is one.
    pub lang: Option<Lang>,
    /// What is wrong.
    pub kind: IssueKind,
}

/// The kinds of problem the checker finds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssueKind {
    /// A locale file could not be read or parsed.
    #[error("{0}")]
    Load(String),
    /// A template defined in one language only.
    #[error("missing in {0}")]
    MissingIn(Lang),
    /// No declaration, a malformed one, or an unknown kind.
    #[error("{0}")]
    Declaration(DeclarationError),
    /// The languages declare different kinds.
    #[error("kind {en} in en but {sw} in sw")]
    KindMismatch { en: String, sw: String },
    /// The languages read different variables.
    #[error("variables [{en}] in en but [{sw}] in sw")]
    VariableMismatch { en: String, sw: String },
    /// A variable the text reads but the declaration does not give a length.
    #[error("`${0}` is used but not declared (add `@var {0}=<length>`)")]
    Undeclared(String),
    /// A declared variable the text never reads.
    #[error("`${0}` is declared but not used")]
    Unused(String),
    /// Characters that cannot go out as GSM-7.
    #[error("characters outside GSM-7: {0}")]
    NotGsm7(String),
    /// The worst-case rendering costs more parts than declared.
    #[error("worst case is {septets} characters, {parts} segments, over the declared {max}")]
    OverBudget {
        septets: usize,
        parts: usize,
        max: usize,
    },
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if let Some(id) = &self.id {
            write!(f, "template `{id}`")?;
            if let Some(lang) = self.lang {
                write!(f, " ({lang})")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.kind)
    }
}

/// Every issue of one check; displayed one per line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The issues, in the order found.
    pub issues: Vec<Issue>,
}

impl CheckReport {
    /// Records an issue.
    pub fn push(&mut self, file: &str, id: Option<&str>, lang: Option<Lang>, kind: IssueKind) {
        self.issues.push(Issue {
            file: file.to_owned(),
            id: id.map(str::to_owned),
            lang,
            kind,
        });
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CheckReport {}
