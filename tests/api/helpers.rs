//! `spawn_app()` and the servers behind it.
//!
//! With `DATABASE_URL` / `REDIS_URL` set, tests use those servers (CI, or a
//! developer's own). Unset, the first test starts private servers from the
//! machine's binaries (state in `.local/test`, reused by the next run) and the
//! process stops them on exit. Each test gets its own database, cloned from a
//! template migrated once, and its own Redis key prefix, so tests run in parallel.
//!
//! As in production, the template is migrated by the owner (the admin URL) and
//! the tests and the app connect as a runtime role that owns nothing
//! ([`RUNTIME_ROLE`]); a test that needs the owner's powers for setup says why
//! and uses [`TestDb::owner_url`].

use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};

use pesachama::app::{self, Application, Fakes};
use pesachama::config::{RawSettings, Settings};
use pesachama::db::{self, MIGRATOR};
use pesachama::devstack::{PrivatePostgres, PrivateRedis};
use pesachama::ledger::check::{self, CheckReport};
use pesachama::state::AppState;
use secrecy::SecretString;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Where private test servers keep their data.
const STATE_DIR: &str = ".local/test";
/// The login role tests and the app connect as; created in the cluster on first use.
pub const RUNTIME_ROLE: &str = "pesachama_test_runtime";
/// Its password: ignored under trust authentication, needed under any other.
pub const RUNTIME_PASSWORD: &str = "pesachama-test-runtime";

/// Addresses of the PostgreSQL and Redis the tests use.
pub struct Servers {
    /// URL of a database we may create other databases from.
    pub postgres_admin: String,
    pub redis: String,
}

/// Private servers started by this process, stopped at exit.
static STARTED: Mutex<Option<(Option<PrivatePostgres>, Option<PrivateRedis>)>> = Mutex::new(None);

extern "C" fn stop_started_servers() {
    if let Ok(mut started) = STARTED.lock() {
        started.take();
    }
}

/// The servers, started on first use.
pub fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(STATE_DIR);
        let mut pg = None;
        let mut redis = None;
        let postgres_admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            let server = PrivatePostgres::start(&dir).expect("start private PostgreSQL");
            let url = server.url().to_owned();
            pg = Some(server);
            url
        });
        let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| {
            let server = PrivateRedis::start(&dir).expect("start private Redis");
            let url = server.url().to_owned();
            redis = Some(server);
            url
        });
        if pg.is_some() || redis.is_some() {
            *STARTED.lock().unwrap() = Some((pg, redis));
            // Statics are never dropped; atexit runs when the test binary exits.
            unsafe { libc::atexit(stop_started_servers) };
        }
        Servers {
            postgres_admin,
            redis: redis_url,
        }
    })
}

fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

/// Name of the migrated template; changes whenever a migration changes.
fn template_name() -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for m in MIGRATOR.iter() {
        for b in m.checksum.iter().chain(m.version.to_le_bytes().iter()) {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3);
        }
    }
    format!("pesachama_tpl_{hash:016x}")
}

