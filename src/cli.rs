//! What each command-line command does, kept out of `main.rs` so it can be
//! tested and reused by `dev`.

use anyhow::Context;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::app::{Application, termination_signal};
use crate::chama::{self, Actor, ChamaCode, ChamaError, Role};
use crate::config::{DatabaseUrls, Settings};
use crate::db::Provisioned;
use crate::phone::{MemberCountries, Msisdn};
use crate::user::pin::{self, Unlocked};
use crate::{config, db, ledger, telemetry};

pub use crate::dev::dev;

/// The database of the admin commands (`chama`, `member`, `ledger check`):
/// `DATABASE_URL` (environment or `--config` file), or else the database of a
/// `dev` stack running from this folder, named on stderr so the operator sees
/// which one they changed.
pub fn admin_database_url(file: Option<&std::path::Path>) -> anyhow::Result<SecretString> {
    let raw = config::load_raw(file)?;
    let unset = raw
        .get("DATABASE_URL")
        .is_none_or(|url| url.trim().is_empty());
    if unset {
        let state_dir = std::path::Path::new(crate::dev::STATE_DIR);
        if let Some((url, path)) = crate::dev::running_database_url(state_dir) {
            eprintln!(
                "DATABASE_URL is unset: using the running dev stack's database {} (from {})",
                describe_database(&url),
                path.display()
            );
            return Ok(url.into());
        }
    }
    config::load_database_url(file).map_err(|error| {
        if unset {
            anyhow::anyhow!(
                "{error}\n(or run `pesachama dev` / `cargo run -- dev` from this folder: \
                 the admin commands then use its database)"
            )
        } else {
            error.into()
        }
    })
}

/// `user@host:port/database` of a PostgreSQL URL: which database, never a
/// password.
fn describe_database(url: &str) -> String {
    match url.parse::<sqlx::postgres::PgConnectOptions>() {
        Ok(o) => format!(
            "{}@{}:{}/{}",
            o.get_username(),
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or_default()
        ),
        Err(_) => "(unreadable URL)".to_owned(),
    }
}

/// How many times `chama create` tries a fresh generated code before giving up.
const CODE_ATTEMPTS: usize = 5;

/// `pesachama serve`: check the schema is current, then run until
/// SIGTERM/SIGINT. It never migrates: it runs as the runtime role, which may
/// not, and `pesachama migrate` (the unit's `ExecStartPre=`) already has.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init_tracing(settings.log_format);
    for warning in settings.warnings() {
        tracing::warn!("{warning}");
    }
    let app = Application::build(settings).await?;
    db::check_schema(&app.state().db).await?;
    if db::has_owner_powers(&app.state().db).await? {
        tracing::warn!(
            "DATABASE_URL connects as the owner of the schema (or a superuser): the daemon \
             could disable the ledger's and the audit log's protections; give it the \
             runtime role (`pesachama migrate` creates it)"
        );
    }
    run_with_signals(app).await
}

/// Runs `app` until a termination signal, then drains.
pub async fn run_with_signals(app: Application) -> anyhow::Result<()> {
    run_until(app, termination_signal()).await
}

/// Runs `app` until `stop` resolves (a [`termination_signal`] made earlier,
/// so signals are handled from that moment on), then drains.
pub async fn run_until(
    app: Application,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        stop.await;
        trigger.cancel();
    });
    app.run_until_stopped(shutdown).await
}

/// `pesachama fake-at`: the fake Africa's Talking on its own, until
/// SIGINT/SIGTERM (benchmarks, and gateways run by hand with `AT_API_URL`).
pub async fn fake_at(args: crate::sms::fake::FakeAtArgs) -> anyhow::Result<()> {
    telemetry::init_tracing(config::LogFormat::Pretty);
    crate::sms::fake::run_standalone(args, termination_signal()).await
}

/// `pesachama fake-daraja`: the fake Daraja on its own, until SIGINT/SIGTERM
/// (benchmarks, and gateways run by hand with `MPESA_API_URL`).
pub async fn fake_daraja(args: crate::mpesa::fake::FakeDarajaArgs) -> anyhow::Result<()> {
    telemetry::init_tracing(config::LogFormat::Pretty);
    crate::mpesa::fake::run_standalone(args, termination_signal()).await
}

