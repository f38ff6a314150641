//! Where the node dies: after the push was written, before the callback
//! (settled by the query, then by the callback), and between the push and
//! writing its CheckoutRequestID down.

use std::time::Duration;

use pesachama::mpesa::fake::{CallbackKind, CallbackPlan};
use pesachama::mpesa::{FakeOutcome, FakePlan};
use serde_json::json;

use super::Gateway;

/// A contribution's entries: one per CheckoutRequestID.
const STK_ENTRIES: &str = "select count(*) from journal_entries where idempotency_key like 'stk:%'";
/// Advisory locks waited for: the ones `settle::lock_checkout` takes.
const WAITING_ON_CHECKOUT: &str =
    "select count(*) from pg_locks where locktype = 'advisory' and not granted";

fn accepted() -> serde_json::Value {
    json!({"ResultCode": 0, "ResultDesc": "Accepted"})
}

#[tokio::test]
async fn killed_before_the_callback_the_query_books_it_after_restart_and_the_late_callback_adds_only_its_receipt()
 {
    let gateway = Gateway::new(&[("MPESA_QUERY_AFTER_SECS", "1")]).await;
    // The payer takes three seconds: the node is dead by then.
    gateway.plan(FakePlan {
        decide_after: Duration::from_secs(3),
        ..FakePlan::of(FakeOutcome::Success)
    });
    let node = gateway.start().await;
    let before = gateway.savings().await;
    gateway.contribute(700).await;
    let pushed = gateway
        .request_until(Some(&node), "pushed", |r| r.checkout_request_id.is_some())
        .await;
    assert_eq!(pushed.status, "pending", "settled before the kill");
    node.kill().await;
    gateway
        .fake_until("posted the callback to the dead node", |fake| {
            fake.callbacks()
                .iter()
                .any(|c| c.kind == CallbackKind::Stk && c.status.is_none())
        })
        .await;

    let node = gateway.start().await;
    let booked = gateway
        .request_until(Some(&node), "settled", |r| r.status != "pending")
        .await;
    assert_eq!(
        (
            booked.status.as_str(),
            booked.settled_by.as_deref(),
            booked.mpesa_receipt.as_deref(),
            booked.flag.as_deref()
        ),
        (
            "succeeded",
            Some("query"),
            None,
            Some("paid per query; no receipt yet")
        )
    );
    assert_eq!(gateway.savings().await, before + 700);
    gateway.assert_books_clean().await;

    // Daraja's callback comes after all, the same body the dead node missed.
    let late = gateway.fake.callbacks()[0].body.clone();
    assert_eq!(gateway.post_callback(&late).await, accepted());

    let settled = gateway.request().await.unwrap();
    assert_eq!(settled.status, "succeeded");
    assert_eq!(settled.mpesa_receipt, gateway.fake.pushes()[0].receipt);
    assert_eq!(settled.flag, None);
    assert_eq!(gateway.savings().await, before + 700);
    assert_eq!(gateway.count(STK_ENTRIES).await, 1);
    assert_eq!(
        gateway.count("select count(*) from mpesa_receipts").await,
        1
    );
    assert_eq!(
        gateway
            .count("select count(*) from mpesa_stk_callbacks where outcome = 'duplicate'")
            .await,
        1
    );
    assert_eq!(gateway.fake.pushes().len(), 1);
    gateway.assert_books_clean().await;
    node.kill().await;
}

