//! Reloading: a failed check keeps the current catalog; sessions keep theirs.

use super::{Overlay, root};
use crate::i18n::Lang;
use crate::menu::fake::FakeHost;
use crate::menu::{Menus, SessionState};
use crate::ops::registry;

#[tokio::test]
async fn a_failed_reload_keeps_the_old_catalog_and_old_generations_stay_available() {
    let registry = registry();
    let live = Overlay::new("menus-base");
    // Start from the real menus, copied so the test can change them.
    std::fs::remove_dir_all(live.0.join("menus")).unwrap();
    std::fs::remove_dir_all(live.0.join("locales")).unwrap();
    super::copy_tree(&root().join("menus"), &live.menus());
    super::copy_tree(&root().join("locales"), &live.locales());
    let menus = Menus::load(&live.menus(), &live.locales(), &registry).unwrap();
    let first = menus.current().generation();

    // A session starts on the first generation.
    let host = FakeHost::registered("1234");
    let mut state = SessionState::new(0, Lang::En);
    menus.current().begin(&mut state, &host).await;
    assert_eq!(state.generation, first);

    // A broken file is refused and changes nothing.
    std::fs::write(
        live.menus().join("broken.toml"),
        "[screen.x]\nkind = \"nope\"\n",
    )
    .unwrap();
    let report = menus
        .reload(&live.menus(), &live.locales(), &registry)
        .unwrap_err();
    assert!(report.to_string().contains("broken.toml"), "{report}");
    assert_eq!(menus.current().generation(), first);

    // A good change becomes current; the session in flight finishes on its own.
    std::fs::remove_file(live.menus().join("broken.toml")).unwrap();
    let en = live.locales().join("en/ussd.ftl");
    let words = std::fs::read_to_string(&en)
        .unwrap()
        .replace("main-title = PesaChama", "main-title = Karibu");
    std::fs::write(&en, words).unwrap();
    let second = menus
        .reload(&live.menus(), &live.locales(), &registry)
        .unwrap();
    assert_ne!(second, first);
    assert_eq!(menus.current().generation(), second);

    let old = menus.get(state.generation).expect("old generation kept");
    let reply = old.advance(&mut state, "00", &host).await;
    assert!(
        reply.text().starts_with("PesaChama\n1 Balance"),
        "{}",
        reply.text()
    );
    let mut fresh = SessionState::new(0, Lang::En);
    let reply = menus.current().begin(&mut fresh, &host).await;
    assert!(reply.text().starts_with("Karibu"), "{}", reply.text());
}
