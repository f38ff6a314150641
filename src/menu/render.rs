//! Drawing a session's current screen from its catalog: the member's words
//! put through `layout`, and the final screens the engine
//! ends with.

use super::catalog::Catalog;
use super::host::Host;
use super::layout::{ListPages, Spoken, Words, confirm_lines, frame, ids, list_pages, numbered};
use super::model::ScreenKind;
use super::state::{Reply, SessionState};
use crate::i18n::truncate_gsm7;

impl Catalog {
    /// The words of the session's language and variables.
    pub(super) fn words<'a>(&'a self, state: &'a SessionState) -> Spoken<'a> {
        Spoken {
            locales: self.locales(),
            lang: state.lang,
            vars: &state.vars,
        }
    }

    /// Draws the current screen of `state`, with message `error` on top.
    /// Public only so `benches/hop.rs` can time drawing apart from the
    /// actions that run before it; the gateway draws through the engine.
    #[doc(hidden)]
    pub fn draw(&self, state: &SessionState, host: &dyn Host, error: Option<&str>) -> Reply {
        let settings = self.settings();
        let Some(screen) = self.screen(&state.screen) else {
            return self.unavailable(state);
        };
        let words = self.words(state);
        let layout = match &screen.kind {
            ScreenKind::Menu { options, .. } => {
                let lines = options
                    .iter()
                    .filter(|o| o.when.as_deref().is_none_or(|c| host.condition(c, state)))
                    .map(|o| numbered(&o.key, &words.word(&o.label)))
                    .collect();
                frame(settings, screen, &words, error, lines, (false, false))
            }
            ScreenKind::Confirm { .. } => frame(
                settings,
                screen,
                &words,
                error,
                confirm_lines(settings, &words),
                (false, false),
            ),
            ScreenKind::List { empty, .. } if state.items.is_empty() => {
                let line = words.word(empty.as_deref().unwrap_or(ids::LIST_EMPTY));
                frame(settings, screen, &words, error, vec![line], (false, false))
            }
            ScreenKind::List { .. } => {
                let ListPages { lines, pages } = list_pages(settings, screen, &words, &state.items);
                let last = pages.len().saturating_sub(1);
                let page = state.page.min(last);
                let shown = pages
                    .get(page)
                    .map_or(&lines[..0], |range| &lines[range.clone()]);
                frame(
                    settings,
                    screen,
                    &words,
                    error,
                    shown.to_vec(),
                    (page > 0, page < last),
                )
            }
            ScreenKind::Input { .. } | ScreenKind::End => {
                frame(settings, screen, &words, error, Vec::new(), (false, false))
            }
            ScreenKind::Route { .. } => return self.unavailable(state),
        };
        let text = layout.compose(settings.budget);
        if screen.is_end() {
            Reply::End(text)
        } else {
            Reply::Con(text)
        }
    }

    /// The final screen showing message `id`.
    pub(super) fn end_with(&self, state: &SessionState, id: &str) -> Reply {
        Reply::End(truncate_gsm7(
            &self.words(state).word(id),
            self.settings().budget,
        ))
    }

    /// The polite final screen for a failure on our side.
    pub(super) fn unavailable(&self, state: &SessionState) -> Reply {
        self.end_with(state, ids::ERROR_UNAVAILABLE)
    }
}
