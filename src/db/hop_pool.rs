//! [`HopPool`]: the connections USSD hops run their queries on, handed back
//! without a round trip.
//!
//! sqlx's pool pings every connection that comes back to it (a `Sync` and its
//! `ReadyForQuery`) before another caller may take it: a round trip per
//! checkout that PostgreSQL and the daemon both pay, as much as a hop's own
//! query. The ping is there because a caller dropped mid-query (a cancelled
//! future) can leave a connection in an unknown state. Here the holder says
//! instead: [`HopConn::release`] is called only after every query on it
//! completed, and a connection dropped without it (an error, a cancelled
//! hop, a panic) is closed, never reused. A connection idle for longer than
//! [`STALE_AFTER`] is pinged before reuse, so one the server or a firewall
//! dropped overnight costs a member nothing.
//!
//! Everything else (background tasks, the session store's fallback, tools)
//! keeps sqlx's pool.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Idle longer than this, a connection is pinged before it is handed out.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// Longest wait for a connection, as sqlx's pool (`db::connect`).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest wait for a polite goodbye to a connection being closed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Connections closed because their holder did not release them.
pub const HOP_POOL_DISCARDED: &str = "pesachama_db_hop_connections_discarded_total";

/// A small pool of hop connections. Cheap to clone.
#[derive(Clone)]
pub struct HopPool {
    inner: Arc<Inner>,
}

struct Inner {
    options: PgConnectOptions,
    /// Idle longer than this, a connection is pinged before reuse.
    stale_after: Duration,
    /// One permit per connection that may exist.
    permits: Arc<Semaphore>,
    /// Released connections, the most recent last.
    idle: Mutex<Vec<(PgConnection, Instant)>>,
}

impl HopPool {
    /// Up to `size` connections with the options of `pool` (same server,
    /// role and application name); none is opened until needed.
    pub fn new(pool: &PgPool, size: u32) -> HopPool {
        HopPool::pinging_after(pool, size, STALE_AFTER)
    }

    /// [`HopPool::new`], pinging connections idle longer than `stale_after`
    /// (tests shorten it).
    pub fn pinging_after(pool: &PgPool, size: u32, stale_after: Duration) -> HopPool {
        metrics::describe_counter!(
            HOP_POOL_DISCARDED,
            "Hop connections closed instead of reused: their holder failed or was cancelled"
        );
        HopPool {
            inner: Arc::new(Inner {
                options: (*pool.connect_options()).clone(),
                stale_after,
                permits: Arc::new(Semaphore::new(size as usize)),
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A connection: the most recently released one, or a new one.
    pub async fn acquire(&self) -> Result<HopConn, sqlx::Error> {
        let permit =
            tokio::time::timeout(ACQUIRE_TIMEOUT, self.inner.permits.clone().acquire_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?;
        let conn = match self.take_idle() {
            Some((mut conn, since)) if since.elapsed() >= self.inner.stale_after => {
                match conn.ping().await {
                    Ok(()) => conn,
                    Err(_) => PgConnection::connect_with(&self.inner.options).await?,
                }
            }
            Some((conn, _)) => conn,
            None => PgConnection::connect_with(&self.inner.options).await?,
        };
        Ok(HopConn {
            conn: Some(conn),
            pool: self.inner.clone(),
            _permit: permit,
        })
    }

    fn take_idle(&self) -> Option<(PgConnection, Instant)> {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
    }

    /// Connections waiting to be reused (for tests).
    pub fn idle(&self) -> usize {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Closes the idle connections; held ones close when dropped.
    pub async fn close(&self) {
        self.inner.permits.close();
        let idle = std::mem::take(&mut *self.inner.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for (conn, _) in idle {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn.close()).await;
        }
    }
}

/// A checked-out hop connection. [`HopConn::release`] it once its queries
/// are done; dropped without that, it is closed.
pub struct HopConn {
    conn: Option<PgConnection>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl HopConn {
    /// Hands the connection back for the next hop. Call it only when every
    /// query on it completed and no transaction is open.
    pub fn release(mut self) {
        if let Some(conn) = self.conn.take() {
            if self.pool.permits.is_closed() {
                return discard(conn);
            }
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((conn, Instant::now()));
        }
    }
}

impl std::ops::Deref for HopConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn
            .as_ref()
            .expect("a held connection is present until released")
    }
}

impl std::ops::DerefMut for HopConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a held connection is present until released")
    }
}

impl Drop for HopConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            metrics::counter!(HOP_POOL_DISCARDED).increment(1);
            discard(conn);
        }
    }
}

/// Closes `conn` in the background: its state is unknown, so it is never
/// reused, but the server is told goodbye rather than left to time out.
fn discard(conn: PgConnection) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn.close()).await;
        });
    }
}
