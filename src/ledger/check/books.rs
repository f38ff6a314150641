//! The books themselves: running balances against their lines, and entries
//! that balance.

use sqlx::PgConnection;

use super::Mismatch;

/// Every (chama, account, member) whose stored debits or credits differ from
/// its lines', including either side missing.
pub async fn balance_mismatches(conn: &mut PgConnection) -> Result<Vec<Mismatch>, sqlx::Error> {
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
pub async fn unbalanced_entries(conn: &mut PgConnection) -> Result<Vec<Mismatch>, sqlx::Error> {
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

/// Lines on an account kept per member that name no member. The database
/// refuses them on insert; this proves nothing got past it.
pub async fn lines_without_member(conn: &mut PgConnection) -> Result<Vec<Mismatch>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.code as "chama_code!", a.code as "account_code!", l.entry_id as "entry_id!"
             from journal_lines l
             join ledger_accounts a on a.id = l.account_id
             join chamas c on c.id = l.chama_id
            where a.requires_member and l.member_user_id is null
            order by c.code, l.entry_id"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Mismatch::MemberlessLine {
            chama_code: r.chama_code,
            account_code: r.account_code,
            entry_id: r.entry_id,
        })
        .collect())
}
