//! One case: a fresh chama, its operations through the gateway, and the
//! books compared with the model.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use pesachama::chama::Role;
use pesachama::mpesa::fake::CallbackPlan;
use pesachama::mpesa::{
    C2B_CONFIRMATION_PATH, FakePlan, STK_CALLBACK_PATH, StkPushRequest, reconcile,
};
use pesachama::phone::Msisdn;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::model::{MEMBERS, Model, Op, Payee, Payment, PushState};
use crate::helpers::TestApp;
use crate::seed;

/// A case's chama.
struct Chama {
    id: Uuid,
    code: String,
    members: Vec<Member>,
}

struct Member {
    user_id: Uuid,
    phone: Msisdn,
    number: i32,
}

/// A push Daraja accepted: its CheckoutRequestID, and its receipt when paid.
struct Pushed {
    checkout: String,
    receipt: Option<String>,
}

/// What a case has sent so far.
#[derive(Default)]
struct Sent {
    pushes: Vec<Pushed>,
    /// Paybill confirmations, by the model's paybill number.
    paybills: Vec<Value>,
}

/// Runs case `n` and checks the books against `model`.
pub async fn case(app: &TestApp, n: u32, ops: &[Op], model: &Model) {
    let chama = chama(&app.state.db, n).await;
    let mut sent = Sent::default();
    for op in ops {
        run(app, &chama, model, &mut sent, op).await;
    }
    check(app, &chama, &sent, model).await;
}

