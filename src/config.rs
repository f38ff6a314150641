//! Settings: read once from the environment, optionally overlaid by a TOML file,
//! validated in one pass so an operator sees every problem at once.
//!
//! Variables (the TOML file uses the same names, in any case):
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `DATABASE_URL` | PostgreSQL URL of the daemon's runtime role (owns nothing) | required |
//! | `DATABASE_OWNER_URL` | PostgreSQL URL of the schema owner, used only by `migrate` | `DATABASE_URL` |
//! | `REDIS_URL` | Redis connection URL | required |
//! | `PESACHAMA_HTTP_ADDR` | public listener (USSD, SMS, M-Pesa callbacks, app API) | `0.0.0.0:8080` |
//! | `PESACHAMA_ADMIN_ADDR` | operator listener (`/metrics`) | `127.0.0.1:9090` |
//! | `PESACHAMA_PIN_SECRET` | server-side key mixed into every PIN hash: 32 random bytes as hex (64 characters) or padded base64 (`openssl rand -hex 32`); `dev` accepts any 32 characters | required |
//! | `PESACHAMA_REDIS_PREFIX` | prefix of every Redis key (one key space per deployment) | `pc:` |
//! | `PESACHAMA_LOG_FORMAT` | `json` or `pretty` | `json` |
//! | `PESACHAMA_SHUTDOWN_DEADLINE_SECS` | how long in-flight work may drain on SIGTERM | `20` |
//! | `PESACHAMA_REQUEST_TIMEOUT_SECS` | upper bound on one HTTP request | `10` |
//! | `PESACHAMA_BODY_LIMIT_BYTES` | largest accepted request body | `65536` |
//! | `PESACHAMA_MENUS_DIR` | USSD menu files | `menus` |
//! | `PESACHAMA_LOCALES_DIR` | Fluent files, one folder per language | `locales` |
//! | `PESACHAMA_USSD_SESSION_TTL_SECS` | idle lifetime of a USSD session | `180` |
//! | `PESACHAMA_USSD_RESUME_WINDOW_SECS` | how long an interrupted session can be resumed | `120` |
//! | `PESACHAMA_USSD_ALLOWED_SOURCES` | comma-separated CIDRs allowed to call the USSD endpoints; empty = any (`serve` warns) | empty |
//! | `PESACHAMA_USSD_CALLBACK_TOKEN` | USSD callbacks must carry `?token=<value>`; `serve` needs this or basic auth | unset |
//! | `PESACHAMA_USSD_BASIC_AUTH` | USSD callbacks must carry this `user:password`; `serve` needs this or the token | unset |
//! | `PESACHAMA_USSD_DEFAULT_LANG` | language (`en`, `sw`) of the answers given before a session is read (rate limits, refusals) | `en` |
//! | `PESACHAMA_USSD_RATE_PER_PHONE` | hops per minute one phone may make, all of them at once if saved up (a burst of that size, refilled one hop every 60/N seconds); `dev` defaults it to 600 | `60` |
//! | `PESACHAMA_USSD_RATE_PER_SOURCE` | hops per second one source address may make | `20000` |
//! | `PESACHAMA_USSD_EVENTS_RATE_PER_SOURCE` | session-end events per second one source address may send | `5000` |
//! | `PESACHAMA_MEMBER_COUNTRIES` | comma-separated ISO 3166 codes of the countries whose phones may be members (`member add`) and use the menus | `KE` |
//! | `PESACHAMA_SESSION_REDIS_TIMEOUT_MS` | a slower Redis session call counts as failed | `50` |
//! | `PESACHAMA_SESSION_FAILURE_THRESHOLD` | consecutive Redis failures before sessions fail over | `3` |
//! | `PESACHAMA_SESSION_MIRROR_FLUSH_MS` | how long session writes gather before the PostgreSQL mirror writes them | `50` |
//! | `PESACHAMA_SESSION_LOCK_PATIENCE_MS` | how long a repeated hop waits for the copy holding the session's lock | `250` |
//! | `MPESA_API_URL` | Daraja base URL | required |
//! | `MPESA_CONSUMER_KEY`, `MPESA_CONSUMER_SECRET` | Daraja app credentials | required |
//! | `MPESA_SHORTCODE` | paybill / store number (5-7 digits) | required |
//! | `MPESA_PASSKEY` | Lipa Na M-Pesa Online passkey | required |
//! | `MPESA_CALLBACK_URL` | public base URL of this daemon, as Daraja reaches it | required |
//! | `MPESA_CALLBACK_TOKEN` | secret path segment of Daraja's callback URLs, >= 16 chars | required |
//! | `AT_API_URL` | Africa's Talking API base URL | required |
//! | `AT_USERNAME`, `AT_API_KEY` | Africa's Talking app credentials | required |
//! | `AT_SMS_SENDER` | registered sender id or short code; empty = AT's shared sender | unset |
//! | `PESACHAMA_SMS_RATE_PER_SEC` | messages per second this node hands to AT (every recipient of a bulk send counts) | `50` |
//! | `PESACHAMA_SMS_BATCH_SIZE` | outbox rows one claim takes at most | `200` |
//! | `PESACHAMA_SMS_CONCURRENCY` | requests to AT in flight at once on this node | `8` |
//! | `PESACHAMA_SMS_CLAIMERS` | outbox claim loops side by side on this node | `2` |
//! | `PESACHAMA_SMS_MAX_ATTEMPTS` | attempts before a message is dead-lettered | `8` |
//! | `PESACHAMA_SMS_RETRY_BASE_SECS`, `PESACHAMA_SMS_RETRY_MAX_SECS` | first and longest retry delay (doubling, with jitter) | `15`, `3600` |
//! | `PESACHAMA_SMS_SENDING_TIMEOUT_SECS` | a row claimed longer than this is taken back from its (dead) node | `120` |
//! | `PESACHAMA_SMS_ALLOWED_SOURCES` | comma-separated CIDRs allowed to post SMS delivery reports and inbound messages; empty = any | empty |
//! | `PESACHAMA_SMS_CALLBACK_TOKEN` | SMS callbacks must carry `?token=<value>`; `serve` needs it | unset |
//! | `PESACHAMA_SMS_CALLBACK_RATE_PER_SOURCE` | SMS callbacks per second one source address may post | `2000` |
//! | `PESACHAMA_REMINDER_TIME` | Nairobi time of day the reminder job runs | `09:00` |
//! | `PESACHAMA_REMINDER_DAYS_BEFORE` | days before a contribution is due that its reminder goes out | `1` |
//! | `PESACHAMA_MPESA_PUSH_CLAIM_TIMEOUT_SECS` | a push claimed longer than this (its node died) is queried, never pushed again | `90` |
//! | `PESACHAMA_MPESA_PUSH_MAX_BUSY_ATTEMPTS` | pushes Daraja may refuse as busy before the payment fails | `5` |
//! | `MPESA_CALLBACK_ALLOWED_SOURCES` | comma-separated CIDRs allowed to post STK callbacks (Safaricom's published addresses); empty = any | empty |
//! | `MPESA_QUERY_AFTER_SECS` | how long after the push a pending request without a callback is first queried | `90` |
//! | `MPESA_QUERY_BACKOFF_MAX_SECS` | longest wait between two queries of one request | `1800` |
//! | `MPESA_SETTLE_DEADLINE_SECS` | a request still pending this long after its push becomes `unknown` | `86400` |
//! | `MPESA_RECONCILE_EVERY_SECS` | how often the reconciliation worker looks for due requests | `5` |
//! | `MPESA_RECONCILE_BATCH` | requests one reconciliation pass claims at most | `50` |
//! | `MPESA_C2B_MATCH_WINDOW_SECS` | a paybill confirmation this close to a push a query booked without its receipt (same chama, amount and payer) is taken for that payment, not booked again | `600` |
//!
//! Precedence: a value in the `--config` file overrides the same variable in the
//! environment, so one file can pin a deployment whatever the shell exports.
//!
//! `serve` and `config check` ([`Settings::parse`]) also apply the production
//! rules of `config/production.rs`; `dev` and the tests ([`Settings::parse_for_fakes`]) do not.

