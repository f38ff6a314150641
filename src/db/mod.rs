//! PostgreSQL plumbing shared by every domain module: the pool, the embedded
//! migrations, and the helper that turns a named constraint violation into a
//! domain outcome. Domain SQL lives in the module that owns the table.
//!
//! Two roles: migrations run as the owner of the schema (`DATABASE_OWNER_URL`),
//! the daemon as a runtime role that owns nothing (`DATABASE_URL`); see
//! [`roles`] and [`schema`].

mod hop_pool;
mod roles;
mod schema;

pub use hop_pool::{HOP_POOL_DISCARDED, HopConn, HopPool, STALE_AFTER};
pub use roles::{
    Provisioned, RUNTIME_GROUP, has_owner_powers, provision_runtime_role, url_for_login,
};
pub use schema::check_schema;

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, migrate::Migrator};

/// The forward-only migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connections per node: a USSD hop holds one for about a millisecond, so a
/// small pool serves thousands of hops a second and leaves room for more nodes.
pub const DEFAULT_POOL_SIZE: u32 = 16;
/// How long a caller waits for a free connection before the hop fails over.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL is not a usable PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot reach PostgreSQL: {0}")]
    Unreachable(sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database schema is behind this binary: migration {version} ({description}) \
         is not applied; run `pesachama migrate`"
    )]
    SchemaBehind { version: i64, description: String },
    #[error(
        "migration {version} ({description}) applied to the database differs from this \
         binary's; the two were built from different sources"
    )]
    SchemaDiverged { version: i64, description: String },
    #[error("cannot read the database's catalogue: {0}")]
    Catalog(sqlx::Error),
    #[error("cannot set up the runtime role `{role}`: {source}")]
    RuntimeRole { role: String, source: sqlx::Error },
}

/// Connects eagerly, so a database that is down is reported at start-up rather
/// than on the first member's hop.
pub async fn connect(url: &secrecy::SecretString) -> Result<PgPool, DbError> {
    let options: PgConnectOptions = url.expose_secret().parse().map_err(DbError::BadUrl)?;
    PgPoolOptions::new()
        .max_connections(DEFAULT_POOL_SIZE)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings a connection on every acquire by default: a round trip
        // per query, a fifth of the daemon's CPU under load. A broken
        // connection fails its query instead and the pool replaces it.
        .test_before_acquire(false)
        .connect_with(options.application_name("pesachama"))
        .await
        .map_err(DbError::Unreachable)
}

/// Applies every pending migration.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// True when `error` is a violation of the constraint or unique index `name`.
pub fn is_violation(error: &sqlx::Error, name: &str) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.constraint() == Some(name))
}
