//! A payment intent: the `mpesa_stk_requests` row a member's confirm hop
//! records, in the hop's transaction, for the push worker to send.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::phone::Msisdn;

/// What the member asked to pay.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    pub chama_id: Uuid,
    /// The member the money is booked to, whoever's phone pays.
    pub user_id: Uuid,
    /// `mpesa_stk_requests.purpose`.
    pub purpose: &'a str,
    /// Whole shillings, 1 to 250,000.
    pub amount: i64,
    /// Another phone that pays; `None`: the member's own.
    pub payer: Option<&'a Msisdn>,
    /// The hop's idempotency key: a copy of the hop records nothing more.
    pub idempotency_key: &'a str,
}

/// Records `intent` as `queued`, due at once, with the chama's code as the
/// account reference. `None` when nothing was recorded: a copy of the hop
/// recorded it first (waited for, so the answer is final), or the member is
/// no active member of the chama.
pub async fn record_intent(
    conn: &mut PgConnection,
    intent: Intent<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into mpesa_stk_requests
               (chama_id, user_id, purpose, amount, phone, account_reference,
                status, idempotency_key, next_push_at)
           select m.chama_id, m.user_id, $3, $4, coalesce($5, u.phone), c.code,
                  'queued', $6, now()
             from chama_members m
             join users u on u.id = m.user_id
             join chamas c on c.id = m.chama_id
            where m.chama_id = $1 and m.user_id = $2 and m.status = 'active'
           on conflict (idempotency_key) do nothing
           returning id"#,
        intent.chama_id,
        intent.user_id,
        intent.purpose,
        intent.amount,
        intent.payer.map(Msisdn::as_e164),
        intent.idempotency_key
    )
    .fetch_optional(conn)
    .await
}
