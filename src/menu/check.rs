//! The checker behind `pesachama menus check`: references, reachability, dead
//! ends, option keys and messages. Screen lengths are checked in `budget`.

use std::collections::{BTreeSet, VecDeque};

use super::budget::{check_budget, variable_limits};
use super::layout::{ids, shows_nav};
use super::model::{MenuOption, Screen, ScreenKind, Screens, Settings};
use super::registry::Registry;
use super::report::{CheckReport, IssueKind};
use crate::i18n::{Lang, Locales};

/// Runs every check; `settings` comes with the file that declared it.
pub(super) fn check(
    settings: Option<&(Settings, String)>,
    screens: &Screens,
    locales: Option<&Locales>,
    registry: &Registry,
    report: &mut CheckReport,
) {
    if let Some((settings, file)) = settings {
        for (field, target) in [
            ("settings.start", &settings.start),
            ("settings.home", &settings.home),
        ] {
            if !screens.contains_key(target) {
                let kind = IssueKind::UnknownScreen {
                    field: field.into(),
                    target: target.clone(),
                };
                report.push(file.as_str(), None, kind);
            }
        }
        for screen in screens.values() {
            check_screen(settings, screen, screens, registry, report);
        }
        check_reachable(settings, screens, report);
    }
    if let Some(locales) = locales {
        let settings_file = settings.map_or("menus", |(_, file)| file.as_str());
        check_messages(settings_file, screens, locales, registry, report);
        if let Some((settings, file)) = settings {
            check_budget(settings, file, screens, locales, registry, report);
        }
    }
}

fn check_screen(
    settings: &Settings,
    screen: &Screen,
    screens: &Screens,
    registry: &Registry,
    report: &mut CheckReport,
) {
    let mut push = |kind| report.push(screen.file.as_str(), Some(&screen.id), kind);
    for (field, target) in screen.targets() {
        if !screens.contains_key(target) {
            push(IssueKind::UnknownScreen {
                field: field.into(),
                target: target.into(),
            });
        }
    }
    for (field, action) in screen.actions() {
        match registry.action_spec(action) {
            None => push(IssueKind::UnknownAction {
                field: field.into(),
                action: action.into(),
            }),
            Some(spec) if field == "items" && spec.item_max.is_none() => {
                push(IssueKind::NotAListAction {
                    action: action.into(),
                });
            }
            Some(_) => {}
        }
    }
    if let ScreenKind::Menu { options, .. } = &screen.kind {
        check_options(settings, options, registry, &mut push);
    }
    let dead_end = match &screen.kind {
        ScreenKind::Menu { options, .. } if options.is_empty() && !shows_nav(settings, screen) => {
            Some("a menu with no options and no back/home footer")
        }
        ScreenKind::Input { next: None, .. } | ScreenKind::Confirm { next: None, .. } => {
            Some("no `next` screen")
        }
        ScreenKind::List {
            action: Some(_),
            next: None,
            ..
        } => Some("items can be chosen but there is no `next`"),
        ScreenKind::Route { routes, .. } if routes.is_empty() => Some("a route with no `routes`"),
        _ => None,
    };
    if let Some(why) = dead_end {
        push(IssueKind::DeadEnd(why.into()));
    }
}

/// Duplicate keys, keys out of order, keys taken by navigation, unknown
/// conditions.
fn check_options(
    settings: &Settings,
    options: &[MenuOption],
    registry: &Registry,
    push: &mut dyn FnMut(IssueKind),
) {
    let mut seen = BTreeSet::new();
    let mut previous = "0";
    for option in options {
        if !seen.insert(option.key.as_str()) {
            push(IssueKind::DuplicateKey(option.key.clone()));
        } else if !is_fixed_key(&option.key, previous) {
            // Fixed keys (menus/README.md): one digit each, read in order,
            // so a hidden option leaves a visible gap, never a renumbering.
            push(IssueKind::KeyOutOfOrder {
                key: option.key.clone(),
                after: previous.to_owned(),
            });
        }
        previous = option.key.as_str();
        if let Some((nav, _)) = settings
            .keys
            .named()
            .into_iter()
            .find(|(_, key)| *key == option.key)
        {
            push(IssueKind::KeyIsNavigation {
                key: option.key.clone(),
                nav: nav.into(),
            });
        }
        if let Some(condition) = option
            .when
            .as_deref()
            .filter(|c| !registry.has_condition(c))
        {
            push(IssueKind::UnknownCondition(condition.into()));
        }
    }
}

