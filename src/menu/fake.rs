//! A fake host: one member (or stranger) held in memory, whose actions
//! answer without a database. The menu tests walk the real menus with it,
//! and `benches/hop.rs` times the engine with it; that is why it is public
//! (hidden from the docs) rather than test-only. Nothing in the gateway uses it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use anyhow::anyhow;

use crate::i18n::{Lang, format_kes};
use crate::menu::{ActionOutcome, Host, HostFuture, SessionState};

/// What the fake knows about the caller.
pub struct FakeHost {
    pub(crate) member: bool,
    pub(crate) officer: bool,
    pub(crate) chamas: Vec<String>,
    pub(crate) statement_lines: usize,
    /// An action that fails with an error.
    pub(crate) failing: Option<&'static str>,
    pub(crate) lang_chosen: Mutex<bool>,
    pub(crate) pin_hash: Mutex<Option<u64>>,
    pub(crate) wrong_pins: Mutex<u8>,
}

impl FakeHost {
    /// A member of one chama who has chosen no language and set no PIN.
    pub(crate) fn new() -> FakeHost {
        FakeHost {
            member: true,
            officer: false,
            chamas: vec!["Umoja Women".into()],
            statement_lines: 3,
            failing: None,
            lang_chosen: Mutex::new(false),
            pin_hash: Mutex::new(None),
            wrong_pins: Mutex::new(0),
        }
    }

    /// A member who has chosen a language and set `pin`.
    pub fn registered(pin: &str) -> FakeHost {
        let host = FakeHost::new();
        *host.lang_chosen.lock().unwrap() = true;
        *host.pin_hash.lock().unwrap() = Some(keyed_hash(pin));
        host
    }

    fn next_setup_screen(&self, state: &SessionState) -> &'static str {
        if self.pin_hash.lock().unwrap().is_none() {
            "set_pin"
        } else if self.chamas.len() > 1 && !state.vars.contains_key("chama_id") {
            "choose_chama"
        } else {
            "main"
        }
    }

    fn run(
        &self,
        name: &str,
        state: &mut SessionState,
        input: Option<&str>,
    ) -> anyhow::Result<ActionOutcome> {
        if self.failing == Some(name) {
            return Err(anyhow!("database is down"));
        }
        let input = input.unwrap_or_default();
        let goto = |s: &str| ActionOutcome::Goto(s.to_owned());
        Ok(match name {
            "route_start" if !self.member => goto("not_member"),
            "route_start" if !*self.lang_chosen.lock().unwrap() => goto("choose_language"),
            "route_start" | "route_after_language" => goto(self.next_setup_screen(state)),
            "set_language" => {
                state.lang = if input == "2" { Lang::Sw } else { Lang::En };
                *self.lang_chosen.lock().unwrap() = true;
                ActionOutcome::Continue
            }
            "stash_pin" => {
                state
                    .vars
                    .insert("pin_draft".into(), format!("{:x}", keyed_hash(input)));
                ActionOutcome::Continue
            }
            "save_pin" => {
                let draft = state.vars.remove("pin_draft");
                if draft != Some(format!("{:x}", keyed_hash(input))) {
                    return Ok(ActionOutcome::Invalid("pin-mismatch".into()));
                }
                *self.pin_hash.lock().unwrap() = Some(keyed_hash(input));
                ActionOutcome::Continue
            }
            "verify_pin" | "authorise_pin_change" => {
                if *self.pin_hash.lock().unwrap() == Some(keyed_hash(input)) {
                    *self.wrong_pins.lock().unwrap() = 0;
                    return Ok(ActionOutcome::Continue);
                }
                let mut wrong = self.wrong_pins.lock().unwrap();
                *wrong += 1;
                state
                    .vars
                    .insert("attempts_left".into(), (3 - (*wrong).min(3)).to_string());
                if *wrong >= 3 {
                    state.vars.insert("lock_wait".into(), "5".into());
                    state.vars.insert("lock_unit".into(), "minutes".into());
                    ActionOutcome::End("pin-locked".into())
                } else {
                    ActionOutcome::Invalid("pin-wrong".into())
                }
            }
            "list_chamas" => ActionOutcome::Items(self.chamas.clone()),
            "select_chama" => {
                let n: usize = input.parse()?;
                let name = self
                    .chamas
                    .get(n - 1)
                    .ok_or_else(|| anyhow!("no chama {n}"))?;
                state.vars.insert("chama_id".into(), n.to_string());
                state.vars.insert("chama_name".into(), name.clone());
                ActionOutcome::Continue
            }
            "load_balance" => {
                let chama = state
                    .vars
                    .get("chama_name")
                    .cloned()
                    .unwrap_or_else(|| self.chamas[0].clone());
                for (var, amount) in [
                    ("savings", 12_400),
                    ("shares", 3_000),
                    ("loan", 8_000),
                    ("fines", 200),
                    ("chama_total", 1_250_000),
                ] {
                    state.vars.insert(var.into(), format_kes(amount));
                }
                state.vars.insert("chama_name".into(), chama);
                ActionOutcome::Continue
            }
            // No payment under way in these sessions.
            "payment_notice" => {
                state.vars.insert("payment".into(), "none".into());
                state.vars.insert("payment_amount".into(), String::new());
                ActionOutcome::Continue
            }
            "load_statement" => ActionOutcome::Items(
                (1..=self.statement_lines)
                    .map(|i| format!("{i:02}/11 Saved 1,000"))
                    .collect(),
            ),
            other => return Err(anyhow!("unknown action {other}")),
        })
    }
}

/// Stands in for the host's keyed PIN hash.
fn keyed_hash(pin: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    ("server-secret", pin).hash(&mut hasher);
    hasher.finish()
}

impl Host for FakeHost {
    fn action<'a>(
        &'a self,
        name: &'a str,
        state: &'a mut SessionState,
        input: Option<&'a str>,
    ) -> HostFuture<'a> {
        Box::pin(async move { self.run(name, state, input) })
    }

    fn condition(&self, name: &str, _state: &SessionState) -> bool {
        match name {
            "is_officer" => self.officer,
            "multi_chama" => self.chamas.len() > 1,
            _ => false,
        }
    }
}
