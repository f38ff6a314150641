//! The checked shape of a menu catalog: settings, screens, options and
//! validators. Built by the loader; read by the checker, renderer and engine.

use std::collections::BTreeMap;

/// The `[settings]` table: where sessions start, the navigation keys, the
/// screen budget and the default retry limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// First screen of every session (usually a `route`).
    pub start: String,
    /// The main menu: `home` key target; entering it clears the back history.
    pub home: String,
    /// Navigation and confirm keys.
    pub keys: NavKeys,
    /// Longest screen in GSM-7 septets, prefix `CON `/`END ` excluded.
    pub budget: usize,
    /// Wrong inputs allowed on an input screen before the session ends.
    pub retries: u8,
}

/// Keys with a fixed meaning on every screen that shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NavKeys {
    /// Back along the history (`0`).
    pub back: String,
    /// To the home screen (`00`).
    pub home: String,
    /// Next page of a list (`98`).
    pub next: String,
    /// Previous page of a list (`99`).
    pub prev: String,
    /// "Yes" on a confirm screen (`1`).
    pub yes: String,
    /// "No" on a confirm screen (`2`).
    pub no: String,
}

impl NavKeys {
    /// The navigation keys by name, for collision checks and messages.
    pub fn named(&self) -> [(&'static str, &str); 4] {
        [
            ("back", &self.back),
            ("home", &self.home),
            ("next", &self.next),
            ("prev", &self.prev),
        ]
    }
}

/// One screen of the catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct Screen {
    /// Unique id, the key of `[screen.<id>]`.
    pub id: String,
    /// File that declares it (for reports).
    pub file: String,
    /// Line of its table in that file.
    pub line: usize,
    /// Message id of its text (every kind but `route`).
    pub text: Option<String>,
    /// Action run each time the screen is entered; its variables feed the text.
    pub load: Option<String>,
    /// Whether the back/home footer is shown and honoured (false on the
    /// first-dial screens, where skipping ahead would skip the PIN).
    pub nav: bool,
    /// What the screen does with input.
    pub kind: ScreenKind,
}

/// The kinds of screen and their transitions.
#[derive(Clone, Debug, PartialEq)]
pub enum ScreenKind {
    /// Numbered options; with no options it is an information screen left by
    /// the navigation keys.
    Menu {
        options: Vec<MenuOption>,
        /// Run with the chosen key before going to the option's target.
        action: Option<String>,
    },
    /// Typed input.
    Input {
        validator: Validator,
        /// Message shown when validation fails.
        error: String,
        /// Wrong inputs allowed (settings default when absent).
        retries: Option<u8>,
        /// Never stored in the session (PINs).
        sensitive: bool,
        /// Variable that keeps the validated input (never for sensitive input).
        store: Option<String>,
        /// Run with the validated input; its outcome can redirect.
        action: Option<String>,
        next: Option<String>,
        /// Where an `Invalid` outcome of the action sends the member (this
        /// screen when absent), with the error shown on top.
        on_invalid: Option<String>,
    },
    /// Yes/no question.
    Confirm {
        /// Run on "yes".
        action: Option<String>,
        next: Option<String>,
        /// Target of "no"; back along the history when absent.
        no: Option<String>,
    },
    /// Paged list whose items come from an action.
    List {
        /// Action producing the items, run on entry.
        items: String,
        /// Run with the chosen item number (1-based); a list without it only
        /// displays.
        action: Option<String>,
        next: Option<String>,
        /// Message shown when there are no items.
        empty: Option<String>,
    },
    /// Final screen: the session ends.
    End,
    /// No display: `action` picks the next screen among `routes`.
    Route { action: String, routes: Vec<String> },
}

/// One numbered option of a menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuOption {
    /// What the member types (`1`).
    pub key: String,
    /// Message id of its label.
    pub label: String,
    /// Target screen.
    pub goto: String,
    /// Condition that must hold for the option to show and be selectable.
    pub when: Option<String>,
}

/// Typed input validators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validator {
    /// Whole shillings within bounds.
    Amount { min: i64, max: i64 },
    /// Exactly four digits.
    Pin,
    /// A mobile number, as `crate::phone::Msisdn` parses it.
    Phone,
    /// A member number: 1 to 10 digits.
    MemberNo,
    /// Free text of 1 to `max` characters.
    Text { max: usize },
}

/// `(field, target)` when `target` is set.
fn named<'a>(field: &'static str, target: &'a Option<String>) -> Option<(&'static str, &'a str)> {
    target.as_deref().map(|t| (field, t))
}

/// Every screen of a catalog by id.
pub type Screens = BTreeMap<String, Screen>;

impl Screen {
    /// Every screen id this screen refers to, with the field that names it.
    pub fn targets(&self) -> Vec<(&'static str, &str)> {
        match &self.kind {
            ScreenKind::Menu { options, .. } => options
                .iter()
                .map(|o| ("option goto", o.goto.as_str()))
                .collect(),
            ScreenKind::Input {
                next, on_invalid, ..
            } => named("next", next)
                .into_iter()
                .chain(named("on_invalid", on_invalid))
                .collect(),
            ScreenKind::Confirm { next, no, .. } => named("next", next)
                .into_iter()
                .chain(named("no", no))
                .collect(),
            ScreenKind::List { next, .. } => named("next", next).into_iter().collect(),
            ScreenKind::End => Vec::new(),
            ScreenKind::Route { routes, .. } => {
                routes.iter().map(|r| ("routes", r.as_str())).collect()
            }
        }
    }

    /// Every action this screen names, with the field that names it.
    pub fn actions(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        if let Some(load) = &self.load {
            out.push(("load", load));
        }
        match &self.kind {
            ScreenKind::Menu { action, .. }
            | ScreenKind::Input { action, .. }
            | ScreenKind::Confirm { action, .. } => {
                out.extend(action.as_deref().map(|a| ("action", a)))
            }
            ScreenKind::List { items, action, .. } => {
                out.push(("items", items));
                out.extend(action.as_deref().map(|a| ("action", a)));
            }
            ScreenKind::Route { action, .. } => out.push(("action", action)),
            ScreenKind::End => {}
        }
        out
    }

    /// Whether the screen ends the session.
    pub fn is_end(&self) -> bool {
        matches!(self.kind, ScreenKind::End)
    }

    /// Whether the screen is a place the back key returns to (menus and lists;
    /// inputs, confirms and routes are steps on the way).
    pub fn is_place(&self) -> bool {
        matches!(self.kind, ScreenKind::Menu { .. } | ScreenKind::List { .. })
    }
}
