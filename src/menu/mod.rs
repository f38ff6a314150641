//! Menus as data: the screen model read from `menus/*.toml`, the checker behind
//! `pesachama menus check`, the renderer that keeps every screen within the
//! USSD budget, and the engine that walks a session from hop to hop.
//!
//! Words live in [`crate::i18n`]; storage of sessions and the Africa's Talking
//! wire format live in the USSD and session layers. Rust code enters a menu
//! only through the named actions and conditions of a [`Host`], declared to the
//! checker in a [`Registry`].
//!
//! The files form a one-way chain: each module uses only those before it, so
//! none can reach back into the engine (`grep -n "use super::" src/menu/*.rs`).
//!
//! 1. The model, which depends on nothing else here: `model` (settings,
//!    screens, validators), `raw` (the TOML shape), `report` (issues),
//!    `validate` (the typed input validators), `registry` (what the host
//!    declares), `state` (the session state) and `host` (the trait, and
//!    running one action).
//! 2. `loader`: TOML files to model, with shape errors and their lines, and
//!    the fingerprint that names a catalog's generation.
//! 3. `layout`: screen layout as pure text (error line, body, options, paging,
//!    footer, list pages), shared by the budget check and the renderer.
//! 4. `budget`, then `check`: worst-case screen lengths; references,
//!    reachability, dead ends, keys and messages (which call the budget).
//! 5. `catalog`: the checked, shareable catalog and its reloadable holder.
//! 6. `render`: a session's current screen drawn from its catalog.
//! 7. `choice`, then `engine`: what one input decides, and `engine::Engine`,
//!    the one struct that walks a hop from input to next screen (behind
//!    `Catalog::begin`/`advance`/`render`).
//!
//! Beside the chain, `fake` is a host held in memory for the menu tests and
//! the hop benchmark; the gateway never uses it.

mod budget;
mod catalog;
mod check;
mod choice;
mod engine;
#[doc(hidden)]
pub mod fake;
mod host;
mod layout;
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
