//! `save_pin`: the confirmed new PIN. A first PIN needs only the caller's
//! phone; replacing a PIN needs the current one, given in this same session
//! (`authorise_pin_change`), so a resumed or hijacked session cannot.

use uuid::Uuid;

use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::user::pin::{self, Pin, PinChange, SetPinError, Weakness};

use super::route_start::{Next, Standing};
use super::stash_pin::draft_hash;
use super::verify_pin;
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
        let kind = if input.change {
            // The proof is the current PIN, judged earlier in this session
            // (`authorise_pin_change`); a resume forgets it.
            if !input.change_authorised {
                return Err(Refusal::OldPinRequired.into());
            }
            PinChange::Change
        } else {
            PinChange::First
        };
        let app = ctx.app;
        let key = ctx.key()?.as_str().to_owned();
        let set = pin::set_pin(
            ctx.db()?,
            &app.settings.pin_secret,
            &app.sms_texts,
            input.user,
            &input.pin,
            kind,
            &key,
        )
        .await;
        match set {
            Ok(_) => Ok(Standing {
                has_pin: true,
                ..input.standing
            }
            .after_language()),
            Err(SetPinError::Weak(weakness)) => Err(Refusal::Invalid(weakness.message_id()).into()),
            Err(SetPinError::AlreadySet) => Err(Refusal::OldPinRequired.into()),
            Err(SetPinError::NotSet) => Err(Refusal::PinNotSet.into()),
            Err(SetPinError::Locked(until)) => Err(Refusal::PinLocked { until }.into()),
            Err(SetPinError::Database(error)) => Err(error.into()),
        }
    }
}

/// Where the new PIN's first entry is typed: a change asks for the *new*
/// PIN, a first PIN is set on the onboarding screen.
fn first_entry_screen(state: &SessionState) -> &'static str {
    if vars::has_pin(state) {
        "change_pin_new"
    } else {
        "set_pin"
    }
}

impl MenuAction for SavePin {
    const SENSITIVE: bool = true;

    fn spec() -> ActionSpec {
        Weakness::ALL.into_iter().fold(
            verify_pin::with_lock_message(ActionSpec::new())
                .message("pin-format")
                .message("pin-mismatch"),
            |spec, weakness| spec.message(weakness.message_id()),
        )
    }

    fn input(
        env: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let user = vars::user(state).ok_or_else(|| super::default_refusal(Refusal::NotMember))?;
        let draft = vars::pin_draft(state);
        let (Some(typed), Some(draft)) = (typed, draft) else {
            return Err(ActionOutcome::Goto(first_entry_screen(state).into()));
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
