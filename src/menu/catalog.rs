//! The checked catalog (settings, screens, locales), shared as `Arc`, and
//! [`Menus`], which swaps in a new catalog on reload while sessions already
//! under way finish on the one they started with.

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::check::check;
use super::loader::{Fingerprint, load_menus};
use super::model::{Screen, Screens, Settings};
use super::registry::Registry;
use super::report::{CheckReport, IssueKind};
use crate::i18n::{Lang, LoadError, Locales};

/// Catalog generations kept for sessions in flight (current included).
/// Sessions last at most a few minutes and reloads are rare, so a handful
/// covers every session that could still be running.
const KEEP_GENERATIONS: usize = 4;

/// A checked set of menus and their words. Immutable once built.
pub struct Catalog {
    generation: u64,
    settings: Settings,
    screens: Screens,
    locales: Locales,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("generation", &self.generation)
            .field("screens", &self.screens.len())
            .field("locales", &self.locales)
            .finish()
    }
}

impl Catalog {
    /// Fingerprint of the files the catalog was built from (never 0). Every
    /// node that loads the same files gets the same generation, so a session
    /// stored by one node continues on another.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The `[settings]` table.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The screen `id`, if it exists.
    pub fn screen(&self, id: &str) -> Option<&Screen> {
        self.screens.get(id)
    }

    /// Every screen by id.
    pub fn screens(&self) -> &Screens {
        &self.screens
    }

    /// The words of every screen.
    pub fn locales(&self) -> &Locales {
        &self.locales
    }
}

/// Loads and checks the menus in `menus_dir` and the words in `locales_dir`
/// against what `registry` offers. Returns every issue found, or the catalog.
pub fn load_catalog(
    menus_dir: &Path,
    locales_dir: &Path,
    registry: &Registry,
) -> Result<Catalog, CheckReport> {
    let mut report = CheckReport::default();
    let mut print = Fingerprint::new();
    let loaded = load_menus(menus_dir, &mut report, &mut print);
    let locales = match Locales::load(locales_dir) {
        Ok(locales) => Some(locales),
        Err(errors) => {
            for error in errors.0 {
                push_locale_error(&mut report, error);
            }
            None
        }
    };
    if let Some(locales) = &locales {
        for lang in Lang::ALL {
            for (file, source) in locales.sources(lang) {
                print.update(file, source);
            }
        }
    }
    check(
        loaded.settings.as_ref(),
        &loaded.screens,
        locales.as_ref(),
        registry,
        &mut report,
    );
    let settings = loaded.settings.map(|(settings, _)| settings);
    match (settings, locales) {
        (Some(settings), Some(locales)) if report.is_empty() => Ok(Catalog {
            generation: print.finish(),
            settings,
            screens: loaded.screens,
            locales,
        }),
        _ => Err(report),
    }
}

fn push_locale_error(report: &mut CheckReport, error: LoadError) {
    match error {
        LoadError::Io { path, message } => report.push(path, None, IssueKind::Io(message)),
        LoadError::NoFiles { dir } => report.push(dir, None, IssueKind::Io("no .ftl files".into())),
        LoadError::Parse {
            file,
            line,
            message,
        } => {
            report.push(file, None, IssueKind::Syntax { line, message });
        }
        LoadError::Duplicate { file, id } => {
            report.push(file, None, IssueKind::DuplicateMessage { id })
        }
    }
}

/// The live catalog and the few before it, for sessions in flight.
pub struct Menus {
    current: ArcSwap<Catalog>,
    /// Newest first; always starts with the current catalog.
    recent: Mutex<VecDeque<Arc<Catalog>>>,
}

impl fmt::Debug for Menus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Menus")
            .field("current", &self.current.load().generation)
            .finish()
    }
}

impl Menus {
    /// Holds `catalog` as the current one.
    pub fn new(catalog: Catalog) -> Menus {
        let catalog = Arc::new(catalog);
        Menus {
            current: ArcSwap::new(Arc::clone(&catalog)),
            recent: Mutex::new(VecDeque::from([catalog])),
        }
    }

    /// Loads, checks and holds the catalog of these folders.
    pub fn load(
        menus_dir: &Path,
        locales_dir: &Path,
        registry: &Registry,
    ) -> Result<Menus, CheckReport> {
        load_catalog(menus_dir, locales_dir, registry).map(Menus::new)
    }

    /// The catalog new sessions start on.
    pub fn current(&self) -> Arc<Catalog> {
        self.current.load_full()
    }

    /// The catalog of `generation`, while it is still kept.
    pub fn get(&self, generation: u64) -> Option<Arc<Catalog>> {
        let recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        recent.iter().find(|c| c.generation == generation).cloned()
    }

    /// The catalog of `generation` while it is kept, else the current one
    /// (the session then continues on screens of the same id, or ends
    /// politely if its screen is gone).
    pub fn for_generation(&self, generation: u64) -> Arc<Catalog> {
        self.get(generation).unwrap_or_else(|| self.current())
    }

    /// A bounded metrics label for a screen id: the id when the current
    /// catalog has such a screen, `unknown` otherwise.
    pub fn screen_label(&self, screen: &str) -> String {
        let known = self.current.load().screens.contains_key(screen);
        if known {
            screen.to_owned()
        } else {
            "unknown".to_owned()
        }
    }

    /// Loads and checks the folders again. On success the new catalog becomes
    /// current and its generation is returned; on failure the current one
    /// stays and the report says why.
    pub fn reload(
        &self,
        menus_dir: &Path,
        locales_dir: &Path,
        registry: &Registry,
    ) -> Result<u64, CheckReport> {
        let catalog = Arc::new(load_catalog(menus_dir, locales_dir, registry)?);
        let generation = catalog.generation;
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.front().is_some_and(|c| c.generation == generation) {
            return Ok(generation);
        }
        recent.retain(|c| c.generation != generation);
        recent.push_front(Arc::clone(&catalog));
        recent.truncate(KEEP_GENERATIONS);
        self.current.store(catalog);
        tracing::info!(menus.generation = generation, "Menus reloaded");
        Ok(generation)
    }
}
