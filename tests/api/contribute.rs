//! Contributions over USSD (issue 15): the member's walk to the M-Pesa
//! prompt in both languages, the intent the confirm hop records (once, however
//! often the hop is sent), the push the worker then makes, and what the main
//! menu says on the next dial.

use std::time::Duration;

use pesachama::chama::Role;
use pesachama::mpesa::fake::{CallbackPlan, FakePlan};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Phone, TestApp, spawn_app, spawn_app_with};
use crate::seed::{self, GRACE};

/// The confirm hop's copies sent at once.
const COPIES: usize = 10;

/// UMOJA collecting `amount` a period, with Grace (PIN 1234) in `lang`.
async fn umoja(app: &TestApp, lang: &str, amount: i64) -> (Uuid, Uuid) {
    let ids = seed::grace(&app.state.db, lang).await;
    sqlx::query("update chamas set contribution_amount = $2 where id = $1")
        .bind(ids.0)
        .bind(amount)
        .execute(&app.state.db)
        .await
        .unwrap();
    ids
}

/// One recorded intent, as the hop wrote it.
#[derive(Debug, sqlx::FromRow)]
struct Intent {
    user_id: Uuid,
    purpose: String,
    amount: i64,
    phone: String,
    account_reference: String,
    status: String,
    idempotency_key: Option<String>,
    checkout_request_id: Option<String>,
}

