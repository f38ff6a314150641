//! `verify_pin`: the member proves it is them before a balance or a
//! statement. A wrong PIN counts an attempt; the third locks the PIN.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::user::pin::{self, Pin, PinCheck};

use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

pub struct Input {
    pub user: Uuid,
    pub pin: Pin,
}

/// The judgement of one PIN entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Correct,
    Wrong {
        remaining: i32,
    },
    /// This wrong entry locked the PIN.
    LockedNow {
        until: DateTime<Utc>,
    },
    /// Refused without being judged: the PIN was locked already.
    Locked {
        until: DateTime<Utc>,
    },
    NotSet,
}

impl Verdict {
    /// Whether judging counted something (an attempt, a lock).
    pub fn counted(&self) -> bool {
        matches!(self, Verdict::Wrong { .. } | Verdict::LockedNow { .. })
    }
}

/// Judges a PIN entry from one read when that writes nothing (a correct PIN
/// on a clean account, a lock, no PIN): see `pin::peek`. `None`: [`judge`]
/// must, in a transaction.
pub async fn peek(ctx: &mut OpContext<'_>, input: &Input) -> Result<Option<Verdict>, OpError> {
    let app = ctx.app;
    let check = pin::peek(ctx.db()?, &app.settings.pin_secret, input.user, &input.pin).await?;
    Ok(check.map(Verdict::from))
}

/// Judges a PIN entry in the operation's transaction, which commits
/// whatever the verdict: a wrong attempt rolled back would not count.
pub async fn judge(ctx: &mut OpContext<'_>, input: Input) -> Result<Verdict, OpError> {
    let app = ctx.app;
    let texts = app.menus.current();
    let check = pin::check(
        ctx.db()?,
        &app.settings.pin_secret,
        texts.locales(),
        input.user,
        &input.pin,
    )
    .await?;
    Ok(Verdict::from(check))
}

impl From<PinCheck> for Verdict {
    fn from(check: PinCheck) -> Verdict {
        match check {
            PinCheck::Correct => Verdict::Correct,
            PinCheck::Wrong { remaining } => Verdict::Wrong { remaining },
            PinCheck::LockedNow { until } => Verdict::LockedNow { until },
            PinCheck::Locked { until } => Verdict::Locked { until },
            PinCheck::NotSet => Verdict::NotSet,
        }
    }
}

/// The PIN typed on a screen, for a known user.
pub fn read_input(state: &SessionState, typed: Option<&str>) -> Result<Input, ActionOutcome> {
    let pin = typed
        .and_then(Pin::parse)
        .ok_or_else(|| ActionOutcome::Invalid("pin-format".into()))?;
    let user = vars::user(state).ok_or_else(|| super::default_refusal(Refusal::NotMember))?;
    Ok(Input { user, pin })
}

/// What a verdict shows; `on_correct` records the proof in the session.
pub fn show(
    state: &mut SessionState,
    verdict: Verdict,
    on_correct: fn(&mut SessionState),
) -> ActionOutcome {
    match verdict {
        Verdict::Correct => {
            on_correct(state);
            ActionOutcome::Continue
        }
        Verdict::Wrong { remaining } => {
            state
                .vars
                .insert("attempts_left".into(), remaining.to_string());
            ActionOutcome::Invalid("pin-wrong".into())
        }
        Verdict::LockedNow { .. } | Verdict::Locked { .. } => {
            ActionOutcome::End("pin-locked".into())
        }
        Verdict::NotSet => ActionOutcome::Goto("set_pin".into()),
    }
}

/// The registry entry of a PIN-checking screen.
pub fn pin_spec() -> ActionSpec {
    ActionSpec::new()
        .output("attempts_left", 1)
        .message("pin-format")
        .message("pin-wrong")
        .message("pin-locked")
}

pub struct VerifyPin;

impl Operation for VerifyPin {
    const NAME: &'static str = "verify_pin";
    const ACCESS: Access = Access::Write;
    type Input = Input;
    type Output = Verdict;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Verdict, OpError> {
        judge(ctx, input).await
    }

    async fn read_first(
        ctx: &mut OpContext<'_>,
        input: &Input,
    ) -> Result<Option<Verdict>, OpError> {
        peek(ctx, input).await
    }

    fn changed(verdict: &Verdict) -> bool {
        verdict.counted()
    }
}

impl MenuAction for VerifyPin {
    fn spec() -> ActionSpec {
        pin_spec()
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        read_input(state, typed)
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, verdict: Verdict) -> ActionOutcome {
        show(state, verdict, vars::pin_verified_now)
    }
}