mod mpesa_push;
mod production;
mod sms;
mod stk;

pub use mpesa_push::MpesaPushSettings;
pub use sms::SmsSettings;
pub use stk::{DEFAULT_C2B_MATCH_WINDOW, StkSettings};

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::phone::MemberCountries;

/// Default public listener, as in the contract table of the design.
pub const DEFAULT_HTTP_ADDR: &str = "0.0.0.0:8080";
/// Default operator listener: loopback only, so metrics are not public by accident.
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:9090";
/// Default Redis key prefix.
pub const DEFAULT_REDIS_PREFIX: &str = "pc:";
/// Shorter than systemd's `TimeoutStopSec=30` in `systemd/pesachama.service`.
pub const DEFAULT_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);
/// Africa's Talking drops a hop after ~10 s; nothing we serve should take longer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// USSD and SMS callbacks are a few hundred bytes; Daraja callbacks a few KB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// A quarter of an hour: a mismatch is seen the same shift, and the check
/// (a read of the whole journal) stays a small share of the database's day.
pub const DEFAULT_LEDGER_CHECK_EVERY: Duration = Duration::from_secs(900);
/// A PIN secret shorter than this is too easy to guess from a leaked hash.
pub const MIN_PIN_SECRET_LEN: usize = 32;

/// Every variable this module reads, in the order they are reported.
const KNOWN: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "REDIS_URL",
    "PESACHAMA_HTTP_ADDR",
    "PESACHAMA_ADMIN_ADDR",
    "PESACHAMA_PIN_SECRET",
    "PESACHAMA_REDIS_PREFIX",
    "PESACHAMA_LOG_FORMAT",
    "PESACHAMA_SHUTDOWN_DEADLINE_SECS",
    "PESACHAMA_REQUEST_TIMEOUT_SECS",
    "PESACHAMA_BODY_LIMIT_BYTES",
    "PESACHAMA_MENUS_DIR",
    "PESACHAMA_LOCALES_DIR",
    "PESACHAMA_USSD_SESSION_TTL_SECS",
    "PESACHAMA_USSD_RESUME_WINDOW_SECS",
    "PESACHAMA_USSD_ALLOWED_SOURCES",
    "PESACHAMA_USSD_CALLBACK_TOKEN",
    "PESACHAMA_USSD_BASIC_AUTH",
    "PESACHAMA_USSD_DEFAULT_LANG",
    "PESACHAMA_USSD_RATE_PER_PHONE",
    "PESACHAMA_USSD_RATE_PER_SOURCE",
    "PESACHAMA_USSD_EVENTS_RATE_PER_SOURCE",
    "PESACHAMA_MEMBER_COUNTRIES",
    "PESACHAMA_SESSION_REDIS_TIMEOUT_MS",
    "PESACHAMA_SESSION_FAILURE_THRESHOLD",
    "PESACHAMA_SESSION_MIRROR_FLUSH_MS",
    "PESACHAMA_SESSION_LOCK_PATIENCE_MS",
    "MPESA_API_URL",
    "MPESA_CONSUMER_KEY",
    "MPESA_CONSUMER_SECRET",
    "MPESA_SHORTCODE",
    "MPESA_PASSKEY",
    "MPESA_CALLBACK_URL",
    "MPESA_CALLBACK_TOKEN",
    "AT_API_URL",
    "AT_USERNAME",
    "AT_API_KEY",
    "AT_SMS_SENDER",
    "PESACHAMA_SMS_RATE_PER_SEC",
    "PESACHAMA_SMS_BATCH_SIZE",
    "PESACHAMA_SMS_CONCURRENCY",
    "PESACHAMA_SMS_CLAIMERS",
    "PESACHAMA_SMS_MAX_ATTEMPTS",
    "PESACHAMA_SMS_RETRY_BASE_SECS",
    "PESACHAMA_SMS_RETRY_MAX_SECS",
    "PESACHAMA_SMS_SENDING_TIMEOUT_SECS",
    "PESACHAMA_SMS_ALLOWED_SOURCES",
    "PESACHAMA_SMS_CALLBACK_TOKEN",
    "PESACHAMA_SMS_CALLBACK_RATE_PER_SOURCE",
    "PESACHAMA_REMINDER_TIME",
    "PESACHAMA_REMINDER_DAYS_BEFORE",
    "PESACHAMA_MPESA_PUSH_CLAIM_TIMEOUT_SECS",
    "PESACHAMA_MPESA_PUSH_MAX_BUSY_ATTEMPTS",
    "MPESA_CALLBACK_ALLOWED_SOURCES",
    "MPESA_QUERY_AFTER_SECS",
    "MPESA_QUERY_BACKOFF_MAX_SECS",
    "MPESA_SETTLE_DEADLINE_SECS",
    "MPESA_RECONCILE_EVERY_SECS",
    "MPESA_RECONCILE_BATCH",
    "MPESA_C2B_MATCH_WINDOW_SECS",
];

