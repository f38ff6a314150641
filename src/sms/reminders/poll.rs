//! Every node polls for the day's run; the first to find it due and not done
//! runs it (see [`super::run_once`]).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use tokio_util::sync::CancellationToken;

use super::{NAIROBI, RunOutcome, run_once};
use crate::state::AppState;

/// How often each node looks whether today's run is due: the run starts
/// at most this long after the configured time.
const POLL_EVERY: Duration = Duration::from_secs(60);

/// The Nairobi date whose run is due at `now`, if it is past the hour.
pub fn due_run(now: DateTime<Utc>, at: NaiveTime) -> Option<NaiveDate> {
    let local: NaiveDateTime = now.with_timezone(&NAIROBI).naive_local();
    (local.time() >= at).then_some(local.date())
}

/// Polls for the day's run until `shutdown`; spawned under the Supervisor.
/// A failed run is logged and tried again at the next poll.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let at = state.settings.sms.reminder_time;
    let days_before = state.settings.sms.reminder_days_before;
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut done_for = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(today) = due_run(Utc::now(), at) else {
            continue;
        };
        if done_for == Some(today) {
            continue;
        }
        match run_once(&state.db, &state.sms_texts, days_before, today).await {
            Ok(RunOutcome::Ran(tallies)) => {
                tracing::info!(%today, ?tallies, "reminders queued");
                done_for = Some(today);
            }
            Ok(RunOutcome::AlreadyDone) => done_for = Some(today),
            Ok(RunOutcome::Busy) => {}
            Err(error) => tracing::warn!(%error, %today, "reminder run failed; trying again"),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_run_is_due_from_the_hour_in_nairobi() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        // 05:59 UTC is 08:59 in Nairobi.
        let early = Utc.with_ymd_and_hms(2026, 12, 1, 5, 59, 0).unwrap();
        assert_eq!(due_run(early, nine), None);
        let on_time = Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap();
        assert_eq!(due_run(on_time, nine), NaiveDate::from_ymd_opt(2026, 12, 1));
        // 22:30 UTC is 01:30 the next day in Nairobi.
        let late = Utc.with_ymd_and_hms(2026, 12, 1, 22, 30, 0).unwrap();
        assert_eq!(due_run(late, nine), None);
        let one = NaiveTime::from_hms_opt(1, 0, 0).unwrap();
        assert_eq!(due_run(late, one), NaiveDate::from_ymd_opt(2026, 12, 2));
    }
}
