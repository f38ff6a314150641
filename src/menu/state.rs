//! What the engine keeps between hops and what it answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

/// Everything the engine keeps between hops (serde, stored by the session
/// layer in Redis/PostgreSQL as JSON). Never holds a sensitive input.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SessionState {
    /// Catalog generation the session runs on (see `Menus::get`).
    pub generation: u64,
    /// The member's language; an action may change it, from the next screen on.
    pub lang: Lang,
    /// Current screen id.
    pub screen: String,
    /// Menus and lists passed through, for the back key (home clears it).
    pub history: Vec<String>,
    /// Variables set by actions and stored inputs, available to every later screen.
    pub vars: BTreeMap<String, String>,
    /// Wrong inputs so far on the current step.
    pub retries: u8,
    /// Page shown of the current list screen (0-based).
    pub page: usize,
    /// Items of the current list screen.
    pub items: Vec<String>,
}

impl SessionState {
    /// A fresh session on catalog `generation` in `lang`, before
    /// [`Catalog::begin`](super::Catalog::begin), which sets the generation
    /// of the catalog it runs on.
    pub fn new(generation: u64, lang: Lang) -> SessionState {
        SessionState {
            generation,
            lang,
            ..SessionState::default()
        }
    }
}

/// What to answer: text without the `CON `/`END ` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The session continues; the member may answer.
    Con(String),
    /// The session ends with this screen.
    End(String),
}

impl Reply {
    /// The screen text.
    pub fn text(&self) -> &str {
        match self {
            Reply::Con(text) | Reply::End(text) => text,
        }
    }

    /// Whether the session ends here.
    pub fn is_end(&self) -> bool {
        matches!(self, Reply::End(_))
    }
}
