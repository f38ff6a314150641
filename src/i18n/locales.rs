//! Loading `locales/<lang>/*.ftl` into one Fluent bundle per language, and
//! formatting messages at run time.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentError, FluentResource};
use fluent_syntax::ast;

use super::{Lang, Vars};

/// One problem found while loading locale files. Every problem is reported,
/// not only the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A folder or file could not be read.
    #[error("{path}: cannot read: {message}")]
    Io { path: String, message: String },
    /// A language folder holds no `.ftl` file.
    #[error("{dir}: no .ftl files")]
    NoFiles { dir: String },
    /// Fluent syntax error.
    #[error("{file}:{line}: {message}")]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
    /// A message or term is defined twice within one language.
    #[error("{file}: `{id}` is already defined")]
    Duplicate { file: String, id: String },
}

/// All problems of one load, displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct LoadErrors(pub Vec<LoadError>);

/// Where an entry lives: index of its resource, index of the entry in it.
type EntryAt = (usize, usize);

/// Everything loaded for one language.
pub(super) struct LangBundle {
    bundle: FluentBundle<Arc<FluentResource>>,
    /// The parsed files, in load order, with their display names.
    resources: Vec<(String, Arc<FluentResource>)>,
    messages: BTreeMap<String, EntryAt>,
    terms: BTreeMap<String, EntryAt>,
}

/// Every USSD string in every language: immutable once loaded, `Send + Sync`.
pub struct Locales {
    en: LangBundle,
    sw: LangBundle,
}

impl fmt::Debug for Locales {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locales")
            .field("en_messages", &self.en.messages.len())
            .field("sw_messages", &self.sw.messages.len())
            .finish()
    }
}

impl Locales {
    /// Loads `<dir>/en/*.ftl` and `<dir>/sw/*.ftl`, reporting every read,
    /// syntax and duplicate error with its file (and line).
    pub fn load(dir: &Path) -> Result<Locales, LoadErrors> {
        let mut errors = Vec::new();
        let en = load_lang(dir, Lang::En, &mut errors);
        let sw = load_lang(dir, Lang::Sw, &mut errors);
        if errors.is_empty() {
            Ok(Locales { en, sw })
        } else {
            Err(LoadErrors(errors))
        }
    }

    pub(super) fn lang(&self, lang: Lang) -> &LangBundle {
        match lang {
            Lang::En => &self.en,
            Lang::Sw => &self.sw,
        }
    }

    /// Formats message `id` in `lang`. Never fails: a missing message renders
    /// as its id and a missing variable as `{$name}`, each with a warning.
    pub fn format(&self, lang: Lang, id: &str, args: &Vars) -> String {
        let lb = self.lang(lang);
        let Some(pattern) = lb.bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(message.id = id, lang = %lang, "Missing message rendered as its id");
            return id.to_owned();
        };
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent_args.set(name.as_str(), value.as_str());
        }
        let mut errors = Vec::new();
        let text = lb
            .bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned();
        for error in errors {
            tracing::warn!(message.id = id, lang = %lang, %error, "Message formatted with an error");
        }
        text
    }

    /// Ids of every message defined in `lang`.
    pub fn message_ids(&self, lang: Lang) -> impl Iterator<Item = &str> {
        self.lang(lang).messages.keys().map(String::as_str)
    }

    /// Whether `lang` defines message `id`.
    pub fn has_message(&self, lang: Lang, id: &str) -> bool {
        self.lang(lang).messages.contains_key(id)
    }

    /// Every loaded file of `lang` with its text, in load order (for
    /// fingerprinting a catalog).
    pub fn sources(&self, lang: Lang) -> impl Iterator<Item = (&str, &str)> {
        self.lang(lang)
            .resources
            .iter()
            .map(|(file, resource)| (file.as_str(), resource.source()))
    }

    /// The file that defines message `id` in `lang`.
    pub fn file_of(&self, lang: Lang, id: &str) -> Option<&str> {
        let lb = self.lang(lang);
        lb.messages
            .get(id)
            .map(|(res, _)| lb.resources[*res].0.as_str())
    }
}

impl LangBundle {
    /// The value pattern of message `id`.
    pub(super) fn message(&self, id: &str) -> Option<&ast::Pattern<&str>> {
        match self.entry(self.messages.get(id)?)? {
            ast::Entry::Message(message) => message.value.as_ref(),
            _ => None,
        }
    }

