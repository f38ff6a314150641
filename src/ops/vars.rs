//! What the operations remember between USSD hops, typed.
//!
//! It lives in the menu engine's session variables, under names starting
//! with `_` (never shown on a screen), and only this file knows those names
//! and how values are written. A PIN itself is never stored: while a new PIN
//! is being confirmed, only a keyed hash of the first entry is.

use uuid::Uuid;

use crate::chama::Role;
use crate::menu::SessionState;
use crate::user::Caller;

const USER: &str = "_user";
const CHAMA: &str = "_chama";
const ROLE: &str = "_role";
const MULTI: &str = "_multi";
const HAS_PIN: &str = "_has_pin";
const LANG_CHOSEN: &str = "_lang_chosen";
const PIN_OK: &str = "_pin_ok";
const PIN_CHANGE_OK: &str = "_pin_change_ok";
const PIN_DRAFT: &str = "_pin_draft";
/// Shown on screens.
const CHAMA_NAME: &str = "chama_name";

/// Condition: the caller is an official of the chosen chama.
pub const IS_OFFICER: &str = "is_officer";
/// Condition: the caller belongs to more than one chama.
pub const MULTI_CHAMA: &str = "multi_chama";

fn flag(state: &SessionState, name: &str) -> bool {
    state.vars.get(name).is_some_and(|v| v == "1")
}

fn set_flag(state: &mut SessionState, name: &str, on: bool) {
    state
        .vars
        .insert(name.into(), if on { "1" } else { "0" }.into());
}

fn uuid(state: &SessionState, name: &str) -> Option<Uuid> {
    state.vars.get(name).and_then(|v| v.parse().ok())
}

/// Copies what the session needs to know about the caller.
pub fn remember_caller(state: &mut SessionState, caller: &Caller) {
    state.lang = caller.lang;
    state.vars.insert(USER.into(), caller.user_id.to_string());
    set_flag(state, HAS_PIN, caller.has_pin);
    set_flag(state, LANG_CHOSEN, caller.language_chosen);
    set_flag(state, MULTI, caller.memberships.len() > 1);
    if let [only] = caller.memberships.as_slice() {
        choose_chama(state, only.chama_id, &only.chama_name, only.role);
    }
}

/// The caller's user id; `None` for a phone that belongs to no user.
pub fn user(state: &SessionState) -> Option<Uuid> {
    uuid(state, USER)
}

/// The chama the caller acts in.
pub fn chama(state: &SessionState) -> Option<Uuid> {
    uuid(state, CHAMA)
}

pub fn choose_chama(state: &mut SessionState, chama: Uuid, name: &str, role: Role) {
    state.vars.insert(CHAMA.into(), chama.to_string());
    state.vars.insert(CHAMA_NAME.into(), name.to_owned());
    state.vars.insert(ROLE.into(), role.as_str().to_owned());
}

/// Whether a named condition of the menus holds.
pub fn condition(state: &SessionState, name: &str) -> bool {
    match name {
        IS_OFFICER => state
            .vars
            .get(ROLE)
            .and_then(|r| Role::from_db(r))
            .is_some_and(Role::is_officer),
        MULTI_CHAMA => flag(state, MULTI),
        _ => false,
    }
}

pub fn has_pin(state: &SessionState) -> bool {
    flag(state, HAS_PIN)
}

/// Whether the caller has chosen a language (on this or an earlier dial).
pub fn language_chosen(state: &SessionState) -> bool {
    flag(state, LANG_CHOSEN)
}

pub fn language_chosen_now(state: &mut SessionState) {
    set_flag(state, LANG_CHOSEN, true);
}

/// Whether the PIN was verified in this session.
pub fn pin_verified(state: &SessionState) -> bool {
    flag(state, PIN_OK)
}

/// Whether the current PIN was given in this session to change it.
pub fn pin_change_authorised(state: &SessionState) -> bool {
    flag(state, PIN_CHANGE_OK)
}

pub fn pin_set(state: &mut SessionState) {
    set_flag(state, HAS_PIN, true);
    set_flag(state, PIN_OK, true);
    state.vars.remove(PIN_CHANGE_OK);
}

pub fn pin_verified_now(state: &mut SessionState) {
    set_flag(state, PIN_OK, true);
}

pub fn pin_change_authorised_now(state: &mut SessionState) {
    set_flag(state, PIN_OK, true);
    set_flag(state, PIN_CHANGE_OK, true);
}

pub fn set_pin_draft(state: &mut SessionState, hash: String) {
    state.vars.insert(PIN_DRAFT.into(), hash);
}

/// The keyed hash of the new PIN's first entry.
pub fn pin_draft(state: &SessionState) -> Option<&str> {
    state.vars.get(PIN_DRAFT).map(String::as_str)
}

pub fn take_pin_draft(state: &mut SessionState) -> Option<String> {
    state.vars.remove(PIN_DRAFT)
}

/// Forgets every proof given in a session: a resumed session, which a
/// different call continues, must give its PIN again.
pub fn forget_authorisations(state: &mut SessionState) {
    for name in [PIN_OK, PIN_CHANGE_OK, PIN_DRAFT] {
        state.vars.remove(name);
    }
}
