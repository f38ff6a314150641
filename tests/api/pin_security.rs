//! PINs against real PostgreSQL: parallel guesses on separate connections,
//! the lock's growth across periods, weak PINs, and the audit rows and
//! security SMS every PIN event leaves.

use std::path::Path;
use std::sync::{Arc, Mutex};

use pesachama::chama::Role;
use pesachama::phone::Msisdn;
use pesachama::sms::templates::Templates;
use pesachama::user::pin::{
    self, MAX_ATTEMPTS, Pin, PinChange, PinCheck, PinSet, SetPinError, Unlocked, Weakness,
};
use secrecy::SecretString;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::helpers::{TestDb, spawn_app};
use crate::seed::{GRACE, PIN_SECRET, chama, grace, member};

/// Grace's PIN in `seed::grace`.
const RIGHT: &str = "1234";
const WRONG: &str = "9999";
/// A member without a PIN, for the set and change tests.
const AMINA: &str = "+254711000007";

fn secret() -> SecretString {
    SecretString::from(PIN_SECRET.to_owned())
}

fn texts() -> Templates {
    Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")).unwrap()
}

fn pin(digits: &str) -> Pin {
    Pin::parse(digits).unwrap()
}

async fn scalar<T>(db: &PgPool, sql: &str, user: Uuid) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(user)
        .fetch_one(db)
        .await
        .unwrap()
}

/// One check in its own transaction, as a hop would run it.
async fn check_once(db: &PgPool, user: Uuid, digits: &str) -> PinCheck {
    let mut tx = db.begin().await.unwrap();
    let check = pin::check(&mut tx, &secret(), &texts(), user, &pin(digits))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    check
}

/// Sends every guess at once, each on its own connection and transaction,
/// and returns (guess, outcome) in the order PostgreSQL judged them. Each
/// outcome is recorded before its transaction commits, while it still holds
/// the user's row lock, so the next guess cannot have been judged yet.
async fn parallel_guesses(
    db: &TestDb,
    user: Uuid,
    guesses: &[&'static str],
) -> Vec<(&'static str, PinCheck)> {
    let order = Arc::new(Mutex::new(Vec::new()));
    let start = Arc::new(Barrier::new(guesses.len()));
    let texts = Arc::new(texts());
    let mut tasks = Vec::new();
    for &guess in guesses {
        let (order, start, texts, url) =
            (order.clone(), start.clone(), texts.clone(), db.url.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = PgConnection::connect(&url).await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            start.wait().await;
            let check = pin::check(&mut tx, &secret(), &texts, user, &pin(guess))
                .await
                .unwrap();
            order.lock().unwrap().push((guess, check));
            tx.commit().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Arc::try_unwrap(order).unwrap().into_inner().unwrap()
}

/// What one guess after another must give on a clean account: the rule,
/// written out plainly.
fn sequential_model(guesses: &[&str]) -> Vec<&'static str> {
    let (mut wrong, mut locked) = (0, false);
    guesses
        .iter()
        .map(|guess| {
            if locked {
                "locked"
            } else if *guess == RIGHT {
                wrong = 0;
                "correct"
            } else {
                wrong += 1;
                locked = wrong == MAX_ATTEMPTS;
                if locked { "locked now" } else { "wrong" }
            }
        })
        .collect()
}

fn kind(check: &PinCheck) -> &'static str {
    match check {
        PinCheck::Correct => "correct",
        PinCheck::Wrong { .. } => "wrong",
        PinCheck::LockedNow { .. } => "locked now",
        PinCheck::Locked { .. } => "locked",
        PinCheck::NotSet => "not set",
    }
}

#[tokio::test]
async fn ten_parallel_wrong_guesses_are_all_counted_and_only_three_judged() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (_, user) = grace(&pool, "en").await;

    let seen = parallel_guesses(&db, user, &[WRONG; 10]).await;

    let outcomes: Vec<_> = seen.iter().map(|(_, check)| kind(check)).collect();
    let mut expected = vec!["wrong", "wrong", "locked now"];
    expected.extend(["locked"; 7]);
    assert_eq!(outcomes, expected, "every guess answered, three judged");
    assert_eq!(seen[0].1, PinCheck::Wrong { remaining: 2 });
    assert_eq!(seen[1].1, PinCheck::Wrong { remaining: 1 });
    let PinCheck::LockedNow { until } = seen[2].1 else {
        unreachable!("checked above")
    };
    assert!(
        seen[3..]
            .iter()
            .all(|(_, check)| *check == PinCheck::Locked { until })
    );
    let lock_count: i32 = scalar(
        &pool,
        "select pin_lock_count from users where id = $1",
        user,
    )
    .await;
    assert_eq!(lock_count, 1);
    let locks: i64 = scalar(
        &pool,
        "select count(*) from audit_logs where action = 'pin.lock' and subject = $1::text",
        user,
    )
    .await;
    assert_eq!(locks, 1, "one lock, one audit row");
}

