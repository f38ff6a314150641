//! `load_balance`: the member's savings, shares, loan and fines, and what
//! the chama holds. Behind the PIN: the screen asks for it, and this refuses
//! without it, so a resumed or replayed session cannot skip it.

use uuid::Uuid;

use crate::i18n::format_kes;
use crate::ledger::{self, MemberBalance};
use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

/// Longest amount as `format_kes` writes it for a member's own figures
/// (`-KES 99,999,999`, under a hundred million shillings).
const MEMBER_AMOUNT_LEN: usize = 16;
/// Longest amount for a whole chama (`-KES 9,999,999,999`).
const CHAMA_AMOUNT_LEN: usize = 18;
/// Longest chama name as shown on USSD (names are cut to this on the way in).
pub const CHAMA_NAME_LEN: usize = 30;

pub struct LoadBalance;

pub struct Input {
    pub user: Uuid,
    pub chama: Uuid,
}

/// The member and chama a screen behind the PIN is about.
pub fn member_behind_pin(state: &SessionState) -> Result<Input, Refusal> {
    if !vars::pin_verified(state) {
        return Err(Refusal::PinRequired);
    }
    let user = vars::user(state).ok_or(Refusal::NotMember)?;
    let chama = vars::chama(state).ok_or(Refusal::NoChama)?;
    Ok(Input { user, chama })
}

impl Operation for LoadBalance {
    const NAME: &'static str = "load_balance";
    const ACCESS: Access = Access::Read;
    type Input = Input;
    type Output = MemberBalance;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<MemberBalance, OpError> {
        Ok(ledger::member_balance(ctx.db()?, input.chama, input.user).await?)
    }
}

impl MenuAction for LoadBalance {
    fn spec() -> ActionSpec {
        ActionSpec::new()
            .output("chama_name", CHAMA_NAME_LEN)
            .output("savings", MEMBER_AMOUNT_LEN)
            .output("shares", MEMBER_AMOUNT_LEN)
            .output("loan", MEMBER_AMOUNT_LEN)
            .output("fines", MEMBER_AMOUNT_LEN)
            .output("chama_total", CHAMA_AMOUNT_LEN)
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        _: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        member_behind_pin(state).map_err(Self::refused)
    }

    fn answer(
        _: &RequestEnv<'_>,
        state: &mut SessionState,
        balance: MemberBalance,
    ) -> ActionOutcome {
        for (name, value) in [
            ("savings", balance.savings),
            ("shares", balance.shares),
            ("loan", balance.loan),
            ("fines", balance.fines_paid),
            ("chama_total", balance.chama_total),
        ] {
            state.vars.insert(name.into(), format_kes(value));
        }
        ActionOutcome::Continue
    }

    fn refused(refusal: Refusal) -> ActionOutcome {
        match refusal {
            Refusal::PinRequired => ActionOutcome::Goto("balance_pin".into()),
            other => super::default_refusal(other),
        }
    }
}
