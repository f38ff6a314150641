//! The application: shared state, the two listeners, background tasks and the
//! one shutdown path.
//!
//! `Application::build` connects, binds (port 0 allowed, for tests) and returns;
//! `run_until_stopped` serves until the given token is cancelled, then drains
//! in-flight requests and tasks within the configured deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use metrics_exporter_prometheus::PrometheusHandle;
use redis::aio::ConnectionManagerConfig;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{MpesaSettings, Providers, Settings};
use crate::db::HopPool;
use crate::labels::BoundedLabels;
use crate::limits::RateLimits;
use crate::menu::Menus;
use crate::mpesa::{self, FakeDaraja};
use crate::ops;
use crate::session::{FailoverStore, PgStore, RedisStore, SessionSettings};
use crate::sms::templates::Templates;
use crate::sms::{self, FakeSms};
use crate::state::{App, AppState};
use crate::supervisor::Supervisor;
use crate::{api, db, ledger, telemetry};

/// Redis must answer within this or the call counts as failed; sessions need
/// answers in milliseconds, not seconds.
const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
/// Time allowed to open a Redis connection.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest pause between the connection manager's retries, in ms. Without
/// it the crate's back-off (factor 100 over a one-second base) waits a
/// minute before its second retry, which held the start for that long when
/// Redis was down.
const REDIS_RETRY_MAX_DELAY_MS: u64 = 200;

/// How many distinct service codes get their own metric label.
const SERVICE_CODE_LABELS: usize = 16;
/// How often idle rate-limit keys are forgotten.
const RATE_LIMIT_SWEEP: Duration = Duration::from_secs(60);

/// The in-process fakes of the providers when the gateway runs on them
/// (`dev` and the tests), for inspection. Kept out of [`AppState`]: what
/// serves members cannot tell a fake from the real provider.
#[derive(Clone, Default)]
pub struct Fakes {
    pub sms: Option<Arc<FakeSms>>,
    pub daraja: Option<Arc<FakeDaraja>>,
}

/// A built, bound, not yet running gateway.
pub struct Application {
    state: AppState,
    fakes: Fakes,
    http: TcpListener,
    admin: TcpListener,
    metrics: PrometheusHandle,
}

