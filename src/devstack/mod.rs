//! Private PostgreSQL and Redis servers for `pesachama dev` and the integration
//! tests, started from the binaries installed on this machine when
//! `DATABASE_URL` / `REDIS_URL` are not set.
//!
//! This module owns finding the server programs, the state folder layout, the
//! per-folder locks and the servers' lifetimes. It does not create databases,
//! run migrations or pick key prefixes: callers get a URL and do the rest.
//!
//! State folder layout (`state_dir` is chosen by the caller):
//!
//! | path | what |
//! | --- | --- |
//! | `postgres/` | the PostgreSQL cluster, kept between runs |
//! | `postgres.log` | PostgreSQL's log (appended) |
//! | `.lock` | `flock` held by [`PrivatePostgres`] while it runs |
//! | `redis/` | Redis working folder (nothing is persisted) |
//! | `redis.log`, `redis.pid` | Redis's log (appended) and pid file |
//! | `.redis.lock` | `flock` held by [`PrivateRedis`] while it runs |
//!
//! Each server has its own lock so one process can run both on one folder,
//! while a second process is refused either.
//!
//! The API is synchronous (`std::process`): it is called once at start-up.

mod postgres;
mod redis;

pub use postgres::PrivatePostgres;
pub use redis::PrivateRedis;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};

