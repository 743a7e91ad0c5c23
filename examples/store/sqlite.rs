//! The SQLite backend: one database file, no server. Several processes may share the file.
//!
//! Each operation runs on tokio's blocking pool with a connection from a small pool of open
//! connections. The file is in WAL mode (readers never wait for the writer) with a busy timeout,
//! and every write is one `BEGIN IMMEDIATE` transaction: it takes SQLite's single write lock
//! first, then runs the compare-and-set statement, then (only on a conflict) reads the state that
//! refused it. Writers in different processes therefore queue on the file lock, and the
//! `UPDATE ... WHERE key = ?1 AND etag = ?4` is what decides, exactly as on PostgreSQL. The
//! statement also dates the new version, `max(unixepoch(), updated_at + 1)`: by SQLite's clock,
//! never the writer's idea of the time.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use rusqlite::{Connection, OptionalExtension, Params, TransactionBehavior};
use tower_conditional::ETag;

use super::sql::{self, failed, within_timeout};
use super::storage::{CasOutcome, Expected, Item, Storage, StorageError, Version};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY NOT NULL,
    content BLOB NOT NULL,
    etag TEXT NOT NULL,
    updated_at INTEGER NOT NULL
)";

/// How long a connection waits for another connection's (or process's) write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle connections kept open for reuse.
const MAX_IDLE: usize = 16;

/// A store in one SQLite file.
#[derive(Debug, Clone)]
pub struct Sqlite {
    inner: Arc<Pool>,
}

#[derive(Debug)]
struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// A row's `etag` and `updated_at` columns, not yet checked.
type Columns = (String, i64);

impl Sqlite {
    /// Opens (creating if needed) the database file at `path` and its `items` table.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let path = path.into();
        let connection = connect(&path).map_err(|error| {
            failed(
                &format!("opening SQLite database {}", path.display()),
                error,
            )
        })?;
        connection
            .execute_batch(SCHEMA)
            .map_err(|error| failed("creating the items table", error))?;
        Ok(Sqlite {
            inner: Arc::new(Pool {
                path,
                idle: Mutex::new(vec![connection]),
            }),
        })
    }

    /// Runs `operation` on a pooled connection on the blocking pool, within the timeout.
    async fn run<T: Send + 'static>(
        &self,
        doing: &'static str,
        operation: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let pool = self.inner.clone();
        let blocking = tokio::task::spawn_blocking(move || pool.with_connection(operation));
        within_timeout(async move {
            match blocking.await {
                Ok(result) => result.map_err(|error| failed(doing, error)),
                Err(error) => Err(failed(doing, error)),
            }
        })
        .await
    }

    /// A compare-and-set write: `statement` (which changes one row and returns its
    /// `updated_at`, or changes none when the stored state is not the expected one) in a
    /// `BEGIN IMMEDIATE` transaction, and on no change the state that refused it, read in the
    /// same transaction.
    async fn compare_and_set<P: Params + Send + 'static>(
        &self,
        doing: &'static str,
        key: &str,
        statement: &'static str,
        params: P,
    ) -> Result<CasOutcome<i64>, StorageError> {
        let key = key.to_owned();
        let outcome = self
            .run(doing, move |connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let written = transaction
                    .prepare_cached(statement)?
                    .query_row(params, |row| row.get::<_, i64>(0))
                    .optional()?;
                let outcome = match written {
                    Some(updated_at) => Ok(updated_at),
                    None => Err(read_columns(&transaction, &key)?),
                };
                transaction.commit()?;
                Ok(outcome)
            })
            .await?;
        match outcome {
            Ok(updated_at) => Ok(CasOutcome::Done(updated_at)),
            Err(columns) => Ok(CasOutcome::Conflict(to_version(columns)?)),
        }
    }
}

impl Pool {
    /// Runs `operation` on an idle connection, or a new one; keeps the connection unless the
    /// operation failed (a broken connection is not reused).
    fn with_connection<T>(
        &self,
        operation: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => connect(&self.path)?,
        };
        let result = operation(&mut connection);
        if result.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(connection);
            }
        }
        result
    }
}

