//! `select_chama`: the chama the caller acts in for the rest of the session,
//! chosen by its number in the list `list_chamas` showed.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chama::Role;
use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::user;

use super::load_balance::CHAMA_NAME_LEN;
use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

pub struct SelectChama;

pub struct Input {
    pub user: Uuid,
    /// 0-based position in the caller's memberships, by name.
    pub position: usize,
}

/// The membership chosen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chosen {
    pub chama: Uuid,
    pub name: String,
    pub role: String,
}

impl Operation for SelectChama {
    const NAME: &'static str = "select_chama";
    const ACCESS: Access = Access::Read;
    type Input = Input;
    type Output = Chosen;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Chosen, OpError> {
        let chamas = user::memberships(ctx.db()?, input.user).await?;
        let chosen = chamas
            .into_iter()
            .nth(input.position)
            .ok_or(Refusal::Invalid("invalid-choice"))?;
        Ok(Chosen {
            chama: chosen.chama_id,
            name: chosen.chama_name,
            role: chosen.role.as_str().to_owned(),
        })
    }
}

impl MenuAction for SelectChama {
    fn spec() -> ActionSpec {
        ActionSpec::new()
            .output("chama_name", CHAMA_NAME_LEN)
            .message("invalid-choice")
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let user = vars::user(state).ok_or_else(|| Self::refused(Refusal::NotMember))?;
        let position = typed
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .ok_or_else(|| ActionOutcome::Invalid("invalid-choice".into()))?;
        Ok(Input { user, position })
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, chosen: Chosen) -> ActionOutcome {
        match Role::from_db(&chosen.role) {
            Some(role) => {
                vars::choose_chama(state, chosen.chama, &chosen.name, role);
                ActionOutcome::Continue
            }
            None => ActionOutcome::Invalid("invalid-choice".into()),
        }
    }
}
