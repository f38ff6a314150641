//! `pesachama dev` run as a newcomer runs it: the lines it prints, its log
//! without colour codes when stdout is not a terminal, and the demo member the
//! README's scripted Swahili example dials.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::{TestDb, servers, spawn_app};
use crate::seed;

#[tokio::test]
async fn dev_prints_the_ussd_sim_lines_and_logs_without_colour_into_a_pipe() {
    let db = TestDb::new().await;
    let prefix = format!("t{}:", uuid::Uuid::new_v4().simple());
    let manifest = env!("CARGO_MANIFEST_DIR");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pesachama"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs([
            ("DATABASE_URL", db.url.as_str()),
            ("DATABASE_OWNER_URL", db.owner_url.as_str()),
            ("REDIS_URL", servers().redis.as_str()),
            ("PESACHAMA_REDIS_PREFIX", prefix.as_str()),
            ("PESACHAMA_HTTP_ADDR", "127.0.0.1:0"),
            ("PESACHAMA_ADMIN_ADDR", "127.0.0.1:0"),
            ("PESACHAMA_MENUS_DIR", &format!("{manifest}/menus")),
            ("PESACHAMA_LOCALES_DIR", &format!("{manifest}/locales")),
        ])
        // Nothing of the working folder is needed with both URLs set.
        .current_dir(std::env::temp_dir())
        .arg("dev")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let started = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("Stop with Ctrl-C") {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(started, Ok(true)), "dev did not start:\n{printed}");

    // SAFETY: kill(2) on our own child's pid, which has not been reaped.
    let pid = child.id().unwrap() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("dev stops on Ctrl-C")
        .unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        printed.push_str(&line);
        printed.push('\n');
    }
    let mut errors = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut errors)
        .await
        .unwrap();
    assert!(status.success(), "{printed}{errors}");

    assert!(printed.contains("gateway listening"), "{printed}");
    assert!(
        !printed.contains('\x1b'),
        "colour codes in a pipe:\n{printed:?}"
    );
    assert!(
        !errors.contains('\x1b'),
        "colour codes in a pipe:\n{errors:?}"
    );
    for expected in [
        "cargo run -- ussd-sim --phone 0711000005 --url http://127.0.0.1:",
        " 1 2468\n",
        "cargo run -- ussd-sim --phone 0711000004 --url http://127.0.0.1:",
        "cargo run -- member list --chama UMOJA",
        "SMS go to a fake Africa's Talking",
        "/fake/sms\n",
    ] {
        assert!(
            printed.contains(expected),
            "`{expected}` missing:\n{printed}"
        );
    }
    // Its own DATABASE_URL: nothing published, no URL (and password) printed.
    assert!(!printed.contains(&db.url), "{printed}");
}

/// The README's scripted `ussd-sim` example, as arguments.
fn readme_scripted_example() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let line = readme
        .lines()
        .find(|line| line.contains("ussd-sim") && line.contains("# scripted"))
        .expect("the README has a scripted ussd-sim example");
    let command = line.split('#').next().unwrap().trim();
    command
        .strip_prefix("cargo run -- ussd-sim ")
        .expect("the example runs ussd-sim through cargo run")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_readme_swahili_example_reaches_the_balance_on_every_run() {
    let app = spawn_app().await;
    pesachama::dev::seed_demo(&app.state.db).await.unwrap();
    let secret = secrecy::SecretString::from(seed::PIN_SECRET.to_owned());
    pesachama::dev::seed_demo_pin(&app.state.db, &secret)
        .await
        .unwrap();
    let example = readme_scripted_example();

    for run in 1..=2 {
        let out = Command::new(env!("CARGO_BIN_EXE_pesachama"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(["ussd-sim", "--url", &format!("http://{}", app.addr)])
            .args(&example)
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "run {run}: {out:?}");
        let transcript = String::from_utf8_lossy(&out.stdout);
        let mut rest = transcript.as_ref();
        for needle in ["1 Salio", "> 1", "PIN", "> 2468", "Akiba KES 3,000"] {
            let at = rest
                .find(needle)
                .unwrap_or_else(|| panic!("run {run}: `{needle}` missing:\n{transcript}"));
            rest = &rest[at + needle.len()..];
        }
    }
}