    /// The value (or an attribute) pattern of a message or term, as a
    /// reference inside another message names it.
    pub(super) fn referenced(
        &self,
        id: &str,
        attribute: Option<&str>,
        term: bool,
    ) -> Option<&ast::Pattern<&str>> {
        let at = if term {
            self.terms.get(id)
        } else {
            self.messages.get(id)
        }?;
        let (value, attributes) = match self.entry(at)? {
            ast::Entry::Message(m) => (m.value.as_ref(), &m.attributes),
            ast::Entry::Term(t) => (Some(&t.value), &t.attributes),
            _ => return None,
        };
        match attribute {
            None => value,
            Some(name) => attributes
                .iter()
                .find(|a| a.id.name == name)
                .map(|a| &a.value),
        }
    }

    fn entry(&self, (res, idx): &EntryAt) -> Option<&ast::Entry<&str>> {
        self.resources.get(*res)?.1.get_entry(*idx)
    }
}

fn load_lang(dir: &Path, lang: Lang, errors: &mut Vec<LoadError>) -> LangBundle {
    let mut bundle = FluentBundle::new_concurrent(vec![lang.langid()]);
    // Unicode isolation marks are outside GSM-7: one would turn the whole
    // screen into UCS-2 and cut it from 182 to 80 characters.
    bundle.set_use_isolating(false);
    let mut lb = LangBundle {
        bundle,
        resources: Vec::new(),
        messages: BTreeMap::new(),
        terms: BTreeMap::new(),
    };
    let lang_dir = dir.join(lang.as_str());
    for (file, source) in read_ftl_files(&lang_dir, errors) {
        let resource = match FluentResource::try_new(source) {
            Ok(resource) => resource,
            Err((resource, parse_errors)) => {
                for error in parse_errors {
                    // The parser notices a broken entry where it stops making
                    // sense, often the next line; name the entry's own line.
                    let at = error
                        .slice
                        .as_ref()
                        .map_or(error.pos.start, |slice| slice.start);
                    errors.push(LoadError::Parse {
                        file: file.clone(),
                        line: line_of(resource.source(), at),
                        message: error.kind.to_string(),
                    });
                }
                resource
            }
        };
        let resource = Arc::new(resource);
        let res_idx = lb.resources.len();
        for (idx, entry) in resource.entries().enumerate() {
            let (map, id) = match entry {
                ast::Entry::Message(m) => (&mut lb.messages, m.id.name),
                ast::Entry::Term(t) => (&mut lb.terms, t.id.name),
                _ => continue,
            };
            if map.contains_key(id) {
                errors.push(LoadError::Duplicate {
                    file: file.clone(),
                    id: id.to_owned(),
                });
            } else {
                map.insert(id.to_owned(), (res_idx, idx));
            }
        }
        // Duplicates were reported above with their file; the bundle keeps
        // the first definition, as the index does.
        if let Err(bundle_errors) = lb.bundle.add_resource(Arc::clone(&resource)) {
            for error in bundle_errors {
                if !matches!(error, FluentError::Overriding { .. }) {
                    tracing::warn!(file, %error, "Unexpected error adding a Fluent resource");
                }
            }
        }
        lb.resources.push((file, resource));
    }
    lb
}

/// Reads every `.ftl` file of `dir`, sorted by name, as (display name, text).
fn read_ftl_files(dir: &Path, errors: &mut Vec<LoadError>) -> Vec<(String, String)> {
    let io_error = |path: &Path, error: std::io::Error| LoadError::Io {
        path: path.display().to_string(),
        message: error.to_string(),
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            errors.push(io_error(dir, error));
            return Vec::new();
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "ftl"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        errors.push(LoadError::NoFiles {
            dir: dir.display().to_string(),
        });
    }
    paths
        .into_iter()
        .filter_map(|path| match fs::read_to_string(&path) {
            Ok(text) => Some((path.display().to_string(), text)),
            Err(error) => {
                errors.push(io_error(&path, error));
                None
            }
        })
        .collect()
}

/// 1-based line of byte offset `pos` in `source`.
pub(crate) fn line_of(source: &str, pos: usize) -> usize {
    source.get(..pos).unwrap_or(source).matches('\n').count() + 1
}
