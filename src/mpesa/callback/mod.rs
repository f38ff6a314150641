//! Daraja's STK callback: protection, strict reading, and settling through
//! [`crate::mpesa::settle`].
//!
//! - `parse`: the callback JSON, read strictly (`parse_tests`).
//! - `receive`: the route: source and token checks, settle, store, answer.
//! - `store`: every callback kept with its outcome.
//! - `early`: a callback kept before its push was written, settled once it is.

mod early;
mod parse;
#[cfg(test)]
mod parse_tests;
mod receive;
mod store;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

use crate::mpesa::STK_CALLBACK_PATH;
use crate::state::AppState;

pub use early::settle_early;
pub use parse::{Callback, Malformed, parse};

/// Daraja's callbacks are about a kilobyte; anything much bigger is not one.
pub const MAX_CALLBACK_BYTES: usize = 16 * 1024;

/// The STK callback route. Its body limit is tighter than the router's.
pub fn router() -> Router<AppState> {
    Router::new().route(
        &format!("{STK_CALLBACK_PATH}/{{token}}"),
        post(receive::callback).layer(DefaultBodyLimit::max(MAX_CALLBACK_BYTES)),
    )
}
