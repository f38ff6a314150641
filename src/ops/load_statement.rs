//! `load_statement`: the member's latest ledger lines, worded by the
//! locales. Behind the PIN like the balance.

use crate::i18n::format_kes;
use crate::ledger::{self, StatementLine, accounts};
use crate::menu::{ActionOutcome, ActionSpec, SessionState};

use super::load_balance::{Input, member_behind_pin};
use super::{Access, MenuAction, OpContext, OpError, Operation, Refusal, RequestEnv};

/// Statement lines shown on USSD.
const STATEMENT_LINES: i64 = 10;
/// Longest mini-statement line (`12/11 Umepokea mkopo 1,000,000 (deni)`).
const STATEMENT_LINE_LEN: usize = 40;

pub struct LoadStatement;

impl Operation for LoadStatement {
    const NAME: &'static str = "load_statement";
    const ACCESS: Access = Access::Read;
    type Input = Input;
    type Output = Vec<StatementLine>;

    async fn run(ctx: &mut OpContext<'_>, input: Input) -> Result<Vec<StatementLine>, OpError> {
        Ok(ledger::member_statement(ctx.db()?, input.chama, input.user, STATEMENT_LINES).await?)
    }
}

/// The `kind` of a statement line in the `statement-line` message: the
/// account and, from the member's side, which way the money went (`in`:
/// saved, bought, borrowed, paid; `out`: withdrawn, paid out, repaid,
/// refunded). The locales word each one so it cannot be misread.
fn statement_kind(line: &StatementLine) -> &'static str {
    let incoming = line.amount >= 0;
    match (line.account_code, incoming) {
        (accounts::SAVINGS, true) => "savings-in",
        (accounts::SAVINGS, false) => "savings-out",
        (accounts::SHARES, true) => "shares-in",
        (accounts::SHARES, false) => "shares-out",
        (accounts::LOANS, true) => "loan-in",
        (accounts::LOANS, false) => "loan-out",
        (accounts::FINES, true) => "fine-in",
        (accounts::FINES, false) => "fine-out",
        (_, true) => "other-in",
        (_, false) => "other-out",
    }
}

impl MenuAction for LoadStatement {
    fn spec() -> ActionSpec {
        ActionSpec::new().items(STATEMENT_LINE_LEN)
    }

    fn input(
        _: &RequestEnv<'_>,
        state: &SessionState,
        _: Option<&str>,
    ) -> Result<Input, ActionOutcome> {
        member_behind_pin(state).map_err(Self::refused)
    }

    fn answer(
        env: &RequestEnv<'_>,
        state: &mut SessionState,
        lines: Vec<StatementLine>,
    ) -> ActionOutcome {
        let catalog = env.app.menus.for_generation(state.generation);
        let items = lines
            .iter()
            .map(|l| {
                // The direction is in the words; the title says KES.
                let amount = format_kes(l.amount.saturating_abs())
                    .trim_start_matches("KES ")
                    .to_owned();
                let vars = [
                    ("date", l.occurred_at.format("%d/%m").to_string()),
                    ("kind", statement_kind(l).to_owned()),
                    ("amount", amount),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                catalog
                    .locales()
                    .format(state.lang, "statement-line", &vars)
            })
            .collect();
        ActionOutcome::Items(items)
    }

    fn refused(refusal: Refusal) -> ActionOutcome {
        match refusal {
            Refusal::PinRequired => ActionOutcome::Goto("statement_pin".into()),
            other => super::default_refusal(other),
        }
    }
}
