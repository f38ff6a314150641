//! What each command-line command does, kept out of `main.rs` so it can be
//! tested and reused by `dev`.

use anyhow::Context;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::app::{Application, termination_signal};
use crate::chama::{self, Actor, ChamaCode, ChamaError, Role};
use crate::config::Settings;
use crate::i18n::Locales;
use crate::phone::Msisdn;
use crate::user::pin::{self, Unlocked};
use crate::{db, telemetry};

pub use crate::dev::dev;

/// How many times `chama create` tries a fresh generated code before giving up.
const CODE_ATTEMPTS: usize = 5;

/// `pesachama serve`: migrate, then run until SIGTERM/SIGINT.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init_tracing(settings.log_format);
    for warning in settings.warnings() {
        tracing::warn!("{warning}");
    }
    let app = Application::build(settings).await?;
    db::migrate(&app.state().db).await?;
    run_with_signals(app).await
}

/// Runs `app` until a termination signal, then drains.
pub async fn run_with_signals(app: Application) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        termination_signal().await;
        trigger.cancel();
    });
    app.run_until_stopped(shutdown).await
}

/// `pesachama menus check`: prints every problem, fails if there is one.
pub fn menus_check(menus: &std::path::Path, locales: &std::path::Path) -> anyhow::Result<()> {
    match crate::menu::load_catalog(menus, locales, &crate::ops::registry()) {
        Ok(catalog) => {
            println!(
                "menus ok: {} screens in {} and {}",
                catalog.screens().len(),
                menus.display(),
                locales.display()
            );
            Ok(())
        }
        Err(report) => anyhow::bail!("menus check failed:\n{report}"),
    }
}

/// `pesachama migrate`.
pub async fn migrate(url: &SecretString) -> anyhow::Result<()> {
    let pool = db::connect(url).await?;
    db::migrate(&pool).await?;
    println!("migrations applied");
    Ok(())
}

/// `pesachama chama create`: prints the new chama's code.
pub async fn chama_create(
    url: &SecretString,
    name: &str,
    code: Option<&str>,
) -> anyhow::Result<()> {
    let pool = db::connect(url).await?;
    let chama = match code {
        Some(code) => {
            let code = ChamaCode::parse(code).map_err(anyhow::Error::msg)?;
            create_in_tx(&pool, name, &code).await?
        }
        None => create_with_generated_code(&pool, name).await?,
    };
    println!("{}", chama.code);
    Ok(())
}

async fn create_in_tx(
    pool: &sqlx::PgPool,
    name: &str,
    code: &ChamaCode,
) -> Result<chama::Chama, ChamaError> {
    let mut tx = pool.begin().await?;
    let chama = chama::create_chama(&mut tx, Actor::Cli, name, code).await?;
    tx.commit().await?;
    Ok(chama)
}

async fn create_with_generated_code(
    pool: &sqlx::PgPool,
    name: &str,
) -> anyhow::Result<chama::Chama> {
    for _ in 0..CODE_ATTEMPTS {
        match create_in_tx(pool, name, &ChamaCode::generate(name)).await {
            Err(ChamaError::CodeTaken(_)) => continue,
            other => return Ok(other?),
        }
    }
    anyhow::bail!("could not find a free chama code; pass one with --code")
}

/// `pesachama member add`.
pub async fn member_add(
    url: &SecretString,
    chama_code: &str,
    phone: &str,
    name: &str,
    role: Role,
) -> anyhow::Result<()> {
    let phone = Msisdn::parse(phone).with_context(|| format!("invalid phone `{phone}`"))?;
    let pool = db::connect(url).await?;
    let mut tx = pool.begin().await?;
    let member = chama::add_member(&mut tx, Actor::Cli, chama_code, &phone, name, role).await?;
    tx.commit().await?;
    println!(
        "added member no. {} {} ({}) as {}",
        member.member_no,
        member.name,
        member.phone,
        member.role.as_str()
    );
    Ok(())
}

/// `pesachama member unlock-pin`: clears a PIN lock; the member gets an SMS.
pub async fn member_unlock_pin(
    url: &SecretString,
    locales: &std::path::Path,
    phone: &str,
) -> anyhow::Result<()> {
    let phone = Msisdn::parse(phone).with_context(|| format!("invalid phone `{phone}`"))?;
    let texts = Locales::load(locales)
        .with_context(|| format!("cannot load the SMS texts from {}", locales.display()))?;
    let pool = db::connect(url).await?;
    let mut tx = pool.begin().await?;
    let outcome = pin::unlock(&mut tx, &texts, Actor::Cli, &phone).await?;
    tx.commit().await?;
    match outcome {
        Unlocked::Cleared { was_until } => {
            println!("unlocked the PIN of {phone} (it was locked until {was_until})");
        }
        Unlocked::NotLocked => println!("the PIN of {phone} is not locked; nothing changed"),
        Unlocked::UnknownPhone => anyhow::bail!("no user has the phone {phone}"),
    }
    Ok(())
}

/// `pesachama member list`: the register as a table.
pub async fn member_list(url: &SecretString, chama_code: &str) -> anyhow::Result<()> {
    let pool = db::connect(url).await?;
    let mut conn = pool.acquire().await?;
    let members = chama::list_members(&mut conn, chama_code).await?;
    println!(
        "{:>4}  {:<30} {:<14} {:<12} status",
        "no.", "name", "phone", "role"
    );
    for m in members {
        println!(
            "{:>4}  {:<30} {:<14} {:<12} {}",
            m.member_no,
            m.name,
            m.phone,
            m.role.as_str(),
            m.status
        );
    }
    Ok(())
}
