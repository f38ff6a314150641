//! `set_contribution_amount`: how much, within Daraja's bounds (1 to
//! 250,000 shillings a push) and the chama's rules: a loan repayment is at
//! most what the member owes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::i18n::format_kes;
use crate::ledger;
use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::choose_purpose::Purpose;
use super::load_contribution_due::AMOUNT_LEN;
use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

/// Daraja's bounds on one STK push, whole shillings (protocols.md 3.2).
pub const MIN_AMOUNT: i64 = 1;
pub const MAX_AMOUNT: i64 = 250_000;

/// Variable of `contribute-over-loan`.
const LOAN: &str = "loan";

pub struct SetContributionAmount;

pub struct Input {
    pub user: Uuid,
    pub chama: Uuid,
    pub purpose: Purpose,
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Checked {
    Accepted(i64),
    NoLoan,
    OverLoan { loan: i64 },
}

impl Operation for SetContributionAmount {
    const NAME: &'static str = "set_contribution_amount";
    const ACCESS: Access = Access::Read;
    type Input = Input;
    type Output = Checked;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Checked, OpError> {
        if input.purpose != Purpose::Loan {
            return Ok(Checked::Accepted(input.amount));
        }
        let loan = ledger::member_balance(ctx.db()?, input.chama, input.user)
            .await?
            .loan;
        Ok(if loan <= 0 {
            Checked::NoLoan
        } else if input.amount > loan {
            Checked::OverLoan { loan }
        } else {
            Checked::Accepted(input.amount)
        })
    }
}

/// Whole shillings within Daraja's bounds, as the amount validator passes
/// them on (`1,000` arrives as `1000`).
fn parse_amount(typed: Option<&str>) -> Option<i64> {
    typed
        .and_then(|t| t.replace(',', "").parse::<i64>().ok())
        .filter(|a| (MIN_AMOUNT..=MAX_AMOUNT).contains(a))
}

impl MenuAction for SetContributionAmount {
    fn spec() -> ActionSpec {
        ActionSpec::new()
            .output(vars::AMOUNT, AMOUNT_LEN)
            .output(LOAN, AMOUNT_LEN)
            .message("contribute-amount-range")
            .message("contribute-no-loan")
            .message("contribute-over-loan")
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let amount = parse_amount(typed)
            .ok_or_else(|| ActionOutcome::Invalid("contribute-amount-range".into()))?;
        let user = vars::user(state).ok_or_else(|| Self::refused(Refusal::NotMember))?;
        let chama = vars::chama(state).ok_or_else(|| Self::refused(Refusal::NoChama))?;
        let purpose = vars::payment_for(state)
            .and_then(Purpose::parse)
            .ok_or_else(|| ActionOutcome::Goto("contribute_for".into()))?;
        Ok(Input {
            user,
            chama,
            purpose,
            amount,
        })
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, checked: Checked) -> ActionOutcome {
        match checked {
            Checked::Accepted(amount) => {
                vars::set_payment_amount(state, amount, format_kes(amount));
                ActionOutcome::Continue
            }
            Checked::NoLoan => ActionOutcome::Invalid("contribute-no-loan".into()),
            Checked::OverLoan { loan } => {
                state.vars.insert(LOAN.into(), format_kes(loan));
                ActionOutcome::Invalid("contribute-over-loan".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_amount;

    #[test]
    fn amounts_outside_darajas_bounds_or_not_whole_are_refused() {
        assert_eq!(parse_amount(Some("1")), Some(1));
        assert_eq!(parse_amount(Some("250000")), Some(250_000));
        assert_eq!(parse_amount(Some("1,000")), Some(1_000));
        for bad in [
            "0",
            "-5",
            "250001",
            "12.5",
            "",
            "abc",
            "99999999999999999999",
        ] {
            assert_eq!(parse_amount(Some(bad)), None, "{bad}");
        }
        assert_eq!(parse_amount(None), None);
    }
}