#[tokio::test]
async fn parallel_wrong_guesses_below_the_limit_each_count_one_attempt() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (_, user) = grace(&pool, "en").await;

    let seen = parallel_guesses(&db, user, &[WRONG, WRONG]).await;

    assert_eq!(
        seen.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
        [
            PinCheck::Wrong { remaining: 2 },
            PinCheck::Wrong { remaining: 1 }
        ]
    );
    let attempts: i32 = scalar(
        &pool,
        "select pin_failed_attempts from users where id = $1",
        user,
    )
    .await;
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn the_right_pin_among_parallel_guesses_is_never_judged_after_the_third_wrong() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (_, user) = grace(&pool, "en").await;
    let mut guesses = [WRONG; 10];
    // Late in the list, so it usually arrives after the lock.
    guesses[7] = RIGHT;

    let seen = parallel_guesses(&db, user, &guesses).await;

    let order: Vec<&str> = seen.iter().map(|(guess, _)| *guess).collect();
    let outcomes: Vec<_> = seen.iter().map(|(_, check)| kind(check)).collect();
    assert_eq!(
        outcomes,
        sequential_model(&order),
        "judged as if one by one: {order:?}"
    );
    let judged_wrong = outcomes
        .iter()
        .filter(|o| matches!(**o, "wrong" | "locked now"))
        .count();
    let right_at = order.iter().position(|g| *g == RIGHT).unwrap();
    let wrong_before_right = order[..right_at].len().min(MAX_ATTEMPTS as usize);
    // Three wrong judged in each run of guesses the right PIN did not reset.
    assert_eq!(
        judged_wrong,
        if outcomes[right_at] == "correct" {
            wrong_before_right + 3
        } else {
            3
        }
    );
}

/// Ends the current lock as if its time had passed, `ago` before now.
async fn end_lock(pool: &PgPool, user: Uuid, ago: &str) {
    sqlx::query("update users set pin_locked_until = now() - $2::interval where id = $1")
        .bind(user)
        .bind(ago)
        .execute(pool)
        .await
        .unwrap();
}

/// Three wrong guesses; the length of the lock they cause, in minutes.
async fn lock_minutes(pool: &PgPool, user: Uuid) -> i64 {
    for _ in 1..MAX_ATTEMPTS {
        assert!(matches!(
            check_once(pool, user, WRONG).await,
            PinCheck::Wrong { .. }
        ));
    }
    let PinCheck::LockedNow { until } = check_once(pool, user, WRONG).await else {
        panic!("the third wrong PIN locks");
    };
    let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("select now()")
        .fetch_one(pool)
        .await
        .unwrap();
    ((until - now).num_seconds() as f64 / 60.0).round() as i64
}

#[tokio::test]
async fn the_lock_grows_across_periods_and_only_a_quiet_week_lowers_it() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (_, user) = grace(&pool, "en").await;

    assert_eq!(lock_minutes(&pool, user).await, 5);
    assert!(matches!(
        check_once(&pool, user, RIGHT).await,
        PinCheck::Locked { .. }
    ));

    end_lock(&pool, user, "1 minute").await;
    // The owner dials in between: the count clears, the growth does not.
    assert_eq!(check_once(&pool, user, RIGHT).await, PinCheck::Correct);
    assert_eq!(lock_minutes(&pool, user).await, 10);

    end_lock(&pool, user, "1 hour").await;
    assert_eq!(lock_minutes(&pool, user).await, 20);

    end_lock(&pool, user, "8 days").await;
    assert_eq!(
        lock_minutes(&pool, user).await,
        20,
        "a quiet week takes one step off"
    );
    let lock_count: i32 = scalar(
        &pool,
        "select pin_lock_count from users where id = $1",
        user,
    )
    .await;
    assert_eq!(lock_count, 3);
}

