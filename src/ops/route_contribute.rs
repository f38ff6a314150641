//! `route_contribute`: a member of several chamas first says which chama the
//! money is for; everyone else goes straight to what it is for.

use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv, vars};

pub struct RouteContribute;

impl Operation for RouteContribute {
    const NAME: &'static str = "route_contribute";
    const ACCESS: Access = Access::None;
    /// The caller belongs to several chamas.
    type Input = bool;
    type Output = String;

    async fn run(_: &mut OpContext<'_>, several: bool) -> Result<String, OpError> {
        let screen = if several {
            "contribute_chama"
        } else {
            "contribute_for"
        };
        Ok(screen.into())
    }
}

impl MenuAction for RouteContribute {
    fn spec() -> ActionSpec {
        ActionSpec::new()
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        _: Option<&str>,
    ) -> Result<bool, ActionOutcome> {
        Ok(vars::condition(state, vars::MULTI_CHAMA))
    }

    fn answer(_: &RequestEnv<'_>, _: &mut SessionState, screen: String) -> ActionOutcome {
        ActionOutcome::Goto(screen)
    }
}
