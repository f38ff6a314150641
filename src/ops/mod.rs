//! Operations: every action a member can take, one file each.
//!
//! An operation declares in one place its name, what it reads or writes in
//! PostgreSQL ([`Access`]), its typed input and output, its typed refusals
//! ([`Refusal`]) and, for the USSD menus, its registry entry and how it reads
//! and writes the session ([`MenuAction`]). The list at the bottom of this
//! file is the only list: the menu checker's registry and the dispatcher are
//! both generated from it, so they cannot drift.
//!
//! Rules every operation follows:
//!
//! - It runs in an [`OpContext`]: for [`Access::Write`], one transaction that
//!   also inserts the request's idempotency key (`idempotency_keys`), so the
//!   effect and the key commit together. A duplicate finds the key taken,
//!   rolls its own effect back and gets the first outcome ([`run`]).
//! - What must leave the process (an SMS, later an STK push or a stream
//!   event) is a row written in that transaction; no provider is called from
//!   inside an operation.
//! - It never sees the USSD wire format: the USSD layer and, later, the app
//!   API call the same [`Operation::run`].
//!
//! Imports run one way: `ussd` → `ops` → (`menu`, `user`, `ledger`, `chama`).

mod context;
mod effects;
pub mod vars;

mod authorise_pin_change;
mod choose_payer;
mod choose_purpose;
mod list_chamas;
mod load_balance;
mod load_contribution_due;
mod load_statement;
mod payment_notice;
mod route_after_language;
mod route_contribute;
mod route_start;
mod save_pin;
mod select_chama;
mod set_contribution_amount;
mod set_language;
mod set_payer;
mod start_contribution;
mod stash_pin;
mod verify_pin;

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::menu::{ActionOutcome, ActionSpec, Registry, SessionState};

pub use context::{IdempotencyKey, OpContext, RequestEnv};
pub use effects::{purge_before, purge_old_keys};

/// What an operation touches in PostgreSQL; decides the context it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: session logic only.
    None,
    /// Reads only, on the hop's connection, without a transaction.
    Read,
    /// Changes something: one transaction with the idempotency key.
    Write,
}

/// Why an operation refused: expected, typed, and nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the caller is not a member")]
    NotMember,
    #[error("no chama chosen")]
    NoChama,
    #[error("the PIN was not verified in this session")]
    PinRequired,
    #[error("a PIN change needs the current PIN first")]
    OldPinRequired,
    #[error("no PIN is set")]
    PinNotSet,
    #[error("the PIN is locked")]
    PinLocked {
        until: chrono::DateTime<chrono::Utc>,
    },
    #[error("the input is not valid here: {0}")]
    Invalid(&'static str),
}

/// An operation's failure: a typed refusal, or the database failing.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored outcome: {0}")]
    Outcome(#[from] serde_json::Error),
}

/// One thing a member can do, whatever the channel.
pub trait Operation {
    /// The name the menus and the idempotency keys use.
    const NAME: &'static str;
    /// What it touches in PostgreSQL.
    const ACCESS: Access;
    type Input: Send;
    /// Stored as JSON with the idempotency key, replayed to duplicates.
    type Output: Serialize + DeserializeOwned + Send;

    fn run(
        ctx: &mut OpContext<'_>,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, OpError>> + Send;

    /// A write whose outcome one plain read can sometimes settle, when that
    /// outcome changes nothing (a correct PIN on a clean account): `Some`
    /// answers from the read, before any transaction opens; `None` runs the
    /// write. What it answers must be what [`Operation::run`] would, and must
    /// not be [`Operation::changed`].
    fn read_first(
        _ctx: &mut OpContext<'_>,
        _input: &Self::Input,
    ) -> impl Future<Output = Result<Option<Self::Output>, OpError>> + Send {
        async { Ok(None) }
    }

    /// Whether a write's `output` means it changed something; only then is
    /// its idempotency key recorded. An outcome that changed nothing, or
    /// nothing a copy could change again (a correct PIN), commits no key and
    /// so costs no flushed commit.
    fn changed(_output: &Self::Output) -> bool {
        true
    }
}

/// How the USSD menus call an operation.
pub trait MenuAction: Operation {
    /// Sets or changes a PIN, or moves money: a resumed session never lands
    /// on a screen that runs it (see `ussd::resume`).
    const SENSITIVE: bool = false;

    /// The registry entry the menu checker sizes screens from.
    fn spec() -> ActionSpec;

