//! Paybill (C2B) payments: members pay the chama's paybill from the M-Pesa
//! menu and type the chama's code, optionally with their member number, as
//! the account number.
//!
//! - `payment`: the validation/confirmation body read strictly.
//! - `reference`, `payer`: what the account number and the payer's MSISDN
//!   can tell about whose money it is.
//! - `matching`: the chama and member a payment goes to.
//! - `confirm`, `receipts`: booking a confirmation once (a replayed TransID,
//!   or a receipt its STK push booked already, changes nothing).
//! - `push_payment`: the confirmation of an STK push's payment, attached
//!   to the push's entry when a query booked it without its receipt, or
//!   naming the pending push so that its query books nothing.
//! - `http`: the validation and confirmation routes.
//! - `validation`: accept or refuse a payment before M-Pesa takes it.
//! - `allocate`: an official moves an unmatched receipt to its member.

mod allocate;
mod confirm;
mod http;
mod matching;
mod payer;
mod payment;
mod push_payment;
mod receipts;
mod reference;
mod validation;

pub use allocate::{AllocateError, Allocated, allocate};
pub use confirm::{ConfirmError, Confirmed, confirm};
pub use http::router;
pub use payer::Payer;
pub use payment::{Malformed, Payment, WirePayment};
pub use reference::AccountRef;
pub use validation::{Verdict, decide};
