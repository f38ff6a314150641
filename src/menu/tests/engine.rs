//! Sessions walked through the real menus with the fake host.

use super::real_catalog;
use crate::i18n::{Lang, gsm7_len, is_gsm7};
use crate::menu::fake::FakeHost;
use crate::menu::{Catalog, Reply, SessionState};

/// A session under test: every screen it sees is checked against the budget.
struct Walk {
    catalog: Catalog,
    host: FakeHost,
    state: SessionState,
}

impl Walk {
    async fn begin(host: FakeHost) -> (Walk, Reply) {
        let catalog = real_catalog();
        let mut state = SessionState::new(0, Lang::En);
        let reply = checked(catalog.begin(&mut state, &host).await);
        (
            Walk {
                catalog,
                host,
                state,
            },
            reply,
        )
    }

    async fn hop(&mut self, input: &str) -> Reply {
        checked(
            self.catalog
                .advance(&mut self.state, input, &self.host)
                .await,
        )
    }
}

fn checked(reply: Reply) -> Reply {
    let text = reply.text();
    assert!(
        gsm7_len(text) <= 182,
        "screen over budget ({}):\n{text}",
        gsm7_len(text)
    );
    assert!(is_gsm7(text), "screen outside GSM-7:\n{text}");
    assert!(!text.contains('{'), "unresolved placeable:\n{text}");
    reply
}

fn con(reply: &Reply) -> &str {
    assert!(!reply.is_end(), "expected CON, got END:\n{}", reply.text());
    reply.text()
}

#[tokio::test]
async fn a_first_dial_walks_language_pin_main_balance_back_and_home() {
    let (mut walk, reply) = Walk::begin(FakeHost::new()).await;
    assert!(
        con(&reply).contains("1 English\n2 Kiswahili"),
        "{}",
        reply.text()
    );
    assert!(
        !reply.text().contains("0 "),
        "no back key before the PIN is set"
    );

    let reply = walk.hop("2").await;
    assert!(
        con(&reply).starts_with("Weka PIN ya tarakimu 4"),
        "{}",
        reply.text()
    );
    let reply = walk.hop("4821").await;
    assert!(
        con(&reply).starts_with("Weka PIN hiyo tena"),
        "{}",
        reply.text()
    );
    let reply = walk.hop("4821").await;
    assert!(
        con(&reply).starts_with("PesaChama\n1 Salio\n"),
        "{}",
        reply.text()
    );
    assert!(
        !reply.text().contains("Viongozi"),
        "members see no officials' entry"
    );

    let reply = walk.hop("1").await;
    assert!(
        con(&reply).starts_with("Weka PIN yako:"),
        "{}",
        reply.text()
    );
    let reply = walk.hop("4821").await;
    let text = con(&reply);
    assert!(
        text.starts_with("Umoja Women\nAkiba KES 12,400\n"),
        "{text}"
    );
    assert!(text.contains("Jumla ya chama KES 1,250,000"), "{text}");
    assert!(text.ends_with("0 Rudi 00 Menyu kuu"), "{text}");

    let reply = walk.hop("0").await;
    assert!(
        con(&reply).starts_with("PesaChama\n1 Salio"),
        "back from balance is main: {}",
        reply.text()
    );
    let reply = walk.hop("5").await;
    assert!(
        con(&reply).starts_with("Akaunti yangu\n1 Badilisha PIN"),
        "{}",
        reply.text()
    );
    let reply = walk.hop("00").await;
    assert!(
        con(&reply).starts_with("PesaChama\n1 Salio"),
        "{}",
        reply.text()
    );
    assert!(walk.state.history.is_empty());
}

#[tokio::test]
async fn a_pin_never_reaches_the_stored_session() {
    let (mut walk, _) = Walk::begin(FakeHost::new()).await;
    let mut stored = Vec::new();
    for input in [
        "1", "4821", "4821", "1", "4821", "0", "5", "1", "4821", "7395", "7395",
    ] {
        walk.hop(input).await;
        stored.push(serde_json::to_string(&walk.state).unwrap());
    }
    assert_eq!(walk.state.screen, "main", "change PIN ends on main");
    for json in stored {
        assert!(
            !json.contains("4821") && !json.contains("7395"),
            "PIN in stored session: {json}"
        );
    }
}