async fn ensure_template(admin: &mut PgConnection) -> String {
    static READY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let name = template_name();
            // Serialises template creation across test processes too.
            admin
                .execute("select pg_advisory_lock(724001)")
                .await
                .unwrap();
            let exists: bool =
                sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut *admin)
                    .await
                    .unwrap();
            if !exists {
                let building = format!("{name}_building");
                admin
                    .execute(format!(r#"drop database if exists "{building}""#).as_str())
                    .await
                    .unwrap();
                admin
                    .execute(format!(r#"create database "{building}""#).as_str())
                    .await
                    .unwrap();
                let url = with_database(&servers().postgres_admin, &building);
                let mut conn = PgConnection::connect(&url).await.unwrap();
                MIGRATOR.run(&mut conn).await.expect("migrations apply");
                conn.close().await.unwrap();
                provision_runtime_role(&url).await;
                admin
                    .execute(format!(r#"alter database "{building}" rename to "{name}""#).as_str())
                    .await
                    .unwrap();
            }
            if exists {
                // Another process (or an earlier run) built the template; the
                // role is cluster-wide and may be missing on a reused server.
                let url = with_database(&servers().postgres_admin, &name);
                provision_runtime_role(&url).await;
            }
            admin
                .execute("select pg_advisory_unlock(724001)")
                .await
                .unwrap();
            name
        })
        .await
        .clone()
}

/// Creates or updates [`RUNTIME_ROLE`] as `pesachama migrate` would, connected
/// as the owner to the database at `owner_url`.
async fn provision_runtime_role(owner_url: &str) {
    let owner = PgPool::connect(owner_url).await.unwrap();
    let runtime = SecretString::from(runtime_url(owner_url));
    db::provision_runtime_role(&owner, &runtime)
        .await
        .expect("the runtime role can be provisioned");
    owner.close().await;
}

/// `owner_url` with the runtime role's login instead.
fn runtime_url(owner_url: &str) -> String {
    db::url_for_login(owner_url, RUNTIME_ROLE, Some(RUNTIME_PASSWORD)).unwrap()
}

/// A fresh, migrated database, dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    /// Connects as the runtime role, as the daemon does.
    pub url: String,
    /// Connects as the owner of the schema (the admin). Only for setup the
    /// daemon may not do itself, each use saying why.
    pub owner_url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let servers = servers();
        let mut admin = PgConnection::connect(&servers.postgres_admin)
            .await
            .unwrap();
        let template = ensure_template(&mut admin).await;
        let name = format!("pesachama_test_{}", Uuid::new_v4().simple());
        admin
            .execute(format!(r#"create database "{name}" template "{template}""#).as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        let owner_url = with_database(&servers.postgres_admin, &name);
        TestDb {
            name,
            url: runtime_url(&owner_url),
            owner_url,
        }
    }

    /// A pool that connects as the runtime role.
    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&self.url).await.unwrap()
    }

    /// A pool that connects as the owner; see [`TestDb::owner_url`].
    pub async fn owner_pool(&self) -> PgPool {
        PgPool::connect(&self.owner_url).await.unwrap()
    }

    /// Runs `ledger check` as the runtime role and fails the test on any
    /// mismatch. Tests that post end with it.
    pub async fn assert_ledger_consistent(&self) -> CheckReport {
        let mut conn = PgConnection::connect(&self.url).await.unwrap();
        let report = assert_ledger_consistent(&mut conn).await;
        conn.close().await.unwrap();
        report
    }
}

/// Runs `ledger check` on `conn` (outside a transaction) and fails the test,
/// listing every mismatch, unless the books are consistent.
pub async fn assert_ledger_consistent(conn: &mut PgConnection) -> CheckReport {
    let report = check::run(conn).await.expect("ledger check runs");
    let listed: Vec<String> = report.mismatches.iter().map(ToString::to_string).collect();
    assert!(report.is_consistent(), "{report}\n{}", listed.join("\n"));
    report
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = servers().postgres_admin.clone();
        let name = self.name.clone();
        // Drop cannot be async; a short-lived runtime on another thread does it.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(
                            format!(r#"drop database if exists "{name}" with (force)"#).as_str(),
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

/// A login role of one test. Roles outlive databases, so it is dropped with
/// the value, even when the test fails; declare it before the database.
pub struct TestRole(pub String);

impl TestRole {
    pub fn fresh() -> TestRole {
        TestRole(format!(
            "pc_runtime_{}",
            &Uuid::new_v4().simple().to_string()[..12]
        ))
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        let role = self.0.clone();
        // Drop cannot be async; a short-lived runtime on another thread does it.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut admin = PgConnection::connect(&servers().postgres_admin).await?;
                let sql: String =
                    sqlx::query_scalar("select format('drop role if exists %I', $1::text)")
                        .bind(&role)
                        .fetch_one(&mut admin)
                        .await?;
                sqlx::raw_sql(&sql).execute(&mut admin).await.map(drop)
            })
        })
        .join();
    }
}

