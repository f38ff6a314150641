//! `pesachama ledger check`: proves that the running balances are the sums of
//! their postings and that every entry balances.
//!
//! The database keeps `ledger_balances` in each posting's transaction and the
//! daemon cannot write it, so a mismatch here means something outside the
//! posting path (an owner at psql, a restored backup, a bug in a migration)
//! changed the books. The check only reads, so it runs as the runtime role.

use std::fmt;

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// What one run of the check saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Rows in `ledger_balances`.
    pub balances: i64,
    /// Journal entries.
    pub entries: i64,
    /// Everything that disagrees; empty when the books are consistent.
    pub mismatches: Vec<Mismatch>,
}

impl CheckReport {
    /// True when nothing disagrees.
    pub fn is_consistent(&self) -> bool {
        self.mismatches.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ledger check: {} balances, {} entries, {} mismatches",
            self.balances,
            self.entries,
            self.mismatches.len()
        )
    }
}

/// One disagreement. Names chamas by code and members by id, never by phone,
/// so a report can be pasted into a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// A stored balance differs from the sum of its lines; `None` on one side
    /// means a balance row without lines, or lines without a balance row.
    Balance {
        chama_code: String,
        account_code: i32,
        member: Option<Uuid>,
        /// `(debits, credits)` as stored in `ledger_balances`.
        stored: Option<(i64, i64)>,
        /// `(debits, credits)` summed from `journal_lines`.
        posted: Option<(i64, i64)>,
    },
    /// An entry whose lines do not sum to zero, or that has fewer than two.
    Entry {
        chama_code: String,
        entry_id: Uuid,
        lines: i64,
        /// Debits minus credits, as text: a broken entry's sum may not fit
        /// a bigint.
        total: String,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pair = |p: &Option<(i64, i64)>| match p {
            Some((debits, credits)) => format!("debits {debits} credits {credits}"),
            None => "nothing".to_owned(),
        };
        match self {
            Mismatch::Balance {
                chama_code,
                account_code,
                member,
                stored,
                posted,
            } => {
                let member = member.map_or_else(|| "none".to_owned(), |m| m.to_string());
                write!(
                    f,
                    "balance mismatch: chama {chama_code} account {account_code} member {member}: \
                     stored {}, posted {}",
                    pair(stored),
                    pair(posted)
                )
            }
            Mismatch::Entry {
                chama_code,
                entry_id,
                lines,
                total,
            } => write!(
                f,
                "unbalanced entry: chama {chama_code} entry {entry_id}: {lines} lines summing to {total}"
            ),
        }
    }
}

/// Runs every check in one read-only snapshot, so a posting that commits
/// meanwhile is either wholly in the figures or wholly out. Call it on a
/// connection that is not inside a transaction.
pub async fn run(conn: &mut PgConnection) -> Result<CheckReport, sqlx::Error> {
    let mut tx = conn
        .begin_with("begin isolation level repeatable read, read only")
        .await?;
    let balances = sqlx::query_scalar!(r#"select count(*) as "n!" from ledger_balances"#)
        .fetch_one(&mut *tx)
        .await?;
    let entries = sqlx::query_scalar!(r#"select count(*) as "n!" from journal_entries"#)
        .fetch_one(&mut *tx)
        .await?;
    let mut mismatches = balance_mismatches(&mut tx).await?;
    mismatches.extend(unbalanced_entries(&mut tx).await?);
    tx.commit().await?;
    Ok(CheckReport {
        balances,
        entries,
        mismatches,
    })
}

/// Every (chama, account, member) whose stored debits or credits differ from
/// its lines', including either side missing.
async fn balance_mismatches(conn: &mut PgConnection) -> Result<Vec<Mismatch>, sqlx::Error> {
    // A full join needs a hashable or mergeable key, and `is not distinct
    // from` is neither: a null member (the chama's own accounts) becomes the
    // nil uuid on both sides. Users get random v4 ids, never the nil one.
    let rows = sqlx::query!(
        r#"with posted as (
               select chama_id, account_id,
                      coalesce(member_user_id, '00000000-0000-0000-0000-000000000000') as member_key,
                      member_user_id,
                      coalesce(sum(amount) filter (where amount > 0), 0)::bigint as debits,
                      coalesce(-sum(amount) filter (where amount < 0), 0)::bigint as credits
                 from journal_lines
                group by chama_id, account_id, member_user_id
           ), stored as (
               select chama_id, account_id,
                      coalesce(member_user_id, '00000000-0000-0000-0000-000000000000') as member_key,
                      member_user_id, debits_posted, credits_posted
                 from ledger_balances
           )
           select c.code as "chama_code!", a.code as "account_code!",
                  coalesce(s.member_user_id, p.member_user_id) as member,
                  s.debits_posted as "stored_debits?", s.credits_posted as "stored_credits?",
                  p.debits as "posted_debits?", p.credits as "posted_credits?"
             from stored s
             full join posted p
               on p.chama_id = s.chama_id and p.account_id = s.account_id
              and p.member_key = s.member_key
             join chamas c on c.id = coalesce(s.chama_id, p.chama_id)
             join ledger_accounts a on a.id = coalesce(s.account_id, p.account_id)
            where s.debits_posted is distinct from p.debits
               or s.credits_posted is distinct from p.credits
            order by c.code, a.code, member"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Mismatch::Balance {
            chama_code: r.chama_code,
            account_code: r.account_code,
            member: r.member,
            stored: r.stored_debits.zip(r.stored_credits),
            posted: r.posted_debits.zip(r.posted_credits),
        })
        .collect())
}

/// Entries with fewer than two lines or whose lines do not sum to zero. The
/// database refuses both at commit; this proves nothing got past it.
async fn unbalanced_entries(conn: &mut PgConnection) -> Result<Vec<Mismatch>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.code as "chama_code!", e.id as "entry_id!", count(l.id) as "lines!",
                  coalesce(sum(l.amount::numeric), 0)::text as "total!"
             from journal_entries e
             join chamas c on c.id = e.chama_id
             left join journal_lines l on l.entry_id = e.id
            group by c.code, e.id
           having count(l.id) < 2 or coalesce(sum(l.amount::numeric), 0) <> 0
            order by c.code, e.id"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Mismatch::Entry {
            chama_code: r.chama_code,
            entry_id: r.entry_id,
            lines: r.lines,
            total: r.total,
        })
        .collect())
}