async fn intents(db: &PgPool) -> Vec<Intent> {
    sqlx::query_as(
        "select user_id, purpose, amount, phone, account_reference, status, idempotency_key,
                checkout_request_id
           from mpesa_stk_requests order by created_at",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

/// Waits until the app's push worker has pushed every intent.
async fn pushed(app: &TestApp) -> Vec<Intent> {
    for _ in 0..100 {
        let all = intents(&app.state.db).await;
        if all.iter().all(|i| i.checkout_request_id.is_some()) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the push worker did not push: {:?}",
        intents(&app.state.db).await
    );
}

fn fake_pushes(app: &TestApp) -> usize {
    app.fakes
        .daraja
        .as_ref()
        .expect("test apps run on the fakes")
        .pushes()
        .len()
}

#[tokio::test]
async fn a_member_pays_this_periods_contribution_in_both_languages() {
    for (lang, steps) in [
        (
            "en",
            [
                "2 Pay contribution",
                "1 This period (KES 1,000)\n2 Other amount to savings\n3 Fine\n4 Loan repayment",
                "Pay KES 1,000 from:\n1 This phone\n2 Another phone",
                "Pay KES 1,000 to Umoja Women Group for this period from this phone?",
                "Enter your PIN",
                "END You will receive an M-Pesa prompt for KES 1,000. Enter your M-Pesa PIN to complete.",
            ],
        ),
        (
            "sw",
            [
                "2 Lipa mchango",
                "1 Mchango wa kipindi (KES 1,000)",
                "Lipa KES 1,000 kutoka:\n1 Simu hii\n2 Simu nyingine",
                "Lipa KES 1,000 kwa Umoja Women Group kwa mchango wa kipindi kutoka simu hii?",
                "Weka PIN yako",
                "END Utapokea ombi la M-Pesa la KES 1,000. Weka PIN yako ya M-Pesa kukamilisha.",
            ],
        ),
    ] {
        let app = spawn_app().await;
        let (umoja_id, grace) = umoja(&app, lang, 1_000).await;
        let mut phone = app.phone(GRACE);
        phone
            .walk(&[
                (None, &[steps[0]]),
                (Some("2"), &[steps[1]]),
                (Some("1"), &[steps[2]]),
                (Some("1"), &[steps[3]]),
                (Some("1"), &[steps[4]]),
                (Some("1234"), &[steps[5]]),
            ])
            .await;
        let [intent] = &intents(&app.state.db).await[..] else {
            panic!("one intent");
        };
        assert_eq!(intent.user_id, grace);
        assert_eq!(intent.purpose, "contribution");
        assert_eq!(intent.amount, 1_000);
        assert_eq!(intent.phone, GRACE);
        assert_eq!(intent.account_reference, "UMOJA");
        assert!(intent.idempotency_key.is_some());
        assert!(["queued", "pending"].contains(&intent.status.as_str()));
        // The worker, not the hop, sent the prompt.
        let [intent] = &pushed(&app).await[..] else {
            panic!("one intent");
        };
        assert!(["pending", "succeeded"].contains(&intent.status.as_str()));
        assert_eq!(fake_pushes(&app), 1);
        // The fake Daraja calls the gateway back: booked once, with its
        // receipt SMS in the member's language.
        let booked = settled(&app).await;
        assert_eq!(booked, "succeeded");
        let balance = pesachama::ledger::member_balance(
            &mut app.state.db.acquire().await.unwrap(),
            umoja_id,
            grace,
        )
        .await
        .unwrap();
        assert_eq!(balance.savings, 1_000);
        let receipt: String = sqlx::query_scalar(
            "select message from sms_outbox where template = 'sms-receipt' and user_id = $1",
        )
        .bind(grace)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
        let word = if lang == "en" { "received" } else { "imepokea" };
        assert!(
            receipt.contains(word) && receipt.contains("KES 1,000"),
            "{receipt}"
        );
        app.database.assert_ledger_consistent().await;
    }
}

/// The one request's status once the callback has settled it.
async fn settled(app: &TestApp) -> String {
    for _ in 0..100 {
        let [intent] = &intents(&app.state.db).await[..] else {
            panic!("one intent");
        };
        if !["queued", "pending"].contains(&intent.status.as_str()) {
            return intent.status.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kept: Vec<(Option<String>, String)> =
        sqlx::query_as("select checkout_request_id, outcome from mpesa_stk_callbacks")
            .fetch_all(&app.state.db)
            .await
            .unwrap();
    panic!(
        "the callback did not settle the payment: {:?}; posted {:?}; kept {kept:?}",
        intents(&app.state.db).await,
        app.fake_daraja().callbacks()
    );
}

#[tokio::test]
async fn the_period_amount_is_what_is_still_owed() {
    let app = spawn_app().await;
    let (umoja_id, grace) = umoja(&app, "en", 1_000).await;
    seed::contribution(&app.state.db, umoja_id, grace, "paid-part", 300, 100).await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["2 Pay contribution"]),
            (Some("2"), &["1 This period (KES 600)"]),
            (Some("1"), &["Pay KES 600 from:"]),
        ])
        .await;

    seed::contribution(&app.state.db, umoja_id, grace, "paid-rest", 500, 100).await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["2 Pay contribution"]),
            (Some("2"), &["1 This period (paid)"]),
            (
                Some("1"),
                &["Nothing is due this period.", "2 Other amount"],
            ),
        ])
        .await;
}

#[tokio::test]
async fn a_relatives_phone_may_pay_and_the_money_is_still_the_members() {
    let app = spawn_app().await;
    let (_, grace) = umoja(&app, "en", 1_000).await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["2 Pay contribution"]),
            (Some("2"), &["2 Other amount to savings"]),
            (Some("2"), &["Enter amount"]),
            (Some("2,500"), &["Pay KES 2,500 from:"]),
            (Some("2"), &["Enter the M-Pesa number"]),
            // Not Kenyan, not a mobile: asked again (the unit tests of
            // `set_payer` cover the rest).
            (Some("+256772123456"), &["Enter a Safaricom number"]),
            (Some("0201234567"), &["Enter a Safaricom number"]),
            (
                Some("0722000111"),
                &["Pay KES 2,500 to Umoja Women Group for savings from 0722***111?"],
            ),
            (Some("1"), &["Enter your PIN"]),
            (
                Some("1234"),
                &["END You will receive an M-Pesa prompt for KES 2,500."],
            ),
        ])
        .await;
    let [intent] = &pushed(&app).await[..] else {
        panic!("one intent");
    };
    assert_eq!(intent.user_id, grace, "booked to the member who started it");
    assert_eq!(
        intent.phone, "+254722000111",
        "the relative's phone gets the prompt"
    );
    assert_eq!(intent.purpose, "contribution");
    let pushed_to = &app.fakes.daraja.as_ref().unwrap().pushes()[0];
    assert_eq!(pushed_to.request.phone().as_e164(), "+254722000111");
}

