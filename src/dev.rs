//! `pesachama dev`: a working gateway on a fresh machine in one command.
//!
//! Starts private PostgreSQL and Redis servers when `DATABASE_URL` / `REDIS_URL`
//! are unset (data kept in `.local/dev` and reused), migrates, seeds a demo chama,
//! and serves with the fake Daraja and Africa's Talking (HTTP servers on
//! loopback) until Ctrl-C, or with the real ones when `MPESA_API_URL` /
//! `AT_API_URL` are set.
//!
//! Like production, it migrates as the owner and serves as the runtime role:
//! with a private server the owner is its superuser and the daemon connects as
//! [`DEV_RUNTIME_ROLE`].
//!
//! While it serves on a private PostgreSQL, it writes that server's runtime URL
//! to [`DATABASE_URL_FILE`] so the admin commands run from the same folder
//! find it without `DATABASE_URL` ([`running_database_url`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::app::Application;
use crate::app::termination_signal;
use crate::chama::{self, Actor, ChamaCode, ChamaError, Role};
use crate::cli::{prepare_database, run_until};
use crate::config::{self, AtSettings, DatabaseUrls, RawSettings, Settings};
use crate::devstack::{PrivatePostgres, PrivateRedis};
use crate::phone::Msisdn;
use crate::sms::{self, AtSmsClient, FakeAtConfig, SmsProvider};
use crate::{db, mpesa, telemetry};

/// Where `dev` keeps its private servers' data, relative to the working folder.
pub const STATE_DIR: &str = ".local/dev";
/// A fixed PIN secret so PINs set in one `dev` run still work in the next.
/// Never used by `serve`, which requires its own.
pub const DEV_PIN_SECRET: &str = "dev-only-pin-secret-not-for-production-use";
/// The runtime login role `dev` creates on its private PostgreSQL (trust
/// authentication on loopback, so no password).
pub const DEV_RUNTIME_ROLE: &str = "pesachama_dev";
/// How long after a send `dev`'s fake Africa's Talking reports delivery.
const DEV_REPORT_DELAY: Duration = Duration::from_secs(2);
/// `dev` listens on loopback only unless told otherwise.
const DEV_HTTP_ADDR: &str = "127.0.0.1:8080";
/// Hops a minute per phone under `dev`: scripted `ussd-sim` runs replay
/// whole sessions back to back on one demo phone.
pub const DEV_RATE_PER_PHONE: &str = "600";

/// The demo chama's code.
pub const DEMO_CHAMA: &str = "UMOJA";
/// A second chama, so a member of two chamas can be tried.
pub const SECOND_CHAMA: &str = "JIRANI";

/// The file under [`STATE_DIR`] holding the running dev stack's database URL.
/// It names the runtime role on a loopback server with trust authentication,
/// so it holds no password.
pub const DATABASE_URL_FILE: &str = "database-url";

/// The demo member who has a PIN and reads Swahili from the first run on, so
/// the README's scripted example reaches the balance on every dial.
pub const DEMO_PIN_PHONE: &str = "0711000005";
/// [`DEMO_PIN_PHONE`]'s PIN, printed by `dev` and used in the README.
pub const DEMO_PIN: &str = "2468";
/// UMOJA's monthly contribution, KES.
pub const DEMO_CONTRIBUTION: i64 = 1_000;
/// A demo member with no PIN and two chamas: a first dial walks through the
/// language, the new PIN and the chama choice.
pub const DEMO_NEW_PHONE: &str = "0711000004";

/// The demo people: phone, name, role in UMOJA, also in JIRANI.
pub const DEMO_PEOPLE: &[(&str, &str, Role, bool)] = &[
    ("0711000001", "Grace Wanjiku", Role::Chairperson, false),
    ("0711000002", "Jane Achieng", Role::Treasurer, false),
    ("0711000003", "Peter Kamau", Role::Secretary, false),
    ("0711000004", "Mary Njeri", Role::Member, true),
    ("0711000005", "John Otieno", Role::Member, false),
    ("0711000006", "Faith Chebet", Role::Member, false),
];

