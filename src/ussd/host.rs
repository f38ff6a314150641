//! The menu engine's host for one hop: the actions the menus name run as
//! operations ([`crate::ops`]) in the hop's [`RequestEnv`], and the
//! conditions read what the operations remembered in the session.

use crate::menu::{Host, HostFuture, SessionState};
use crate::ops::{self, RequestEnv};
use crate::state::AppState;

/// One hop's host.
pub struct HopHost<'a> {
    env: RequestEnv<'a>,
}

impl<'a> HopHost<'a> {
    /// `request_key` tells this hop from every other and is the same for
    /// each copy of it ([`super::decode::Fingerprinter::request_key`]).
    pub fn new(app: &'a AppState, request_key: String) -> HopHost<'a> {
        HopHost {
            env: RequestEnv::new(app, request_key),
        }
    }
}

impl Host for HopHost<'_> {
    fn action<'a>(
        &'a self,
        name: &'a str,
        state: &'a mut SessionState,
        input: Option<&'a str>,
    ) -> HostFuture<'a> {
        Box::pin(ops::dispatch(&self.env, name, state, input))
    }

    fn condition(&self, name: &str, state: &SessionState) -> bool {
        ops::vars::condition(state, name)
    }
}