/// `pesachama mpesa register-urls`: registers the paybill's C2B URLs
/// (under `MPESA_CALLBACK_URL`, with the callback token) with the Daraja of
/// the configuration, once, and prints Daraja's answer.
pub async fn mpesa_register_urls(
    settings: Settings,
    unanswered: crate::mpesa::UnansweredValidation,
) -> anyhow::Result<()> {
    use crate::mpesa::{C2bUrls, DarajaClient, DarajaHttpClient};
    let config::Providers::Live(live) = &settings.providers else {
        anyhow::bail!("register-urls needs the MPESA_* settings of a real Daraja");
    };
    let urls = C2bUrls::for_gateway(&live.mpesa, unanswered)?;
    let client = DarajaHttpClient::new(&live.mpesa, &live.mpesa.callback_token)?;
    let registered = client
        .register_urls(&urls)
        .await
        .context("Daraja did not register the URLs")?;
    println!(
        "Daraja registered the C2B URLs of shortcode {}: {} (OriginatorCoversationID {})",
        live.mpesa.shortcode,
        registered.response_description,
        registered.originator_conversation_id
    );
    Ok(())
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

/// `pesachama sms check`: prints every problem, fails if there is one.
pub fn sms_check(locales: &std::path::Path) -> anyhow::Result<()> {
    match crate::sms::templates::Templates::load(locales) {
        Ok(templates) => {
            println!(
                "sms templates ok: {} in {}",
                templates.ids().count(),
                locales.display()
            );
            Ok(())
        }
        Err(report) => anyhow::bail!("sms check failed:\n{report}"),
    }
}

/// `pesachama migrate`: as the owner, apply pending migrations and provision
/// the runtime role `DATABASE_URL` connects as.
pub async fn migrate(urls: &DatabaseUrls) -> anyhow::Result<()> {
    prepare_database(urls).await?;
    println!("migrations applied");
    Ok(())
}

/// Migrates as the owner, then creates or updates the runtime login role and
/// says on stderr what it did. Shared by `migrate` and `dev`.
pub async fn prepare_database(urls: &DatabaseUrls) -> anyhow::Result<()> {
    let owner = db::connect(&urls.owner)
        .await
        .context("cannot connect with DATABASE_OWNER_URL (or DATABASE_URL)")?;
    db::migrate(&owner).await?;
    match db::provision_runtime_role(&owner, &urls.runtime).await? {
        Provisioned::Created { role } => {
            eprintln!("created runtime role `{role}` in `{}`", db::RUNTIME_GROUP)
        }
        Provisioned::Updated { role } => {
            eprintln!(
                "runtime role `{role}` is up to date in `{}`",
                db::RUNTIME_GROUP
            )
        }
        Provisioned::SameAsOwner { role } => eprintln!(
            "warning: DATABASE_URL and DATABASE_OWNER_URL both connect as `{role}`: the daemon \
             will run as the owner of the schema, which can disable the ledger's and audit \
             log's protections; set DATABASE_OWNER_URL to the owner and DATABASE_URL to a \
             separate runtime user"
        ),
    }
    owner.close().await;
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

/// `pesachama member add`: refuses a phone of a country not in `countries`
/// before touching the database.
pub async fn member_add(
    url: &SecretString,
    countries: &MemberCountries,
    chama_code: &str,
    phone: &str,
    name: &str,
    role: Role,
) -> anyhow::Result<()> {
    let phone = Msisdn::parse(phone)
        .and_then(|parsed| countries.check(&parsed).map(|()| parsed))
        .with_context(|| format!("invalid phone `{phone}`"))?;
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
    let texts = crate::sms::templates::Templates::load(locales).map_err(|report| {
        anyhow::anyhow!(
            "the SMS texts in {} fail their check:\n{report}",
            locales.display()
        )
    })?;
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

/// `pesachama ledger check`: prints the summary and every mismatch; fails
/// when there is one. Read-only, so `DATABASE_URL` (the runtime role) is enough.
pub async fn ledger_check(url: &SecretString) -> anyhow::Result<()> {
    let pool = db::connect(url).await?;
    let mut conn = pool.acquire().await?;
    let report = ledger::check::run(&mut conn)
        .await
        .context("cannot read the ledger")?;
    println!("{report}");
    for mismatch in &report.mismatches {
        println!("{mismatch}");
    }
    if !report.is_consistent() {
        anyhow::bail!(
            "the ledger has {} mismatches (listed above)",
            report.mismatches.len()
        );
    }
    Ok(())
}

/// `pesachama mpesa pending`: STK requests an official may need to look at.
pub async fn mpesa_pending(url: &SecretString) -> anyhow::Result<()> {
    let pool = db::connect(url).await?;
    let mut conn = pool.acquire().await?;
    let requests = crate::mpesa::reconcile::pending::list(&mut conn)
        .await
        .context("cannot read the STK requests")?;
    let listing = crate::mpesa::reconcile::pending::Listing {
        requests: &requests,
        now: chrono::Utc::now(),
    };
    print!("{listing}");
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

/// `pesachama mpesa allocate`: books a paybill receipt nobody matched to a
/// member, with an audit row, in one transaction; a refusal changes nothing.
pub async fn mpesa_allocate(
    url: &SecretString,
    receipt: &str,
    chama: Option<&str>,
    member_no: i32,
) -> anyhow::Result<()> {
    let pool = db::connect(url).await?;
    let mut tx = pool.begin().await?;
    let done = crate::mpesa::c2b::allocate(&mut tx, receipt.trim(), chama, member_no).await?;
    tx.commit().await?;
    println!(
        "allocated {} ({}) to member {} of {}",
        done.receipt,
        crate::i18n::format_kes(done.amount),
        done.member_no,
        done.chama
    );
    Ok(())
}
