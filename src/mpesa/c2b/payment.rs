//! A paybill payment as Daraja posts it to the validation and confirmation
//! URLs (protocols.md 3.5), read strictly into what booking needs. Every
//! field Daraja sends is a string; a refusal names the field.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use super::payer::Payer;
use super::reference::AccountRef;
use crate::ledger::Amount;
use crate::mpesa::wire::{EAT, TIMESTAMP_FORMAT};

/// The body, field by field as Daraja names them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WirePayment {
    #[serde(default)]
    pub transaction_type: Option<String>,
    #[serde(rename = "TransID")]
    pub trans_id: Option<String>,
    pub trans_time: Option<String>,
    pub trans_amount: Option<String>,
    pub business_short_code: Option<String>,
    #[serde(default)]
    pub bill_ref_number: Option<String>,
    #[serde(rename = "MSISDN", default)]
    pub msisdn: Option<String>,
}

/// A payment we can book.
#[derive(Debug, Clone)]
pub struct Payment {
    pub shortcode: String,
    /// The M-Pesa receipt, the payment's idempotency key.
    pub trans_id: String,
    pub transaction_type: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub amount: Amount,
    /// As typed, for the record.
    pub bill_ref: Option<String>,
    /// What the account number names, if anything.
    pub account: Option<AccountRef>,
    pub payer: Payer,
}

/// Why a body is not a payment: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct Malformed {
    pub field: &'static str,
    pub problem: &'static str,
}

fn bad(field: &'static str, problem: &'static str) -> Malformed {
    Malformed { field, problem }
}

impl Payment {
    pub fn read(wire: WirePayment) -> Result<Payment, Malformed> {
        let trans_id = wire.trans_id.ok_or(bad("TransID", "missing"))?;
        let trans_id = trans_id.trim().to_owned();
        if !(6..=20).contains(&trans_id.len())
            || !trans_id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(bad("TransID", "not an M-Pesa receipt"));
        }
        let shortcode = wire
            .business_short_code
            .ok_or(bad("BusinessShortCode", "missing"))?;
        let shortcode = shortcode.trim().to_owned();
        if !(4..=10).contains(&shortcode.len()) || !shortcode.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("BusinessShortCode", "not a shortcode"));
        }
        let amount = wire.trans_amount.ok_or(bad("TransAmount", "missing"))?;
        let amount = parse_amount(&amount).ok_or(bad("TransAmount", "not whole shillings"))?;
        let time = match wire.trans_time.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => Some(parse_time(t).ok_or(bad("TransTime", "not YYYYMMDDHHmmss"))?),
        };
        let bill_ref = wire
            .bill_ref_number
            .map(|r| r.trim().chars().take(100).collect::<String>())
            .filter(|r| !r.is_empty());
        Ok(Payment {
            shortcode,
            trans_id,
            transaction_type: wire.transaction_type.map(|t| t.chars().take(40).collect()),
            time,
            amount,
            account: bill_ref.as_deref().and_then(AccountRef::parse),
            bill_ref,
            payer: wire.msisdn.as_deref().map_or(Payer::Unknown, Payer::parse),
        })
    }
}

/// `"1000"`, `"1000.00"` or `"1000.0"`: M-Pesa moves whole shillings.
fn parse_amount(input: &str) -> Option<Amount> {
    let input = input.trim();
    let whole = match input.split_once('.') {
        Some((whole, cents)) if !cents.is_empty() && cents.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => input,
    };
    Amount::parse(whole)
}

/// `TransTime`, Nairobi time.
fn parse_time(input: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(input, TIMESTAMP_FORMAT).ok()?;
    EAT.from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(json: serde_json::Value) -> Result<Payment, Malformed> {
        Payment::read(serde_json::from_value(json).unwrap())
    }

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "TransactionType": "Pay Bill", "TransID": "RKL51ZDR4F", "TransTime": "20231121121325",
            "TransAmount": "1500.00", "BusinessShortCode": "600966", "BillRefNumber": "umoja-17",
            "InvoiceNumber": "", "OrgAccountBalance": "25.00", "ThirdPartyTransID": "",
            "MSISDN": "2547 ***** 126", "FirstName": "NICHOLAS", "MiddleName": "", "LastName": ""
        })
    }

    #[test]
    fn daraja_sample_reads() {
        let p = wire(sample()).unwrap();
        assert_eq!(p.trans_id, "RKL51ZDR4F");
        assert_eq!(p.amount.shillings(), 1500);
        assert_eq!(p.time.unwrap().to_rfc3339(), "2023-11-21T09:13:25+00:00");
        let account = p.account.unwrap();
        assert_eq!(
            (account.chama.as_str(), account.member_no),
            ("UMOJA", Some(17))
        );
        assert_eq!(p.payer, Payer::Masked("2547*****126".into()));
    }

    #[test]
    fn each_bad_field_is_named() {
        for (field, value, named) in [
            ("TransID", serde_json::Value::Null, "TransID"),
            ("TransID", "rkl51zdr4f".into(), "TransID"),
            ("TransAmount", "5.50".into(), "TransAmount"),
            ("TransAmount", "0".into(), "TransAmount"),
            ("TransAmount", "-100".into(), "TransAmount"),
            ("TransAmount", "1e3".into(), "TransAmount"),
            ("BusinessShortCode", "60-0966".into(), "BusinessShortCode"),
            ("TransTime", "2023-11-21".into(), "TransTime"),
        ] {
            let mut body = sample();
            body[field] = value;
            assert_eq!(wire(body).unwrap_err().field, named, "{field}");
        }
    }
}
