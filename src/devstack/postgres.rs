//! A private PostgreSQL cluster in `state_dir/postgres`: finding `initdb` and
//! `pg_ctl`, running them as the `postgres` user when we are root, creating
//! the cluster once, and starting / stopping it on a free port.

use std::ffi::{CStr, OsStr, OsString};
use std::fs::{self, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, lchown};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{
    DevstackError, PORT_ATTEMPTS, StateLock, find_on_path, free_port, io_error, is_executable,
    log_len, log_tail, output_text, prepare_state_dir, run,
};

/// Where Debian's packages install one folder per PostgreSQL major version.
const DEBIAN_VERSIONS_ROOT: &str = "/usr/lib/postgresql";

/// The system user Debian's server package creates; we run as it when root.
const POSTGRES_USER: &CStr = c"postgres";

/// The server options for `pg_ctl start -o` that do not depend on the port.
/// Durability is traded for speed: this data is for development and tests.
const SERVER_OPTIONS: &str = "-c listen_addresses=127.0.0.1 -c fsync=off \
     -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";

/// `initdb` options besides the data folder. `--no-locale` gives the same
/// collation whatever the developer's `LANG`, and no failure when `LANG`
/// names a locale that is not installed; `--no-sync` trades crash safety for
/// speed, like `fsync=off`.
const INITDB_OPTIONS: [&str; 8] = [
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-locale",
    "--no-sync",
    "--no-instructions",
];

/// Longest unix socket path the kernel accepts (`sun_path` minus its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// How long `pg_ctl start` may wait for the server to accept connections.
const START_TIMEOUT_SECS: &str = "60";

/// A running private PostgreSQL server; stopped by [`PrivatePostgres::stop`] or on drop.
pub struct PrivatePostgres {
    /// How to run `pg_ctl` against the cluster.
    cluster: Cluster,
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    url: String,
    /// Held while the server runs; `None` once stopped.
    lock: Option<StateLock>,
}

