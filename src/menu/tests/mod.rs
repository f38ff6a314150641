//! Tests of the menu module against the real `menus/` and `locales/`, and of
//! the checker against the small broken fixtures in `tests/fixtures/menus-*`.

mod check;
mod engine;
mod reload;

use std::path::{Path, PathBuf};

use super::{Catalog, load_catalog};
use crate::ops::registry;

/// The crate root, where `menus/`, `locales/` and `tests/` live.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real catalog, which must pass the check.
fn real_catalog() -> Catalog {
    load_catalog(&root().join("menus"), &root().join("locales"), &registry())
        .unwrap_or_else(|report| panic!("menus check failed:\n{report}"))
}

/// A scratch folder holding `menus-base` with fixture `name` copied over it.
struct Overlay(PathBuf);

impl Overlay {
    fn new(name: &str) -> Overlay {
        let dir = std::env::temp_dir().join(format!("pesachama-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let fixtures = root().join("tests/fixtures");
        copy_tree(&fixtures.join("menus-base"), &dir);
        copy_tree(&fixtures.join(name), &dir);
        Overlay(dir)
    }

    fn menus(&self) -> PathBuf {
        self.0.join("menus")
    }

    fn locales(&self) -> PathBuf {
        self.0.join("locales")
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
