//! Reading `menus/*.toml` into the model. Syntax and shape errors are reported
//! with file and line; the remaining files still load so one run reports all.

use std::fs;
use std::path::Path;

use super::model::{MenuOption, NavKeys, Screen, ScreenKind, Screens, Settings, Validator};
use super::raw::{RawFile, RawScreen, RawSettings};
use super::report::{CheckReport, IssueKind};
use crate::i18n::line_of;

/// Longest `text` validator limit: one screen's worth of input.
const MAX_TEXT_INPUT: i64 = 160;

/// What the menu folder holds once read.
pub(super) struct LoadedMenus {
    /// The settings, with the file that declared them.
    pub settings: Option<(Settings, String)>,
    pub screens: Screens,
}

/// Reads every `*.toml` of `dir` (sorted), recording problems in `report`.
pub(super) fn load_menus(
    dir: &Path,
    report: &mut CheckReport,
    print: &mut Fingerprint,
) -> LoadedMenus {
    let mut loaded = LoadedMenus {
        settings: None,
        screens: Screens::new(),
    };
    let mut paths: Vec<_> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect(),
        Err(error) => {
            report.push(
                dir.display().to_string(),
                None,
                IssueKind::Io(error.to_string()),
            );
            return loaded;
        }
    };
    paths.sort();
    for path in paths {
        let file = path.display().to_string();
        match fs::read_to_string(&path) {
            Ok(source) => {
                print.update(&file, &source);
                load_file(&file, &source, &mut loaded, report);
            }
            Err(error) => report.push(file, None, IssueKind::Io(error.to_string())),
        }
    }
    if loaded.settings.is_none() {
        report.push(dir.display().to_string(), None, IssueKind::MissingSettings);
    }
    loaded
}

fn load_file(file: &str, source: &str, loaded: &mut LoadedMenus, report: &mut CheckReport) {
    let raw: RawFile = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(error) => {
            let line = error.span().map_or(1, |span| line_of(source, span.start));
            let message = error.message().to_owned();
            report.push(file, None, IssueKind::Syntax { line, message });
            return;
        }
    };
    if let Some(settings) = raw.settings {
        match &loaded.settings {
            Some((_, first)) => {
                let first = first.clone();
                report.push(file, None, IssueKind::DuplicateSettings { first });
            }
            None => loaded.settings = Some((settings_from(settings.into_inner()), file.to_owned())),
        }
    }
    for (id, spanned) in raw.screen {
        let line = line_of(source, spanned.span().start);
        if let Some(first) = loaded.screens.get(&id) {
            let first = first.file.clone();
            report.push(file, Some(&id), IssueKind::DuplicateScreen { first });
            continue;
        }
        let screen = screen_from(id.clone(), file, line, spanned.into_inner(), report);
        loaded.screens.insert(id, screen);
    }
}

fn settings_from(raw: RawSettings) -> Settings {
    let k = raw.keys;
    Settings {
        start: raw.start,
        home: raw.home,
        keys: NavKeys {
            back: k.back,
            home: k.home,
            next: k.next,
            prev: k.prev,
            yes: k.yes,
            no: k.no,
        },
        budget: raw.budget,
        retries: raw.retries,
    }
}

fn screen_from(
    id: String,
    file: &str,
    line: usize,
    raw: RawScreen,
    report: &mut CheckReport,
) -> Screen {
    let screen = |text: Option<String>, load, nav, kind| Screen {
        id: id.clone(),
        file: file.to_owned(),
        line,
        text,
        load,
        nav,
        kind,
    };
    match raw {
        RawScreen::Menu {
            text,
            load,
            nav,
            options,
            action,
        } => {
            let options = options
                .into_iter()
                .map(|o| MenuOption {
                    key: o.key,
                    label: o.label,
                    goto: o.goto,
                    when: o.when,
                })
                .collect();
            screen(Some(text), load, nav, ScreenKind::Menu { options, action })
        }
        RawScreen::Input {
            text,
            load,
            nav,
            validator,
            min,
            max,
            error,
            retries,
            sensitive,
            store,
            action,
            next,
            on_invalid,
        } => {
            let validator = validator_from(&validator, min, max).unwrap_or_else(|kind| {
                report.push(file, Some(&id), kind);
                Validator::Pin
            });
            if sensitive && store.is_some() {
                report.push(file, Some(&id), IssueKind::SensitiveStored);
            }
            let kind = ScreenKind::Input {
                validator,
                error,
                retries,
                sensitive,
                store,
                action,
                next,
                on_invalid,
            };
            screen(Some(text), load, nav, kind)
        }
        RawScreen::Confirm {
            text,
            load,
            nav,
            action,
            next,
            no,
        } => screen(
            Some(text),
            load,
            nav,
            ScreenKind::Confirm { action, next, no },
        ),
        RawScreen::List {
            text,
            load,
            nav,
            items,
            action,
            next,
            empty,
        } => screen(
            Some(text),
            load,
            nav,
            ScreenKind::List {
                items,
                action,
                next,
                empty,
            },
        ),
        RawScreen::End { text, load } => screen(Some(text), load, false, ScreenKind::End),
        RawScreen::Route { action, routes } => {
            screen(None, None, false, ScreenKind::Route { action, routes })
        }
    }
}

fn validator_from(name: &str, min: Option<i64>, max: Option<i64>) -> Result<Validator, IssueKind> {
    let bad = |message: &str| Err(IssueKind::BadValidator(format!("{name}: {message}")));
    match name {
        "amount" => match (min.unwrap_or(1), max) {
            (_, None) => bad("needs `max`"),
            (min, Some(max)) if min < 0 || min > max => bad("needs 0 <= min <= max"),
            (min, Some(max)) => Ok(Validator::Amount { min, max }),
        },
        "text" => match (min, max) {
            (Some(_), _) => bad("takes only `max`"),
            (None, Some(max)) if (1..=MAX_TEXT_INPUT).contains(&max) => {
                Ok(Validator::Text { max: max as usize })
            }
            (None, _) => bad("needs `max` between 1 and 160"),
        },
        "pin" | "phone" | "member_no" if min.is_some() || max.is_some() => {
            bad("takes no min or max")
        }
        "pin" => Ok(Validator::Pin),
        "phone" => Ok(Validator::Phone),
        "member_no" => Ok(Validator::MemberNo),
        other => Err(IssueKind::UnknownValidator(other.to_owned())),
    }
}

/// FNV-1a over file names and contents: stable across processes and builds,
/// unlike the standard library's hasher.
pub(super) struct Fingerprint(u64);

impl Fingerprint {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub(super) fn new() -> Fingerprint {
        Fingerprint(Self::OFFSET)
    }

    /// Adds one file. Only the file name counts, not its folder, so nodes
    /// with the project in different places agree.
    pub(super) fn update(&mut self, file: &str, text: &str) {
        let name = Path::new(file)
            .file_name()
            .map_or(file.into(), |n| n.to_string_lossy());
        for byte in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(Self::PRIME);
        }
    }

    pub(super) fn finish(&self) -> u64 {
        self.0.max(1)
    }
}
