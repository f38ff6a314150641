//! Menus as data: the screen model read from `menus/*.toml`, the checker behind
//! `pesachama menus check`, the renderer that keeps every screen within the
//! USSD budget, and the engine that walks a session from hop to hop.
//!
//! Words live in [`crate::i18n`]; storage of sessions and the Africa's Talking
//! wire format live in the USSD and session layers. Rust code enters a menu
//! only through the named actions and conditions of a [`Host`], declared to the
//! checker in a [`Registry`].
//!
//! - `model`: settings, screens and validators after loading.
//! - `raw`, `loader`: TOML files to model, with shape errors and their lines.
//! - `check`: references, reachability, dead ends, keys, messages.
//! - `budget`: worst-case screen lengths.
//! - `render`: screen layout, list pages, truncation.
//! - `validate`: the typed input validators.
//! - `state`, `host`, `engine`, `choice`: the session state, the host trait,
//!   `begin`/`advance`, and what one input decides.
//! - `catalog`: the checked, shareable catalog and its reloadable holder.

mod budget;
mod catalog;
mod check;
mod choice;
mod engine;
mod host;
mod loader;
mod model;
mod raw;
mod registry;
mod render;
mod report;
mod state;
mod validate;

#[cfg(test)]
mod tests;

pub use catalog::{Catalog, Menus, load_catalog};
pub use host::{ActionOutcome, Host, HostFuture};
pub use model::{MenuOption, NavKeys, Screen, ScreenKind, Settings, Validator};
pub use registry::{ActionSpec, Registry};
pub use report::{CheckReport, Issue, IssueKind};
pub use state::{Reply, SessionState};
