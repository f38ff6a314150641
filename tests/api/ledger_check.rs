//! `ledger::check::run`: passes untouched books and reports, by chama code,
//! account code and member id, every balance or entry the owner tampered with.

use pesachama::ledger::check::{self, Mismatch};
use pesachama::ledger::{Line, Posting, accounts, post_entry};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::TestDb;
use crate::seed;

/// UMOJA with one member's contribution of 1,000 savings and 200 shares:
/// three balance rows (M-Pesa, savings, shares) and one entry.
async fn books() -> (TestDb, Uuid) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (chama, member) = seed::dan(&pool).await;
    seed::contribution(&pool, chama, member, "c1", 1_000, 200).await;
    (db, member)
}

/// Runs `sql` as the owner: the runtime role may not write these tables.
async fn as_owner(db: &TestDb, sql: &str) {
    let mut owner = PgConnection::connect(&db.owner_url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut owner).await.unwrap();
    owner.close().await.unwrap();
}

async fn run_check(db: &TestDb) -> check::CheckReport {
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    check::run(&mut conn).await.unwrap()
}

#[tokio::test]
async fn untouched_books_pass() {
    let (db, _) = books().await;
    let report = db.assert_ledger_consistent().await;
    assert_eq!((report.balances, report.entries), (3, 1));
    assert_eq!(
        report.to_string(),
        "ledger check: 3 balances, 1 entries, 0 mismatches"
    );
}

#[tokio::test]
async fn a_tampered_balance_is_reported_with_both_sides() {
    let (db, member) = books().await;
    as_owner(
        &db,
        "update ledger_balances set credits_posted = 5000 where account_code = 2000",
    )
    .await;

    let report = run_check(&db).await;
    assert_eq!(
        report.mismatches,
        vec![Mismatch::Balance {
            chama_code: "UMOJA".into(),
            account_code: 2000,
            member: Some(member),
            stored: Some((0, 5000)),
            posted: Some((0, 1000)),
        }]
    );
    let text = report.mismatches[0].to_string();
    assert!(text.contains("chama UMOJA account 2000"), "{text}");
    assert!(text.contains(&member.to_string()), "{text}");
}

#[tokio::test]
async fn a_missing_and_a_stray_balance_row_are_both_reported() {
    let (db, _) = books().await;
    as_owner(
        &db,
        "delete from ledger_balances where account_code = 1000;
         insert into ledger_balances (chama_id, account_id, account_code, debits_posted)
         select chama_id, id, code, 70 from ledger_accounts where code = 1010;",
    )
    .await;

    let report = run_check(&db).await;
    let found: Vec<_> = report
        .mismatches
        .iter()
        .map(|m| match m {
            Mismatch::Balance {
                account_code,
                member: None,
                stored,
                posted,
                ..
            } => (*account_code, *stored, *posted),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        found,
        vec![(1000, None, Some((1200, 0))), (1010, Some((70, 0)), None)]
    );
}

#[tokio::test]
async fn an_entry_forced_past_the_balance_rule_is_reported() {
    let (db, _) = books().await;
    // Only the owner can switch the ledger's triggers off, and only in its
    // own transaction: a one-line entry that also skips the balance trigger.
    as_owner(
        &db,
        "begin;
         alter table journal_entries disable trigger user;
         alter table journal_lines disable trigger user;
         insert into journal_entries (id, chama_id, description, idempotency_key)
         select 'e0000000-0000-0000-0000-0000000000ff', id, 'Forged', 'forged:1'
           from chamas where code = 'UMOJA';
         insert into journal_lines (entry_id, chama_id, account_id, amount)
         select 'e0000000-0000-0000-0000-0000000000ff', chama_id, id, 999
           from ledger_accounts where code = 1000;
         alter table journal_entries enable trigger user;
         alter table journal_lines enable trigger user;
         commit;",
    )
    .await;

    let report = run_check(&db).await;
    assert_eq!(report.entries, 2);
    assert!(
        report.mismatches.contains(&Mismatch::Entry {
            chama_code: "UMOJA".into(),
            entry_id: "e0000000-0000-0000-0000-0000000000ff".parse().unwrap(),
            lines: 1,
            total: "999".into(),
        }),
        "{:?}",
        report.mismatches
    );
    // Nor is there a receipt for the M-Pesa cash it conjured.
    assert!(
        report.mismatches.contains(&Mismatch::Cash {
            chama_code: "UMOJA".into(),
            entry_id: "e0000000-0000-0000-0000-0000000000ff".parse().unwrap(),
            moved: 999,
            booked: 0,
        }),
        "{:?}",
        report.mismatches
    );
    // The line never reached the balances either.
    assert!(
        report.mismatches.iter().any(|m| matches!(
            m,
            Mismatch::Balance {
                account_code: 1000,
                stored: Some((1200, 0)),
                posted: Some((2199, 0)),
                ..
            }
        )),
        "{:?}",
        report.mismatches
    );
}

#[tokio::test]
async fn m_pesa_cash_moved_without_a_receipt_is_reported_by_entry() {
    let (db, member) = books().await;
    let pool = db.pool().await;
    let mut tx = pool.begin().await.unwrap();
    let chama: Uuid = sqlx::query_scalar("select id from chamas where code = 'UMOJA'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let line = |account_code, member, amount| Line {
        account_code,
        member,
        amount,
    };
    let Posting::Posted(entry) = post_entry(
        &mut tx,
        chama,
        "no-receipt",
        "Savings from nowhere",
        chrono::Utc::now(),
        &[
            line(accounts::MPESA, None, 400),
            line(accounts::SAVINGS, Some(member), -400),
        ],
    )
    .await
    .unwrap() else {
        panic!("a fresh key posts");
    };
    tx.commit().await.unwrap();

    let report = run_check(&db).await;
    assert_eq!(
        report.mismatches,
        vec![Mismatch::Cash {
            chama_code: "UMOJA".into(),
            entry_id: entry,
            moved: 400,
            booked: 0,
        }]
    );
    assert!(report.mismatches[0].to_string().contains("cash at m-pesa"));
}

#[tokio::test]
async fn a_paid_request_whose_receipt_is_not_its_entry_is_reported() {
    let (db, member) = books().await;
    // The owner marks a push paid with the receipt of the existing
    // contribution but no entry of its own: two payments, one booking.
    as_owner(
        &db,
        &format!(
            "insert into mpesa_stk_requests (chama_id, user_id, amount, phone, account_reference,
                                             checkout_request_id, status, mpesa_receipt)
             select m.chama_id, '{member}', 1200, '+254711000099', 'UMOJA', 'ws_CO_forged',
                    'succeeded', m.receipt
               from mpesa_receipts m
               join chamas c on c.id = m.chama_id and c.code = 'UMOJA'"
        ),
    )
    .await;

    let report = run_check(&db).await;
    assert_eq!(
        report.mismatches,
        vec![Mismatch::Unbooked {
            chama_code: "UMOJA".into(),
            source: "stk",
            reference: "ws_CO_forged".into(),
            problem: "paid without an entry".into(),
        }]
    );
}