/// Amina, a member of UMOJA in Swahili, without a PIN yet.
async fn amina(pool: &PgPool) -> Uuid {
    chama(pool, "UMOJA", "Umoja Women Group").await;
    member(
        pool,
        "UMOJA",
        AMINA,
        "Amina Odhiambo",
        Role::Member,
        None,
        "sw",
    )
    .await
}

async fn set(
    pool: &PgPool,
    user: Uuid,
    digits: &str,
    kind: PinChange,
    key: &str,
) -> Result<PinSet, SetPinError> {
    let mut tx = pool.begin().await.unwrap();
    let set = pin::set_pin(&mut tx, &secret(), &texts(), user, &pin(digits), kind, key).await;
    if set.is_ok() {
        tx.commit().await.unwrap();
    }
    set
}

/// (audit action, sms text) of every PIN event of `user`, oldest first.
async fn trail(pool: &PgPool, user: Uuid) -> (Vec<String>, Vec<String>) {
    let actions = sqlx::query_scalar(
        "select action from audit_logs where subject = $1::text and action like 'pin.%' order by id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap();
    let texts =
        sqlx::query_scalar("select message from sms_outbox where user_id = $1 order by created_at")
            .bind(user)
            .fetch_all(pool)
            .await
            .unwrap();
    (actions, texts)
}

#[tokio::test]
async fn set_change_lock_and_unlock_each_leave_an_audit_row_and_an_alert_in_the_members_language() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let user = amina(&pool).await;

    assert_eq!(
        set(&pool, user, "2468", PinChange::First, "hop-1")
            .await
            .unwrap(),
        PinSet::Stored
    );
    assert_eq!(
        set(&pool, user, "7391", PinChange::Change, "hop-2")
            .await
            .unwrap(),
        PinSet::Stored
    );
    assert_eq!(check_once(&pool, user, "7391").await, PinCheck::Correct);
    for _ in 0..MAX_ATTEMPTS {
        check_once(&pool, user, "2468").await;
    }
    let mut tx = pool.begin().await.unwrap();
    let phone = Msisdn::parse(AMINA).unwrap();
    let unlocked = pin::unlock(&mut tx, &texts(), pesachama::chama::Actor::Cli, &phone)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(unlocked, Unlocked::Cleared { .. }));

    let (actions, sms) = trail(&pool, user).await;
    assert_eq!(actions, ["pin.set", "pin.change", "pin.lock", "pin.unlock"]);
    assert_eq!(sms.len(), 4, "{sms:?}");
    assert!(
        sms[0].starts_with("PesaChama: PIN yako imewekwa"),
        "{}",
        sms[0]
    );
    assert!(
        sms[1].starts_with("PesaChama: PIN yako imebadilishwa"),
        "{}",
        sms[1]
    );
    assert!(sms[2].contains("imefungwa hadi"), "{}", sms[2]);
    assert!(sms[3].contains("imefunguliwa"), "{}", sms[3]);
    let phones: Vec<String> = sqlx::query_scalar("select phone from sms_outbox where user_id = $1")
        .bind(user)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(phones.iter().all(|p| p == AMINA));
    let leaks: i64 = scalar(
        &pool,
        r#"select count(*) from audit_logs
            where subject = $1::text
              and (details::text ~ '2468|7391|711000007' or actor ~ '711000007')"#,
        user,
    )
    .await;
    assert_eq!(leaks, 0, "no PIN or phone in the audit trail");
    let state: (i32, i32, bool) = sqlx::query_as(
        "select pin_failed_attempts, pin_lock_count, pin_locked_until is null from users where id = $1",
    )
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        state,
        (0, 0, true),
        "an operator's unlock is the full reset"
    );
}

