//! `--validator-cache`: revalidations answered 304 from cached validators, without a query.
//!
//! What invalidates an entry, per storage:
//!
//! | storage | invalidated by | a 304 is at most this late |
//! |---|---|---|
//! | process memory, SQLite with one process | this process's writes (the layer) | late only for a write that commits after its request was dropped |
//! | SQLite shared by several processes | this process's writes only | `--validator-cache-max-age` after another process's write |
//! | PostgreSQL | every committed write, heard as a `NOTIFY` (tower-conditional-postgres) | the notification's delivery; off while not listening |
//!
//! On PostgreSQL the `items` table's trigger notifies `items_changed` with the item's key, and
//! a listener on a connection of its own (`--validator-cache-listen`, else `--database`)
//! invalidates it. The cache is off while that connection is not listening (connecting, lost,
//! or silent past its heartbeat): every revalidation then asks the database.

use std::time::Duration;

use axum::Router;
use tower_conditional::ValidatorCache;
use tower_conditional_postgres::{Listener, ListenerHandle, Trigger};

use super::app;
use super::app::storage::StorageError;
use super::database::Database;
use super::database::postgres::Postgres;
use super::database::sqlite::Sqlite;

/// Most bytes of validators cached per process.
const MAX_BYTES: u64 = 32 * 1024 * 1024;

/// The validator cache, keyed by item key (the one `check_key` validated). On PostgreSQL the
/// listener switches it off until it hears every write.
fn cache(max_age: Duration) -> ValidatorCache<String> {
    eprintln!(
        "validator cache: max age {max_age:?}, at most {} MiB",
        MAX_BYTES >> 20
    );
    ValidatorCache::builder(app::item_key)
        .max_bytes(MAX_BYTES)
        .max_age(max_age)
        .build()
}

/// The application over process memory, with the cache (invalidated by the layer alone).
pub fn memory_router(max_age: Duration) -> Router {
    let memory = super::app::memory::Memory::new();
    app::router_cached(memory, app::Clock::system(), Some(cache(max_age)))
}

/// The application over `database` with the cache (see the module docs for what invalidates
/// it), and on PostgreSQL the listener, which stops when its handle is dropped.
pub async fn router(
    database: &Database,
    max_age: Duration,
    listen: Option<&str>,
) -> Result<(Router, Option<ListenerHandle>), StorageError> {
    let cache = cache(max_age);
    Ok(match database {
        Database::Sqlite(path) => {
            let storage = Sqlite::open(path)?;
            (
                app::router_cached(storage, app::Clock::system(), Some(cache)),
                None,
            )
        }
        Database::Postgres(url) => {
            let storage = Postgres::connect(url).await?;
            let options = listen
                .unwrap_or(url)
                .parse()
                .map_err(|error| StorageError(format!("--validator-cache-listen: {error}")))?;
            let listening = Listener::new(options, "items_changed")
                .installing(Trigger::new("items", "key"))
                .spawn(cache.clone());
            let router = app::router_cached(storage, app::Clock::system(), Some(cache));
            (router, Some(listening))
        }
    })
}