async fn chama(pool: &PgPool, n: u32) -> Chama {
    let code = format!("PROP{n:04}");
    let id = seed::chama(pool, &code, "Property Chama").await;
    let mut members = Vec::new();
    for m in 0..MEMBERS {
        let phone = Msisdn::parse(&format!("+2547{:05}{m:03}", 20_000 + n)).unwrap();
        let user_id = seed::member(
            pool,
            &code,
            phone.as_e164(),
            "Member",
            Role::Member,
            None,
            "en",
        )
        .await;
        let number = sqlx::query_scalar(
            "select member_no from chama_members where chama_id = $1 and user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .fetch_one(pool)
        .await
        .unwrap();
        members.push(Member {
            user_id,
            phone,
            number,
        });
    }
    Chama { id, code, members }
}

async fn run(app: &TestApp, chama: &Chama, model: &Model, sent: &mut Sent, op: &Op) {
    match *op {
        Op::Push {
            member,
            amount,
            outcome,
            query_final,
        } => {
            let pushed = push(
                app,
                chama,
                member,
                amount,
                FakePlan {
                    // The callback waits for the case; the query answers at
                    // once, or says "being processed" for the whole case.
                    decide_after: Duration::from_secs(if query_final { 0 } else { 3600 }),
                    callback: CallbackPlan {
                        copies: 0,
                        ..CallbackPlan::default()
                    },
                    ..FakePlan::of(outcome)
                },
            )
            .await;
            sent.pushes.push(pushed);
        }
        Op::Callback {
            push,
            copies,
            concurrent,
        } => {
            let body = callback_of(app, &sent.pushes[push]);
            if concurrent {
                post_all(app, STK_CALLBACK_PATH, vec![body; copies]).await;
            } else {
                for _ in 0..copies {
                    post_all(app, STK_CALLBACK_PATH, vec![body.clone()]).await;
                }
            }
        }
        Op::Query => query(app, chama).await,
        Op::QueryWithCallback { push } => {
            let body = callback_of(app, &sent.pushes[push]);
            tokio::join!(
                query(app, chama),
                post_all(app, STK_CALLBACK_PATH, vec![body])
            );
        }
        Op::Paybill {
            paybill,
            to,
            amount,
        } => {
            let (bill_ref, msisdn) = match to {
                Payee::MemberNumber(m) => (
                    format!("{}-{}", chama.code, chama.members[m].number),
                    masked(),
                ),
                Payee::Phone(m) => (
                    chama.code.clone(),
                    chama.members[m].phone.to_daraja().to_owned(),
                ),
                Payee::Chama => (chama.code.clone(), masked()),
                Payee::Nobody => ("NOSUCHCHAMA".to_owned(), masked()),
            };
            let body = confirmation(&trans_id(chama, paybill), amount, &bill_ref, &msisdn);
            sent.paybills.push(body.clone());
            post_all(app, C2B_CONFIRMATION_PATH, vec![body]).await;
        }
        Op::PaybillAgain { paybill } => {
            let body = sent.paybills[paybill].clone();
            post_all(app, C2B_CONFIRMATION_PATH, vec![body]).await;
        }
        Op::PaybillOfPush {
            push,
            with_callback,
        } => {
            let pushed = &sent.pushes[push];
            let payer = &chama.members[model.pushes[push].member];
            let body = confirmation(
                pushed.receipt.as_deref().unwrap(),
                model.pushes[push].amount,
                &format!("{}-{}", chama.code, payer.number),
                payer.phone.to_daraja(),
            );
            if with_callback {
                tokio::join!(
                    post_all(app, C2B_CONFIRMATION_PATH, vec![body]),
                    post_all(app, STK_CALLBACK_PATH, vec![callback_of(app, pushed)])
                );
            } else {
                post_all(app, C2B_CONFIRMATION_PATH, vec![body]).await;
            }
        }
    }
}

/// Pushes `amount` to `member`'s phone with Daraja's `plan`, and records
/// the request as the push worker leaves it: pending, queried in an hour
/// unless a case asks sooner.
async fn push(app: &TestApp, chama: &Chama, member: usize, amount: i64, plan: FakePlan) -> Pushed {
    let member = &chama.members[member];
    app.fake_daraja().set_plan_for(&member.phone, plan);
    let request =
        StkPushRequest::new(member.phone.clone(), amount, &chama.code, "Contribution").unwrap();
    let checkout = app
        .state
        .daraja
        .stk_push(request)
        .await
        .unwrap()
        .checkout_request_id;
    sqlx::query(
        "insert into mpesa_stk_requests
             (chama_id, user_id, purpose, amount, phone, account_reference,
              checkout_request_id, status, pushed_at, created_at, next_query_at)
         values ($1, $2, 'contribution', $3, $4, $5, $6, 'pending',
                 now() - interval '3 minutes', now() - interval '3 minutes',
                 now() + interval '1 hour')",
    )
    .bind(chama.id)
    .bind(member.user_id)
    .bind(amount)
    .bind(member.phone.as_e164())
    .bind(&chama.code)
    .bind(&checkout)
    .execute(&app.state.db)
    .await
    .unwrap();
    let receipt = app
        .fake_daraja()
        .pushes()
        .into_iter()
        .find(|p| p.checkout_request_id == checkout)
        .and_then(|p| p.receipt);
    Pushed { checkout, receipt }
}

/// A reconciliation pass, the chama's pending pushes due.
async fn query(app: &TestApp, chama: &Chama) {
    sqlx::query(
        "update mpesa_stk_requests set next_query_at = now()
          where chama_id = $1 and status = 'pending'",
    )
    .bind(chama.id)
    .execute(&app.state.db)
    .await
    .unwrap();
    reconcile::pass(&app.state).await.unwrap();
}

/// Daraja's callback of `pushed`, as the fake would post it.
fn callback_of(app: &TestApp, pushed: &Pushed) -> Value {
    app.fake_daraja()
        .callback_payload(&pushed.checkout)
        .unwrap()
}

/// A paybill confirmation as Daraja posts it.
fn confirmation(trans_id: &str, amount: i64, bill_ref: &str, msisdn: &str) -> Value {
    let nairobi = (Utc::now() + TimeDelta::hours(3)).format("%Y%m%d%H%M%S");
    json!({
        "TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": nairobi.to_string(),
        "TransAmount": format!("{amount}.00"),
        "BusinessShortCode": pesachama::mpesa::fake::SANDBOX_SHORTCODE,
        "BillRefNumber": bill_ref, "InvoiceNumber": "", "OrgAccountBalance": "",
        "ThirdPartyTransID": "", "MSISDN": msisdn, "FirstName": "MEMBER",
        "MiddleName": "", "LastName": ""
    })
}

/// The TransID of the case's paybill payment `paybill`: unique in the
/// database (the case's number, then the payment's).
fn trans_id(chama: &Chama, paybill: usize) -> String {
    format!("TP{}{paybill:03}", &chama.code[4..])
}

/// C2B v2's payer: names nobody.
fn masked() -> String {
    "2547 ***** 000".to_owned()
}

/// Posts every body to the route at `path` at once; each must be answered
/// as Daraja expects (a 500 would make Daraja send it again).
async fn post_all(app: &TestApp, path: &str, bodies: Vec<Value>) {
    let url = app.url(&format!(
        "{path}/{}",
        app.state.mpesa_callback_token.expose_secret()
    ));
    let mut posts = JoinSet::new();
    for body in bodies {
        let (client, url) = (app.client.clone(), url.clone());
        posts.spawn(async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.ok(),
            )
        });
    }
    for (status, answer) in posts.join_all().await {
        assert_eq!(status, 200, "{path}: {answer:?}");
        assert_eq!(answer.unwrap()["ResultCode"], 0, "{path}");
    }
}

