//! `pesachama ledger check`: proves that the running balances are the sums of
//! their postings, that every entry balances, and that M-Pesa money is booked
//! once: each receipt, CheckoutRequestID and TransID at most once, each paid
//! request with exactly its one entry, no payment in two entries, and cash
//! at M-Pesa equal to the receipts booked minus the payouts sent.
//!
//! The database keeps `ledger_balances` in each posting's transaction and the
//! daemon cannot write it, so a mismatch here means something outside the
//! posting path (an owner at psql, a restored backup, a bug in a migration)
//! changed the books. The check only reads, so it runs as the runtime role.

use std::fmt;

mod books;
mod payments;

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
    /// A line on a per-member account (savings, shares, loans) that names no
    /// member: the control account would not be the sum of its members'.
    MemberlessLine {
        chama_code: String,
        account_code: i32,
        entry_id: Uuid,
    },
    /// A payment marked paid or booked without its one entry and receipt
    /// (`source` is `stk` or `c2b`; `reference` its CheckoutRequestID or TransID).
    Unbooked {
        chama_code: String,
        source: &'static str,
        reference: String,
        problem: String,
    },
    /// A paid request whose callback named `receipt`, which the registry
    /// holds with another entry: one payment in both `entries` (the
    /// request's, the registry's).
    BookedTwice {
        chama_code: String,
        /// The request's CheckoutRequestID.
        reference: String,
        receipt: String,
        entries: (Uuid, Uuid),
    },
    /// One journal entry named by more than one receipt: a payment booked
    /// under another's entry.
    SharedEntry {
        chama_code: String,
        entry_id: Uuid,
        receipts: Vec<String>,
    },
    /// An entry that moves cash at M-Pesa by other than its receipts minus
    /// its payouts (an entry with neither should not touch it at all).
    Cash {
        chama_code: String,
        entry_id: Uuid,
        /// Net debit of account 1000 in the entry.
        moved: i64,
        /// Receipts minus payouts the entry books.
        booked: i64,
    },
}

impl Mismatch {
    /// Every [`Mismatch::kind`], for metrics that report each one, zero included.
    pub const KINDS: [&'static str; 7] = [
        "balance",
        "entry",
        "memberless_line",
        "unbooked",
        "shared_entry",
        "cash",
        "booked_twice",
    ];

    /// The kind of disagreement: a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Mismatch::Balance { .. } => "balance",
            Mismatch::Entry { .. } => "entry",
            Mismatch::MemberlessLine { .. } => "memberless_line",
            Mismatch::Unbooked { .. } => "unbooked",
            Mismatch::SharedEntry { .. } => "shared_entry",
            Mismatch::Cash { .. } => "cash",
            Mismatch::BookedTwice { .. } => "booked_twice",
        }
    }
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
            Mismatch::MemberlessLine {
                chama_code,
                account_code,
                entry_id,
            } => write!(
                f,
                "member-less line: chama {chama_code} entry {entry_id}: account {account_code} is kept per member"
            ),
            Mismatch::Unbooked {
                chama_code,
                source,
                reference,
                problem,
            } => write!(
                f,
                "unbooked payment: chama {chama_code} {source} {reference}: {problem}"
            ),
            Mismatch::BookedTwice {
                chama_code,
                reference,
                receipt,
                entries,
            } => write!(
                f,
                "payment booked twice: chama {chama_code} stk {reference} receipt {receipt}: \
                 entry {} and entry {}",
                entries.0, entries.1
            ),
            Mismatch::SharedEntry {
                chama_code,
                entry_id,
                receipts,
            } => write!(
                f,
                "shared entry: chama {chama_code} entry {entry_id} books receipts {}",
                receipts.join(", ")
            ),
            Mismatch::Cash {
                chama_code,
                entry_id,
                moved,
                booked,
            } => write!(
                f,
                "cash at m-pesa: chama {chama_code} entry {entry_id} moves it by {moved} but books receipts minus payouts of {booked}"
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
    let mut mismatches = books::balance_mismatches(&mut tx).await?;
    mismatches.extend(books::unbalanced_entries(&mut tx).await?);
    mismatches.extend(payments::unbooked_payments(&mut tx).await?);
    mismatches.extend(payments::payments_booked_twice(&mut tx).await?);
    mismatches.extend(payments::entries_booking_two_payments(&mut tx).await?);
    mismatches.extend(payments::cash_mismatches(&mut tx).await?);
    mismatches.extend(books::lines_without_member(&mut tx).await?);
    tx.commit().await?;
    Ok(CheckReport {
        balances,
        entries,
        mismatches,
    })
}
