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
//!
//! The hop lock is a lease in the row's `lock_token`/`locked_until` columns
//! (why a lease: see the migration `20261130000401_ussd_session_hop_locks.sql`).
//! Taking it on an id with no row writes a *reservation*, a row at version 0
//! that no load returns and every save replaces.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use uuid::Uuid;

use super::{
    ActiveStore, BoxFuture, HopLock, LockLoad, STORE_ERRORS, Saved, SessionId, SessionStore,
    StoreError, Stored, check_data, ttl_millis,
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
            r#"select version, state as "state!"
                 from ussd_sessions
                where session_id = $1 and expires_at > now() and version > 0"#,
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
            // expired one is dead and replaced, and so is a lock reservation.
            None => {
                sqlx::query_scalar!(
                    r#"insert into ussd_sessions (session_id, state, version, expires_at)
                   values ($1, $2, 1, now() + $3::bigint * interval '1 millisecond')
                   on conflict (session_id) do update
                      set state = excluded.state,
                          version = excluded.version,
                          expires_at = excluded.expires_at
                    where ussd_sessions.expires_at <= now() or ussd_sessions.version = 0
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
                      set state = $2,
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
    /// Two saves with the same `expected` still cannot both win. Releases
    /// `unlock` (a lock taken here) whatever the outcome. Data must already
    /// be checked.
    pub(super) async fn catch_up(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
        unlock: Option<&HopLock>,
    ) -> Result<Saved, StoreError> {
        let next = expected.map_or(1, |v| v.saturating_add(1));
        let token = unlock.map(|lock| lock.token);
        // The lock columns stay as they are unless the lock is ours.
        let version = sqlx::query_scalar!(
            r#"insert into ussd_sessions (session_id, state, version, expires_at)
               values ($1, $2, $3, now() + $4::bigint * interval '1 millisecond')
               on conflict (session_id) do update
                  set state = excluded.state,
                      version = excluded.version,
                      expires_at = excluded.expires_at,
                      lock_token = nullif(ussd_sessions.lock_token, $5),
                      locked_until = case when ussd_sessions.lock_token = $5 then null
                                          else ussd_sessions.locked_until end
                where ussd_sessions.version < excluded.version
                   or ussd_sessions.expires_at <= now()
               returning version"#,
            id.as_str(),
            data,
            to_db(next)?,
            to_db(ttl_millis(ttl))?,
            token as Option<Uuid>
        )
        .fetch_optional(&self.pool)
        .await?;
        if let (None, Some(lock)) = (version, unlock) {
            // The CAS lost, so the statement changed nothing: release apart.
            self.release(id, lock).await?;
        }
        saved(version)
    }

    /// Takes the hop lock and reads the session in one statement. The read
    /// comes from `returning`, which shows the row as this statement left it
    /// (after waiting for a save that held it), not from the statement's
    /// snapshot, which a save committed meanwhile would make stale.
    pub async fn lock_and_find(
        &self,
        id: &SessionId,
        lease: Duration,
    ) -> Result<LockLoad, StoreError> {
        let lock = HopLock::new(ActiveStore::Postgres);
        let row = sqlx::query!(
            r#"insert into ussd_sessions as s
                      (session_id, state, version, expires_at, lock_token, locked_until)
               values ($1, 'null', 0, now() + $3::bigint * interval '1 millisecond',
                       $2, now() + $3::bigint * interval '1 millisecond')
               on conflict (session_id) do update
                  set lock_token = excluded.lock_token,
                      locked_until = excluded.locked_until
                where s.locked_until is null or s.locked_until <= now()
               returning s.version, s.state as "state!",
                         s.version > 0 and s.expires_at > now() as "live!""#,
            id.as_str(),
            lock.token,
            to_db(ttl_millis(lease))?
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(LockLoad::Busy);
        };
        let stored = if row.live {
            Some(Stored {
                version: from_db_version(row.version)?,
                data: row.state,
            })
        } else {
            None
        };
        Ok(LockLoad::Locked { lock, stored })
    }

    /// Releases a hop lock taken here, if it is still ours.
    pub async fn release(&self, id: &SessionId, lock: &HopLock) -> Result<(), StoreError> {
        sqlx::query!(
            r#"update ussd_sessions set lock_token = null, locked_until = null
                where session_id = $1 and lock_token = $2"#,
            id.as_str(),
            lock.token
        )
        .execute(&self.pool)
        .await?;
        Ok(())
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

    fn lock_load<'a>(
        &'a self,
        id: &'a SessionId,
        lease: Duration,
    ) -> BoxFuture<'a, Result<LockLoad, StoreError>> {
        Box::pin(self.lock_and_find(id, lease))
    }

    /// Strict CAS as in [`SessionStore::save`], then the release: this store
    /// on its own is for tests and tools, not the hop path.
    fn save_unlock<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a str,
        expected: Option<u64>,
        ttl: Duration,
        lock: HopLock,
    ) -> BoxFuture<'a, Result<Saved, StoreError>> {
        Box::pin(async move {
            let saved = self.compare_and_set(id, data, expected, ttl).await?;
            self.release(id, &lock).await?;
            Ok(saved)
        })
    }

    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        lock: HopLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.release(id, &lock).await })
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
           select s, d, v, e
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
        // outer filter re-checks the expiry. A row whose hop lock is held
        // stays: a hop is using it (an expired session being started again).
        let deleted = sqlx::query!(
            r#"delete from ussd_sessions
                where ctid = any(array(select ctid from ussd_sessions
                                        where expires_at <= now()
                                          and (locked_until is null or locked_until <= now())
                                        limit $1))
                  and expires_at <= now()
                  and (locked_until is null or locked_until <= now())"#,
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
