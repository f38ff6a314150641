//! The write-behind mirror: copies sessions saved in Redis to PostgreSQL a
//! few milliseconds later, so a session begun on Redis can continue on
//! PostgreSQL if Redis dies.
//!
//! A bounded queue keyed by session id: a newer save of the same session
//! replaces the queued one (only the latest version matters), a delete
//! replaces whatever was queued. When the queue is full the oldest entry is
//! dropped and counted: a hop never waits for the mirror. One task flushes
//! the queue in batches, one upsert statement per batch.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::postgres::{MirrorRow, write_mirror_batch};
use super::{MIRROR_DROPPED, MIRROR_WRITTEN, STORE_ERRORS, SessionId};

/// Pause after a failed batch before trying again, so a PostgreSQL outage
/// does not turn the flusher into a busy loop.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// What is queued for one session.
struct Pending {
    /// Delete the row before writing `upsert` (a delete came after an
    /// earlier save; the row must go even if `upsert` has a lower version,
    /// as when `resume:<user>` starts again at version 1).
    delete_first: bool,
    /// The latest save, if any.
    upsert: Option<(String, u64, DateTime<Utc>)>,
}

/// Queue state; the std mutex is held for a few map operations only, never
/// across an await.
#[derive(Default)]
struct Queue {
    entries: HashMap<String, Pending>,
    /// Session ids in the order first queued; the same keys as `entries`.
    order: VecDeque<String>,
}

/// The queue shared by the store (producer) and the flush task (consumer).
pub(super) struct Mirror {
    queue: Mutex<Queue>,
    /// Wakes the flush task when the queue stops being empty.
    wake: Notify,
    /// Most sessions held at once.
    capacity: usize,
}

impl Mirror {
    pub(super) fn new(capacity: usize) -> Mirror {
        Mirror {
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues a saved session; keeps the higher version if one is queued.
    pub(super) fn upsert(
        &self,
        id: &SessionId,
        data: &str,
        version: u64,
        expires_at: DateTime<Utc>,
    ) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pending) = queue.entries.get_mut(id.as_str()) {
            // Two saves of one session can finish in either order.
            if pending.upsert.as_ref().is_none_or(|(_, v, _)| *v < version) {
                pending.upsert = Some((data.to_owned(), version, expires_at));
            }
            return;
        }
        let pending = Pending {
            delete_first: false,
            upsert: Some((data.to_owned(), version, expires_at)),
        };
        self.insert(&mut queue, id.as_str().to_owned(), pending);
    }

    /// Queues a delete, replacing any queued save.
    pub(super) fn delete(&self, id: &SessionId) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let pending = Pending {
            delete_first: true,
            upsert: None,
        };
        if let Some(existing) = queue.entries.get_mut(id.as_str()) {
            *existing = pending;
            return;
        }
        self.insert(&mut queue, id.as_str().to_owned(), pending);
    }

    fn insert(&self, queue: &mut Queue, id: String, pending: Pending) {
        if queue.entries.len() >= self.capacity {
            if let Some(oldest) = queue.order.pop_front() {
                queue.entries.remove(&oldest);
                metrics::counter!(MIRROR_DROPPED).increment(1);
            }
        }
        let was_empty = queue.entries.is_empty();
        queue.entries.insert(id.clone(), pending);
        queue.order.push_back(id);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Sessions waiting to be written.
    pub(super) fn pending(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }

    /// Takes up to `max` of the oldest entries.
    fn take(&self, max: usize) -> (Vec<String>, Vec<MirrorRow>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let mut deletes = Vec::new();
        let mut rows = Vec::new();
        while rows.len() + deletes.len() < max {
            let Some(id) = queue.order.pop_front() else {
                break;
            };
            let Some(pending) = queue.entries.remove(&id) else {
                continue;
            };
            if pending.delete_first {
                deletes.push(id.clone());
            }
            if let Some((data, version, expires_at)) = pending.upsert {
                rows.push(MirrorRow {
                    id,
                    data,
                    version,
                    expires_at,
                });
            }
        }
        (deletes, rows)
    }

    /// Puts a batch that failed back in the queue, unless newer work for the
    /// same session arrived meanwhile.
    fn requeue(&self, deletes: Vec<String>, rows: Vec<MirrorRow>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        for id in deletes {
            if !queue.entries.contains_key(&id) {
                let pending = Pending {
                    delete_first: true,
                    upsert: None,
                };
                self.insert(&mut queue, id, pending);
            }
        }
        for row in rows {
            match queue.entries.get_mut(&row.id) {
                Some(pending) => {
                    if pending.upsert.is_none() && !pending.delete_first {
                        pending.upsert = Some((row.data, row.version, row.expires_at));
                    }
                }
                None => {
                    let pending = Pending {
                        delete_first: false,
                        upsert: Some((row.data, row.version, row.expires_at)),
                    };
                    self.insert(&mut queue, row.id, pending);
                }
            }
        }
    }

    /// Writes everything queued, `batch` sessions per statement. Returns
    /// false if a batch failed (it is queued again).
    pub(super) async fn flush(&self, pool: &PgPool, batch: usize) -> bool {
        loop {
            let (deletes, rows) = self.take(batch.max(1));
            if deletes.is_empty() && rows.is_empty() {
                return true;
            }
            match write_mirror_batch(pool, &deletes, &rows).await {
                Ok(()) => {
                    metrics::counter!(MIRROR_WRITTEN).increment(rows.len() as u64);
                }
                Err(error) => {
                    metrics::counter!(STORE_ERRORS, "store" => "postgres", "op" => "mirror")
                        .increment(1);
                    tracing::warn!(%error, sessions = rows.len(), "cannot mirror USSD sessions to postgres; will retry");
                    self.requeue(deletes, rows);
                    return false;
                }
            }
        }
    }
}

