//! A private Redis server: `redis-server` from the `PATH`, run as our child
//! process on a free port, persisting nothing, working in `state_dir/redis`.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{
    DevstackError, PORT_ATTEMPTS, StateLock, find_on_path, free_port, io_error, log_len, log_tail,
    prepare_state_dir,
};

/// How long a new server may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server may take to exit after SIGTERM before it gets SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause between checks while waiting for the server.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A running private Redis server; stopped by [`PrivateRedis::stop`] or on drop.
pub struct PrivateRedis {
    /// `redis://127.0.0.1:<port>`.
    url: String,
    /// `state_dir/redis.pid`, written by the server.
    pid_path: PathBuf,
    /// The server process and the folder lock; `None` once stopped.
    running: Option<(Child, StateLock)>,
}

impl PrivateRedis {
    /// Starts a server working in `state_dir/redis`, logging to `state_dir/redis.log`.
    pub fn start(state_dir: &Path) -> Result<PrivateRedis, DevstackError> {
        let program = find_redis(std::env::var_os("PATH").as_deref())?;
        let state_dir = prepare_state_dir(state_dir)?;
        let lock = StateLock::acquire(&state_dir, ".redis.lock", "REDIS_URL")?;
        let files = Files {
            work_dir: state_dir.join("redis"),
            log_path: state_dir.join("redis.log"),
            pid_path: state_dir.join("redis.pid"),
        };
        fs::create_dir_all(&files.work_dir)
            .map_err(io_error(format!("create {}", files.work_dir.display())))?;
        files.stop_leftover();
        let (child, port) = files.spawn_on_free_port(&program)?;
        tracing::info!(port, work_dir = %files.work_dir.display(), "started private Redis");
        Ok(PrivateRedis {
            url: format!("redis://127.0.0.1:{port}"),
            pid_path: files.pid_path,
            running: Some((child, lock)),
        })
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s); idempotent. Drop calls it.
    pub fn stop(&mut self) {
        // The lock is released at the end of this block, after the server is gone.
        if let Some((mut child, _lock)) = self.running.take() {
            stop_child(&mut child);
            // Redis removes it on SIGTERM, not on SIGKILL.
            let _ = fs::remove_file(&self.pid_path);
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `redis-server` on `path_var`, or [`DevstackError::RedisNotInstalled`].
fn find_redis(path_var: Option<&OsStr>) -> Result<PathBuf, DevstackError> {
    find_on_path("redis-server", path_var).ok_or(DevstackError::RedisNotInstalled)
}

/// The paths one server uses.
struct Files {
    /// Redis's `dir`: its working folder.
    work_dir: PathBuf,
    /// Appended to by the server, and by us with its stdout / stderr, which
    /// carry errors found before the log file is open.
    log_path: PathBuf,
    /// Lets the next run find a server this run could not stop.
    pid_path: PathBuf,
}

impl Files {
    /// Stops a server left by a run that died before stopping it.
    fn stop_leftover(&self) {
        let pid = fs::read_to_string(&self.pid_path)
            .ok()
            .and_then(|text| text.trim().parse::<libc::pid_t>().ok())
            .filter(|pid| *pid > 0);
        let Some(pid) = pid else { return };
        // The pid may belong to another program by now: only signal a
        // redis-server working in our folder.
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok();
        if comm.trim() == "redis-server" && cwd.as_deref() == Some(self.work_dir.as_path()) {
            tracing::warn!(pid, "stopping a leftover redis-server");
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = fs::remove_file(&self.pid_path);
    }

    /// Starts the server on a free port, retrying when another process takes
    /// the port first; returns it once it answers `PING`.
    fn spawn_on_free_port(&self, program: &Path) -> Result<(Child, u16), DevstackError> {
        let mut attempt = 1;
        loop {
            let port = free_port()?;
            let offset = log_len(&self.log_path);
            let mut child = self.spawn(program, port)?;
            let Err(not_ready) = wait_until_ready(&mut child, port) else {
                return Ok((child, port));
            };
            stop_child(&mut child);
            let log = log_tail(&self.log_path, offset);
            let port_taken = not_ready.port_taken || log.contains("Address already in use");
            if attempt < PORT_ATTEMPTS && port_taken {
                attempt += 1;
                continue;
            }
            return Err(DevstackError::StartFailed {
                server: "Redis",
                reason: not_ready.reason,
                log_path: self.log_path.clone(),
                log,
            });
        }
    }

    /// Spawns `redis-server` in the foreground on `port`.
    fn spawn(&self, program: &Path, port: u16) -> Result<Child, DevstackError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_error(format!("open {}", self.log_path.display())))?;
        let log_copy = log
            .try_clone()
            .map_err(io_error(format!("open {}", self.log_path.display())))?;
        Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.work_dir)
            .arg("--logfile")
            .arg(&self.log_path)
            .arg("--pidfile")
            .arg(&self.pid_path)
            .current_dir(&self.work_dir)
            // Its own process group keeps a terminal's Ctrl-C from stopping
            // Redis under an application that is still draining; `stop`
            // (or the next run, through the pid file) ends it instead.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_copy)
            .spawn()
            .map_err(io_error(format!("run {}", program.display())))
    }
}

/// Why a spawned server is not usable.
struct NotReady {
    /// What went wrong, in a sentence.
    reason: String,
    /// Another server answers on the port: worth trying another port.
    port_taken: bool,
}

impl NotReady {
    fn new(reason: String, port_taken: bool) -> NotReady {
        NotReady { reason, port_taken }
    }
}

/// Waits until the child answers `PING` on `port`.
fn wait_until_ready(child: &mut Child, port: u16) -> Result<(), NotReady> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(NotReady::new(
                    format!("redis-server exited ({status})"),
                    false,
                ));
            }
            Err(error) => {
                let reason = format!("could not watch redis-server ({error})");
                return Err(NotReady::new(reason, false));
            }
            Ok(None) => {}
        }
        match server_pid(port) {
            Some(pid) if pid == child.id() => return Ok(()),
            Some(pid) => {
                let reason = format!("127.0.0.1:{port} is taken by redis-server pid {pid}");
                return Err(NotReady::new(reason, true));
            }
            None => {}
        }
        if Instant::now() >= deadline {
            let reason = format!(
                "no +PONG from 127.0.0.1:{port} within {} s",
                READY_TIMEOUT.as_secs()
            );
            return Err(NotReady::new(reason, false));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// The pid of the server on `port` if it answers `PING` with `+PONG`.
///
/// The pid tells our server from one that took the port while ours failed
/// to bind it and has not exited yet.
fn server_pid(port: u16) -> Option<u32> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream.write_all(b"PING\r\nINFO server\r\n").ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if line != "+PONG\r\n" {
        return None;
    }
    // INFO answers with a bulk string: `$<length>\r\n<text>\r\n`.
    line.clear();
    reader.read_line(&mut line).ok()?;
    let length: usize = line.strip_prefix('$')?.trim_end().parse().ok()?;
    let mut info = vec![0_u8; length];
    reader.read_exact(&mut info).ok()?;
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|line| line.strip_prefix("process_id:")?.trim().parse().ok())
}

