//! `choose_payer`: the member's own phone pays, or another one (typed on the
//! next screen, `set_payer`).

use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv, vars};

pub struct ChoosePayer;

impl Operation for ChoosePayer {
    const NAME: &'static str = "choose_payer";
    const ACCESS: Access = Access::None;
    /// The member's own phone pays.
    type Input = bool;
    type Output = bool;

    async fn run(_: &mut OpContext<'_>, own: bool) -> Result<bool, OpError> {
        Ok(own)
    }
}

impl MenuAction for ChoosePayer {
    fn spec() -> ActionSpec {
        ActionSpec::new().output(vars::PAYER, 10)
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<bool, ActionOutcome> {
        if vars::payment_amount(state).is_none() {
            return Err(ActionOutcome::Goto("contribute_for".into()));
        }
        Ok(typed == Some("1"))
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, own: bool) -> ActionOutcome {
        if own {
            vars::pay_from_own_phone(state);
        }
        ActionOutcome::Continue
    }
}
