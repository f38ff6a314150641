//! Logs and metrics: the tracing subscriber, the Prometheus recorder, and the
//! HTTP request metrics middleware.
//!
//! Metric names follow `pesachama_<thing>_<unit>[_total]`; labels are bounded
//! (route template, method, status, outcome), never a phone number or session id.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Counter: HTTP requests by method, route template and status.
pub const HTTP_REQUESTS: &str = "pesachama_http_requests_total";
/// Histogram: HTTP request duration by method and route template.
pub const HTTP_DURATION: &str = "pesachama_http_request_duration_seconds";
/// Gauge: HTTP requests being served right now.
pub const HTTP_IN_FLIGHT: &str = "pesachama_http_requests_in_flight";

/// Counter: USSD hops by service code, screen shown and outcome.
pub const USSD_HOPS: &str = "pesachama_ussd_hops_total";
/// Histogram: time to answer a USSD hop, by screen shown.
pub const USSD_HOP_DURATION: &str = "pesachama_ussd_hop_duration_seconds";
/// Counter: USSD sessions started, by service code.
pub const USSD_SESSIONS_STARTED: &str = "pesachama_ussd_sessions_started_total";
/// Counter: USSD sessions ended (Africa's Talking's end event), by status.
pub const USSD_SESSIONS_ENDED: &str = "pesachama_ussd_sessions_ended_total";
/// Counter: sessions that ended without reaching an END screen, by last screen.
pub const USSD_DROPOFF: &str = "pesachama_ussd_dropoff_total";
/// Counter: hops refused by a rate limit, by which limit.
pub const USSD_RATE_LIMITED: &str = "pesachama_ussd_rate_limited_total";
/// Counter: callbacks refused by the protection (source, token, auth).
pub const USSD_REFUSED: &str = "pesachama_ussd_refused_total";
/// Counter: reminders queued, by reminder (contribution, meeting).
pub const SMS_REMINDERS_QUEUED: &str = "pesachama_sms_reminders_queued_total";
/// Counter: reminders not queued, by reminder and reason (paid, opted_out,
/// duplicate).
pub const SMS_REMINDERS_SKIPPED: &str = "pesachama_sms_reminders_skipped_total";

/// Counter: SMS callbacks refused by the protection (source, token, rate).
pub const SMS_CALLBACK_REFUSED: &str = "pesachama_sms_callback_refused_total";
/// Counter: delivery reports by AT status, failure reason and what they did.
pub const SMS_DELIVERY_REPORTS: &str = "pesachama_sms_delivery_reports_total";
/// Counter: inbound SMS by keyword and outcome (member, stranger, duplicate).
pub const SMS_INBOUND: &str = "pesachama_sms_inbound_total";
/// Counter: members opting out of (`out`) or back into (`in`) reminders.
pub const SMS_OPT_CHANGES: &str = "pesachama_sms_opt_changes_total";
/// Gauge: outbox rows by state (queued, sending, dead, parked).
pub const SMS_OUTBOX_DEPTH: &str = "pesachama_sms_outbox_depth";
/// Gauge: seconds the most overdue queued SMS has been due.
pub const SMS_OUTBOX_OLDEST_PENDING: &str = "pesachama_sms_outbox_oldest_pending_seconds";
/// Counter: SMS settled by the dispatcher, by outcome (sent, failed, dead,
/// parked), template and reason.
pub const SMS_MESSAGES: &str = "pesachama_sms_messages_total";
/// Counter: SMS parts sent (what Africa's Talking bills), by template.
pub const SMS_SEGMENTS_SENT: &str = "pesachama_sms_segments_sent_total";
/// Histogram: time Africa's Talking took to answer a send request.
pub const SMS_SEND_DURATION: &str = "pesachama_sms_send_duration_seconds";
/// Counter: SMS put back in the queue for another attempt, by reason.
pub const SMS_RETRIES: &str = "pesachama_sms_retries_total";
/// Counter: send requests refused for our configuration (credentials,
/// sender id), by reason: a person must act.
pub const SMS_CONFIG_ERRORS: &str = "pesachama_sms_config_errors_total";
/// Counter: rows taken back from a node that died mid-send, by where they went.
pub const SMS_RECLAIMED: &str = "pesachama_sms_reclaimed_total";
/// Counter: STK pushes the push worker settled, by outcome (accepted,
/// refused, busy, gave_up, unsure, stuck).
pub const MPESA_STK_PUSHES: &str = "pesachama_mpesa_stk_pushes_total";

