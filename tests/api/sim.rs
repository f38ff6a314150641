//! `pesachama ussd-sim`, the terminal phone, run as a process against the
//! real gateway: scripted from arguments and piped on stdin, in both
//! languages, and its refusals.

use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::helpers::{TestApp, spawn_app};
use crate::seed;

fn sim(app: Option<&TestApp>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesachama"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("ussd-sim");
    if let Some(app) = app {
        cmd.args(["--url", &format!("http://{}", app.addr)]);
    }
    cmd.args(args).kill_on_drop(true);
    cmd
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts that `needles` appear in `transcript` in this order.
fn assert_in_order(transcript: &str, needles: &[&str]) {
    let mut rest = transcript;
    for needle in needles {
        let Some(at) = rest.find(needle) else {
            panic!("`{needle}` missing (in order) from the transcript:\n{transcript}");
        };
        rest = &rest[at + needle.len()..];
    }
}

#[tokio::test]
async fn a_scripted_session_prints_every_screen_in_english() {
    let app = spawn_app().await;
    seed::grace(&app.state.db, "en").await;
    let out = sim(Some(&app), &["--phone", "0711 000 001", "1", "1234", "0"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_in_order(
        &stdout(&out),
        &[
            "--- CON ---",
            "1 Balance",
            "> 1",
            "--- CON ---",
            "PIN",
            "> 1234",
            "Savings KES 0",
            "> 0",
            "1 Balance",
        ],
    );
}

#[tokio::test]
async fn inputs_piped_on_stdin_drive_a_swahili_session() {
    let app = spawn_app().await;
    seed::grace(&app.state.db, "sw").await;
    let mut child = sim(Some(&app), &["--phone", "+254711000001"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"1\n1234\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_in_order(
        &stdout(&out),
        &["1 Salio", "> 1", "PIN", "> 1234", "Akiba KES 0"],
    );
}

#[tokio::test]
async fn the_simulator_refuses_a_bad_phone_and_an_unreachable_gateway() {
    let bad_phone = sim(None, &["--phone", "0202 222 222", "1"])
        .output()
        .await
        .unwrap();
    assert!(!bad_phone.status.success());
    assert!(
        String::from_utf8_lossy(&bad_phone.stderr).contains("invalid phone"),
        "{bad_phone:?}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable = sim(
        None,
        &[
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--phone",
            "0711000001",
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(!unreachable.status.success());
    assert!(
        String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach"),
        "{unreachable:?}"
    );
}
