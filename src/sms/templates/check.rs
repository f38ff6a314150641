//! The checks of `pesachama sms check`, over the `sms.ftl` files of every
//! language: declarations, variables, characters and the segment budget at
//! the worst-case variable lengths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fluent_syntax::ast::Entry;

use super::declaration::{self, Declaration};
use super::report::{CheckReport, IssueKind};
use crate::i18n::{Lang, Locales, is_gsm7};
use crate::sms::segments;

/// The file name that holds SMS templates in each language folder.
pub const TEMPLATE_FILE: &str = "sms.ftl";

/// A template of one language: where it is and what its comment declares.
struct Found {
    file: String,
    declared: Result<Declaration, declaration::DeclarationError>,
}

/// The declarations of every template that passed, by language and id.
pub type Declared = BTreeMap<(Lang, String), Declaration>;

/// Checks every template of `locales`; the declarations come back only when
/// the report is empty.
pub fn check(locales: &Locales) -> Result<Declared, CheckReport> {
    let mut report = CheckReport::default();
    let found: BTreeMap<Lang, BTreeMap<String, Found>> = Lang::ALL
        .into_iter()
        .map(|lang| (lang, templates_of(locales, lang)))
        .collect();
    let mut declared = Declared::new();
    for (&lang, templates) in &found {
        for (id, template) in templates {
            let file = template.file.as_str();
            for other in Lang::ALL.into_iter().filter(|o| *o != lang) {
                if !found[&other].contains_key(id) {
                    report.push(file, Some(id), None, IssueKind::MissingIn(other));
                }
            }
            match &template.declared {
                Ok(decl) => {
                    check_one(locales, lang, id, file, decl, &mut report);
                    declared.insert((lang, id.clone()), decl.clone());
                }
                Err(error) => report.push(
                    file,
                    Some(id),
                    Some(lang),
                    IssueKind::Declaration(error.clone()),
                ),
            }
        }
    }
    check_languages_agree(locales, &found, &mut report);
    if report.is_empty() {
        Ok(declared)
    } else {
        Err(report)
    }
}

/// Every message of the `sms.ftl` file of `lang`, with its declaration.
fn templates_of(locales: &Locales, lang: Lang) -> BTreeMap<String, Found> {
    let mut found = BTreeMap::new();
    let sms_files = locales.sources(lang).filter(|(file, _)| {
        Path::new(file)
            .file_name()
            .is_some_and(|n| n == TEMPLATE_FILE)
    });
    for (file, source) in sms_files {
        // Syntax errors were reported by `Locales::load`; what parsed is used.
        let resource = fluent_syntax::parser::parse(source).unwrap_or_else(|(res, _)| res);
        for entry in resource.body {
            if let Entry::Message(message) = entry {
                let last = message
                    .comment
                    .as_ref()
                    .and_then(|c| c.content.last().copied());
                found.insert(
                    message.id.name.to_owned(),
                    Found {
                        file: file.to_owned(),
                        declared: declaration::parse(last),
                    },
                );
            }
        }
    }
    found
}

/// The checks of one template in one language.
fn check_one(
    locales: &Locales,
    lang: Lang,
    id: &str,
    file: &str,
    decl: &Declaration,
    report: &mut CheckReport,
) {
    let mut push = |kind| report.push(file, Some(id), Some(lang), kind);
    let used = locales.variables(lang, id).unwrap_or_default();
    for var in &used {
        if !decl.vars.contains_key(var) {
            push(IssueKind::Undeclared(var.clone()));
        }
    }
    for var in decl.vars.keys().filter(|v| !used.contains(*v)) {
        push(IssueKind::Unused(var.clone()));
    }
    // Extension characters (`€`, `[`) are GSM-7 too: they cost two septets,
    // which the worst-case length counts.
    let foreign: String = locales
        .foreign_chars(lang, id)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !is_gsm7(c.encode_utf8(&mut [0; 4])))
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(" ");
    if !foreign.is_empty() {
        push(IssueKind::NotGsm7(foreign));
        // A UCS-2 text's budget means nothing until it is GSM-7.
        return;
    }
    // The longest rendering over every select variant, each variable at its
    // declared length (an undeclared one, reported above, at 0). Its parts
    // are those of any GSM-7 text of as many septets.
    let septets = locales
        .max_len(lang, id, &|var| decl.vars.get(var).copied().unwrap_or(0))
        .unwrap_or(0);
    let parts = segments::count(&"x".repeat(septets)).parts;
    if parts > decl.segments {
        push(IssueKind::OverBudget {
            septets,
            parts,
            max: decl.segments,
        });
    }
}

/// Both languages read the same variables and declare the same kind.
fn check_languages_agree(
    locales: &Locales,
    found: &BTreeMap<Lang, BTreeMap<String, Found>>,
    report: &mut CheckReport,
) {
    let list = |vars: BTreeSet<String>| {
        vars.into_iter()
            .map(|v| format!("${v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (id, sw) in &found[&Lang::Sw] {
        if !found[&Lang::En].contains_key(id) {
            continue;
        }
        let file = sw.file.as_str();
        let en_vars = locales.variables(Lang::En, id).unwrap_or_default();
        let sw_vars = locales.variables(Lang::Sw, id).unwrap_or_default();
        if en_vars != sw_vars {
            let kind = IssueKind::VariableMismatch {
                en: list(en_vars),
                sw: list(sw_vars),
            };
            report.push(file, Some(id), None, kind);
        }
        if let (Ok(en), Ok(sw)) = (&found[&Lang::En][id].declared, &sw.declared)
            && en.kind != sw.kind
        {
            let kind = IssueKind::KindMismatch {
                en: en.kind.to_string(),
                sw: sw.kind.to_string(),
            };
            report.push(file, Some(id), None, kind);
        }
    }
}
