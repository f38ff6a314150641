//! The gateway's side of the menu engine: the named actions and conditions
//! that the menu files refer to, backed by PostgreSQL.
//!
//! What the host remembers between hops lives in the session's variables,
//! under names starting with `_` (never shown on a screen): the user and
//! chama ids, the role, whether the caller belongs to several chamas, and when
//! the PIN was last verified in this session. A PIN itself is never stored:
//! while a new PIN is being confirmed, only a keyed hash of the first entry is.

use std::future::Future;
use std::pin::Pin as BoxPin;

use anyhow::Context;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use uuid::Uuid;

use crate::app::AppState;
use crate::chama::Role;
use crate::i18n::{Lang, format_kes};
use crate::ledger::{self, accounts};
use crate::menu::{ActionOutcome, Host, SessionState};
use crate::session::SessionId;
use crate::user::pin::{self, Pin, PinChange, PinCheck, SetPinError};
use crate::user::{self, Caller};

/// Session variables owned by the host.
pub mod vars {
    pub const USER: &str = "_user";
    pub const CHAMA: &str = "_chama";
    pub const ROLE: &str = "_role";
    pub const MULTI: &str = "_multi";
    pub const HAS_PIN: &str = "_has_pin";
    pub const PIN_OK: &str = "_pin_ok";
    pub const PIN_DRAFT: &str = "_pin_draft";
    pub const CHAMA_NAME: &str = "chama_name";
}

/// Statement lines shown on USSD.
const STATEMENT_LINES: i64 = 10;

/// One hop's host: the app, the session id, and the PostgreSQL connection
/// the hop's actions share.
pub struct HopHost<'a> {
    pub app: &'a AppState,
    pub session_id: &'a SessionId,
    /// Taken from the pool by the first action that needs one and kept for
    /// the rest of the hop: checking a PIN and reading the balance then cost
    /// one checkout, and sqlx's round trip to PostgreSQL on every return to
    /// the pool happens once. Drop the host before the session is saved,
    /// which may need a connection of its own.
    conn: Mutex<Option<PoolConnection<Postgres>>>,
}

type ActionFuture<'a> = BoxPin<Box<dyn Future<Output = anyhow::Result<ActionOutcome>> + Send + 'a>>;

/// Copies what the session needs to know about the caller into its variables.
pub fn remember_caller(state: &mut SessionState, caller: &Caller) {
    state.lang = caller.lang;
    state
        .vars
        .insert(vars::USER.into(), caller.user_id.to_string());
    state
        .vars
        .insert(vars::HAS_PIN.into(), flag(caller.has_pin));
    state
        .vars
        .insert(vars::MULTI.into(), flag(caller.memberships.len() > 1));
    if let [only] = caller.memberships.as_slice() {
        choose_membership(state, only.chama_id, &only.chama_name, only.role);
    }
}

fn flag(on: bool) -> String {
    if on { "1" } else { "0" }.to_owned()
}

fn choose_membership(state: &mut SessionState, chama: Uuid, name: &str, role: Role) {
    state.vars.insert(vars::CHAMA.into(), chama.to_string());
    state.vars.insert(vars::CHAMA_NAME.into(), name.to_owned());
    state
        .vars
        .insert(vars::ROLE.into(), role.as_str().to_owned());
}

fn uuid_var(state: &SessionState, name: &str) -> Option<Uuid> {
    state.vars.get(name).and_then(|v| v.parse().ok())
}

fn is_set(state: &SessionState, name: &str) -> bool {
    state.vars.get(name).is_some_and(|v| v == "1")
}