/// Debits minus credits on the chama's account `code`.
async fn account(pool: &PgPool, chama: Uuid, code: i32) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(l.amount), 0)::bigint from journal_lines l
           join ledger_accounts a on a.id = l.account_id
          where a.chama_id = $1 and a.code = $2",
    )
    .bind(chama)
    .bind(code)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Entries whose idempotency key is `key` or matches it as a pattern.
async fn entries(pool: &PgPool, key: &str) -> i64 {
    sqlx::query_scalar("select count(*) from journal_entries where idempotency_key like $1")
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The books against the model: clean, each payment booked once by one
/// road, each member's savings what they paid, each request where the
/// model says.
async fn check(app: &TestApp, chama: &Chama, sent: &Sent, model: &Model) {
    app.database.assert_ledger_consistent().await;
    let pool = &app.state.db;
    let mut conn = pool.acquire().await.unwrap();
    for (m, member) in chama.members.iter().enumerate() {
        let balance = pesachama::ledger::member_balance(&mut conn, chama.id, member.user_id)
            .await
            .unwrap();
        assert_eq!(balance.savings, model.paid_by(m), "savings of member {m}");
    }
    assert_eq!(
        account(pool, chama.id, 1000).await,
        model.paid_in(),
        "M-Pesa"
    );
    assert_eq!(
        -account(pool, chama.id, 2020).await,
        model.in_suspense(),
        "suspense"
    );
    for (p, (pushed, expected)) in sent.pushes.iter().zip(&model.pushes).enumerate() {
        let by_paybill = match &pushed.receipt {
            Some(receipt) => entries(pool, &format!("c2b:%:{receipt}")).await,
            None => 0,
        };
        let by_push = entries(pool, &format!("stk:{}", pushed.checkout)).await;
        assert_eq!(
            by_push + by_paybill,
            i64::from(model.booked.contains_key(&Payment::Push(p))),
            "entries of push {p}"
        );
        let (status, receipt, flag): (String, Option<String>, Option<String>) = sqlx::query_as(
            "select status, mpesa_receipt, flag from mpesa_stk_requests
              where checkout_request_id = $1",
        )
        .bind(&pushed.checkout)
        .fetch_one(pool)
        .await
        .unwrap();
        let as_modelled = match expected.state {
            PushState::Pending { .. } => status == "pending",
            PushState::QueryBooked => status == "succeeded" && receipt.is_none(),
            PushState::Done => {
                let taken = format!(
                    "receipt {} already booked",
                    pushed.receipt.as_deref().unwrap()
                );
                (status == "succeeded" && receipt == pushed.receipt)
                    || (status == "unknown" && flag.is_some_and(|f| f.starts_with(&taken)))
            }
            PushState::Failed => status == "failed",
        };
        assert!(
            as_modelled,
            "push {p} is {status}, the model says {expected:?}"
        );
    }
    for (t, (to, _)) in model.paybills.iter().enumerate() {
        let booked = entries(pool, &format!("c2b:%:{}", trans_id(chama, t))).await;
        assert_eq!(booked, i64::from(*to != Payee::Nobody), "paybill {t}");
    }
}
