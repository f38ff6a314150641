//! The database refuses what would corrupt the books: every attack case in
//! `tests/sql/schema_invariants.sql` (unbalanced entries, edits to the audit
//! log, a receipt booked twice, self-approval...) must fail with its declared
//! SQLSTATE and constraint, after a fixture of legitimate use commits cleanly.
//!
//! These tests connect as the owner of the schema on purpose: the triggers are
//! the layer that holds even for the owner (a migration, an operator at psql).
//! What the runtime role may not do at all is tested in `db_roles.rs`.

use sqlx::{Connection, PgConnection};

use crate::helpers::TestDb;

const CATALOGUE: &str = include_str!("../sql/schema_invariants.sql");

#[derive(Default)]
struct Case {
    id: String,
    name: String,
    code: String,
    constraint: String,
    setup: String,
    attack: String,
}

#[derive(PartialEq)]
enum Section {
    Preamble,
    Fixture,
    Meta,
    Setup,
    Attack,
}

/// Splits the catalogue on its `-- @marker` lines.
fn parse_catalogue() -> (String, Vec<Case>) {
    let mut fixture = String::new();
    let mut cases: Vec<Case> = Vec::new();
    let mut section = Section::Preamble;
    for line in CATALOGUE.lines() {
        if let Some(marker) = line.strip_prefix("-- @") {
            let (tag, rest) = marker.split_once(' ').unwrap_or((marker, ""));
            match tag {
                "fixture" => section = Section::Fixture,
                "case" => {
                    let (id, name) = rest.split_once(' ').unwrap_or((rest, ""));
                    cases.push(Case {
                        id: id.into(),
                        name: name.into(),
                        ..Case::default()
                    });
                    section = Section::Meta;
                }
                "expect" => {
                    let case = cases.last_mut().expect("@expect follows @case");
                    let mut parts = rest.split_whitespace();
                    case.code = parts.next().unwrap_or_default().into();
                    case.constraint = parts.next().unwrap_or_default().into();
                }
                "setup" => section = Section::Setup,
                "attack" => section = Section::Attack,
                _ => {}
            }
            continue;
        }
        let target = match section {
            Section::Fixture => &mut fixture,
            Section::Setup => &mut cases.last_mut().unwrap().setup,
            Section::Attack => &mut cases.last_mut().unwrap().attack,
            Section::Preamble | Section::Meta => continue,
        };
        target.push_str(line);
        target.push('\n');
    }
    (fixture, cases)
}

#[tokio::test]
async fn the_database_refuses_every_attack_in_the_catalogue() {
    let (fixture, cases) = parse_catalogue();
    assert!(
        cases.len() >= 15,
        "catalogue parsed to only {} cases",
        cases.len()
    );
    let db = TestDb::new().await;
    let mut conn = PgConnection::connect(&db.owner_url).await.unwrap();
    sqlx::raw_sql(&fixture)
        .execute(&mut conn)
        .await
        .expect("the fixture (legitimate use) commits");

    let mut failures = Vec::new();
    for case in &cases {
        assert!(!case.code.is_empty(), "{} has no @expect", case.id);
        if !case.setup.trim().is_empty() {
            if let Err(e) = sqlx::raw_sql(&case.setup).execute(&mut conn).await {
                failures.push(format!("{} {}: setup failed: {e}", case.id, case.name));
                sqlx::raw_sql("rollback").execute(&mut conn).await.ok();
                continue;
            }
        }
        let outcome = sqlx::raw_sql(&case.attack).execute(&mut conn).await;
        // A refused statement inside `begin` leaves the transaction aborted.
        sqlx::raw_sql("rollback").execute(&mut conn).await.ok();
        match outcome {
            Ok(_) => failures.push(format!("{} {}: was accepted", case.id, case.name)),
            Err(sqlx::Error::Database(e)) => {
                let code = e.code().unwrap_or_default().into_owned();
                let constraint = e.constraint().unwrap_or_default();
                if code != case.code || constraint != case.constraint {
                    failures.push(format!(
                        "{} {}: expected {} {}, got {code} {constraint} ({})",
                        case.id,
                        case.name,
                        case.code,
                        case.constraint,
                        e.message()
                    ));
                }
            }
            Err(other) => failures.push(format!("{} {}: {other}", case.id, case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The fixture's postings (multi-row inserts, a reversal) kept their
    // balances, and no refused attack left a trace in them.
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn the_audit_log_cannot_be_rewritten_even_by_the_owner() {
    let db = TestDb::new().await;
    let mut conn = PgConnection::connect(&db.owner_url).await.unwrap();
    sqlx::query("insert into audit_logs (actor, action) values ('cli', 'chama.create')")
        .execute(&mut conn)
        .await
        .unwrap();
    for attack in [
        "update audit_logs set action = 'nothing'",
        "delete from audit_logs",
        "truncate audit_logs",
    ] {
        let error = sqlx::query(attack).execute(&mut conn).await.unwrap_err();
        let db_error = error.as_database_error().expect("a database refusal");
        assert_eq!(db_error.code().as_deref(), Some("PC003"), "{attack}");
    }
    let rows: i64 =
        sqlx::query_scalar("select count(*) from audit_logs where action = 'chama.create'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(rows, 1);
}
