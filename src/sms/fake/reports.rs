//! The delivery-report poster: after the report delay, each accepted
//! message's planned reports are posted to the gateway form-encoded, as AT
//! does (protocols.md 2.4). A background task posts them, never the send
//! request; a gateway that does not take a report is retried a few times,
//! then the report is dropped and logged.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::plan::ReportStep;

/// Tries per report before it is dropped.
const ATTEMPTS: u32 = 4;
/// First pause between tries; doubled after each.
const RETRY_BASE: Duration = Duration::from_millis(250);
/// Time allowed for one post.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages whose reports are being posted at once.
const CONCURRENT_MESSAGES: usize = 32;
/// The network code reported: Safaricom, the only one the fake plays.
const NETWORK_CODE: &str = "63902";

/// The reports owed for one accepted message.
pub(super) struct Due {
    pub message_id: String,
    pub number: String,
    pub steps: Vec<ReportStep>,
}

/// Reports of one send, due together.
struct Batch {
    due_at: Instant,
    url: Url,
    dues: Vec<Due>,
}

/// Hands reports to the background task.
pub(super) struct Poster {
    delay: Duration,
    queue: mpsc::UnboundedSender<Batch>,
}

impl Poster {
    /// Spawns the posting task; it ends when the poster is dropped.
    pub(super) fn start(delay: Duration) -> Poster {
        let (queue, batches) = mpsc::unbounded_channel();
        tokio::spawn(post_batches(batches));
        Poster { delay, queue }
    }

    /// Posts `dues` to `url` once the report delay has passed.
    pub(super) fn post(&self, url: Url, dues: Vec<Due>) {
        let batch = Batch {
            due_at: Instant::now() + self.delay,
            url,
            dues,
        };
        if self.queue.send(batch).is_err() {
            tracing::warn!("the fake's report poster has stopped; reports dropped");
        }
    }
}

/// Batches arrive in the order they fall due (one delay for all), so
/// waiting for each in turn keeps every report on time.
async fn post_batches(mut batches: mpsc::UnboundedReceiver<Batch>) {
    let http = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "the fake cannot build an HTTP client; no delivery reports");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(CONCURRENT_MESSAGES));
    while let Some(batch) = batches.recv().await {
        tokio::time::sleep_until(batch.due_at).await;
        for due in batch.dues {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (http, url) = (http.clone(), batch.url.clone());
            tokio::spawn(async move {
                post_steps(&http, &url, due).await;
                drop(slot);
            });
        }
    }
}

/// One message's reports, in order, each after its planned pause.
async fn post_steps(http: &reqwest::Client, url: &Url, due: Due) {
    for step in &due.steps {
        tokio::time::sleep(step.after).await;
        let mut form = vec![
            ("id", due.message_id.as_str()),
            ("status", step.status.as_str()),
            ("phoneNumber", due.number.as_str()),
            ("networkCode", NETWORK_CODE),
        ];
        if let Some(reason) = &step.failure_reason {
            form.push(("failureReason", reason));
        }
        if let Err(error) = post_one(http, url, &form).await {
            tracing::warn!(
                message_id = due.message_id,
                status = step.status,
                %error,
                "the gateway did not take a fake delivery report; dropped"
            );
        }
    }
}

async fn post_one(http: &reqwest::Client, url: &Url, form: &[(&str, &str)]) -> Result<(), String> {
    let mut pause = RETRY_BASE;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match http.post(url.clone()).form(form).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => last = format!("HTTP {}", response.status()),
            Err(error) => last = error.without_url().to_string(),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    Err(format!("{last} after {ATTEMPTS} tries"))
}
