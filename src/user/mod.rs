//! People behind the phones: who a caller is, which chamas they belong to,
//! their language and their PIN.

pub mod pin;

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::chama::Role;
use crate::i18n::Lang;
use crate::phone::Msisdn;

/// A caller known to the platform.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub name: String,
    pub lang: Lang,
    pub has_pin: bool,
    /// The member chose their language on the menus (else `lang` is the
    /// default and the first dial asks).
    pub language_chosen: bool,
    /// Active memberships, by chama name.
    pub memberships: Vec<Membership>,
    /// How long ago (by PostgreSQL's clock) the caller's last USSD session
    /// that ended resumable ended; `None` if none ever did.
    pub interrupted_ago: Option<Duration>,
    /// The caller's last M-Pesa payment, while it is under way or until its
    /// outcome has been shown once.
    pub payment: Option<PaymentNotice>,
}

/// A payment the main menu tells the member about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentNotice {
    /// The `mpesa_stk_requests` row.
    pub id: Uuid,
    pub state: PaymentState,
    /// Whole shillings.
    pub amount: i64,
}

/// Where a payment stands, as a member is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    /// Queued or pushed, no result yet.
    Pending,
    Succeeded,
    Failed,
    /// Nobody could tell (`unknown`): an official checks.
    Unknown,
}

impl PaymentState {
    /// The state of a request with this status.
    pub fn from_status(status: &str) -> Option<PaymentState> {
        Some(match status {
            "queued" | "pending" => PaymentState::Pending,
            "succeeded" => PaymentState::Succeeded,
            "failed" | "cancelled" | "timeout" => PaymentState::Failed,
            "unknown" => PaymentState::Unknown,
            _ => return None,
        })
    }

    /// The selector key of the main menu's notice.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Failed => "failed",
            PaymentState::Unknown => "unknown",
        }
    }
}

/// One active membership of a caller.
#[derive(Debug, Clone)]
pub struct Membership {
    pub chama_id: Uuid,
    pub chama_name: String,
    pub role: Role,
}

/// The caller with this phone and their active memberships; `None` for a
/// phone the platform does not know.
pub async fn find_caller(
    conn: &mut PgConnection,
    phone: &Msisdn,
) -> Result<Option<Caller>, sqlx::Error> {
    // One round trip: the first hop of every session runs this.
    let rows = sqlx::query!(
        r#"select u.id, u.name, u.language, u.pin_hash is not null as "has_pin!",
                  u.language_chosen_at is not null as "language_chosen!",
                  c.id as "chama_id?", c.name as "chama_name?", m.role as "role?",
                  (select (extract(epoch from now() - max(e.received_at)) * 1000)::bigint
                     from ussd_session_ends e
                    where e.user_id = u.id and e.resumable) as "interrupted_ms_ago?",
                  p.id as "payment_id?", p.status as "payment_status?",
                  p.amount as "payment_amount?", p.unseen as "payment_unseen?"
             from users u
             left join chama_members m on m.user_id = u.id and m.status = 'active'
             left join chamas c on c.id = m.chama_id
             -- the last payment (mpesa_stk_requests_member_recent), for
             -- the main menu's notice.
             left join lateral (
                 select r.id, r.status, r.amount, r.outcome_seen_at is null as unseen
                   from mpesa_stk_requests r
                  where r.user_id = u.id
                  order by r.created_at desc
                  limit 1
             ) p on true
            where u.phone = $1
            order by c.name, c.id"#,
        phone.as_e164()
    )
    .fetch_all(conn)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut caller = Caller {
        user_id: first.id,
        name: first.name.clone(),
        lang: Lang::parse(&first.language).unwrap_or(Lang::En),
        has_pin: first.has_pin,
        language_chosen: first.language_chosen,
        memberships: Vec::new(),
        // A clock step can make "ago" negative: that is "just now".
        interrupted_ago: first
            .interrupted_ms_ago
            .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        payment: payment_notice(
            first.payment_id,
            first.payment_status.as_deref(),
            first.payment_amount,
            first.payment_unseen,
        ),
    };
    for row in rows {
        if let (Some(chama_id), Some(chama_name), Some(role)) =
            (row.chama_id, row.chama_name, row.role)
        {
            caller.memberships.push(Membership {
                chama_id,
                chama_name,
                role: Role::from_db(&role).unwrap_or(Role::Member),
            });
        }
    }
    Ok(Some(caller))
}

/// The notice of the caller's last payment: while it is under way, and
/// once settled until the member has seen it.
fn payment_notice(
    id: Option<Uuid>,
    status: Option<&str>,
    amount: Option<i64>,
    unseen: Option<bool>,
) -> Option<PaymentNotice> {
    let state = PaymentState::from_status(status?)?;
    if state != PaymentState::Pending && unseen != Some(true) {
        return None;
    }
    Some(PaymentNotice {
        id: id?,
        state,
        amount: amount?,
    })
}

/// A user's active memberships, by chama name (the order USSD lists them in).
pub async fn memberships(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<Membership>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.id, c.name, m.role
             from chama_members m join chamas c on c.id = m.chama_id
            where m.user_id = $1 and m.status = 'active'
            order by c.name, c.id"#,
        user_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Membership {
            chama_id: r.id,
            chama_name: r.name,
            role: Role::from_db(&r.role).unwrap_or(Role::Member),
        })
        .collect())
}

/// Stores the caller's language and that they chose it; it applies from
/// the next screen on.
pub async fn set_language(
    conn: &mut PgConnection,
    user_id: Uuid,
    lang: Lang,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update users set language = $2, language_chosen_at = coalesce(language_chosen_at, now())
          where id = $1",
        user_id,
        lang.as_str()
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(status: &str, unseen: bool) -> Option<PaymentState> {
        payment_notice(Some(Uuid::nil()), Some(status), Some(1_000), Some(unseen)).map(|n| n.state)
    }

    #[test]
    fn a_payment_under_way_is_always_told_and_an_outcome_until_seen() {
        assert_eq!(notice("queued", false), Some(PaymentState::Pending));
        assert_eq!(notice("pending", true), Some(PaymentState::Pending));
        assert_eq!(notice("succeeded", true), Some(PaymentState::Succeeded));
        assert_eq!(notice("failed", true), Some(PaymentState::Failed));
        assert_eq!(notice("cancelled", true), Some(PaymentState::Failed));
        assert_eq!(notice("unknown", true), Some(PaymentState::Unknown));
        for settled in ["succeeded", "failed", "unknown"] {
            assert_eq!(notice(settled, false), None, "{settled} seen already");
        }
        assert_eq!(notice("something new", true), None);
        assert_eq!(
            payment_notice(None, None, None, None),
            None,
            "no payment ever"
        );
    }
}