/// The flush task: waits for work, lets a batch gather for `every`, writes
/// it. On shutdown it writes what it holds (one attempt) and returns.
pub(super) async fn run(
    mirror: std::sync::Arc<Mirror>,
    pool: PgPool,
    every: Duration,
    batch: usize,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = mirror.wake.notified() => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        if !mirror.flush(&pool, batch).await {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(RETRY_PAUSE) => {}
            }
            // Requeued entries did not notify (the queue was not empty).
            mirror.wake.notify_one();
        }
    }
    let left = mirror.pending();
    if left > 0 && !mirror.flush(&pool, batch).await {
        tracing::warn!(
            sessions = mirror.pending(),
            "USSD sessions not mirrored to postgres at shutdown"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> SessionId {
        SessionId::parse(s).unwrap()
    }

    #[test]
    fn a_newer_save_replaces_the_queued_one_and_an_older_does_not() {
        let mirror = Mirror::new(10);
        let now = Utc::now();
        mirror.upsert(&id("a"), "{\"v\":2}", 2, now);
        mirror.upsert(&id("a"), "{\"v\":3}", 3, now);
        mirror.upsert(&id("a"), "{\"v\":1}", 1, now);
        let (deletes, rows) = mirror.take(100);
        assert!(deletes.is_empty());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].version, 3);
        assert_eq!(rows[0].data, "{\"v\":3}");
    }

    #[test]
    fn a_delete_then_a_new_start_deletes_before_writing() {
        let mirror = Mirror::new(10);
        let now = Utc::now();
        mirror.upsert(&id("a"), "{}", 5, now);
        mirror.delete(&id("a"));
        mirror.upsert(&id("a"), "{}", 1, now);
        let (deletes, rows) = mirror.take(100);
        assert_eq!(deletes, vec!["a".to_owned()]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].version, 1);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_session() {
        let mirror = Mirror::new(2);
        let now = Utc::now();
        mirror.upsert(&id("a"), "{}", 1, now);
        mirror.upsert(&id("b"), "{}", 1, now);
        mirror.upsert(&id("c"), "{}", 1, now);
        assert_eq!(mirror.pending(), 2);
        let (_, rows) = mirror.take(100);
        let ids: Vec<_> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[test]
    fn take_respects_the_batch_size_and_keeps_the_rest() {
        let mirror = Mirror::new(10);
        let now = Utc::now();
        for name in ["a", "b", "c"] {
            mirror.upsert(&id(name), "{}", 1, now);
        }
        let (_, rows) = mirror.take(2);
        assert_eq!(rows.len(), 2);
        assert_eq!(mirror.pending(), 1);
    }
}