/// The daemon's validated settings. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct Settings {
    /// PostgreSQL, the system of record. Secret: the URL may carry a password.
    pub database_url: SecretString,
    /// Redis, the session store. Secret for the same reason.
    pub redis_url: SecretString,
    /// Public listener.
    pub http_addr: SocketAddr,
    /// Operator listener for `/metrics`.
    pub admin_addr: SocketAddr,
    /// Server-side key of the PIN hash; a database dump without it is useless.
    pub pin_secret: SecretString,
    /// Prefix of every Redis key, so deployments (and tests) can share a server.
    pub redis_prefix: String,
    /// Log output shape.
    pub log_format: LogFormat,
    /// How long in-flight requests and tasks may drain after SIGTERM.
    pub shutdown_deadline: Duration,
    /// Upper bound on one HTTP request.
    pub request_timeout: Duration,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// The USSD channel: menus, sessions, callback protection, rate limits.
    pub ussd: UssdSettings,
    /// Whose phones may be members and use the menus.
    pub member_countries: MemberCountries,
    /// Session store timeouts and failover thresholds.
    pub sessions: crate::session::SessionSettings,
    /// The SMS channel: dispatcher, callbacks, reminders.
    pub sms: SmsSettings,
    /// The STK push worker.
    pub mpesa_push: MpesaPushSettings,
    /// STK callbacks and the reconciliation of late ones.
    pub stk: StkSettings,
    /// How often the daemon runs the ledger check (`ledger::watch`).
    pub ledger_check_every: Duration,
    /// Outside services: real ones under `serve`, in-process fakes under `dev`.
    pub providers: Providers,
}

/// Settings of the USSD channel.
#[derive(Debug, Clone)]
pub struct UssdSettings {
    /// Folder of `*.toml` menu files.
    pub menus_dir: PathBuf,
    /// Folder holding `en/` and `sw/` Fluent files.
    pub locales_dir: PathBuf,
    /// Idle lifetime of a session, refreshed on each hop.
    pub session_ttl: Duration,
    /// How long after an interruption a redial is offered to resume.
    pub resume_window: Duration,
    /// Source networks allowed to call; empty allows any.
    pub allowed_sources: Vec<ipnet::IpNet>,
    /// Shared secret expected in the `token` query parameter.
    pub callback_token: Option<SecretString>,
    /// Basic-auth credential expected on callbacks: user and password.
    pub basic_auth: Option<(String, SecretString)>,
    /// Hops per minute one phone may make.
    pub rate_per_phone: u32,
    /// Hops per second one source address may make.
    pub rate_per_source: u32,
    /// Session-end events per second one source address may send.
    pub events_rate_per_source: u32,
    /// Language of the answers given before the session is read (a rate
    /// limit, an invalid phone), which must cost no storage round trip.
    pub default_lang: crate::i18n::Lang,
}

/// Default idle lifetime of a USSD session: Africa's Talking's own maximum.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(180);
/// Default resume window after an interrupted session.
pub const DEFAULT_RESUME_WINDOW: Duration = Duration::from_secs(120);
/// A normal session is about 20 hops in a minute and the fastest human, who
/// reads each screen and waits for the network, does not pass one hop every
/// two seconds. 60 a minute refills one hop a second, twice that pace, and
/// lets a whole minute's worth arrive at once (the burst), so no member ever
/// meets the limit; a script hammering one phone still does, within a minute.
pub const DEFAULT_RATE_PER_PHONE: u32 = 60;
/// Africa's Talking sends every member's hops from a handful of addresses, so
/// the per-source limit only stops a runaway client, not real traffic.
pub const DEFAULT_RATE_PER_SOURCE: u32 = 20_000;
/// Africa's Talking sends one event per session, so a quarter of the hop limit
/// covers every honest session while bounding the writes a runaway client causes.
pub const DEFAULT_EVENTS_RATE_PER_SOURCE: u32 = 5_000;

/// Which Daraja and Africa's Talking the daemon talks to.
#[derive(Debug, Clone)]
pub enum Providers {
    /// The real APIs, at configured base URLs (boxed: the fake variant is empty).
    Live(Box<LiveProviders>),
    /// The project's in-process fakes (`dev` mode and tests).
    Fake,
}

/// Settings of the real outside services.
#[derive(Debug, Clone)]
pub struct LiveProviders {
    pub mpesa: MpesaSettings,
    pub at: AtSettings,
}

/// Safaricom Daraja credentials and addresses.
#[derive(Debug, Clone)]
pub struct MpesaSettings {
    pub api_url: reqwest::Url,
    pub consumer_key: SecretString,
    pub consumer_secret: SecretString,
    pub shortcode: String,
    pub passkey: SecretString,
    pub callback_url: reqwest::Url,
    pub callback_token: SecretString,
}

/// Africa's Talking credentials and addresses.
#[derive(Debug, Clone)]
pub struct AtSettings {
    pub api_url: reqwest::Url,
    pub username: String,
    pub api_key: SecretString,
    pub sms_sender: Option<String>,
}

/// Log output shape: JSON lines for machines, compact text for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// One problem with one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: &'static str,
    pub reason: String,
}

/// Everything wrong with the configuration, reported together.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("invalid configuration:\n{}", format_problems(.0))]
    Invalid(Vec<Problem>),
}

fn format_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {}: {}", p.variable, p.reason))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Raw `NAME -> value` pairs before validation.
pub type RawSettings = BTreeMap<String, String>;

/// Reads the known variables from the process environment.
pub fn from_env() -> RawSettings {
    KNOWN
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
        .collect()
}

/// Overlays the values of a TOML file (flat table of strings, integers or
/// booleans keyed by variable name) onto `raw`.
pub fn overlay_file(raw: &mut RawSettings, path: &Path) -> Result<(), ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.message().to_string()))?;
    let mut unknown = Vec::new();
    for (key, value) in table {
        let name = key.to_ascii_uppercase();
        if !KNOWN.contains(&name.as_str()) {
            unknown.push(key);
            continue;
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(file_error(format!(
                    "{key}: expected a string or number, got {}",
                    other.type_str()
                )));
            }
        };
        raw.insert(name, value);
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(file_error(format!("unknown keys: {}", unknown.join(", "))))
    }
}

