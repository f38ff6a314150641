//! The hop lock's types and the wait for a lock another hop holds (the rules
//! are in the [module documentation](super)).

use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::{ActiveStore, SessionId, SessionStore, StoreError, Stored};

/// First pause before asking again for a held lock; it doubles up to
/// [`MAX_PAUSE`]. A hop takes a few milliseconds, so the first retries are
/// quick, and twenty waiting copies do not hammer the store.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// Longest pause between two tries.
const MAX_PAUSE: Duration = Duration::from_millis(40);

/// A hop lock held on one session. Not `Clone`: it is given back exactly
/// once, to [`SessionStore::save_unlock`] or [`SessionStore::unlock`]. A lock
/// dropped without either (a cancelled request) frees itself at its expiry.
#[derive(Debug)]
pub struct HopLock {
    /// Owner token: only the holder's release removes the lock.
    pub(super) token: Uuid,
    /// The store the lock lives on.
    pub(super) held_on: ActiveStore,
}

impl HopLock {
    /// A fresh token for a lock to be taken on `held_on`.
    pub(super) fn new(held_on: ActiveStore) -> HopLock {
        HopLock {
            token: Uuid::new_v4(),
            held_on,
        }
    }

    /// The store holding the lock.
    pub fn held_on(&self) -> ActiveStore {
        self.held_on
    }
}

/// Outcome of one [`SessionStore::lock_load`].
#[derive(Debug)]
pub enum LockLoad {
    /// The lock is ours; `stored` is the live session, if any.
    Locked {
        lock: HopLock,
        stored: Option<Stored>,
    },
    /// Another hop of the session holds the lock.
    Busy,
}

/// Outcome of [`load_locked`].
#[derive(Debug)]
pub enum Locked {
    /// The lock is ours; `stored` is the live session, if any.
    Held {
        lock: HopLock,
        stored: Option<Stored>,
    },
    /// Another hop held the lock for longer than the patience allowed.
    /// `current` is the session as stored now: answer from it, act on nothing.
    Busy { current: Option<Stored> },
}

/// Takes the hop lock of `id` and loads the session, waiting while another
/// hop holds the lock, for at most `patience`.
pub async fn load_locked<S: SessionStore + ?Sized>(
    store: &S,
    id: &SessionId,
    lease: Duration,
    patience: Duration,
) -> Result<Locked, StoreError> {
    let give_up = Instant::now() + patience;
    let mut pause = FIRST_PAUSE;
    loop {
        if let LockLoad::Locked { lock, stored } = store.lock_load(id, lease).await? {
            return Ok(Locked::Held { lock, stored });
        }
        let now = Instant::now();
        if now >= give_up {
            let current = store.load(id).await?;
            return Ok(Locked::Busy { current });
        }
        tokio::time::sleep(pause.min(give_up - now)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
