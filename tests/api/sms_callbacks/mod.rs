//! Africa's Talking's SMS callbacks over HTTP: delivery reports, inbound
//! keywords, and who may post them. Outbound effects are asserted on
//! `sms_outbox` rows (the dispatcher that sends them is tested elsewhere).

mod delivery;
mod guard;
mod inbound;
mod inbound_hostile;

use pesachama::phone::Msisdn;
use pesachama::sms::SmsKind;
use pesachama::sms::outbox::{self, QueuedSms};
use sqlx::PgPool;

use crate::helpers::TestApp;

const DELIVERY: &str = "/sms/africastalking/delivery";
const INBOUND: &str = "/sms/africastalking/inbound";

/// Posts a form; `(status, body)`.
async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = app.ussd_form(path, form).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// An outbox row as the dispatcher leaves it after AT accepted it.
async fn sent_row(db: &PgPool, phone: &str, message_id: &str) {
    let mut tx = db.begin().await.unwrap();
    outbox::queue(
        &mut tx,
        QueuedSms {
            chama_id: None,
            user_id: None,
            phone: &Msisdn::parse(phone).unwrap(),
            message: "PesaChama: test",
            template: "sms-pin-set",
            kind: SmsKind::Alert,
            dedupe_key: &format!("test:{message_id}"),
        },
    )
    .await
    .unwrap();
    sqlx::query(
        "update sms_outbox set status = 'sent', provider_message_id = $1, sent_at = now()
          where dedupe_key = $2",
    )
    .bind(message_id)
    .bind(format!("test:{message_id}"))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Rows of a table, for "nothing stored".
async fn count(db: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(db)
        .await
        .unwrap()
}

/// Posts the same form `n` times at once; the statuses.
async fn post_at_once(app: &TestApp, path: &str, form: &[(&str, &str)], n: usize) -> Vec<u16> {
    let form: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, url, form) = (app.client.clone(), app.url(path), form.clone());
        posts.spawn(async move {
            let response = client.post(url).form(&form).send().await.unwrap();
            response.status().as_u16()
        });
    }
    posts.join_all().await
}

/// One inbound SMS as AT posts it.
pub async fn text(app: &TestApp, id: &str, from: &str, text: &str) {
    let form = [
        ("from", from),
        ("to", "21512"),
        ("text", text),
        ("date", "2026-12-01 06:04:45"),
        ("id", id),
        ("networkCode", "63902"),
    ];
    assert_eq!(
        post(app, INBOUND, &form).await,
        (200, "OK".into()),
        "{text:?}"
    );
}