impl HopHost<'_> {
    pub fn new<'a>(app: &'a AppState, session_id: &'a SessionId) -> HopHost<'a> {
        HopHost {
            app,
            session_id,
            conn: Mutex::new(None),
        }
    }

    /// The hop's connection, checked out on first use. Actions run one after
    /// another, so the lock is never contended.
    async fn db(&self) -> Result<MappedMutexGuard<'_, PgConnection>, sqlx::Error> {
        let mut slot = self.conn.lock().await;
        if slot.is_none() {
            *slot = Some(self.app.db.acquire().await?);
        }
        Ok(MutexGuard::map(slot, |conn| {
            &mut **conn.as_mut().expect("the slot was filled above")
        }))
    }

    /// Keyed hash of a PIN draft, bound to this session so it is useless elsewhere.
    fn draft_hash(&self, pin: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.app.settings.pin_secret.expose_secret().as_bytes())
                .expect("HMAC accepts keys of any length");
        mac.update(self.session_id.as_str().as_bytes());
        mac.update(pin.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Where a member goes once language and PIN are settled.
    fn home_or_chama_choice(state: &SessionState) -> ActionOutcome {
        if !is_set(state, vars::HAS_PIN) {
            ActionOutcome::Goto("set_pin".into())
        } else if state.vars.contains_key(vars::CHAMA) {
            ActionOutcome::Goto("main".into())
        } else {
            ActionOutcome::Goto("choose_chama".into())
        }
    }

    async fn route_start(&self, state: &mut SessionState) -> anyhow::Result<ActionOutcome> {
        let Some(_) = uuid_var(state, vars::USER) else {
            return Ok(ActionOutcome::Goto("not_member".into()));
        };
        if !is_set(state, vars::HAS_PIN) {
            // First dial: the member picks a language before anything else.
            return Ok(ActionOutcome::Goto("choose_language".into()));
        }
        Ok(Self::home_or_chama_choice(state))
    }

    async fn set_language(
        &self,
        state: &mut SessionState,
        input: Option<&str>,
    ) -> anyhow::Result<ActionOutcome> {
        let lang = match input {
            Some("1") => Lang::En,
            Some("2") => Lang::Sw,
            _ => return Ok(ActionOutcome::Invalid("invalid-choice".into())),
        };
        state.lang = lang;
        if let Some(user) = uuid_var(state, vars::USER) {
            let mut conn = self.db().await?;
            user::set_language(&mut conn, user, lang).await?;
        }
        Ok(ActionOutcome::Continue)
    }

    async fn stash_pin(
        &self,
        state: &mut SessionState,
        input: Option<&str>,
    ) -> anyhow::Result<ActionOutcome> {
        let Some(typed) = input.filter(|i| Pin::parse(i).is_some()) else {
            return Ok(ActionOutcome::Invalid("pin-format".into()));
        };
        let hash = self.draft_hash(typed);
        state.vars.insert(vars::PIN_DRAFT.into(), hash);
        Ok(ActionOutcome::Continue)
    }

    async fn save_pin(
        &self,
        state: &mut SessionState,
        input: Option<&str>,
    ) -> anyhow::Result<ActionOutcome> {
        let draft = state.vars.remove(vars::PIN_DRAFT);
        let (Some(typed), Some(draft)) = (input, draft) else {
            return Ok(ActionOutcome::Goto("set_pin".into()));
        };
        let Some(pin) = Pin::parse(typed) else {
            return Ok(ActionOutcome::Invalid("pin-format".into()));
        };
        if draft != self.draft_hash(typed) {
            return Ok(ActionOutcome::Invalid("pin-mismatch".into()));
        }
        let user = uuid_var(state, vars::USER).context("a PIN is set only for a known user")?;
        let kind = if is_set(state, vars::HAS_PIN) {
            PinChange::Change
        } else {
            PinChange::First
        };
        let catalog = self.app.menus.for_generation(state.generation);
        // Repeated hops are caught by the session's answered-text
        // fingerprints before this runs; a fresh key keeps two PIN changes
        // of one session apart until hops carry their own idempotency key.
        let key = format!("{}:{}", self.session_id.as_str(), Uuid::new_v4());
        let mut conn = self.db().await?;
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        let set = pin::set_pin(
            &mut tx,
            &self.app.settings.pin_secret,
            catalog.locales(),
            user,
            &pin,
            kind,
            &key,
        )
        .await;
        match set {
            Ok(_) => tx.commit().await?,
            Err(SetPinError::Weak(weak)) => {
                return Ok(ActionOutcome::Invalid(weak.message_id().into()));
            }
            Err(other) => return Err(other.into()),
        }
        state.vars.insert(vars::HAS_PIN.into(), flag(true));
        state.vars.insert(vars::PIN_OK.into(), flag(true));
        Ok(Self::home_or_chama_choice(state))
    }

    async fn verify_pin(
        &self,
        state: &mut SessionState,
        input: Option<&str>,
    ) -> anyhow::Result<ActionOutcome> {
        let Some(pin) = input.and_then(Pin::parse) else {
            return Ok(ActionOutcome::Invalid("pin-format".into()));
        };
        let user = uuid_var(state, vars::USER).context("a PIN is checked only for a known user")?;
        let catalog = self.app.menus.for_generation(state.generation);
        let mut conn = self.db().await?;
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        let check = pin::check(
            &mut tx,
            &self.app.settings.pin_secret,
            catalog.locales(),
            user,
            &pin,
        )
        .await?;
        tx.commit().await?;
        Ok(match check {
            PinCheck::Correct => {
                state.vars.insert(vars::PIN_OK.into(), flag(true));
                ActionOutcome::Continue
            }
            PinCheck::Wrong { remaining } => {
                state
                    .vars
                    .insert("attempts_left".into(), remaining.to_string());
                ActionOutcome::Invalid("pin-wrong".into())
            }
            PinCheck::Locked { .. } | PinCheck::LockedNow { .. } => {
                ActionOutcome::End("pin-locked".into())
            }
            PinCheck::NotSet => ActionOutcome::Goto("set_pin".into()),
        })
    }

    async fn load_balance(&self, state: &mut SessionState) -> anyhow::Result<ActionOutcome> {
        // Defence in depth: the balance screen sits behind a PIN screen, but
        // a resumed or replayed session must not reach it without one.
        if !is_set(state, vars::PIN_OK) {
            return Ok(ActionOutcome::Goto("balance_pin".into()));
        }
        let (Some(chama), Some(user)) = (uuid_var(state, vars::CHAMA), uuid_var(state, vars::USER))
        else {
            return Ok(ActionOutcome::Goto("choose_chama".into()));
        };
        let mut conn = self.db().await?;
        let balance = ledger::member_balance(&mut conn, chama, user).await?;
        for (name, value) in [
            ("savings", balance.savings),
            ("shares", balance.shares),
            ("loan", balance.loan),
            ("fines", balance.fines_paid),
            ("chama_total", balance.chama_total),
        ] {
            state.vars.insert(name.into(), format_kes(value));
        }
        Ok(ActionOutcome::Continue)
    }

    async fn load_statement(&self, state: &mut SessionState) -> anyhow::Result<ActionOutcome> {
        let (Some(chama), Some(user)) = (uuid_var(state, vars::CHAMA), uuid_var(state, vars::USER))
        else {
            return Ok(ActionOutcome::Goto("choose_chama".into()));
        };
        let mut conn = self.db().await?;
        let lines = ledger::member_statement(&mut conn, chama, user, STATEMENT_LINES).await?;
        let catalog = self.app.menus.for_generation(state.generation);
        let items = lines
            .iter()
            .map(|l| {
                let sign = if l.amount >= 0 { "+" } else { "" };
                let amount = format_kes(l.amount).trim_start_matches("KES ").to_owned();
                let vars = [
                    ("date", l.occurred_at.format("%d/%m").to_string()),
                    ("kind", statement_kind(l.account_code).to_owned()),
                    ("amount", format!("{sign}{amount}")),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                catalog
                    .locales()
                    .format(state.lang, "statement-line", &vars)
            })
            .collect();
        Ok(ActionOutcome::Items(items))
    }

    async fn list_chamas(&self, state: &mut SessionState) -> anyhow::Result<ActionOutcome> {
        let Some(user) = uuid_var(state, vars::USER) else {
            return Ok(ActionOutcome::Goto("not_member".into()));
        };
        let mut conn = self.db().await?;
        let chamas = user::memberships(&mut conn, user).await?;
        Ok(ActionOutcome::Items(
            chamas.into_iter().map(|m| m.chama_name).collect(),
        ))
    }

    async fn select_chama(
        &self,
        state: &mut SessionState,
        input: Option<&str>,
    ) -> anyhow::Result<ActionOutcome> {
        let Some(user) = uuid_var(state, vars::USER) else {
            return Ok(ActionOutcome::Goto("not_member".into()));
        };
        let mut conn = self.db().await?;
        let chamas = user::memberships(&mut conn, user).await?;
        let chosen = input
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| chamas.get(i));
        let Some(chosen) = chosen else {
            return Ok(ActionOutcome::Invalid("invalid-choice".into()));
        };
        choose_membership(state, chosen.chama_id, &chosen.chama_name, chosen.role);
        Ok(ActionOutcome::Continue)
    }
}

