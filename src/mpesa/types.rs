//! What goes into an STK push and what comes back, in our terms rather than
//! Daraja's JSON (that lives in `wire.rs`).

use super::MpesaError;
use crate::phone::Msisdn;

/// Daraja's limit on `AccountReference`, the text shown in the PIN prompt.
pub const MAX_ACCOUNT_REFERENCE: usize = 12;
/// Daraja's limit on `TransactionDesc`.
pub const MAX_DESCRIPTION: usize = 13;
/// The largest STK push Daraja takes, in whole shillings (M-Pesa's
/// per-transaction limit).
pub const MAX_STK_AMOUNT: i64 = 250_000;

/// An STK push Daraja will accept: checked once by [`StkPushRequest::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StkPushRequest {
    phone: Msisdn,
    amount: i64,
    account_reference: String,
    description: String,
}

impl StkPushRequest {
    /// Checks the request against Daraja's rules (protocols.md 3.2): a Kenyan
    /// M-Pesa number (`2547…`/`2541…`), a whole-shilling amount of at least 1,
    /// at most KES 250,000, an account reference of 1–12 letters and digits, a description of 1–13
    /// printable characters.
    pub fn new(
        phone: Msisdn,
        amount: i64,
        account_reference: &str,
        description: &str,
    ) -> Result<StkPushRequest, MpesaError> {
        if !is_mpesa_number(phone.to_daraja()) {
            return Err(invalid(format!(
                "{phone} is not a Safaricom-range Kenyan mobile number"
            )));
        }
        if !(1..=MAX_STK_AMOUNT).contains(&amount) {
            return Err(invalid(format!(
                "amount must be KES 1 to {MAX_STK_AMOUNT}, not {amount}"
            )));
        }
        let reference_ok = (1..=MAX_ACCOUNT_REFERENCE).contains(&account_reference.len())
            && account_reference.bytes().all(|b| b.is_ascii_alphanumeric());
        if !reference_ok {
            return Err(invalid(format!(
                "account reference must be 1 to {MAX_ACCOUNT_REFERENCE} letters or digits"
            )));
        }
        let description_ok = (1..=MAX_DESCRIPTION).contains(&description.chars().count())
            && description.chars().all(|c| !c.is_control())
            && !description.trim().is_empty();
        if !description_ok {
            return Err(invalid(format!(
                "description must be 1 to {MAX_DESCRIPTION} printable characters"
            )));
        }
        Ok(StkPushRequest {
            phone,
            amount,
            account_reference: account_reference.to_owned(),
            description: description.to_owned(),
        })
    }

    /// The phone that gets the PIN prompt and pays.
    pub fn phone(&self) -> &Msisdn {
        &self.phone
    }

    /// Whole shillings, at least 1.
    pub fn amount(&self) -> i64 {
        self.amount
    }

    /// Shown to the payer in the prompt; at most 12 letters or digits.
    pub fn account_reference(&self) -> &str {
        &self.account_reference
    }

    /// Daraja's `TransactionDesc`; at most 13 characters.
    pub fn description(&self) -> &str {
        &self.description
    }
}

/// Whether Daraja takes this `254…` number as `PartyA`: 12 digits, `2547…` or
/// `2541…` (the ranges M-Pesa wallets live in).
pub fn is_mpesa_number(daraja: &str) -> bool {
    daraja.len() == 12
        && (daraja.starts_with("2547") || daraja.starts_with("2541"))
        && daraja.bytes().all(|b| b.is_ascii_digit())
}

fn invalid(message: String) -> MpesaError {
    MpesaError::InvalidRequest(message)
}

/// Daraja took the push; the payer now sees a PIN prompt. Not a payment yet:
/// the result comes in the callback or from [`super::DarajaClient::stk_query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StkPushAccepted {
    /// Daraja's id of the request; also in the callback.
    pub merchant_request_id: String,
    /// The key that ties the callback and queries to this push. Persist it
    /// before anything else.
    pub checkout_request_id: String,
    /// Daraja's text for the customer ("Success. Request accepted for processing").
    pub customer_message: String,
}

/// What an STK query learnt about a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StkQueryResult {
    /// The payer has not finished yet (Daraja: "The transaction is being processed").
    Pending,
    /// Final: `result_code` 0 is paid; others as in protocols.md 3.3 (1032
    /// cancelled, 1 insufficient funds, 1037 unreachable, …). A query carries no
    /// receipt number.
    Completed {
        result_code: i64,
        result_desc: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone() -> Msisdn {
        Msisdn::parse("0712345678").unwrap()
    }

    #[test]
    fn a_valid_request_keeps_its_fields() {
        let req = StkPushRequest::new(phone(), 500, "CHAMA0042", "Contribution").unwrap();
        assert_eq!(req.phone(), &phone());
        assert_eq!(req.amount(), 500);
        assert_eq!(req.account_reference(), "CHAMA0042");
        assert_eq!(req.description(), "Contribution");
    }

    #[test]
    fn requests_daraja_would_refuse_are_refused() {
        let refused = |phone: Msisdn, amount, reference: &str, description: &str| {
            matches!(
                StkPushRequest::new(phone, amount, reference, description),
                Err(MpesaError::InvalidRequest(_))
            )
        };
        assert!(refused(phone(), 0, "CHAMA1", "Contribution"));
        assert!(refused(phone(), -5, "CHAMA1", "Contribution"));
        assert!(refused(
            phone(),
            MAX_STK_AMOUNT + 1,
            "CHAMA1",
            "Contribution"
        ));
        assert!(refused(phone(), 10, "", "Contribution"));
        assert!(refused(phone(), 10, "CHAMA0000042X", "Contribution"));
        assert!(refused(phone(), 10, "CHAMA-42", "Contribution"));
        assert!(refused(phone(), 10, "CHAMA1", ""));
        assert!(refused(phone(), 10, "CHAMA1", "Contributions!"));
        assert!(refused(phone(), 10, "CHAMA1", "line\nbreak"));
        let uganda = Msisdn::parse("+256772123456").unwrap();
        assert!(refused(uganda, 10, "CHAMA1", "Contribution"));
    }

    #[test]
    fn limits_are_inclusive() {
        assert!(StkPushRequest::new(phone(), 1, "ABCDEFGHIJ12", "Mchango wa Ju").is_ok());
        assert!(StkPushRequest::new(phone(), MAX_STK_AMOUNT, "A", "x").is_ok());
        let newer_range = Msisdn::parse("0110123456").unwrap();
        assert!(StkPushRequest::new(newer_range, 1, "A", "x").is_ok());
    }
}
