//! The fake on its own (`pesachama fake-at`), for benchmarks and for
//! gateways run by hand, and the terminal printer `dev` shares with it.

use std::time::Duration;

use anyhow::Context;
use reqwest::Url;
use tokio::sync::broadcast;

use super::{FakeAtConfig, FakeSms, SentSms};

/// What `pesachama fake-at` was given.
#[derive(Debug, Clone)]
pub struct FakeAtArgs {
    pub port: u16,
    pub username: String,
    pub api_key: String,
    /// The gateway's delivery-report URL; no reports without it.
    pub report_to: Option<Url>,
    pub report_delay: Duration,
    /// No line per message, on the terminal or in the log.
    pub quiet: bool,
}

/// Serves on 127.0.0.1:`port` until `stop` resolves.
pub async fn run(args: FakeAtArgs, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let fake = FakeSms::start(FakeAtConfig {
        addr: ([127, 0, 0, 1], args.port).into(),
        username: args.username.clone(),
        api_key: args.api_key.clone(),
        report_delay: args.report_delay,
        quiet: args.quiet,
        ..FakeAtConfig::default()
    })
    .await
    .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    if let Some(url) = args.report_to {
        fake.report_to(url);
    }
    let url = fake.url();
    println!(
        "fake Africa's Talking on {url} (username {}, apiKey {})\n\
         point a gateway at it with AT_API_URL={url}\n\
         sent messages: {url}/fake/sms  counts: {url}/fake/stats\n\
         Stop with Ctrl-C.",
        args.username, args.api_key
    );
    if !args.quiet {
        tokio::spawn(print_sent(fake.watch()));
    }
    stop.await;
    Ok(())
}

/// Prints each accepted message on one line: the number masked, the text in
/// full (it is the developer's own fake; the terminal is not a log).
pub async fn print_sent(mut sent: broadcast::Receiver<SentSms>) {
    loop {
        match sent.recv().await {
            Ok(sms) => println!("SMS to {}: {}", sms.to.masked_local(), sms.message),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                println!("({missed} SMS not shown: too many at once; see /fake/sms)")
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
