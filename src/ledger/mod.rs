//! The chama's double-entry books: posting balanced entries and reading the
//! balances and statements members see.
//!
//! Balances are kept beside the journal: the database adds every posting's
//! lines to `ledger_balances` (debits and credits per account and member) in
//! the posting's own transaction, so a balance is one row to read and a
//! rolled-back posting leaves no trace there. The daemon can only read those
//! rows. [`check::run`] (`pesachama ledger check`) proves that each one equals
//! the sum of its lines and that every entry balances.
//!
//! Sign convention (as in the schema): a positive line amount is a debit, a
//! negative one a credit, whole shillings. Member-facing figures flip the sign
//! of liability, equity and income accounts so that "what you have saved"
//! reads positive.

mod amount;
pub mod check;
pub mod statement;
pub mod watch;

pub use amount::Amount;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db::is_violation;

/// Chart-of-accounts codes the member screens use (shared/chama-domain.md 2.3).
pub mod accounts {
    /// M-Pesa collection account (asset).
    pub const MPESA: i32 = 1000;
    /// Cash with the treasurer, collected at meetings (asset). Only M-Pesa
    /// receipts and payouts move [`MPESA`]; money handed over in person moves
    /// this one.
    pub const CASH: i32 = 1020;
    /// Last of the cash-like asset accounts (M-Pesa, bank, cash, in transit).
    pub const LAST_CASH: i32 = 1030;
    /// Loans receivable, per member (asset).
    pub const LOANS: i32 = 1100;
    /// Member savings, per member (liability).
    pub const SAVINGS: i32 = 2000;
    /// Paybill receipts the chama received but nobody has matched to a
    /// member yet (liability, never income).
    pub const SUSPENSE: i32 = 2020;
    /// Merry-go-round pot payable (liability).
    pub const MERRY_GO_ROUND_POT: i32 = 2010;
    /// Member prepayments and overpayments, per member (liability).
    pub const PREPAYMENTS: i32 = 2030;
    /// Member share capital, per member (equity).
    pub const SHARES: i32 = 3000;
    /// Welfare / social fund (restricted equity).
    pub const WELFARE: i32 = 3100;
    /// Fines and penalties income.
    pub const FINES: i32 = 4010;
    /// Fees income (entrance, loan processing).
    pub const FEES: i32 = 4020;
}

/// One line of a posting, by account code.
#[derive(Debug, Clone)]
pub struct Line {
    pub account_code: i32,
    pub member: Option<Uuid>,
    /// Positive debit, negative credit.
    pub amount: i64,
}

/// The two lines of money received at M-Pesa: debit cash at M-Pesa,
/// credit `account` (on `member`'s line when the account is kept per member).
pub fn mpesa_receipt_lines(amount: i64, account: i32, member: Option<Uuid>) -> [Line; 2] {
    [
        Line {
            account_code: accounts::MPESA,
            member: None,
            amount,
        },
        Line {
            account_code: account,
            member,
            amount: -amount,
        },
    ]
}

/// What happened to a posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posting {
    /// Written now.
    Posted(Uuid),
    /// An entry with this idempotency key exists; nothing was written.
    AlreadyPosted,
}