/// Settings for a test app: port 0, fakes, its own database and key prefix.
pub fn test_settings(db: &TestDb, prefix: &str) -> RawSettings {
    [
        ("DATABASE_URL", db.url.as_str()),
        ("REDIS_URL", servers().redis.as_str()),
        ("PESACHAMA_HTTP_ADDR", "127.0.0.1:0"),
        ("PESACHAMA_ADMIN_ADDR", "127.0.0.1:0"),
        (
            "PESACHAMA_PIN_SECRET",
            "test-pin-secret-0123456789abcdef0123",
        ),
        ("PESACHAMA_REDIS_PREFIX", prefix),
        ("PESACHAMA_LOG_FORMAT", "pretty"),
        ("PESACHAMA_SHUTDOWN_DEADLINE_SECS", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A running gateway and handles to inspect it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub client: reqwest::Client,
    /// The running app's shared state (sessions, pool, settings).
    pub state: AppState,
    /// The providers' fakes: `fakes.sms` is the fake Africa's Talking the
    /// app sends to over HTTP (delivery reports off until a test calls its
    /// `report_to`, e.g. with [`TestApp::sms_delivery_url`]).
    pub fakes: Fakes,
    pub shutdown: CancellationToken,
    pub stopped: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// The app's database; dropped with the app.
    pub database: TestDb,
}

/// Starts the gateway with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the gateway after `adjust` has changed the raw settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut RawSettings)) -> TestApp {
    spawn_app_on(TestDb::new().await, adjust).await
}

/// [`spawn_app_with`] on a database the test prepared.
pub async fn spawn_app_on(test_db: TestDb, adjust: impl FnOnce(&mut RawSettings)) -> TestApp {
    init_test_tracing();
    let prefix = format!("t{}:", Uuid::new_v4().simple());
    let mut raw = test_settings(&test_db, &prefix);
    adjust(&mut raw);
    let settings = Settings::parse_for_fakes(&raw).expect("test settings are valid");
    let app = Application::build(settings).await.expect("app builds");
    let addr = app.http_addr();
    let state = app.state().clone();
    let fakes = app.fakes().clone();
    let admin_addr = app.admin_addr();
    let shutdown = CancellationToken::new();
    let stopped = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        addr,
        admin_addr,
        client: reqwest::Client::new(),
        state,
        fakes,
        shutdown,
        stopped: Some(stopped),
        database: test_db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The fake Africa's Talking the app sends SMS to.
    pub fn fake_sms(&self) -> &pesachama::sms::FakeSms {
        self.fakes
            .sms
            .as_deref()
            .expect("test apps run on the fakes")
    }

    /// The fake Daraja the app pushes to.
    pub fn fake_daraja(&self) -> &pesachama::mpesa::FakeDaraja {
        self.fakes
            .daraja
            .as_deref()
            .expect("test apps run on the fakes")
    }

    /// Where AT posts delivery reports to this app (with its callback token).
    pub fn sms_delivery_url(&self) -> reqwest::Url {
        app::delivery_url(self.addr, self.state.settings.sms.callback_token.as_ref())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Posts a raw form to the USSD callback.
    pub async fn ussd_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// One Africa's Talking hop: `(status, body)`.
    pub async fn hop(&self, session: &str, phone: &str, text: &str) -> (u16, String) {
        let response = self
            .ussd_form(
                "/ussd/africastalking",
                &[
                    ("sessionId", session),
                    ("serviceCode", "*384*1234#"),
                    ("phoneNumber", phone),
                    ("networkCode", "63902"),
                    ("text", text),
                ],
            )
            .await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A phone that dials a new session.
    pub fn phone(&self, number: &str) -> Phone<'_> {
        Phone {
            app: self,
            session: format!("ATUid_{}", Uuid::new_v4().simple()),
            number: number.to_owned(),
            typed: Vec::new(),
        }
    }

    /// The app's metrics text.
    pub async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.admin_addr);
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// A feature phone in one USSD session, sending cumulative text as
/// Africa's Talking does.
pub struct Phone<'a> {
    app: &'a TestApp,
    pub session: String,
    pub number: String,
    typed: Vec<String>,
}

impl Phone<'_> {
    /// The first hop (empty text).
    pub async fn dial(&mut self) -> String {
        let (status, body) = self.app.hop(&self.session, &self.number, "").await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Types `input` and returns the next screen (with its CON/END prefix).
    pub async fn send(&mut self, input: &str) -> String {
        self.typed.push(input.to_owned());
        let text = self.typed.join("*");
        let (status, body) = self.app.hop(&self.session, &self.number, &text).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The cumulative text sent so far.
    pub fn text(&self) -> String {
        self.typed.join("*")
    }

    /// Walks a transcript: each step types an input (the first step with
    /// `None` dials) and expects every listed fragment on the next screen.
    pub async fn walk(&mut self, steps: &[(Option<&str>, &[&str])]) {
        for (input, expected) in steps {
            let screen = match input {
                None => self.dial().await,
                Some(input) => self.send(input).await,
            };
            for fragment in *expected {
                assert!(
                    screen.contains(fragment),
                    "after {input:?} expected `{fragment}` on the screen:\n{screen}"
                );
            }
            let text = screen.trim_start_matches("CON ").trim_start_matches("END ");
            assert!(
                text.chars().count() <= 182,
                "screen longer than 182 characters:\n{screen}"
            );
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn init_test_tracing() {
    if std::env::var_os("TEST_LOG").is_some() {
        pesachama::telemetry::init_tracing(pesachama::config::LogFormat::Pretty);
    }
}
