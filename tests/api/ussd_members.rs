//! What a member meets on the phone (issue 13), as transcripts in English
//! and Swahili against the real app: the home key on the home screen, fixed
//! option keys, the PIN change, the language kept across a hang-up, the
//! lock's length, the stranger's screen, the statement's wording and the
//! Swahili corrections.

use pesachama::chama::Role;
use pesachama::ledger::{Line, accounts, post_entry};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_ledger_consistent, spawn_app, spawn_app_with};
use crate::seed::{self, GRACE};

const MARY: &str = "+254711000004";
const JOHN: &str = "+254711000005";

/// Grace (chairperson, PIN 1234) in `lang`, and John, a member with PIN 1234
/// in the same language.
async fn umoja(app: &TestApp, lang: &str) -> (Uuid, Uuid) {
    let ids = seed::grace(&app.state.db, lang).await;
    seed::member(
        &app.state.db,
        "UMOJA",
        JOHN,
        "John Otieno",
        Role::Member,
        Some("1234"),
        lang,
    )
    .await;
    ids
}

/// Mary, a new member of UMOJA: no PIN, language never chosen.
async fn new_member(app: &TestApp) {
    seed::chama(&app.state.db, "UMOJA", "Umoja Women Group").await;
    seed::member(
        &app.state.db,
        "UMOJA",
        MARY,
        "Mary Njeri",
        Role::Member,
        None,
        "en",
    )
    .await;
}

#[tokio::test]
async fn the_home_key_on_the_main_menu_shows_the_main_menu_again() {
    for (lang, home, invalid) in [
        ("en", "1 Balance", "Invalid choice"),
        ("sw", "1 Salio", "Chaguo si sahihi"),
    ] {
        let app = spawn_app().await;
        umoja(&app, lang).await;
        let mut phone = app.phone(GRACE);
        phone.walk(&[(None, &[home]), (Some("00"), &[home])]).await;
        let again = phone.send("00").await;
        assert!(!again.contains(invalid), "{again}");
        // And the menu still works from there.
        phone.walk(&[(Some("1"), &["PIN"])]).await;
    }
}

#[tokio::test]
async fn option_keys_are_fixed_so_a_hidden_option_leaves_a_gap() {
    for (lang, account, help) in [
        (
            "en",
            "1 Change PIN\n2 Language\n4 Help",
            "Never tell anyone",
        ),
        ("sw", "1 Badilisha PIN\n2 Lugha\n4 Msaada", "Usimwambie mtu"),
    ] {
        let app = spawn_app().await;
        umoja(&app, lang).await;
        // John is not an official: 9 is hidden, 5 is still My account.
        let mut phone = app.phone(JOHN);
        let main = phone.dial().await;
        assert!(!main.contains("\n9 "), "{main}");
        // Switch chama (3) is for members of several chamas only; Help keeps 4.
        phone.walk(&[(Some("5"), &[account])]).await;
        phone.walk(&[(Some("4"), &["END ", help])]).await;
    }
}

#[tokio::test]
async fn changing_the_pin_asks_for_the_new_pin() {
    for (lang, current, new, again, main) in [
        (
            "en",
            "Enter your current PIN",
            "Enter your new 4-digit PIN",
            "Enter the same PIN again",
            "1 Balance",
        ),
        (
            "sw",
            "Weka PIN yako ya sasa",
            "Weka PIN mpya ya tarakimu 4",
            "Weka PIN hiyo tena",
            "1 Salio",
        ),
    ] {
        let app = spawn_app().await;
        umoja(&app, lang).await;
        let mut phone = app.phone(GRACE);
        phone
            .walk(&[
                (None, &[main]),
                (Some("5"), &["1 "]),
                (Some("1"), &[current]),
                (Some("1234"), &[new]),
                (Some("4826"), &[again]),
                // A mismatch goes back to the new PIN, not the first-time text.
                (Some("4827"), &[new]),
                (Some("4826"), &[again]),
                (Some("4826"), &[main]),
            ])
            .await;
        // The new PIN opens the balance on the next dial.
        let mut next = app.phone(GRACE);
        next.walk(&[
            (None, &[main]),
            (Some("1"), &["PIN"]),
            (Some("4826"), &["KES"]),
        ])
        .await;
    }
}