impl PrivatePostgres {
    /// Initialises (first time only) and starts a cluster whose data lives in `state_dir/postgres`.
    pub fn start(state_dir: &Path) -> Result<PrivatePostgres, DevstackError> {
        let binaries = find_binaries()?;
        let run_as = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let state_dir = prepare_state_dir(state_dir)?;
        let lock = StateLock::acquire(&state_dir, ".lock", "DATABASE_URL")?;
        let cluster = Cluster {
            data_dir: state_dir.join("postgres"),
            log_path: state_dir.join("postgres.log"),
            state_dir,
            binaries,
            run_as,
        };
        cluster.prepare_files()?;
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        cluster.stop_leftover()?;
        let port = cluster.start_on_free_port()?;
        tracing::info!(port, data_dir = %cluster.data_dir.display(), "started private PostgreSQL");
        Ok(PrivatePostgres {
            cluster,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            lock: Some(lock),
        })
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server (`pg_ctl stop -m fast`); idempotent. Drop calls it.
    pub fn stop(&mut self) {
        // Release the lock only after the server is down, so a new process
        // cannot start on the folder while this server still runs.
        if let Some(_lock) = self.lock.take() {
            if let Err(error) = self.cluster.stop() {
                tracing::warn!(%error, "could not stop private PostgreSQL");
            }
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The PostgreSQL programs we run.
#[derive(Debug)]
struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

impl Binaries {
    /// The programs in `dir`, if both are there.
    fn in_dir(dir: &Path) -> Option<Binaries> {
        let binaries = Binaries {
            initdb: dir.join("initdb"),
            pg_ctl: dir.join("pg_ctl"),
        };
        (is_executable(&binaries.initdb) && is_executable(&binaries.pg_ctl)).then_some(binaries)
    }
}

/// Finds `initdb` and `pg_ctl` from `PG_BINDIR`, `pg_config`, Debian's
/// versioned folders or `PATH`, in that order.
fn find_binaries() -> Result<Binaries, DevstackError> {
    lookup_binaries(
        std::env::var_os("PG_BINDIR").filter(|dir| !dir.is_empty()),
        pg_config_bindir,
        Path::new(DEBIAN_VERSIONS_ROOT),
        std::env::var_os("PATH").as_deref(),
    )
}

/// [`find_binaries`] with its inputs passed in, so tests need not touch the environment.
fn lookup_binaries(
    pg_bindir: Option<OsString>,
    pg_config_bindir: impl FnOnce() -> Option<PathBuf>,
    versions_root: &Path,
    path_var: Option<&OsStr>,
) -> Result<Binaries, DevstackError> {
    if let Some(dir) = pg_bindir {
        let dir = PathBuf::from(dir);
        return Binaries::in_dir(&dir).ok_or(DevstackError::BadPgBindir { dir });
    }
    // pg_config also comes with the client libraries (libpq-dev), whose bindir
    // may lack the server programs: hence checking for them, then going on.
    if let Some(found) = pg_config_bindir().and_then(|dir| Binaries::in_dir(&dir)) {
        return Ok(found);
    }
    if let Some(found) = newest_version_bindir(versions_root).and_then(|dir| Binaries::in_dir(&dir))
    {
        return Ok(found);
    }
    match (
        find_on_path("initdb", path_var),
        find_on_path("pg_ctl", path_var),
    ) {
        (Some(initdb), Some(pg_ctl)) => Ok(Binaries { initdb, pg_ctl }),
        _ => Err(DevstackError::PostgresNotInstalled),
    }
}

/// `pg_config --bindir`, when `pg_config` exists and answers.
fn pg_config_bindir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !dir.trim().is_empty()).then(|| PathBuf::from(dir.trim()))
}

/// `<root>/<highest version>/bin` among versions that have `initdb`.
fn newest_version_bindir(root: &Path) -> Option<PathBuf> {
    let version = |name: &str| -> Option<Vec<u32>> {
        name.split('.').map(|part| part.parse().ok()).collect()
    };
    fs::read_dir(root)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let number = version(entry.file_name().to_str()?)?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((number, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// Whether this process runs as root, which PostgreSQL refuses.
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A system user to run PostgreSQL as.
#[derive(Debug, Clone, Copy)]
struct SystemUser {
    uid: u32,
    gid: u32,
}

/// The `postgres` system user, or [`DevstackError::NoPostgresUser`].
fn postgres_user() -> Result<SystemUser, DevstackError> {
    // SAFETY: an all-zero passwd (null pointers, zero ids) is a valid value.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: every pointer is valid for the call and `buffer.len()` is its
    // real size; getpwnam_r (unlike getpwnam) shares no static state.
    let status = unsafe {
        libc::getpwnam_r(
            POSTGRES_USER.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() {
        return Err(DevstackError::NoPostgresUser);
    }
    Ok(SystemUser {
        uid: entry.pw_uid,
        gid: entry.pw_gid,
    })
}

/// One cluster's folders and how to run its programs.
struct Cluster {
    /// Absolute; the working folder of every program we run.
    state_dir: PathBuf,
    /// `state_dir/postgres`.
    data_dir: PathBuf,
    /// `state_dir/postgres.log`, appended to by the server.
    log_path: PathBuf,
    binaries: Binaries,
    /// `Some` when we are root and must run as `postgres`.
    run_as: Option<SystemUser>,
}

impl Cluster {
    /// A command for `program`, run as the `postgres` user when we are root.
    fn command(&self, program: &Path) -> Command {
        let mut command = match self.run_as {
            Some(_) => {
                let mut runuser = Command::new("runuser");
                runuser
                    .arg("-u")
                    .arg(OsStr::from_bytes(POSTGRES_USER.to_bytes()));
                runuser.arg("--").arg(program);
                runuser
            }
            None => Command::new(program),
        };
        command.current_dir(&self.state_dir);
        command
    }

    /// Creates the data folder and log file; as root, hands them to `postgres`.
    fn prepare_files(&self) -> Result<(), DevstackError> {
        fs::create_dir_all(&self.data_dir)
            .map_err(io_error(format!("create {}", self.data_dir.display())))?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_error(format!("create {}", self.log_path.display())))?;
        let Some(user) = self.run_as else {
            return Ok(());
        };
        let reachable = self
            .command(Path::new("test"))
            .arg("-x")
            .arg(&self.state_dir)
            .status()
            .map_err(io_error("run `runuser -u postgres -- test`"))?;
        if !reachable.success() {
            return Err(DevstackError::StateDirNotReachable {
                dir: self.state_dir.clone(),
            });
        }
        chown(&self.log_path, user)?;
        let owner = fs::metadata(&self.data_dir)
            .map_err(io_error(format!("inspect {}", self.data_dir.display())))?
            .uid();
        // A cluster made by another user (an earlier non-root run) is handed
        // over whole; otherwise only the folder itself needs it.
        if owner == user.uid {
            Ok(())
        } else {
            chown_tree(&self.data_dir, user)
        }
    }

    /// Creates the cluster in the (empty or half-made) data folder.
    fn initdb(&self) -> Result<(), DevstackError> {
        // Without PG_VERSION there is no usable cluster, only the leftovers of
        // an interrupted initdb, which would refuse a non-empty folder.
        let has_leftovers = fs::read_dir(&self.data_dir)
            .map_err(io_error(format!("read {}", self.data_dir.display())))?
            .next()
            .is_some();
        if has_leftovers {
            tracing::warn!(data_dir = %self.data_dir.display(), "removing a half-made PostgreSQL cluster");
            fs::remove_dir_all(&self.data_dir)
                .map_err(io_error(format!("remove {}", self.data_dir.display())))?;
            self.prepare_files()?;
        }
        tracing::info!(data_dir = %self.data_dir.display(), "creating a private PostgreSQL cluster");
        run(self
            .command(&self.binaries.initdb)
            .arg("-D")
            .arg(&self.data_dir)
            .args(INITDB_OPTIONS))?;
        Ok(())
    }

    /// Stops a server left running on this cluster by a run that died
    /// without stopping it, so we can start afresh on a new port.
    fn stop_leftover(&self) -> Result<(), DevstackError> {
        let status = self
            .command(&self.binaries.pg_ctl)
            .arg("-D")
            .arg(&self.data_dir)
            .arg("status")
            .output()
            .map_err(io_error("run `pg_ctl status`"))?;
        // pg_ctl status: 0 running, 3 not running, 4 no readable cluster.
        if status.status.success() {
            tracing::warn!(data_dir = %self.data_dir.display(), "stopping a leftover PostgreSQL server");
            self.stop()?;
        }
        Ok(())
    }

    /// Starts the server on a free port, retrying when another process takes
    /// the port first; returns the port once it accepts TCP connections.
    fn start_on_free_port(&self) -> Result<u16, DevstackError> {
        let mut attempt = 1;
        loop {
            let port = free_port()?;
            let offset = log_len(&self.log_path);
            let output = self
                .command(&self.binaries.pg_ctl)
                .arg("-D")
                .arg(&self.data_dir)
                .arg("-l")
                .arg(&self.log_path)
                .args(["-w", "-t", START_TIMEOUT_SECS, "-o"])
                .arg(self.server_options(port))
                .arg("start")
                .output()
                .map_err(io_error("run `pg_ctl start`"))?;
            if output.status.success() {
                return self.check_tcp(port, offset);
            }
            let log = log_tail(&self.log_path, offset);
            if attempt < PORT_ATTEMPTS && log.contains("Address already in use") {
                attempt += 1;
                continue;
            }
            return Err(self.start_failed(output_text(&output), log));
        }
    }

    /// The `-o` string; pg_ctl hands it to `/bin/sh`, hence the quoting.
    fn server_options(&self, port: u16) -> String {
        let socket_dir = socket_dir(&self.data_dir);
        format!("-p {port} -k {} {SERVER_OPTIONS}", sh_quote(&socket_dir))
    }

    /// Confirms the server that pg_ctl reports as ready answers on TCP,
    /// which is what the application uses.
    fn check_tcp(&self, port: u16, offset: u64) -> Result<u16, DevstackError> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        match TcpStream::connect_timeout(&address, Duration::from_secs(5)) {
            Ok(_) => Ok(port),
            Err(error) => {
                let failure = self.start_failed(
                    format!(
                        "pg_ctl reported it started, but 127.0.0.1:{port} refuses TCP ({error})"
                    ),
                    log_tail(&self.log_path, offset),
                );
                if let Err(error) = self.stop() {
                    tracing::warn!(%error, "could not stop private PostgreSQL");
                }
                Err(failure)
            }
        }
    }

    /// A [`DevstackError::StartFailed`] that points at a damaged cluster too.
    fn start_failed(&self, reason: String, log: String) -> DevstackError {
        DevstackError::StartFailed {
            server: "PostgreSQL",
            reason: format!(
                "{reason}\n(if the log shows a damaged or incompatible cluster, delete {} to \
                 create a new one)",
                self.data_dir.display()
            ),
            log_path: self.log_path.clone(),
            log,
        }
    }

    /// `pg_ctl stop -m fast`, waiting until the server is down.
    fn stop(&self) -> Result<(), DevstackError> {
        run(self
            .command(&self.binaries.pg_ctl)
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "stop"]))?;
        Ok(())
    }
}

/// Folder for the server's unix socket: the data folder, or `""` (no socket)
/// when the socket path would exceed the kernel's limit. We only use TCP.
fn socket_dir(data_dir: &Path) -> String {
    let dir = data_dir.to_string_lossy();
    let longest_socket = format!("{dir}/.s.PGSQL.65535.lock");
    if longest_socket.len() <= MAX_SOCKET_PATH {
        dir.into_owned()
    } else {
        String::new()
    }
}

/// `text` as one single-quoted `/bin/sh` word.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Hands `path` (not following symlinks) to `user`.
fn chown(path: &Path, user: SystemUser) -> Result<(), DevstackError> {
    lchown(path, Some(user.uid), Some(user.gid)).map_err(io_error(format!(
        "hand {} to the postgres user",
        path.display()
    )))
}

/// Hands `dir` and everything under it to `user`.
fn chown_tree(dir: &Path, user: SystemUser) -> Result<(), DevstackError> {
    chown(dir, user)?;
    let entries = fs::read_dir(dir).map_err(io_error(format!("read {}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io_error(format!("read {}", dir.display())))?;
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if is_dir {
            chown_tree(&entry.path(), user)?
        } else {
            chown(&entry.path(), user)?
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::selftest_dir;
    use super::*;

    #[test]
    fn a_machine_without_postgres_gets_told_which_package_to_install() {
        let empty = selftest_dir("no-postgres");
        fs::create_dir_all(&empty).unwrap();

        let error = lookup_binaries(None, || None, &empty, Some(empty.as_os_str())).unwrap_err();

        let message = error.to_string();
        assert!(
            message.contains(
                "install the PostgreSQL server package (Debian: apt-get install postgresql)"
            ),
            "{message}"
        );
        let error = lookup_binaries(Some(empty.clone().into()), || None, &empty, None).unwrap_err();
        assert!(error.to_string().contains("PG_BINDIR="), "{error}");
        fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn the_newest_installed_version_wins() {
        let root = selftest_dir("versions");
        for version in ["9.6", "15", "13"] {
            fs::create_dir_all(root.join(version).join("bin")).unwrap();
            fs::write(root.join(version).join("bin").join("initdb"), "").unwrap();
        }
        fs::create_dir_all(root.join("16/bin")).unwrap(); // no initdb: client only

        assert_eq!(newest_version_bindir(&root), Some(root.join("15/bin")));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn long_data_folders_get_no_unix_socket_and_options_survive_the_shell() {
        assert_eq!(socket_dir(Path::new("/tmp/x/postgres")), "/tmp/x/postgres");
        let long = PathBuf::from(format!("/tmp/{}/postgres", "d".repeat(100)));
        assert_eq!(socket_dir(&long), "");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("/a b/it's"), r"'/a b/it'\''s'");
    }

    #[test]
    fn a_cluster_starts_answers_stops_and_is_reused() {
        let dir = selftest_dir("postgres");

        let mut first = PrivatePostgres::start(&dir).unwrap();
        let port = port_of(first.url());
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok());
        let second = PrivatePostgres::start(&dir).err().unwrap();
        assert!(
            matches!(second, DevstackError::StateDirInUse { .. }),
            "{second}"
        );
        let created = fs::metadata(dir.join("postgres/PG_VERSION"))
            .unwrap()
            .modified()
            .unwrap();
        first.stop();
        first.stop();
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());

        let again = PrivatePostgres::start(&dir).unwrap();
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port_of(again.url()))).is_ok());
        let reused = fs::metadata(dir.join("postgres/PG_VERSION"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(created, reused, "initdb ran a second time");
        drop(again);
        fs::remove_dir_all(&dir).unwrap();
    }

    fn port_of(url: &str) -> u16 {
        let rest = url.strip_prefix("postgres://postgres@127.0.0.1:").unwrap();
        rest.strip_suffix("/postgres").unwrap().parse().unwrap()
    }
}
