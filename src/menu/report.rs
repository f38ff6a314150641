//! What `pesachama menus check` reports: every issue found, each naming its
//! file and, where there is one, its screen.

use std::fmt;

use crate::i18n::Lang;

/// One problem in the menus or locales.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// File the problem is in (a menu file, a locale file or a folder).
    pub file: String,
    /// Screen concerned, when there is one.
    pub screen: Option<String>,
    /// What is wrong.
    pub kind: IssueKind,
}

/// The kinds of problem the checker finds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssueKind {
    /// A file or folder could not be read.
    #[error("cannot read: {0}")]
    Io(String),
    /// TOML or Fluent syntax, or a table of the wrong shape.
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    /// No `[settings]` table in any menu file.
    #[error("no [settings] table in any menu file")]
    MissingSettings,
    /// A second `[settings]` table.
    #[error("[settings] is already declared in {first}")]
    DuplicateSettings { first: String },
    /// A screen id declared in two files.
    #[error("screen is already declared in {first}")]
    DuplicateScreen { first: String },
    /// A reference to a screen that does not exist.
    #[error("{field} refers to unknown screen `{target}`")]
    UnknownScreen { field: String, target: String },
    /// An action the registry does not know.
    #[error("{field} names unknown action `{action}`")]
    UnknownAction { field: String, action: String },
    /// A list fed by an action that produces no items.
    #[error("action `{action}` does not produce list items")]
    NotAListAction { action: String },
    /// A validator type that does not exist.
    #[error("unknown validator `{0}` (amount, pin, phone, member_no, text)")]
    UnknownValidator(String),
    /// A validator with missing or inconsistent parameters.
    #[error("validator: {0}")]
    BadValidator(String),
    /// A condition the registry does not know.
    #[error("unknown condition `{0}`")]
    UnknownCondition(String),
    /// A screen no path from the start (or home) screen reaches.
    #[error("unreachable from `{start}`")]
    Unreachable { start: String },
    /// A non-end screen with no way onward.
    #[error("dead end: {0}")]
    DeadEnd(String),
    /// Two options of a menu share a key.
    #[error("option key `{0}` is used twice")]
    DuplicateKey(String),
    /// An option key that is not a digit above the key before it: keys are
    /// fixed per meaning, 1 to 9 in the order the menu lists them.
    #[error("option key `{key}` must be a single digit 1-9 above the key before it (`{after}`)")]
    KeyOutOfOrder { key: String, after: String },
    /// An option key equal to a navigation key.
    #[error("option key `{key}` is the {nav} navigation key")]
    KeyIsNavigation { key: String, nav: String },
    /// A sensitive input asks to be stored.
    #[error("a sensitive input cannot be stored (remove `store`)")]
    SensitiveStored,
    /// A message or term defined twice in one language.
    #[error("`{id}` is already defined")]
    DuplicateMessage { id: String },
    /// A message used or defined in one language is missing in another.
    #[error("message `{id}` is missing in {lang}")]
    MissingMessage { id: String, lang: Lang },
    /// A message reads different variables in each language.
    #[error("message `{id}` uses variables [{en}] in en but [{sw}] in sw")]
    VariableMismatch { id: String, en: String, sw: String },
    /// A variable no action sets, so its length is unknown.
    #[error("message `{id}` ({lang}) uses `${var}`, which no action or input sets")]
    UnknownVariable { id: String, lang: Lang, var: String },
    /// Characters outside the basic GSM-7 set.
    #[error("message `{id}` ({lang}) has characters outside GSM-7: {chars}")]
    NotGsm7 {
        id: String,
        lang: Lang,
        chars: String,
    },
    /// A screen whose worst-case rendering exceeds the budget.
    #[error("worst-case {what} in {lang} is {len} characters, over the budget of {budget}")]
    OverBudget {
        lang: Lang,
        what: String,
        len: usize,
        budget: usize,
    },
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.screen {
            Some(screen) => write!(f, "{}: screen `{screen}`: {}", self.file, self.kind),
            None => write!(f, "{}: {}", self.file, self.kind),
        }
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
    pub fn push(&mut self, file: impl Into<String>, screen: Option<&str>, kind: IssueKind) {
        self.issues.push(Issue {
            file: file.into(),
            screen: screen.map(str::to_owned),
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
