//! Screen layout: the error line, the text, options or list items, the paging
//! line and the navigation footer, joined and kept within the budget. Pure
//! text over the model: the renderer lays screens out with the member's words,
//! the budget check with worst-case words, through the same functions.

use std::ops::Range;

use super::model::{Screen, ScreenKind, Settings};
use crate::i18n::{Lang, Locales, Vars, gsm7_len, to_gsm7_basic, truncate_gsm7};

/// Message ids the engine itself uses; every catalog must define them.
pub(super) mod ids {
    pub const NAV_BACK: &str = "nav-back";
    pub const NAV_HOME: &str = "nav-home";
    pub const NAV_NEXT: &str = "nav-next";
    pub const NAV_PREV: &str = "nav-prev";
    pub const CONFIRM_YES: &str = "confirm-yes";
    pub const CONFIRM_NO: &str = "confirm-no";
    pub const ERROR_CHOICE: &str = "invalid-choice";
    pub const ERROR_RETRIES: &str = "too-many-attempts";
    pub const ERROR_UNAVAILABLE: &str = "service-unavailable";
    pub const LIST_EMPTY: &str = "list-empty";
    /// All of the above.
    pub const ALL: [&str; 10] = [
        NAV_BACK,
        NAV_HOME,
        NAV_NEXT,
        NAV_PREV,
        CONFIRM_YES,
        CONFIRM_NO,
        ERROR_CHOICE,
        ERROR_RETRIES,
        ERROR_UNAVAILABLE,
        LIST_EMPTY,
    ];
}

/// Most list items a session keeps: item numbers then stay clear of the
/// paging keys, and the stored session stays small.
pub(super) const MAX_LIST_ITEMS: usize = 50;

/// Where words come from: the locales at run time, worst-case placeholders
/// in the checker.
pub(super) trait Words {
    /// The text of message `id`.
    fn word(&self, id: &str) -> String;
}

/// Words of one member's language and variables, reduced to basic GSM-7.
pub(super) struct Spoken<'a> {
    pub locales: &'a Locales,
    pub lang: Lang,
    pub vars: &'a Vars,
}

impl Words for Spoken<'_> {
    fn word(&self, id: &str) -> String {
        to_gsm7_basic(&self.locales.format(self.lang, id, self.vars))
    }
}

/// The parts of a screen, before joining.
#[derive(Debug, Default)]
pub(super) struct Layout {
    pub error: Option<String>,
    pub body: String,
    pub lines: Vec<String>,
    pub footer: Vec<String>,
}

impl Layout {
    fn parts(&self) -> impl Iterator<Item = &str> {
        self.error
            .iter()
            .map(String::as_str)
            .chain(Some(self.body.as_str()).filter(|b| !b.is_empty()))
            .chain(self.lines.iter().map(String::as_str))
            .chain(self.footer.iter().map(String::as_str))
    }

    /// Length of the joined screen in septets.
    pub fn len(&self) -> usize {
        let (count, sum) = self
            .parts()
            .fold((0usize, 0), |(n, s), p| (n + 1, s + gsm7_len(p)));
        sum + count.saturating_sub(1)
    }

    fn join(&self) -> String {
        self.parts().collect::<Vec<_>>().join("\n")
    }

    /// The screen text, within `budget`: the body is shortened first so the
    /// choices stay readable, then the whole screen as a last resort.
    pub fn compose(mut self, budget: usize) -> String {
        let len = self.len();
        if len <= budget {
            return self.join();
        }
        let keep = gsm7_len(&self.body).saturating_sub(len - budget);
        self.body = truncate_gsm7(&self.body, keep);
        truncate_gsm7(&self.join(), budget)
    }
}

/// Whether the back/home footer shows (and its keys work) on `screen`.
pub(super) fn shows_nav(settings: &Settings, screen: &Screen) -> bool {
    screen.nav && !screen.is_end() && screen.id != settings.home
}

/// Lays out `screen` with `lines` between its text and footer; `paging`
/// says which of previous/next to offer.
pub(super) fn frame(
    settings: &Settings,
    screen: &Screen,
    words: &dyn Words,
    error: Option<&str>,
    lines: Vec<String>,
    paging: (bool, bool),
) -> Layout {
    let keys = &settings.keys;
    let mut footer = Vec::new();
    let (prev, next) = paging;
    let paging_line: Vec<String> = [
        (next, &keys.next, ids::NAV_NEXT),
        (prev, &keys.prev, ids::NAV_PREV),
    ]
    .into_iter()
    .filter(|(shown, _, _)| *shown)
    .map(|(_, key, id)| format!("{key} {}", words.word(id)))
    .collect();
    if !paging_line.is_empty() {
        footer.push(paging_line.join(" "));
    }
    if shows_nav(settings, screen) {
        let back = words.word(ids::NAV_BACK);
        let home = words.word(ids::NAV_HOME);
        footer.push(format!("{} {back} {} {home}", keys.back, keys.home));
    }
    Layout {
        error: error.map(|id| words.word(id)),
        body: screen
            .text
            .as_deref()
            .map(|id| words.word(id))
            .unwrap_or_default(),
        lines,
        footer,
    }
}

/// A menu option or list item as one line.
pub(super) fn numbered(key: &str, text: &str) -> String {
    format!("{key} {text}")
}

/// The lines of a confirm screen.
pub(super) fn confirm_lines(settings: &Settings, words: &dyn Words) -> Vec<String> {
    vec![
        numbered(&settings.keys.yes, &words.word(ids::CONFIRM_YES)),
        numbered(&settings.keys.no, &words.word(ids::CONFIRM_NO)),
    ]
}

/// A list screen's item lines (numbered when items can be chosen, each cut
/// to fit a page on its own) and the pages they split into.
pub(super) struct ListPages {
    pub lines: Vec<String>,
    pub pages: Vec<Range<usize>>,
}

/// Splits `items` of a list screen into pages that fit the budget with the
/// error line, the full paging line and the footer all present, so page
/// boundaries do not move from one hop to the next.
pub(super) fn list_pages(
    settings: &Settings,
    screen: &Screen,
    words: &dyn Words,
    items: &[String],
) -> ListPages {
    let selectable = matches!(&screen.kind, ScreenKind::List { action, next, .. } if action.is_some() || next.is_some());
    let fixed = frame(
        settings,
        screen,
        words,
        Some(ids::ERROR_CHOICE),
        Vec::new(),
        (true, true),
    )
    .len();
    let room = settings.budget.saturating_sub(fixed + 1);
    let lines: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let item = to_gsm7_basic(item);
            if selectable {
                let key = (i + 1).to_string();
                numbered(
                    &key,
                    &truncate_gsm7(&item, room.saturating_sub(key.len() + 1)),
                )
            } else {
                truncate_gsm7(&item, room)
            }
        })
        .collect();
    let mut pages = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, line) in lines.iter().enumerate() {
        let cost = gsm7_len(line) + 1;
        if i > start && fixed + used + cost > settings.budget {
            pages.push(start..i);
            start = i;
            used = 0;
        }
        used += cost;
    }
    if start < lines.len() {
        pages.push(start..lines.len());
    }
    ListPages { lines, pages }
}
