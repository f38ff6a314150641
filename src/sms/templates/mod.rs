//! Every SMS the gateway sends is a named Fluent template in
//! `locales/{en,sw}/sms.ftl`, declared by the comment line right above it
//! (see [`declaration`]). [`Templates::load`] refuses templates that fail the
//! check (`pesachama sms check`); [`Templates::render`] turns one into the
//! text, kind and segment count that [`crate::sms::outbox::queue`] takes.
//!
//! **Values longer than declared are cut by `render`**, not refused: the
//! caller cannot always bound a chama name or a meeting venue, and a text
//! over its segment budget costs money on every send. So each value is first
//! made GSM-7 (typographic quotes become plain, anything else `?`) and then
//! cut to its declared length, ending in `..`; the checker's worst case is
//! then a true bound on what goes out.

mod check;
pub mod declaration;
mod report;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::i18n::{Lang, LoadError, LoadErrors, Locales, Vars, to_gsm7_basic, truncate_gsm7};
use crate::sms::{SmsKind, segments};

pub use check::TEMPLATE_FILE;
pub use declaration::Declaration;
pub use report::{CheckReport, Issue, IssueKind};

/// The checked SMS templates of every language. Immutable once loaded.
pub struct Templates {
    locales: Locales,
    declared: check::Declared,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("templates", &self.declared.len())
            .finish()
    }
}

/// A template rendered for one member, ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The text as it will be sent.
    pub text: String,
    /// The kind the template declares.
    pub kind: SmsKind,
    /// SMS parts the text costs.
    pub segments: usize,
}

/// The problems of loading the locale files, each under its own file.
fn load_report(errors: LoadErrors) -> CheckReport {
    let mut report = CheckReport::default();
    for error in errors.0 {
        let (file, id, what) = match error {
            LoadError::Io { path, message } => (path, None, format!("cannot read: {message}")),
            LoadError::NoFiles { dir } => (dir, None, "no .ftl files".to_owned()),
            LoadError::Parse {
                file,
                line,
                message,
            } => (format!("{file}:{line}"), None, message),
            LoadError::Duplicate { file, id } => (file, Some(id), "defined twice".to_owned()),
        };
        report.push(&file, id.as_deref(), None, IssueKind::Load(what));
    }
    report
}

/// Why a template could not be rendered: always a caller's bug, which the
/// caller's tests find.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no SMS template `{0}`")]
    UnknownTemplate(String),
    #[error("SMS template `{id}` needs `${var}`")]
    MissingVariable { id: String, var: String },
    #[error("SMS template `{id}` takes no `${var}`")]
    UnexpectedVariable { id: String, var: String },
}

impl Templates {
    /// Loads `<dir>/{en,sw}/*.ftl` and checks every message of the `sms.ftl`
    /// files; the report lists every problem with file, id and language.
    pub fn load(locales_dir: &Path) -> Result<Templates, CheckReport> {
        let locales = Locales::load(locales_dir).map_err(load_report)?;
        let declared = check::check(&locales)?;
        Ok(Templates { locales, declared })
    }

    /// Ids of every template, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.declared
            .keys()
            .filter(|(lang, _)| *lang == Lang::En)
            .map(|(_, id)| id.as_str())
    }

    /// The declaration of template `id` in `lang`.
    pub fn declaration(&self, lang: Lang, id: &str) -> Option<&Declaration> {
        self.declared.get(&(lang, id.to_owned()))
    }

    /// Renders template `id` in `lang` with exactly its declared variables,
    /// each made GSM-7 and cut to its declared length.
    pub fn render(&self, lang: Lang, id: &str, vars: &Vars) -> Result<Rendered, RenderError> {
        let decl = self
            .declaration(lang, id)
            .ok_or_else(|| RenderError::UnknownTemplate(id.to_owned()))?;
        if let Some(var) = vars.keys().find(|v| !decl.vars.contains_key(*v)) {
            return Err(RenderError::UnexpectedVariable {
                id: id.to_owned(),
                var: var.clone(),
            });
        }
        let mut bounded = Vars::new();
        for (var, &max) in &decl.vars {
            let value = vars.get(var).ok_or_else(|| RenderError::MissingVariable {
                id: id.to_owned(),
                var: var.clone(),
            })?;
            bounded.insert(var.clone(), truncate_gsm7(&to_gsm7_basic(value), max));
        }
        let text = self.locales.format(lang, id, &bounded);
        Ok(Rendered {
            segments: segments::count(&text).parts,
            text,
            kind: decl.kind,
        })
    }
}
