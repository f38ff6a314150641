//! The answer to Daraja's validation request, sent before M-Pesa takes the
//! payer's money (only when Safaricom enabled external validation for the
//! shortcode, protocols.md 3.5). A payment whose account number names no
//! chama is refused, so the payer gets their money back at once instead of
//! it waiting unallocated; a bad amount is refused with its own code.

use sqlx::PgConnection;

use super::payment::{Malformed, Payment};

/// What to tell Daraja.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Refused with Daraja's result code.
    Reject(&'static str),
}

impl Verdict {
    /// Daraja's `ResultCode`.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Accept => "0",
            Verdict::Reject(code) => code,
        }
    }

    /// A bounded label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Accept => "accepted",
            Verdict::Reject("C2B00012") => "unknown_account",
            Verdict::Reject("C2B00013") => "invalid_amount",
            Verdict::Reject(_) => "other",
        }
    }
}

/// `C2B00012` invalid account number, `C2B00013` invalid amount, `C2B00016`
/// anything else that makes the body unreadable.
pub async fn decide(
    conn: &mut PgConnection,
    payment: Result<&Payment, &Malformed>,
) -> Result<Verdict, sqlx::Error> {
    let payment = match payment {
        Ok(p) => p,
        Err(m) if m.field == "TransAmount" => return Ok(Verdict::Reject("C2B00013")),
        Err(_) => return Ok(Verdict::Reject("C2B00016")),
    };
    let Some(account) = &payment.account else {
        return Ok(Verdict::Reject("C2B00012"));
    };
    let known = sqlx::query_scalar!(
        r#"select exists (select 1 from chamas where code = $1) as "known!""#,
        account.chama.as_str()
    )
    .fetch_one(conn)
    .await?;
    Ok(if known {
        Verdict::Accept
    } else {
        Verdict::Reject("C2B00012")
    })
}
