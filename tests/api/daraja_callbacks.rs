//! The fake Daraja's callbacks, posted to a local receiver: each outcome,
//! duplicates (one after another and all at once), a callback that never
//! comes, one that comes late after a query, one with another amount, and
//! queries that agree with what the fake decided.

use std::time::Duration;

use pesachama::mpesa::fake::CallbackPlan;
use pesachama::mpesa::{DarajaClient, FakeOutcome, FakePlan, StkQueryResult};

use crate::daraja_support::{
    CALLBACK_TOKEN, item, phone, posted_by, push_to, setup, stk_callbacks,
};

fn plan(callback: CallbackPlan) -> FakePlan {
    FakePlan {
        callback,
        ..FakePlan::default()
    }
}

#[tokio::test]
async fn each_outcome_is_posted_with_its_code_and_reported_by_the_query() {
    let (fake, receiver, client) = setup().await;
    let numbers = [
        "0712000001",
        "0712000002",
        "0712000003",
        "0712000004",
        "0712000005",
        "0712000006",
        "0712000007",
    ];
    let mut ids = Vec::new();
    for (number, outcome) in numbers.iter().zip(FakeOutcome::ALL) {
        fake.set_outcome_for(&phone(number), outcome);
        let accepted = client.stk_push(push_to(number, 100)).await.unwrap();
        ids.push((accepted.checkout_request_id, outcome));
    }
    let received = receiver.wait_for(FakeOutcome::ALL.len()).await;
    for (id, outcome) in &ids {
        let callbacks = stk_callbacks(&received, id);
        assert_eq!(callbacks.len(), 1, "{outcome:?}");
        let callback = callbacks[0];
        assert_eq!(callback["ResultCode"], outcome.result_code(), "{outcome:?}");
        let receipt = item(callback, "MpesaReceiptNumber");
        if *outcome == FakeOutcome::Success {
            let receipt = receipt.unwrap().as_str().unwrap();
            assert_eq!(receipt.len(), 10);
            assert!(
                receipt
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            );
            assert_eq!(item(callback, "Amount").unwrap().as_f64(), Some(100.0));
        } else {
            assert!(callback.get("CallbackMetadata").is_none(), "{outcome:?}");
        }
        let queried = client.stk_query(id).await.unwrap();
        assert!(
            matches!(queried, StkQueryResult::Completed { result_code, .. } if result_code == outcome.result_code()),
            "{outcome:?}: {queried:?}"
        );
    }
    // Posted to the push's CallBackURL, token in the path.
    let expected = format!("/mpesa/stk/callback/{CALLBACK_TOKEN}");
    assert!(received.iter().all(|r| r.path == expected), "{received:?}");
    let posted = posted_by(&fake, FakeOutcome::ALL.len()).await;
    assert!(posted.iter().all(|c| c.status == Some(200)));
}

#[tokio::test]
async fn duplicate_callbacks_come_as_identical_copies_in_turn_or_all_at_once() {
    let (fake, receiver, client) = setup().await;
    for (number, concurrent) in [("0712000001", false), ("0712000002", true)] {
        fake.set_plan_for(
            &phone(number),
            plan(CallbackPlan {
                copies: 5,
                concurrent,
                ..CallbackPlan::default()
            }),
        );
    }
    let in_turn = client.stk_push(push_to("0712000001", 50)).await.unwrap();
    let at_once = client.stk_push(push_to("0712000002", 50)).await.unwrap();
    let received = receiver.wait_for(10).await;
    for id in [&in_turn.checkout_request_id, &at_once.checkout_request_id] {
        let copies = stk_callbacks(&received, id);
        assert_eq!(copies.len(), 5);
        assert!(
            copies.iter().all(|c| *c == copies[0]),
            "copies are identical"
        );
    }
    // The fake records a post once it has read the answer.
    let posted = posted_by(&fake, 10).await;
    assert_eq!(posted.len(), 10);
    assert!(posted.iter().all(|c| c.status == Some(200)));
}

#[tokio::test]
async fn a_callback_that_never_comes_still_leaves_the_query_to_tell() {
    let (fake, receiver, client) = setup().await;
    fake.set_default_plan(plan(CallbackPlan {
        copies: 0,
        ..CallbackPlan::default()
    }));
    let accepted = client.stk_push(push_to("0712345678", 75)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
    assert!(matches!(
        client.stk_query(&accepted.checkout_request_id).await,
        Ok(StkQueryResult::Completed { result_code: 0, .. })
    ));
    assert!(fake.pushes()[0].receipt.is_some(), "paid all the same");
}

#[tokio::test]
async fn a_late_callback_waits_until_a_query_has_reported_the_outcome() {
    let (fake, receiver, client) = setup().await;
    fake.set_default_plan(plan(CallbackPlan {
        after_query: true,
        ..CallbackPlan::default()
    }));
    let accepted = client.stk_push(push_to("0712345678", 75)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty(), "held back until the query");
    let queried = client
        .stk_query(&accepted.checkout_request_id)
        .await
        .unwrap();
    assert!(matches!(
        queried,
        StkQueryResult::Completed { result_code: 0, .. }
    ));
    let received = receiver.wait_for(1).await;
    assert_eq!(
        stk_callbacks(&received, &accepted.checkout_request_id).len(),
        1
    );
}

#[tokio::test]
async fn the_query_says_processing_until_the_payer_decides_then_the_callback_follows() {
    let (fake, receiver, client) = setup().await;
    fake.set_default_outcome(FakeOutcome::Cancelled);
    fake.set_query_delay(Duration::from_millis(600));
    let accepted = client.stk_push(push_to("0712345678", 75)).await.unwrap();
    let id = &accepted.checkout_request_id;
    assert_eq!(client.stk_query(id).await, Ok(StkQueryResult::Pending));
    assert!(
        receiver.received().is_empty(),
        "no callback before the decision"
    );
    let received = receiver.wait_for(1).await;
    assert_eq!(stk_callbacks(&received, id)[0]["ResultCode"], 1032);
    assert!(matches!(
        client.stk_query(id).await,
        Ok(StkQueryResult::Completed {
            result_code: 1032,
            ..
        })
    ));
}

#[tokio::test]
async fn a_callback_can_disagree_with_the_push_about_the_amount() {
    let (fake, receiver, client) = setup().await;
    fake.set_default_plan(plan(CallbackPlan {
        amount_delta: -400,
        ..CallbackPlan::default()
    }));
    let accepted = client.stk_push(push_to("0712345678", 1000)).await.unwrap();
    let received = receiver.wait_for(1).await;
    let callback = stk_callbacks(&received, &accepted.checkout_request_id)[0];
    assert_eq!(item(callback, "Amount").unwrap().as_f64(), Some(600.0));
    assert_eq!(
        fake.callback_payload(&accepted.checkout_request_id)
            .unwrap()["Body"]["stkCallback"],
        *callback
    );
}

#[tokio::test]
async fn a_receiver_that_is_down_is_recorded_as_unreached() {
    let (fake, _receiver, _) = setup().await;
    let nowhere = crate::daraja_support::Receiver::start().await;
    let closed: reqwest::Url = "http://127.0.0.1:9/".parse().unwrap();
    let client = fake
        .client(closed, secrecy::SecretString::from(CALLBACK_TOKEN))
        .unwrap();
    client.stk_push(push_to("0712345678", 10)).await.unwrap();
    let posted = posted_by(&fake, 1).await;
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].status, None);
    assert_eq!(posted[0].error.as_deref(), Some("connect"));
    assert!(nowhere.received().is_empty());
}
