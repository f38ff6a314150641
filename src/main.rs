//! The `pesachama` command line: parses arguments and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use pesachama::chama::Role;
use pesachama::i18n::Lang;
use pesachama::mpesa::UnansweredValidation;
use pesachama::mpesa::fake::FakeDarajaArgs;
use pesachama::phone::Msisdn;
use pesachama::sim::SimOptions;
use pesachama::sms::admin::{self, Requeue};
use pesachama::sms::fake::FakeAtArgs;
use pesachama::{cli, config};

/// mimalloc: glibc's malloc showed up as a sixth of the daemon's CPU under
/// load (many small, short-lived allocations across threads).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pesachama",
    version,
    about = "PesaChama gateway: USSD, SMS, M-Pesa and app API for chamas"
)]
struct Cli {
    /// TOML file whose values override the environment (same variable names).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (production: real Daraja and Africa's Talking).
    Serve,
    /// Run a local gateway with private PostgreSQL/Redis, a demo chama and fake providers.
    Dev,
    /// As the owner (DATABASE_OWNER_URL), apply pending migrations and set up
    /// the runtime role DATABASE_URL connects as, then exit.
    Migrate,
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage chamas.
    #[command(subcommand)]
    Chama(ChamaCommand),
    /// Manage chama members.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Check the USSD menus and locales.
    #[command(subcommand)]
    Menus(MenusCommand),
    /// Check the books.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// SMS: templates, the outbox and its letters.
    #[command(subcommand)]
    Sms(SmsCommand),
    /// M-Pesa: requests and receipts waiting for an official, the paybill's
    /// registration with Daraja.
    #[command(subcommand)]
    Mpesa(MpesaCommand),
    /// A terminal feature phone that talks to a running gateway.
    UssdSim(UssdSimArgs),
    /// A fake Africa's Talking SMS API on 127.0.0.1 (benchmarks, manual runs).
    FakeAt(FakeAtCli),
    /// A fake Safaricom Daraja on 127.0.0.1 (benchmarks, manual runs).
    FakeDaraja(FakeDarajaCli),
}

#[derive(Subcommand)]
enum MpesaCommand {
    /// STK requests queued, pending, closed as unknown at the deadline, or
    /// booked with a flag: age, chama, masked phone, amount.
    Pending,
    /// Book a paybill receipt nobody could match (in a chama's suspense, or
    /// naming no chama) to a member's savings; audited.
    Allocate {
        /// The M-Pesa receipt (TransID), e.g. TKA1B2C3D4.
        #[arg(long)]
        receipt: String,
        /// The member's number in the chama.
        #[arg(long)]
        member_no: i32,
        /// The chama's code; needed when the receipt named no chama.
        #[arg(long)]
        chama: Option<String>,
    },
    /// Register the paybill's C2B validation and confirmation URLs (under
    /// MPESA_CALLBACK_URL) with Daraja, once, and print its answer.
    RegisterUrls {
        /// What M-Pesa does with a payment when validation does not answer.
        #[arg(long, default_value = "completed", value_parser = ["completed", "cancelled"])]
        on_unanswered: String,
    },
}

