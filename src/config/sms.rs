//! Settings of the SMS channel: the dispatcher's pace and patience, the
//! protection of Africa's Talking's callbacks, and the reminder job's hour.

use std::time::Duration;

use chrono::NaiveTime;
use secrecy::{ExposeSecret, SecretString};

use super::Checker;

/// Settings of the SMS channel.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// Messages per second this node hands to Africa's Talking (a token
    /// bucket over every recipient, bulk or not).
    pub rate_per_sec: u32,
    /// Rows one claim takes at most.
    pub batch_size: u32,
    /// Requests to Africa's Talking in flight at once on this node.
    pub concurrency: u32,
    /// Claim loops on this node, side by side.
    pub claimers: u32,
    /// Attempts before a message is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt, with jitter.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// A row claimed longer than this is taken back from its (dead) node.
    pub sending_timeout: Duration,
    /// Source networks allowed to post delivery reports and inbound
    /// messages; empty allows any.
    pub allowed_sources: Vec<ipnet::IpNet>,
    /// Secret the callbacks must carry as `?token=`; `serve` requires it.
    pub callback_token: Option<SecretString>,
    /// Callbacks per second one source address may post.
    pub callback_rate_per_source: u32,
    /// Nairobi time of day the reminder job runs.
    pub reminder_time: NaiveTime,
    /// How many days before a contribution is due its reminder goes out.
    pub reminder_days_before: u32,
}

/// Africa's Talking publishes no rate; this is a pace a shared sender takes.
pub const DEFAULT_RATE_PER_SEC: u32 = 50;
pub const DEFAULT_BATCH_SIZE: u32 = 200;
pub const DEFAULT_CONCURRENCY: u32 = 8;
/// Two: a claim runs on one PostgreSQL core, and a small server has two.
pub const DEFAULT_CLAIMERS: u32 = 2;
/// With a 15 s base doubling to a one-hour cap, eight attempts span about
/// two hours: long enough to ride out an outage, short enough that a
/// receipt is not a day late.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(15);
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(3600);
/// Four times the client's whole-request timeout (30 s): a live node has
/// answered or given up on every row by then.
pub const DEFAULT_SENDING_TIMEOUT: Duration = Duration::from_secs(120);
pub const DEFAULT_CALLBACK_RATE_PER_SOURCE: u32 = 2_000;
/// Mid-morning: after members are up, before the working day fills.
pub const DEFAULT_REMINDER_TIME: &str = "09:00";
pub const DEFAULT_REMINDER_DAYS_BEFORE: u32 = 1;

pub(super) fn sms_settings(c: &mut Checker<'_>) -> SmsSettings {
    let positive = |c: &mut Checker<'_>, variable, default: u32, max: u32| {
        let value = c.parsed(variable, default, "a whole number");
        if value == 0 || value > max {
            c.fail(variable, format!("must be between 1 and {max}"));
        }
        value
    };
    let rate_per_sec = positive(
        c,
        "PESACHAMA_SMS_RATE_PER_SEC",
        DEFAULT_RATE_PER_SEC,
        100_000,
    );
    let batch_size = positive(c, "PESACHAMA_SMS_BATCH_SIZE", DEFAULT_BATCH_SIZE, 5_000);
    let concurrency = positive(c, "PESACHAMA_SMS_CONCURRENCY", DEFAULT_CONCURRENCY, 256);
    let claimers = positive(c, "PESACHAMA_SMS_CLAIMERS", DEFAULT_CLAIMERS, 16);
    let max_attempts = positive(c, "PESACHAMA_SMS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, 50);
    let retry_base = c.seconds("PESACHAMA_SMS_RETRY_BASE_SECS", DEFAULT_RETRY_BASE, 3600);
    let retry_max = c.seconds("PESACHAMA_SMS_RETRY_MAX_SECS", DEFAULT_RETRY_MAX, 86_400);
    if retry_max < retry_base {
        c.fail(
            "PESACHAMA_SMS_RETRY_MAX_SECS",
            "must not be shorter than PESACHAMA_SMS_RETRY_BASE_SECS",
        );
    }
    let sending_timeout = c.seconds(
        "PESACHAMA_SMS_SENDING_TIMEOUT_SECS",
        DEFAULT_SENDING_TIMEOUT,
        3600,
    );
    let allowed_sources = c.networks("PESACHAMA_SMS_ALLOWED_SOURCES");
    let callback_token = c
        .value("PESACHAMA_SMS_CALLBACK_TOKEN")
        .map(|t| SecretString::from(t.to_owned()));
    if callback_token
        .as_ref()
        .is_some_and(|t| t.expose_secret().len() < 16)
    {
        c.fail(
            "PESACHAMA_SMS_CALLBACK_TOKEN",
            "must be at least 16 characters",
        );
    }
    let callback_rate_per_source = positive(
        c,
        "PESACHAMA_SMS_CALLBACK_RATE_PER_SOURCE",
        DEFAULT_CALLBACK_RATE_PER_SOURCE,
        1_000_000,
    );
    let time = c
        .value("PESACHAMA_REMINDER_TIME")
        .unwrap_or(DEFAULT_REMINDER_TIME);
    let reminder_time = NaiveTime::parse_from_str(time, "%H:%M").unwrap_or_else(|_| {
        c.fail(
            "PESACHAMA_REMINDER_TIME",
            format!("`{time}` is not a time like 09:00"),
        );
        NaiveTime::from_hms_opt(9, 0, 0).expect("a valid time")
    });
    let reminder_days_before = c.parsed(
        "PESACHAMA_REMINDER_DAYS_BEFORE",
        DEFAULT_REMINDER_DAYS_BEFORE,
        "a whole number of days",
    );
    if reminder_days_before > 14 {
        c.fail("PESACHAMA_REMINDER_DAYS_BEFORE", "must be at most 14");
    }
    SmsSettings {
        rate_per_sec,
        batch_size,
        concurrency,
        claimers,
        max_attempts,
        retry_base,
        retry_max,
        sending_timeout,
        allowed_sources,
        callback_token,
        callback_rate_per_source,
        reminder_time,
        reminder_days_before,
    }
}
