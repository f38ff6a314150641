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

/// Longest amount as `format_kes` writes it for a member's own figures
/// (`-KES 99,999,999`, under a hundred million shillings).
const MEMBER_AMOUNT_LEN: usize = 16;
/// Longest amount for a whole chama (`-KES 9,999,999,999`).
const CHAMA_AMOUNT_LEN: usize = 18;
/// Longest chama name as shown on USSD (names are cut to this on the way in).
const CHAMA_NAME_LEN: usize = 30;
/// Longest mini-statement line (`12/11 Contribution +1,000`).
const STATEMENT_LINE_LEN: usize = 30;

/// The actions and conditions of the member tree in `menus/`, which the USSD
/// host implements. See `menus/README.md` for what each one does.
pub fn default_registry() -> Registry {
    Registry::new()
        .action("route_start", ActionSpec::new())
        .action("route_after_language", ActionSpec::new())
        .action("set_language", ActionSpec::new().message("invalid-choice"))
        .action("stash_pin", ActionSpec::new().message("pin-format"))
        .action(
            "save_pin",
            ActionSpec::new()
                .message("pin-format")
                .message("pin-mismatch")
                .message("pin-weak-repeated")
                .message("pin-weak-run")
                .message("pin-weak-common")
                .message("pin-weak-phone")
                .message("pin-weak-same"),
        )
        .action(
            "verify_pin",
            ActionSpec::new()
                .output("attempts_left", 1)
                .message("pin-format")
                .message("pin-wrong")
                .message("pin-locked"),
        )
        .action("list_chamas", ActionSpec::new().items(CHAMA_NAME_LEN))
        .action(
            "select_chama",
            ActionSpec::new()
                .output("chama_name", CHAMA_NAME_LEN)
                .message("invalid-choice"),
        )
        .action(
            "load_balance",
            ActionSpec::new()
                .output("chama_name", CHAMA_NAME_LEN)
                .output("savings", MEMBER_AMOUNT_LEN)
                .output("shares", MEMBER_AMOUNT_LEN)
                .output("loan", MEMBER_AMOUNT_LEN)
                .output("fines", MEMBER_AMOUNT_LEN)
                .output("chama_total", CHAMA_AMOUNT_LEN),
        )
        .action(
            "load_statement",
            ActionSpec::new().items(STATEMENT_LINE_LEN),
        )
        .condition("is_officer")
        .condition("multi_chama")
}
