//! Running balances (`ledger_balances`), kept by the database in each
//! posting's transaction: the balance screen reads the same figures as a sum
//! of the journal, concurrent postings neither deadlock nor lose a shilling,
//! a rolled-back posting leaves no trace, and the daemon cannot write them.

use pesachama::chama::Role;
use pesachama::ledger::{Line, MemberBalance, Posting, accounts, member_balance, post_entry};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::TestDb;
use crate::seed;

/// The balance read as it was before `ledger_balances`: a sum over every
/// journal line of the chama. Kept here only, as the reference.
const SUMMED_BALANCE: &str = r#"
    select
      coalesce(sum(-l.amount) filter (where a.code = $3 and l.member_user_id = $2), 0)::bigint,
      coalesce(sum(-l.amount) filter (where a.code = $4 and l.member_user_id = $2), 0)::bigint,
      coalesce(sum(l.amount) filter (where a.code = $5 and l.member_user_id = $2), 0)::bigint,
      coalesce(sum(-l.amount) filter (where a.code = $6 and l.member_user_id = $2), 0)::bigint,
      coalesce(sum(l.amount) filter (where a.code between $7 and $8), 0)::bigint
    from journal_lines l
    join ledger_accounts a on a.chama_id = l.chama_id and a.id = l.account_id
    where l.chama_id = $1 and a.chama_id = $1"#;

async fn summed_balance(pool: &PgPool, chama: Uuid, member: Uuid) -> MemberBalance {
    let (savings, shares, loan, fines_paid, chama_total) = sqlx::query_as(SUMMED_BALANCE)
        .bind(chama)
        .bind(member)
        .bind(accounts::SAVINGS)
        .bind(accounts::SHARES)
        .bind(accounts::LOANS)
        .bind(accounts::FINES)
        .bind(accounts::MPESA)
        .bind(accounts::LAST_CASH)
        .fetch_one(pool)
        .await
        .unwrap();
    MemberBalance {
        savings,
        shares,
        loan,
        fines_paid,
        chama_total,
    }
}

fn line(account_code: i32, member: Option<Uuid>, amount: i64) -> Line {
    Line {
        account_code,
        member,
        amount,
    }
}

/// Posts one entry in its own transaction.
async fn post(pool: &PgPool, chama: Uuid, key: &str, lines: &[Line]) -> Posting {
    let mut tx = pool.begin().await.unwrap();
    let posting = post_entry(&mut tx, chama, key, "Test", chrono::Utc::now(), lines)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    posting
}

/// Reverses the entry `key` the way a correction would: a new entry that
/// negates every line, written by one multi-row statement.
async fn reverse(pool: &PgPool, chama: Uuid, key: &str) {
    let mut tx = pool.begin().await.unwrap();
    let (original, reversal): (Uuid, Uuid) = sqlx::query_as(
        r#"insert into journal_entries (chama_id, description, idempotency_key, reversal_of)
           select chama_id, 'Reversal', 'reversal:' || id, id
             from journal_entries where chama_id = $1 and idempotency_key = $2
           returning reversal_of, id"#,
    )
    .bind(chama)
    .bind(key)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        r#"insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount)
           select $1, chama_id, account_id, member_user_id, -amount
             from journal_lines where entry_id = $2"#,
    )
    .bind(reversal)
    .bind(original)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Two chamas, five people (one in both), and every kind of posting the
