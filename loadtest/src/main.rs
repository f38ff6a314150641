//! `pesachama-loadtest`: many feature-phone members walking whole USSD
//! sessions against `POST /ussd/africastalking`, driven by goose.
//!
//! - `pesachama-loadtest seed …` creates the members the scenarios dial as.
//! - `pesachama-loadtest [goose flags]` runs the `balance` or `hold` scenario
//!   (`--scenarios balance`), prints goose's report and then one `SUMMARY`
//!   line with hops/s, p50/p95/p99/max hop latency and the error count.
//!
//! Our own settings come from `LOADTEST_*` variables (see `settings.rs` and
//! the README); everything else is a goose flag.

mod pace;
mod scenarios;
mod screen;
mod seed;
mod settings;
mod summary;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use goose::client::GooseClientBuilder;
use goose::prelude::*;

use crate::summary::Summary;

/// The `seed` subcommand; anything else on the command line is goose's.
#[derive(Debug, Parser)]
#[command(name = "pesachama-loadtest")]
enum SeedCommand {
    /// Create the load-test chama and its members (idempotent).
    Seed(seed::SeedArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    if std::env::args().nth(1).as_deref() == Some("seed") {
        let SeedCommand::Seed(args) = SeedCommand::parse();
        seed::run(args).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let settings = settings::Settings::from_env()?;
    eprintln!(
        "pesachama-loadtest: {} phones from {}, service code {}, think {:?}, pace {:?}",
        settings.pool.size(),
        settings.pool.phone(0),
        settings.service_code,
        settings.think,
        settings.pace
    );
    scenarios::init(settings);
    let mut attack = GooseAttack::initialize()?;
    for scenario in scenarios::all()? {
        attack = attack.register_scenario(scenario);
    }
    let attack = attack
        // One client shared by every user, as Africa's Talking calls from a
        // few addresses, not one connection per member.
        .set_client_builder_without_cookies(
            GooseClientBuilder::new()
                .without_cookies()
                .timeout(Duration::from_secs(10))
                .user_agent("pesachama-loadtest"),
        )?
        .set_default(GooseDefault::Host, "http://127.0.0.1:8080")?
        .set_default(GooseDefault::NoTelnet, true)?;
    let (metrics, failed) = match attack.execute().await {
        Ok(metrics) => (metrics, Vec::new()),
        Err(GooseError::ThresholdsFailed { failed, metrics }) => (*metrics.0, failed),
        Err(error) => return Err(error.into()),
    };
    let summary = Summary::of(&metrics);
    for line in summary.lines() {
        println!("{line}");
    }
    for rule in &failed {
        println!(
            "THRESHOLD FAILED {} (observed {})",
            rule.rule, rule.observed
        );
    }
    Ok(if failed.is_empty() && summary.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