/// A new connection: WAL mode, a busy timeout, `synchronous = NORMAL` (durable across process
/// crashes; a power loss may undo the last commits, never corrupt the file).
fn connect(path: &PathBuf) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.query_row("PRAGMA journal_mode = WAL", [], |row| {
        row.get::<_, String>(0)
    })?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(connection)
}

/// The `etag` and `updated_at` of the row under `key`, if any.
fn read_columns(connection: &Connection, key: &str) -> rusqlite::Result<Option<Columns>> {
    connection
        .prepare_cached("SELECT etag, updated_at FROM items WHERE key = ?1")?
        .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
}

fn to_version(columns: Option<Columns>) -> Result<Option<Version>, StorageError> {
    columns
        .map(|(etag, updated_at)| sql::version_from_columns(&etag, updated_at))
        .transpose()
}

impl Storage for Sqlite {
    async fn version(&self, key: &str) -> Result<Option<Version>, StorageError> {
        let key = key.to_owned();
        let columns = self
            .run("reading validators", move |connection| {
                read_columns(connection, &key)
            })
            .await?;
        to_version(columns)
    }

    async fn get(&self, key: &str) -> Result<Option<Item>, StorageError> {
        let key = key.to_owned();
        let row = self
            .run("reading an item", move |connection| {
                connection
                    .prepare_cached("SELECT content, etag, updated_at FROM items WHERE key = ?1")?
                    .query_row([key], |row| {
                        Ok((
                            row.get::<_, Vec<u8>>(0)?,
                            row.get::<_, String>(1)?,
                            row.get(2)?,
                        ))
                    })
                    .optional()
            })
            .await?;
        let Some((content, etag, updated_at)) = row else {
            return Ok(None);
        };
        Ok(Some(Item {
            content: Bytes::from(content),
            version: sql::version_from_columns(&etag, updated_at)?,
        }))
    }

    async fn put_if(
        &self,
        key: &str,
        expected: Expected<'_>,
        content: Bytes,
        etag: ETag,
    ) -> Result<CasOutcome<Version>, StorageError> {
        let tag = sql::etag_column(&etag).to_owned();
        // `updated_at` by the database's clock (`unixepoch()`: whole seconds, in the process
        // that runs the statement; every process sharing the file reads one machine's clock),
        // later than the replaced row's.
        let outcome = match expected {
            // Create-only: the primary key refuses a second row.
            Expected::Missing => {
                let params = (key.to_owned(), Vec::from(content), tag);
                self.compare_and_set(
                    "creating an item",
                    key,
                    "INSERT INTO items (key, content, etag, updated_at)
                     VALUES (?1, ?2, ?3, unixepoch())
                     ON CONFLICT (key) DO NOTHING
                     RETURNING updated_at",
                    params,
                )
                .await?
            }
            // Replace: only the row still carrying the checked tag.
            Expected::Current(checked) => {
                let checked = sql::etag_column(checked).to_owned();
                let params = (key.to_owned(), Vec::from(content), tag, checked);
                self.compare_and_set(
                    "replacing an item",
                    key,
                    "UPDATE items
                     SET content = ?2, etag = ?3, updated_at = max(unixepoch(), updated_at + 1)
                     WHERE key = ?1 AND etag = ?4
                     RETURNING updated_at",
                    params,
                )
                .await?
            }
        };
        sql::written(outcome, etag)
    }

    async fn delete_if(&self, key: &str, expected: &ETag) -> Result<CasOutcome<()>, StorageError> {
        let params = (key.to_owned(), sql::etag_column(expected).to_owned());
        let outcome = self
            .compare_and_set(
                "deleting an item",
                key,
                "DELETE FROM items WHERE key = ?1 AND etag = ?2 RETURNING updated_at",
                params,
            )
            .await?;
        Ok(sql::done(outcome))
    }
}