#[derive(Args)]
struct FakeDarajaCli {
    /// Port to listen on (127.0.0.1).
    #[arg(long)]
    port: u16,
    /// The consumer key and secret it issues tokens for.
    #[arg(long, default_value = "fake-consumer-key")]
    consumer_key: String,
    #[arg(long, default_value = "fake-consumer-secret")]
    consumer_secret: String,
    /// The paybill it serves and its passkey (default: Daraja's sandbox ones).
    #[arg(long, default_value = pesachama::mpesa::fake::SANDBOX_SHORTCODE)]
    shortcode: String,
    #[arg(long, default_value = pesachama::mpesa::fake::SANDBOX_PASSKEY)]
    passkey: String,
    /// Call the validation URL before confirming a C2B payment.
    #[arg(long)]
    c2b_validation: bool,
    /// No line per push or callback (benchmarks).
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct FakeAtCli {
    /// Port to listen on (127.0.0.1).
    #[arg(long)]
    port: u16,
    /// The AT username it expects.
    #[arg(long, default_value = "sandbox")]
    username: String,
    /// The key it expects in the `apiKey` header.
    #[arg(long, default_value = "fake-at-key")]
    api_key: String,
    /// The gateway's delivery-report URL (…/sms/africastalking/delivery?token=…);
    /// no reports without it.
    #[arg(long)]
    report_to: Option<reqwest::Url>,
    /// Wait before the first delivery report of a message.
    #[arg(long, default_value_t = 2000)]
    report_delay_ms: u64,
    /// No line per message (benchmarks).
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum MenusCommand {
    /// Load every menu and locale and report every problem with its file and screen.
    Check {
        /// Folder of menu files.
        #[arg(long, env = "PESACHAMA_MENUS_DIR", default_value = "menus")]
        menus: PathBuf,
        /// Folder of locale folders (en/, sw/).
        #[arg(long, env = "PESACHAMA_LOCALES_DIR", default_value = "locales")]
        locales: PathBuf,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Prove that every running balance equals the sum of its postings and that
    /// every entry balances; print each mismatch and fail if there is one.
    Check,
    /// Print a chama's accounts, or a member's balances (as USSD shows them),
    /// and the latest entries with their M-Pesa receipts.
    Statement {
        /// The chama's code, e.g. UMOJA.
        #[arg(long)]
        chama: String,
        /// A member's phone: their balances and lines only.
        #[arg(long)]
        member: Option<String>,
        /// How many of the latest entries.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum SmsCommand {
    /// Check every SMS template at its worst-case lengths and report every
    /// problem with its file, template and language.
    Check {
        /// Folder of locale folders (en/, sw/).
        #[arg(long, env = "PESACHAMA_LOCALES_DIR", default_value = "locales")]
        locales: PathBuf,
    },
    /// Queue depth by state, the oldest pending age, dead and parked letters by reason.
    Status,
    /// Put dead (or parked) letters back in the queue after a fix.
    Retry {
        /// Requeue the dead letters (retries ran out).
        #[arg(long, required_unless_present = "parked", conflicts_with = "parked")]
        dead: bool,
        /// Requeue the parked letters (sent or not, unknown).
        #[arg(long)]
        parked: bool,
    },
    /// Queue a test message from a template, variables filled with their names.
    Send {
        /// Phone as typed: 0712 345 678, 254712345678 or +254712345678.
        #[arg(long)]
        phone: String,
        /// Fluent message id, e.g. sms-pin-lock.
        #[arg(long)]
        template: String,
        /// Language of the text.
        #[arg(long, default_value = "en", value_parser = ["en", "sw"])]
        lang: String,
        /// Folder of locale folders (en/, sw/).
        #[arg(long, env = "PESACHAMA_LOCALES_DIR", default_value = "locales")]
        locales: PathBuf,
    },
}

#[derive(Args)]
struct UssdSimArgs {
    /// The phone that dials, as typed (0712 345 678 or +254712345678).
    #[arg(long)]
    phone: String,
    /// Gateway base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Short code dialled.
    #[arg(long, default_value = "*384*1234#")]
    service_code: String,
    /// Mobile network code Africa's Talking reports (63902 Safaricom).
    #[arg(long, default_value = "63902")]
    network_code: String,
    /// Inputs to send in order; without any, they are read from stdin.
    inputs: Vec<String>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate every setting `serve` needs and report all problems at once.
    Check,
}

#[derive(Subcommand)]
enum ChamaCommand {
    /// Create a chama and print its code.
    Create {
        /// Display name, e.g. "Umoja Women Group".
        #[arg(long)]
        name: String,
        /// Code members and officials use (3-12 letters/digits); generated when omitted.
        #[arg(long)]
        code: Option<String>,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Add a person to a chama (creating the user when the phone is new).
    Add(MemberAdd),
    /// List a chama's members.
    List {
        /// Chama code.
        #[arg(long)]
        chama: String,
    },
    /// Clear a member's PIN lock (after checking who they are); they get an SMS.
    UnlockPin {
        /// Phone as typed: 0712 345 678, 254712345678 or +254712345678.
        #[arg(long)]
        phone: String,
        /// Folder of locale folders, for the SMS text.
        #[arg(long, env = "PESACHAMA_LOCALES_DIR", default_value = "locales")]
        locales: PathBuf,
    },
}

#[derive(Args)]
struct MemberAdd {
    /// Chama code.
    #[arg(long)]
    chama: String,
    /// Phone as typed: 0712 345 678, 254712345678 or +254712345678.
    #[arg(long)]
    phone: String,
    /// Member's name.
    #[arg(long)]
    name: String,
    /// Role in the chama.
    #[arg(long, value_enum, default_value = "member")]
    role: Role,
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(args));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Cli) -> anyhow::Result<()> {
    let file = args.config.as_deref();
    match args.command {
        Command::Serve => cli::serve(config::load(file)?).await,
        Command::Dev => cli::dev(config::load_raw(file)?).await,
        Command::Migrate => cli::migrate(&config::load_database_urls(file)?).await,
        Command::Config(ConfigCommand::Check) => {
            let settings = config::load(file)?;
            for warning in settings.warnings() {
                eprintln!("warning: {warning}");
            }
            println!("configuration ok");
            Ok(())
        }
        Command::Chama(ChamaCommand::Create { name, code }) => {
            cli::chama_create(&cli::admin_database_url(file)?, &name, code.as_deref()).await
        }
        Command::Member(MemberCommand::Add(m)) => {
            let url = cli::admin_database_url(file)?;
            let countries = config::load_member_countries(file)?;
            cli::member_add(&url, &countries, &m.chama, &m.phone, &m.name, m.role).await
        }
        Command::Member(MemberCommand::List { chama }) => {
            cli::member_list(&cli::admin_database_url(file)?, &chama).await
        }
        Command::Member(MemberCommand::UnlockPin { phone, locales }) => {
            cli::member_unlock_pin(&cli::admin_database_url(file)?, &locales, &phone).await
        }
        Command::Menus(MenusCommand::Check { menus, locales }) => {
            cli::menus_check(&menus, &locales)
        }
        Command::Ledger(LedgerCommand::Check) => {
            cli::ledger_check(&cli::admin_database_url(file)?).await
        }
        Command::Ledger(LedgerCommand::Statement {
            chama,
            member,
            limit,
        }) => {
            let url = cli::admin_database_url(file)?;
            pesachama::ledger::statement::print(&url, &chama, member.as_deref(), limit).await
        }
        Command::Sms(command) => sms(command, file).await,
        Command::Mpesa(MpesaCommand::Pending) => {
            cli::mpesa_pending(&cli::admin_database_url(file)?).await
        }
        Command::Mpesa(MpesaCommand::Allocate {
            receipt,
            member_no,
            chama,
        }) => {
            let url = cli::admin_database_url(file)?;
            cli::mpesa_allocate(&url, &receipt, chama.as_deref(), member_no).await
        }
        Command::UssdSim(sim) => {
            let phone = Msisdn::parse(&sim.phone)
                .map_err(|e| anyhow::anyhow!("invalid phone `{}`: {e}", sim.phone))?;
            pesachama::sim::run(SimOptions {
                url: sim.url,
                phone,
                service_code: sim.service_code,
                network_code: sim.network_code,
                inputs: sim.inputs,
            })
            .await
        }
        Command::FakeDaraja(a) => {
            cli::fake_daraja(FakeDarajaArgs {
                port: a.port,
                consumer_key: a.consumer_key,
                consumer_secret: a.consumer_secret,
                shortcode: a.shortcode,
                passkey: a.passkey,
                c2b_validation: a.c2b_validation,
                quiet: a.quiet,
            })
            .await
        }
        Command::Mpesa(MpesaCommand::RegisterUrls { on_unanswered }) => {
            let unanswered = match on_unanswered.as_str() {
                "cancelled" => UnansweredValidation::Cancel,
                _ => UnansweredValidation::Complete,
            };
            cli::mpesa_register_urls(config::load(file)?, unanswered).await
        }
        Command::FakeAt(a) => {
            cli::fake_at(FakeAtArgs {
                port: a.port,
                username: a.username,
                api_key: a.api_key,
                report_to: a.report_to,
                report_delay: Duration::from_millis(a.report_delay_ms),
                quiet: a.quiet,
            })
            .await
        }
    }
}

async fn sms(command: SmsCommand, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    match command {
        SmsCommand::Check { locales } => return cli::sms_check(&locales),
        SmsCommand::Status => print!("{}", admin::status(&cli::admin_database_url(file)?).await?),
        SmsCommand::Retry { dead, .. } => {
            let which = if dead { Requeue::Dead } else { Requeue::Parked };
            let requeued = admin::retry(&cli::admin_database_url(file)?, which).await?;
            println!("requeued {requeued} messages");
        }
        SmsCommand::Send {
            phone,
            template,
            lang,
            locales,
        } => {
            let lang = Lang::parse(&lang).unwrap_or_default();
            let url = cli::admin_database_url(file)?;
            let id = admin::send_test(&url, &locales, &phone, &template, lang).await?;
            println!("{id}");
        }
    }
    Ok(())
}
