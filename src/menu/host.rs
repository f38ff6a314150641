//! The Rust side of the menus: the trait a host implements to run named
//! actions and answer named conditions.

use std::future::Future;
use std::pin::Pin;

use super::state::SessionState;

/// What a host action decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionOutcome {
    /// Proceed to the screen's declared next/target (a route takes its first route).
    Continue,
    /// Go to this screen (a route must pick one of its `routes`).
    Goto(String),
    /// Items of a `list` screen.
    Items(Vec<String>),
    /// Input refused: show this message id as the error and count a retry.
    Invalid(String),
    /// End the session with this message id (e.g. PIN locked).
    End(String),
}

/// The future a host action returns.
pub type HostFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<ActionOutcome>> + Send + 'a>>;

/// The Rust side of the menus: named actions and conditions (declared to the
/// checker in a `Registry`).
pub trait Host: Send + Sync {
    /// Runs a named action. `input` is the validated input of an input screen,
    /// the chosen key of a menu or the chosen item number of a list (a PIN is
    /// passed here and nowhere else). Variables go into `state.vars`.
    fn action<'a>(
        &'a self,
        name: &'a str,
        state: &'a mut SessionState,
        input: Option<&'a str>,
    ) -> HostFuture<'a>;

    /// Whether a named condition holds for this session.
    fn condition(&self, name: &str, state: &SessionState) -> bool;
}

/// Runs a host action for the engine; an error is logged here, once, and
/// becomes `None` (the engine then shows the "unavailable" screen).
pub(super) async fn run_action(
    host: &dyn Host,
    name: &str,
    state: &mut SessionState,
    input: Option<&str>,
) -> Option<ActionOutcome> {
    match host.action(name, state, input).await {
        Ok(outcome) => Some(outcome),
        Err(error) => {
            tracing::error!(
                menu.action = name,
                menu.screen = state.screen,
                error = format!("{error:#}"),
                "Menu action failed"
            );
            None
        }
    }
}
