//! `pesachama mpesa allocate`: an official moves a paybill receipt nobody
//! could match to the member it belongs to, audited. A receipt in a chama's
//! suspense account moves from suspense to the member's savings; one that
//! named no chama is booked into the chosen chama now.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::confirm::{self, ConfirmError};
use super::payer::Payer;
use super::payment::Payment;
use crate::chama::{Actor, record_audit};
use crate::ledger::{self, Amount, Line, accounts};

/// Why an allocation was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum AllocateError {
    #[error("no paybill receipt {0}")]
    UnknownReceipt(String),
    #[error("receipt {0} is already booked to a member")]
    AlreadyAllocated(String),
    #[error(
        "receipt {receipt} is in the suspense account of {chama}; allocate it to a member of {chama}"
    )]
    OtherChama { receipt: String, chama: String },
    #[error("receipt {0} names no chama: say which with --chama")]
    ChamaNeeded(String),
    #[error("no chama {0}")]
    UnknownChama(String),
    #[error("{chama} has no active member number {member_no}")]
    UnknownMember { chama: String, member_no: i32 },
    #[error(transparent)]
    Booking(#[from] ConfirmError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What an allocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocated {
    pub receipt: String,
    pub chama: String,
    pub member_no: i32,
    pub amount: i64,
}

/// Allocates receipt `trans_id` to member `member_no` of `chama` (the
/// receipt's own chama when it has one). Runs in the caller's transaction.
pub async fn allocate(
    conn: &mut PgConnection,
    trans_id: &str,
    chama: Option<&str>,
    member_no: i32,
) -> Result<Allocated, AllocateError> {
    let row = sqlx::query!(
        r#"select r.id, r.shortcode, r.amount, r.trans_time, r.match_method, r.chama_id,
                  r.member_user_id, r.journal_entry_id, c.code as "chama_code?"
             from mpesa_c2b_receipts r left join chamas c on c.id = r.chama_id
            where r.trans_id = $1
              for update of r"#,
        trans_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AllocateError::UnknownReceipt(trans_id.to_owned()))?;
    if row.member_user_id.is_some()
        || !matches!(row.match_method.as_deref(), Some("chama_only" | "none"))
    {
        return Err(AllocateError::AlreadyAllocated(trans_id.to_owned()));
    }
    let code = match (&row.chama_code, chama) {
        (Some(own), Some(asked)) if !own.eq_ignore_ascii_case(asked) => {
            return Err(AllocateError::OtherChama {
                receipt: trans_id.to_owned(),
                chama: own.clone(),
            });
        }
        (Some(own), _) => own.clone(),
        (None, Some(asked)) => asked.trim().to_ascii_uppercase(),
        (None, None) => return Err(AllocateError::ChamaNeeded(trans_id.to_owned())),
    };
    let target = sqlx::query!(
        r#"select c.id as chama_id, m.user_id as "user_id?"
             from chamas c
             left join chama_members m
               on m.chama_id = c.id and m.member_no = $2 and m.status = 'active'
            where c.code = $1"#,
        code,
        member_no
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AllocateError::UnknownChama(code.clone()))?;
    let user = target.user_id.ok_or_else(|| AllocateError::UnknownMember {
        chama: code.clone(),
        member_no,
    })?;
    let payment = Payment {
        shortcode: row.shortcode,
        trans_id: trans_id.to_owned(),
        transaction_type: None,
        time: row.trans_time,
        amount: Amount::parse(&row.amount.to_string())
            .ok_or_else(|| AllocateError::UnknownReceipt(trans_id.to_owned()))?,
        bill_ref: None,
        account: None,
        payer: Payer::Unknown,
    };
    let entry = match row.journal_entry_id {
        // In the chama's suspense: move it to the member.
        Some(_) => from_suspense(conn, target.chama_id, &payment, user).await?,
        // Booked nowhere yet: book it now, straight to the member.
        None => {
            confirm::book(
                conn,
                target.chama_id,
                &payment,
                (accounts::SAVINGS, Some(user)),
            )
            .await?
        }
    };
    let entry_of_receipt = row.journal_entry_id.unwrap_or(entry);
    sqlx::query!(
        r#"update mpesa_c2b_receipts
              set chama_id = $2, member_user_id = $3, journal_entry_id = $4,
                  match_method = 'allocated', matched_at = now()
            where id = $1"#,
        row.id,
        target.chama_id,
        user,
        entry_of_receipt
    )
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        Actor::Cli,
        "mpesa.c2b.allocated",
        Some(target.chama_id),
        Some(trans_id),
        json!({ "member_no": member_no, "amount": payment.amount.shillings(), "entry": entry }),
    )
    .await?;
    Ok(Allocated {
        receipt: trans_id.to_owned(),
        chama: code,
        member_no,
        amount: payment.amount.shillings(),
    })
}

async fn from_suspense(
    conn: &mut PgConnection,
    chama_id: Uuid,
    payment: &Payment,
    user: Uuid,
) -> Result<Uuid, AllocateError> {
    let amount = payment.amount.shillings();
    let lines = [
        Line {
            account_code: accounts::SUSPENSE,
            member: None,
            amount,
        },
        Line {
            account_code: accounts::SAVINGS,
            member: Some(user),
            amount: -amount,
        },
    ];
    let key = format!("c2b-allocate:{}:{}", payment.shortcode, payment.trans_id);
    let description = format!("Paybill payment {} allocated", payment.trans_id);
    match ledger::post_entry(
        conn,
        chama_id,
        &key,
        &description,
        chrono::Utc::now(),
        &lines,
    )
    .await
    .map_err(ConfirmError::from)?
    {
        ledger::Posting::Posted(entry) => Ok(entry),
        ledger::Posting::AlreadyPosted => {
            Err(AllocateError::AlreadyAllocated(payment.trans_id.clone()))
        }
    }
}
