//! Background tasks under watch. A node whose mirror, prober or sweeper has
//! stopped would keep answering while quietly losing what that task did, so
//! every task runs under a [`Supervisor`]: one that ends before shutdown, or
//! panics at any time, stops the node with an error naming it, and systemd
//! restarts it (`Restart=on-failure`).

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why a supervised task stopped the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskFailed {
    /// It returned although the node was not shutting down.
    #[error("background task `{0}` stopped while the node was running")]
    Ended(&'static str),
    /// It panicked.
    #[error("background task `{0}` panicked")]
    Panicked(&'static str),
}

impl TaskFailed {
    /// The task's name.
    pub fn task(&self) -> &'static str {
        match self {
            TaskFailed::Ended(name) | TaskFailed::Panicked(name) => name,
        }
    }
}

/// Spawns named tasks and reports the first that stops.
pub struct Supervisor {
    /// Every task, so shutdown can wait for all of them.
    tracker: TaskTracker,
    /// Each task sends how it ended here.
    ended: mpsc::UnboundedSender<TaskFailed>,
    reports: mpsc::UnboundedReceiver<TaskFailed>,
}

impl Default for Supervisor {
    fn default() -> Supervisor {
        Supervisor::new()
    }
}

impl Supervisor {
    /// No tasks yet.
    pub fn new() -> Supervisor {
        let (ended, reports) = mpsc::unbounded_channel();
        Supervisor {
            tracker: TaskTracker::new(),
            ended,
            reports,
        }
    }

    /// Runs `task` in its own Tokio task. A long-running task returns only
    /// when its shutdown token is cancelled; any other return is a failure.
    pub fn spawn<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // A task of its own, so a panic is caught by Tokio and seen here
        // as a `JoinError` rather than unwinding through the tracker.
        let running = tokio::spawn(task);
        let ended = self.ended.clone();
        self.tracker.spawn(async move {
            let how = match running.await {
                Err(error) if error.is_panic() => TaskFailed::Panicked(name),
                _ => TaskFailed::Ended(name),
            };
            // The receiver is gone only once the supervisor is dropped.
            let _ = ended.send(how);
        });
    }

    /// Waits until `shutdown` is cancelled (`Ok`) or a task stops first; then
    /// it logs the task's name, cancels `shutdown` so the rest stop too, and
    /// returns the failure.
    pub async fn watch(&mut self, shutdown: &CancellationToken) -> Result<(), TaskFailed> {
        let failure = tokio::select! {
            // Tasks end *because* shutdown began: that is not a failure.
            biased;
            _ = shutdown.cancelled() => return Ok(()),
            Some(failure) = self.reports.recv() => failure,
        };
        tracing::error!(task = failure.task(), "{failure}; stopping the node");
        shutdown.cancel();
        Err(failure)
    }

    /// After shutdown: waits for every task within `deadline`. Returns
    /// `Ok(false)` when the deadline passed first, and a panic seen while
    /// draining as an error (a task that failed to finish its work).
    pub async fn drain(&mut self, deadline: Duration) -> Result<bool, TaskFailed> {
        self.tracker.close();
        let finished = tokio::time::timeout(deadline, self.tracker.wait())
            .await
            .is_ok();
        while let Ok(report) = self.reports.try_recv() {
            if let TaskFailed::Panicked(name) = report {
                tracing::error!(task = name, "background task panicked during shutdown");
                return Err(report);
            }
        }
        Ok(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn forever(shutdown: CancellationToken) {
        shutdown.cancelled().await;
    }

    #[tokio::test]
    async fn a_task_that_panics_stops_the_node_naming_it() {
        let shutdown = CancellationToken::new();
        let mut tasks = Supervisor::new();
        tasks.spawn("steady", forever(shutdown.clone()));
        tasks.spawn("mirror", async { panic!("boom") });
        assert_eq!(
            tasks.watch(&shutdown).await,
            Err(TaskFailed::Panicked("mirror"))
        );
        assert!(shutdown.is_cancelled(), "the other tasks are told to stop");
        assert_eq!(tasks.drain(Duration::from_secs(1)).await, Ok(true));
    }

    #[tokio::test]
    async fn a_task_that_returns_early_stops_the_node_naming_it() {
        let shutdown = CancellationToken::new();
        let mut tasks = Supervisor::new();
        tasks.spawn("steady", forever(shutdown.clone()));
        tasks.spawn("prober", async {});
        let failure = tasks.watch(&shutdown).await.unwrap_err();
        assert_eq!(failure, TaskFailed::Ended("prober"));
        assert_eq!(
            failure.to_string(),
            "background task `prober` stopped while the node was running"
        );
    }

    #[tokio::test]
    async fn tasks_that_stop_for_shutdown_are_not_failures() {
        let shutdown = CancellationToken::new();
        let mut tasks = Supervisor::new();
        tasks.spawn("a", forever(shutdown.clone()));
        tasks.spawn("b", forever(shutdown.clone()));
        shutdown.cancel();
        assert_eq!(tasks.watch(&shutdown).await, Ok(()));
        assert_eq!(tasks.drain(Duration::from_secs(1)).await, Ok(true));
    }

    #[tokio::test]
    async fn a_panic_while_draining_is_reported() {
        let shutdown = CancellationToken::new();
        let mut tasks = Supervisor::new();
        let stop = shutdown.clone();
        tasks.spawn("sweeper", async move {
            stop.cancelled().await;
            panic!("failed while stopping");
        });
        shutdown.cancel();
        assert_eq!(tasks.watch(&shutdown).await, Ok(()));
        assert_eq!(
            tasks.drain(Duration::from_secs(1)).await,
            Err(TaskFailed::Panicked("sweeper"))
        );
    }

    #[tokio::test]
    async fn drain_says_when_the_deadline_passed() {
        let shutdown = CancellationToken::new();
        let mut tasks = Supervisor::new();
        tasks.spawn("stuck", std::future::pending());
        shutdown.cancel();
        assert_eq!(tasks.drain(Duration::from_millis(20)).await, Ok(false));
    }
}