/// Reads the environment and overlays `file` when given.
pub fn load_raw(file: Option<&Path>) -> Result<RawSettings, ConfigError> {
    let mut raw = from_env();
    if let Some(path) = file {
        overlay_file(&mut raw, path)?;
    }
    Ok(raw)
}

/// Everything `serve` needs, validated.
pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
    Settings::parse(&load_raw(file)?)
}

/// The two database URLs `migrate` needs.
pub struct DatabaseUrls {
    /// The runtime role's URL (`DATABASE_URL`), which `migrate` provisions.
    pub runtime: SecretString,
    /// The owner's URL (`DATABASE_OWNER_URL`), falling back to `runtime`.
    pub owner: SecretString,
}

/// `DATABASE_URL` and `DATABASE_OWNER_URL`, for `migrate`.
pub fn load_database_urls(file: Option<&Path>) -> Result<DatabaseUrls, ConfigError> {
    let raw = load_raw(file)?;
    let mut c = Checker {
        raw: &raw,
        problems: Vec::new(),
    };
    let runtime = c.secret_url("DATABASE_URL", &["postgres", "postgresql"]);
    let owner = c.optional_secret_url("DATABASE_OWNER_URL", &["postgres", "postgresql"]);
    match runtime {
        Some(runtime) if c.problems.is_empty() => Ok(DatabaseUrls {
            owner: owner.unwrap_or_else(|| runtime.clone()),
            runtime,
        }),
        _ => Err(ConfigError::Invalid(c.problems)),
    }
}

/// Only `DATABASE_URL`, for the admin commands.
pub fn load_database_url(file: Option<&Path>) -> Result<SecretString, ConfigError> {
    let raw = load_raw(file)?;
    let mut c = Checker {
        raw: &raw,
        problems: Vec::new(),
    };
    c.secret_url("DATABASE_URL", &["postgres", "postgresql"])
        .ok_or(ConfigError::Invalid(c.problems))
}

/// `PESACHAMA_MEMBER_COUNTRIES`, for `member add`.
pub fn load_member_countries(file: Option<&Path>) -> Result<MemberCountries, ConfigError> {
    let raw = load_raw(file)?;
    let mut c = Checker {
        raw: &raw,
        problems: Vec::new(),
    };
    let countries = c.member_countries();
    if c.problems.is_empty() {
        Ok(countries)
    } else {
        Err(ConfigError::Invalid(c.problems))
    }
}