#[tokio::test]
async fn a_replayed_set_with_the_same_key_writes_nothing_more() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let user = amina(&pool).await;

    assert_eq!(
        set(&pool, user, "2468", PinChange::First, "hop-1")
            .await
            .unwrap(),
        PinSet::Stored
    );
    let hash: Vec<u8> = scalar(&pool, "select pin_hash from users where id = $1", user).await;
    assert_eq!(
        set(&pool, user, "2468", PinChange::First, "hop-1")
            .await
            .unwrap(),
        PinSet::Replayed
    );
    let replayed: Vec<u8> = scalar(&pool, "select pin_hash from users where id = $1", user).await;
    assert_eq!(hash, replayed, "the replay did not rehash");

    // A key longer than any session id still fits the outbox.
    let long_key = "k".repeat(500);
    assert_eq!(
        set(&pool, user, "7391", PinChange::Change, &long_key)
            .await
            .unwrap(),
        PinSet::Stored
    );
    assert_eq!(
        set(&pool, user, "7391", PinChange::Change, &long_key)
            .await
            .unwrap(),
        PinSet::Replayed
    );

    let (actions, sms) = trail(&pool, user).await;
    assert_eq!(actions, ["pin.set", "pin.change"]);
    assert_eq!(sms.len(), 2);
    assert_eq!(check_once(&pool, user, "7391").await, PinCheck::Correct);
}

#[tokio::test]
async fn the_same_set_sent_twice_at_once_is_stored_once() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let user = amina(&pool).await;
    let start = Arc::new(Barrier::new(2));
    let texts = Arc::new(texts());
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (start, texts, url) = (start.clone(), texts.clone(), db.url.clone());
            tokio::spawn(async move {
                let mut conn = PgConnection::connect(&url).await.unwrap();
                let mut tx = conn.begin().await.unwrap();
                start.wait().await;
                let set = pin::set_pin(
                    &mut tx,
                    &secret(),
                    &texts,
                    user,
                    &pin("2468"),
                    PinChange::First,
                    "hop-1",
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                set
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes.sort_by_key(|o| *o == PinSet::Replayed);
    assert_eq!(outcomes, [PinSet::Stored, PinSet::Replayed]);
    let (actions, sms) = trail(&pool, user).await;
    assert_eq!((actions.len(), sms.len()), (1, 1));
}

#[tokio::test]
async fn weak_pins_and_impossible_changes_are_refused_and_change_nothing() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let user = amina(&pool).await;

    for (digits, why) in [
        ("5555", Weakness::Repeated),
        ("3210", Weakness::Run),
        ("8901", Weakness::Run),
        ("6969", Weakness::Common),
        // Amina's phone ends in 0007, which is also no run or repeat.
        ("0007", Weakness::PhoneSuffix),
    ] {
        let refused = set(&pool, user, digits, PinChange::First, digits).await;
        assert!(
            matches!(refused, Err(SetPinError::Weak(w)) if w == why),
            "{digits}: {refused:?}"
        );
    }
    assert!(matches!(
        set(&pool, user, "2468", PinChange::Change, "change-without-pin").await,
        Err(SetPinError::NotSet)
    ));
    let has_pin: bool = scalar(
        &pool,
        "select pin_hash is not null from users where id = $1",
        user,
    )
    .await;
    assert!(!has_pin);
    assert_eq!(trail(&pool, user).await, (vec![], vec![]));

    set(&pool, user, "2468", PinChange::First, "first")
        .await
        .unwrap();
    assert!(matches!(
        set(&pool, user, "7391", PinChange::First, "second-first").await,
        Err(SetPinError::AlreadySet)
    ));
    assert!(matches!(
        set(&pool, user, "2468", PinChange::Change, "same").await,
        Err(SetPinError::Weak(Weakness::SameAsOld))
    ));
    for _ in 0..MAX_ATTEMPTS {
        check_once(&pool, user, "1357").await;
    }
    assert!(matches!(
        set(&pool, user, "7391", PinChange::Change, "while-locked").await,
        Err(SetPinError::Locked(_))
    ));
    let (actions, _) = trail(&pool, user).await;
    assert_eq!(actions, ["pin.set", "pin.lock"]);
}

#[tokio::test]
async fn a_pin_check_for_an_unknown_user_or_one_without_a_pin_is_not_set() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let user = amina(&pool).await;
    assert_eq!(check_once(&pool, user, "2468").await, PinCheck::NotSet);
    assert_eq!(
        check_once(&pool, Uuid::new_v4(), "2468").await,
        PinCheck::NotSet
    );
}

