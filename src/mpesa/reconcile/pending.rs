//! `pesachama mpesa pending`: the STK requests an official may need to look
//! at: waiting (queued, pending), closed without an answer (unknown), or
//! booked with a flag. Phones are masked; amounts in whole shillings.

use std::fmt;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::phone::Msisdn;

/// Rows listed at most; the oldest come first.
const MAX_ROWS: i64 = 500;

/// One request on the list.
#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub status: String,
    pub chama_code: String,
    /// The phone prompted, masked when printed.
    pub phone: Option<Msisdn>,
    pub amount: i64,
    pub purpose: String,
    pub checkout_request_id: Option<String>,
    /// Since the push (or the request, when nothing was pushed).
    pub since: DateTime<Utc>,
    pub query_attempts: i32,
    pub flag: Option<String>,
}

/// The list, oldest first.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<PendingRequest>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select r.status, c.code as chama_code, r.phone, r.amount, r.purpose,
                  r.checkout_request_id, coalesce(r.pushed_at, r.created_at) as "since!",
                  r.query_attempts, r.flag
             from mpesa_stk_requests r
             join chamas c on c.id = r.chama_id
            where r.status in ('queued', 'pending', 'unknown') or r.flag is not null
            order by r.created_at
            limit $1"#,
        MAX_ROWS
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PendingRequest {
            status: r.status,
            chama_code: r.chama_code,
            phone: Msisdn::parse(&r.phone).ok(),
            amount: r.amount,
            purpose: r.purpose,
            checkout_request_id: r.checkout_request_id,
            since: r.since,
            query_attempts: r.query_attempts,
            flag: r.flag,
        })
        .collect())
}

/// The list as the command prints it, ages taken at `now`.
pub struct Listing<'a> {
    pub requests: &'a [PendingRequest],
    pub now: DateTime<Utc>,
}

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.requests.is_empty() {
            return writeln!(f, "no STK requests waiting or flagged");
        }
        writeln!(
            f,
            "{:<9} {:>8}  {:<12} {:<16} {:>9}  {:<14} {:>7}  {:<30} flag",
            "status", "age", "chama", "phone", "amount", "purpose", "queries", "checkout"
        )?;
        for r in self.requests {
            let phone = r
                .phone
                .as_ref()
                .map_or_else(|| "?".to_owned(), ToString::to_string);
            writeln!(
                f,
                "{:<9} {:>8}  {:<12} {:<16} {:>9}  {:<14} {:>7}  {:<30} {}",
                r.status,
                age(self.now - r.since),
                r.chama_code,
                phone,
                r.amount,
                r.purpose,
                r.query_attempts,
                r.checkout_request_id.as_deref().unwrap_or("(none)"),
                r.flag.as_deref().unwrap_or("")
            )?;
        }
        Ok(())
    }
}

/// `45s`, `12m`, `5h`, `3d`.
fn age(elapsed: chrono::TimeDelta) -> String {
    let secs = elapsed.num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_at_a_glance() {
        let ages: Vec<_> = [0, 59, 60, 3599, 3600, 86_399, 86_400, 864_000]
            .into_iter()
            .map(|s| age(chrono::TimeDelta::seconds(s)))
            .collect();
        assert_eq!(ages, ["0s", "59s", "1m", "59m", "1h", "23h", "1d", "10d"]);
    }

    #[test]
    fn phones_are_masked_and_missing_ids_shown() {
        let request = PendingRequest {
            status: "pending".into(),
            chama_code: "UMOJA".into(),
            phone: Msisdn::parse("+254711000004").ok(),
            amount: 1000,
            purpose: "contribution".into(),
            checkout_request_id: None,
            since: Utc::now(),
            query_attempts: 0,
            flag: None,
        };
        let text = Listing {
            requests: std::slice::from_ref(&request),
            now: request.since,
        }
        .to_string();
        assert!(!text.contains("711000004"), "{text}");
        assert!(text.contains("(none)"), "{text}");
        assert!(text.contains("UMOJA"), "{text}");
    }
}