/// Why a posting was refused.
#[derive(Debug, thiserror::Error)]
pub enum PostingError {
    /// A line names an account code the chama's chart does not have. The
    /// caller's transaction holds a half-written entry and must roll back.
    #[error("chama {chama_id} has no ledger account {code}")]
    UnknownAccount { chama_id: Uuid, code: i32 },
    /// The database failed or refused the entry (a broken ledger rule).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Posts a balanced entry in the caller's transaction. The database refuses an
/// unbalanced one at commit; a repeated `key` is a no-op.
///
/// The database adds the lines to `ledger_balances` in the same statement and
/// keeps those rows locked until the caller's transaction ends: postings on
/// the same accounts (most touch the chama's M-Pesa account) queue behind it,
/// so commit soon after posting.
pub async fn post_entry(
    conn: &mut PgConnection,
    chama_id: Uuid,
    key: &str,
    description: &str,
    occurred_at: DateTime<Utc>,
    lines: &[Line],
) -> Result<Posting, PostingError> {
    let inserted = sqlx::query_scalar!(
        r#"insert into journal_entries (chama_id, idempotency_key, description, occurred_at)
           values ($1, $2, $3, $4)
           on conflict (chama_id, idempotency_key) do nothing
           returning id"#,
        chama_id,
        key,
        description,
        occurred_at
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(entry_id) = inserted else {
        return Ok(Posting::AlreadyPosted);
    };
    let codes: Vec<i32> = lines.iter().map(|l| l.account_code).collect();
    let members: Vec<Option<Uuid>> = lines.iter().map(|l| l.member).collect();
    let amounts: Vec<i64> = lines.iter().map(|l| l.amount).collect();
    // One statement for all lines: one round trip, and the balance trigger
    // (a statement trigger) runs once per entry. The join picks each account
    // by code, so an unknown code joins no row and would silently drop its
    // line: the row count tells. Lines keep the caller's order in their ids,
    // which order a statement's lines of one moment.
    let inserted = sqlx::query!(
        r#"insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount)
           select $1, $2, a.id, l.member, l.amount
             from unnest($3::int[], $4::uuid[], $5::bigint[])
                  with ordinality as l (code, member, amount, n)
             join ledger_accounts a on a.chama_id = $2 and a.code = l.code
            order by l.n"#,
        entry_id,
        chama_id,
        &codes,
        &members as _,
        &amounts
    )
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() != lines.len() as u64 {
        let code = first_unknown_code(conn, chama_id, &codes).await?;
        return Err(PostingError::UnknownAccount { chama_id, code });
    }
    Ok(Posting::Posted(entry_id))
}

/// The first of `codes` that the chama's chart of accounts lacks.
async fn first_unknown_code(
    conn: &mut PgConnection,
    chama_id: Uuid,
    codes: &[i32],
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select c.code as "code!"
             from unnest($2::int[]) with ordinality as c (code, n)
            where not exists (
                  select 1 from ledger_accounts a where a.chama_id = $1 and a.code = c.code)
            order by c.n
            limit 1"#,
        chama_id,
        codes
    )
    .fetch_one(conn)
    .await
}

/// True when `error` is the database refusing an unbalanced entry.
pub fn is_unbalanced(error: &sqlx::Error) -> bool {
    is_violation(error, "journal_entries_balanced")
}

/// What a member sees under "Balance", in whole shillings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberBalance {
    pub savings: i64,
    pub shares: i64,
    pub loan: i64,
    pub fines_paid: i64,
    /// Money the chama holds (M-Pesa, bank, cash, in transit).
    pub chama_total: i64,
}

/// Reads the member's sub-ledger balances and the chama's cash accounts from
/// the running balances: a few rows of `ledger_balances`, not the journal.
pub async fn member_balance(
    conn: &mut PgConnection,
    chama_id: Uuid,
    member: Uuid,
) -> Result<MemberBalance, sqlx::Error> {
    // Same figures as summing the lines: a member's row per code, every cash
    // row of the chama whatever its member. Liability, equity and income
    // balances are credits, shown positive; assets are debits.
    let row = sqlx::query!(
        r#"select
             coalesce(sum(credits_posted - debits_posted) filter (where account_code = $3 and member_user_id = $2), 0)::bigint as "savings!",
             coalesce(sum(credits_posted - debits_posted) filter (where account_code = $4 and member_user_id = $2), 0)::bigint as "shares!",
             coalesce(sum(debits_posted - credits_posted) filter (where account_code = $5 and member_user_id = $2), 0)::bigint as "loan!",
             coalesce(sum(credits_posted - debits_posted) filter (where account_code = $6 and member_user_id = $2), 0)::bigint as "fines!",
             coalesce(sum(debits_posted - credits_posted) filter (where account_code between $7 and $8), 0)::bigint as "total!"
           from ledger_balances
          where chama_id = $1
            and (account_code between $7 and $8
                 or (member_user_id = $2 and account_code in ($3, $4, $5, $6)))"#,
        chama_id,
        member,
        accounts::SAVINGS,
        accounts::SHARES,
        accounts::LOANS,
        accounts::FINES,
        accounts::MPESA,
        accounts::LAST_CASH
    )
    .fetch_one(conn)
    .await?;
    Ok(MemberBalance {
        savings: row.savings,
        shares: row.shares,
        loan: row.loan,
        fines_paid: row.fines,
        chama_total: row.total,
    })
}

/// A line's amount as the member reads it: money they saved or paid in is
/// positive. Loans are assets of the chama: a debit is money lent to them.
pub fn member_side(account_code: i32, amount: i64) -> i64 {
    if account_code == accounts::LOANS {
        amount
    } else {
        -amount
    }
}

/// One line of a member's statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatementLine {
    pub occurred_at: DateTime<Utc>,
    pub account_code: i32,
    /// From the member's side: money saved or paid in is positive.
    pub amount: i64,
}

/// The member's latest lines, newest first.
pub async fn member_statement(
    conn: &mut PgConnection,
    chama_id: Uuid,
    member: Uuid,
    limit: i64,
) -> Result<Vec<StatementLine>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select e.occurred_at, a.code, l.amount
             from journal_lines l
             join journal_entries e on e.id = l.entry_id
             join ledger_accounts a on a.chama_id = l.chama_id and a.id = l.account_id
            where l.chama_id = $1 and a.chama_id = $1 and l.member_user_id = $2
            order by e.occurred_at desc, l.id desc
            limit $3"#,
        chama_id,
        member,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StatementLine {
            occurred_at: r.occurred_at,
            account_code: r.code,
            amount: member_side(r.code, r.amount),
        })
        .collect())
}