#[tokio::test]
async fn a_weak_pin_typed_on_ussd_is_refused_in_swahili_and_asked_again() {
    let app = spawn_app().await;
    amina(&app.state.db).await;
    let mut phone = app.phone(AMINA);
    phone
        .walk(&[
            (None, &["Chagua lugha"]),
            (Some("2"), &["Weka PIN"]),
            (Some("1234"), &["Weka PIN hiyo tena"]),
            (
                Some("1234"),
                &["Tarakimu zinazofuatana", "Weka PIN ya tarakimu 4"],
            ),
            (Some("2468"), &["Weka PIN hiyo tena"]),
            (Some("2468"), &["1 Salio"]),
        ])
        .await;
}

#[tokio::test]
async fn a_pin_change_on_ussd_refuses_the_old_pin_and_leaves_an_alert() {
    let app = spawn_app().await;
    let (_, user) = grace(&app.state.db, "en").await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["5 My account"]),
            (Some("5"), &["1 Change PIN"]),
            (Some("1"), &["Enter your current PIN"]),
            (Some(RIGHT), &["Enter your new 4-digit PIN"]),
            (Some(RIGHT), &["same PIN again"]),
            (Some(RIGHT), &["must differ", "Enter your new 4-digit PIN"]),
            (Some("2468"), &["same PIN again"]),
            (Some("2468"), &["1 Balance"]),
        ])
        .await;
    let (actions, sms) = trail(&app.state.db, user).await;
    assert_eq!(actions, ["pin.change"]);
    assert!(
        sms[0].starts_with("PesaChama: your PIN was changed"),
        "{sms:?}"
    );
}

/// What one plain read judges, without the PIN-check lock.
async fn peek(pool: &PgPool, user: Uuid, digits: &str) -> Option<PinCheck> {
    let mut conn = pool.acquire().await.unwrap();
    pin::peek(&mut conn, &secret(), user, &pin(digits))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_plain_read_settles_only_what_writes_nothing() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (_, user) = grace(&pool, "en").await;
    // A clean account: the right PIN is settled by the read, a wrong one
    // is left to the serialised check, which counts it.
    assert_eq!(peek(&pool, user, RIGHT).await, Some(PinCheck::Correct));
    assert_eq!(peek(&pool, user, WRONG).await, None);
    assert_eq!(
        check_once(&pool, user, WRONG).await,
        PinCheck::Wrong {
            remaining: MAX_ATTEMPTS - 1
        }
    );
    // A count to clear: even the right PIN goes to the check.
    assert_eq!(peek(&pool, user, RIGHT).await, None);
    assert_eq!(check_once(&pool, user, RIGHT).await, PinCheck::Correct);
    assert_eq!(peek(&pool, user, RIGHT).await, Some(PinCheck::Correct));
    // Locked: refused by the read whatever is typed, and nothing counted.
    for _ in 0..MAX_ATTEMPTS {
        check_once(&pool, user, WRONG).await;
    }
    assert!(matches!(
        peek(&pool, user, RIGHT).await,
        Some(PinCheck::Locked { .. })
    ));
    let failed: i32 = scalar(
        &pool,
        "select pin_failed_attempts from users where id = $1",
        user,
    )
    .await;
    assert_eq!(failed, 0, "the read counted nothing");
    // No PIN, or no such user.
    assert_eq!(
        peek(&pool, amina(&pool).await, "2468").await,
        Some(PinCheck::NotSet)
    );
    assert_eq!(
        peek(&pool, Uuid::new_v4(), "2468").await,
        Some(PinCheck::NotSet)
    );
}
