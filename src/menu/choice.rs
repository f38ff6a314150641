//! What one input on the current screen decides: navigation keys, option
//! and item choices, validation, the screen's action and its outcome. The
//! engine turns the [`Step`] decided here into the next screen.

use super::catalog::Catalog;
use super::host::{ActionOutcome, Host, run_action};
use super::layout::{ids, list_pages, shows_nav};
use super::model::{Screen, ScreenKind};
use super::state::SessionState;

/// What one step of a hop decided.
pub(super) enum Step {
    /// Re-render the current screen, with an error message on top.
    Show(Option<String>),
    /// Forward to a screen; the current one joins the history if it is a place.
    Go(String),
    /// To a screen without touching the history (routes, redirects on entry).
    Jump(String),
    /// To a screen with an error on top, keeping the retry count.
    Redirect(String, String),
    Back,
    Home,
    /// End the session with this message.
    End(String),
    /// Something failed on our side (already logged).
    Fail,
}

/// Where a choice leads once its action has run.
struct Then {
    /// Target on `Continue`.
    next: Option<String>,
    /// Target on `Invalid` (stay when absent).
    on_invalid: Option<String>,
    /// Wrong inputs allowed.
    limit: u8,
}

impl Then {
    fn go(next: Option<String>, limit: u8) -> Then {
        Then {
            next,
            on_invalid: None,
            limit,
        }
    }
}

/// What `input` on `screen` decides, running the screen's action if the
/// input is valid.
pub(super) async fn decide(
    catalog: &Catalog,
    host: &dyn Host,
    screen: &Screen,
    state: &mut SessionState,
    input: &str,
) -> Step {
    let keys = &catalog.settings().keys;
    // The home key on the home screen shows it again: a member who presses
    // it to get "back to the start" is already there.
    if screen.id == catalog.settings().home && input == keys.home {
        return Step::Home;
    }
    if shows_nav(catalog.settings(), screen) {
        if input == keys.home {
            return Step::Home;
        }
        if input == keys.back {
            return Step::Back;
        }
    }
    let choice_error = || Step::Show(Some(ids::ERROR_CHOICE.to_owned()));
    let default_retries = catalog.settings().retries;
    match &screen.kind {
        // An information screen: nothing to choose, the footer says where to go.
        ScreenKind::Menu { options, .. } if options.is_empty() => Step::Show(None),
        ScreenKind::Menu { options, action } => {
            let chosen = options.iter().find(|o| {
                o.key == input && o.when.as_deref().is_none_or(|c| host.condition(c, state))
            });
            match chosen {
                Some(option) => {
                    let goto = option.goto.clone();
                    act(
                        host,
                        action.as_deref(),
                        state,
                        Some(input),
                        Then::go(Some(goto), default_retries),
                    )
                    .await
                }
                None => choice_error(),
            }
        }
        ScreenKind::Input {
            validator,
            error,
            retries,
            sensitive,
            store,
            action,
            next,
            on_invalid,
        } => {
            let limit = retries.unwrap_or(default_retries);
            let Some(value) = validator.check(input) else {
                return retry(state, error, None, limit);
            };
            if let (false, Some(var)) = (sensitive, store) {
                state.vars.insert(var.clone(), value.clone());
            }
            let then = Then {
                next: next.clone(),
                on_invalid: on_invalid.clone(),
                limit,
            };
            act(host, action.as_deref(), state, Some(&value), then).await
        }
        ScreenKind::Confirm { action, next, no } => {
            if input == keys.yes {
                act(
                    host,
                    action.as_deref(),
                    state,
                    None,
                    Then::go(next.clone(), default_retries),
                )
                .await
            } else if input == keys.no {
                no.clone().map_or(Step::Back, Step::Go)
            } else {
                choice_error()
            }
        }
        ScreenKind::List { action, next, .. } => {
            let pages = list_pages(
                catalog.settings(),
                screen,
                &catalog.words(state),
                &state.items,
            )
            .pages
            .len();
            if input == keys.next && state.page + 1 < pages {
                state.page += 1;
                return Step::Show(None);
            }
            if input == keys.prev && state.page > 0 {
                state.page -= 1;
                return Step::Show(None);
            }
            let chosen = input
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=state.items.len()).contains(n));
            match chosen {
                Some(_) if action.is_some() || next.is_some() => {
                    act(
                        host,
                        action.as_deref(),
                        state,
                        Some(input),
                        Then::go(next.clone(), default_retries),
                    )
                    .await
                }
                _ => choice_error(),
            }
        }
        ScreenKind::End => Step::Show(None),
        ScreenKind::Route { .. } => Step::Jump(screen.id.clone()),
    }
}

/// Runs the screen's action (if any) on a valid input and turns its
/// outcome into a step.
async fn act(
    host: &dyn Host,
    action: Option<&str>,
    state: &mut SessionState,
    input: Option<&str>,
    then: Then,
) -> Step {
    let Then {
        next,
        on_invalid,
        limit,
    } = then;
    let outcome = match action {
        Some(name) => match run_action(host, name, state, input).await {
            Some(outcome) => outcome,
            None => return Step::Fail,
        },
        None => ActionOutcome::Continue,
    };
    match outcome {
        ActionOutcome::Continue | ActionOutcome::Items(_) => next.map_or(Step::Fail, Step::Go),
        ActionOutcome::Goto(target) => Step::Go(target),
        ActionOutcome::Invalid(message) => retry(state, &message, on_invalid, limit),
        ActionOutcome::End(message) => Step::End(message),
    }
}

/// Counts a wrong input; past the limit the session ends politely.
fn retry(state: &mut SessionState, message: &str, target: Option<String>, limit: u8) -> Step {
    state.retries = state.retries.saturating_add(1);
    if state.retries >= limit {
        return Step::End(ids::ERROR_RETRIES.to_owned());
    }
    match target {
        Some(target) if target != state.screen => Step::Redirect(target, message.to_owned()),
        _ => Step::Show(Some(message.to_owned())),
    }
}
