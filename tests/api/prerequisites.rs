//! What `cargo test` needs installed, checked the way the README's quick start
//! states it: the Debian packages its `apt-get install` line names.
//!
//! Programs the tests run themselves are looked up on `PATH` here, so a machine
//! missing one fails with the package to install rather than a spawn error.
//! The PostgreSQL and Redis servers are only needed when `DATABASE_URL` /
//! `REDIS_URL` are unset; the private-server code then names the package
//! itself (`devstack::DevstackError`), so this check leaves their lookup to it.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A Debian package the tests or `dev` need, and why.
struct Prerequisite {
    package: &'static str,
    /// A program of the package the tests run directly, and the variable
    /// whose presence makes it unnecessary (`None`: always needed).
    program: Option<(&'static str, Option<&'static str>)>,
}

const PREREQUISITES: &[Prerequisite] = &[
    // initdb and pg_ctl, found under /usr/lib/postgresql/*/bin by devstack.
    Prerequisite {
        package: "postgresql",
        program: None,
    },
    Prerequisite {
        package: "redis-server",
        program: Some(("redis-server", Some("REDIS_URL"))),
    },
    // promtool checks the /metrics text (health::metrics_pass_promtool_check).
    Prerequisite {
        package: "prometheus",
        program: Some(("promtool", None)),
    },
];

/// The packages of the README quick start's `apt-get install` line.
fn readme_packages() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let quick_start = readme
        .split("## Quick start")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README has a Quick start section");
    let line = quick_start
        .split("apt-get install ")
        .nth(1)
        .expect("the quick start names its Debian packages with `apt-get install`");
    line.split('`')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// `program` on `PATH`, if it is there and executable.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| {
            std::fs::metadata(path)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// The path of `program`, or a panic naming the Debian package to install.
pub fn require(program: &str) -> PathBuf {
    let package = PREREQUISITES
        .iter()
        .find(|p| p.program.is_some_and(|(name, _)| name == program))
        .map_or("(unknown: add it to tests/api/prerequisites.rs)", |p| {
            p.package
        });
    on_path(program).unwrap_or_else(|| {
        panic!(
            "`{program}` is not on PATH: install the Debian package `{package}` \
             (apt-get install {package}), as the README's quick start says"
        )
    })
}

/// Feeds a `/metrics` exposition to `promtool check metrics` and fails with
/// its complaints and the text when it refuses.
pub fn assert_promtool_accepts(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(require("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_readme_quick_start_names_every_package_the_tests_need() {
    let named = readme_packages();
    for prerequisite in PREREQUISITES {
        assert!(
            named.iter().any(|p| p == prerequisite.package),
            "the README's apt-get line {named:?} lacks `{}`",
            prerequisite.package
        );
    }
}

#[test]
fn the_programs_the_readme_packages_provide_are_installed() {
    let missing: Vec<String> = PREREQUISITES
        .iter()
        .filter_map(|p| {
            let (program, unless) = p.program?;
            let needed = unless.is_none_or(|var| std::env::var_os(var).is_none());
            (needed && on_path(program).is_none()).then(|| format!("{program} ({})", p.package))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "not on PATH: {}; install the Debian packages named (apt-get install ...), \
         as the README's quick start says",
        missing.join(", ")
    );
}
