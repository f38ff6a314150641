//! `payment_notice`: the main menu says how the member's last payment
//! stands: under way, or, once, how it ended. The caller's look-up at the
//! start of the session found it (one indexed read folded into that query);
//! only showing an outcome writes, to mark it seen.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::mpesa::mark_outcome_seen;

use super::load_contribution_due::AMOUNT_LEN;
use super::{Access, MenuAction, OpContext, OpError, Operation, RequestEnv, vars};

/// The notice with nothing to say.
const NONE: &str = "none";

pub struct PaymentNotice;

/// What the session knows of the member's last payment.
pub struct Input {
    pub user: Option<Uuid>,
    /// `pending`, `succeeded`, `failed` or `unknown`; the request; the amount shown.
    pub notice: Option<(String, Uuid, String)>,
}

/// What the main menu shows: the selector key and the amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    pub payment: String,
    pub amount: String,
}

impl Operation for PaymentNotice {
    const NAME: &'static str = "payment_notice";
    const ACCESS: Access = Access::Write;
    type Input = Input;
    type Output = Shown;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Shown, OpError> {
        let (Some(user), Some((payment, id, amount))) = (input.user, input.notice) else {
            return Ok(nothing());
        };
        // Another session may have shown it in the meantime: say nothing then.
        if mark_outcome_seen(ctx.db()?, id, user).await? {
            Ok(Shown { payment, amount })
        } else {
            Ok(nothing())
        }
    }

    /// Nothing to write unless an outcome is to be shown.
    async fn read_first(_: &mut OpContext<'_>, input: &Input) -> Result<Option<Shown>, OpError> {
        Ok(match &input.notice {
            Some((payment, _, _)) if payment != "pending" => None,
            Some((payment, _, amount)) => Some(Shown {
                payment: payment.clone(),
                amount: amount.clone(),
            }),
            None => Some(nothing()),
        })
    }

    /// Marking an outcome seen twice changes nothing: no key is kept.
    fn changed(_: &Shown) -> bool {
        false
    }
}

fn nothing() -> Shown {
    Shown {
        payment: NONE.into(),
        amount: String::new(),
    }
}

impl MenuAction for PaymentNotice {
    fn spec() -> ActionSpec {
        ActionSpec::new()
            .output(vars::PAYMENT, 9)
            .output(vars::PAYMENT_AMOUNT, AMOUNT_LEN)
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        _: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        Ok(Input {
            user: vars::user(state),
            notice: vars::notice(state)
                .map(|(payment, id, amount)| (payment.to_owned(), id, amount.to_owned())),
        })
    }

    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, shown: Shown) -> ActionOutcome {
        vars::show_notice(state, &shown.payment, &shown.amount);
        ActionOutcome::Continue
    }
}
