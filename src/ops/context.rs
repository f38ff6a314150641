//! What an operation runs with: the request it belongs to and, when it
//! touches PostgreSQL, the connection (in a transaction for a write).

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::PgConnection;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::db::HopConn;
use crate::state::AppState;

/// The idempotency key of one effect: the request's key and the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One request (a USSD hop; later an API call) as its operations see it.
pub struct RequestEnv<'a> {
    pub app: &'a AppState,
    /// Identifies the request among its copies: a copy has the same one.
    /// Never holds raw input (a USSD text can hold a PIN).
    request_key: String,
    /// Taken from the pool by the first operation that needs one and kept
    /// for the rest of the request: checking a PIN and reading the balance
    /// then cost one checkout. The menu engine calls operations one after
    /// another through a shared reference, so the lock is never contended.
    conn: Mutex<Option<HopConn>>,
    /// True when the last operation that used the connection completed:
    /// only then does it go back to the pool when the request ends.
    settled: AtomicBool,
}

impl<'a> RequestEnv<'a> {
    /// `request_key` must be the same for every copy of one request and
    /// different for every other request: for a USSD hop, the keyed
    /// fingerprint of the session and its text plus the hop's number.
    pub fn new(app: &'a AppState, request_key: String) -> RequestEnv<'a> {
        RequestEnv {
            app,
            request_key,
            conn: Mutex::new(None),
            settled: AtomicBool::new(true),
        }
    }

    /// The key of operation `name` within this request.
    pub fn key(&self, name: &str) -> IdempotencyKey {
        IdempotencyKey(format!("{}:{name}", self.request_key))
    }

    /// The request's connection, checked out on first use. Until
    /// [`RequestEnv::settle`] it counts as in use.
    pub async fn db(&self) -> Result<MappedMutexGuard<'_, PgConnection>, sqlx::Error> {
        let mut slot = self.conn.lock().await;
        if slot.is_none() {
            *slot = Some(self.app.hop_db.acquire().await?);
        }
        self.settled.store(false, Ordering::Release);
        Ok(MutexGuard::map(slot, |conn| match conn {
            Some(conn) => &mut **conn,
            None => unreachable!("the slot was filled above"),
        }))
    }

    /// Every query on the connection completed and no transaction is open:
    /// it may serve the next request.
    pub(super) fn settle(&self) {
        self.settled.store(true, Ordering::Release);
    }
}

impl Drop for RequestEnv<'_> {
    /// Gives the connection back when the last operation completed; one an
    /// operation failed or was cancelled on is closed instead.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.get_mut().take() {
            if *self.settled.get_mut() {
                conn.release();
            }
        }
    }
}

/// What one operation runs in.
pub struct OpContext<'a> {
    pub app: &'a AppState,
    conn: Option<&'a mut PgConnection>,
    key: Option<&'a IdempotencyKey>,
}

impl<'a> OpContext<'a> {
    pub(super) fn without_db(env: &'a RequestEnv<'_>) -> OpContext<'a> {
        OpContext {
            app: env.app,
            conn: None,
            key: None,
        }
    }

    pub(super) fn reading(env: &'a RequestEnv<'_>, conn: &'a mut PgConnection) -> OpContext<'a> {
        OpContext {
            app: env.app,
            conn: Some(conn),
            key: None,
        }
    }

    /// `tx` is the operation's transaction; the caller commits it with the key.
    pub(super) fn writing(
        env: &'a RequestEnv<'_>,
        tx: &'a mut PgConnection,
        key: &'a IdempotencyKey,
    ) -> OpContext<'a> {
        OpContext {
            app: env.app,
            conn: Some(tx),
            key: Some(key),
        }
    }

    /// The operation's connection: in its transaction for a write.
    pub fn db(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        self.conn.as_deref_mut().ok_or_else(|| {
            sqlx::Error::Configuration(
                "an operation declared without database access used it".into(),
            )
        })
    }

    /// The effect's idempotency key (writes only): rows the operation queues
    /// (an SMS, later an STK push) derive their own unique keys from it.
    pub fn key(&self) -> Result<&IdempotencyKey, sqlx::Error> {
        self.key.ok_or_else(|| {
            sqlx::Error::Configuration(
                "an operation declared without write access asked for a key".into(),
            )
        })
    }
}
