//! The checker: the real menus pass; each fixture's mistake is named with its
//! file and screen.

use super::{Overlay, real_catalog};
use crate::i18n::Lang;
use crate::menu::{ActionSpec, CheckReport, IssueKind, Registry, load_catalog};

/// What the fixture menus may use.
fn fixture_registry() -> Registry {
    Registry::new()
        .action("route_home", ActionSpec::new())
        .action("load_things", ActionSpec::new().items(20))
        .action("load_name", ActionSpec::new().output("name", 10))
        .action("load_long_name", ActionSpec::new().output("name", 150))
        .action("check_code", ActionSpec::new().message("code-wrong"))
        .condition("is_admin")
}

fn check_fixture(name: &str) -> CheckReport {
    let overlay = Overlay::new(name);
    match load_catalog(&overlay.menus(), &overlay.locales(), &fixture_registry()) {
        Ok(_) => panic!("fixture {name} passed the check"),
        Err(report) => report,
    }
}

/// Asserts that the report has an issue in a file ending with `file`, on
/// `screen`, matching `kind`; returns its line for further checks.
fn assert_issue(
    report: &CheckReport,
    file: &str,
    screen: Option<&str>,
    kind: impl Fn(&IssueKind) -> bool,
) -> String {
    let found = report
        .issues
        .iter()
        .find(|i| i.file.ends_with(file) && i.screen.as_deref() == screen && kind(&i.kind));
    match found {
        Some(issue) => {
            let line = issue.to_string();
            assert!(
                report.to_string().lines().any(|l| l == line),
                "report line missing:\n{report}"
            );
            line
        }
        None => panic!("no such issue in {file} / {screen:?}; report:\n{report}"),
    }
}

#[test]
fn the_real_menus_pass_the_check() {
    let catalog = real_catalog();
    assert!(catalog.screen("main").is_some());
    assert_ne!(catalog.generation(), 0);
}

#[test]
fn the_base_fixture_passes_the_check() {
    let overlay = Overlay::new("menus-base");
    if let Err(report) = load_catalog(&overlay.menus(), &overlay.locales(), &fixture_registry()) {
        panic!("{report}");
    }
}

#[test]
fn toml_syntax_errors_name_file_and_line() {
    let report = check_fixture("menus-syntax");
    let line = assert_issue(&report, "broken.toml", None, |k| {
        matches!(k, IssueKind::Syntax { line: 3, .. })
    });
    assert!(line.contains("broken.toml: line 3:"), "{line}");
}

#[test]
fn fields_a_screen_does_not_have_are_refused() {
    let report = check_fixture("menus-shape");
    assert_issue(
        &report,
        "shape.toml",
        None,
        |k| matches!(k, IssueKind::Syntax { message, .. } if message.contains("colour")),
    );
}

#[test]
fn references_to_unknown_screens_are_reported() {
    let report = check_fixture("menus-unknown-screen");
    assert_issue(
        &report,
        "extra.toml",
        Some("lost"),
        |k| matches!(k, IssueKind::UnknownScreen { target, .. } if target == "nowhere"),
    );
}

#[test]
fn unknown_actions_validators_and_conditions_are_reported() {
    let report = check_fixture("menus-unknown-action");
    assert_issue(&report, "extra.toml", Some("mystery"), |k| {
        matches!(k, IssueKind::UnknownAction { .. })
    });
    let report = check_fixture("menus-unknown-validator");
    assert_issue(
        &report,
        "extra.toml",
        Some("colour"),
        |k| matches!(k, IssueKind::UnknownValidator(v) if v == "colour"),
    );
    let report = check_fixture("menus-unknown-condition");
    assert_issue(
        &report,
        "extra.toml",
        Some("wizards"),
        |k| matches!(k, IssueKind::UnknownCondition(c) if c == "is_wizard"),
    );
}

