//! Our own settings, read from `LOADTEST_*` environment variables before goose
//! parses its command line (goose owns the flags; see the README for both).

use std::time::Duration;

use anyhow::{Context, bail};

/// Digits in a Kenyan E.164 mobile number after the `+`: `254` and nine more.
const E164_DIGITS: usize = 12;

/// Everything a scenario needs besides goose's own configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Path of the Africa's Talking callback, with any `?token=` it needs.
    pub path: String,
    /// `serviceCode` sent on every hop.
    pub service_code: String,
    /// `networkCode` sent on every hop (Safaricom by default).
    pub network_code: String,
    /// The seeded phones.
    pub pool: PhonePool,
    /// The PIN every seeded member has.
    pub pin: String,
    /// What a `contribute` session pays to savings, in whole shillings.
    pub contribute_amount: String,
    /// Pause between two hops of one session.
    pub think: Duration,
    /// Fixed interval between two hops of one user (open loop); none by default.
    pub pace: Option<Duration>,
    /// Sessions each `hold` user opens and keeps alive.
    pub hold_sessions_per_user: usize,
    /// How often a held session hops to refresh its TTL.
    pub hold_refresh: Duration,
    /// The main-menu key a held session goes into and back out of (with `0`).
    pub hold_key: String,
}

impl Settings {
    /// Reads the `LOADTEST_*` variables, with defaults matching `dev` and `seed`.
    pub fn from_env() -> anyhow::Result<Settings> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Settings::from_env`], with the variables coming from `var`.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let text = |name: &str, default: &str| var(name).unwrap_or_else(|| default.to_owned());
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            var(name).map_or(Ok(default), |v| {
                v.trim()
                    .parse()
                    .with_context(|| format!("{name} must be a whole number, not `{v}`"))
            })
        };
        let pin = text("LOADTEST_PIN", "1234");
        if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            bail!("LOADTEST_PIN must be four digits");
        }
        let contribute_amount = number("LOADTEST_CONTRIBUTE_AMOUNT", 100)?;
        if !(1..=250_000).contains(&contribute_amount) {
            bail!("LOADTEST_CONTRIBUTE_AMOUNT must be from 1 to 250000 (Daraja's range)");
        }
        let hold_refresh = Duration::from_secs(number("LOADTEST_HOLD_REFRESH_SECS", 60)?);
        if hold_refresh.is_zero() {
            bail!("LOADTEST_HOLD_REFRESH_SECS must be at least 1");
        }
        let think = Duration::from_millis(number("LOADTEST_THINK_MS", 0)?);
        let pace = Some(number("LOADTEST_PACE_MS", 0)?)
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis);
        if pace.is_some() && !think.is_zero() {
            bail!("set LOADTEST_PACE_MS or LOADTEST_THINK_MS, not both");
        }
        Ok(Settings {
            path: text("LOADTEST_PATH", "/ussd/africastalking"),
            service_code: text("LOADTEST_SERVICE_CODE", "*384*1234#"),
            network_code: text("LOADTEST_NETWORK_CODE", "63902"),
            pool: PhonePool::new(
                &text("LOADTEST_PHONE_PREFIX", "+2547200"),
                number("LOADTEST_PHONES", 10_000)?,
            )?,
            pin,
            contribute_amount: contribute_amount.to_string(),
            think,
            pace,
            hold_sessions_per_user: number("LOADTEST_HOLD_SESSIONS_PER_USER", 1)?.max(1) as usize,
            hold_refresh,
            hold_key: text("LOADTEST_HOLD_KEY", "5"),
        })
    }
}

/// The seeded phones: `prefix` followed by a zero-padded index, `+254720000000`,
/// `+254720000001`, … for the default prefix `+2547200`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonePool {
    prefix: String,
    size: u64,
}

impl PhonePool {
    /// A pool of `size` numbers under `prefix` (`+254…`, at most 12 digits).
    pub fn new(prefix: &str, size: u64) -> anyhow::Result<PhonePool> {
        let digits = prefix.strip_prefix("+254").map(|rest| 3 + rest.len());
        let Some(digits) = digits.filter(|d| *d < E164_DIGITS) else {
            bail!("LOADTEST_PHONE_PREFIX must start with +254 and leave room for an index");
        };
        if !prefix[1..].bytes().all(|b| b.is_ascii_digit()) {
            bail!("LOADTEST_PHONE_PREFIX must be + and digits");
        }
        let room = 10u64.saturating_pow((E164_DIGITS - digits) as u32);
        if size == 0 || size > room {
            bail!("LOADTEST_PHONES must be between 1 and {room} for prefix {prefix}");
        }
        Ok(PhonePool {
            prefix: prefix.to_owned(),
            size,
        })
    }

    /// How many phones the pool holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The `index`-th phone, wrapping around the pool.
    pub fn phone(&self, index: u64) -> String {
        let width = E164_DIGITS + 1 - self.prefix.len();
        format!("{}{:0width$}", self.prefix, index % self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn defaults_match_dev_and_seed() {
        let s = Settings::from_lookup(vars(&[])).unwrap();
        assert_eq!(s.service_code, "*384*1234#");
        assert_eq!(s.path, "/ussd/africastalking");
        assert_eq!(s.pin, "1234");
        assert_eq!(s.pool.size(), 10_000);
        assert_eq!(s.pool.phone(0), "+254720000000");
        assert_eq!(s.pool.phone(9_999), "+254720009999");
        assert_eq!(s.think, Duration::ZERO);
        assert_eq!(s.pace, None);
        assert_eq!(s.contribute_amount, "100");
    }

    #[test]
    fn a_contribution_stays_in_darajas_range() {
        let s = Settings::from_lookup(vars(&[("LOADTEST_CONTRIBUTE_AMOUNT", "250000")])).unwrap();
        assert_eq!(s.contribute_amount, "250000");
        for bad in ["0", "250001", "1.5", "-3"] {
            let pairs = [("LOADTEST_CONTRIBUTE_AMOUNT", bad)];
            assert!(Settings::from_lookup(vars(&pairs)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_pace_is_read_in_milliseconds_and_excludes_think() {
        let s = Settings::from_lookup(vars(&[("LOADTEST_PACE_MS", "400")])).unwrap();
        assert_eq!(s.pace, Some(Duration::from_millis(400)));
        let both = vars(&[("LOADTEST_PACE_MS", "400"), ("LOADTEST_THINK_MS", "10")]);
        assert!(Settings::from_lookup(both).is_err());
    }

    #[test]
    fn the_pool_wraps_and_keeps_twelve_digits() {
        let pool = PhonePool::new("+25472", 1_000_000).unwrap();
        assert_eq!(pool.phone(1_000_001), "+254720000001");
        assert_eq!(pool.phone(42).len(), 13);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(PhonePool::new("+2547200", 100_001).is_err());
        assert!(PhonePool::new("+2547200", 0).is_err());
        assert!(PhonePool::new("0720", 10).is_err());
        assert!(PhonePool::new("+254720000000", 1).is_err());
        assert!(PhonePool::new("+2547x0", 10).is_err());
        assert!(Settings::from_lookup(vars(&[("LOADTEST_PIN", "12345")])).is_err());
        assert!(Settings::from_lookup(vars(&[("LOADTEST_PHONES", "many")])).is_err());
    }
}