#[tokio::test]
async fn a_member_of_two_chamas_says_which_one_the_money_is_for() {
    let app = spawn_app().await;
    umoja(&app, "en", 1_000).await;
    let jirani = seed::chama(&app.state.db, "JIRANI", "Jirani Self Help").await;
    seed::member(
        &app.state.db,
        "JIRANI",
        GRACE,
        "Grace Wanjiku",
        Role::Member,
        None,
        "en",
    )
    .await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (
                None,
                &["Select chama:\n1 Jirani Self Help\n2 Umoja Women Group"],
            ),
            (Some("2"), &["2 Pay contribution"]),
            (Some("2"), &["Select chama:\n1 Jirani Self Help"]),
            (Some("1"), &["Pay for:", "1 This period (not set)"]),
            (Some("2"), &["Enter amount"]),
            (Some("700"), &["Pay KES 700 from:"]),
            (Some("1"), &["Pay KES 700 to Jirani Self Help for savings"]),
            (Some("1"), &["Enter your PIN"]),
            (
                Some("1234"),
                &["END You will receive an M-Pesa prompt for KES 700."],
            ),
        ])
        .await;
    let chama: Uuid = sqlx::query_scalar("select chama_id from mpesa_stk_requests")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(chama, jirani);
    let [intent] = &pushed(&app).await[..] else {
        panic!("one intent");
    };
    assert_eq!(intent.account_reference, "JIRANI");
}

#[tokio::test]
async fn amounts_outside_the_bounds_and_the_chamas_rules_are_asked_again() {
    let app = spawn_app().await;
    umoja(&app, "en", 1_000).await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["2 Pay contribution"]),
            (Some("2"), &["3 Fine"]),
            (Some("3"), &["Enter amount"]),
            // "0" is the back key: the smallest wrong amount is a fraction.
            (Some("250001"), &["Enter an amount from 1 to 250,000."]),
            (Some("12.50"), &["Enter an amount from 1 to 250,000."]),
            (Some("300"), &["Pay KES 300 from:"]),
        ])
        .await;
    // Not confirmed: nothing is recorded.
    assert!(intents(&app.state.db).await.is_empty());

    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["2 Pay contribution"]),
            (Some("2"), &["4 Loan repayment"]),
            (Some("4"), &["Enter amount"]),
            (Some("500"), &["You have no loan to repay."]),
            (Some("0"), &["Back"]),
            (Some("3"), &["Enter amount"]),
            (Some("250000"), &["Pay KES 250,000 from:"]),
        ])
        .await;
    assert!(intents(&app.state.db).await.is_empty());
}

#[tokio::test]
async fn a_wrong_pin_records_nothing_and_counts_an_attempt() {
    let app = spawn_app().await;
    umoja(&app, "en", 1_000).await;
    let mut phone = at_pin_screen(&app).await;
    phone
        .walk(&[
            (Some("9999"), &["Wrong PIN. Attempts left: 2."]),
            (Some("12a4"), &["A PIN must be 4 digits."]),
        ])
        .await;
    assert!(intents(&app.state.db).await.is_empty());
    assert_eq!(fake_pushes(&app), 0);
}