/// Why a private server could not be started, worded by what the developer
/// must do about it.
#[derive(Debug, thiserror::Error)]
pub enum DevstackError {
    /// `initdb` / `pg_ctl` were not found anywhere we look.
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl) not found via PG_BINDIR, pg_config, \
         /usr/lib/postgresql/*/bin or PATH; install the PostgreSQL server package \
         (Debian: apt-get install postgresql)"
    )]
    PostgresNotInstalled,
    /// `PG_BINDIR` is set but does not hold `initdb` and `pg_ctl`.
    #[error(
        "PG_BINDIR={} does not contain initdb and pg_ctl; point it at the PostgreSQL \
         server's bin folder or unset it",
        .dir.display()
    )]
    BadPgBindir {
        /// The value of `PG_BINDIR`.
        dir: PathBuf,
    },
    /// `redis-server` is not on the `PATH`.
    #[error(
        "redis-server not found on PATH; install redis-server (Debian: apt-get install redis-server)"
    )]
    RedisNotInstalled,
    /// Running as root (PostgreSQL refuses to) and there is no `postgres` user to run it as.
    #[error(
        "running as root, which PostgreSQL refuses, and there is no `postgres` system user \
         to run it as; install the PostgreSQL server package (it creates that user) or run \
         as an ordinary user"
    )]
    NoPostgresUser,
    /// Running as root, and the `postgres` user cannot enter the state folder.
    #[error(
        "the `postgres` system user cannot enter {}; make it and its parent folders \
         searchable by others (chmod o+x) or use another state folder",
        .dir.display()
    )]
    StateDirNotReachable {
        /// The state folder.
        dir: PathBuf,
    },
    /// Another process holds the lock on this state folder.
    #[error("another pesachama process is using {}; stop it or set {url_var}", .dir.display())]
    StateDirInUse {
        /// The state folder.
        dir: PathBuf,
        /// The variable that points at an existing server instead.
        url_var: &'static str,
    },
    /// A file-system or process operation failed.
    #[error("could not {action}")]
    Io {
        /// What we were doing, e.g. "create /x/postgres".
        action: String,
        /// The operating system's answer.
        #[source]
        source: io::Error,
    },
    /// A preparation command (e.g. `initdb`) ran and failed.
    #[error("`{command}` failed ({status}):\n{output}")]
    CommandFailed {
        /// The command line, for copying into a terminal.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// Its stdout and stderr.
        output: String,
    },
    /// The server did not start or did not answer.
    #[error("{server} did not start: {reason}\nlast lines of {}:\n{log}", .log_path.display())]
    StartFailed {
        /// "PostgreSQL" or "Redis".
        server: &'static str,
        /// What went wrong, in a sentence.
        reason: String,
        /// The server's log file.
        log_path: PathBuf,
        /// The end of what the server logged during this attempt.
        log: String,
    },
}

/// Builds a [`DevstackError::Io`] mapper, for `map_err(io_error(...))`.
fn io_error(action: impl Into<String>) -> impl FnOnce(io::Error) -> DevstackError {
    let action = action.into();
    move |source| DevstackError::Io { action, source }
}

/// How many times a start is retried when its port was taken in the meantime.
const PORT_ATTEMPTS: usize = 3;

/// How many log lines an error message carries.
const LOG_TAIL_LINES: usize = 20;

/// Creates `state_dir` if needed and returns its absolute path: the servers
/// run with other working folders (and possibly as another user).
fn prepare_state_dir(state_dir: &Path) -> Result<PathBuf, DevstackError> {
    fs::create_dir_all(state_dir).map_err(io_error(format!("create {}", state_dir.display())))?;
    fs::canonicalize(state_dir).map_err(io_error(format!("resolve {}", state_dir.display())))
}

/// An exclusive `flock` on a file in a state folder, released on drop.
struct StateLock {
    /// Kept open only to hold the lock; std opens it close-on-exec, so the
    /// servers we start do not inherit it.
    _file: File,
}

impl StateLock {
    /// Takes the lock on `state_dir/name` without waiting.
    fn acquire(state_dir: &Path, name: &str, url_var: &'static str) -> Result<Self, DevstackError> {
        let path = state_dir.join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(format!("open {}", path.display())))?;
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Self { _file: file });
        }
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::WouldBlock {
            Err(DevstackError::StateDirInUse {
                dir: state_dir.to_path_buf(),
                url_var,
            })
        } else {
            Err(io_error(format!("lock {}", path.display()))(error))
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago. Another process may take it
/// before the server binds it, hence the retries around every start.
fn free_port() -> Result<u16, DevstackError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(io_error("bind a free port on 127.0.0.1"))?;
    let port = listener
        .local_addr()
        .map_err(io_error("read a bound port"))?
        .port();
    Ok(port)
}

/// The current length of a log file, so we can later read only what one
/// attempt wrote (the logs are appended across runs).
fn log_len(path: &Path) -> u64 {
    fs::metadata(path).map(|meta| meta.len()).unwrap_or(0)
}

/// The last lines written to `path` after byte `offset`.
fn log_tail(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    let read = File::open(path).and_then(|mut file| {
        file.seek(SeekFrom::Start(offset))?;
        file.take(1 << 20).read_to_string(&mut text)
    });
    if let Err(error) = read {
        return format!("(could not read the log: {error})");
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

/// The first executable file called `name` in the folders of `path_var`.
fn find_on_path(name: &str, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a file someone may execute.
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs a command to completion, turning a failure to spawn or a non-zero
/// exit into an error that shows the command line and its output.
fn run(command: &mut Command) -> Result<Output, DevstackError> {
    let line = command_line(command);
    let output = command
        .output()
        .map_err(io_error(format!("run `{line}`")))?;
    if output.status.success() {
        return Ok(output);
    }
    Err(DevstackError::CommandFailed {
        command: line,
        status: output.status,
        output: output_text(&output),
    })
}

/// A command's stdout and stderr as one string.
fn output_text(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text.trim_end().to_owned()
}

/// A command as a developer would type it (without shell quoting).
fn command_line(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the crate's `target/` for one self-test.
    pub(super) fn selftest_dir(name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(format!("devstack-selftest-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_lock_on_the_same_folder_is_refused_until_the_first_is_dropped() {
        let dir = selftest_dir("lock");
        let dir = prepare_state_dir(&dir).unwrap();

        let first = StateLock::acquire(&dir, ".lock", "DATABASE_URL").unwrap();
        let second = StateLock::acquire(&dir, ".lock", "DATABASE_URL");
        let message = second.err().unwrap().to_string();
        assert!(
            message.contains("another pesachama process is using"),
            "{message}"
        );
        assert!(message.contains("set DATABASE_URL"), "{message}");

        drop(first);
        assert!(StateLock::acquire(&dir, ".lock", "DATABASE_URL").is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn log_tail_reads_only_what_was_written_after_the_offset() {
        let dir = prepare_state_dir(&selftest_dir("log")).unwrap();
        let log = dir.join("x.log");
        fs::write(&log, "old run\n").unwrap();
        let offset = log_len(&log);
        fs::write(&log, "old run\nnew run\n").unwrap();

        assert_eq!(log_tail(&log, offset), "new run");
        fs::remove_dir_all(&dir).unwrap();
    }
}
