//! `load_contribution_due`: what the member still owes of the chama's
//! contribution for this period (the reminders' rule), offered as the first
//! thing to pay.

use chrono::Utc;
use uuid::Uuid;

use crate::i18n::format_kes;
use crate::menu::{ActionOutcome, ActionSpec, SessionState};
use crate::sms::reminders::{NAIROBI, owed_this_period};

use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv, vars};

/// `KES 250,000` and any amount a chama may set below a hundred million.
pub const AMOUNT_LEN: usize = 16;

pub struct LoadContributionDue;

pub struct Input {
    pub user: Uuid,
    pub chama: Uuid,
}

impl Operation for LoadContributionDue {
    const NAME: &'static str = "load_contribution_due";
    const ACCESS: Access = Access::Read;
    type Input = Input;
    /// Whole shillings still owed; `None` when the chama collects nothing.
    type Output = Option<i64>;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Option<i64>, OpError> {
        let today = Utc::now().with_timezone(&NAIROBI).date_naive();
        Ok(owed_this_period(ctx.db()?, input.chama, input.user, today).await?)
    }
}

impl MenuAction for LoadContributionDue {
    fn spec() -> ActionSpec {
        ActionSpec::new().output(vars::DUE, AMOUNT_LEN)
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        _: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        let user = vars::user(state).ok_or_else(|| Self::refused(Refusal::NotMember))?;
        let chama = vars::chama(state).ok_or_else(|| Self::refused(Refusal::NoChama))?;
        Ok(Input { user, chama })
    }

    /// `$due` is the amount, `none` when it is paid, `unset` when the
    /// chama has set no contribution.
    fn answer(_: &RequestEnv<'_>, state: &mut SessionState, due: Option<i64>) -> ActionOutcome {
        let shown = match due {
            None => "unset".to_owned(),
            Some(0) => "none".to_owned(),
            Some(due) => format_kes(due),
        };
        vars::set_due(state, due.filter(|d| *d > 0));
        state.vars.insert(vars::DUE.into(), shown);
        ActionOutcome::Continue
    }
}
