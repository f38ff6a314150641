//! Dead nodes and competing nodes: nothing lost, nothing sent twice.

use std::collections::HashSet;
use std::sync::Arc;

use pesachama::phone::Msisdn;
use pesachama::sms::{BoxFuture, FakeSms, SmsClient, SmsError, SmsKind, SmsRecipientResult};

use super::{dispatcher, fake_at, phone, queue, row};
use crate::helpers::TestDb;

/// A node that dies inside the send: `forward` decides whether AT got the
/// request first (through the real client). The send never returns.
struct DiesMidSend {
    client: Arc<dyn SmsClient>,
    forward: bool,
}

impl SmsClient for DiesMidSend {
    fn send<'a>(
        &'a self,
        to: &'a [Msisdn],
        message: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SmsRecipientResult>, SmsError>> {
        Box::pin(async move {
            if self.forward {
                let _ = self.client.send(to, message, key).await;
            }
            std::future::pending().await
        })
    }
}

/// Runs a dispatcher that dies mid-send on everything due, and kills it once
/// every row is claimed.
async fn die_mid_send(
    db: &TestDb,
    (client, fake): (&Arc<dyn SmsClient>, &Arc<FakeSms>),
    forward: bool,
    rows: i64,
) {
    let doomed = dispatcher(
        db,
        Arc::new(DiesMidSend {
            client: client.clone(),
            forward,
        }),
    )
    .await;
    let worker = tokio::spawn(async move { doomed.drain_once().await });
    let pool = db.pool().await;
    // Bounded, so a broken dispatcher fails the test instead of hanging it.
    for wait in 0.. {
        assert!(wait < 3_000, "the doomed node never claimed every row");
        let sending: i64 =
            sqlx::query_scalar("select count(*) from sms_outbox where status = 'sending'")
                .fetch_one(&pool)
                .await
                .unwrap();
        if sending == rows && (!forward || fake.sent().len() as i64 == rows) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    worker.abort();
    let _ = worker.await;
    // The sending timeout passes.
    sqlx::query("update sms_outbox set claimed_at = claimed_at - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_node_killed_between_claim_and_send_loses_nothing() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(queue(&pool, &phone(n), "Meeting on Sunday", SmsKind::Reminder).await);
    }
    die_mid_send(&db, (&client, &fake), false, 3).await;
    assert!(fake.sent().is_empty());

    let survivor = dispatcher(&db, client).await;
    let reclaimed = survivor.reclaim().await.unwrap();
    assert_eq!((reclaimed.requeued, reclaimed.parked), (3, 0));
    let drained = survivor.drain_once().await.unwrap();

    assert_eq!((drained.rows, drained.requests), (3, 1));
    assert_eq!(fake.sent().len(), 3, "each sent once");
    for id in ids {
        assert_eq!(row(&pool, id).await.status, "sent");
    }
}

#[tokio::test]
async fn a_node_killed_after_at_took_the_request_sends_nothing_twice() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at().await;
    let receipts = [
        queue(&pool, &phone(1), "Meeting on Sunday", SmsKind::Receipt).await,
        queue(&pool, &phone(2), "Meeting on Sunday", SmsKind::Receipt).await,
    ];
    let otp = queue(&pool, &phone(3), "Your code is 123456", SmsKind::Otp).await;
    die_mid_send(&db, (&client, &fake), true, 3).await;
    let key = row(&pool, receipts[0]).await.batch_key;

    let survivor = dispatcher(&db, client).await;
    let reclaimed = survivor.reclaim().await.unwrap();
    assert_eq!((reclaimed.requeued, reclaimed.parked), (2, 1));
    survivor.drain_once().await.unwrap();

    assert_eq!(fake.sent().len(), 3, "the repeat carried the same key");
    for id in receipts {
        let r = row(&pool, id).await;
        assert_eq!(r.status, "sent");
        assert_eq!(r.batch_key, key);
    }
    let parked = row(&pool, otp).await;
    assert_eq!(parked.status, "parked");
    assert_eq!(parked.failure_reason.as_deref(), Some("sending_timeout"));
    assert!(parked.touched);
}

#[tokio::test]
async fn two_dispatchers_on_one_database_never_send_a_row_twice() {
    const ROWS: u32 = 2_000;
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at().await;
    // Personal texts (one request each) and a bulk text, in one insert.
    sqlx::query(
        "insert into sms_outbox (phone, message, dedupe_key, template, kind)
         select '+2547' || lpad((10000000 + n)::text, 8, '0'),
                case when n % 2 = 0 then 'Receipt ' || n else 'Meeting on Sunday' end,
                'load:' || n, 'sms-test', 'receipt'
           from generate_series(1, $1) n",
    )
    .bind(ROWS as i32)
    .execute(&pool)
    .await
    .unwrap();
    let one = dispatcher(&db, client.clone()).await;
    let two = dispatcher(&db, client).await;

    let (a, b) = tokio::join!(one.drain_once(), two.drain_once());

    assert_eq!(a.unwrap().rows + b.unwrap().rows, ROWS as usize);
    let sent = fake.sent();
    assert_eq!(sent.len(), ROWS as usize);
    let distinct: HashSet<_> = sent
        .iter()
        .map(|s| (s.to.clone(), s.message.clone()))
        .collect();
    assert_eq!(distinct.len(), ROWS as usize, "no row went out twice");
    let unsent: i64 = sqlx::query_scalar("select count(*) from sms_outbox where status <> 'sent'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(unsent, 0);
}
