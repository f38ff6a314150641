//! `start_contribution`: the PIN confirms the payment, and the intent is
//! recorded in the same transaction as the hop's idempotency key. The M-Pesa
//! prompt is sent by the push worker after the answer went out: nothing
//! here calls Daraja, and a copy of the hop records nothing more.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::mpesa::{Intent, record_intent};
use crate::phone::Msisdn;
use crate::user::pin::Pin;

use super::choose_purpose::Purpose;
use super::verify_pin::{self, Verdict};
use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

pub struct StartContribution;

pub struct Input {
    pub user: Uuid,
    pub chama: Uuid,
    pub pin: Pin,
    pub purpose: Purpose,
    pub amount: i64,
    /// Another phone that pays; `None`: the member's own.
    pub payer: Option<Msisdn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Started {
    /// The intent is recorded; the prompt follows.
    Recorded,
    /// The PIN was not correct: nothing was recorded.
    Pin(Verdict),
}

impl Operation for StartContribution {
    const NAME: &'static str = "start_contribution";
    const ACCESS: Access = Access::Write;
    type Input = Input;
    type Output = Started;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Started, OpError> {
        let pin = verify_pin::Input {
            user: input.user,
            pin: input.pin,
        };
        let verdict = verify_pin::judge(ctx, pin).await?;
        if verdict != Verdict::Correct {
            return Ok(Started::Pin(verdict));
        }
        let key = ctx.key()?.as_str().to_owned();
        let intent = Intent {
            chama_id: input.chama,
            user_id: input.user,
            purpose: input.purpose.db_purpose(),
            amount: input.amount,
            payer: input.payer.as_ref(),
            idempotency_key: &key,
        };
        match record_intent(ctx.db()?, intent).await? {
            Some(_) => Ok(Started::Recorded),
            // A copy recorded it (its outcome is answered) or the member
            // has left the chama.
            None => Err(Refusal::NotMember.into()),
        }
    }

    fn changed(started: &Started) -> bool {
        match started {
            Started::Recorded => true,
            Started::Pin(verdict) => verdict.counted(),
        }
    }
}

impl MenuAction for StartContribution {
    const SENSITIVE: bool = true;

    fn spec() -> ActionSpec {
        verify_pin::pin_spec()
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let verify_pin::Input { user, pin } = verify_pin::read_input(state, typed)?;
        let chama = vars::chama(state).ok_or_else(|| Self::refused(Refusal::NoChama))?;
        let draft = vars::payment_for(state)
            .and_then(Purpose::parse)
            .zip(vars::payment_amount(state));
        let Some((purpose, amount)) = draft else {
            return Err(ActionOutcome::Goto("contribute_for".into()));
        };
        let payer = match vars::payer(state) {
            Some(phone) => Some(
                Msisdn::parse(phone).map_err(|_| ActionOutcome::Goto("contribute_payer".into()))?,
            ),
            None => None,
        };
        Ok(Input {
            user,
            chama,
            pin,
            purpose,
            amount,
            payer,
        })
    }

    fn answer(env: &RequestEnv<'_>, state: &mut SessionState, started: Started) -> ActionOutcome {
        match started {
            Started::Recorded => {
                vars::forget_payment(state);
                // Committed: the worker may push it now.
                env.app.stk_wake.notify_one();
                ActionOutcome::Continue
            }
            Started::Pin(verdict) => verify_pin::show(state, verdict, vars::pin_verified_now),
        }
    }
}
