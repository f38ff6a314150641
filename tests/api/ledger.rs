//! Postings through `ledger::post_entry`, as the runtime role.

use pesachama::ledger::{Line, Posting, PostingError, accounts, post_entry};

use crate::helpers::TestDb;
use crate::seed;

#[tokio::test]
async fn a_line_on_an_unknown_account_code_refuses_the_posting() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (chama, member) = seed::dan(&pool).await;
    // 1999 fits the asset range but is not in the chart: today's silent drop
    // of this line would leave a one-line entry or, with three lines, a
    // balanced entry that is not the one asked for.
    let lines = [
        Line {
            account_code: accounts::CASH,
            member: None,
            amount: 500,
        },
        Line {
            account_code: 1999,
            member: None,
            amount: -200,
        },
        Line {
            account_code: accounts::SAVINGS,
            member: Some(member),
            amount: -300,
        },
    ];

    let mut tx = pool.begin().await.unwrap();
    let outcome = post_entry(
        &mut tx,
        chama,
        "cash:1",
        "Contribution",
        chrono::Utc::now(),
        &lines,
    )
    .await;
    tx.rollback().await.unwrap();

    match outcome {
        Err(PostingError::UnknownAccount { chama_id, code }) => {
            assert_eq!((chama_id, code), (chama, 1999));
        }
        other => panic!("expected UnknownAccount, got {other:?}"),
    }
    let entries: i64 = sqlx::query_scalar("select count(*) from journal_entries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(entries, 0);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_posting_on_known_accounts_is_written_once() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (chama, member) = seed::dan(&pool).await;
    let lines = [
        Line {
            account_code: accounts::CASH,
            member: None,
            amount: 300,
        },
        Line {
            account_code: accounts::SAVINGS,
            member: Some(member),
            amount: -300,
        },
    ];
    for expected_new in [true, false] {
        let mut tx = pool.begin().await.unwrap();
        let outcome = post_entry(
            &mut tx,
            chama,
            "cash:1",
            "Contribution",
            chrono::Utc::now(),
            &lines,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            matches!(outcome, Posting::Posted(_)),
            expected_new,
            "{outcome:?}"
        );
    }
    let report = db.assert_ledger_consistent().await;
    assert_eq!((report.balances, report.entries), (2, 1));
}