/// SIGTERM, then SIGKILL if the child is still running after [`STOP_TIMEOUT`].
fn stop_child(child: &mut Child) {
    if !matches!(child.try_wait(), Ok(None)) {
        return;
    }
    // The pid cannot have been reused: the child is not reaped until we wait.
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        thread::sleep(POLL_INTERVAL);
    }
    tracing::warn!(pid, "redis-server ignored SIGTERM; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::super::tests::selftest_dir;
    use super::*;

    #[test]
    fn a_machine_without_redis_gets_told_which_package_to_install() {
        let empty = selftest_dir("no-redis");
        fs::create_dir_all(&empty).unwrap();

        for path_var in [None, Some(empty.as_os_str())] {
            let message = find_redis(path_var).unwrap_err().to_string();
            assert!(
                message.contains("install redis-server (Debian: apt-get install redis-server)"),
                "{message}"
            );
        }
        fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn a_server_starts_answers_stops_and_starts_again() {
        let dir = selftest_dir("redis");

        let mut first = PrivateRedis::start(&dir).unwrap();
        let port = port_of(first.url());
        assert!(server_pid(port).is_some());
        let second = PrivateRedis::start(&dir).err().unwrap();
        assert!(
            matches!(second, DevstackError::StateDirInUse { .. }),
            "{second}"
        );
        first.stop();
        first.stop();
        assert!(server_pid(port).is_none());

        let again = PrivateRedis::start(&dir).unwrap();
        assert!(server_pid(port_of(again.url())).is_some());
        drop(again);
        fs::remove_dir_all(&dir).unwrap();
    }

    fn port_of(url: &str) -> u16 {
        url.strip_prefix("redis://127.0.0.1:")
            .unwrap()
            .parse()
            .unwrap()
    }
}
