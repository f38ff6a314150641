//! Is the database's schema the one this binary was built for?
//!
//! `serve` runs as the runtime role, which cannot migrate; instead it compares
//! sqlx's ledger of applied migrations (`_sqlx_migrations`) with the embedded
//! [`MIGRATOR`] and refuses to start when one of ours is missing or differs.

use sqlx::PgPool;

use super::{DbError, MIGRATOR};

/// One row of `_sqlx_migrations`.
struct Applied {
    version: i64,
    checksum: Vec<u8>,
    success: bool,
}

/// `Ok` when every embedded migration is applied, successfully and unchanged.
///
/// Migrations the database has and this binary lacks are accepted: during a
/// rolling upgrade the first new node migrates while old nodes keep serving,
/// and migrations only ever add.
pub async fn check_schema(pool: &PgPool) -> Result<(), DbError> {
    let applied = applied_migrations(pool).await?;
    for migration in MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        let row = applied.iter().find(|a| a.version == migration.version);
        match row {
            Some(a) if a.success && a.checksum == migration.checksum.as_ref() => {}
            Some(a) if a.success => {
                return Err(DbError::SchemaDiverged {
                    version: migration.version,
                    description: migration.description.to_string(),
                });
            }
            _ => {
                return Err(DbError::SchemaBehind {
                    version: migration.version,
                    description: migration.description.to_string(),
                });
            }
        }
    }
    Ok(())
}

async fn applied_migrations(pool: &PgPool) -> Result<Vec<Applied>, DbError> {
    // A database never migrated has no ledger at all: every migration is missing.
    let has_ledger: bool = sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null")
        .fetch_one(pool)
        .await
        .map_err(DbError::Catalog)?;
    if !has_ledger {
        return Ok(Vec::new());
    }
    // Not a checked query: the table is sqlx's, not part of `migrations/`.
    let rows: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("select version, checksum, success from _sqlx_migrations")
            .fetch_all(pool)
            .await
            .map_err(DbError::Catalog)?;
    Ok(rows
        .into_iter()
        .map(|(version, checksum, success)| Applied {
            version,
            checksum,
            success,
        })
        .collect())
}