#[tokio::test]
async fn copies_of_the_confirm_hop_sent_at_once_record_one_intent_and_one_push() {
    let app = spawn_app_with(|raw| {
        raw.insert("PESACHAMA_USSD_RATE_PER_PHONE".into(), "1000".into());
    })
    .await;
    umoja(&app, "en", 1_000).await;
    let phone = at_pin_screen(&app).await;
    let text = format!("{}*1234", phone.text());
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..COPIES {
        let request = app.client.post(app.url("/ussd/africastalking")).form(&[
            ("sessionId", phone.session.as_str()),
            ("serviceCode", "*384*1234#"),
            ("phoneNumber", GRACE),
            ("networkCode", "63902"),
            ("text", text.as_str()),
        ]);
        copies.spawn(async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        });
    }
    for (status, body) in copies.join_all().await {
        assert_eq!(status, 200);
        assert!(body.contains("You will receive an M-Pesa prompt"), "{body}");
    }
    // And once more, later: a replay.
    let (_, body) = app.hop(&phone.session, GRACE, &text).await;
    assert!(body.contains("You will receive an M-Pesa prompt"), "{body}");
    assert_eq!(pushed(&app).await.len(), 1);
    // Give a second push every chance to happen before counting.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(intents(&app.state.db).await.len(), 1);
    assert_eq!(fake_pushes(&app), 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"pesachama_mpesa_stk_pushes_total{outcome="accepted"}"#),
        "{metrics}"
    );
}

/// Grace at the PIN screen of this period's contribution, from her phone,
/// in whatever language she speaks.
async fn at_pin_screen(app: &TestApp) -> Phone<'_> {
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["2 "]),
            (Some("2"), &["1 ", "4 "]),
            (Some("1"), &["KES 1,000", "2 "]),
            (Some("1"), &["KES 1,000", "1 "]),
            (Some("1"), &["PIN"]),
        ])
        .await;
    phone
}

/// Walks Grace to the END screen of this period's contribution.
async fn contribute(app: &TestApp) {
    let end = at_pin_screen(app).await.send("1234").await;
    assert!(end.starts_with("END"), "{end}");
}

#[tokio::test]
async fn the_main_menu_says_a_payment_is_under_way_then_shows_its_outcome_once() {
    for (lang, processing, outcome, status) in [
        (
            "en",
            "PesaChama\nYour payment of KES 1,000 is being processed.\n1 Balance",
            "PesaChama\nYour payment of KES 1,000 did not go through.\n1 Balance",
            "failed",
        ),
        (
            "sw",
            "PesaChama\nMalipo yako ya KES 1,000 yanashughulikiwa.\n1 Salio",
            "PesaChama\nMalipo yako ya KES 1,000 yamepokelewa.\n1 Salio",
            "succeeded",
        ),
    ] {
        let app = spawn_app().await;
        umoja(&app, lang, 1_000).await;
        // Grace has not answered the M-Pesa prompt yet: no callback.
        app.fake_daraja().set_plan_for(
            &pesachama::phone::Msisdn::parse(GRACE).unwrap(),
            FakePlan {
                decide_after: Duration::from_secs(3600),
                callback: CallbackPlan {
                    copies: 0,
                    ..CallbackPlan::default()
                },
                ..FakePlan::default()
            },
        );
        contribute(&app).await;
        pushed(&app).await;
        let main = app.phone(GRACE).dial().await;
        assert!(main.contains(processing), "{main}");
        // Settled (the callback's work, done here by hand): shown once.
        settle(&app.state.db, status).await;
        let main = app.phone(GRACE).dial().await;
        assert!(main.contains(outcome), "{main}");
        let main = app.phone(GRACE).dial().await;
        assert!(main.starts_with("CON PesaChama\n1 "), "{main}");
        let seen: i64 = sqlx::query_scalar(
            "select count(*) from mpesa_stk_requests where outcome_seen_at is not null",
        )
        .fetch_one(&app.state.db)
        .await
        .unwrap();
        assert_eq!(seen, 1);
    }
}

/// Settles every pending request as `status` without booking anything: the
/// notice reads the status only.
async fn settle(db: &PgPool, status: &str) {
    sqlx::query(
        "update mpesa_stk_requests set status = $1, settled_at = now(), settled_by = 'query'
          where status = 'pending'",
    )
    .bind(status)
    .execute(db)
    .await
    .unwrap();
}
