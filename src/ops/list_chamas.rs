//! `list_chamas`: the chamas the caller belongs to, for the chama choice.

use uuid::Uuid;

use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::user;

use super::load_balance::CHAMA_NAME_LEN;
use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

pub struct ListChamas;

impl Operation for ListChamas {
    const NAME: &'static str = "list_chamas";
    const ACCESS: Access = Access::Read;
    type Input = Uuid;
    type Output = Vec<String>;

    async fn run(ctx: &mut OpContext<'_>, user: Uuid) -> Result<Vec<String>, OpError> {
        let chamas = user::memberships(ctx.db()?, user).await?;
        Ok(chamas.into_iter().map(|m| m.chama_name).collect())
    }
}

impl MenuAction for ListChamas {
    fn spec() -> ActionSpec {
        ActionSpec::new().items(CHAMA_NAME_LEN)
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        _: Option<&str>,
    ) -> Result<Uuid, ActionOutcome> {
        vars::user(state).ok_or_else(|| Self::refused(Refusal::NotMember))
    }

    fn answer(_: &RequestEnv<'_>, _: &mut SessionState, names: Vec<String>) -> ActionOutcome {
        ActionOutcome::Items(names)
    }
}
