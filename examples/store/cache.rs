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
//! the cache is off: the key function answers `None`, so every revalidation asks the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use http::request::Parts;
use tower_conditional::ValidatorCache;

use super::app;
use super::app::storage::StorageError;
use super::database::Database;
use super::database::postgres::Postgres;
use super::database::sqlite::Sqlite;

#[path = "listen.rs"]
mod listen;

/// Most items cached per process.
const MAX_ENTRIES: usize = 100_000;

/// A validator cache keyed by item key, used only while it is switched on.
#[derive(Clone)]
pub struct Switched {
    cache: ValidatorCache<String>,
    on: Arc<AtomicBool>,
}

impl Switched {
    /// Off until [`switch_on`](Self::switch_on).
    pub fn new(max_age: Duration) -> Self {
        eprintln!("validator cache: max age {max_age:?}, at most {MAX_ENTRIES} entries");
        let on = Arc::new(AtomicBool::new(false));
        let gate = Arc::clone(&on);
        let cache = ValidatorCache::builder(move |head: &Parts| {
            // SeqCst: a request that sees "on" sees every invalidation made before it.
            if gate.load(Ordering::SeqCst) {
                app::item_key(head)
            } else {
                None
            }
        })
        .max_entries(MAX_ENTRIES)
        .max_age(max_age)
        .build();
        Switched { cache, on }
    }

    /// The cache, to invalidate keys from outside the layer.
    pub fn handle(&self) -> ValidatorCache<String> {
        self.cache.clone()
    }

    /// Empties the cache, then serves from it (invalidations are heard from now on).
    pub fn switch_on(&self) {
        self.cache.invalidate_all();
        self.on.store(true, Ordering::SeqCst);
    }

    /// Stops serving from the cache and empties it (invalidations may be missed from now on).
    pub fn switch_off(&self) {
        self.on.store(false, Ordering::SeqCst);
        self.cache.invalidate_all();
    }
}

/// The application over process memory, with the cache (invalidated by the layer alone).
pub fn memory_router(max_age: Duration) -> Router {
    let cache = Switched::new(max_age);
    cache.switch_on();
    app::router_cached(
        super::app::memory::Memory::new(),
        app::Clock::system(),
        Some(cache.handle()),
    )
}

/// The application over `database` with the cache: see the module docs for what invalidates it.
pub async fn router(
    database: &Database,
    max_age: Duration,
    listen: Option<&str>,
) -> Result<Router, StorageError> {
    let cache = Switched::new(max_age);
    Ok(match database {
        Database::Sqlite(path) => {
            cache.switch_on();
            app::router_cached(
                Sqlite::open(path)?,
                app::Clock::system(),
                Some(cache.handle()),
            )
        }
        Database::Postgres(url) => {
            let storage = Postgres::connect(url).await?;
            listen::spawn(listen.unwrap_or(url).to_owned(), cache.clone());
            app::router_cached(storage, app::Clock::system(), Some(cache.handle()))
        }
    })
}