    /// The input from the session and the typed input of the screen; an
    /// `Err` answers the hop without running the operation.
    fn input(
        env: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Self::Input, ActionOutcome>;

    /// Writes the output into the session and decides the next step.
    fn answer(
        env: &RequestEnv<'_>,
        state: &mut SessionState,
        output: Self::Output,
    ) -> ActionOutcome;

    /// The screen a refusal leads to.
    fn refused(refusal: Refusal) -> ActionOutcome {
        default_refusal(refusal)
    }
}

/// Where a refusal leads when the operation has no better idea.
pub fn default_refusal(refusal: Refusal) -> ActionOutcome {
    match refusal {
        Refusal::NotMember => ActionOutcome::Goto("not_member".into()),
        Refusal::NoChama => ActionOutcome::Goto("choose_chama".into()),
        Refusal::PinNotSet => ActionOutcome::Goto("set_pin".into()),
        Refusal::PinLocked { .. } => ActionOutcome::End("pin-locked".into()),
        Refusal::PinRequired | Refusal::OldPinRequired => ActionOutcome::Goto("main".into()),
        Refusal::Invalid(message) => ActionOutcome::Invalid(message.into()),
    }
}

/// Runs `O` for a USSD hop: reads its input from the session, runs it in the
/// context its [`Access`] asks for, and writes its answer back.
pub async fn run_menu_action<O: MenuAction>(
    env: &RequestEnv<'_>,
    state: &mut SessionState,
    typed: Option<&str>,
) -> anyhow::Result<ActionOutcome> {
    let input = match O::input(env, state, typed) {
        Ok(input) => input,
        Err(outcome) => return Ok(outcome),
    };
    match run::<O>(env, input).await {
        Ok(output) => Ok(O::answer(env, state, output)),
        // The lock message says how long: that needs the session.
        Err(OpError::Refused(Refusal::PinLocked { until })) => Ok(verify_pin::locked(state, until)),
        Err(OpError::Refused(refusal)) => Ok(O::refused(refusal)),
        Err(error) => Err(anyhow::Error::new(error).context(format!("operation {}", O::NAME))),
    }
}

/// Runs `O` once for this request. A write commits its effect together with
/// the idempotency key; a duplicate of a request that already committed gets
/// the stored outcome and changes nothing.
pub async fn run<O: Operation>(
    env: &RequestEnv<'_>,
    input: O::Input,
) -> Result<O::Output, OpError> {
    let result = run_once::<O>(env, input).await;
    // A refusal is an answer: its transaction, if any, was rolled back.
    if matches!(result, Ok(_) | Err(OpError::Refused(_))) {
        env.settle();
    }
    result
}

async fn run_once<O: Operation>(
    env: &RequestEnv<'_>,
    input: O::Input,
) -> Result<O::Output, OpError> {
    match O::ACCESS {
        Access::None => O::run(&mut OpContext::without_db(env), input).await,
        Access::Read => {
            let mut conn = env.db().await?;
            O::run(&mut OpContext::reading(env, &mut conn), input).await
        }
        Access::Write => {
            let key = env.key(O::NAME);
            let mut conn = env.db().await?;
            let settled = O::read_first(&mut OpContext::reading(env, &mut conn), &input).await?;
            if let Some(output) = settled.filter(|output| !O::changed(output)) {
                return Ok(output);
            }
            // No look-up first: the common request is not a copy, and a copy
            // that runs again is undone below. One round trip saved per write.
            let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
            let output = match O::run(&mut OpContext::writing(env, &mut tx, &key), input).await {
                Ok(output) => output,
                Err(OpError::Refused(refusal)) => {
                    tx.rollback().await?;
                    // A copy may be refused because the first changed things
                    // (a payment now pending): it still gets the first outcome.
                    return match effects::find(&mut conn, &key).await? {
                        Some(stored) => Ok(serde_json::from_value(stored)?),
                        None => Err(refusal.into()),
                    };
                }
                Err(error) => return Err(error),
            };
            if !O::changed(&output) {
                tx.commit().await?;
                return Ok(output);
            }
            let outcome = serde_json::to_value(&output)?;
            if effects::record(&mut tx, &key, O::NAME, &outcome).await? {
                tx.commit().await?;
                return Ok(output);
            }
            // A copy of this request committed first: ours is rolled back
            // and the first outcome stands.
            tx.rollback().await?;
            let stored = effects::find(&mut conn, &key).await?.ok_or_else(|| {
                sqlx::Error::Protocol("an idempotency key vanished after a conflict".into())
            })?;
            Ok(serde_json::from_value(stored)?)
        }
    }
}

/// Declares the operations the menus may name, once.
macro_rules! menu_actions {
    ($($op:ty),* $(,)?) => {
        /// The actions and conditions the menus in `menus/` may name.
        pub fn registry() -> Registry {
            Registry::new()
                $(.action(<$op as Operation>::NAME, <$op as MenuAction>::spec()))*
                .condition(vars::IS_OFFICER)
                .condition(vars::MULTI_CHAMA)
        }

        /// Runs the action the menus named.
        pub async fn dispatch(
            env: &RequestEnv<'_>,
            name: &str,
            state: &mut SessionState,
            typed: Option<&str>,
        ) -> anyhow::Result<ActionOutcome> {
            $(
                if name == <$op as Operation>::NAME {
                    return run_menu_action::<$op>(env, state, typed).await;
                }
            )*
            anyhow::bail!("the menus refer to an action that does not exist: {name}")
        }

        /// Whether the action sets or changes a PIN or moves money; an
        /// unknown name counts as sensitive.
        pub fn is_sensitive(name: &str) -> bool {
            $(
                if name == <$op as Operation>::NAME {
                    return <$op as MenuAction>::SENSITIVE;
                }
            )*
            true
        }
    };
}

menu_actions! {
    route_start::RouteStart,
    route_after_language::RouteAfterLanguage,
    set_language::SetLanguage,
    stash_pin::StashPin,
    save_pin::SavePin,
    verify_pin::VerifyPin,
    authorise_pin_change::AuthorisePinChange,
    load_balance::LoadBalance,
    load_statement::LoadStatement,
    list_chamas::ListChamas,
    select_chama::SelectChama,
    payment_notice::PaymentNotice,
    route_contribute::RouteContribute,
    load_contribution_due::LoadContributionDue,
    choose_purpose::ChoosePurpose,
    set_contribution_amount::SetContributionAmount,
    choose_payer::ChoosePayer,
    set_payer::SetPayer,
    start_contribution::StartContribution,
}
