//! `pesachama ledger statement`: a chama's accounts and its latest entries,
//! or one member's balances and lines, from the same rows the USSD balance
//! and statement screens read.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// One account of the chart with its balance, signed the way its type reads
/// (assets and expenses as debits, the rest as credits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    pub code: i32,
    pub name: String,
    pub balance: i64,
}

/// The chama's accounts that have been posted to, by code.
pub async fn accounts(
    conn: &mut PgConnection,
    chama_id: Uuid,
) -> Result<Vec<AccountBalance>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select a.code, a.name,
                  (case when a.type in ('asset', 'expense') then 1 else -1 end
                   * sum(b.debits_posted - b.credits_posted))::bigint as "balance!"
             from ledger_balances b
             join ledger_accounts a on a.id = b.account_id and a.chama_id = b.chama_id
            where b.chama_id = $1
            group by a.code, a.name, a.type
            order by a.code"#,
        chama_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccountBalance {
            code: r.code,
            name: r.name,
            balance: r.balance,
        })
        .collect())
}

/// One line of an entry, with what the entry says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryLine {
    pub entry_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub description: String,
    /// The M-Pesa receipt the entry books, if it books one.
    pub receipt: Option<String>,
    pub account_code: i32,
    pub member_no: Option<i32>,
    /// Positive debit, negative credit.
    pub amount: i64,
}

/// The lines of the chama's latest `limit` entries (of the member's, when
/// `member` is given: only their lines), newest first.
pub async fn entry_lines(
    conn: &mut PgConnection,
    chama_id: Uuid,
    member: Option<Uuid>,
    limit: i64,
) -> Result<Vec<EntryLine>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with latest as (
               select e.id, e.occurred_at, e.description
                 from journal_entries e
                where e.chama_id = $1
                  and ($2::uuid is null or exists (
                        select 1 from journal_lines l
                         where l.entry_id = e.id and l.member_user_id = $2))
                order by e.occurred_at desc, e.id desc
                limit $3
           )
           select e.id as "entry_id!", e.occurred_at as "occurred_at!",
                  e.description as "description!", r.receipt as "receipt?",
                  a.code as "account_code!", m.member_no as "member_no?",
                  l.amount as "amount!"
             from latest e
             join journal_lines l on l.entry_id = e.id
             join ledger_accounts a on a.id = l.account_id and a.chama_id = l.chama_id
             left join chama_members m on m.chama_id = l.chama_id and m.user_id = l.member_user_id
             left join mpesa_receipts r on r.chama_id = l.chama_id and r.journal_entry_id = e.id
            where $2::uuid is null or l.member_user_id = $2
            order by e.occurred_at desc, e.id desc, a.code"#,
        chama_id,
        member,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| EntryLine {
            entry_id: r.entry_id,
            occurred_at: r.occurred_at,
            description: r.description,
            receipt: r.receipt,
            account_code: r.account_code,
            member_no: r.member_no,
            amount: r.amount,
        })
        .collect())
}

/// `pesachama ledger statement --chama CODE [--member PHONE]`: prints the
/// chama's accounts, or the member's balances as the USSD balance screen
/// shows them, then the latest entries' lines.
pub async fn print(
    url: &secrecy::SecretString,
    chama_code: &str,
    phone: Option<&str>,
    limit: i64,
) -> anyhow::Result<()> {
    use anyhow::Context;

    use crate::i18n::format_kes;

    let pool = crate::db::connect(url).await?;
    let mut conn = pool.acquire().await?;
    let chama = crate::chama::find_chama(&mut conn, chama_code).await?;
    let member = match phone {
        None => None,
        Some(phone) => {
            let phone = crate::phone::Msisdn::parse(phone)
                .with_context(|| format!("invalid phone `{phone}`"))?;
            let members = crate::chama::list_members(&mut conn, chama_code).await?;
            let member = members
                .into_iter()
                .find(|m| m.phone == phone.as_e164())
                .with_context(|| format!("{phone} is not a member of {chama_code}"))?;
            Some(member)
        }
    };
    match &member {
        None => {
            println!("{} {}: accounts", chama.code, chama.name);
            for a in accounts(&mut conn, chama.id).await? {
                println!(
                    "{:>6}  {:<36} {:>14}",
                    a.code,
                    a.name,
                    format_kes(a.balance)
                );
            }
        }
        Some(m) => {
            let b = super::member_balance(&mut conn, chama.id, m.user_id).await?;
            println!(
                "{} {}: member {} {}",
                chama.code, chama.name, m.member_no, m.name
            );
            for (label, amount) in [
                ("Savings", b.savings),
                ("Shares", b.shares),
                ("Loan", b.loan),
                ("Fines paid", b.fines_paid),
                ("Chama holds", b.chama_total),
            ] {
                println!("  {label:<12} {:>14}", format_kes(amount));
            }
        }
    }
    println!();
    println!(
        "{:<16} {:<32} {:<12} {:>7} {:>7} {:>12}",
        "date",
        "entry",
        "receipt",
        "account",
        "member",
        if member.is_some() { "paid in" } else { "debit" }
    );
    let for_member = member.is_some();
    for l in entry_lines(&mut conn, chama.id, member.map(|m| m.user_id), limit).await? {
        let amount = if for_member {
            super::member_side(l.account_code, l.amount)
        } else {
            l.amount
        };
        println!(
            "{:<16} {:<32} {:<12} {:>7} {:>7} {:>12}",
            l.occurred_at.format("%Y-%m-%d %H:%M"),
            l.description.chars().take(32).collect::<String>(),
            l.receipt.as_deref().unwrap_or("-"),
            l.account_code,
            l.member_no
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            amount
        );
    }
    Ok(())
}
