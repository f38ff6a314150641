//! The USSD channel: Africa's Talking's callbacks, hop decoding, the session
//! record, and the host side of the menu engine.
//!
//! - `hop`: the callback form parsed into typed fields.
//! - `decode`: what the member typed on this hop.
//! - `handler`: the hop pipeline (limits, session, engine, compare-and-set).
//! - `host`: the named actions and conditions the menus use.
//! - `events`: session-end events; `resume`: continuing an interrupted session.
//! - `guard`: callback protection and rate limits.

mod decode;
mod events;
#[cfg(test)]
mod fuzz;
pub(crate) mod guard;
mod handler;
mod hop;
mod host;
mod record;
mod resume;

// The pure steps of a hop, public only so `benches/hop.rs` can time them
// without PostgreSQL or Redis; the gateway reaches them through `router`.
#[doc(hidden)]
pub use decode::{Fingerprinter, TextTrail};
#[doc(hidden)]
pub use hop::{Hop, RawHop};
#[doc(hidden)]
pub use record::{SessionRecord, StoredReply};

use axum::Router;
use axum::middleware;
use axum::routing::post;

use crate::state::AppState;

/// The USSD callback and the session-end events, behind the protection.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ussd/africastalking", post(handler::hop))
        .route("/ussd/africastalking/events", post(events::session_ended))
        .route_layer(middleware::from_fn_with_state(state, guard::protect))
}
