//! The session engine: from the state kept between hops and one new input, the
//! next screen. It knows nothing of storage or of Africa's Talking; the USSD
//! layer loads and saves [`SessionState`] and adds the `CON `/`END ` prefix.

use super::catalog::Catalog;
use super::choice::Step;
use super::host::{ActionOutcome, Host};
use super::model::{Screen, ScreenKind};
use super::render::MAX_LIST_ITEMS;
use super::state::{Reply, SessionState};

/// Longest chain of routes and redirects one hop may follow; a longer one is
/// a loop in the menus or the host, answered with the "unavailable" screen.
const MAX_STEPS: usize = 16;

impl Catalog {
    /// First hop of a session: runs the start route, returns the first screen.
    pub async fn begin(&self, state: &mut SessionState, host: &dyn Host) -> Reply {
        state.generation = self.generation();
        state.history.clear();
        state.items.clear();
        state.screen.clear();
        let start = self.settings().start.clone();
        self.follow(state, host, Step::Jump(start)).await
    }

    /// A new input on the current screen: back/home/next/prev keys, option
    /// choice, validation, actions, transitions.
    pub async fn advance(&self, state: &mut SessionState, input: &str, host: &dyn Host) -> Reply {
        let Some(screen) = self.screen(&state.screen) else {
            tracing::warn!(
                menu.screen = state.screen,
                "Session is on a screen this catalog lacks"
            );
            return self.unavailable(state);
        };
        let step = self.decide(screen, state, input.trim(), host).await;
        self.follow(state, host, step).await
    }

    /// Shows the current screen again as if just entered (its load action
    /// runs again, a list starts at its first page): for a resumed session.
    pub async fn render(&self, state: &mut SessionState, host: &dyn Host) -> Reply {
        let screen = state.screen.clone();
        self.follow(state, host, Step::Jump(screen)).await
    }

    /// Whether the current screen asks for a sensitive input (a PIN): the
    /// caller must then keep the raw input out of logs and stored state.
    pub fn expects_sensitive_input(&self, state: &SessionState) -> bool {
        self.screen(&state.screen).is_some_and(|s| {
            matches!(
                s.kind,
                ScreenKind::Input {
                    sensitive: true,
                    ..
                }
            )
        })
    }

    /// Follows steps until a screen is shown or the session ends.
    async fn follow(&self, state: &mut SessionState, host: &dyn Host, mut step: Step) -> Reply {
        for _ in 0..MAX_STEPS {
            let (target, error) = match step {
                Step::Show(error) => return self.draw(state, host, error.as_deref()),
                Step::End(message) => return self.end_with(state, &message),
                Step::Fail => return self.unavailable(state),
                Step::Home => (self.settings().home.clone(), None),
                Step::Back => (
                    state
                        .history
                        .pop()
                        .unwrap_or_else(|| self.settings().home.clone()),
                    None,
                ),
                Step::Go(target) => {
                    let is_place = self.screen(&state.screen).is_some_and(Screen::is_place);
                    if is_place && target != state.screen {
                        state.history.push(state.screen.clone());
                    }
                    (target, None)
                }
                Step::Jump(target) => (target, None),
                Step::Redirect(target, error) => (target, Some(error)),
            };
            let Some(screen) = self.screen(&target) else {
                tracing::warn!(menu.screen = target, "Transition to an unknown screen");
                return self.unavailable(state);
            };
            if error.is_none() {
                state.retries = 0;
            }
            if target == self.settings().home {
                state.history.clear();
            }
            state.screen = target;
            state.page = 0;
            state.items.clear();
            step = self.arrive(screen, state, host, error).await;
        }
        tracing::warn!(
            menu.screen = state.screen,
            "Too many steps in one hop: a loop in menus or host"
        );
        self.unavailable(state)
    }

    /// Runs what a screen runs on entry (route, load, list items).
    async fn arrive(
        &self,
        screen: &Screen,
        state: &mut SessionState,
        host: &dyn Host,
        error: Option<String>,
    ) -> Step {
        if let ScreenKind::Route { action, routes } = &screen.kind {
            return match run(action, state, None, host).await {
                Some(ActionOutcome::Goto(target)) if routes.contains(&target) => Step::Jump(target),
                Some(ActionOutcome::Continue) => {
                    routes.first().cloned().map_or(Step::Fail, Step::Jump)
                }
                Some(ActionOutcome::End(message)) => Step::End(message),
                Some(other) => {
                    tracing::warn!(
                        menu.screen = screen.id,
                        ?other,
                        "Route action gave an outcome it may not"
                    );
                    Step::Fail
                }
                None => Step::Fail,
            };
        }
        let list = match &screen.kind {
            ScreenKind::List { items, .. } => Some(items.as_str()),
            _ => None,
        };
        for name in screen.load.as_deref().into_iter().chain(list) {
            match run(name, state, None, host).await {
                Some(ActionOutcome::Continue) => {}
                Some(ActionOutcome::Items(mut items)) => {
                    if items.len() > MAX_LIST_ITEMS {
                        tracing::warn!(
                            menu.screen = screen.id,
                            items = items.len(),
                            "List cut to its maximum"
                        );
                        items.truncate(MAX_LIST_ITEMS);
                    }
                    state.items = items;
                }
                Some(ActionOutcome::Goto(target)) => return Step::Jump(target),
                Some(ActionOutcome::End(message) | ActionOutcome::Invalid(message)) => {
                    return Step::End(message);
                }
                None => return Step::Fail,
            }
        }
        Step::Show(error)
    }
}

/// Runs a host action; an error is logged and becomes `None`.
pub(super) async fn run(
    name: &str,
    state: &mut SessionState,
    input: Option<&str>,
    host: &dyn Host,
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
