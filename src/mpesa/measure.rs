//! Daraja call metrics: a count by endpoint and outcome, and the latency by
//! endpoint, both with bounded labels.

use std::future::Future;

use tokio::time::Instant;

use super::MpesaError;
use crate::telemetry::{DARAJA_REQUEST_DURATION, DARAJA_REQUESTS};

/// Which Daraja call: the `endpoint` label.
#[derive(Debug, Clone, Copy)]
pub(super) enum Endpoint {
    OAuth,
    StkPush,
    StkQuery,
    C2bRegister,
    TransactionStatus,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Endpoint::OAuth => "oauth",
            Endpoint::StkPush => "stk_push",
            Endpoint::StkQuery => "stk_query",
            Endpoint::C2bRegister => "c2b_register",
            Endpoint::TransactionStatus => "transaction_status",
        }
    }
}

/// Runs one Daraja call (with whatever retries it makes) and records it.
pub(super) async fn measured<T>(
    endpoint: Endpoint,
    call: impl Future<Output = Result<T, MpesaError>>,
) -> Result<T, MpesaError> {
    let started = Instant::now();
    let result = call.await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(error) => error.label(),
    };
    metrics::counter!(DARAJA_REQUESTS, "endpoint" => endpoint.label(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!(DARAJA_REQUEST_DURATION, "endpoint" => endpoint.label())
        .record(started.elapsed().as_secs_f64());
    result
}