/// The `kind` a statement line's account has in the `statement-line` message.
fn statement_kind(account_code: i32) -> &'static str {
    match account_code {
        accounts::SAVINGS => "savings",
        accounts::SHARES => "shares",
        accounts::LOANS => "loan",
        accounts::FINES => "fine",
        _ => "other",
    }
}

impl Host for HopHost<'_> {
    fn action<'a>(
        &'a self,
        name: &'a str,
        state: &'a mut SessionState,
        input: Option<&'a str>,
    ) -> ActionFuture<'a> {
        Box::pin(async move {
            match name {
                "route_start" => self.route_start(state).await,
                "route_after_language" => Ok(Self::home_or_chama_choice(state)),
                "set_language" => self.set_language(state, input).await,
                "stash_pin" => self.stash_pin(state, input).await,
                "save_pin" => self.save_pin(state, input).await,
                "verify_pin" => self.verify_pin(state, input).await,
                "load_balance" => self.load_balance(state).await,
                "load_statement" => self.load_statement(state).await,
                "list_chamas" => self.list_chamas(state).await,
                "select_chama" => self.select_chama(state, input).await,
                other => {
                    anyhow::bail!("the menus refer to an action the host does not have: {other}")
                }
            }
        })
    }

    fn condition(&self, name: &str, state: &SessionState) -> bool {
        match name {
            "is_officer" => state
                .vars
                .get(vars::ROLE)
                .and_then(|r| Role::from_db(r))
                .is_some_and(Role::is_officer),
            "multi_chama" => is_set(state, vars::MULTI),
            _ => false,
        }
    }
}