#[tokio::test]
async fn killed_after_the_push_the_late_callback_books_it_after_restart_and_the_query_finds_it_settled()
 {
    // The first life queries only after an hour: the callback comes first.
    let gateway = Gateway::new(&[("MPESA_QUERY_AFTER_SECS", "3600")]).await;
    // The payer pays at once; Daraja holds the callback (the test delivers
    // it), while its query already says paid.
    gateway.plan(FakePlan {
        callback: CallbackPlan {
            copies: 0,
            ..CallbackPlan::default()
        },
        ..FakePlan::of(FakeOutcome::Success)
    });
    let node = gateway.start().await;
    let before = gateway.savings().await;
    gateway.contribute(700).await;
    let pushed = gateway
        .request_until(Some(&node), "pushed", |r| r.checkout_request_id.is_some())
        .await;
    node.kill().await;
    let node = gateway.start().await;
    let checkout = pushed.checkout_request_id.unwrap();

    // The callback and the query meet on the request: the test holds the
    // lock they both take, lets the callback queue first, then makes the
    // query due, and lets both go once the query's answer waits too.
    let mut held = gateway.pool.begin().await.unwrap();
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('stk:' || $1, 0))")
        .bind(&checkout)
        .execute(&mut *held)
        .await
        .unwrap();
    let callback = gateway.fake.callback_payload(&checkout).unwrap();
    let posting = {
        let gateway_url = gateway.url("");
        let client = reqwest::Client::new();
        let body = callback.clone();
        tokio::spawn(async move {
            let url = format!(
                "{gateway_url}{}/{}",
                pesachama::mpesa::STK_CALLBACK_PATH,
                super::CALLBACK_TOKEN
            );
            let response = client.post(url).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    wait_for_waiters(&gateway, 1).await;
    sqlx::query("update mpesa_stk_requests set next_query_at = now()")
        .execute(&gateway.pool)
        .await
        .unwrap();
    wait_for_waiters(&gateway, 2).await;
    assert_eq!(gateway.fake.stats().queries, 1);
    held.commit().await.unwrap();

    let (status, answer) = posting.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    let settled = gateway
        .request_until(Some(&node), "queried", |r| r.query_attempts == 1)
        .await;
    assert_eq!(
        (
            settled.status.as_str(),
            settled.settled_by.as_deref(),
            settled.flag.as_deref()
        ),
        ("succeeded", Some("callback"), None)
    );
    assert_eq!(settled.mpesa_receipt, gateway.fake.pushes()[0].receipt);
    assert_eq!(gateway.savings().await, before + 700);
    assert_eq!(gateway.count(STK_ENTRIES).await, 1);
    assert_eq!(
        gateway
            .count("select count(*) from mpesa_stk_callbacks where outcome = 'booked'")
            .await,
        1
    );
    // Daraja sends the callback again: still the one entry.
    assert_eq!(gateway.post_callback(&callback).await, accepted());
    assert_eq!(gateway.count(STK_ENTRIES).await, 1);
    assert_eq!(gateway.savings().await, before + 700);
    assert_eq!(gateway.fake.pushes().len(), 1);
    gateway.assert_books_clean().await;
    node.kill().await;
}

/// Waits until `n` transactions wait on an advisory lock.
async fn wait_for_waiters(gateway: &Gateway, n: i64) {
    for _ in 0..3000 {
        if gateway.count(WAITING_ON_CHECKOUT).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{n} waiters never queued on the request's lock");
}

#[tokio::test]
async fn killed_between_the_push_and_writing_its_id_it_is_never_pushed_again_and_its_kept_callback_books_it()
 {
    let gateway = Gateway::new(&[
        ("MPESA_QUERY_AFTER_SECS", "1"),
        ("PESACHAMA_MPESA_PUSH_CLAIM_TIMEOUT_SECS", "1"),
    ])
    .await;
    // Daraja takes the push, the payer pays and the callback is posted at
    // once, but Daraja's answer to the push is slow: the node dies waiting.
    gateway.plan(FakePlan {
        answer_after: Duration::from_secs(600),
        ..FakePlan::of(FakeOutcome::Success)
    });
    let node = gateway.start().await;
    let before = gateway.savings().await;
    gateway.contribute(700).await;
    gateway
        .fake_until("called back before answering the push", |fake| {
            fake.pushes().len() == 1 && fake.callbacks().iter().any(|c| c.status == Some(200))
        })
        .await;
    let claimed = gateway.request().await.unwrap();
    assert_eq!(
        (
            claimed.status.as_str(),
            claimed.claimed,
            claimed.checkout_request_id
        ),
        ("queued", true, None)
    );
    // The callback named an id the node had not written: kept, unmatched.
    assert_eq!(
        gateway
            .count(
                "select count(*) from mpesa_stk_callbacks where outcome = 'unknown' and not matched"
            )
            .await,
        1
    );
    node.kill().await;

    // The next life takes the dead claim over; the push may have gone out,
    // so it is not pushed again. With no id to query, the reconciliation
    // pass pairs it with the kept callback of its phone and amount (a push
    // nobody paid would wait for the deadline, `mpesa_settle::deadline`).
    let node = gateway.start().await;
    let settled = gateway
        .request_until(Some(&node), "settled", |r| {
            r.status != "queued" && r.status != "pending"
        })
        .await;
    let push = gateway.fake.pushes().remove(0);
    assert_eq!(
        (
            settled.status.as_str(),
            settled.settled_by.as_deref(),
            settled.checkout_request_id.as_deref(),
            settled.mpesa_receipt.as_deref(),
        ),
        (
            "succeeded",
            Some("callback"),
            Some(push.checkout_request_id.as_str()),
            push.receipt.as_deref()
        )
    );
    assert_eq!(gateway.fake.pushes().len(), 1, "pushed again");
    assert_eq!(gateway.fake.stats().queries, 0);
    assert_eq!(gateway.count(STK_ENTRIES).await, 1);
    assert_eq!(gateway.savings().await, before + 700);
    assert_eq!(
        gateway
            .count("select count(*) from audit_logs where action = 'mpesa.stk.callback_adopted'")
            .await,
        1
    );
    assert_eq!(
        gateway
            .count("select count(*) from audit_logs where action = 'mpesa.stk.unknown'")
            .await,
        0
    );
    // Nothing is left for an official.
    let listing = gateway.pending_listing().await;
    assert!(
        listing.contains("no STK requests waiting or flagged"),
        "{listing}"
    );
    gateway.assert_books_clean().await;
    node.kill().await;
}
