//! `pesachama dev`: a working gateway on a fresh machine in one command.
//!
//! Starts private PostgreSQL and Redis servers when `DATABASE_URL` / `REDIS_URL`
//! are unset (data kept in `.local/dev` and reused), migrates, seeds a demo chama,
//! and serves with the in-process fake Daraja and Africa's Talking until Ctrl-C.
//!
//! Like production, it migrates as the owner and serves as the runtime role:
//! with a private server the owner is its superuser and the daemon connects as
//! [`DEV_RUNTIME_ROLE`].

use std::path::Path;

use anyhow::Context;

use crate::app::Application;
use crate::chama::{self, Actor, ChamaCode, ChamaError, Role};
use crate::cli::{prepare_database, run_with_signals};
use crate::config::{self, DatabaseUrls, RawSettings, Settings};
use crate::devstack::{PrivatePostgres, PrivateRedis};
use crate::phone::Msisdn;
use crate::{db, telemetry};

/// Where `dev` keeps its private servers' data, relative to the working folder.
pub const STATE_DIR: &str = ".local/dev";
/// A fixed PIN secret so PINs set in one `dev` run still work in the next.
/// Never used by `serve`, which requires its own.
pub const DEV_PIN_SECRET: &str = "dev-only-pin-secret-not-for-production-use";
/// The runtime login role `dev` creates on its private PostgreSQL (trust
/// authentication on loopback, so no password).
pub const DEV_RUNTIME_ROLE: &str = "pesachama_dev";
/// `dev` listens on loopback only unless told otherwise.
const DEV_HTTP_ADDR: &str = "127.0.0.1:8080";
/// Hops a minute per phone under `dev`: scripted `ussd-sim` runs replay
/// whole sessions back to back on one demo phone.
pub const DEV_RATE_PER_PHONE: &str = "600";

/// The demo chama's code.
pub const DEMO_CHAMA: &str = "UMOJA";
/// A second chama, so a member of two chamas can be tried.
pub const SECOND_CHAMA: &str = "JIRANI";

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
    prepare_database(&DatabaseUrls {
        owner: raw
            .get("DATABASE_OWNER_URL")
            .map(|url| url.trim())
            .filter(|url| !url.is_empty())
            .map_or_else(|| settings.database_url.clone(), |url| url.into()),
        runtime: settings.database_url.clone(),
    })
    .await?;

    let app = Application::build(settings).await?;
    seed_demo(&app.state().db)
        .await
        .context("cannot seed the demo chama")?;
    print_welcome(&app);
    let outcome = run_with_signals(app).await;
    // Dropping the handles stops the private servers (pg_ctl stop, SIGTERM).
    drop(redis);
    drop(postgres);
    outcome
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

/// Three months of contributions (savings and shares) for a member, plus a
/// loan for some members and a fine for others, so the balance and statement
/// screens have something to show.
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
            line(accounts::MPESA, None, 1_200),
            line(accounts::SAVINGS, Some(member), -1_000),
            line(accounts::SHARES, Some(member), -200),
        ];
        let key = format!("demo:contribution:{member}:{month}");
        post_entry(conn, chama_id, &key, "Monthly contribution", when, &lines).await?;
    }
    if member_no % 3 == 2 {
        let lines = [
            line(accounts::LOANS, Some(member), 5_000),
            line(accounts::MPESA, None, -5_000),
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
            line(accounts::MPESA, None, 100),
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

fn print_welcome(app: &Application) {
    let http = app.http_addr();
    println!();
    println!(
        "PesaChama dev gateway on http://{http} (metrics on http://{}/metrics)",
        app.admin_addr()
    );
    println!("Daraja and Africa's Talking are in-process fakes.");
    println!("Demo chama {DEMO_CHAMA} (Umoja Women Group):");
    for (phone, name, role, also) in DEMO_PEOPLE {
        let extra = if *also {
            format!(", also in {SECOND_CHAMA}")
        } else {
            String::new()
        };
        println!("  {phone}  {name:<14} {}{extra}", role.as_str());
    }
    println!("Try:  curl http://{http}/readyz");
    println!("Stop with Ctrl-C.");
}

#[cfg(test)]
mod tests {
    use super::*;

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
