//! The shape of `menus/*.toml` as serde reads it, before checking. See
//! `menus/README.md` for the format.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// Default screen budget: 160 octets of GSM-7 on the network.
const DEFAULT_BUDGET: usize = 182;
/// Default wrong inputs allowed on an input screen.
const DEFAULT_RETRIES: u8 = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) settings: Option<Spanned<RawSettings>>,
    #[serde(default)]
    pub(super) screen: BTreeMap<String, Spanned<RawScreen>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    pub(super) start: String,
    pub(super) home: String,
    #[serde(default = "default_budget")]
    pub(super) budget: usize,
    #[serde(default = "default_retries")]
    pub(super) retries: u8,
    #[serde(default)]
    pub(super) keys: RawKeys,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawKeys {
    pub(super) back: String,
    pub(super) home: String,
    pub(super) next: String,
    pub(super) prev: String,
    pub(super) yes: String,
    pub(super) no: String,
}

impl Default for RawKeys {
    fn default() -> RawKeys {
        RawKeys {
            back: "0".into(),
            home: "00".into(),
            next: "98".into(),
            prev: "99".into(),
            yes: "1".into(),
            no: "2".into(),
        }
    }
}

fn default_budget() -> usize {
    DEFAULT_BUDGET
}
fn default_retries() -> u8 {
    DEFAULT_RETRIES
}
fn default_nav() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum RawScreen {
    Menu {
        text: String,
        load: Option<String>,
        #[serde(default = "default_nav")]
        nav: bool,
        #[serde(default)]
        options: Vec<RawOption>,
        action: Option<String>,
    },
    Input {
        text: String,
        load: Option<String>,
        #[serde(default = "default_nav")]
        nav: bool,
        validator: String,
        min: Option<i64>,
        max: Option<i64>,
        error: String,
        retries: Option<u8>,
        #[serde(default)]
        sensitive: bool,
        store: Option<String>,
        action: Option<String>,
        next: Option<String>,
        on_invalid: Option<String>,
    },
    Confirm {
        text: String,
        load: Option<String>,
        #[serde(default = "default_nav")]
        nav: bool,
        action: Option<String>,
        next: Option<String>,
        no: Option<String>,
    },
    List {
        text: String,
        load: Option<String>,
        #[serde(default = "default_nav")]
        nav: bool,
        items: String,
        action: Option<String>,
        next: Option<String>,
        empty: Option<String>,
    },
    End {
        text: String,
        load: Option<String>,
    },
    Route {
        action: String,
        #[serde(default)]
        routes: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOption {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) goto: String,
    pub(super) when: Option<String>,
}