impl Application {
    /// Connects to PostgreSQL and Redis and binds both listeners. Redis not
    /// answering is no reason to refuse the start: sessions are served from
    /// PostgreSQL and the prober connects when Redis is back.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let sms = sms::client_for(&settings.providers).await?;
        Application::build_with(settings, sms, None).await
    }

    /// [`Application::build`] sending SMS through `sms` whatever the
    /// providers say, and talking to the Daraja of `mpesa` when given (else
    /// the one the providers say): `dev` sends to a real AT (or its
    /// sandbox) when `AT_API_URL` is set, and to a real Daraja when
    /// `MPESA_API_URL` is.
    pub async fn build_with(
        settings: Settings,
        sms: sms::SmsProvider,
        mpesa: Option<MpesaSettings>,
    ) -> anyhow::Result<Application> {
        let metrics = telemetry::metrics_handle();
        // Bad menus refuse the start before anything is connected or bound.
        let menus = Menus::load(
            &settings.ussd.menus_dir,
            &settings.ussd.locales_dir,
            &ops::registry(),
        )
        .map_err(|report| anyhow::anyhow!("the USSD menus fail their check:\n{report}"))?;
        let sms_texts = Templates::load(&settings.ussd.locales_dir)
            .map_err(|report| anyhow::anyhow!("the SMS templates fail their check:\n{report}"))?;
        let db = db::connect(&settings.database_url).await?;
        let http = TcpListener::bind(settings.http_addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.http_addr))?;
        let admin = TcpListener::bind(settings.admin_addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.admin_addr))?;
        let session_settings = SessionSettings {
            // Rule 5 of `session`: after a Redis restart, every node compares
            // both stores for a full session TTL.
            restart_window: settings.ussd.session_ttl,
            ..settings.sessions.clone()
        };
        let sessions = FailoverStore::new(
            redis_store(&settings)?,
            PgStore::new(db.clone()),
            session_settings,
        );
        if let Err(error) = sessions.connect_redis().await {
            tracing::warn!(%error, "Redis is unreachable; serving sessions from PostgreSQL until it answers");
        }
        let mpesa_callback_token = match &mpesa {
            Some(mpesa) => mpesa.callback_token.clone(),
            None => mpesa_callback_token(&settings.providers),
        };
        let daraja = match mpesa {
            Some(mpesa) => mpesa::DarajaProvider {
                client: Arc::new(mpesa::DarajaHttpClient::new(&mpesa, &mpesa_callback_token)?),
                fake: None,
            },
            None => {
                mpesa::client_for(
                    &settings.providers,
                    &mpesa_callback_token,
                    http.local_addr()?,
                )
                .await?
            }
        };
        let state = AppState::new(App {
            hop_db: HopPool::new(&db, db::DEFAULT_POOL_SIZE),
            db,
            sessions,
            sms: sms.client,
            daraja: daraja.client,
            stk_wake: Arc::default(),
            mpesa_callback_token,
            menus,
            sms_texts: Arc::new(sms_texts),
            ussd_limits: RateLimits::new(&settings.ussd),
            ussd_service_codes: BoundedLabels::new(SERVICE_CODE_LABELS),
            settings,
        });
        Ok(Application {
            state,
            fakes: Fakes {
                sms: sms.fake,
                daraja: daraja.fake,
            },
            http,
            admin,
            metrics,
        })
    }

    /// The public address actually bound (useful with port 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The operator address actually bound.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The shared state, for tests and for `dev` seeding.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The providers' fakes, when the gateway runs on them.
    pub fn fakes(&self) -> &Fakes {
        &self.fakes
    }

    /// Where Africa's Talking posts delivery reports to this gateway, with
    /// the callback token when one is configured: what a fake AT is told
    /// ([`FakeSms::report_to`]).
    pub fn sms_delivery_url(&self) -> reqwest::Url {
        delivery_url(
            self.http_addr(),
            self.state.settings.sms.callback_token.as_ref(),
        )
    }

    /// Serves until `shutdown` is cancelled, then stops accepting, lets
    /// in-flight requests and tasks finish within the drain deadline, and
    /// returns. A background task or listener that stops early (or panics)
    /// stops the node the same way and makes this return an error naming it.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let deadline = self.state.settings.shutdown_deadline;
        let mut tasks = Supervisor::new();
        // Session tasks (mirror, prober, sweeper) stop on the same token and
        // the mirror flushes what it holds within the drain deadline.
        self.state.sessions.start(&tasks, shutdown.child_token());
        tasks.spawn(
            "menu reloader",
            reload_menus_on_sighup(self.state.clone(), shutdown.child_token()),
        );
        tasks.spawn(
            "rate-limit sweeper",
            forget_idle_rate_limits(self.state.clone(), shutdown.child_token()),
        );
        // Every node sends the outbox; claims with skip locked share it out.
        let dispatcher = sms::dispatch::Dispatcher::new(
            self.state.db.clone(),
            self.state.sms.clone(),
            self.state.settings.sms.clone(),
        );
        tasks.spawn("sms dispatcher", dispatcher.run(shutdown.child_token()));
        // Every node pushes; claims with skip locked share the intents out.
        let pusher = mpesa::push::Pusher::new(
            self.state.db.clone(),
            self.state.daraja.clone(),
            self.state.sms_texts.clone(),
            self.state.settings.mpesa_push.clone(),
        );
        tasks.spawn(
            "stk push worker",
            pusher.run(self.state.stk_wake.clone(), shutdown.child_token()),
        );
        tasks.spawn(
            "sms reminders",
            sms::reminders::run(self.state.clone(), shutdown.child_token()),
        );
        // Every node reconciles; claims with skip locked share the requests.
        tasks.spawn(
            "stk reconciliation",
            mpesa::reconcile::run(self.state.clone(), shutdown.child_token()),
        );
        // Every node schedules it; an advisory lock lets one run at a time.
        tasks.spawn(
            "ledger check",
            ledger::watch::run(
                self.state.db.clone(),
                self.state.settings.ledger_check_every,
                shutdown.child_token(),
            ),
        );
        tasks.spawn(
            "idempotency key purge",
            ops::purge_old_keys(self.state.db.clone(), shutdown.child_token()),
        );
        let public = api::router(self.state.clone());
        let admin = api::admin_router(self.metrics.clone());

        tracing::info!(
            http.addr = %self.http_addr(),
            admin.addr = %self.admin_addr(),
            "gateway listening"
        );
        let stop = shutdown.clone();
        tasks.spawn("public listener", async move {
            // Peer addresses feed the USSD source allow-list and rate limit.
            let service = public.into_make_service_with_connect_info::<SocketAddr>();
            // Answers go out at once: hyper writes each in one call, but a
            // kept-alive connection's next answer must not wait on an ACK.
            let listener = self.http.tap_io(|tcp| {
                if let Err(error) = tcp.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
                }
            });
            let served = axum::serve(listener, service)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "public listener failed");
            }
        });
        let stop = shutdown.clone();
        tasks.spawn("admin listener", async move {
            let served = axum::serve(self.admin, admin)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "admin listener failed");
            }
        });

        let watched = tasks.watch(&shutdown).await;
        tracing::info!(
            deadline_secs = deadline.as_secs(),
            "shutting down, draining"
        );
        let drained = tasks.drain(deadline).await;
        if let Ok(false) = drained {
            tracing::warn!("drain deadline passed with work still running; exiting anyway");
        }
        self.state.hop_db.close().await;
        self.state.db.close().await;
        watched?;
        drained?;
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// SIGHUP reloads menus and locales; the old ones stay when the new ones fail
/// the check, and sessions in flight finish on the generation they started with.
async fn reload_menus_on_sighup(state: AppState, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; menus reload only on restart");
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = hangups.recv() => {}
        }
        let ussd = &state.settings.ussd;
        match state
            .menus
            .reload(&ussd.menus_dir, &ussd.locales_dir, &ops::registry())
        {
            Ok(generation) => tracing::info!(menus.generation = generation, "menus reloaded"),
            Err(report) => {
                tracing::error!(%report, "menus reload refused; keeping the current menus")
            }
        }
    }
}

