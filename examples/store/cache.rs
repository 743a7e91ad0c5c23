//! `--validator-cache`: revalidations answered 304 from cached validators, without a query.
//!
//! What invalidates an entry, per storage:
//!
//! | storage | invalidated by | a 304 is at most this late |
//! |---|---|---|
//! | process memory, SQLite with one process | this process's writes (the layer) | late only for a write that commits after its request was dropped |
//! | SQLite shared by several processes | this process's writes only | `--validator-cache-max-age` after another process's write |
//! | PostgreSQL | every committed write, heard as a `NOTIFY` (see `listen.rs`) | the notification's delivery; the max age while not listening |
//!
//! While a PostgreSQL replica is not listening (connecting, or its listening connection lost),
//! the cache is switched off (`ValidatorCache::switch_off`): every revalidation asks the
//! database.

use std::time::Duration;

use axum::Router;
use tower_conditional::ValidatorCache;

use super::app;
use super::app::storage::StorageError;
use super::database::Database;
use super::database::postgres::Postgres;
use super::database::sqlite::Sqlite;

#[path = "listen.rs"]
mod listen;

/// Most bytes of validators cached per process.
const MAX_BYTES: u64 = 32 * 1024 * 1024;

/// A validator cache keyed by item key (the one `check_key` validated), switched off: the
/// caller switches it on once it hears every write (at once without replicas).
fn switched_off(max_age: Duration) -> ValidatorCache<String> {
    eprintln!(
        "validator cache: max age {max_age:?}, at most {} MiB",
        MAX_BYTES >> 20
    );
    ValidatorCache::builder(app::item_key)
        .max_bytes(MAX_BYTES)
        .max_age(max_age)
        .switched_off()
        .build()
}

/// The application over process memory, with the cache (invalidated by the layer alone).
pub fn memory_router(max_age: Duration) -> Router {
    let cache = switched_off(max_age);
    cache.switch_on();
    app::router_cached(
        super::app::memory::Memory::new(),
        app::Clock::system(),
        Some(cache),
    )
}

/// The application over `database` with the cache: see the module docs for what invalidates it.
pub async fn router(
    database: &Database,
    max_age: Duration,
    listen: Option<&str>,
) -> Result<Router, StorageError> {
    let cache = switched_off(max_age);
    Ok(match database {
        Database::Sqlite(path) => {
            cache.switch_on();
            app::router_cached(Sqlite::open(path)?, app::Clock::system(), Some(cache))
        }
        Database::Postgres(url) => {
            let storage = Postgres::connect(url).await?;
            listen::spawn(listen.unwrap_or(url).to_owned(), cache.clone());
            app::router_cached(storage, app::Clock::system(), Some(cache))
        }
    })
}
