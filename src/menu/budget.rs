//! Worst-case screen lengths: every screen laid out by the renderer's own code
//! with each variable at its declared maximum, every conditional option shown,
//! the longest possible error line and the footer, in every language.

use std::collections::BTreeMap;

use super::layout::{MAX_LIST_ITEMS, Words, confirm_lines, frame, ids, numbered};
use super::model::{Screen, ScreenKind, Screens, Settings};
use super::registry::Registry;
use super::report::{CheckReport, IssueKind};
use crate::i18n::{Lang, Locales};

/// Placeholder words as long as each message can get.
struct WorstCase<'a> {
    locales: &'a Locales,
    lang: Lang,
    limits: &'a BTreeMap<String, usize>,
}

impl Words for WorstCase<'_> {
    fn word(&self, id: &str) -> String {
        // Unknown variables count as empty here; the message check reports them.
        let var_len = |name: &str| self.limits.get(name).copied().unwrap_or(0);
        let len = self
            .locales
            .max_len(self.lang, id, &var_len)
            .unwrap_or(id.len());
        "x".repeat(len)
    }
}

pub(super) fn check_budget(
    settings: &Settings,
    settings_file: &str,
    screens: &Screens,
    locales: &Locales,
    registry: &Registry,
    report: &mut CheckReport,
) {
    let limits = variable_limits(screens, registry);
    let budget = settings.budget;
    let action_messages = |action: &Option<String>| -> Vec<&str> {
        let spec = action.as_deref().and_then(|a| registry.action_spec(a));
        spec.into_iter()
            .flat_map(|s| s.messages.iter().map(String::as_str))
            .collect()
    };
    // Errors other screens send here with `on_invalid`.
    let mut incoming: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for screen in screens.values() {
        if let ScreenKind::Input {
            on_invalid: Some(target),
            action,
            ..
        } = &screen.kind
        {
            incoming
                .entry(target.as_str())
                .or_default()
                .extend(action_messages(action));
        }
    }
    for lang in Lang::ALL {
        let words = WorstCase {
            locales,
            lang,
            limits: &limits,
        };
        for screen in screens.values() {
            let mut errors = incoming
                .get(screen.id.as_str())
                .cloned()
                .unwrap_or_default();
            let (lines, paging) = match &screen.kind {
                ScreenKind::Route { .. } => continue,
                ScreenKind::Menu { options, action } => {
                    if !options.is_empty() {
                        errors.push(ids::ERROR_CHOICE);
                        errors.extend(action_messages(action));
                    }
                    let lines = options
                        .iter()
                        .map(|o| numbered(&o.key, &words.word(&o.label)))
                        .collect();
                    (lines, (false, false))
                }
                ScreenKind::Input { error, action, .. } => {
                    errors.push(error);
                    errors.extend(action_messages(action));
                    (Vec::new(), (false, false))
                }
                ScreenKind::Confirm { action, .. } => {
                    errors.push(ids::ERROR_CHOICE);
                    errors.extend(action_messages(action));
                    (confirm_lines(settings, &words), (false, false))
                }
                ScreenKind::List {
                    items,
                    action,
                    next,
                    empty,
                } => {
                    errors.push(ids::ERROR_CHOICE);
                    errors.extend(action_messages(action));
                    let item_max = registry
                        .action_spec(items)
                        .and_then(|s| s.item_max)
                        .unwrap_or(0);
                    let item = "x".repeat(item_max);
                    let item = if action.is_some() || next.is_some() {
                        numbered(&MAX_LIST_ITEMS.to_string(), &item)
                    } else {
                        item
                    };
                    let empty = words.word(empty.as_deref().unwrap_or(ids::LIST_EMPTY));
                    (vec![longer(item, empty)], (true, true))
                }
                ScreenKind::End => (Vec::new(), (false, false)),
            };
            let error = errors.into_iter().max_by_key(|id| words.word(id).len());
            let len = frame(settings, screen, &words, error, lines, paging).len();
            if len > budget {
                let kind = IssueKind::OverBudget {
                    lang,
                    what: "screen".into(),
                    len,
                    budget,
                };
                report.push(screen.file.as_str(), Some(&screen.id), kind);
            }
        }
        check_final_messages(
            settings_file,
            screens,
            &words,
            registry,
            budget,
            report,
            lang,
        );
    }
}

/// Messages shown alone on a final screen: the engine's and the actions'.
fn check_final_messages(
    settings_file: &str,
    screens: &Screens,
    words: &WorstCase<'_>,
    registry: &Registry,
    budget: usize,
    report: &mut CheckReport,
    lang: Lang,
) {
    let mut finals: Vec<(&str, Option<&Screen>)> = [ids::ERROR_RETRIES, ids::ERROR_UNAVAILABLE]
        .into_iter()
        .map(|id| (id, None))
        .collect();
    for screen in screens.values() {
        for (_, action) in screen.actions() {
            let messages = registry.action_spec(action).map(|spec| &spec.messages);
            finals.extend(
                messages
                    .into_iter()
                    .flatten()
                    .map(|id| (id.as_str(), Some(screen))),
            );
        }
    }
    finals.sort_by_key(|(id, _)| *id);
    finals.dedup_by_key(|(id, _)| *id);
    for (id, screen) in finals {
        let len = words.word(id).len();
        if len > budget {
            let what = format!("message `{id}`");
            let file = screen.map_or(settings_file, |s| s.file.as_str());
            report.push(
                file,
                screen.map(|s| s.id.as_str()),
                IssueKind::OverBudget {
                    lang,
                    what,
                    len,
                    budget,
                },
            );
        }
    }
}

/// Longest value of every variable a message can read: action outputs and
/// stored inputs.
pub(super) fn variable_limits(screens: &Screens, registry: &Registry) -> BTreeMap<String, usize> {
    let mut limits: BTreeMap<String, usize> = BTreeMap::new();
    let mut raise = |name: &str, len: usize| {
        let entry = limits.entry(name.to_owned()).or_default();
        *entry = (*entry).max(len);
    };
    for (_, spec) in registry.actions() {
        for (name, len) in &spec.outputs {
            raise(name, *len);
        }
    }
    for screen in screens.values() {
        if let ScreenKind::Input {
            store: Some(var),
            validator,
            ..
        } = &screen.kind
        {
            raise(var, validator.max_len());
        }
    }
    limits
}

/// The longer of two lines.
fn longer(a: String, b: String) -> String {
    if b.len() > a.len() { b } else { a }
}