#[tokio::test]
async fn mismatched_pins_start_the_pin_again_with_an_error() {
    let (mut walk, _) = Walk::begin(FakeHost::new()).await;
    walk.hop("1").await;
    walk.hop("1111").await;
    let reply = walk.hop("2222").await;
    assert_eq!(
        con(&reply),
        "The PINs did not match. Start again.\nSet a 4-digit PIN to protect your account:"
    );
    assert_eq!(walk.state.screen, "set_pin");
}

#[tokio::test]
async fn an_invalid_choice_shows_the_menu_again_with_an_error() {
    let (mut walk, reply) = Walk::begin(FakeHost::registered("1234")).await;
    let main = con(&reply).to_owned();
    let reply = walk.hop("7").await;
    assert_eq!(con(&reply), format!("Invalid choice. Try again.\n{main}"));
    assert_eq!(walk.state.screen, "main");
}

#[tokio::test]
async fn wrong_inputs_past_the_retry_limit_end_the_session() {
    let (mut walk, _) = Walk::begin(FakeHost::registered("1234")).await;
    walk.hop("1").await;
    let reply = walk.hop("12").await;
    assert_eq!(
        con(&reply),
        "A PIN must be 4 digits.\nEnter your PIN:\n0 Back 00 Home"
    );
    walk.hop("abcd").await;
    let reply = walk.hop("123456").await;
    assert_eq!(
        reply,
        Reply::End("Too many wrong attempts. Please dial again later.".into())
    );
}

#[tokio::test]
async fn wrong_pins_show_the_host_error_then_its_lock() {
    let (mut walk, _) = Walk::begin(FakeHost::registered("1234")).await;
    walk.hop("1").await;
    let reply = walk.hop("9999").await;
    assert!(
        con(&reply).starts_with("Wrong PIN. Attempts left: 2.\nEnter your PIN:"),
        "{}",
        reply.text()
    );
    walk.hop("9998").await;
    let reply = walk.hop("9997").await;
    assert!(reply.is_end(), "{}", reply.text());
}

