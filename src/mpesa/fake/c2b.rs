//! C2B (protocols.md 3.5): URL registration per shortcode, and paybill
//! payments made on demand (`POST /fake/c2b`, or [`FakeDaraja::pay_bill`]),
//! which call the validation URL when validation is on and then post the
//! confirmation, in Daraja's shapes: once, or several times, or never
//! (Safaricom documents no delivery policy, and integrators report both
//! repeated and lost confirmations, protocols.md 3.8).

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::check::{self, text};
use super::poster::CallbackKind;
use super::token::{Authorised, refuse};
use super::{FakeDaraja, Receipt};
use crate::mpesa::MAX_STK_AMOUNT;
use crate::mpesa::types::is_mpesa_number;
use crate::mpesa::wire;
use crate::phone::Msisdn;

/// Longest account number a payer can type (protocols.md 3.5).
const MAX_BILL_REF: usize = 20;
/// Most deliveries of one confirmation.
const MAX_COPIES: u32 = 10;

/// URLs registered for one shortcode.
#[derive(Debug, Clone)]
pub(super) struct Registration {
    /// `Completed` or `Cancelled`: what happens when validation gets no answer.
    response_type: String,
    confirmation_url: String,
    validation_url: String,
    /// The API version registered through: v1 sends the payer's number
    /// hashed, v2 masked.
    version: u8,
}

pub(super) fn routes() -> Router<Arc<FakeDaraja>> {
    Router::new()
        .route("/mpesa/c2b/v1/registerurl", post(register_v1))
        .route("/mpesa/c2b/v2/registerurl", post(register_v2))
        .route("/fake/c2b", post(pay))
}

async fn register_v1(
    State(fake): State<Arc<FakeDaraja>>,
    Authorised(body): Authorised,
) -> Response {
    register(&fake, &body, 1)
}

async fn register_v2(
    State(fake): State<Arc<FakeDaraja>>,
    Authorised(body): Authorised,
) -> Response {
    register(&fake, &body, 2)
}

fn register(fake: &FakeDaraja, body: &Value, version: u8) -> Response {
    if text(body, "ShortCode") != fake.config.shortcode {
        return refuse(fake, check::bad_request("Invalid ShortCode"));
    }
    // Exact case, as Daraja wants it.
    let response_type = text(body, "ResponseType");
    if !matches!(response_type.as_str(), "Completed" | "Cancelled") {
        return refuse(fake, check::bad_request("Invalid ResponseType"));
    }
    let mut urls = Vec::with_capacity(2);
    for field in ["ConfirmationURL", "ValidationURL"] {
        let url = text(body, field);
        if !check::c2b_url_ok(&url) {
            return refuse(fake, check::bad_request(&format!("Invalid {field}")));
        }
        urls.push(url);
    }
    let (confirmation_url, validation_url) = (urls.remove(0), urls.remove(0));
    // The sandbox lets a shortcode register again; production would answer
    // `500.003.1001 Urls are already registered`.
    fake.lock().c2b_urls.insert(
        fake.config.shortcode.clone(),
        Registration {
            response_type,
            confirmation_url,
            validation_url,
            version,
        },
    );
    // Safaricom's spelling of the key.
    Json(json!({
        "OriginatorCoversationID": uuid::Uuid::new_v4().to_string(),
        "ResponseCode": "0",
        "ResponseDescription": "Success",
    }))
    .into_response()
}

/// A paybill payment made from the payer's phone menu.
#[derive(Debug, Clone, Deserialize)]
pub struct C2bPayment {
    /// The payer, as typed (`0712…`, `2547…`).
    pub phone: String,
    /// Whole shillings.
    pub amount: i64,
    /// The account number the payer typed.
    pub bill_ref: String,
    #[serde(default)]
    pub first_name: Option<String>,
    /// How many times the confirmation is posted, one after another: 0 for
    /// one that never comes.
    #[serde(default = "one")]
    pub copies: u32,
}

fn one() -> u32 {
    1
}

/// What became of a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct C2bPaymentResult {
    /// The receipt, when the payment went through.
    pub trans_id: Option<String>,
    /// Whether M-Pesa completed it (validation accepted it, or was off).
    pub completed: bool,
    /// The validation answer's `ResultCode`, when validation was asked.
    pub validation_result: Option<String>,
    /// The receiver's HTTP status for the (first) confirmation, when posted
    /// and answered.
    pub confirmation_status: Option<u16>,
}

async fn pay(
    State(fake): State<Arc<FakeDaraja>>,
    payment: Result<Json<C2bPayment>, JsonRejection>,
) -> Response {
    let Ok(Json(payment)) = payment else {
        return fake_refusal("expected {phone, amount, bill_ref[, first_name][, copies]}");
    };
    match fake.pay_bill(payment).await {
        Ok(result) => Json(result).into_response(),
        Err(reason) => fake_refusal(&reason),
    }
}

