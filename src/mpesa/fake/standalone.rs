//! The fake on its own (`pesachama fake-daraja`), for benchmarks and for
//! gateways run by hand with `MPESA_API_URL`.

use anyhow::Context;

use super::{FakeDaraja, FakeDarajaConfig};

/// What `pesachama fake-daraja` was given.
#[derive(Debug, Clone)]
pub struct FakeDarajaArgs {
    pub port: u16,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub shortcode: String,
    pub passkey: String,
    /// External C2B validation on.
    pub c2b_validation: bool,
    /// No log line per push or callback.
    pub quiet: bool,
}

/// Serves on 127.0.0.1:`port` until `stop` resolves.
pub async fn run(args: FakeDarajaArgs, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let fake = FakeDaraja::start(FakeDarajaConfig {
        addr: ([127, 0, 0, 1], args.port).into(),
        consumer_key: args.consumer_key.clone(),
        consumer_secret: args.consumer_secret,
        shortcode: args.shortcode.clone(),
        passkey: args.passkey,
        c2b_validation: args.c2b_validation,
        quiet: args.quiet,
        ..FakeDarajaConfig::default()
    })
    .await
    .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let url = fake.url();
    println!(
        "fake Daraja on {url} (shortcode {}, consumer key {})\n\
         point a gateway at it with MPESA_API_URL={url} and the same credentials\n\
         pushes: {url}/fake/pushes  callbacks: {url}/fake/callbacks  counts: {url}/fake/stats\n\
         outcomes: POST {url}/fake/outcome  paybill payments: POST {url}/fake/c2b\n\
         Stop with Ctrl-C.",
        args.shortcode, args.consumer_key
    );
    stop.await;
    Ok(())
}
