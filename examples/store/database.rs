//! The store's storage as chosen on the command line: `--database URL` (or `DATABASE_URL`).
//!
//! | URL | storage |
//! |---|---|
//! | none | process memory (lost on exit; one process only) |
//! | `sqlite://PATH` (also `sqlite:PATH`) | the SQLite file at `PATH`, created if missing; several processes may share it |
//! | `postgres://...` or `postgresql://...` | a PostgreSQL database; several replicas may share it |

#[path = "postgres.rs"]
pub mod postgres;
#[path = "sql.rs"]
mod sql;
#[path = "sqlite.rs"]
pub mod sqlite;

use std::path::PathBuf;

use axum::Router;

use super::app;
// Through this import the backends reach `app::storage` as `super::storage`.
use super::app::storage::{self, StorageError};
use postgres::Postgres;
use sqlite::Sqlite;

/// A database URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `sqlite://PATH`: the file at `PATH`.
    Sqlite(PathBuf),
    /// `postgres://...`: the URL as given, for the driver.
    Postgres(String),
}

impl Database {
    /// Parses `sqlite://PATH`, `sqlite:PATH`, `postgres://...` or `postgresql://...`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(format!("invalid database URL {url:?}: no file path"));
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_owned()));
        }
        Err(format!(
            "invalid database URL {url:?}: expected sqlite://PATH or postgres://..."
        ))
    }

    /// Opens the database (creating its table if needed) and builds the application over it.
    pub async fn router(&self) -> Result<Router, StorageError> {
        self.router_with_clock(app::Clock::system()).await
    }

    /// [`Database::router`] on a replica whose clock is `clock` (tests of replicas whose clocks
    /// disagree: versions are dated by the database's clock all the same).
    pub async fn router_with_clock(&self, clock: app::Clock) -> Result<Router, StorageError> {
        Ok(match self {
            Database::Sqlite(path) => app::router_with_clock(Sqlite::open(path)?, clock),
            Database::Postgres(url) => app::router_with_clock(Postgres::connect(url).await?, clock),
        })
    }
}

impl std::fmt::Display for Database {
    /// The kind and place, without the URL's credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "SQLite file {}", path.display()),
            Database::Postgres(_) => write!(f, "PostgreSQL"),
        }
    }
}
