//! Sessions in PostgreSQL: the `ussd_sessions` table, the fallback store.
//!
//! Rows carry the same version and expiry as the Redis copy. An expired row is
//! treated as absent by every statement here (load skips it, create replaces
//! it), exactly as Redis forgets an expired key; the sweeper deletes such rows
//! later, so an unswept row never blocks a session id that is used again
//! (`resume:<user>` ids are).
//!
//! Two save flavours:
//! - [`PgStore::compare_and_set`], strict CAS, the [`SessionStore`] contract;
//! - [`PgStore::catch_up`], used by the failover store: accepts the save when
//!   the row is at `expected` *or older* (or absent), because the write-behind
//!   mirror may not yet have copied the version the caller read from Redis.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{
    BoxFuture, STORE_ERRORS, Saved, SessionId, SessionStore, StoreError, Stored, check_data,
    ttl_millis,
};

/// Advisory lock key that elects the one node sweeping expired sessions
/// ("ussdswep" in ASCII).
const SWEEP_LOCK: i64 = 0x7573_7364_7377_6570;
/// Rows deleted per sweep statement, so one sweep never holds many row locks.
const SWEEP_BATCH: i64 = 5_000;
/// How often expired rows are swept by default.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// The PostgreSQL session store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// A store over `pool`.
    pub fn new(pool: PgPool) -> PgStore {
        PgStore { pool }
    }

    /// The pool, for the mirror and the sweeper.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Reads a live session.
    pub async fn find(&self, id: &SessionId) -> Result<Option<Stored>, StoreError> {
        let row = sqlx::query!(
            r#"select version, state::text as "state!"
                 from ussd_sessions
                where session_id = $1 and expires_at > now()"#,
            id.as_str()
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Stored {
                version: from_db_version(row.version)?,
                data: row.state,
            })
        })
        .transpose()
    }

    /// Strict compare-and-set (see [`SessionStore::save`]).
    pub async fn compare_and_set(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> Result<Saved, StoreError> {
        check_data(data)?;
        let ttl_ms = to_db(ttl_millis(ttl))?;
        let version = match expected {
            // Create: a live row means someone else created it first; an
            // expired one is dead and replaced.
            None => {
                sqlx::query_scalar!(
                    r#"insert into ussd_sessions (session_id, state, version, expires_at)
                   values ($1, $2::text::jsonb, 1, now() + $3::bigint * interval '1 millisecond')
                   on conflict (session_id) do update
                      set state = excluded.state,
                          version = excluded.version,
                          expires_at = excluded.expires_at
                    where ussd_sessions.expires_at <= now()
                   returning version"#,
                    id.as_str(),
                    data,
                    ttl_ms
                )
                .fetch_optional(&self.pool)
                .await?
            }
            Some(expected) => {
                sqlx::query_scalar!(
                    r#"update ussd_sessions
                      set state = $2::text::jsonb,
                          version = version + 1,
                          expires_at = now() + $4::bigint * interval '1 millisecond'
                    where session_id = $1 and version = $3 and expires_at > now()
                   returning version"#,
                    id.as_str(),
                    data,
                    to_db(expected)?,
                    ttl_ms
                )
                .fetch_optional(&self.pool)
                .await?
            }
        };
        saved(version)
    }

    /// Catch-up save for the failover store: stores version `expected + 1`
    /// (or 1) when the live row is older than that, or absent, or expired.
    /// Two saves with the same `expected` still cannot both win. Data must
    /// already be checked.
    pub(super) async fn catch_up(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> Result<Saved, StoreError> {
        let next = expected.map_or(1, |v| v.saturating_add(1));
        let version = sqlx::query_scalar!(
            r#"insert into ussd_sessions (session_id, state, version, expires_at)
               values ($1, $2::text::jsonb, $3, now() + $4::bigint * interval '1 millisecond')
               on conflict (session_id) do update
                  set state = excluded.state,
                      version = excluded.version,
                      expires_at = excluded.expires_at
                where ussd_sessions.version < excluded.version
                   or ussd_sessions.expires_at <= now()
               returning version"#,
            id.as_str(),
            data,
            to_db(next)?,
            to_db(ttl_millis(ttl))?
        )
        .fetch_optional(&self.pool)
        .await?;
        saved(version)
    }

    /// Removes a session.
    pub async fn remove(&self, id: &SessionId) -> Result<(), StoreError> {
        sqlx::query!(
            "delete from ussd_sessions where session_id = $1",
            id.as_str()
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl SessionStore for PgStore {
    fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(self.find(id))
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Saved, StoreError>> {
        Box::pin(self.compare_and_set(id, data, expected, ttl))
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.remove(id))
    }
}

/// One session copy for the mirror's batch upsert.
pub(super) struct MirrorRow {
    pub id: String,
    pub data: String,
    pub version: u64,
    pub expires_at: DateTime<Utc>,
}

/// Writes a mirror batch: deletes first, then one upsert statement for all
/// rows. The upsert never replaces a newer live version (a save decided by
/// PostgreSQL during an outage, or a later batch that overtook this one).
pub(super) async fn write_mirror_batch(
    pool: &PgPool,
    deletes: &[String],
    rows: &[MirrorRow],
) -> Result<(), StoreError> {
    if !deletes.is_empty() {
        sqlx::query!(
            "delete from ussd_sessions where session_id = any($1::text[])",
            deletes
        )
        .execute(pool)
        .await?;
    }
    if rows.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut states = Vec::with_capacity(rows.len());
    let mut versions = Vec::with_capacity(rows.len());
    let mut expiries = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(row.id.as_str());
        states.push(row.data.as_str());
        versions.push(to_db(row.version)?);
        expiries.push(row.expires_at);
    }
    sqlx::query!(
        r#"insert into ussd_sessions (session_id, state, version, expires_at)
           select s, d::jsonb, v, e
             from unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[]) as t(s, d, v, e)
           on conflict (session_id) do update
              set state = excluded.state,
                  version = excluded.version,
                  expires_at = excluded.expires_at
            where ussd_sessions.version < excluded.version
               or ussd_sessions.expires_at <= now()"#,
        &ids as &[&str],
        &states as &[&str],
        &versions,
        &expiries
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Outcome of one sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// This node held the sweep lock and deleted this many expired rows.
    Deleted(u64),
    /// Another node is sweeping right now.
    Skipped,
}

/// Deletes expired sessions, in batches, if no other node is sweeping
/// (`pg_try_advisory_xact_lock`, released at each commit).
pub async fn delete_expired(pool: &PgPool) -> Result<Sweep, sqlx::Error> {
    let mut total = 0;
    loop {
        let mut tx = pool.begin().await?;
        let locked = sqlx::query_scalar!(
            r#"select pg_try_advisory_xact_lock($1) as "locked!""#,
            SWEEP_LOCK
        )
        .fetch_one(&mut *tx)
        .await?;
        if !locked {
            return Ok(if total == 0 {
                Sweep::Skipped
            } else {
                Sweep::Deleted(total)
            });
        }
        // By row address, not `session_id in (…)`: that form is a join the
        // planner may get wrong, and one sweep of dev's table (80,000 rows
        // after a load test) ran for minutes at full CPU. Here the batch's
        // addresses are collected once and fetched directly, with no join to
        // plan. A row rewritten since has a new address and is skipped; the
        // outer filter re-checks the expiry.
        let deleted = sqlx::query!(
            r#"delete from ussd_sessions
                where ctid = any(array(select ctid from ussd_sessions
                                        where expires_at <= now()
                                        limit $1))
                  and expires_at <= now()"#,
            SWEEP_BATCH
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        total += deleted;
        if deleted < SWEEP_BATCH as u64 {
            return Ok(Sweep::Deleted(total));
        }
    }
}

/// Sweeps every `interval` until `shutdown` is cancelled. Every node runs
/// it; the advisory lock makes one of them do the work at a time.
pub async fn run_sweeper(pool: PgPool, interval: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match delete_expired(&pool).await {
            Ok(Sweep::Deleted(n)) if n > 0 => {
                tracing::debug!(deleted = n, "expired USSD sessions swept");
            }
            Ok(_) => {}
            Err(error) => {
                metrics::counter!(STORE_ERRORS, "store" => "postgres", "op" => "sweep")
                    .increment(1);
                tracing::warn!(%error, "cannot sweep expired USSD sessions");
            }
        }
    }
}

fn saved(version: Option<i64>) -> Result<Saved, StoreError> {
    Ok(match version {
        Some(version) => Saved::Saved {
            version: from_db_version(version)?,
        },
        None => Saved::Conflict,
    })
}

fn from_db_version(version: i64) -> Result<u64, StoreError> {
    u64::try_from(version).map_err(|_| StoreError::Corrupt {
        store: "postgres",
        reason: "negative version".to_owned(),
    })
}

fn to_db(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidData("number out of range"))
}
