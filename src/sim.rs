//! `pesachama ussd-sim`: a terminal feature phone. It speaks Africa's
//! Talking's USSD protocol to a running gateway (one session id, cumulative
//! `*`-joined text), either interactively or from a script of inputs given as
//! arguments or piped on stdin, printing each screen so a transcript can be
//! checked.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use uuid::Uuid;

use crate::phone::Msisdn;

/// What the simulator dials and where.
pub struct SimOptions {
    /// Gateway base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub phone: Msisdn,
    pub service_code: String,
    pub network_code: String,
    /// Inputs to send in order; empty means read them from stdin.
    pub inputs: Vec<String>,
}

/// A screen as the phone shows it.
struct Screen {
    end: bool,
    text: String,
}

async fn send(
    client: &reqwest::Client,
    options: &SimOptions,
    session: &str,
    text: &str,
) -> anyhow::Result<Screen> {
    let url = format!("{}/ussd/africastalking", options.url.trim_end_matches('/'));
    let response = client
        .post(&url)
        .form(&[
            ("sessionId", session),
            ("serviceCode", options.service_code.as_str()),
            ("phoneNumber", options.phone.as_e164()),
            ("networkCode", options.network_code.as_str()),
            ("text", text),
        ])
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body = response.text().await.context("cannot read the answer")?;
    if !status.is_success() {
        anyhow::bail!("the gateway answered {status}: {body}");
    }
    match (body.strip_prefix("CON "), body.strip_prefix("END ")) {
        (Some(text), _) => Ok(Screen {
            end: false,
            text: text.to_owned(),
        }),
        (_, Some(text)) => Ok(Screen {
            end: true,
            text: text.to_owned(),
        }),
        _ => anyhow::bail!("not a USSD answer (no CON/END): {body}"),
    }
}

fn show(screen: &Screen) {
    println!(
        "{}",
        if screen.end {
            "--- END ---"
        } else {
            "--- CON ---"
        }
    );
    println!("{}", screen.text);
}

/// Reads the next input: from the script, or from stdin (prompting on a terminal).
async fn next_input(
    script: &mut std::vec::IntoIter<String>,
    from_stdin: bool,
) -> anyhow::Result<Option<String>> {
    if !from_stdin {
        return Ok(script.next());
    }
    tokio::task::spawn_blocking(|| {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            print!("> ");
            std::io::stdout().flush().ok();
        }
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line)?;
        Ok(if read == 0 {
            None
        } else {
            Some(line.trim_end_matches(['\r', '\n']).to_owned())
        })
    })
    .await?
}

/// Dials, then sends each input until the gateway ends the session or the
/// inputs run out.
pub async fn run(options: SimOptions) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let session = format!("ATUid_{}", Uuid::new_v4().simple());
    let from_stdin = options.inputs.is_empty();
    let mut script = options.inputs.clone().into_iter();
    let mut typed: Vec<String> = Vec::new();
    let mut screen = send(&client, &options, &session, "").await?;
    show(&screen);
    while !screen.end {
        let Some(input) = next_input(&mut script, from_stdin).await? else {
            break;
        };
        if !from_stdin || !std::io::stdin().is_terminal() {
            println!("> {input}");
        }
        typed.push(input);
        screen = send(&client, &options, &session, &typed.join("*")).await?;
        show(&screen);
    }
    Ok(())
}
