//! The ledger check on a schedule, so that books that disagree page an
//! operator (the `pesachama_ledger_check_*` metrics and an error log) rather
//! than wait for someone to run `pesachama ledger check`.
//!
//! One node checks at a time. A run takes a session advisory lock with
//! `pg_try_advisory_lock` on a connection taken out of the pool; a node that
//! does not get it skips the run, since another node is reading the same
//! books. The connection is closed after the run, which releases the lock
//! whatever happened, so a failed run never leaves it held.

use std::time::Duration;

use sqlx::{Connection, PgPool};
use tokio_util::sync::CancellationToken;

use super::check::{self, CheckReport, Mismatch};
use crate::telemetry::{LEDGER_CHECK_LAST_RUN, LEDGER_CHECK_MISMATCHES, LEDGER_CHECK_RUNS};

/// Mismatches written to the log by one run; the rest are counted, and
/// `pesachama ledger check` lists them all.
const LOGGED_MISMATCHES: usize = 20;

/// Checks the books every `every` until `shutdown`. The first run is one
/// interval after start: a fleet that restarts together does not read the
/// whole journal at once.
pub async fn run(db: PgPool, every: Duration, shutdown: CancellationToken) {
    let start = tokio::time::Instant::now() + every;
    let mut tick = tokio::time::interval_at(start, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match check_once(&db).await {
            Ok(Some(report)) => publish(&report),
            Ok(None) => tracing::debug!("ledger check skipped: another node is running it"),
            Err(error) => {
                metrics::counter!(LEDGER_CHECK_RUNS, "result" => "error").increment(1);
                tracing::warn!(%error, "scheduled ledger check failed; retrying next interval");
            }
        }
    }
}

/// Runs the check unless another node holds the lock (`None`).
pub async fn check_once(db: &PgPool) -> Result<Option<CheckReport>, sqlx::Error> {
    let mut conn = db.acquire().await?.detach();
    let locked = sqlx::query_scalar!(
        r#"select pg_try_advisory_lock(hashtextextended('pesachama:ledger-check', 0)) as "locked!""#
    )
    .fetch_one(&mut conn)
    .await?;
    let report = if locked {
        check::run(&mut conn).await.map(Some)
    } else {
        Ok(None)
    };
    // Closing ends the session and with it the lock; a close that fails
    // has lost the session already.
    let _ = conn.close().await;
    report
}

/// Sets the gauges from `report` (every kind, zero included, so a fixed
/// mismatch clears its alert), counts the run and logs what disagrees.
pub fn publish(report: &CheckReport) {
    for kind in Mismatch::KINDS {
        let found = report
            .mismatches
            .iter()
            .filter(|m| m.kind() == kind)
            .count();
        metrics::gauge!(LEDGER_CHECK_MISMATCHES, "kind" => kind).set(found as f64);
    }
    let now = chrono::Utc::now().timestamp() as f64;
    metrics::gauge!(LEDGER_CHECK_LAST_RUN).set(now);
    if report.is_consistent() {
        metrics::counter!(LEDGER_CHECK_RUNS, "result" => "clean").increment(1);
        tracing::info!(
            entries = report.entries,
            "scheduled ledger check: consistent"
        );
        return;
    }
    metrics::counter!(LEDGER_CHECK_RUNS, "result" => "mismatch").increment(1);
    // Mismatches name chamas by code and members by id, never by phone.
    for mismatch in report.mismatches.iter().take(LOGGED_MISMATCHES) {
        tracing::error!(kind = mismatch.kind(), %mismatch, "ledger mismatch");
    }
    tracing::error!(
        mismatches = report.mismatches.len(),
        "scheduled ledger check found mismatches; `pesachama ledger check` lists them"
    );
}
