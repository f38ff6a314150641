//! M-Pesa money against the books: every paid request and booked paybill
//! receipt has its one entry in the receipt registry, no entry books two
//! receipts, no payment is booked twice, and cash at M-Pesa moves only by
//! receipts and payouts. A push a query said was paid is booked before its
//! receipt is known (Daraja's query names none): its entry counts as its
//! receipt until the callback or a paybill confirmation of the same payment
//! registers one.
//!
//! Receipt numbers, CheckoutRequestIDs and TransIDs are unique by their
//! constraints (`mpesa_receipts` primary key, `mpesa_stk_requests` and
//! `mpesa_c2b_receipts` unique keys); what a constraint cannot say is that
//! the rows on either side point at each other, which is what these prove.

use sqlx::PgConnection;

use super::Mismatch;

/// Succeeded STK requests and booked paybill receipts whose entry and
/// registry row do not agree.
pub async fn unbooked_payments(conn: &mut PgConnection) -> Result<Vec<Mismatch>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.code as "chama_code!", p.source as "source!", p.reference as "reference!",
                  p.problem as "problem!"
             from (
                   select r.chama_id, 'stk' as source,
                          coalesce(r.checkout_request_id, r.id::text) as reference,
                          case when r.journal_entry_id is null then 'paid without an entry'
                               else 'its receipt is not registered with its entry' end as problem
                     from mpesa_stk_requests r
                    where r.status = 'succeeded'
                      and (r.journal_entry_id is null
                           or (r.mpesa_receipt is not null
                               and not exists (select 1 from mpesa_receipts m
                                                where m.receipt = r.mpesa_receipt
                                                  and m.journal_entry_id = r.journal_entry_id)))
                   union all
                   select b.chama_id, 'c2b', b.trans_id,
                          'its TransID is not registered with its entry'
                     from mpesa_c2b_receipts b
                    where b.journal_entry_id is not null
                      and not exists (select 1 from mpesa_receipts m
                                       where m.receipt = b.trans_id
                                         and m.journal_entry_id = b.journal_entry_id)
                  ) p
             join chamas c on c.id = p.chama_id
            order by c.code, p.reference"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Mismatch::Unbooked {
            chama_code: r.chama_code,
            source: if r.source == "c2b" { "c2b" } else { "stk" },
            reference: r.reference,
            problem: r.problem,
        })
        .collect())
}

/// Paid requests whose callback named a receipt that the registry holds
/// with another entry: the payment was booked by the request (a query,
/// before the receipt was known) and again by another road.
pub async fn payments_booked_twice(conn: &mut PgConnection) -> Result<Vec<Mismatch>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.code as "chama_code!", r.checkout_request_id as "reference!",
                  k.receipt as "receipt!", r.journal_entry_id as "entry_id!",
                  m.journal_entry_id as "other_entry_id!"
             from mpesa_stk_requests r
             join lateral (
                   select distinct jsonb_path_query_first(cb.raw,
                            '$.Body.stkCallback.CallbackMetadata.Item[*] ? (@.Name == "MpesaReceiptNumber").Value'
                          ) #>> '{}' as receipt
                     from mpesa_stk_callbacks cb
                    where cb.checkout_request_id = r.checkout_request_id
                      and cb.result_code = '0'
                  ) k on true
             join mpesa_receipts m
               on m.receipt = k.receipt and m.journal_entry_id <> r.journal_entry_id
             join chamas c on c.id = r.chama_id
            where r.status = 'succeeded' and r.journal_entry_id is not null
            order by c.code, r.checkout_request_id"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Mismatch::BookedTwice {
            chama_code: r.chama_code,
            reference: r.reference,
            receipt: r.receipt,
            entries: (r.entry_id, r.other_entry_id),
        })
        .collect())
}

/// Entries that more than one registered receipt claims.
pub async fn entries_booking_two_payments(
    conn: &mut PgConnection,
) -> Result<Vec<Mismatch>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.code as "chama_code!", m.journal_entry_id as "entry_id!",
                  array_agg(m.receipt order by m.receipt) as "receipts!"
             from mpesa_receipts m
             join chamas c on c.id = m.chama_id
            group by c.code, m.journal_entry_id
           having count(*) > 1
            order by c.code, m.journal_entry_id"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Mismatch::SharedEntry {
            chama_code: r.chama_code,
            entry_id: r.entry_id,
            receipts: r.receipts,
        })
        .collect())
}

/// Entries whose movement of cash at M-Pesa (account 1000) differs from the
/// receipts they book minus the payouts they send. Summed over a chama this
/// is "cash at M-Pesa = receipts booked − payouts", and naming the entries
/// says where it breaks.
pub async fn cash_mismatches(conn: &mut PgConnection) -> Result<Vec<Mismatch>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with moved as (
               select l.chama_id, l.entry_id, sum(l.amount)::bigint as net
                 from journal_lines l
                 join ledger_accounts a on a.id = l.account_id
                where a.code = 1000
                group by l.chama_id, l.entry_id
           ), booked as (
               select chama_id, entry_id, sum(amount)::bigint as net
                 from (select chama_id, journal_entry_id as entry_id, amount
                         from mpesa_receipts
                       union all
                       -- paid on a query's word: booked, its receipt not
                       -- known until the callback comes.
                       select chama_id, journal_entry_id, coalesce(paid_amount, amount)
                         from mpesa_stk_requests
                        where status = 'succeeded' and mpesa_receipt is null
                          and journal_entry_id is not null
                       union all
                       select chama_id, journal_entry_id, -amount
                         from mpesa_b2c_payouts
                        where journal_entry_id is not null) links
                group by chama_id, entry_id
           )
           select c.code as "chama_code!", coalesce(m.entry_id, b.entry_id) as "entry_id!",
                  coalesce(m.net, 0) as "moved!", coalesce(b.net, 0) as "booked!"
             from moved m
             full join booked b on b.chama_id = m.chama_id and b.entry_id = m.entry_id
             join chamas c on c.id = coalesce(m.chama_id, b.chama_id)
            where coalesce(m.net, 0) <> coalesce(b.net, 0)
            order by c.code, 2"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Mismatch::Cash {
            chama_code: r.chama_code,
            entry_id: r.entry_id,
            moved: r.moved,
            booked: r.booked,
        })
        .collect())
}