/// The metric line of `kind` in `text`, e.g. `...{kind="balance"} 1`.
fn mismatches_of(text: &str, kind: &str) -> Option<f64> {
    let prefix = format!("pesachama_ledger_check_mismatches{{kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

/// Polls the app's metrics until the balance gauge reads `want`.
async fn wait_for_balance_gauge(app: &crate::helpers::TestApp, want: f64) {
    for _ in 0..100 {
        if mismatches_of(&app.metrics().await, "balance") == Some(want) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "pesachama_ledger_check_mismatches{{kind=\"balance\"}} never read {want}:\n{}",
        app.metrics().await
    );
}

// The only test whose app schedules checks this often: the gauges are the
// process's, shared by every app of the test binary.
#[tokio::test]
async fn the_daemon_checks_the_books_on_its_schedule_and_raises_then_clears_the_gauge() {
    let app = crate::helpers::spawn_app_with(|raw| {
        raw.insert("PESACHAMA_LEDGER_CHECK_EVERY_SECS".into(), "1".into());
    })
    .await;
    let (chama, member) = seed::dan(&app.state.db).await;
    seed::contribution(&app.state.db, chama, member, "c1", 1_000, 200).await;
    wait_for_balance_gauge(&app, 0.0).await;
    let text = app.metrics().await;
    for kind in Mismatch::KINDS {
        assert_eq!(mismatches_of(&text, kind), Some(0.0), "{kind}: {text}");
    }
    assert!(text.contains("pesachama_ledger_check_runs_total{result=\"clean\"}"));
    assert!(text.contains("pesachama_ledger_check_last_run_timestamp_seconds "));

    let db = &app.database;
    as_owner(
        db,
        "update ledger_balances set credits_posted = 5000 where account_code = 2000",
    )
    .await;
    wait_for_balance_gauge(&app, 1.0).await;
    assert!(
        app.metrics()
            .await
            .contains("pesachama_ledger_check_runs_total{result=\"mismatch\"}")
    );

    as_owner(
        db,
        "update ledger_balances set credits_posted = 1000 where account_code = 2000",
    )
    .await;
    wait_for_balance_gauge(&app, 0.0).await;
}

#[tokio::test]
async fn a_node_skips_the_scheduled_check_while_another_runs_it() {
    let (db, _) = books().await;
    let pool = db.pool().await;
    let report = pesachama::ledger::watch::check_once(&pool).await.unwrap();
    assert!(report.expect("the lock was free").is_consistent());

    let mut other = PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("select pg_advisory_lock(hashtextextended('pesachama:ledger-check', 0))")
        .execute(&mut other)
        .await
        .unwrap();
    let skipped = pesachama::ledger::watch::check_once(&pool).await.unwrap();
    assert_eq!(skipped, None);

    // The lock goes with the session that held it; the run before left none.
    other.close().await.unwrap();
    let again = pesachama::ledger::watch::check_once(&pool).await.unwrap();
    assert!(again.is_some());
}
