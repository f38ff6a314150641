//! The callbacks Africa's Talking posts about SMS: delivery reports for what
//! we sent, and the messages members text us.
//!
//! - `guard`: allow-list, token and per-source rate limit.
//! - `form`: reading a required or optional field, naming it when it is bad.
//! - `status`, `delivery`: a delivery report mapped onto its outbox row.
//! - `keywords`, `inbound`, `opt_out`, `reply`: a texted keyword, stored,
//!   acted on and answered.

mod delivery;
mod form;
mod guard;
mod inbound;
mod keywords;
mod opt_out;
mod reply;
mod status;

use axum::Router;
use axum::middleware;
use axum::routing::post;

use crate::state::AppState;

/// Both callbacks, behind the protection. The router's body limit applies.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/sms/africastalking/delivery", post(delivery::report))
        .route("/sms/africastalking/inbound", post(inbound::message))
        .route_layer(middleware::from_fn_with_state(
            guard::Guard::new(state),
            guard::protect,
        ))
}
