//! `route_after_language`: after the language and after a new PIN, what the
//! member still needs (a PIN, a chama) before the main menu.

use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::route_start::{Next, Standing};
use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv};

pub struct RouteAfterLanguage;

impl Operation for RouteAfterLanguage {
    const NAME: &'static str = "route_after_language";
    const ACCESS: Access = Access::None;
    type Input = Standing;
    type Output = Next;

    async fn run(_: &mut OpContext<'_>, standing: Standing) -> Result<Next, OpError> {
        Ok(standing.after_language())
    }
}

impl MenuAction for RouteAfterLanguage {
    fn spec() -> ActionSpec {
        ActionSpec::new()
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        _: Option<&str>,
    ) -> Result<Standing, ActionOutcome> {
        Ok(Standing::of(state))
    }

    fn answer(_: &RequestEnv<'_>, _: &mut SessionState, next: Next) -> ActionOutcome {
        next.goto()
    }
}