/// Runs the dev stack until Ctrl-C, then stops what it started.
pub async fn dev(mut raw: RawSettings) -> anyhow::Result<()> {
    telemetry::init_tracing(config::LogFormat::Pretty);
    let state_dir = Path::new(STATE_DIR);
    let mut postgres = None;
    if !raw.contains_key("DATABASE_URL") {
        let pg = blocking(state_dir, PrivatePostgres::start).await?;
        println!("started private PostgreSQL: {}", pg.url());
        raw.insert("DATABASE_OWNER_URL".into(), pg.url().to_owned());
        let runtime = db::url_for_login(pg.url(), DEV_RUNTIME_ROLE, None)?;
        raw.insert("DATABASE_URL".into(), runtime);
        postgres = Some(pg);
    }
    let mut redis = None;
    if !raw.contains_key("REDIS_URL") {
        let r = blocking(state_dir, PrivateRedis::start).await?;
        println!("started private Redis: {}", r.url());
        raw.insert("REDIS_URL".into(), r.url().to_owned());
        redis = Some(r);
    }
    dev_defaults(&mut raw);
    let settings = Settings::parse_for_fakes(&raw)?;
    let pin_secret = settings.pin_secret.clone();
    prepare_database(&DatabaseUrls {
        owner: raw
            .get("DATABASE_OWNER_URL")
            .map(|url| url.trim())
            .filter(|url| !url.is_empty())
            .map_or_else(|| settings.database_url.clone(), |url| url.into()),
        runtime: settings.database_url.clone(),
    })
    .await?;

    let http_addr = settings.http_addr.to_string();
    let mpesa = mpesa::dev_settings(&raw, &http_addr)?;
    let app = Application::build_with(settings, dev_sms(&raw).await?, mpesa).await?;
    let daraja = match &app.fakes().daraja {
        Some(fake) => {
            // Each push and callback gets a log line on the terminal.
            fake.set_quiet(false);
            format!(
                "Daraja is a fake at {url}: pushes at {url}/fake/pushes, callbacks at {url}/fake/callbacks.\n",
                url = fake.url()
            )
        }
        None => "Daraja is the one at MPESA_API_URL.\n".to_owned(),
    };
    let sms_listing = app.fakes().sms.as_ref().map(|fake| {
        fake.report_to(app.sms_delivery_url());
        tokio::spawn(sms::fake::print_sent(fake.watch()));
        format!("{}/fake/sms", fake.url())
    });
    seed_demo(&app.state().db)
        .await
        .context("cannot seed the demo chama")?;
    seed_demo_pin(&app.state().db, &pin_secret)
        .await
        .context("cannot give the demo member a PIN")?;
    // Only a private server's URL is published: it carries no password, and
    // a server of the user's own is named by their DATABASE_URL already.
    let published = match &postgres {
        Some(_) => Some(
            PublishedUrl::write(state_dir, raw["DATABASE_URL"].as_str())
                .context("cannot write the dev database URL")?,
        ),
        None => None,
    };
    // Ctrl-C stops dev cleanly from the moment it is told to press it.
    let stop = termination_signal();
    println!(
        "{}",
        welcome(
            app.http_addr(),
            app.admin_addr(),
            published.as_ref().map(|p| p.url.as_str()),
            sms_listing.as_deref(),
            &daraja,
        )
    );
    let outcome = run_until(app, stop).await;
    drop(published);
    // Dropping the handles stops the private servers (pg_ctl stop, SIGTERM).
    drop(redis);
    drop(postgres);
    outcome
}

/// Where `dev` sends SMS: to the fake Africa's Talking, whose delivery
/// reports follow after [`DEV_REPORT_DELAY`], unless `AT_API_URL` names a
/// real one (AT's sandbox, another simulator), reached with `AT_USERNAME`
/// (default `sandbox`), `AT_API_KEY` and `AT_SMS_SENDER`.
async fn dev_sms(raw: &RawSettings) -> anyhow::Result<SmsProvider> {
    let value = |name: &str| raw.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let Some(api_url) = value("AT_API_URL") else {
        return sms::fake_provider(FakeAtConfig {
            report_delay: DEV_REPORT_DELAY,
            // Each message gets its own terminal line instead (print_sent).
            quiet: true,
            ..FakeAtConfig::default()
        })
        .await;
    };
    let settings = AtSettings {
        api_url: api_url.parse().context("AT_API_URL is not a URL")?,
        username: value("AT_USERNAME").unwrap_or("sandbox").to_owned(),
        api_key: value("AT_API_KEY")
            .context("AT_API_URL is set, so AT_API_KEY must be too")?
            .to_owned()
            .into(),
        sms_sender: value("AT_SMS_SENDER").map(str::to_owned),
    };
    Ok(SmsProvider {
        client: Arc::new(AtSmsClient::new(&settings)?),
        fake: None,
    })
}

