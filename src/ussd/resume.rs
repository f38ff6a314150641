//! Resuming an interrupted session. When Africa's Talking reports a session
//! that ended on a `CON` screen (the member dropped or timed out), its menu
//! state is kept for the resume window under `resume:<user id>` in the session
//! store. The member's next dial within the window is offered "continue where
//! you left off / start again" in their language.
//!
//! A resumed session never carries a verified PIN: screens behind a PIN ask
//! for it again. It never lands on a screen that sets or changes a PIN or
//! moves money: it goes back to the last place before that one.

use std::sync::Arc;

use uuid::Uuid;

use crate::i18n::Lang;
use crate::menu::{Catalog, SessionState};
use crate::session::{SessionId, SessionStore};
use crate::state::AppState;

use super::handler::Outcome;
use crate::ops;

use super::host::HopHost;
use super::record::{SessionRecord, StoredReply};

fn resume_id(user: Uuid) -> SessionId {
    SessionId::parse(&format!("resume:{user}")).expect("a uuid makes a valid session id")
}

/// Takes (and removes) the saved state of the user's interrupted session.
/// A store failure only means no offer: it is logged, not fatal.
pub async fn take_offer(app: &AppState, user: Uuid) -> Option<SessionState> {
    let id = resume_id(user);
    let stored = match app.sessions.load(&id).await {
        Ok(stored) => stored?,
        Err(error) => {
            tracing::warn!(%error, "cannot read a resumable session");
            return None;
        }
    };
    if let Err(error) = app.sessions.delete(&id).await {
        tracing::warn!(%error, "cannot remove a used resumable session");
    }
    serde_json::from_str(&stored.data).ok()
}

/// The offer screen.
pub fn offer_reply(catalog: &Catalog, lang: Lang) -> StoredReply {
    StoredReply {
        end: false,
        text: catalog
            .locales()
            .format(lang, "resume-offer", &Default::default()),
    }
}

/// The member's answer to the offer: 1 continues, 2 starts again, anything
/// else shows the offer again.
pub async fn answer_offer(
    app: &AppState,
    host: &HopHost<'_>,
    record: &mut SessionRecord,
    mut saved: SessionState,
    input: &str,
) -> anyhow::Result<Outcome> {
    let catalog: Arc<Catalog> = app.menus.current();
    match input {
        "1" => {
            ops::vars::forget_authorisations(&mut saved);
            // Menus may have been reloaded since; the saved screen is shown
            // from the catalogue it was saved with while that is still kept.
            let saved_catalog = app.menus.for_generation(saved.generation);
            if !land_safely(&saved_catalog, &mut saved) {
                record.last_reply = catalog.begin(&mut record.engine, host).await.into();
                return Ok(Outcome::Answered);
            }
            record.engine = saved;
            record.last_reply = saved_catalog.render(&mut record.engine, host).await.into();
            Ok(Outcome::Resumed)
        }
        "2" => {
            record.last_reply = catalog.begin(&mut record.engine, host).await.into();
            Ok(Outcome::Answered)
        }
        _ => {
            record.last_reply = offer_reply(&catalog, record.engine.lang);
            record.resume_offer = Some(saved);
            Ok(Outcome::Answered)
        }
    }
}

/// Moves a resumed session off a screen that sets or changes a PIN or
/// moves money, back to the last place before it (as the back key would);
/// `false` when there is none and the session must start again.
fn land_safely(catalog: &Catalog, state: &mut SessionState) -> bool {
    let sensitive = |id: &str| {
        catalog.screen(id).is_none_or(|screen| {
            screen
                .actions()
                .iter()
                .any(|(_, action)| ops::is_sensitive(action))
        })
    };
    while sensitive(&state.screen) {
        match state.history.pop() {
            Some(previous) => {
                state.screen = previous;
                state.page = 0;
                state.retries = 0;
            }
            None => return false,
        }
    }
    true
}

/// Keeps an interrupted session's state for the resume window.
pub async fn remember_interrupted(app: &AppState, record: &SessionRecord) -> anyhow::Result<bool> {
    let Some(user) = record.user else {
        return Ok(false);
    };
    if record.last_reply.end {
        return Ok(false);
    }
    let state = record.resume_offer.as_ref().unwrap_or(&record.engine);
    let id = resume_id(user);
    let data = serde_json::to_string(state)?;
    let window = app.settings.ussd.resume_window;
    // Overwrite whatever an earlier interruption left: the newest one wins.
    let expected = app.sessions.load(&id).await?.map(|s| s.version);
    app.sessions.save(&id, &data, expected, window).await?;
    Ok(true)
}
