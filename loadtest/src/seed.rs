//! `pesachama-loadtest seed`: the members the scenarios dial as. Each phone of
//! the pool becomes a member of chama `LOAD` (or of `LOAD`, `LOAD2`, … with
//! `--chama-size`) with language `en`, the load-test PIN and a little ledger
//! history, through the gateway's own library functions. Re-running skips
//! members that exist, so it can top up a pool or resume an interrupted run.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use pesachama::chama::{self, Actor, ChamaCode, ChamaError, Role};
use pesachama::i18n::Lang;
use pesachama::ledger::{self, Line, accounts};
use pesachama::phone::Msisdn;
use pesachama::user::{self, pin::Pin};
use secrecy::SecretString;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::settings::PhonePool;

/// `pesachama-loadtest seed`.
#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// The gateway's database (`dev` prints it as "started private PostgreSQL").
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// How many members: the pool's phones 0..N.
    #[arg(long, env = "LOADTEST_PHONES", default_value_t = 10_000)]
    members: u64,
    /// The PIN every member gets.
    #[arg(long, env = "LOADTEST_PIN", default_value = "1234")]
    pin: String,
    /// The pool's phone prefix (see the README).
    #[arg(long, env = "LOADTEST_PHONE_PREFIX", default_value = "+2547200")]
    phone_prefix: String,
    /// The gateway's PIN secret; `dev` uses the built-in development one.
    #[arg(long, env = "PESACHAMA_PIN_SECRET", hide_env_values = true,
          default_value = pesachama::dev::DEV_PIN_SECRET, hide_default_value = true)]
    pin_secret: String,
    /// Members per chama; 0 puts everybody in `LOAD`. A smaller chama keeps
    /// the chama total on the balance screen a realistic sum.
    #[arg(long, default_value_t = 0)]
    chama_size: u64,
    /// Members written per transaction.
    #[arg(long, default_value_t = 500)]
    batch: usize,
}

/// Seeds the pool; prints progress and what it did.
pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let pool = PhonePool::new(&args.phone_prefix, args.members)?;
    let pin = Pin::parse(&args.pin).context("--pin must be four digits")?;
    let secret = SecretString::from(args.pin_secret);
    let db = pesachama::db::connect(&SecretString::from(args.database_url)).await?;
    pesachama::db::migrate(&db).await?;

    let started = Instant::now();
    let chama_size = if args.chama_size == 0 {
        args.members
    } else {
        args.chama_size
    };
    let (mut added, mut kept) = (0usize, 0usize);
    for group in 0..args.members.div_ceil(chama_size) {
        let code = chama_code(group);
        let chama_id = ensure_chama(&db, &code).await?;
        let mut conn = db.acquire().await?;
        let existing: HashSet<String> = chama::list_members(&mut conn, code.as_str())
            .await?
            .into_iter()
            .map(|m| m.phone)
            .collect();
        drop(conn);
        let first = group * chama_size;
        let last = (first + chama_size).min(args.members);
        let missing: Vec<u64> = (first..last)
            .filter(|&i| !existing.contains(&pool.phone(i)))
            .collect();
        kept += (last - first) as usize - missing.len();
        for batch in missing.chunks(args.batch.max(1)) {
            let mut tx = db.begin().await?;
            for &index in batch {
                let phone = Msisdn::parse(&pool.phone(index))
                    .with_context(|| format!("{} is not a mobile number", pool.phone(index)))?;
                let name = format!("Load Member {index}");
                let member = chama::add_member(
                    &mut tx,
                    Actor::System,
                    code.as_str(),
                    &phone,
                    &name,
                    Role::Member,
                )
                .await?;
                user::pin::seed_pin(&mut tx, &secret, member.user_id, &pin).await?;
                user::set_language(&mut tx, member.user_id, Lang::En).await?;
                post_history(&mut tx, chama_id, member.user_id, index).await?;
            }
            tx.commit().await?;
            added += batch.len();
            println!("{code}: {added} members added ({:.0?})", started.elapsed());
        }
    }
    println!(
        "seeded {} phones {}..{}: {added} added, {kept} already there, in {:.1?}",
        args.members,
        pool.phone(0),
        pool.phone(args.members - 1),
        started.elapsed()
    );
    Ok(())
}

/// `LOAD` for the first chama, then `LOAD2`, `LOAD3`, …
fn chama_code(group: u64) -> ChamaCode {
    let code = match group {
        0 => "LOAD".to_owned(),
        n => format!("LOAD{}", n + 1),
    };
    ChamaCode::parse(&code).expect("LOAD and a number make a chama code")
}

/// The chama's id, creating it first when needed.
async fn ensure_chama(db: &sqlx::PgPool, code: &ChamaCode) -> anyhow::Result<Uuid> {
    let mut tx = db.begin().await?;
    let name = format!("Load Test {code}");
    let id = match chama::create_chama(&mut tx, Actor::System, &name, code).await {
        Ok(chama) => chama.id,
        Err(ChamaError::CodeTaken(_)) => {
            tx.rollback().await?;
            let mut conn = db.acquire().await?;
            return Ok(chama::find_chama(&mut conn, code.as_str()).await?.id);
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(id)
}

/// A contribution for everyone, a loan for every fourth member and a fine
/// for every tenth, so the balance screen has figures of each kind. All in
/// meeting cash: M-Pesa cash moves only with a receipt or a payout, and
/// `pesachama ledger check` holds it to that, so a seeded history there
/// would fail the check after every load run.
async fn post_history(
    conn: &mut PgConnection,
    chama_id: Uuid,
    member: Uuid,
    index: u64,
) -> anyhow::Result<()> {
    let line = |account_code, member, amount| Line {
        account_code,
        member,
        amount,
    };
    let savings = 1_000 + (index % 50) as i64 * 100;
    let shares = 500;
    let mut entries = vec![(
        "contribution",
        "Contribution (load test)",
        vec![
            line(accounts::CASH, None, savings + shares),
            line(accounts::SAVINGS, Some(member), -savings),
            line(accounts::SHARES, Some(member), -shares),
        ],
    )];
    if index % 4 == 0 {
        entries.push((
            "loan",
            "Loan disbursed (load test)",
            vec![
                line(accounts::LOANS, Some(member), 5_000),
                line(accounts::CASH, None, -5_000),
            ],
        ));
    }
    if index % 10 == 0 {
        entries.push((
            "fine",
            "Late fine paid (load test)",
            vec![
                line(accounts::CASH, None, 200),
                line(accounts::FINES, Some(member), -200),
            ],
        ));
    }
    for (kind, description, lines) in entries {
        let key = format!("loadtest-{member}-{kind}");
        ledger::post_entry(conn, chama_id, &key, description, Utc::now(), &lines).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chama_codes_are_valid_and_distinct() {
        assert_eq!(chama_code(0).as_str(), "LOAD");
        assert_eq!(chama_code(1).as_str(), "LOAD2");
        assert_eq!(chama_code(99_999).as_str(), "LOAD100000");
    }
}