/// Whether `key` is a digit 1 to 9 above `previous` (`"0"` for the first).
fn is_fixed_key(key: &str, previous: &str) -> bool {
    matches!(key.as_bytes(), [b'1'..=b'9']) && key > previous
}

fn check_reachable(settings: &Settings, screens: &Screens, report: &mut CheckReport) {
    // Home is reachable from every screen with a footer, so it is a root too.
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<&str> = [settings.start.as_str(), settings.home.as_str()].into();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(screen) = screens.get(id) {
            queue.extend(screen.targets().into_iter().map(|(_, target)| target));
        }
    }
    for screen in screens.values().filter(|s| !seen.contains(s.id.as_str())) {
        let kind = IssueKind::Unreachable {
            start: settings.start.clone(),
        };
        report.push(screen.file.as_str(), Some(&screen.id), kind);
    }
}

/// Message ids a screen shows itself (not counting action messages).
fn screen_messages(screen: &Screen) -> Vec<&str> {
    let mut out: Vec<&str> = screen.text.iter().map(String::as_str).collect();
    match &screen.kind {
        ScreenKind::Menu { options, .. } => out.extend(options.iter().map(|o| o.label.as_str())),
        ScreenKind::Input { error, .. } => out.push(error),
        ScreenKind::List {
            empty: Some(empty), ..
        } => out.push(empty),
        _ => {}
    }
    out
}

fn check_messages(
    settings_file: &str,
    screens: &Screens,
    locales: &Locales,
    registry: &Registry,
    report: &mut CheckReport,
) {
    let limits = variable_limits(screens, registry);
    // (message, where it is used): the engine's own, each screen's, and those
    // of the actions each screen runs.
    let mut used: Vec<(&str, &str, Option<&str>)> = ids::ALL
        .iter()
        .map(|id| (*id, settings_file, None))
        .collect();
    for screen in screens.values() {
        let at = (screen.file.as_str(), Some(screen.id.as_str()));
        used.extend(
            screen_messages(screen)
                .into_iter()
                .map(|id| (id, at.0, at.1)),
        );
        for (_, action) in screen.actions() {
            let messages = registry.action_spec(action).map(|spec| &spec.messages);
            used.extend(
                messages
                    .into_iter()
                    .flatten()
                    .map(|id| (id.as_str(), at.0, at.1)),
            );
        }
    }
    let mut missing_reported = BTreeSet::new();
    for (id, file, screen) in &used {
        for lang in Lang::ALL {
            let Some(vars) = locales.variables(lang, id) else {
                if missing_reported.insert((*id, lang, *screen)) {
                    report.push(
                        *file,
                        *screen,
                        IssueKind::MissingMessage {
                            id: (*id).into(),
                            lang,
                        },
                    );
                }
                continue;
            };
            for var in vars.into_iter().filter(|v| !limits.contains_key(v)) {
                report.push(
                    *file,
                    *screen,
                    IssueKind::UnknownVariable {
                        id: (*id).into(),
                        lang,
                        var,
                    },
                );
            }
        }
    }
    let used_ids: BTreeSet<&str> = used.iter().map(|(id, _, _)| *id).collect();
    for (lang, other) in [(Lang::En, Lang::Sw), (Lang::Sw, Lang::En)] {
        for id in locales.message_ids(lang) {
            let file = locales.file_of(lang, id).unwrap_or_default();
            if !locales.has_message(other, id) && !used_ids.contains(id) {
                report.push(
                    file,
                    None,
                    IssueKind::MissingMessage {
                        id: id.into(),
                        lang: other,
                    },
                );
            }
            if let Some(chars) = locales.foreign_chars(lang, id).filter(|c| !c.is_empty()) {
                let chars = chars
                    .into_iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                report.push(
                    file,
                    None,
                    IssueKind::NotGsm7 {
                        id: id.into(),
                        lang,
                        chars,
                    },
                );
            }
        }
    }
    for id in locales.message_ids(Lang::En) {
        let (Some(en), Some(sw)) = (
            locales.variables(Lang::En, id),
            locales.variables(Lang::Sw, id),
        ) else {
            continue;
        };
        if en != sw {
            let file = locales.file_of(Lang::Sw, id).unwrap_or_default();
            let list = |vars: BTreeSet<String>| {
                vars.into_iter()
                    .map(|v| format!("${v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            report.push(
                file,
                None,
                IssueKind::VariableMismatch {
                    id: id.into(),
                    en: list(en),
                    sw: list(sw),
                },
            );
        }
    }
}
