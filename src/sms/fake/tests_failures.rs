//! Planned failures, lost answers and `Idempotency-Key` replays, through
//! the real `AtSmsClient`.

use std::sync::Arc;
use std::time::Duration;

use super::tests::{msisdn, start_fake};
use super::*;
use crate::sms::{SmsClient, SmsError};

#[tokio::test]
async fn each_planned_failure_answers_as_at_would_and_sends_nothing() {
    let fake = start_fake().await;
    let client = fake.client().unwrap();
    let to = [msisdn("0712345678"), msisdn("0722000111")];
    let expected = [
        (Failure::ServerError, "transient"),
        (Failure::Throttled, "throttled"),
        (Failure::Unauthorized, "unauthorized"),
    ];
    for (failure, what) in expected {
        fake.fail_next(1, failure);
        let error = client.send(&to, "Habari", what).await.unwrap_err();
        let matches = match failure {
            Failure::ServerError => matches!(error, SmsError::Transient(_)),
            Failure::Throttled => error == SmsError::Throttled,
            _ => error == SmsError::Unauthorized,
        };
        assert!(matches, "{failure:?} gave {error:?}");
    }
    fake.fail_next(1, Failure::InsufficientBalance);
    let results = client.send(&to, "Habari", "broke").await.unwrap();
    for result in &results {
        assert_eq!(
            (result.status_code, result.status.as_str()),
            (405, "InsufficientBalance")
        );
        assert_eq!(result.message_id, None);
    }
    assert!(fake.sent().is_empty());

    // The plan is spent: the next send goes out.
    assert!(client.send(&to, "Habari", "ok").await.is_ok());
    assert_eq!(fake.sent().len(), 2);
}

#[tokio::test]
async fn a_timeout_sends_then_loses_the_answer_and_the_replay_recovers_it() {
    let fake = start_fake().await;
    let impatient = fake.client_waiting(Duration::from_millis(300)).unwrap();
    let to = [msisdn("0712345678")];
    fake.fail_next(1, Failure::Timeout);

    let error = impatient.send(&to, "Risiti", "batch-7").await.unwrap_err();
    assert!(matches!(error, SmsError::Unanswered(_)), "{error:?}");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "AT took it before the answer was lost");

    // The dispatcher's retry carries the same key: same answer, no new SMS.
    let results = fake
        .client()
        .unwrap()
        .send(&to, "Risiti", "batch-7")
        .await
        .unwrap();
    assert_eq!(results[0].message_id.as_ref(), Some(&sent[0].message_id));
    assert_eq!(fake.sent().len(), 1);
    assert_eq!(fake.stats().replays, 1);
}

#[tokio::test]
async fn an_idempotency_key_replays_its_answer_even_when_raced() {
    let fake = start_fake().await;
    let client = Arc::new(fake.client().unwrap());
    let to = [msisdn("0712345678"), msisdn("0722000111")];

    let first = client.send(&to, "Habari", "key-1").await.unwrap();
    let again = client.send(&to, "Habari", "key-1").await.unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.sent().len(), 2);

    // Twenty copies of one request at once still send once.
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            let to = to.clone();
            tokio::spawn(async move { client.send(&to, "Habari", "key-2").await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(fake.sent().len(), 4);
    assert_eq!(fake.stats().replays, 20);

    // A key that was never seen sends anew.
    client.send(&to, "Habari", "key-3").await.unwrap();
    let stats = fake.stats();
    assert_eq!(
        (stats.accepted, stats.distinct, stats.duplicates),
        (6, 2, 4)
    );
}

#[tokio::test]
async fn a_refused_number_stays_refused_while_others_go_out() {
    let fake = start_fake().await;
    let client = fake.client().unwrap();
    let blocked = msisdn("0722000111");
    fake.refuse_number(&blocked, 406, "UserInBlacklist");
    let to = [msisdn("0712345678"), blocked.clone()];
    for key in ["a", "b"] {
        let results = client.send(&to, "Habari", key).await.unwrap();
        assert!(results[0].is_accepted());
        assert_eq!(results[1].status_code, 406);
        assert_eq!(results[1].status, "UserInBlacklist");
        assert_eq!(results[1].message_id, None);
    }
    assert!(fake.sent().iter().all(|sms| sms.to != blocked));
}
