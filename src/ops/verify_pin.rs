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
    let check = pin::check(
        ctx.db()?,
        &app.settings.pin_secret,
        &app.sms_texts,
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
        Verdict::LockedNow { until } | Verdict::Locked { until } => locked(state, until),
        Verdict::NotSet => ActionOutcome::Goto("set_pin".into()),
    }
}

/// Ends the session on `pin-locked`, which says how long the lock lasts.
pub fn locked(state: &mut SessionState, until: DateTime<Utc>) -> ActionOutcome {
    let (wait, unit) = lock_wait(until - Utc::now());
    state.vars.insert(LOCK_WAIT.into(), wait.to_string());
    state.vars.insert(LOCK_UNIT.into(), unit.into());
    ActionOutcome::End("pin-locked".into())
}

/// Variables of `pin-locked`: a number and its unit.
const LOCK_WAIT: &str = "lock_wait";
const LOCK_UNIT: &str = "lock_unit";

/// What is left of a lock, rounded up so the member never dials back too
/// early: minutes below an hour, hours above (locks last 5 minutes to a
/// day). The unit is a Fluent selector key: `minute`, `minutes`, `hour`,
/// `hours`.
fn lock_wait(left: chrono::TimeDelta) -> (i64, &'static str) {
    let seconds = left.num_seconds().max(1);
    let minutes = (seconds + 59) / 60;
    if minutes <= 60 {
        (minutes, if minutes == 1 { "minute" } else { "minutes" })
    } else {
        let hours = (minutes + 59) / 60;
        (hours, if hours == 1 { "hour" } else { "hours" })
    }
}

/// The variables `pin-locked` reads, for the registry entries of the
/// actions that may end on it.
pub fn with_lock_message(spec: ActionSpec) -> ActionSpec {
    // A lock lasts at most a day: "24", "minutes".
    spec.output(LOCK_WAIT, 2)
        .output(LOCK_UNIT, 7)
        .message("pin-locked")
}

/// The registry entry of a PIN-checking screen.
pub fn pin_spec() -> ActionSpec {
    with_lock_message(ActionSpec::new())
        .output("attempts_left", 1)
        .message("pin-format")
        .message("pin-wrong")
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

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::lock_wait;

    #[test]
    fn the_lock_wait_is_rounded_up_in_minutes_then_hours() {
        let cases = [
            (TimeDelta::seconds(0), (1, "minute")),
            (TimeDelta::seconds(59), (1, "minute")),
            (TimeDelta::seconds(61), (2, "minutes")),
            (TimeDelta::minutes(5), (5, "minutes")),
            (TimeDelta::minutes(60), (60, "minutes")),
            (TimeDelta::minutes(61), (2, "hours")),
            (TimeDelta::hours(24), (24, "hours")),
        ];
        for (left, expected) in cases {
            assert_eq!(lock_wait(left), expected, "{left}");
        }
    }
}