/// balance screen shows: contributions, loans and repayments, fines, a cash
/// line that names a member, two lines on one account in one entry, and a
/// reversal. Returns every (chama, member) pair.
async fn varied_books(pool: &PgPool) -> Vec<(Uuid, Uuid)> {
    let umoja = seed::chama(pool, "UMOJA", "Umoja Women Group").await;
    let jirani = seed::chama(pool, "JIRANI", "Jirani Self Help").await;
    let mut pairs = Vec::new();
    for (i, (chama_code, chama)) in [("UMOJA", umoja), ("JIRANI", jirani)]
        .into_iter()
        .enumerate()
    {
        for n in 0..3 {
            // +254711000102 joins both chamas.
            let phone = format!("+2547110001{:02}", n + 2 * i);
            let name = format!("Member {n}");
            let member =
                seed::member(pool, chama_code, &phone, &name, Role::Member, None, "en").await;
            pairs.push((chama, member));
        }
    }
    for (k, &(chama, member)) in pairs.iter().enumerate() {
        let k = k as i64;
        let key = |kind: &str| format!("{kind}:{member}:{chama}");
        post(
            pool,
            chama,
            &key("c1"),
            &[
                line(accounts::CASH, None, 1_000 + 100 * k + 200),
                line(accounts::SAVINGS, Some(member), -(1_000 + 100 * k)),
                line(accounts::SHARES, Some(member), -200),
            ],
        )
        .await;
        if k % 2 == 0 {
            post(
                pool,
                chama,
                &key("loan"),
                &[
                    line(accounts::LOANS, Some(member), 5_000),
                    line(accounts::CASH, None, -5_000),
                ],
            )
            .await;
            // A repayment: penalty, then principal, split over two M-Pesa lines.
            post(
                pool,
                chama,
                &key("repay"),
                &[
                    line(accounts::CASH, Some(member), 700),
                    line(accounts::CASH, None, 50),
                    line(accounts::FINES, Some(member), -50),
                    line(accounts::LOANS, Some(member), -700),
                ],
            )
            .await;
        }
        if k % 3 == 1 {
            post(
                pool,
                chama,
                &key("fine"),
                &[
                    line(accounts::CASH, None, 100),
                    line(accounts::FINES, Some(member), -100),
                ],
            )
            .await;
            reverse(pool, chama, &key("fine")).await;
        }
        // Cash moved between the chama's own accounts: no member, no change
        // in the total.
        post(
            pool,
            chama,
            &key("bank"),
            &[line(1010, None, 300), line(accounts::CASH, None, -300)],
        )
        .await;
    }
    pairs
}

#[tokio::test]
async fn the_stored_balance_reads_exactly_what_summing_the_journal_read() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let pairs = varied_books(&pool).await;
    // Someone with no postings at all, in a chama with money.
    let newcomer = seed::member(
        &pool,
        "UMOJA",
        "+254711000199",
        "New",
        Role::Member,
        None,
        "en",
    )
    .await;
    let umoja = pairs[0].0;

    let mut seen = MemberBalance::default();
    for (chama, member) in pairs.into_iter().chain([(umoja, newcomer)]) {
        let mut conn = pool.acquire().await.unwrap();
        let stored = member_balance(&mut conn, chama, member).await.unwrap();
        assert_eq!(
            stored,
            summed_balance(&pool, chama, member).await,
            "{member}"
        );
        seen.savings += stored.savings;
        seen.shares += stored.shares;
        seen.loan += stored.loan;
        seen.fines_paid += stored.fines_paid;
        seen.chama_total += stored.chama_total;
    }
    // Every figure on the screen was exercised, not just zeros.
    assert!(
        seen.savings > 0 && seen.shares > 0 && seen.loan > 0 && seen.fines_paid > 0,
        "{seen:?}"
    );
    assert!(seen.chama_total != 0, "{seen:?}");
    let report = db.assert_ledger_consistent().await;
    assert!(report.entries > 20 && report.balances > 20, "{report}");
}

