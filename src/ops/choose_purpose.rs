//! `choose_purpose`: what the money is for. The period's contribution takes
//! the amount still owed; the others ask for an amount next.

use serde::{Deserialize, Serialize};

use crate::i18n::format_kes;
use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::load_contribution_due::AMOUNT_LEN;
use super::set_contribution_amount::MAX_AMOUNT;
use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv, vars};

/// What a member pays for, as the menu offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// This period's contribution, at the amount still owed.
    Period,
    /// Any other amount to savings.
    Savings,
    Fine,
    Loan,
}

impl Purpose {
    /// The menu key that chooses it.
    fn from_key(key: &str) -> Option<Purpose> {
        Some(match key {
            "1" => Purpose::Period,
            "2" => Purpose::Savings,
            "3" => Purpose::Fine,
            "4" => Purpose::Loan,
            _ => return None,
        })
    }

    /// The selector key the screens show it by.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Period => "period",
            Purpose::Savings => "savings",
            Purpose::Fine => "fine",
            Purpose::Loan => "loan",
        }
    }

    pub fn parse(shown: &str) -> Option<Purpose> {
        [
            Purpose::Period,
            Purpose::Savings,
            Purpose::Fine,
            Purpose::Loan,
        ]
        .into_iter()
        .find(|p| p.as_str() == shown)
    }

    /// `mpesa_stk_requests.purpose`: both contributions go to savings.
    pub fn db_purpose(self) -> &'static str {
        match self {
            Purpose::Period | Purpose::Savings => "contribution",
            Purpose::Fine => "fine",
            Purpose::Loan => "loan_repayment",
        }
    }
}

pub struct ChoosePurpose;

pub struct Input {
    pub purpose: Purpose,
    /// What the member owes this period, when the chama collects.
    pub due: Option<i64>,
}

/// The purpose chosen, with the amount when it is already known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Chosen {
    Purpose(Purpose, Option<i64>),
    NothingDue,
}

impl Operation for ChoosePurpose {
    const NAME: &'static str = "choose_purpose";
    const ACCESS: Access = Access::None;
    type Input = Input;
    type Output = Chosen;

    async fn run(_: &mut OpContext<'_>, input: Input) -> Result<Chosen, OpError> {
        Ok(match (input.purpose, input.due) {
            // Daraja takes at most one push's worth: the rest is a second payment.
            (Purpose::Period, Some(due)) if due > 0 => {
                Chosen::Purpose(Purpose::Period, Some(due.min(MAX_AMOUNT)))
            }
            (Purpose::Period, _) => Chosen::NothingDue,
            (other, _) => Chosen::Purpose(other, None),
        })
    }
}

impl MenuAction for ChoosePurpose {
    fn spec() -> ActionSpec {
        ActionSpec::new()
            .output(vars::PURPOSE, 7)
            .output(vars::AMOUNT, AMOUNT_LEN)
            .output(vars::PAYER, 10)
            .message("contribute-nothing-due")
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        typed: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let purpose = typed
            .and_then(Purpose::from_key)
            .ok_or_else(|| ActionOutcome::Invalid("invalid-choice".into()))?;
        Ok(Input {
            purpose,
            due: vars::due(state),
        })
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, chosen: Chosen) -> ActionOutcome {
        match chosen {
            Chosen::Purpose(purpose, amount) => {
                vars::start_payment(state, purpose.as_str());
                if let Some(amount) = amount {
                    vars::set_payment_amount(state, amount, format_kes(amount));
                }
                ActionOutcome::Continue
            }
            Chosen::NothingDue => ActionOutcome::Invalid("contribute-nothing-due".into()),
        }
    }
}