/// Collects problems while the settings are parsed one by one.
struct Checker<'a> {
    raw: &'a RawSettings,
    problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    fn value(&self, variable: &'static str) -> Option<&'a str> {
        self.raw
            .get(variable)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn fail(&mut self, variable: &'static str, reason: impl Into<String>) {
        self.problems.push(Problem {
            variable,
            reason: reason.into(),
        });
    }

    fn required(&mut self, variable: &'static str) -> Option<&'a str> {
        let value = self.value(variable);
        if value.is_none() {
            self.fail(variable, "is required but not set");
        }
        value
    }

    fn secret(&mut self, variable: &'static str) -> Option<SecretString> {
        self.required(variable)
            .map(|v| SecretString::from(v.to_owned()))
    }

    fn url(&mut self, variable: &'static str, schemes: &[&str]) -> Option<reqwest::Url> {
        let raw = self.required(variable)?;
        match reqwest::Url::parse(raw) {
            Ok(url) if schemes.contains(&url.scheme()) => Some(url),
            Ok(url) => {
                let reason = format!(
                    "scheme `{}` is not one of {}",
                    url.scheme(),
                    schemes.join(", ")
                );
                self.fail(variable, reason);
                None
            }
            // Deliberately not echoing the value: it may carry a password.
            Err(e) => {
                self.fail(variable, format!("is not a valid URL ({e})"));
                None
            }
        }
    }

    /// A provider's API URL: https, or plain http to this machine's loopback
    /// (a simulator or the project's fakes run as their own process, as the
    /// benchmarks do), where nothing crosses a network.
    fn provider_url(&mut self, variable: &'static str) -> Option<reqwest::Url> {
        let url = self.url(variable, &["https", "http"])?;
        if url.scheme() == "https" || is_loopback(&url) {
            return Some(url);
        }
        self.fail(
            variable,
            "scheme `http` is only allowed to a loopback host; use https",
        );
        None
    }

    fn secret_url(&mut self, variable: &'static str, schemes: &[&str]) -> Option<SecretString> {
        self.url(variable, schemes)
            .map(|u| SecretString::from(u.to_string()))
    }

    fn optional_secret_url(
        &mut self,
        variable: &'static str,
        schemes: &[&str],
    ) -> Option<SecretString> {
        self.value(variable)?;
        self.secret_url(variable, schemes)
    }

    fn parsed<T: std::str::FromStr>(
        &mut self,
        variable: &'static str,
        default: T,
        what: &str,
    ) -> T {
        match self.value(variable) {
            None => default,
            Some(raw) => raw.parse().unwrap_or_else(|_| {
                self.fail(variable, format!("`{raw}` is not {what}"));
                default
            }),
        }
    }

    fn member_countries(&mut self) -> MemberCountries {
        let Some(list) = self.value("PESACHAMA_MEMBER_COUNTRIES") else {
            return MemberCountries::default();
        };
        MemberCountries::parse(list).unwrap_or_else(|reason| {
            self.fail("PESACHAMA_MEMBER_COUNTRIES", reason);
            MemberCountries::default()
        })
    }

    /// A comma-separated list of addresses or CIDRs, each canonical; empty
    /// when unset.
    fn networks(&mut self, variable: &'static str) -> Vec<ipnet::IpNet> {
        let mut nets = Vec::new();
        for cidr in self.value(variable).unwrap_or("").split(',').map(str::trim) {
            if cidr.is_empty() {
                continue;
            }
            match cidr
                .parse::<ipnet::IpNet>()
                .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            {
                Ok(net) => nets.push(canonical_net(net)),
                Err(_) => self.fail(variable, format!("`{cidr}` is not an address or CIDR")),
            }
        }
        nets
    }

    fn seconds(&mut self, variable: &'static str, default: Duration, max: u64) -> Duration {
        let secs = self.parsed(variable, default.as_secs(), "a whole number of seconds");
        if secs == 0 || secs > max {
            self.fail(variable, format!("must be between 1 and {max} seconds"));
        }
        Duration::from_secs(secs)
    }
}

impl Settings {
    /// Things a production node may run with but an operator should know;
    /// `serve` logs them and `config check` prints them.
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.ussd.allowed_sources.is_empty() {
            warnings.push(
                "PESACHAMA_USSD_ALLOWED_SOURCES is empty: any address holding the callback \
                 secret can call the USSD endpoints",
            );
        }
        warnings
    }

    /// Validates `raw` for `serve` and `config check`: every setting, real
    /// providers, and the production rules of `config/production.rs`.
    pub fn parse(raw: &RawSettings) -> Result<Settings, ConfigError> {
        Self::parse_with(raw, true)
    }

    /// Validates `raw` for `dev` and tests: provider settings are ignored and the
    /// in-process fakes are used instead.
    pub fn parse_for_fakes(raw: &RawSettings) -> Result<Settings, ConfigError> {
        Self::parse_with(raw, false)
    }

    fn parse_with(raw: &RawSettings, live: bool) -> Result<Settings, ConfigError> {
        let mut c = Checker {
            raw,
            problems: Vec::new(),
        };
        let database_url = c.secret_url("DATABASE_URL", &["postgres", "postgresql"]);
        // Only `migrate` connects with it; checked here so `config check`
        // reports a malformed one before the unit's `migrate` step does.
        c.optional_secret_url("DATABASE_OWNER_URL", &["postgres", "postgresql"]);
        let redis_url = c.secret_url("REDIS_URL", &["redis", "rediss"]);
        let http_addr = c.parsed(
            "PESACHAMA_HTTP_ADDR",
            DEFAULT_HTTP_ADDR.parse().expect("valid default"),
            "an address like 0.0.0.0:8080",
        );
        let admin_addr = c.parsed(
            "PESACHAMA_ADMIN_ADDR",
            DEFAULT_ADMIN_ADDR.parse().expect("valid default"),
            "an address like 127.0.0.1:9090",
        );
        let pin_secret = c.secret("PESACHAMA_PIN_SECRET");
        if live {
            production::check(&mut c);
        } else if pin_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < MIN_PIN_SECRET_LEN)
        {
            c.fail(
                "PESACHAMA_PIN_SECRET",
                format!("must be at least {MIN_PIN_SECRET_LEN} characters"),
            );
        }
        let redis_prefix = c
            .value("PESACHAMA_REDIS_PREFIX")
            .unwrap_or(DEFAULT_REDIS_PREFIX)
            .to_owned();
        let log_format = match c.value("PESACHAMA_LOG_FORMAT") {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                c.fail(
                    "PESACHAMA_LOG_FORMAT",
                    format!("`{other}` is not json or pretty"),
                );
                LogFormat::Json
            }
        };
        let shutdown_deadline = c.seconds(
            "PESACHAMA_SHUTDOWN_DEADLINE_SECS",
            DEFAULT_SHUTDOWN_DEADLINE,
            300,
        );
        let request_timeout = c.seconds(
            "PESACHAMA_REQUEST_TIMEOUT_SECS",
            DEFAULT_REQUEST_TIMEOUT,
            120,
        );
        let body_limit = c.parsed(
            "PESACHAMA_BODY_LIMIT_BYTES",
            DEFAULT_BODY_LIMIT,
            "a number of bytes",
        );
        if !(1024..=10 * 1024 * 1024).contains(&body_limit) {
            c.fail(
                "PESACHAMA_BODY_LIMIT_BYTES",
                "must be between 1024 and 10485760",
            );
        }
        let ussd = ussd_settings(&mut c);
        let member_countries = c.member_countries();
        let sessions = session_settings(&mut c);
        let sms = sms::sms_settings(&mut c);
        let stk = stk::stk_settings(&mut c);
        let mpesa_push = mpesa_push::mpesa_push_settings(&mut c, stk.query_after);
        let ledger_check_every = c.seconds(
            "PESACHAMA_LEDGER_CHECK_EVERY_SECS",
            DEFAULT_LEDGER_CHECK_EVERY,
            7 * 86_400,
        );
        let providers = if live {
            live_providers(&mut c)
        } else {
            Some(Providers::Fake)
        };

        match (database_url, redis_url, pin_secret, providers) {
            (Some(database_url), Some(redis_url), Some(pin_secret), Some(providers))
                if c.problems.is_empty() =>
            {
                Ok(Settings {
                    database_url,
                    redis_url,
                    http_addr,
                    admin_addr,
                    pin_secret,
                    redis_prefix,
                    log_format,
                    shutdown_deadline,
                    request_timeout,
                    body_limit,
                    ussd,
                    member_countries,
                    sessions,
                    sms,
                    mpesa_push,
                    stk,
                    ledger_check_every,
                    providers,
                })
            }
            _ => Err(ConfigError::Invalid(c.problems)),
        }
    }
}

fn ussd_settings(c: &mut Checker<'_>) -> UssdSettings {
    let dir =
        |c: &Checker<'_>, variable, default| PathBuf::from(c.value(variable).unwrap_or(default));
    let menus_dir = dir(c, "PESACHAMA_MENUS_DIR", "menus");
    let locales_dir = dir(c, "PESACHAMA_LOCALES_DIR", "locales");
    let session_ttl = c.seconds("PESACHAMA_USSD_SESSION_TTL_SECS", DEFAULT_SESSION_TTL, 3600);
    let resume_window = c.seconds(
        "PESACHAMA_USSD_RESUME_WINDOW_SECS",
        DEFAULT_RESUME_WINDOW,
        3600,
    );
    let allowed_sources = c.networks("PESACHAMA_USSD_ALLOWED_SOURCES");
    let callback_token = c
        .value("PESACHAMA_USSD_CALLBACK_TOKEN")
        .map(|t| SecretString::from(t.to_owned()));
    if callback_token
        .as_ref()
        .is_some_and(|t| t.expose_secret().len() < 16)
    {
        c.fail(
            "PESACHAMA_USSD_CALLBACK_TOKEN",
            "must be at least 16 characters",
        );
    }
    let basic_auth = match c.value("PESACHAMA_USSD_BASIC_AUTH") {
        None => None,
        Some(pair) => match pair.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Some((user.to_owned(), SecretString::from(password.to_owned())))
            }
            _ => {
                c.fail("PESACHAMA_USSD_BASIC_AUTH", "must be `user:password`");
                None
            }
        },
    };
    let rate_per_phone = c.parsed(
        "PESACHAMA_USSD_RATE_PER_PHONE",
        DEFAULT_RATE_PER_PHONE,
        "a whole number",
    );
    let rate_per_source = c.parsed(
        "PESACHAMA_USSD_RATE_PER_SOURCE",
        DEFAULT_RATE_PER_SOURCE,
        "a whole number",
    );
    let events_rate_per_source = c.parsed(
        "PESACHAMA_USSD_EVENTS_RATE_PER_SOURCE",
        DEFAULT_EVENTS_RATE_PER_SOURCE,
        "a whole number",
    );
    if events_rate_per_source == 0 {
        c.fail(
            "PESACHAMA_USSD_EVENTS_RATE_PER_SOURCE",
            "must be at least 1",
        );
    }
    let default_lang = match c.value("PESACHAMA_USSD_DEFAULT_LANG") {
        None => crate::i18n::Lang::default(),
        Some(code) => crate::i18n::Lang::parse(code).unwrap_or_else(|| {
            c.fail(
                "PESACHAMA_USSD_DEFAULT_LANG",
                format!("`{code}` is not en or sw"),
            );
            crate::i18n::Lang::default()
        }),
    };
    if rate_per_phone == 0 {
        c.fail("PESACHAMA_USSD_RATE_PER_PHONE", "must be at least 1");
    }
    if rate_per_source == 0 {
        c.fail("PESACHAMA_USSD_RATE_PER_SOURCE", "must be at least 1");
    }
    UssdSettings {
        menus_dir,
        locales_dir,
        session_ttl,
        resume_window,
        allowed_sources,
        callback_token,
        basic_auth,
        rate_per_phone,
        rate_per_source,
        events_rate_per_source,
        default_lang,
    }
}