#[tokio::test]
async fn concurrent_postings_to_the_same_accounts_end_consistent_without_deadlocks() {
    const TASKS: i64 = 20;
    const ENTRIES: i64 = 10;
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let chama = seed::chama(&pool, "UMOJA", "Umoja Women Group").await;
    let mut members = Vec::new();
    for n in 0..3 {
        let phone = format!("+25471100020{n}");
        members
            .push(seed::member(&pool, "UMOJA", &phone, "Member", Role::Member, None, "en").await);
    }

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (pool, members) = (pool.clone(), members.clone());
        tasks.spawn(async move {
            for entry in 0..ENTRIES {
                // Every entry hits M-Pesa and all three members, with the lines
                // in a different order per task: only the trigger's fixed
                // order keeps two postings from locking rows crosswise.
                let mut lines = vec![line(accounts::CASH, None, 3 * (task + 1))];
                lines.extend(
                    members
                        .iter()
                        .map(|m| line(accounts::SAVINGS, Some(*m), -(task + 1))),
                );
                let turn = (task + entry) as usize % lines.len();
                lines.rotate_left(turn);
                if task % 2 == 1 {
                    lines.reverse();
                }
                let key = format!("t{task}:e{entry}");
                let mut tx = pool.begin().await?;
                post_entry(
                    &mut tx,
                    chama,
                    &key,
                    "Concurrent",
                    chrono::Utc::now(),
                    &lines,
                )
                .await
                .map_err(|e| match e {
                    pesachama::ledger::PostingError::Database(e) => e,
                    other => panic!("{other}"),
                })?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(())
        });
    }
    // A deadlock (40P01) or any other error fails here.
    for outcome in tasks.join_all().await {
        outcome.expect("every posting commits");
    }

    let per_member = ENTRIES * TASKS * (TASKS + 1) / 2;
    for member in &members {
        let mut conn = pool.acquire().await.unwrap();
        let balance = member_balance(&mut conn, chama, *member).await.unwrap();
        assert_eq!(balance.savings, per_member);
        assert_eq!(balance.chama_total, 3 * per_member);
    }
    let report = db.assert_ledger_consistent().await;
    assert_eq!(report.entries, TASKS * ENTRIES);
    assert_eq!(report.balances, 4);
}

async fn stored_balances(pool: &PgPool) -> Vec<(i32, Option<Uuid>, i64, i64)> {
    sqlx::query_as(
        "select account_code, member_user_id, debits_posted, credits_posted
           from ledger_balances order by account_code, member_user_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_rolled_back_posting_leaves_the_balances_as_they_were() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (chama, member) = seed::dan(&pool).await;
    seed::contribution(&pool, chama, member, "c1", 1_000, 200).await;
    let before = stored_balances(&pool).await;

    // Touches an existing row (M-Pesa, savings) and would create two (loans, fines).
    let mut tx = pool.begin().await.unwrap();
    let lines = [
        line(accounts::CASH, None, -4_900),
        line(accounts::LOANS, Some(member), 5_000),
        line(accounts::FINES, Some(member), -100),
    ];
    let posted = post_entry(&mut tx, chama, "loan:1", "Loan", chrono::Utc::now(), &lines)
        .await
        .unwrap();
    assert!(matches!(posted, Posting::Posted(_)));
    tx.rollback().await.unwrap();
    assert_eq!(stored_balances(&pool).await, before);

    // An unbalanced entry is refused at commit, and its balances go with it.
    let mut tx = pool.begin().await.unwrap();
    post_entry(
        &mut tx,
        chama,
        "bad:1",
        "Unbalanced",
        chrono::Utc::now(),
        &lines[..2],
    )
    .await
    .unwrap();
    let refused = tx.commit().await.unwrap_err();
    assert!(pesachama::ledger::is_unbalanced(&refused), "{refused}");
    assert_eq!(stored_balances(&pool).await, before);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn the_runtime_role_cannot_write_balances() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (chama, member) = seed::dan(&pool).await;
    seed::contribution(&pool, chama, member, "c1", 1_000, 200).await;
    let before = stored_balances(&pool).await;

    for sql in [
        "update ledger_balances set credits_posted = credits_posted + 1000000",
        "delete from ledger_balances",
        "truncate ledger_balances",
        "insert into ledger_balances (chama_id, account_id, account_code, debits_posted)
           select chama_id, id, code, 1000000 from ledger_accounts where code = 1010",
        "select ledger_balances_add_lines()",
    ] {
        let error = sqlx::query(sql).execute(&pool).await.unwrap_err();
        let code = error
            .as_database_error()
            .and_then(|e| e.code())
            .unwrap_or_default();
        assert_eq!(code, "42501", "{sql}: {error}");
    }
    assert_eq!(stored_balances(&pool).await, before);
    db.assert_ledger_consistent().await;
}
