//! Every STK callback as it came, with what the gateway did with it
//! (`mpesa_stk_callbacks`, append-only).

use serde_json::{Value, json};
use sqlx::PgConnection;

/// Longest excerpt of a body that is not JSON kept in the row.
const MAX_UNPARSED: usize = 2_000;

/// One row to append.
pub(super) struct Stored<'a> {
    pub checkout_request_id: Option<&'a str>,
    pub result_code: Option<&'a str>,
    pub matched: bool,
    /// booked, failed, duplicate, unknown, malformed.
    pub outcome: &'static str,
    pub raw: Value,
}

/// The body as JSON for the `raw` column: itself when it is JSON, else an
/// excerpt of its text, so a support person sees what arrived. PostgreSQL's
/// jsonb refuses the NUL character, so NULs are shown as `\0`: a hostile
/// body must be stored, not turned into an error.
pub(super) fn raw_json(body: &[u8]) -> Value {
    let value = serde_json::from_slice(body).unwrap_or_else(|_| {
        let text: String = String::from_utf8_lossy(body)
            .chars()
            .take(MAX_UNPARSED)
            .collect();
        json!({ "unparsed": text, "bytes": body.len() })
    });
    without_nul(value)
}

fn without_nul(value: Value) -> Value {
    let clean = |s: String| {
        if s.contains('\0') {
            s.replace('\0', "\\0")
        } else {
            s
        }
    };
    match value {
        Value::String(s) => Value::String(clean(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nul).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (clean(k), without_nul(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Appends the row in the caller's transaction.
pub(super) async fn append(conn: &mut PgConnection, row: Stored<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into mpesa_stk_callbacks (checkout_request_id, result_code, matched, outcome, raw)
           values ($1, $2, $3, $4, $5)"#,
        row.checkout_request_id,
        row.result_code,
        row.matched,
        row.outcome,
        row.raw
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_never_reach_the_jsonb_column() {
        let raw = raw_json(&[0xff, b'a', 0x00]);
        assert_eq!(raw["unparsed"], "\u{fffd}a\\0");
        let raw = raw_json(br#"{"k\u0000": ["x\u0000y", 1]}"#);
        assert_eq!(raw, json!({"k\\0": ["x\\0y", 1]}));
    }
}
