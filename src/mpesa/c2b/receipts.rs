//! The SQL of paybill receipts: the row as Daraja posted it, its links to a
//! chama, member and entry, and the registry that books a receipt once
//! whichever road it came by.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::payment::Payment;

/// Stores the confirmation; `None` when this TransID was stored before.
pub async fn insert(
    conn: &mut PgConnection,
    payment: &Payment,
    raw: &Value,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into mpesa_c2b_receipts
               (shortcode, trans_id, transaction_type, trans_time, amount, bill_ref_number,
                msisdn_masked, raw)
           values ($1, $2, $3, $4, $5, $6, $7, $8)
           on conflict on constraint mpesa_c2b_receipts_trans_id_key do nothing
           returning id"#,
        payment.shortcode,
        payment.trans_id,
        payment.transaction_type,
        payment.time,
        payment.amount.shillings(),
        payment.bill_ref,
        raw.get("MSISDN")
            .and_then(Value::as_str)
            .map(|m| m.chars().take(80).collect::<String>()),
        raw
    )
    .fetch_optional(conn)
    .await
}

/// The chama and entry that booked `receipt`, by any road.
pub async fn booked_entry(
    conn: &mut PgConnection,
    receipt: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    let row = sqlx::query!(
        "select chama_id, journal_entry_id from mpesa_receipts where receipt = $1",
        receipt
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.chama_id, r.journal_entry_id)))
}

/// Registers `receipt` as booked by `entry`; false when another road
/// registered it first (the caller's entry must then roll back).
pub async fn register(
    conn: &mut PgConnection,
    receipt: &str,
    chama_id: Uuid,
    amount: i64,
    entry: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"insert into mpesa_receipts (receipt, source, chama_id, amount, journal_entry_id)
           values ($1, 'c2b', $2, $3, $4)
           on conflict (receipt) do nothing"#,
        receipt,
        chama_id,
        amount,
        entry
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records where the receipt went.
pub async fn link(
    conn: &mut PgConnection,
    row: Uuid,
    chama_id: Option<Uuid>,
    member: Option<Uuid>,
    entry: Option<Uuid>,
    how: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update mpesa_c2b_receipts
              set chama_id = $2, member_user_id = $3, journal_entry_id = $4,
                  match_method = $5, matched_at = case when $3::uuid is null then null else now() end
            where id = $1"#,
        row,
        chama_id,
        member,
        entry,
        how
    )
    .execute(conn)
    .await?;
    Ok(())
}