/// The settings `dev` picks when the environment leaves them unset.
fn dev_defaults(raw: &mut RawSettings) {
    for (name, value) in [
        ("PESACHAMA_PIN_SECRET", DEV_PIN_SECRET),
        ("PESACHAMA_HTTP_ADDR", DEV_HTTP_ADDR),
        ("PESACHAMA_USSD_RATE_PER_PHONE", DEV_RATE_PER_PHONE),
    ] {
        raw.entry(name.into()).or_insert_with(|| value.into());
    }
}

async fn blocking<T: Send + 'static>(
    dir: &Path,
    start: fn(&Path) -> Result<T, crate::devstack::DevstackError>,
) -> anyhow::Result<T> {
    let dir = dir.to_owned();
    Ok(tokio::task::spawn_blocking(move || start(&dir)).await??)
}

/// Creates the demo chamas and people unless they exist already.
pub async fn seed_demo(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for (code, name) in [
        (DEMO_CHAMA, "Umoja Women Group"),
        (SECOND_CHAMA, "Jirani Self Help"),
    ] {
        let code = ChamaCode::parse(code).map_err(anyhow::Error::msg)?;
        match chama::create_chama(&mut tx, Actor::System, name, &code).await {
            Ok(_) => {}
            Err(ChamaError::CodeTaken(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    let umoja = chama::find_chama(&mut tx, DEMO_CHAMA).await?;
    let jirani = chama::find_chama(&mut tx, SECOND_CHAMA).await?;
    // Monthly contributions, so "this period's contribution" on the
    // contribute screen has an amount to pre-fill.
    for (id, amount) in [(umoja.id, DEMO_CONTRIBUTION), (jirani.id, 500)] {
        sqlx::query!(
            "update chamas set contribution_amount = $2 where id = $1",
            id,
            amount
        )
        .execute(&mut *tx)
        .await?;
    }
    for (phone, name, role, also_second) in DEMO_PEOPLE {
        let phone = Msisdn::parse(phone)?;
        let member =
            chama::add_member(&mut tx, Actor::System, DEMO_CHAMA, &phone, name, *role).await?;
        seed_history(&mut tx, umoja.id, member.user_id, member.member_no).await?;
        if *also_second {
            let second = chama::add_member(
                &mut tx,
                Actor::System,
                SECOND_CHAMA,
                &phone,
                name,
                Role::Member,
            )
            .await?;
            seed_history(&mut tx, jirani.id, second.user_id, second.member_no).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Gives [`DEMO_PIN_PHONE`] the PIN [`DEMO_PIN`] and Swahili when they have
/// no PIN yet (a state kept from before this member had one included). A PIN
/// they changed on the phone is theirs: it is left alone.
pub async fn seed_demo_pin(
    pool: &sqlx::PgPool,
    secret: &secrecy::SecretString,
) -> anyhow::Result<()> {
    use crate::i18n::Lang;
    use crate::user::{self, pin};
    let mut tx = pool.begin().await?;
    let phone = Msisdn::parse(DEMO_PIN_PHONE)?;
    let caller = user::find_caller(&mut tx, &phone)
        .await?
        .context("the demo member is missing")?;
    if !caller.has_pin {
        let demo_pin = pin::Pin::parse(DEMO_PIN).context("the demo PIN is not 4 digits")?;
        pin::seed_pin(&mut tx, secret, caller.user_id, &demo_pin).await?;
        user::set_language(&mut tx, caller.user_id, Lang::Sw).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The dev stack's database URL in [`DATABASE_URL_FILE`], removed when
/// dropped: on Ctrl-C and on any error after it was written.
struct PublishedUrl {
    path: PathBuf,
    url: String,
}

impl PublishedUrl {
    fn write(state_dir: &Path, url: &str) -> std::io::Result<PublishedUrl> {
        let path = state_dir.join(DATABASE_URL_FILE);
        std::fs::write(&path, format!("{url}\n"))?;
        Ok(PublishedUrl {
            path,
            url: url.to_owned(),
        })
    }
}

impl Drop for PublishedUrl {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The database URL a running `dev` published under `state_dir`, for the
/// admin commands when `DATABASE_URL` is unset. `None` when no dev stack runs
/// from this folder (or it was killed before it could remove the file; the
/// connection error then says where the URL came from).
pub fn running_database_url(state_dir: &Path) -> Option<(String, PathBuf)> {
    let path = state_dir.join(DATABASE_URL_FILE);
    let url = std::fs::read_to_string(&path).ok()?;
    let url = url.trim();
    (!url.is_empty()).then(|| (url.to_owned(), path))
}

/// Three months of contributions (savings and shares) for a member, plus a
/// loan for some members and a fine for others, so the balance and statement
/// screens have something to show. All of it was cash handed over at
/// meetings: M-Pesa cash moves only by receipts and payouts (`ledger
/// check` proves it), and the demo's M-Pesa money is what `dev` users pay.
async fn seed_history(
    conn: &mut sqlx::PgConnection,
    chama_id: uuid::Uuid,
    member: uuid::Uuid,
    member_no: i32,
) -> anyhow::Result<()> {
    use crate::ledger::{Line, accounts, post_entry};
    let line = |account_code, member, amount| Line {
        account_code,
        member,
        amount,
    };
    let now = chrono::Utc::now();
    for month in 1..=3 {
        let when = now - chrono::Duration::days(30 * (4 - month));
        let lines = [
            line(accounts::CASH, None, 1_200),
            line(accounts::SAVINGS, Some(member), -1_000),
            line(accounts::SHARES, Some(member), -200),
        ];
        let key = format!("demo:contribution:{member}:{month}");
        post_entry(conn, chama_id, &key, "Monthly contribution", when, &lines).await?;
    }
    if member_no % 3 == 2 {
        let lines = [
            line(accounts::LOANS, Some(member), 5_000),
            line(accounts::CASH, None, -5_000),
        ];
        let key = format!("demo:loan:{member}");
        post_entry(
            conn,
            chama_id,
            &key,
            "Loan disbursed",
            now - chrono::Duration::days(10),
            &lines,
        )
        .await?;
    }
    if member_no % 4 == 3 {
        let lines = [
            line(accounts::CASH, None, 100),
            line(accounts::FINES, Some(member), -100),
        ];
        let key = format!("demo:fine:{member}");
        post_entry(
            conn,
            chama_id,
            &key,
            "Lateness fine",
            now - chrono::Duration::days(5),
            &lines,
        )
        .await?;
    }
    Ok(())
}

/// What `dev` prints once it serves: where, the demo people, the `ussd-sim`
/// lines to dial them (the README's examples) and how the admin commands find
/// the database (`dev_database`: the published private one, if any), and
/// where the fake Africa's Talking lists sent SMS (`sms_listing`; `None`
/// when `AT_API_URL` sends them to a real one).
fn welcome(
    http: SocketAddr,
    admin: SocketAddr,
    dev_database: Option<&str>,
    sms_listing: Option<&str>,
    daraja: &str,
) -> String {
    let sms = match sms_listing {
        Some(listing) => format!(
            "SMS go to a fake Africa's Talking: each is printed here and listed at\n\
             \x20 {listing}\n"
        ),
        None => "SMS go to the Africa's Talking at AT_API_URL.\n".to_owned(),
    };
    let mut text = format!(
        "\nPesaChama dev gateway on http://{http} (metrics on http://{admin}/metrics)\n\
         {daraja}{sms}\
         Demo chama {DEMO_CHAMA} (Umoja Women Group):\n"
    );
    for (phone, name, role, also) in DEMO_PEOPLE {
        let mut notes = vec![role.as_str().to_owned()];
        if *also {
            notes.push(format!("also in {SECOND_CHAMA}"));
        }
        if *phone == DEMO_PIN_PHONE {
            notes.push(format!("PIN {DEMO_PIN}, Swahili"));
        }
        text.push_str(&format!("  {phone}  {name:<14} {}\n", notes.join(", ")));
    }
    let url = if http.to_string() == DEV_HTTP_ADDR {
        String::new()
    } else {
        format!(" --url http://{http}")
    };
    text.push_str(&format!(
        "\nDial as a member with a PIN who reads Swahili, to the balance:\n\
         \x20 cargo run -- ussd-sim --phone {DEMO_PIN_PHONE}{url} 1 {DEMO_PIN}\n\
         Dial as a new member (language, new PIN, chama), typing each answer:\n\
         \x20 cargo run -- ussd-sim --phone {DEMO_NEW_PHONE}{url}\n"
    ));
    match dev_database {
        Some(database) => text.push_str(&format!(
            "Admin commands run from this folder use the dev database while dev runs:\n\
             \x20 cargo run -- member list --chama {DEMO_CHAMA}\n\
             (from elsewhere: DATABASE_URL={database})\n"
        )),
        None => text.push_str(&format!(
            "Admin commands take the same DATABASE_URL as dev:\n\
             \x20 cargo run -- member list --chama {DEMO_CHAMA}\n"
        )),
    }
    text.push_str(&format!(
        "Health: curl http://{http}/readyz\nStop with Ctrl-C."
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's scripted line, without the comment.
    fn readme_scripted_line() -> String {
        let readme = include_str!("../README.md");
        let line = readme
            .lines()
            .find(|line| line.contains("ussd-sim") && line.contains("# scripted"))
            .expect("the README has a scripted ussd-sim example");
        line.split('#').next().unwrap().trim().to_owned()
    }

    #[test]
    fn welcome_prints_the_readme_dial_lines_and_where_the_database_is() {
        let http: SocketAddr = DEV_HTTP_ADDR.parse().unwrap();
        let admin: SocketAddr = "127.0.0.1:9090".parse().unwrap();
        let url = "postgres://pesachama_dev@127.0.0.1:5999/postgres";
        let listing = "http://127.0.0.1:40000/fake/sms";
        let text = welcome(http, admin, Some(url), Some(listing), "Daraja is a fake.\n");
        assert!(text.contains(listing), "{text}");
        assert!(text.contains(&readme_scripted_line()), "{text}");
        assert!(
            text.contains(&format!("cargo run -- ussd-sim --phone {DEMO_NEW_PHONE}\n")),
            "{text}"
        );
        assert!(
            text.contains("cargo run -- member list --chama UMOJA"),
            "{text}"
        );
        assert!(text.contains(&format!("DATABASE_URL={url}")), "{text}");

        let elsewhere: SocketAddr = "127.0.0.1:18080".parse().unwrap();
        let text = welcome(elsewhere, admin, None, None, "Daraja is a fake.\n");
        assert!(text.contains("AT_API_URL"), "{text}");
        assert!(
            text.contains(&format!(
                "ussd-sim --phone {DEMO_PIN_PHONE} --url http://127.0.0.1:18080 1 {DEMO_PIN}"
            )),
            "{text}"
        );
        assert!(!text.contains("DATABASE_URL="), "{text}");
    }

    #[test]
    fn the_published_url_is_found_while_it_lives_and_gone_after() {
        let dir = std::env::temp_dir().join(format!("pc-dev-url-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(running_database_url(&dir).is_none());
        let url = "postgres://pesachama_dev@127.0.0.1:5999/postgres";
        let published = PublishedUrl::write(&dir, url).unwrap();
        let (found, path) = running_database_url(&dir).unwrap();
        assert_eq!(found, url);
        assert_eq!(path, dir.join(DATABASE_URL_FILE));
        drop(published);
        assert!(running_database_url(&dir).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn ussd(raw: &RawSettings) -> config::UssdSettings {
        let mut raw = raw.clone();
        raw.insert("DATABASE_URL".into(), "postgres://db/x".into());
        raw.insert("REDIS_URL".into(), "redis://cache".into());
        Settings::parse_for_fakes(&raw).unwrap().ussd
    }

    #[test]
    fn dev_relaxes_the_per_phone_rate_limit_unless_it_is_set() {
        let mut raw = RawSettings::new();
        dev_defaults(&mut raw);
        assert_eq!(ussd(&raw).rate_per_phone, 600);
        assert!(ussd(&raw).rate_per_phone > config::DEFAULT_RATE_PER_PHONE);

        let mut raw = RawSettings::from([("PESACHAMA_USSD_RATE_PER_PHONE".into(), "5".into())]);
        dev_defaults(&mut raw);
        assert_eq!(ussd(&raw).rate_per_phone, 5);
    }
}
