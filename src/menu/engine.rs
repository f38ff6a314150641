//! The session engine: from the state kept between hops and one new input, the
//! next screen. It knows nothing of storage or of Africa's Talking; the USSD
//! layer loads and saves [`SessionState`] and adds the `CON `/`END ` prefix.
//!
//! [`Engine`] is the whole walk of one hop; the `Catalog` methods at the end
//! are the crate's entry points into it.

use super::catalog::Catalog;
use super::choice::{Step, decide};
use super::host::{ActionOutcome, Host, run_action};
use super::layout::MAX_LIST_ITEMS;
use super::model::{Screen, ScreenKind};
use super::state::{Reply, SessionState};

/// Longest chain of routes and redirects one hop may follow; a longer one is
/// a loop in the menus or the host, answered with the "unavailable" screen.
const MAX_STEPS: usize = 16;

/// One hop's walk through the menus: the catalog the session is on and the
/// host whose actions and conditions it uses. It keeps nothing between hops;
/// that is the [`SessionState`] the caller loads and saves.
pub(super) struct Engine<'a> {
    catalog: &'a Catalog,
    host: &'a dyn Host,
}

impl<'a> Engine<'a> {
    /// An engine walking `catalog` with `host`'s actions.
    pub(super) fn new(catalog: &'a Catalog, host: &'a dyn Host) -> Engine<'a> {
        Engine { catalog, host }
    }

    /// First hop of a session: runs the start route, returns the first screen.
    pub(super) async fn begin(&self, state: &mut SessionState) -> Reply {
        state.generation = self.catalog.generation();
        state.history.clear();
        state.items.clear();
        state.screen.clear();
        let start = self.catalog.settings().start.clone();
        self.follow(state, Step::Jump(start)).await
    }

    /// A new input on the current screen: back/home/next/prev keys, option
    /// choice, validation, actions, transitions.
    pub(super) async fn advance(&self, state: &mut SessionState, input: &str) -> Reply {
        let Some(screen) = self.catalog.screen(&state.screen) else {
            tracing::warn!(
                menu.screen = state.screen,
                "Session is on a screen this catalog lacks"
            );
            return self.catalog.unavailable(state);
        };
        let step = decide(self.catalog, self.host, screen, state, input.trim()).await;
        self.follow(state, step).await
    }

    /// Shows the current screen again as if just entered (its load action
    /// runs again, a list starts at its first page): for a resumed session.
    pub(super) async fn render(&self, state: &mut SessionState) -> Reply {
        let screen = state.screen.clone();
        self.follow(state, Step::Jump(screen)).await
    }

    /// Follows steps until a screen is shown or the session ends.
    async fn follow(&self, state: &mut SessionState, mut step: Step) -> Reply {
        for _ in 0..MAX_STEPS {
            let (target, error) = match step {
                Step::Show(error) => return self.catalog.draw(state, self.host, error.as_deref()),
                Step::End(message) => return self.catalog.end_with(state, &message),
                Step::Fail => return self.catalog.unavailable(state),
                Step::Home => (self.catalog.settings().home.clone(), None),
                Step::Back => (
                    state
                        .history
                        .pop()
                        .unwrap_or_else(|| self.catalog.settings().home.clone()),
                    None,
                ),
                Step::Go(target) => {
                    let is_place = self
                        .catalog
                        .screen(&state.screen)
                        .is_some_and(Screen::is_place);
                    if is_place && target != state.screen {
                        state.history.push(state.screen.clone());
                    }
                    (target, None)
                }
                Step::Jump(target) => (target, None),
                Step::Redirect(target, error) => (target, Some(error)),
            };
            let Some(screen) = self.catalog.screen(&target) else {
                tracing::warn!(menu.screen = target, "Transition to an unknown screen");
                return self.catalog.unavailable(state);
            };
            if error.is_none() {
                state.retries = 0;
            }
            if target == self.catalog.settings().home {
                state.history.clear();
            }
            state.screen = target;
            state.page = 0;
            state.items.clear();
            step = self.arrive(screen, state, error).await;
        }
        tracing::warn!(
            menu.screen = state.screen,
            "Too many steps in one hop: a loop in menus or host"
        );
        self.catalog.unavailable(state)
    }

    /// Runs what a screen runs on entry (route, load, list items).
    async fn arrive(
        &self,
        screen: &Screen,
        state: &mut SessionState,
        error: Option<String>,
    ) -> Step {
        if let ScreenKind::Route { action, routes } = &screen.kind {
            return match run_action(self.host, action, state, None).await {
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
            match run_action(self.host, name, state, None).await {
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

impl Catalog {
    /// First hop of a session: runs the start route, returns the first screen.
    pub async fn begin(&self, state: &mut SessionState, host: &dyn Host) -> Reply {
        Engine::new(self, host).begin(state).await
    }

    /// A new input on the current screen: back/home/next/prev keys, option
    /// choice, validation, actions, transitions.
    pub async fn advance(&self, state: &mut SessionState, input: &str, host: &dyn Host) -> Reply {
        Engine::new(self, host).advance(state, input).await
    }

    /// Shows the current screen again as if just entered (its load action
    /// runs again, a list starts at its first page): for a resumed session.
    pub async fn render(&self, state: &mut SessionState, host: &dyn Host) -> Reply {
        Engine::new(self, host).render(state).await
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
}