#[tokio::test]
async fn an_option_hidden_by_its_condition_cannot_be_chosen() {
    let (mut walk, reply) = Walk::begin(FakeHost::registered("1234")).await;
    assert!(!reply.text().contains("9 Officials"));
    let reply = walk.hop("9").await;
    assert!(
        con(&reply).starts_with("Invalid choice."),
        "{}",
        reply.text()
    );

    let mut officer = FakeHost::registered("1234");
    officer.officer = true;
    let (mut walk, reply) = Walk::begin(officer).await;
    assert!(reply.text().contains("9 Officials"), "{}", reply.text());
    let reply = walk.hop("9").await;
    assert!(
        con(&reply).starts_with("Officials' services"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn a_long_statement_pages_forward_and_back() {
    let mut host = FakeHost::registered("1234");
    host.statement_lines = 12;
    let (mut walk, _) = Walk::begin(host).await;
    let pin = walk.hop("4").await;
    assert!(con(&pin).starts_with("Enter your PIN"), "{}", pin.text());
    let first = walk.hop("1234").await;
    let text = con(&first).to_owned();
    let first_page = text.clone();
    assert!(
        text.starts_with("Mini-statement (KES):\n01/11 Saved 1,000"),
        "{text}"
    );
    assert!(
        text.contains("98 More") && !text.contains("99 Prev"),
        "{text}"
    );

    let mut seen = text.lines().filter(|l| l.contains("/11")).count();
    let mut pages = 1;
    loop {
        let reply = walk.hop("98").await;
        let text = con(&reply).to_owned();
        if walk.state.page + 1 == pages {
            break;
        }
        pages += 1;
        assert!(text.contains("99 Prev"), "{text}");
        seen += text.lines().filter(|l| l.contains("/11")).count();
    }
    assert_eq!(seen, 12, "every line shown once across {pages} pages");
    for _ in 1..pages {
        walk.hop("99").await;
    }
    let back = walk.hop("99").await;
    assert_eq!(
        back.text(),
        format!("Invalid choice. Try again.\n{first_page}"),
        "no page before the first"
    );
}

#[tokio::test]
async fn a_member_of_two_chamas_chooses_one() {
    let mut host = FakeHost::registered("1234");
    host.chamas = vec!["Umoja Women".into(), "Jirani SHG".into()];
    let (mut walk, reply) = Walk::begin(host).await;
    assert_eq!(con(&reply), "Select chama:\n1 Umoja Women\n2 Jirani SHG");
    let reply = walk.hop("3").await;
    assert!(
        con(&reply).starts_with("Invalid choice."),
        "{}",
        reply.text()
    );
    let reply = walk.hop("2").await;
    assert!(con(&reply).starts_with("PesaChama\n"), "{}", reply.text());
    assert!(reply.text().contains("5 My account"));
    assert_eq!(
        walk.state.vars.get("chama_name").map(String::as_str),
        Some("Jirani SHG")
    );
}

#[tokio::test]
async fn a_stranger_is_told_how_to_join() {
    let mut host = FakeHost::new();
    host.member = false;
    let (_, reply) = Walk::begin(host).await;
    assert!(reply.is_end());
    assert!(
        reply.text().contains("Ask your chama official to add you"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn an_action_error_ends_the_session_politely() {
    let mut host = FakeHost::registered("1234");
    host.failing = Some("load_balance");
    let (mut walk, _) = Walk::begin(host).await;
    walk.state.lang = Lang::Sw;
    walk.hop("1").await;
    let reply = walk.hop("1234").await;
    assert_eq!(
        reply,
        Reply::End("Samahani, huduma haipatikani kwa sasa. Tafadhali jaribu tena baadaye.".into())
    );
}

#[tokio::test]
async fn changing_language_applies_from_the_next_screen() {
    let (mut walk, _) = Walk::begin(FakeHost::registered("1234")).await;
    walk.hop("5").await;
    let reply = walk.hop("2").await;
    assert!(
        con(&reply).starts_with("Select language / Chagua lugha"),
        "{}",
        reply.text()
    );
    let reply = walk.hop("2").await;
    assert!(
        con(&reply).starts_with("PesaChama\n1 Salio"),
        "{}",
        reply.text()
    );
    assert_eq!(walk.state.lang, Lang::Sw);
}

#[tokio::test]
async fn overlong_dynamic_text_is_cut_to_the_budget() {
    let mut host = FakeHost::registered("1234");
    host.chamas = vec![format!("Umoja {}", "W\u{e7}".repeat(200))];
    let (mut walk, _) = Walk::begin(host).await;
    walk.hop("1").await;
    let reply = walk.hop("1234").await;
    assert!(
        con(&reply).ends_with("0 Back 00 Home"),
        "footer kept: {}",
        reply.text()
    );
}

#[tokio::test]
async fn a_resumed_session_shows_its_screen_again_and_pin_screens_are_flagged() {
    let (mut walk, _) = Walk::begin(FakeHost::registered("1234")).await;
    assert!(!walk.catalog.expects_sensitive_input(&walk.state));
    walk.hop("1").await;
    assert!(walk.catalog.expects_sensitive_input(&walk.state));
    let again = checked(walk.catalog.render(&mut walk.state, &walk.host).await);
    assert_eq!(again.text(), "Enter your PIN:\n0 Back 00 Home");
    let reply = walk.hop("1234").await;
    assert!(
        con(&reply).contains("Savings KES 12,400"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn the_home_key_on_the_home_screen_shows_it_again_in_both_languages() {
    for (lang, title) in [("1", "PesaChama\n1 Balance"), ("2", "PesaChama\n1 Salio")] {
        let (mut walk, _) = Walk::begin(FakeHost::new()).await;
        for input in [lang, "4821", "4821"] {
            walk.hop(input).await;
        }
        assert_eq!(walk.state.screen, "main");
        let reply = walk.hop("00").await;
        assert!(con(&reply).starts_with(title), "{}", reply.text());
        assert!(
            !reply.text().contains("Invalid") && !reply.text().contains("si sahihi"),
            "{}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn changing_the_pin_asks_for_the_new_pin_in_both_languages() {
    for (lang, new_pin) in [
        ("1", "Enter your new 4-digit PIN:"),
        ("2", "Weka PIN mpya ya tarakimu 4:"),
    ] {
        let (mut walk, _) = Walk::begin(FakeHost::new()).await;
        for input in [lang, "4821", "4821", "5", "1"] {
            walk.hop(input).await;
        }
        let reply = walk.hop("4821").await;
        assert!(con(&reply).starts_with(new_pin), "{}", reply.text());
        walk.hop("7395").await;
        // A mismatch asks for the new PIN again, not the first-time text.
        let reply = walk.hop("7396").await;
        assert!(con(&reply).contains(new_pin), "{}", reply.text());
        assert_eq!(walk.state.screen, "change_pin_new");
    }
}