#[tokio::test]
async fn the_language_is_kept_when_the_pin_setup_is_abandoned() {
    for (choice, set_pin, mismatch) in [
        ("1", "Set a 4-digit PIN", "did not match"),
        ("2", "Weka PIN ya tarakimu 4", "PIN hazilingani"),
    ] {
        let app = spawn_app().await;
        new_member(&app).await;
        let mut phone = app.phone(MARY);
        phone
            .walk(&[
                (None, &["Select language / Chagua lugha"]),
                (Some(choice), &[set_pin]),
                (Some("2468"), &["PIN"]),
                (Some("1357"), &[mismatch, set_pin]),
            ])
            .await;
        // Mary hangs up. The next dial goes straight to the PIN, in her language.
        let mut next = app.phone(MARY);
        let screen = next.dial().await;
        assert!(screen.contains(set_pin), "{screen}");
        assert!(!screen.contains("Chagua lugha"), "{screen}");
        let chosen: bool =
            sqlx::query_scalar("select language_chosen_at is not null from users where phone = $1")
                .bind(MARY)
                .fetch_one(&app.state.db)
                .await
                .unwrap();
        assert!(chosen);
    }
}

#[tokio::test]
async fn a_member_with_a_pin_from_before_the_choice_was_recorded_is_not_asked() {
    // Seeded members have a PIN and no recorded choice, like members who set
    // theirs before `language_chosen_at` existed.
    let app = spawn_app().await;
    umoja(&app, "sw").await;
    app.phone(GRACE).walk(&[(None, &["1 Salio"])]).await;
}

async fn lock_screen(app: &TestApp, phone: &str) -> String {
    let mut phone = app.phone(phone);
    phone.dial().await;
    phone.send("1").await;
    phone.send("0000").await;
    phone.send("0001").await;
    phone.send("0002").await
}

#[tokio::test]
async fn the_lock_message_says_for_how_long() {
    for (lang, minutes, hours) in [
        ("en", "Try again after 5 minutes", "Try again after 2 hours"),
        (
            "sw",
            "Jaribu tena baada ya dakika 5",
            "Jaribu tena baada ya saa 2",
        ),
    ] {
        let app = spawn_app().await;
        umoja(&app, lang).await;
        let locked = lock_screen(&app, GRACE).await;
        assert!(locked.starts_with("END "), "{locked}");
        assert!(locked.contains(minutes), "{locked}");

        // A dial during the lock is told what is left of it, rounded up.
        sqlx::query(
            "update users set pin_locked_until = now() + interval '90 minutes' where phone = $1",
        )
        .bind(GRACE)
        .execute(&app.state.db)
        .await
        .unwrap();
        let mut phone = app.phone(GRACE);
        phone
            .walk(&[
                (None, &["1 "]),
                (Some("1"), &["PIN"]),
                (Some("1234"), &["END ", hours]),
            ])
            .await;
    }
}

#[tokio::test]
async fn a_stranger_is_answered_in_both_languages_at_once() {
    let app = spawn_app().await;
    let mut phone = app.phone("+254722000999");
    phone
        .walk(&[(
            None,
            &[
                "END ",
                "This phone is not in any chama",
                "Ask your chama official to add you",
                "Simu hii haiko kwenye chama chochote",
                "Wasiliana na kiongozi wa chama",
            ],
        )])
        .await;
}

