use std::path::{Path, PathBuf};

use super::*;

fn shipped() -> Templates {
    Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")).unwrap()
}

/// A fresh locales folder holding these two `sms.ftl` texts.
fn folder(en: &str, sw: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pesachama-sms-{}", uuid::Uuid::new_v4()));
    for (lang, text) in [("en", en), ("sw", sw)] {
        std::fs::create_dir_all(dir.join(lang)).unwrap();
        std::fs::write(dir.join(lang).join(TEMPLATE_FILE), text).unwrap();
    }
    dir
}

/// The report of a folder that must fail, as text.
fn refused(en: &str, sw: &str) -> String {
    let dir = folder(en, sw);
    let report = Templates::load(&dir).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    report.to_string()
}

const GOOD_EN: &str = "# @kind receipt @segments 1 @var amount=15\nsms-x = Paid { $amount }.\n";
const GOOD_SW: &str = "# @kind receipt @segments 1 @var amount=15\nsms-x = Umelipa { $amount }.\n";

fn vars(pairs: &[(&str, &str)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_shipped_templates_pass_in_both_languages() {
    let templates = shipped();
    let ids: Vec<_> = templates.ids().collect();
    for id in [
        "sms-pin-lock",
        "sms-receipt",
        "sms-payment-failed",
        "sms-approval-needed",
        "sms-approval-decided",
        "sms-payout-sent",
        "sms-loan-due",
        "sms-reminder-contribution",
        "sms-reminder-meeting",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
        for lang in Lang::ALL {
            assert!(templates.declaration(lang, id).is_some(), "{lang} {id}");
        }
    }
}

#[test]
fn a_good_folder_loads_and_renders_with_the_declared_kind() {
    let dir = folder(GOOD_EN, GOOD_SW);
    let templates = Templates::load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let rendered = templates
        .render(Lang::Sw, "sms-x", &vars(&[("amount", "KES 1,000")]))
        .unwrap();
    assert_eq!(rendered.text, "Umelipa KES 1,000.");
    assert_eq!((rendered.kind, rendered.segments), (SmsKind::Receipt, 1));
}

#[test]
fn render_cuts_long_values_and_makes_them_gsm7() {
    let templates = shipped();
    let long = "Umoja \u{201c}Wanawake\u{201d} wa Kibera na Mathare Self Help Group";
    let rendered = templates
        .render(
            Lang::En,
            "sms-receipt",
            &vars(&[
                ("chama", long),
                ("amount", "KES 100,000,000,000"),
                ("receipt", "SGL7ABC123XYZ"),
                ("balance", "KES 1,000"),
            ]),
        )
        .unwrap();
    assert!(
        rendered.text.contains("Umoja \"Wanawake\" wa Kibera n.."),
        "{}",
        rendered.text
    );
    assert!(crate::i18n::is_gsm7(&rendered.text));
    assert_eq!(rendered.segments, 1, "{}", rendered.text);
    assert_eq!(rendered.kind, SmsKind::Receipt);
}

#[test]
fn render_refuses_unknown_templates_and_wrong_variables() {
    let templates = shipped();
    let amount = vars(&[("amount", "KES 1")]);
    assert_eq!(
        templates.render(Lang::En, "sms-nope", &amount),
        Err(RenderError::UnknownTemplate("sms-nope".into()))
    );
    assert!(matches!(
        templates.render(Lang::En, "sms-payout-sent", &amount),
        Err(RenderError::MissingVariable { .. })
    ));
    assert!(matches!(
        templates.render(Lang::En, "sms-pin-set", &amount),
        Err(RenderError::UnexpectedVariable { .. })
    ));
}

#[test]
fn a_template_over_its_segments_is_refused() {
    let en =
        "# @kind notice @segments 1 @var name=150\nsms-x = Hello { $name }, this is long enough.\n";
    let sw = "# @kind notice @segments 1 @var name=150\nsms-x = Habari { $name }.\n";
    let report = refused(en, sw);
    assert!(
        report.contains("en/sms.ftl: template `sms-x` (en): worst case is 178 characters, 2 segments, over the declared 1"),
        "{report}"
    );
    assert!(!report.contains("(sw)"), "{report}");
    // The longest select variant counts.
    let en =
        "# @kind notice @segments 1 @var d=1\nsms-x = { $d ->\n    [a] short\n   *[b] {\"\"}\n}\n";
    let long = format!(
        "# @kind notice @segments 1 @var d=1\nsms-x = {{ $d ->\n    [a] {}\n   *[b] b\n}}\n",
        "y".repeat(161)
    );
    assert!(
        refused(en, &long)
            .contains("(sw): worst case is 161 characters, 2 segments, over the declared 1")
    );
}

#[test]
fn a_character_outside_gsm7_is_named() {
    let sw = "# @kind receipt @segments 1 @var amount=15\nsms-x = Umelipa { $amount } \u{2713} \u{2019}.\n";
    let report = refused(GOOD_EN, sw);
    assert!(
        report.contains("(sw): characters outside GSM-7: '\u{2019}' '\u{2713}'"),
        "{report}"
    );
    // Extension characters are GSM-7: they only cost two septets.
    let en =
        "# @kind receipt @segments 1 @var amount=15\nsms-x = Paid { $amount } [EUR \u{20ac}].\n";
    assert!(Templates::load(&folder(en, GOOD_SW)).is_ok());
}

#[test]
fn a_missing_or_bad_declaration_is_refused() {
    let bare = "sms-x = Paid { $amount }.\n";
    let report = refused(bare, GOOD_SW);
    assert!(
        report.contains("template `sms-x` (en): no `# @kind"),
        "{report}"
    );
    let prose = "# A receipt.\nsms-x = Paid { $amount }.\n";
    assert!(refused(prose, GOOD_SW).contains("(en): no `# @kind"));
    let bad = "# @kind receipt @segments many @var amount=15\nsms-x = Paid { $amount }.\n";
    assert!(refused(bad, GOOD_SW).contains("(en): malformed declaration: @segments `many`"));
}

#[test]
fn an_unknown_kind_is_refused() {
    let en = "# @kind marketing @segments 1 @var amount=15\nsms-x = Paid { $amount }.\n";
    let report = refused(en, GOOD_SW);
    assert!(
        report.contains("(en): unknown kind `marketing`"),
        "{report}"
    );
}

#[test]
fn languages_that_disagree_are_refused() {
    let sw = "# @kind receipt @segments 1 @var amount=15 @var chama=30\nsms-x = { $chama }: umelipa { $amount }.\n";
    let report = refused(GOOD_EN, sw);
    assert!(
        report.contains("template `sms-x`: variables [$amount] in en but [$amount, $chama] in sw"),
        "{report}"
    );
    let sw = "# @kind alert @segments 1 @var amount=15\nsms-x = Umelipa { $amount }.\n";
    assert!(refused(GOOD_EN, sw).contains("kind receipt in en but alert in sw"));
    let en = format!("{GOOD_EN}# @kind receipt @segments 1\nsms-only-en = Hi.\n");
    assert!(refused(&en, GOOD_SW).contains("template `sms-only-en`: missing in sw"));
}

#[test]
fn undeclared_and_unused_variables_are_refused() {
    let en =
        "# @kind receipt @segments 1 @var amount=15\nsms-x = Paid { $amount } to { $chama }.\n";
    let sw = "# @kind receipt @segments 1 @var amount=15 @var chama=30\nsms-x = Umelipa { $amount } kwa { $chama }.\n";
    let report = refused(en, sw);
    assert!(
        report.contains("(en): `$chama` is used but not declared"),
        "{report}"
    );
    let sw =
        "# @kind receipt @segments 1 @var amount=15 @var chama=30\nsms-x = Umelipa { $amount }.\n";
    assert!(refused(GOOD_EN, sw).contains("(sw): `$chama` is declared but not used"));
}

#[test]
fn a_syntax_error_is_reported_with_its_file() {
    let report = refused("sms-x = { $amount\n", GOOD_SW);
    assert!(report.contains("en/sms.ftl:1:"), "{report}");
}

#[test]
fn every_shipped_template_renders_within_its_budget_at_and_beyond_the_declared_lengths() {
    let templates = shipped();
    for lang in Lang::ALL {
        for id in templates.ids() {
            let declared = templates.declaration(lang, id).unwrap();
            for extra in [0, 50] {
                let vars: Vars = declared
                    .vars
                    .iter()
                    .map(|(var, max)| (var.clone(), "W".repeat(max + extra)))
                    .collect();
                let rendered = templates.render(lang, id, &vars).unwrap();
                assert!(crate::i18n::is_gsm7(&rendered.text), "{lang} {id}");
                assert!(
                    rendered.segments <= declared.segments,
                    "{lang} {id}: {}",
                    rendered.text
                );
                assert_eq!(rendered.kind, declared.kind);
            }
        }
    }
}

#[test]
fn a_missing_folder_or_language_is_reported_not_panicked_on() {
    let nowhere = std::env::temp_dir().join(format!("pesachama-none-{}", uuid::Uuid::new_v4()));
    let report = Templates::load(&nowhere).unwrap_err().to_string();
    assert!(report.contains("cannot read"), "{report}");
    let dir = folder(GOOD_EN, GOOD_SW);
    std::fs::remove_dir_all(dir.join("sw")).unwrap();
    let report = Templates::load(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(report.contains("sw: cannot read"), "{report}");
}

#[test]
fn a_template_defined_twice_is_refused() {
    let twice = format!("{GOOD_EN}{GOOD_EN}");
    let report = refused(&twice, GOOD_SW);
    assert!(
        report.contains("en/sms.ftl: template `sms-x`: defined twice"),
        "{report}"
    );
}
