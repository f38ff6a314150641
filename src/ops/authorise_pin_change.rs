//! `authorise_pin_change`: the current PIN, asked before a new one. Only
//! this proof, given in the same session, lets `save_pin` replace a PIN.

use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::verify_pin::{self, Input, Verdict};
use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv, vars};

pub struct AuthorisePinChange;

impl Operation for AuthorisePinChange {
    const NAME: &'static str = "authorise_pin_change";
    const ACCESS: Access = Access::Write;
    type Input = Input;
    type Output = Verdict;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Verdict, OpError> {
        verify_pin::judge(ctx, input).await
    }

    async fn read_first(
        ctx: &mut OpContext<'_>,
        input: &Input,
    ) -> Result<Option<Verdict>, OpError> {
        verify_pin::peek(ctx, input).await
    }

    fn changed(verdict: &Verdict) -> bool {
        verdict.counted()
    }
}

impl MenuAction for AuthorisePinChange {
    const SENSITIVE: bool = true;

    fn spec() -> ActionSpec {
        verify_pin::pin_spec()
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        verify_pin::read_input(state, typed)
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, verdict: Verdict) -> ActionOutcome {
        verify_pin::show(state, verdict, vars::pin_change_authorised_now)
    }
}
