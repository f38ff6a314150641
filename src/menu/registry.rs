//! What the Rust host offers the menus: named actions (with the variables they
//! set and how long each can get) and named conditions. The checker refuses a
//! menu that names anything else, and sizes screens from the declared lengths.

use std::collections::{BTreeMap, BTreeSet};

/// Declared behaviour of one action, for the checker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionSpec {
    /// Variables the action sets in `SessionState::vars`, with the longest
    /// value (in characters) it can produce.
    pub outputs: BTreeMap<String, usize>,
    /// Longest list item, for actions that produce list items.
    pub item_max: Option<usize>,
    /// Message ids the action can return (`Invalid` or `End`).
    pub messages: BTreeSet<String>,
}

impl ActionSpec {
    /// An action that sets nothing and produces no items.
    pub fn new() -> ActionSpec {
        ActionSpec::default()
    }

    /// Declares an output variable and its maximum length.
    pub fn output(mut self, name: &str, max_len: usize) -> ActionSpec {
        self.outputs.insert(name.to_owned(), max_len);
        self
    }

    /// Declares that the action produces list items of at most `max_len`.
    pub fn items(mut self, max_len: usize) -> ActionSpec {
        self.item_max = Some(max_len);
        self
    }

    /// Declares a message id the action may return.
    pub fn message(mut self, id: &str) -> ActionSpec {
        self.messages.insert(id.to_owned());
        self
    }
}

/// The actions and conditions a host implements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    actions: BTreeMap<String, ActionSpec>,
    conditions: BTreeSet<String>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds (or replaces) an action.
    pub fn action(mut self, name: &str, spec: ActionSpec) -> Registry {
        self.actions.insert(name.to_owned(), spec);
        self
    }

    /// Adds a condition.
    pub fn condition(mut self, name: &str) -> Registry {
        self.conditions.insert(name.to_owned());
        self
    }

    /// The declaration of action `name`.
    pub fn action_spec(&self, name: &str) -> Option<&ActionSpec> {
        self.actions.get(name)
    }

    /// Whether condition `name` is known.
    pub fn has_condition(&self, name: &str) -> bool {
        self.conditions.contains(name)
    }

    /// Every declared action.
    pub fn actions(&self) -> impl Iterator<Item = (&str, &ActionSpec)> {
        self.actions
            .iter()
            .map(|(name, spec)| (name.as_str(), spec))
    }
}
