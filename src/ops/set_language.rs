//! `set_language`: the member's language, kept on their user record so the
//! next dial speaks it.

use uuid::Uuid;

use crate::i18n::Lang;
use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::user;

use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv, vars};

pub struct SetLanguage;

pub struct Input {
    /// `None` for a caller without a user record: the choice lasts the session.
    pub user: Option<Uuid>,
    pub lang: Lang,
}

impl Operation for SetLanguage {
    const NAME: &'static str = "set_language";
    const ACCESS: Access = Access::Write;
    type Input = Input;
    type Output = Lang;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Lang, OpError> {
        if let Some(user) = input.user {
            user::set_language(ctx.db()?, user, input.lang).await?;
        }
        Ok(input.lang)
    }
}

impl MenuAction for SetLanguage {
    fn spec() -> ActionSpec {
        ActionSpec::new().message("invalid-choice")
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let lang = match typed {
            Some("1") => Lang::En,
            Some("2") => Lang::Sw,
            _ => return Err(ActionOutcome::Invalid("invalid-choice".into())),
        };
        Ok(Input {
            user: vars::user(state),
            lang,
        })
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, lang: Lang) -> ActionOutcome {
        state.lang = lang;
        vars::language_chosen_now(state);
        ActionOutcome::Continue
    }
}
