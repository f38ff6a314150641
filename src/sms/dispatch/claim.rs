//! Claiming due rows and grouping them into requests.
//!
//! One statement claims a batch with `for update skip locked`, so any number
//! of workers on any number of nodes share the queue and no row is claimed
//! twice. Rows with the same text in one claim share a batch key and go out
//! as one bulk request; the key is the request's `Idempotency-Key`. A row
//! that already has a key (its last send got no answer) keeps it, so its
//! repeat carries the same key.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::phone::Msisdn;
use crate::sms::SmsKind;

/// Most recipients in one request; a bigger group of one text is split.
pub const MAX_RECIPIENTS: i64 = 1_000;

/// A claimed row as read back.
#[derive(Debug)]
pub struct Claimed {
    pub id: Uuid,
    pub phone: String,
    pub message: String,
    pub template: String,
    pub kind: String,
    pub segments: i32,
    pub batch_key: String,
    pub attempts: i32,
    pub claimed_at: DateTime<Utc>,
}

/// Claims up to `limit` due rows for the claim `claim_id`.
pub async fn claim(
    conn: &mut PgConnection,
    claim_id: Uuid,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"with due as (
               select id, batch_key, md5(message) as digest
                 from sms_outbox
                where status = 'queued' and next_attempt_at <= now()
                order by next_attempt_at
                limit $1
                  for update skip locked
           ), keyed as (
               select id, batch_key,
                      digest || ':' || ((row_number() over (partition by digest order by id) - 1) / $3) as part
                 from due
           )
           update sms_outbox o
              set status = 'sending',
                  claimed_at = now(),
                  attempts = o.attempts + 1,
                  batch_key = coalesce(k.batch_key, $2 || ':' || k.part),
                  updated_at = now()
             from keyed k
            where o.id = k.id
        returning o.id, o.phone, o.message, o.template, o.kind, o.segments,
                  o.batch_key as "batch_key!", o.attempts, o.claimed_at as "claimed_at!""#,
        limit,
        claim_id.simple().to_string(),
        MAX_RECIPIENTS
    )
    .fetch_all(conn)
    .await
}

/// One row of a request.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: Uuid,
    pub phone: Msisdn,
    pub template: String,
    pub kind: SmsKind,
    pub segments: i32,
    pub attempts: i32,
}

/// One request to Africa's Talking: a text, its recipients, its key.
#[derive(Debug)]
pub struct Request {
    pub key: String,
    pub message: String,
    /// The claim's time, which fences the write-back: a row taken back and
    /// claimed again elsewhere has another.
    pub claimed_at: DateTime<Utc>,
    pub recipients: Vec<Recipient>,
}

/// Groups claimed rows by batch key. A row whose phone or kind cannot be
/// read (the table's checks make that a bug) is handed back apart, to be
/// failed rather than sent.
pub fn group(claimed: Vec<Claimed>) -> (Vec<Request>, Vec<Claimed>) {
    let mut requests: Vec<Request> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut unreadable = Vec::new();
    for row in claimed {
        let (Ok(phone), Some(kind)) = (Msisdn::from_stored(&row.phone), SmsKind::parse(&row.kind))
        else {
            unreadable.push(row);
            continue;
        };
        let recipient = Recipient {
            id: row.id,
            phone,
            template: row.template,
            kind,
            segments: row.segments,
            attempts: row.attempts,
        };
        match index.get(&row.batch_key) {
            Some(&i) => requests[i].recipients.push(recipient),
            None => {
                index.insert(row.batch_key.clone(), requests.len());
                requests.push(Request {
                    key: row.batch_key,
                    message: row.message,
                    claimed_at: row.claimed_at,
                    recipients: vec![recipient],
                });
            }
        }
    }
    (requests, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phone: &str, message: &str, key: &str) -> Claimed {
        Claimed {
            id: Uuid::new_v4(),
            phone: phone.into(),
            message: message.into(),
            template: "sms-test".into(),
            kind: "receipt".into(),
            segments: 1,
            batch_key: key.into(),
            attempts: 1,
            claimed_at: Utc::now(),
        }
    }

    #[test]
    fn rows_sharing_a_key_become_one_request() {
        let (requests, unreadable) = group(vec![
            row("+254712345678", "Habari", "c:a:0"),
            row("+254712345679", "Hello Grace", "c:b:0"),
            row("+254712345670", "Habari", "c:a:0"),
        ]);
        assert!(unreadable.is_empty());
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].key, "c:a:0");
        assert_eq!(requests[0].recipients.len(), 2);
        assert_eq!(requests[1].recipients.len(), 1);
    }

    #[test]
    fn an_unreadable_row_is_set_apart() {
        let mut bad_kind = row("+254712345678", "Habari", "k");
        bad_kind.kind = "marketing".into();
        let (requests, unreadable) = group(vec![row("not a phone", "Habari", "k"), bad_kind]);
        assert!(requests.is_empty());
        assert_eq!(unreadable.len(), 2);
    }
}