/// An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) as the IPv4 network it
/// means, so it matches the canonical peer addresses `ussd::guard` compares.
pub(crate) fn canonical_net(net: ipnet::IpNet) -> ipnet::IpNet {
    match net {
        ipnet::IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map_or(net, |v4net| ipnet::IpNet::V4(v4net.trunc())),
            None => net,
        },
        other => other,
    }
}

fn session_settings(c: &mut Checker<'_>) -> crate::session::SessionSettings {
    let defaults = crate::session::SessionSettings::default();
    let timeout_ms = c.parsed(
        "PESACHAMA_SESSION_REDIS_TIMEOUT_MS",
        defaults.redis_timeout.as_millis() as u64,
        "a number of milliseconds",
    );
    if !(1..=5_000).contains(&timeout_ms) {
        c.fail(
            "PESACHAMA_SESSION_REDIS_TIMEOUT_MS",
            "must be between 1 and 5000",
        );
    }
    let failure_threshold = c.parsed(
        "PESACHAMA_SESSION_FAILURE_THRESHOLD",
        defaults.failure_threshold,
        "a whole number",
    );
    if failure_threshold == 0 {
        c.fail("PESACHAMA_SESSION_FAILURE_THRESHOLD", "must be at least 1");
    }
    let flush_ms = c.parsed(
        "PESACHAMA_SESSION_MIRROR_FLUSH_MS",
        defaults.mirror_flush.as_millis() as u64,
        "a number of milliseconds",
    );
    if !(1..=1_000).contains(&flush_ms) {
        c.fail(
            "PESACHAMA_SESSION_MIRROR_FLUSH_MS",
            "must be between 1 and 1000",
        );
    }
    let patience_ms = c.parsed(
        "PESACHAMA_SESSION_LOCK_PATIENCE_MS",
        defaults.lock_patience.as_millis() as u64,
        "a number of milliseconds",
    );
    // Within the lock's lease: past it the wait would end by expiry anyway.
    if !(1..=defaults.lock_lease.as_millis() as u64).contains(&patience_ms) {
        c.fail(
            "PESACHAMA_SESSION_LOCK_PATIENCE_MS",
            "must be between 1 and 2000",
        );
    }
    crate::session::SessionSettings {
        redis_timeout: Duration::from_millis(timeout_ms),
        failure_threshold,
        mirror_flush: Duration::from_millis(flush_ms),
        lock_patience: Duration::from_millis(patience_ms),
        ..defaults
    }
}

fn live_providers(c: &mut Checker<'_>) -> Option<Providers> {
    // Credentials, payment callbacks and members' phone numbers cross these
    // links: plain http is for `dev`'s in-process fakes only.
    let web = ["https"];
    let mpesa_api = c.provider_url("MPESA_API_URL");
    let consumer_key = c.secret("MPESA_CONSUMER_KEY");
    let consumer_secret = c.secret("MPESA_CONSUMER_SECRET");
    let shortcode = c.required("MPESA_SHORTCODE").map(str::to_owned);
    if let Some(code) = &shortcode {
        if !(5..=7).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            c.fail("MPESA_SHORTCODE", "must be 5 to 7 digits");
        }
    }
    let passkey = c.secret("MPESA_PASSKEY");
    let callback_url = c.url("MPESA_CALLBACK_URL", &web);
    let callback_token = c.secret("MPESA_CALLBACK_TOKEN");
    if callback_token.as_ref().is_some_and(|t| {
        let t = t.expose_secret();
        t.len() < 16
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        c.fail(
            "MPESA_CALLBACK_TOKEN",
            "must be at least 16 letters, digits, - or _",
        );
    }
    let at_api = c.provider_url("AT_API_URL");
    let username = c.required("AT_USERNAME").map(str::to_owned);
    let api_key = c.secret("AT_API_KEY");
    let sms_sender = c.value("AT_SMS_SENDER").map(str::to_owned);
    if sms_sender.as_ref().is_some_and(|s| s.len() > 11) {
        c.fail("AT_SMS_SENDER", "a sender id has at most 11 characters");
    }
    Some(Providers::Live(Box::new(LiveProviders {
        mpesa: MpesaSettings {
            api_url: mpesa_api?,
            consumer_key: consumer_key?,
            consumer_secret: consumer_secret?,
            shortcode: shortcode?,
            passkey: passkey?,
            callback_url: callback_url?,
            callback_token: callback_token?,
        },
        at: AtSettings {
            api_url: at_api?,
            username: username?,
            api_key: api_key?,
            sms_sender,
        },
    })))
}

