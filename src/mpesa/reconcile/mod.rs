//! The reconciliation worker: lost callbacks settled by asking Daraja.
//!
//! Every pass, on every node: settle requests whose push went out without
//! its id being written from the callback that named it (`adopt`), close
//! requests past the deadline as `unknown` (`expire`), claim due pending requests with `for update skip
//! locked` (`claim`: each is asked by one node), query each through
//! [`crate::mpesa::DarajaClient::stk_query`] and settle or reschedule it
//! (`query`), and refresh the pending gauges (`gauges`). `pending` is the
//! officials' list behind `pesachama mpesa pending`.

mod adopt;
mod claim;
mod expire;
mod gauges;
pub mod pending;
mod query;

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Runs passes every `MPESA_RECONCILE_EVERY_SECS` until `shutdown`. Database
/// or Daraja trouble is logged and waited out: the next pass tries again.
pub async fn run(app: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(app.settings.stk.reconcile_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = pass(&app).await {
            tracing::warn!(%error, "STK reconciliation pass failed; retrying next pass");
        }
    }
}

/// One pass; public so tests and operators can run one without waiting.
pub async fn pass(app: &AppState) -> anyhow::Result<()> {
    let stk = &app.settings.stk;
    let limit = i64::from(stk.reconcile_batch);
    // Before the deadline closes them; one orphan's trouble does not keep
    // the others from being closed.
    if let Err(error) = adopt::adopt_orphans(app, stk.settle_deadline, limit).await {
        tracing::warn!(%error, "cannot settle STK requests without their id from kept callbacks");
    }
    let mut tx = app.db.begin().await?;
    expire::close_overdue(&mut tx, stk.settle_deadline, limit).await?;
    tx.commit().await?;

    let mut conn = app.db.acquire().await?;
    let claimed = claim::claim_due(&mut conn, stk.query_after, limit).await?;
    drop(conn);
    for request in &claimed {
        // One request's trouble does not hold up the others; its claim
        // lapses and a later pass asks again.
        if let Err(error) = query::query_one(app, request).await {
            tracing::warn!(%error, "cannot settle a queried STK request");
        }
    }
    gauges::publish(&app.db).await?;
    Ok(())
}