/// Posts one journal entry of `lines` for the chama.
async fn post(db: &PgPool, chama: Uuid, key: &str, lines: &[Line]) {
    let mut tx = db.begin().await.unwrap();
    post_entry(&mut tx, chama, key, key, chrono::Utc::now(), lines)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A loan of 5,000 paid out to the member, 1,000 of it repaid, a fine of 200
/// paid: through M-Pesa, like the other seeds.
async fn loan_and_fine(db: &PgPool, chama: Uuid, member: Uuid) {
    let line = |account_code, member, amount| Line {
        account_code,
        member,
        amount,
    };
    post(
        db,
        chama,
        "loan",
        &[
            line(accounts::LOANS, Some(member), 5_000),
            line(accounts::CASH, None, -5_000),
        ],
    )
    .await;
    post(
        db,
        chama,
        "repay",
        &[
            line(accounts::CASH, None, 1_000),
            line(accounts::LOANS, Some(member), -1_000),
        ],
    )
    .await;
    post(
        db,
        chama,
        "fine",
        &[
            line(accounts::CASH, None, 200),
            line(accounts::FINES, Some(member), -200),
        ],
    )
    .await;
    assert_ledger_consistent(&mut db.acquire().await.unwrap()).await;
}

#[tokio::test]
async fn the_statement_reads_from_the_members_side() {
    for (lang, title, lines) in [
        (
            "en",
            "Mini-statement (KES):",
            [
                "Fine paid 200",
                "Loan repaid 1,000",
                "Loan received 5,000 (owed)",
                "Saved 1,000",
                "Bought shares 250",
            ],
        ),
        (
            "sw",
            "Taarifa fupi (KES):",
            [
                "Umelipa faini 200",
                "Umelipa mkopo 1,000",
                "Umepokea mkopo 5,000 (deni)",
                "Umeweka akiba 1,000",
                "Umenunua hisa 250",
            ],
        ),
    ] {
        let app = spawn_app().await;
        let (chama, grace) = umoja(&app, lang).await;
        seed::contribution(&app.state.db, chama, grace, "c1", 1_000, 250).await;
        loan_and_fine(&app.state.db, chama, grace).await;
        let mut phone = app.phone(GRACE);
        phone
            .walk(&[(None, &["PesaChama"]), (Some("4"), &["PIN"])])
            .await;
        let mut statement = phone.send("1234").await;
        assert!(statement.contains(title), "{statement}");
        let mut pages = statement.clone();
        while statement.contains("98 ") {
            statement = phone.send("98").await;
            pages.push_str(&statement);
        }
        for line in lines {
            assert!(pages.contains(line), "`{line}` not in:\n{pages}");
        }
        assert!(!pages.contains('+'), "no bare sign:\n{pages}");
    }
}

#[tokio::test]
async fn the_swahili_corrections_are_on_the_screens() {
    let app = spawn_app().await;
    umoja(&app, "sw").await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["2 Lipa mchango"]),
            (Some("2"), &["Lipa kwa:", "4 Marejesho ya mkopo"]),
            (Some("00"), &["3 Mikopo"]),
            (Some("3"), &["Huduma hii itapatikana hivi karibuni"]),
            (Some("00"), &["5 Akaunti yangu"]),
            (Some("5"), &["4 Msaada"]),
            (Some("0"), &["1 Salio"]),
            (Some("1"), &["Weka PIN yako"]),
            (Some("12"), &["PIN lazima iwe tarakimu 4."]),
        ])
        .await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["1 Salio"]),
            (Some("5"), &["4 Msaada"]),
            (
                Some("4"),
                &["Kwa msaada, wasiliana na viongozi wa chama chako"],
            ),
        ])
        .await;
    let locked = lock_screen(&app, GRACE).await;
    assert!(
        locked.contains("wasiliana na kiongozi wa chama"),
        "{locked}"
    );
}

#[tokio::test]
async fn a_phone_that_cannot_use_the_service_is_told_in_the_corrected_swahili() {
    let app = spawn_app_with(|raw| {
        raw.insert("PESACHAMA_USSD_DEFAULT_LANG".into(), "sw".into());
    })
    .await;
    let (status, body) = app.hop("ATUid_landline_sw", "+254202222222", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("haiwezi kutumika kwenye PesaChama"), "{body}");
}

#[tokio::test]
async fn the_english_words_follow_the_swahili_corrections() {
    let app = spawn_app().await;
    umoja(&app, "en").await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["2 Pay contribution"]),
            (Some("1"), &["Enter your PIN"]),
            (Some("12"), &["A PIN must be 4 digits."]),
        ])
        .await;
    let locked = lock_screen(&app, GRACE).await;
    assert!(
        locked.contains("contact an official of your chama"),
        "{locked}"
    );
}