/// Counter: STK results by how they arrived (callback, query), outcome
/// (booked, failed, duplicate, unknown) and Daraja result code (known codes,
/// else `other`).
pub const MPESA_STK_RESULTS: &str = "pesachama_mpesa_stk_results_total";
/// Histogram: time from the STK push to its callback.
pub const MPESA_STK_CALLBACK_DELAY: &str = "pesachama_mpesa_stk_callback_delay_seconds";
/// Gauge: STK requests waiting for their result (pending).
pub const MPESA_STK_PENDING: &str = "pesachama_mpesa_stk_pending";
/// Gauge: seconds since the oldest pending STK request was pushed.
pub const MPESA_STK_OLDEST_PENDING: &str = "pesachama_mpesa_stk_oldest_pending_seconds";
/// Counter: STK queries of the reconciliation worker and deadline closes,
/// by result.
pub const MPESA_RECONCILIATIONS: &str = "pesachama_mpesa_reconciliations_total";
/// Counter: STK callbacks refused or unreadable, by reason (token, source,
/// malformed).
pub const MPESA_CALLBACK_REFUSED: &str = "pesachama_mpesa_callback_refused_total";
/// Counter: booked STK payments flagged for an official, by reason (amount,
/// phone, no_receipt).
pub const MPESA_STK_FLAGS: &str = "pesachama_mpesa_stk_flags_total";
/// Counter: paybill confirmations by outcome (matched, suspense,
/// unallocated, duplicate, already_booked, malformed).
pub const MPESA_C2B_PAYMENTS: &str = "pesachama_mpesa_c2b_payments_total";
/// Counter: paybill validations by verdict.
pub const MPESA_C2B_VALIDATIONS: &str = "pesachama_mpesa_c2b_validations_total";

/// Gauge: mismatches the last scheduled ledger check found, by kind
/// (balance, entry, memberless_line, unbooked, shared_entry, cash,
/// booked_twice).
pub const LEDGER_CHECK_MISMATCHES: &str = "pesachama_ledger_check_mismatches";
/// Counter: scheduled ledger checks, by result (clean, mismatch, error).
pub const LEDGER_CHECK_RUNS: &str = "pesachama_ledger_check_runs_total";
/// Gauge: when the last scheduled ledger check finished (Unix seconds).
pub const LEDGER_CHECK_LAST_RUN: &str = "pesachama_ledger_check_last_run_timestamp_seconds";

/// Seconds to an hour: Daraja's callbacks come seconds to minutes after
/// the push, late ones much later.
const CALLBACK_DELAY_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];
/// Counter: calls to Daraja, by endpoint and outcome (ok or the error kind).
pub const DARAJA_REQUESTS: &str = "pesachama_daraja_requests_total";
/// Histogram: time a Daraja call took, retries included, by endpoint.
pub const DARAJA_REQUEST_DURATION: &str = "pesachama_daraja_request_duration_seconds";

/// Sub-millisecond buckets: a USSD hop is expected to take about a millisecond.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the global tracing subscriber. `RUST_LOG` overrides the default
/// filter. Safe to call more than once (later calls do nothing), which tests need.
///
/// Colours only when stdout (where the logs go) is a terminal: `dev > dev.log`
/// or the journal must get plain text, not escape codes.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
/// Several applications in one process (tests) share it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("bucket list is not empty")
                // A full-name matcher wins over a suffix one.
                .set_buckets_for_metric(
                    Matcher::Full(MPESA_STK_CALLBACK_DELAY.into()),
                    CALLBACK_DELAY_BUCKETS,
                )
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe_metrics();
            handle
        })
        .clone()
}

