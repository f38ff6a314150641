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
    remember_notice(state, caller.payment.as_ref());
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

/// A contribution being put together: what for, how much, from which phone.
const PAY_FOR: &str = "_pay_for";
const PAY_AMOUNT: &str = "_pay_amount";
const PAY_PHONE: &str = "_pay_phone";
/// What the member still owes for this period, whole shillings.
const PAY_DUE: &str = "_pay_due";
/// The member's last payment, for the main menu's notice.
const NOTICE: &str = "_notice";
const NOTICE_ID: &str = "_notice_id";
const NOTICE_AMOUNT: &str = "_notice_amount";

/// Shown on the contribution screens: what for (a selector), how much, from
/// which phone (`own`, or the other phone masked).
pub const PURPOSE: &str = "purpose";
pub const AMOUNT: &str = "amount";
pub const PAYER: &str = "payer";
pub const DUE: &str = "due";
/// Shown on the main menu: `none`, `pending`, `succeeded`, `failed` or
/// `unknown`, and the amount of that payment.
pub const PAYMENT: &str = "payment";
pub const PAYMENT_AMOUNT: &str = "payment_amount";

fn whole(state: &SessionState, name: &str) -> Option<i64> {
    state.vars.get(name).and_then(|v| v.parse().ok())
}

pub fn set_due(state: &mut SessionState, due: Option<i64>) {
    match due {
        Some(due) => state.vars.insert(PAY_DUE.into(), due.to_string()),
        None => state.vars.remove(PAY_DUE),
    };
}

/// What the member owes for this period, if the chama collects.
pub fn due(state: &SessionState) -> Option<i64> {
    whole(state, PAY_DUE)
}

/// Starts a new contribution draft for `purpose` (a selector key, also
/// shown), forgetting any amount and other phone of an earlier one.
pub fn start_payment(state: &mut SessionState, purpose: &str) {
    state.vars.insert(PAY_FOR.into(), purpose.to_owned());
    state.vars.insert(PURPOSE.into(), purpose.to_owned());
    state.vars.remove(PAY_AMOUNT);
    pay_from_own_phone(state);
}

pub fn payment_for(state: &SessionState) -> Option<&str> {
    state.vars.get(PAY_FOR).map(String::as_str)
}

pub fn set_payment_amount(state: &mut SessionState, amount: i64, shown: String) {
    state.vars.insert(PAY_AMOUNT.into(), amount.to_string());
    state.vars.insert(AMOUNT.into(), shown);
}

pub fn payment_amount(state: &SessionState) -> Option<i64> {
    whole(state, PAY_AMOUNT)
}

pub fn pay_from_own_phone(state: &mut SessionState) {
    state.vars.remove(PAY_PHONE);
    state.vars.insert(PAYER.into(), "own".into());
}

/// Another phone pays (E.164), shown masked.
pub fn pay_from(state: &mut SessionState, e164: &str, shown: String) {
    state.vars.insert(PAY_PHONE.into(), e164.to_owned());
    state.vars.insert(PAYER.into(), shown);
}

/// The other phone that pays, in E.164; `None`: the member's own.
pub fn payer(state: &SessionState) -> Option<&str> {
    state.vars.get(PAY_PHONE).map(String::as_str)
}

/// Forgets the draft once its intent is recorded.
pub fn forget_payment(state: &mut SessionState) {
    for name in [PAY_FOR, PAY_AMOUNT, PAY_PHONE] {
        state.vars.remove(name);
    }
}

/// The member's last payment as the caller's look-up found it.
pub fn remember_notice(state: &mut SessionState, notice: Option<&crate::user::PaymentNotice>) {
    match notice {
        Some(notice) => {
            state
                .vars
                .insert(NOTICE.into(), notice.state.as_str().into());
            state.vars.insert(NOTICE_ID.into(), notice.id.to_string());
            state
                .vars
                .insert(NOTICE_AMOUNT.into(), crate::i18n::format_kes(notice.amount));
        }
        None => {
            for name in [NOTICE, NOTICE_ID, NOTICE_AMOUNT] {
                state.vars.remove(name);
            }
        }
    }
}

/// The payment notice still to show: its state, request id and amount.
pub fn notice(state: &SessionState) -> Option<(&str, Uuid, &str)> {
    Some((
        state.vars.get(NOTICE)?.as_str(),
        uuid(state, NOTICE_ID)?,
        state.vars.get(NOTICE_AMOUNT)?.as_str(),
    ))
}

/// Shows `payment` on the main menu; an outcome is shown once, so it is
/// forgotten as soon as it is shown.
pub fn show_notice(state: &mut SessionState, payment: &str, amount: &str) {
    state.vars.insert(PAYMENT.into(), payment.to_owned());
    state.vars.insert(PAYMENT_AMOUNT.into(), amount.to_owned());
    if payment != "pending" {
        remember_notice(state, None);
    }
}
