//! `route_start`: where a dial goes: strangers away, a first dial to the
//! language choice, then the PIN, the chama choice, the main menu.

use serde::{Deserialize, Serialize};

use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv, vars};

/// Where the caller stands in their setup.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub member: bool,
    pub has_pin: bool,
    pub language_chosen: bool,
    pub chama_chosen: bool,
}

impl Standing {
    pub fn of(state: &SessionState) -> Standing {
        Standing {
            member: vars::user(state).is_some(),
            has_pin: vars::has_pin(state),
            language_chosen: vars::language_chosen(state),
            chama_chosen: vars::chama(state).is_some(),
        }
    }

    /// The next setup step once the language is settled.
    pub fn after_language(self) -> Next {
        if !self.member {
            Next::NotMember
        } else if !self.has_pin {
            Next::SetPin
        } else if self.chama_chosen {
            Next::Main
        } else {
            Next::ChooseChama
        }
    }
}

/// The screen a route goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Next {
    NotMember,
    ChooseLanguage,
    SetPin,
    ChooseChama,
    Main,
}

impl Next {
    pub fn goto(self) -> ActionOutcome {
        let screen = match self {
            Next::NotMember => "not_member",
            Next::ChooseLanguage => "choose_language",
            Next::SetPin => "set_pin",
            Next::ChooseChama => "choose_chama",
            Next::Main => "main",
        };
        ActionOutcome::Goto(screen.into())
    }
}

pub struct RouteStart;

impl Operation for RouteStart {
    const NAME: &'static str = "route_start";
    const ACCESS: Access = Access::None;
    type Input = Standing;
    type Output = Next;

    async fn run(_: &mut OpContext<'_>, standing: Standing) -> Result<Next, OpError> {
        // First dial: a member picks a language before anything else, once
        // (a member with a PIN chose it before the choice was recorded).
        Ok(
            if standing.member && !standing.has_pin && !standing.language_chosen {
                Next::ChooseLanguage
            } else {
                standing.after_language()
            },
        )
    }
}

impl MenuAction for RouteStart {
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
