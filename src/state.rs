//! What every request handler and operation can reach: [`AppState`].
//!
//! A leaf: it names the parts (pool, session store, provider clients, menus,
//! limits, settings) and imports nothing that imports it, so `ussd`, `api`
//! and `ops` depend on it and it on none of them. Building and running the
//! gateway is `app`'s job.

use std::ops::Deref;
use std::sync::Arc;

use secrecy::SecretString;
use sqlx::PgPool;

use crate::config::Settings;
use crate::db::HopPool;
use crate::labels::BoundedLabels;
use crate::limits::RateLimits;
use crate::menu::Menus;
use crate::mpesa::DarajaClient;
use crate::session::FailoverStore;
use crate::sms::SmsClient;
use crate::sms::templates::Templates;

/// Handles shared by every request and task. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<App>);

impl AppState {
    pub fn new(app: App) -> AppState {
        AppState(Arc::new(app))
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// What a handler can reach.
pub struct App {
    /// The system of record.
    pub db: PgPool,
    /// The same database for the queries of USSD hops: connections go back
    /// without sqlx's ping (see `db::HopPool`).
    pub hop_db: HopPool,
    /// USSD sessions: Redis first, PostgreSQL behind it. Holds the Redis
    /// connection, which may come only after the start (Redis down).
    pub sessions: FailoverStore,
    /// Africa's Talking SMS (real or a fake: the state cannot tell).
    pub sms: Arc<dyn SmsClient>,
    /// Safaricom Daraja (real or a fake: the state cannot tell).
    pub daraja: Arc<dyn DarajaClient>,
    /// Wakes this node's STK push worker when a hop has committed a
    /// payment intent (the worker also polls, for other nodes' intents).
    pub stk_wake: Arc<tokio::sync::Notify>,
    /// The secret path segment of Daraja's callback URLs.
    pub mpesa_callback_token: SecretString,
    /// The USSD menus and words; swapped on SIGHUP when the new ones pass the check.
    pub menus: Menus,
    /// The checked SMS templates, loaded at start (not reloaded on SIGHUP:
    /// a queued text is already rendered, so a restart loses nothing).
    pub sms_texts: Arc<Templates>,
    /// Per-phone and per-source USSD rate limits.
    pub ussd_limits: RateLimits,
    /// Service codes seen, as bounded metric labels.
    pub ussd_service_codes: BoundedLabels,
    /// Validated settings.
    pub settings: Settings,
}
