//! `save_pin`: the confirmed new PIN. A first PIN needs only the caller's
//! phone; replacing a PIN needs the current one, given in this same session
//! (`authorise_pin_change`), so a resumed or hijacked session cannot.

use uuid::Uuid;

use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::user::pin::{self, Pin};

use super::route_start::{Next, Standing};
use super::stash_pin::draft_hash;
use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

pub struct SavePin;

pub struct Input {
    pub user: Uuid,
    pub pin: Pin,
    /// The user already has a PIN: this replaces it.
    pub change: bool,
    /// The current PIN was given in this session.
    pub change_authorised: bool,
    /// Where the member goes next.
    pub standing: Standing,
}

impl Operation for SavePin {
    const NAME: &'static str = "save_pin";
    const ACCESS: Access = Access::Write;
    type Input = Input;
    type Output = Next;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Next, OpError> {
        if input.change && !input.change_authorised {
            return Err(Refusal::OldPinRequired.into());
        }
        let secret = ctx.app.settings.pin_secret.clone();
        pin::set_pin(ctx.db()?, &secret, input.user, &input.pin).await?;
        Ok(Standing {
            has_pin: true,
            ..input.standing
        }
        .after_language())
    }
}

impl MenuAction for SavePin {
    const SENSITIVE: bool = true;

    fn spec() -> ActionSpec {
        ActionSpec::new()
            .message("pin-format")
            .message("pin-mismatch")
    }

    fn input(
        env: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let user = vars::user(state).ok_or_else(|| super::default_refusal(Refusal::NotMember))?;
        let draft = vars::pin_draft(state);
        let (Some(typed), Some(draft)) = (typed, draft) else {
            return Err(ActionOutcome::Goto("set_pin".into()));
        };
        let pin = Pin::parse(typed).ok_or_else(|| ActionOutcome::Invalid("pin-format".into()))?;
        if draft != draft_hash(env.app, user, typed) {
            return Err(ActionOutcome::Invalid("pin-mismatch".into()));
        }
        Ok(Input {
            user,
            pin,
            change: vars::has_pin(state),
            change_authorised: vars::pin_change_authorised(state),
            standing: Standing::of(state),
        })
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, next: Next) -> ActionOutcome {
        vars::take_pin_draft(state);
        vars::pin_set(state);
        next.goto()
    }

    fn refused(refusal: Refusal) -> ActionOutcome {
        match refusal {
            Refusal::OldPinRequired => ActionOutcome::Goto("change_pin_old".into()),
            other => super::default_refusal(other),
        }
    }
}
