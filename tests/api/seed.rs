//! Test data through the same library functions the CLI and `dev` use.

use pesachama::chama::{self, Actor, ChamaCode, Role};
use pesachama::ledger::{Line, Posting, accounts, post_entry};
use pesachama::phone::Msisdn;
use pesachama::user::pin::{Pin, seed_pin};
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::assert_ledger_consistent;

/// Grace's phone: the chairperson most tests dial as.
pub const GRACE: &str = "+254711000001";
/// Dan's phone (see [`dan`]).
pub const DAN: &str = "+254711000004";

/// The PIN secret `helpers::test_settings` gives the app.
pub const PIN_SECRET: &str = "test-pin-secret-0123456789abcdef0123";

/// Creates a chama unless it exists; returns its id.
pub async fn chama(db: &PgPool, code: &str, name: &str) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let code = ChamaCode::parse(code).unwrap();
    let id = match chama::create_chama(&mut tx, Actor::System, name, &code).await {
        Ok(chama) => chama.id,
        Err(_) => {
            drop(tx);
            let mut conn = db.acquire().await.unwrap();
            return chama::find_chama(&mut conn, code.as_str())
                .await
                .unwrap()
                .id;
        }
    };
    tx.commit().await.unwrap();
    id
}

/// Adds a member; with `pin`, also stores their PIN (so the first dial goes
/// straight to the main menu) and their language. The PIN is seeded without
/// the weak-PIN rule ([`seed_pin`]), so tests may type an easy one like 1234.
pub async fn member(
    db: &PgPool,
    chama_code: &str,
    phone: &str,
    name: &str,
    role: Role,
    pin: Option<&str>,
    lang: &str,
) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let phone = Msisdn::parse(phone).unwrap();
    let member = chama::add_member(&mut tx, Actor::System, chama_code, &phone, name, role)
        .await
        .unwrap();
    if let Some(pin) = pin {
        let secret = SecretString::from(PIN_SECRET.to_owned());
        seed_pin(&mut tx, &secret, member.user_id, &Pin::parse(pin).unwrap())
            .await
            .unwrap();
    }
    sqlx::query("update users set language = $2 where id = $1")
        .bind(member.user_id)
        .bind(lang)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    member.user_id
}

/// Books a contribution of `savings` + `shares` for the member.
pub async fn contribution(
    db: &PgPool,
    chama_id: Uuid,
    member: Uuid,
    key: &str,
    savings: i64,
    shares: i64,
) {
    let mut tx = db.begin().await.unwrap();
    let lines = [
        Line {
            account_code: accounts::MPESA,
            member: None,
            amount: savings + shares,
        },
        Line {
            account_code: accounts::SAVINGS,
            member: Some(member),
            amount: -savings,
        },
        Line {
            account_code: accounts::SHARES,
            member: Some(member),
            amount: -shares,
        },
    ];
    let Posting::Posted(entry) = post_entry(
        &mut tx,
        chama_id,
        key,
        "Contribution",
        chrono::Utc::now(),
        &lines,
    )
    .await
    .unwrap() else {
        panic!("contribution {key} was already booked");
    };
    // Paid by M-Pesa: the receipt registry says so, as `ledger check` wants
    // of every movement of cash at M-Pesa.
    sqlx::query(
        "insert into mpesa_receipts (receipt, source, chama_id, amount, journal_entry_id)
         values ($1, 'c2b', $2, $3, $4)",
    )
    .bind(receipt_for(key))
    .bind(chama_id)
    .bind(savings + shares)
    .bind(entry)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // The USSD tests post only through this seed (their operations move no
    // money yet), so the books are checked here rather than at each test's end.
    assert_ledger_consistent(&mut db.acquire().await.unwrap()).await;
}

/// An M-Pesa receipt number of the right shape, one per posting key.
fn receipt_for(key: &str) -> String {
    let digest = key.bytes().fold(0xcbf29ce484222325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("T{digest:016X}")[..10].to_owned()
}

/// Dan, a plain member of UMOJA without a PIN, for the ledger tests:
/// `(chama id, user id)`.
pub async fn dan(db: &PgPool) -> (Uuid, Uuid) {
    let umoja = chama(db, "UMOJA", "Umoja Women Group").await;
    let dan = member(db, "UMOJA", DAN, "Dan", Role::Member, None, "en").await;
    (umoja, dan)
}

/// Grace Wanjiku, the chairperson of UMOJA, with PIN 1234 and `lang`:
/// `(chama id, user id)`.
pub async fn grace(db: &PgPool, lang: &str) -> (Uuid, Uuid) {
    let umoja = chama(db, "UMOJA", "Umoja Women Group").await;
    let grace = member(
        db,
        "UMOJA",
        GRACE,
        "Grace Wanjiku",
        Role::Chairperson,
        Some("1234"),
        lang,
    )
    .await;
    (umoja, grace)
}

/// The paybill tests' payers, members of UMOJA: Grace (member 1, Swahili)
/// and Otieno (member 2, treasurer, English).
pub const PAYBILL_GRACE: &str = "+254711000021";
pub const PAYBILL_OTIENO: &str = "+254711000022";

/// UMOJA with the paybill tests' two payers.
pub async fn paybill_payers(db: &PgPool) {
    chama(db, "UMOJA", "Umoja Women Group").await;
    member(
        db,
        "UMOJA",
        PAYBILL_GRACE,
        "Grace",
        Role::Member,
        None,
        "sw",
    )
    .await;
    member(
        db,
        "UMOJA",
        PAYBILL_OTIENO,
        "Otieno",
        Role::Treasurer,
        None,
        "en",
    )
    .await;
}