#[test]
fn unreachable_screens_and_dead_ends_are_reported() {
    let report = check_fixture("menus-unreachable");
    assert_issue(&report, "extra.toml", Some("island"), |k| {
        matches!(k, IssueKind::Unreachable { .. })
    });
    let report = check_fixture("menus-dead-end");
    assert_issue(&report, "extra.toml", Some("stuck_route"), |k| {
        matches!(k, IssueKind::DeadEnd(_))
    });
    assert_issue(&report, "extra.toml", Some("stuck_menu"), |k| {
        matches!(k, IssueKind::DeadEnd(_))
    });
}

#[test]
fn duplicate_screens_and_option_keys_are_reported() {
    let report = check_fixture("menus-duplicate-screen");
    // Files load in name order, so extra.toml declares `home` first.
    assert_issue(
        &report,
        "screens.toml",
        Some("home"),
        |k| matches!(k, IssueKind::DuplicateScreen { first } if first.ends_with("extra.toml")),
    );
    let report = check_fixture("menus-duplicate-key");
    assert_issue(
        &report,
        "extra.toml",
        Some("keys"),
        |k| matches!(k, IssueKind::DuplicateKey(key) if key == "1"),
    );
    assert_issue(
        &report,
        "extra.toml",
        Some("keys"),
        |k| matches!(k, IssueKind::KeyIsNavigation { key, nav } if key == "00" && nav == "home"),
    );
}

#[test]
fn option_keys_out_of_order_or_longer_than_a_digit_are_reported() {
    let report = check_fixture("menus-key-order");
    for (bad, before) in [("2", "3"), ("10", "2")] {
        assert_issue(
            &report,
            "extra.toml",
            Some("keys"),
            |k| matches!(k, IssueKind::KeyOutOfOrder { key, after } if key == bad && after == before),
        );
    }
    assert!(
        !report.to_string().contains("`3` must be"),
        "a gap is allowed:\n{report}"
    );
}

#[test]
fn sensitive_inputs_cannot_be_stored() {
    let report = check_fixture("menus-sensitive-stored");
    assert_issue(&report, "extra.toml", Some("keep_pin"), |k| {
        matches!(k, IssueKind::SensitiveStored)
    });
}

#[test]
fn messages_missing_in_a_language_are_reported_where_used_or_defined() {
    let report = check_fixture("menus-missing-message");
    assert_issue(
        &report,
        "extra.toml",
        Some("silent"),
        |k| matches!(k, IssueKind::MissingMessage { id, lang: Lang::Sw } if id == "no-such-message"),
    );
    assert_issue(
        &report,
        "en/extra.ftl",
        None,
        |k| matches!(k, IssueKind::MissingMessage { id, lang: Lang::Sw } if id == "only-en"),
    );
}

#[test]
fn messages_with_different_variables_per_language_are_reported() {
    let report = check_fixture("menus-variable-mismatch");
    let line = assert_issue(&report, "sw/extra.ftl", None, |k| {
        matches!(k, IssueKind::VariableMismatch { .. })
    });
    assert!(line.contains("[$name] in en but [$jina] in sw"), "{line}");
}

#[test]
fn characters_outside_gsm7_are_reported() {
    let report = check_fixture("menus-not-gsm7");
    assert_issue(
        &report,
        "sw/extra.ftl",
        None,
        |k| matches!(k, IssueKind::NotGsm7 { id, lang: Lang::Sw, .. } if id == "fancy"),
    );
}

#[test]
fn screens_that_can_exceed_the_budget_are_reported_per_language() {
    let report = check_fixture("menus-over-budget");
    for lang in Lang::ALL {
        assert_issue(
            &report,
            "extra.toml",
            Some("greeting"),
            |k| matches!(k, IssueKind::OverBudget { lang: l, len, .. } if *l == lang && *len > 182),
        );
    }
}

#[test]
fn fluent_syntax_errors_name_file_and_line() {
    let report = check_fixture("menus-locale-syntax");
    assert_issue(&report, "en/extra.ftl", None, |k| {
        matches!(k, IssueKind::Syntax { line: 2, .. })
    });
}