async fn forget_idle_rate_limits(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(RATE_LIMIT_SWEEP);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => state.ussd_limits.forget_idle(),
        }
    }
}

/// The secret in Daraja's callback URLs: configured for the real Daraja, a
/// fresh random one for the in-process fake.
fn mpesa_callback_token(providers: &Providers) -> SecretString {
    match providers {
        Providers::Live(live) => live.mpesa.callback_token.clone(),
        Providers::Fake => SecretString::from(uuid::Uuid::new_v4().simple().to_string()),
    }
}

/// `http://{addr}/sms/africastalking/delivery[?token=…]`.
pub fn delivery_url(addr: SocketAddr, token: Option<&SecretString>) -> reqwest::Url {
    // A gateway listening on every interface is reached on loopback.
    let addr = match addr.ip().is_unspecified() {
        true => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        false => addr,
    };
    let mut url = reqwest::Url::parse(&format!("http://{addr}/sms/africastalking/delivery"))
        .expect("an address makes a valid URL");
    if let Some(token) = token {
        url.query_pairs_mut()
            .append_pair("token", token.expose_secret());
    }
    url
}

/// The Redis session store, not connected yet: a URL that cannot be parsed
/// refuses the start, a Redis that does not answer does not.
fn redis_store(settings: &Settings) -> anyhow::Result<RedisStore> {
    let client = redis::Client::open(settings.redis_url.expose_secret())
        .context("REDIS_URL is not a usable Redis URL")?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(REDIS_CONNECT_TIMEOUT)
        .set_response_timeout(REDIS_RESPONSE_TIMEOUT)
        .set_max_delay(REDIS_RETRY_MAX_DELAY_MS)
        .set_number_of_retries(2);
    Ok(RedisStore::unconnected(
        client,
        config,
        settings.redis_prefix.clone(),
    ))
}

/// Resolves when SIGINT or SIGTERM arrives. The handlers are installed when
/// this is called, not when the future is first polled: a Ctrl-C right after
/// `dev` prints its welcome must stop it cleanly, not kill it.
pub fn termination_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler can be installed");
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler can be installed");
    async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
            _ = term.recv() => tracing::info!("SIGTERM received"),
        }
    }
}