/// Whether `url` names this machine (`localhost`, 127.0.0.0/8, ::1).
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Json => "json",
            LogFormat::Pretty => "pretty",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> RawSettings {
        [
            ("DATABASE_URL", "postgres://app:hunter2@db/pesachama"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            (
                "PESACHAMA_PIN_SECRET",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
            (
                "PESACHAMA_USSD_CALLBACK_TOKEN",
                "at-callback-token-0123456789",
            ),
            ("PESACHAMA_SMS_CALLBACK_TOKEN", "at-sms-token-0123456789"),
            ("MPESA_API_URL", "https://daraja.example"),
            ("MPESA_CONSUMER_KEY", "ck"),
            ("MPESA_CONSUMER_SECRET", "cs-very-secret"),
            ("MPESA_SHORTCODE", "174379"),
            ("MPESA_PASSKEY", "pk-very-secret"),
            ("MPESA_CALLBACK_URL", "https://gw.example"),
            ("MPESA_CALLBACK_TOKEN", "cb-token-0123456789"),
            ("AT_API_URL", "https://at.example"),
            ("AT_USERNAME", "sandbox"),
            ("AT_API_KEY", "at-very-secret"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn problems(raw: &RawSettings) -> Vec<&'static str> {
        match Settings::parse(raw) {
            Err(ConfigError::Invalid(p)) => p.into_iter().map(|p| p.variable).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_environment_parses_with_defaults() {
        let s = Settings::parse(&complete()).unwrap();
        assert_eq!(s.http_addr.to_string(), DEFAULT_HTTP_ADDR);
        assert_eq!(s.admin_addr.to_string(), DEFAULT_ADMIN_ADDR);
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(matches!(s.providers, Providers::Live(_)));
    }

    #[test]
    fn every_missing_variable_is_reported_at_once() {
        let missing = problems(&RawSettings::new());
        for v in [
            "DATABASE_URL",
            "REDIS_URL",
            "PESACHAMA_PIN_SECRET",
            "MPESA_API_URL",
            "MPESA_PASSKEY",
            "AT_API_KEY",
        ] {
            assert!(missing.contains(&v), "{v} not reported in {missing:?}");
        }
    }

    #[test]
    fn malformed_values_are_named() {
        let mut raw = complete();
        raw.insert("PESACHAMA_HTTP_ADDR".into(), "eight-thousand".into());
        raw.insert("MPESA_SHORTCODE".into(), "12ab".into());
        raw.insert("REDIS_URL".into(), "http://cache".into());
        raw.insert("PESACHAMA_PIN_SECRET".into(), "short".into());
        let found = problems(&raw);
        assert_eq!(
            found,
            vec![
                "REDIS_URL",
                "PESACHAMA_HTTP_ADDR",
                "PESACHAMA_PIN_SECRET",
                "MPESA_SHORTCODE"
            ]
        );
    }

    #[test]
    fn member_countries_default_to_kenya_and_a_bad_list_is_named() {
        let mut raw = complete();
        let s = Settings::parse(&raw).unwrap();
        assert_eq!(s.member_countries, MemberCountries::default());
        raw.insert("PESACHAMA_MEMBER_COUNTRIES".into(), "ke, ug".into());
        let s = Settings::parse(&raw).unwrap();
        assert_eq!(s.member_countries.to_string(), "KE,UG");
        raw.insert("PESACHAMA_MEMBER_COUNTRIES".into(), "Kenya".into());
        assert_eq!(problems(&raw), vec!["PESACHAMA_MEMBER_COUNTRIES"]);
    }

    #[test]
    fn the_owner_url_is_optional_but_checked_when_set() {
        let mut raw = complete();
        assert!(Settings::parse(&raw).is_ok());
        raw.insert(
            "DATABASE_OWNER_URL".into(),
            "mysql://owner@db/pesachama".into(),
        );
        assert_eq!(problems(&raw), vec!["DATABASE_OWNER_URL"]);
    }

    #[test]
    fn ussd_protection_settings_are_parsed_and_checked() {
        let mut raw = complete();
        raw.insert(
            "PESACHAMA_USSD_ALLOWED_SOURCES".into(),
            "196.201.214.0/24, 10.1.2.3".into(),
        );
        raw.insert("PESACHAMA_USSD_BASIC_AUTH".into(), "at:pa55word".into());
        let ussd = Settings::parse(&raw).unwrap().ussd;
        assert_eq!(ussd.allowed_sources.len(), 2);
        assert_eq!(ussd.basic_auth.unwrap().0, "at");

        raw.insert(
            "PESACHAMA_USSD_ALLOWED_SOURCES".into(),
            "not-a-network".into(),
        );
        raw.insert("PESACHAMA_USSD_BASIC_AUTH".into(), "no-colon".into());
        raw.insert("PESACHAMA_USSD_CALLBACK_TOKEN".into(), "short".into());
        raw.insert("PESACHAMA_USSD_RATE_PER_PHONE".into(), "0".into());
        let found = problems(&raw);
        for v in [
            "PESACHAMA_USSD_ALLOWED_SOURCES",
            "PESACHAMA_USSD_BASIC_AUTH",
            "PESACHAMA_USSD_CALLBACK_TOKEN",
            "PESACHAMA_USSD_RATE_PER_PHONE",
        ] {
            assert!(found.contains(&v), "{v} not in {found:?}");
        }
    }

    /// The parse's problems as (variable, reason) lines.
    fn reasons(raw: &RawSettings) -> Vec<String> {
        match Settings::parse(raw) {
            Err(ConfigError::Invalid(p)) => p
                .into_iter()
                .map(|p| format!("{}: {}", p.variable, p.reason))
                .collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn serve_refuses_callbacks_without_a_secret_and_dev_does_not() {
        let mut raw = complete();
        raw.remove("PESACHAMA_USSD_CALLBACK_TOKEN");
        assert_eq!(problems(&raw), vec!["PESACHAMA_USSD_CALLBACK_TOKEN"]);
        assert!(Settings::parse_for_fakes(&raw).is_ok());

        raw.insert("PESACHAMA_USSD_BASIC_AUTH".into(), "at:pa55word".into());
        assert!(Settings::parse(&raw).is_ok());
    }

    #[test]
    fn a_start_without_an_allow_list_is_allowed_with_a_warning() {
        let open = Settings::parse(&complete()).unwrap();
        assert_eq!(open.warnings().len(), 1);
        assert!(open.warnings()[0].contains("PESACHAMA_USSD_ALLOWED_SOURCES"));

        let mut raw = complete();
        raw.insert(
            "PESACHAMA_USSD_ALLOWED_SOURCES".into(),
            "196.201.214.0/24".into(),
        );
        assert!(Settings::parse(&raw).unwrap().warnings().is_empty());
    }

    #[test]
    fn placeholders_of_the_example_file_are_refused_without_echoing_them() {
        let mut raw = complete();
        raw.insert("MPESA_PASSKEY".into(), "CHANGE-ME".into());
        raw.insert(
            "DATABASE_URL".into(),
            "postgres://pesachama:CHANGE-ME@127.0.0.1:5432/pesachama".into(),
        );
        let found = reasons(&raw);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("DATABASE_URL: still holds the CHANGE-ME"));
        assert!(found[1].starts_with("MPESA_PASSKEY: still holds the CHANGE-ME"));
        assert!(found.iter().all(|r| !r.contains("pesachama:")), "{found:?}");
        assert!(Settings::parse_for_fakes(&raw).is_ok());
    }

    #[test]
    fn the_example_env_file_is_refused_as_it_ships() {
        let text = include_str!("../systemd/pesachama.env.example");
        let raw: RawSettings = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let found = problems(&raw);
        for v in [
            "DATABASE_URL",
            "PESACHAMA_PIN_SECRET",
            "PESACHAMA_USSD_CALLBACK_TOKEN",
            "MPESA_CONSUMER_KEY",
            "AT_API_KEY",
        ] {
            assert!(found.contains(&v), "{v} not in {found:?}");
        }
        let mut once = found.clone();
        once.sort_unstable();
        once.dedup();
        assert_eq!(
            once.len(),
            found.len(),
            "a variable reported twice: {found:?}"
        );
    }

    #[test]
    fn a_pin_secret_without_32_random_bytes_is_refused_in_production() {
        for weak in [
            "0123456789abcdef0123456789abcdef",
            "our-chama-pin-secret-is-long-enough!",
        ] {
            let mut raw = complete();
            raw.insert("PESACHAMA_PIN_SECRET".into(), weak.into());
            let found = reasons(&raw);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(found[0].starts_with("PESACHAMA_PIN_SECRET: must be 32 random bytes"));
            assert!(!found[0].contains(weak));
            assert!(Settings::parse_for_fakes(&raw).is_ok());
        }
        let mut raw = complete();
        raw.insert(
            "PESACHAMA_PIN_SECRET".into(),
            "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=".into(),
        );
        assert!(Settings::parse(&raw).is_ok());
    }

    #[test]
    fn plain_http_provider_urls_are_refused_outside_dev() {
        let mut raw = complete();
        raw.insert("MPESA_API_URL".into(), "http://daraja.example".into());
        raw.insert("AT_API_URL".into(), "http://at.example".into());
        raw.insert("MPESA_CALLBACK_URL".into(), "http://gw.example".into());
        assert_eq!(
            problems(&raw),
            vec!["MPESA_API_URL", "MPESA_CALLBACK_URL", "AT_API_URL"]
        );
    }

    #[test]
    fn plain_http_to_a_loopback_provider_is_allowed() {
        let mut raw = complete();
        raw.insert("MPESA_API_URL".into(), "http://127.0.0.1:7001".into());
        raw.insert("AT_API_URL".into(), "http://localhost:7002".into());
        assert!(Settings::parse(&raw).is_ok());
        raw.insert("AT_API_URL".into(), "http://[::1]:7002".into());
        assert!(Settings::parse(&raw).is_ok());
        raw.insert("AT_API_URL".into(), "http://127.0.0.1.example:7002".into());
        assert_eq!(problems(&raw), vec!["AT_API_URL"]);
    }

    #[test]
    fn every_production_refusal_is_reported_together() {
        let mut raw = complete();
        raw.remove("PESACHAMA_USSD_CALLBACK_TOKEN");
        raw.insert("PESACHAMA_PIN_SECRET".into(), "x".repeat(40));
        raw.insert("AT_API_KEY".into(), "CHANGE-ME".into());
        raw.insert("AT_API_URL".into(), "http://at.example".into());
        let mut found = problems(&raw);
        found.sort_unstable();
        assert_eq!(
            found,
            vec![
                "AT_API_KEY",
                "AT_API_URL",
                "PESACHAMA_PIN_SECRET",
                "PESACHAMA_USSD_CALLBACK_TOKEN"
            ]
        );
    }

    #[test]
    fn ipv4_mapped_allow_list_entries_become_ipv4_networks() {
        let mut raw = complete();
        raw.insert(
            "PESACHAMA_USSD_ALLOWED_SOURCES".into(),
            "::ffff:196.201.214.0/120, ::ffff:10.1.2.3, 2001:db8::/32".into(),
        );
        let nets: Vec<String> = Settings::parse(&raw)
            .unwrap()
            .ussd
            .allowed_sources
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            nets,
            vec!["196.201.214.0/24", "10.1.2.3/32", "2001:db8::/32"]
        );
    }

    #[test]
    fn the_default_language_is_parsed_and_checked() {
        let mut raw = complete();
        assert_eq!(
            Settings::parse(&raw).unwrap().ussd.default_lang,
            crate::i18n::Lang::En
        );
        raw.insert("PESACHAMA_USSD_DEFAULT_LANG".into(), "SW".into());
        assert_eq!(
            Settings::parse(&raw).unwrap().ussd.default_lang,
            crate::i18n::Lang::Sw
        );
        raw.insert("PESACHAMA_USSD_DEFAULT_LANG".into(), "fr".into());
        assert_eq!(problems(&raw), vec!["PESACHAMA_USSD_DEFAULT_LANG"]);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = Settings::parse(&complete()).unwrap();
        let shown = format!("{s:?}");
        for secret in [
            "hunter2",
            "cs-very-secret",
            "pk-very-secret",
            "at-very-secret",
            "0123456789abcdef",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
    }

    #[test]
    fn fakes_need_no_provider_settings() {
        let raw: RawSettings = complete()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("MPESA_") && !k.starts_with("AT_"))
            .collect();
        assert!(matches!(
            Settings::parse_for_fakes(&raw).unwrap().providers,
            Providers::Fake
        ));
    }

    #[test]
    fn the_file_overrides_the_environment_and_rejects_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("pc-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("good.toml");
        std::fs::write(&path, "pesachama_http_addr = \"127.0.0.1:8181\"\n").unwrap();
        let mut raw = complete();
        overlay_file(&mut raw, &path).unwrap();
        assert_eq!(Settings::parse(&raw).unwrap().http_addr.port(), 8181);

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "databse_url = \"x\"\n").unwrap();
        let err = overlay_file(&mut complete(), &bad).unwrap_err().to_string();
        assert!(err.contains("unknown keys: databse_url"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
