//! A payment: the journal entry of what was received, the receipt in the
//! registry, the request marked succeeded, the audit row, the member's SMS
//! and the app's event, all in the caller's transaction.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::request::Request;
use super::{Payment, SettleError, SettledBy, notify};
use crate::chama::{Actor, record_audit};
use crate::db::is_violation;
use crate::ledger::{self, MemberBalance, Posting, accounts, post_entry};
use crate::sms::templates::Templates;

/// Why a booked payment waits for an official.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Flag {
    /// Daraja says another amount was paid; that amount was booked.
    Amount { asked: i64, paid: i64 },
    /// Another phone paid than the one prompted.
    Phone,
    /// Booked on a query's word: the receipt number is not known yet.
    NoReceipt,
}

impl Flag {
    /// The metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Flag::Amount { .. } => "amount",
            Flag::Phone => "phone",
            Flag::NoReceipt => "no_receipt",
        }
    }

    fn text(&self) -> String {
        match self {
            Flag::Amount { asked, paid } => format!("amount {paid} != {asked}"),
            // No number here: the column is read by officials and copied
            // into tickets; `paid_phone` holds it.
            Flag::Phone => "paid from another phone".to_owned(),
            Flag::NoReceipt => "paid per query; no receipt yet".to_owned(),
        }
    }
}

/// The account a payment for `purpose` is credited to (chama-domain.md 2.4).
fn credit_account(purpose: &str) -> i32 {
    match purpose {
        "contribution" => accounts::SAVINGS,
        "fine" => accounts::FINES,
        "loan_repayment" => accounts::LOANS,
        "welfare" => accounts::WELFARE,
        "merry_go_round" => accounts::MERRY_GO_ROUND_POT,
        "fee" => accounts::FEES,
        // Money with no rule yet is the member's until an official moves it.
        _ => accounts::PREPAYMENTS,
    }
}

/// The member-facing balance the receipt SMS quotes for `purpose`.
fn balance_for(purpose: &str, balance: &MemberBalance) -> i64 {
    match purpose {
        "fine" => balance.fines_paid,
        "loan_repayment" => balance.loan,
        _ => balance.savings,
    }
}

/// Books `payment` for the open `request`; returns its flags.
pub(super) async fn book(
    conn: &mut PgConnection,
    texts: &Templates,
    request: &Request,
    payment: &Payment,
    by: SettledBy,
) -> Result<Vec<Flag>, SettleError> {
    // What was received is booked, never what was asked: the M-Pesa
    // account holds what Daraja says arrived.
    let amount = payment.amount.unwrap_or(request.amount);
    let paid_phone = payment
        .phone
        .as_ref()
        .filter(|p| p.as_e164() != request.phone);
    let mut flags = Vec::new();
    if amount != request.amount {
        flags.push(Flag::Amount {
            asked: request.amount,
            paid: amount,
        });
    }
    if paid_phone.is_some() {
        flags.push(Flag::Phone);
    }
    if payment.receipt.is_none() {
        flags.push(Flag::NoReceipt);
    }
    let entry_id = post(conn, request, payment, amount).await?;
    if let Some(receipt) = &payment.receipt {
        register_receipt(conn, request, receipt, amount, entry_id).await?;
    }
    let flag =
        (!flags.is_empty()).then(|| flags.iter().map(Flag::text).collect::<Vec<_>>().join("; "));
    sqlx::query!(
        r#"update mpesa_stk_requests
              set status = 'succeeded', result_code = '0', mpesa_receipt = $2,
                  journal_entry_id = $3, settled_at = now(), settled_by = $4,
                  paid_amount = $5, paid_phone = $6, flag = $7
            where id = $1"#,
        request.id,
        payment.receipt,
        entry_id,
        by.as_str(),
        (amount != request.amount).then_some(amount),
        paid_phone.map(|p| p.as_e164().to_owned()),
        flag
    )
    .execute(&mut *conn)
    .await?;
    let details = json!({
        "checkout_request_id": request.checkout_request_id,
        "receipt": payment.receipt,
        "amount": amount,
        "purpose": request.purpose,
        "settled_by": by.as_str(),
        "flag": flag,
    });
    record_audit(
        conn,
        Actor::System,
        "mpesa.stk.booked",
        Some(request.chama_id),
        Some(&request.id.to_string()),
        details.clone(),
    )
    .await?;
    let balance = ledger::member_balance(conn, request.chama_id, request.user_id).await?;
    let balance = balance_for(&request.purpose, &balance);
    notify::receipt_sms(
        conn,
        texts,
        request,
        payment.receipt.as_deref(),
        amount,
        balance,
    )
    .await?;
    notify::app_event(conn, request, "contribution.received", details).await?;
    Ok(flags)
}

/// Debit M-Pesa, credit the purpose's account on the member's line.
async fn post(
    conn: &mut PgConnection,
    request: &Request,
    payment: &Payment,
    amount: i64,
) -> Result<Uuid, SettleError> {
    let lines = ledger::mpesa_receipt_lines(
        amount,
        credit_account(&request.purpose),
        Some(request.user_id),
    );
    let description = match &payment.receipt {
        Some(receipt) => format!("M-Pesa {} {receipt}", request.purpose),
        None => format!("M-Pesa {} (STK query)", request.purpose),
    };
    let posting = post_entry(
        conn,
        request.chama_id,
        &format!("stk:{}", request.checkout_request_id),
        &description,
        payment.paid_at.unwrap_or_else(chrono::Utc::now),
        &lines,
    )
    .await?;
    match posting {
        Posting::Posted(id) => Ok(id),
        Posting::AlreadyPosted => Err(SettleError::EntryExists),
    }
}

/// Claims `receipt` in the registry; a receipt booked meanwhile by another
/// road is [`SettleError::ReceiptTaken`].
pub(super) async fn register_receipt(
    conn: &mut PgConnection,
    request: &Request,
    receipt: &str,
    amount: i64,
    entry_id: Uuid,
) -> Result<(), SettleError> {
    let inserted = sqlx::query!(
        r#"insert into mpesa_receipts (receipt, source, chama_id, amount, journal_entry_id)
           values ($1, 'stk', $2, $3, $4)"#,
        receipt,
        request.chama_id,
        amount,
        entry_id
    )
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_violation(&e, "mpesa_receipts_pkey") => Err(SettleError::ReceiptTaken),
        Err(e) => Err(e.into()),
    }
}
