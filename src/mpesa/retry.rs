//! Retrying the Daraja calls that are safe to repeat (a token fetch, an STK
//! query) when Daraja could not be reached; never a push.

use std::future::Future;
use std::time::Duration;

use super::MpesaError;

/// Attempts in all, the first included.
const ATTEMPTS: u32 = 3;
/// Wait before the second attempt; doubled before each later one.
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// Runs `call` until it gives anything but [`MpesaError::Transient`], at
/// most [`ATTEMPTS`] times.
pub(super) async fn on_transient<T, F, Fut>(what: &str, mut call: F) -> Result<T, MpesaError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, MpesaError>>,
{
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(MpesaError::Transient(reason)) if attempt < ATTEMPTS => {
                tracing::info!(attempt, %reason, "Daraja {what} failed; asking again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            result => return result,
        }
    }
}