fn fake_refusal(reason: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": reason}))).into_response()
}

impl FakeDaraja {
    /// Makes a paybill payment into this fake's shortcode: validation (when
    /// on and a validation URL is registered), then confirmation. Refuses a
    /// payment M-Pesa's menu would not let through, or a shortcode with no
    /// URLs registered.
    pub async fn pay_bill(&self, payment: C2bPayment) -> Result<C2bPaymentResult, String> {
        let phone = Msisdn::parse(&payment.phone)
            .ok()
            .filter(|p| is_mpesa_number(p.to_daraja()))
            .ok_or("phone is not an M-Pesa number")?;
        if !(1..=MAX_STK_AMOUNT).contains(&payment.amount) {
            return Err(format!("amount must be 1 to {MAX_STK_AMOUNT}"));
        }
        if payment.bill_ref.is_empty() || payment.bill_ref.chars().count() > MAX_BILL_REF {
            return Err(format!("bill_ref must be 1 to {MAX_BILL_REF} characters"));
        }
        if payment.copies > MAX_COPIES {
            return Err(format!("copies must be 0 to {MAX_COPIES}"));
        }
        let (registration, validate, trans_id) = {
            let state = self.lock();
            let registration = state
                .c2b_urls
                .get(&self.config.shortcode)
                .cloned()
                .ok_or("no C2B URLs are registered for the shortcode")?;
            let trans_id = state.new_receipt(&mut rand::rng());
            (registration, state.c2b_validation, trans_id)
        };
        let mut body = self.c2b_body(&payment, &phone, &trans_id, registration.version);
        let mut validation_result = None;
        if validate {
            let answer = self
                .post(
                    CallbackKind::C2bValidation,
                    &trans_id,
                    &registration.validation_url,
                    body.clone(),
                )
                .await;
            let accepted = match answer.filter(|a| a.status == 200) {
                Some(answer) => {
                    let code = text(&answer.body, "ResultCode");
                    let accepted = code == "0";
                    body["ThirdPartyTransID"] = answer.body["ThirdPartyTransID"].clone();
                    validation_result = Some(code);
                    accepted
                }
                // No usable answer: M-Pesa does what the registration said.
                None => registration.response_type == "Completed",
            };
            if !accepted {
                return Ok(C2bPaymentResult {
                    trans_id: None,
                    completed: false,
                    validation_result,
                    confirmation_status: None,
                });
            }
        }
        if body["ThirdPartyTransID"].is_null() {
            body["ThirdPartyTransID"] = json!("");
        }
        body["OrgAccountBalance"] = json!(self.book_c2b(&trans_id, &payment, &phone));
        let mut confirmation_status = None;
        for copy in 0..payment.copies {
            let answer = self
                .post(
                    CallbackKind::C2bConfirmation,
                    &trans_id,
                    &registration.confirmation_url,
                    body.clone(),
                )
                .await;
            if copy == 0 {
                confirmation_status = answer.map(|a| a.status);
            }
        }
        Ok(C2bPaymentResult {
            trans_id: Some(trans_id),
            completed: true,
            validation_result,
            confirmation_status,
        })
    }

    /// The validation body (confirmation adds the balance), as Daraja
    /// writes it: amounts as decimal strings, the payer masked or hashed.
    fn c2b_body(&self, payment: &C2bPayment, phone: &Msisdn, trans_id: &str, version: u8) -> Value {
        let number = phone.to_daraja();
        let msisdn = match version {
            1 => hex::encode(Sha256::digest(number.as_bytes())),
            _ => format!("{} ***** {}", &number[..4], &number[number.len() - 3..]),
        };
        json!({
            "TransactionType": "Pay Bill",
            "TransID": trans_id,
            "TransTime": wire::timestamp(Utc::now()),
            "TransAmount": format!("{}.00", payment.amount),
            "BusinessShortCode": self.config.shortcode,
            "BillRefNumber": payment.bill_ref,
            "InvoiceNumber": "",
            "OrgAccountBalance": "",
            "ThirdPartyTransID": "",
            "MSISDN": msisdn,
            "FirstName": payment.first_name.clone().unwrap_or_else(|| "JOHN".into()),
            "MiddleName": "",
            "LastName": "",
        })
    }

    /// Records the completed payment; returns the paybill's balance after it.
    fn book_c2b(&self, trans_id: &str, payment: &C2bPayment, phone: &Msisdn) -> String {
        let mut state = self.lock();
        state.receipts.insert(
            trans_id.to_owned(),
            Receipt {
                amount: payment.amount,
                phone: phone.to_daraja().to_owned(),
                at: Utc::now(),
            },
        );
        state.paybill_balance += payment.amount;
        format!("{}.00", state.paybill_balance)
    }
}