fn describe_metrics() {
    metrics::describe_counter!(DARAJA_REQUESTS, "Calls to Daraja, by endpoint and outcome.");
    metrics::describe_histogram!(
        DARAJA_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Time a Daraja call took, retries included, by endpoint."
    );
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route and status."
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by method and route."
    );
    metrics::describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being served now.");
    metrics::describe_counter!(
        USSD_HOPS,
        "USSD hops answered, by service code, screen and outcome."
    );
    metrics::describe_histogram!(
        USSD_HOP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer a USSD hop, by screen shown."
    );
    metrics::describe_counter!(
        USSD_SESSIONS_STARTED,
        "USSD sessions started, by service code."
    );
    metrics::describe_counter!(
        USSD_SESSIONS_ENDED,
        "USSD sessions ended, by Africa's Talking status."
    );
    metrics::describe_counter!(
        USSD_DROPOFF,
        "USSD sessions abandoned, by the last screen seen."
    );
    metrics::describe_counter!(
        USSD_RATE_LIMITED,
        "USSD hops refused by a rate limit, by limit."
    );
    metrics::describe_counter!(
        USSD_REFUSED,
        "USSD callbacks refused by the callback protection, by reason."
    );
    metrics::describe_counter!(
        SMS_CALLBACK_REFUSED,
        "SMS callbacks refused by the callback protection, by reason."
    );
    metrics::describe_counter!(
        SMS_DELIVERY_REPORTS,
        "SMS delivery reports received, by status, failure reason and outcome."
    );
    metrics::describe_counter!(
        SMS_INBOUND,
        "SMS texted to the gateway, by keyword and outcome."
    );
    metrics::describe_counter!(
        SMS_OPT_CHANGES,
        "Members opting out of or back into SMS reminders, by change."
    );
    metrics::describe_gauge!(SMS_OUTBOX_DEPTH, "SMS outbox rows by state.");
    metrics::describe_gauge!(
        SMS_OUTBOX_OLDEST_PENDING,
        metrics::Unit::Seconds,
        "How long the most overdue queued SMS has been due."
    );
    metrics::describe_counter!(
        SMS_MESSAGES,
        "SMS settled by the dispatcher, by outcome, template and reason."
    );
    metrics::describe_counter!(SMS_SEGMENTS_SENT, "SMS parts sent, by template.");
    metrics::describe_counter!(
        MPESA_STK_PUSHES,
        "STK pushes handled by the push worker, by outcome."
    );
    metrics::describe_histogram!(
        SMS_SEND_DURATION,
        metrics::Unit::Seconds,
        "Time Africa's Talking took to answer a send request."
    );
    metrics::describe_counter!(SMS_RETRIES, "SMS queued for another attempt, by reason.");
    metrics::describe_counter!(
        SMS_CONFIG_ERRORS,
        "SMS requests refused for the gateway's configuration, by reason."
    );
    metrics::describe_counter!(
        SMS_RECLAIMED,
        "SMS rows taken back from a node that died mid-send, by new state."
    );
    metrics::describe_counter!(
        SMS_REMINDERS_QUEUED,
        "SMS reminders queued by the daily job, by reminder (contribution, meeting)."
    );
    metrics::describe_counter!(
        SMS_REMINDERS_SKIPPED,
        "SMS reminders the daily job did not queue, by reminder and reason (paid, opted_out, duplicate)."
    );
    metrics::describe_counter!(
        MPESA_STK_RESULTS,
        "STK results, by source (callback, query), outcome and Daraja result code."
    );
    metrics::describe_histogram!(
        MPESA_STK_CALLBACK_DELAY,
        metrics::Unit::Seconds,
        "Time from an STK push to its callback."
    );
    metrics::describe_gauge!(MPESA_STK_PENDING, "STK requests waiting for their result.");
    metrics::describe_gauge!(
        MPESA_STK_OLDEST_PENDING,
        metrics::Unit::Seconds,
        "Age of the oldest pending STK request, from its push."
    );
    metrics::describe_counter!(
        MPESA_RECONCILIATIONS,
        "STK reconciliation queries, deadline closes and kept callbacks adopted, by result."
    );
    metrics::describe_counter!(
        MPESA_CALLBACK_REFUSED,
        "STK callbacks refused or unreadable, by reason (token, source, malformed)."
    );
    metrics::describe_counter!(
        MPESA_STK_FLAGS,
        "Booked STK payments flagged for an official, by reason (amount, phone, no_receipt)."
    );
    metrics::describe_counter!(
        MPESA_C2B_PAYMENTS,
        "Paybill confirmations by outcome (matched, suspense, unallocated, duplicate, already_booked, malformed)."
    );
    metrics::describe_gauge!(
        LEDGER_CHECK_MISMATCHES,
        "Mismatches the last scheduled ledger check found, by kind."
    );
    metrics::describe_counter!(
        LEDGER_CHECK_RUNS,
        "Scheduled ledger checks, by result (clean, mismatch, error)."
    );
    metrics::describe_gauge!(
        LEDGER_CHECK_LAST_RUN,
        metrics::Unit::Seconds,
        "When the last scheduled ledger check finished, in Unix seconds."
    );
    metrics::describe_counter!(
        MPESA_C2B_VALIDATIONS,
        "Paybill validations by verdict (accepted, unknown_account, invalid_amount, other)."
    );
}

/// Decrements the in-flight gauge when the request finishes, even if the
/// handler future is dropped half-way (client gone, timeout).
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        metrics::gauge!(HTTP_IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(HTTP_IN_FLIGHT).decrement(1.0);
    }
}

/// Standard methods by name; anything else is one label, since a client may
/// send arbitrary extension methods.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware recording [`HTTP_REQUESTS`] and [`HTTP_DURATION`]. The route label
/// is the matched template (`/v1/chamas/{id}`), or `unmatched` for 404s, so an
/// attacker probing random paths cannot blow up the label set.
pub async fn track_http(request: Request, next: Next) -> Response {
    let _guard = InFlight::enter();
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
