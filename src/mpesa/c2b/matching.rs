//! Whose payment a paybill confirmation is: the chama its account number
//! names, and the member by the number typed after the code or by the
//! payer's registered phone.

use sqlx::PgConnection;
use uuid::Uuid;

use super::payer::Payer;
use super::payment::Payment;
use crate::phone::Msisdn;

/// A member a payment can be booked to.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub phone: String,
    pub language: String,
}

/// Where a payment goes.
#[derive(Debug, Clone)]
pub enum Match {
    /// To this member of this chama; `how` is `member_number` or `phone`.
    Member {
        chama_id: Uuid,
        member: Member,
        how: &'static str,
    },
    /// The chama is known, the member is not: its suspense account.
    ChamaOnly { chama_id: Uuid },
    /// Nothing names a chama: kept unallocated for an official.
    Nobody,
}

/// Matches `payment`: the member number first (the payer said who), then a
/// registered phone among the named chama's members; with no chama named, a
/// plain phone of someone in exactly one chama.
pub async fn find(conn: &mut PgConnection, payment: &Payment) -> Result<Match, sqlx::Error> {
    let Some(account) = &payment.account else {
        return by_phone_alone(conn, &payment.payer).await;
    };
    let Some(chama_id) = chama_id(conn, account.chama.as_str()).await? else {
        return by_phone_alone(conn, &payment.payer).await;
    };
    if let Some(no) = account.member_no {
        if let Some(member) = member_by_number(conn, chama_id, no).await? {
            return Ok(Match::Member {
                chama_id,
                member,
                how: "member_number",
            });
        }
    }
    if matches!(payment.payer, Payer::Plain(_) | Payer::Hashed(_)) {
        for member in active_members(conn, chama_id).await? {
            if Msisdn::from_stored(&member.phone).is_ok_and(|p| payment.payer.is(&p)) {
                return Ok(Match::Member {
                    chama_id,
                    member,
                    how: "phone",
                });
            }
        }
    }
    Ok(Match::ChamaOnly { chama_id })
}

async fn by_phone_alone(conn: &mut PgConnection, payer: &Payer) -> Result<Match, sqlx::Error> {
    // A hash cannot be looked up, and hashing every member's phone to find
    // one would make an unknown account number cost a table scan.
    let Payer::Plain(phone) = payer else {
        return Ok(Match::Nobody);
    };
    let rows = sqlx::query!(
        r#"select m.chama_id, u.id as user_id, u.phone, u.language
             from users u
             join chama_members m on m.user_id = u.id and m.status = 'active'
            where u.phone = $1"#,
        phone.as_e164()
    )
    .fetch_all(conn)
    .await?;
    Ok(match rows.as_slice() {
        [only] => Match::Member {
            chama_id: only.chama_id,
            member: Member {
                user_id: only.user_id,
                phone: only.phone.clone(),
                language: only.language.clone(),
            },
            how: "phone",
        },
        _ => Match::Nobody,
    })
}

pub(super) async fn chama_id(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("select id from chamas where code = $1", code)
        .fetch_optional(conn)
        .await
}

async fn member_by_number(
    conn: &mut PgConnection,
    chama_id: Uuid,
    member_no: i32,
) -> Result<Option<Member>, sqlx::Error> {
    sqlx::query_as!(
        Member,
        r#"select u.id as user_id, u.phone, u.language
             from chama_members m join users u on u.id = m.user_id
            where m.chama_id = $1 and m.member_no = $2 and m.status = 'active'"#,
        chama_id,
        member_no
    )
    .fetch_optional(conn)
    .await
}

async fn active_members(
    conn: &mut PgConnection,
    chama_id: Uuid,
) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as!(
        Member,
        r#"select u.id as user_id, u.phone, u.language
             from chama_members m join users u on u.id = m.user_id
            where m.chama_id = $1 and m.status = 'active'
            order by m.member_no"#,
        chama_id
    )
    .fetch_all(conn)
    .await
}
