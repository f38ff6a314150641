//! The gateway killed (SIGKILL) in the middle of a payment and started
//! again: the real `pesachama` binary as a child process, against a test
//! database and the fake Daraja in this process, which the test steers.
//!
//! The child is `pesachama dev` pointed at the fake with `MPESA_API_URL`:
//! the same application, workers and routes as `serve`, which refuses a
//! plain-http `MPESA_CALLBACK_URL` and so could not be called back by a fake
//! on this machine. Both lives of the node listen on the same port with the
//! same callback token: Daraja posts to the URL the push carried. Each node
//! connects as a login role of its own: `dev` provisions it, and roles are
//! shared by every database of the server, so nodes of tests running side by
//! side must not update one role at the same moment.

mod cases;

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pesachama::mpesa::{FakeDaraja, FakeDarajaConfig, FakePlan};
use pesachama::phone::Msisdn;
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::helpers::{TestDb, TestRole, servers};

/// `dev`'s demo member with a PIN (Swahili), alone in UMOJA.
const MEMBER: &str = "0711000005";
const MEMBER_PIN: &str = "2468";
const CALLBACK_TOKEN: &str = "kill-test-callback-token-0123";
/// Longest a step of the flow may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// What stays across the node's lives: its database, port and Daraja.
pub struct Gateway {
    pub db: TestDb,
    pub pool: PgPool,
    pub fake: Arc<FakeDaraja>,
    port: u16,
    env: Vec<(&'static str, String)>,
    http: reqwest::Client,
    /// Dropped last, after the database and the nodes using it.
    _role: TestRole,
}

/// One life of the node.
pub struct Node {
    child: Child,
    log: Arc<Mutex<String>>,
}

/// The member's one STK request, as the node left it.
#[derive(Debug, sqlx::FromRow)]
pub struct Request {
    pub status: String,
    pub checkout_request_id: Option<String>,
    pub claimed: bool,
    pub settled_by: Option<String>,
    pub mpesa_receipt: Option<String>,
    pub flag: Option<String>,
    pub query_attempts: i32,
}

/// A port nobody listens on now, kept for both lives of the node.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Gateway {
    /// A database and a fake Daraja; `settings` are the node's extra
    /// environment (timings of the push worker and the reconciler).
    pub async fn new(settings: &[(&'static str, &str)]) -> Gateway {
        let db = TestDb::new().await;
        let pool = db.pool().await;
        let fake = FakeDaraja::start(FakeDarajaConfig {
            quiet: true,
            ..FakeDarajaConfig::default()
        })
        .await
        .unwrap();
        let port = free_port();
        let role = TestRole::fresh();
        let node_url =
            pesachama::db::url_for_login(&db.owner_url, &role.0, Some("kill-test")).unwrap();
        let manifest = env!("CARGO_MANIFEST_DIR");
        let mut env: Vec<(&'static str, String)> = vec![
            ("DATABASE_URL", node_url),
            ("DATABASE_OWNER_URL", db.owner_url.clone()),
            ("REDIS_URL", servers().redis.clone()),
            (
                "PESACHAMA_REDIS_PREFIX",
                format!("t{}:", Uuid::new_v4().simple()),
            ),
            ("PESACHAMA_HTTP_ADDR", format!("127.0.0.1:{port}")),
            ("PESACHAMA_ADMIN_ADDR", "127.0.0.1:0".into()),
            ("PESACHAMA_MENUS_DIR", format!("{manifest}/menus")),
            ("PESACHAMA_LOCALES_DIR", format!("{manifest}/locales")),
            // A callback the test holds back must not time out meanwhile.
            ("PESACHAMA_REQUEST_TIMEOUT_SECS", "60".into()),
            ("MPESA_API_URL", fake.url()),
            ("MPESA_CONSUMER_KEY", "fake-consumer-key".into()),
            ("MPESA_CONSUMER_SECRET", "fake-consumer-secret".into()),
            (
                "MPESA_SHORTCODE",
                pesachama::mpesa::fake::SANDBOX_SHORTCODE.into(),
            ),
            (
                "MPESA_PASSKEY",
                pesachama::mpesa::fake::SANDBOX_PASSKEY.into(),
            ),
            ("MPESA_CALLBACK_URL", format!("http://127.0.0.1:{port}/")),
            ("MPESA_CALLBACK_TOKEN", CALLBACK_TOKEN.into()),
            ("MPESA_RECONCILE_EVERY_SECS", "1".into()),
        ];
        env.extend(settings.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Gateway {
            db,
            pool,
            fake,
            port,
            env,
            http: reqwest::Client::new(),
            _role: role,
        }
    }

    /// Starts a life of the node and waits until it serves.
    pub async fn start(&self) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pesachama"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            // Nothing of the working folder is needed with both URLs set.
            .current_dir(std::env::temp_dir())
            .arg("dev")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let serving = Arc::new(Notify::new());
        drain(
            child.stdout.take().unwrap(),
            log.clone(),
            Some(serving.clone()),
        );
        drain(child.stderr.take().unwrap(), log.clone(), None);
        let node = Node { child, log };
        if tokio::time::timeout(PATIENCE, serving.notified())
            .await
            .is_err()
        {
            panic!("the node did not start:\n{}", node.log());
        }
        node
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// One Africa's Talking hop; the screen.
    async fn hop(&self, session: &str, text: &str) -> String {
        let response = self
            .http
            .post(self.url("/ussd/africastalking"))
            .form(&[
                ("sessionId", session),
                ("serviceCode", "*384*1234#"),
                ("phoneNumber", MEMBER),
                ("networkCode", "63902"),
                ("text", text),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The member pays `amount` to savings from their phone over USSD, in
    /// Swahili, and is told to expect the prompt.
    pub async fn contribute(&self, amount: i64) {
        let session = format!("ATUid_{}", Uuid::new_v4().simple());
        let amount = amount.to_string();
        let mut typed: Vec<&str> = Vec::new();
        let steps = [
            ("", "Lipa mchango"),
            ("2", "Lipa kwa:"),
            ("2", "Weka kiasi"),
            (amount.as_str(), "kutoka:"),
            ("1", "Umoja Women Group"),
            ("1", "PIN"),
            (MEMBER_PIN, "END Utapokea ombi la M-Pesa"),
        ];
        for (input, expected) in steps {
            if !input.is_empty() {
                typed.push(input);
            }
            let screen = self.hop(&session, &typed.join("*")).await;
            assert!(
                screen.contains(expected),
                "after `{input}` expected `{expected}`:\n{screen}"
            );
        }
    }

    /// Daraja's plan for the member's next push.
    pub fn plan(&self, plan: FakePlan) {
        self.fake
            .set_plan_for(&Msisdn::parse(MEMBER).unwrap(), plan);
    }

    /// The member's savings in UMOJA.
    pub async fn savings(&self) -> i64 {
        let (chama, member): (Uuid, Uuid) = sqlx::query_as(
            "select m.chama_id, m.user_id from chama_members m
               join chamas c on c.id = m.chama_id
               join users u on u.id = m.user_id
              where c.code = 'UMOJA' and u.phone = '+254711000005'",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap();
        let mut conn = self.pool.acquire().await.unwrap();
        pesachama::ledger::member_balance(&mut conn, chama, member)
            .await
            .unwrap()
            .savings
    }

    /// The member's request, once there is one.
    pub async fn request(&self) -> Option<Request> {
        sqlx::query_as(
            "select status, checkout_request_id, claimed_at is not null as claimed, settled_by,
                    mpesa_receipt, flag, query_attempts
               from mpesa_stk_requests",
        )
        .fetch_optional(&self.pool)
        .await
        .unwrap()
    }

    /// Waits until the request is `what` says; `node` is the life whose
    /// log explains a failure.
    pub async fn request_until(
        &self,
        node: Option<&Node>,
        what: &str,
        done: impl Fn(&Request) -> bool,
    ) -> Request {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let request = self.request().await;
            if let Some(request) = request.filter(&done) {
                return request;
            }
            if tokio::time::Instant::now() > deadline {
                let log = node.map(Node::log).unwrap_or_default();
                panic!("never {what}: {:?}\n{log}", self.request().await);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `done` holds of the fake.
    pub async fn fake_until(&self, what: &str, done: impl Fn(&FakeDaraja) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !done(&self.fake) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never {what}: {:?}",
                self.fake.callbacks()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Posts an STK callback body to the node as Daraja would; its answer.
    pub async fn post_callback(&self, body: &Value) -> Value {
        let url = self.url(&format!(
            "{}/{CALLBACK_TOKEN}",
            pesachama::mpesa::STK_CALLBACK_PATH
        ));
        let response = self.http.post(url).json(body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// `pesachama ledger check` run as an operator would, and the same
    /// check in this process.
    pub async fn assert_books_clean(&self) {
        let output = Command::new(env!("CARGO_BIN_EXE_pesachama"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.db.url)
            .args(["ledger", "check"])
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(" 0 mismatches"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.db.assert_ledger_consistent().await;
    }

    /// `pesachama mpesa pending`, as an official would read it.
    pub async fn pending_listing(&self) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_pesachama"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.db.url)
            .args(["mpesa", "pending"])
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// Copies a child's output into `log`; tells `serving` when `dev` says it
/// serves. Read to the end so the child never blocks on a full pipe.
fn drain(
    output: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<String>>,
    serving: Option<Arc<Notify>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("Stop with Ctrl-C")
                && let Some(serving) = &serving
            {
                serving.notify_one();
            }
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
}

impl Node {
    /// SIGKILL: no drain, no goodbye.
    pub async fn kill(mut self) {
        self.child.start_kill().unwrap();
        let status = self.child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{}", self.log());
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}
