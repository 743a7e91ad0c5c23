//! The notes' storage: one SQLite file (rusqlite, SQLite compiled in), behind a small pool of
//! connections used on tokio's blocking pool. Nothing in here knows about HTTP.
//!
//! Versions come from one counter, `revision`, bumped in the transaction of every write (create,
//! replace, patch, delete): a note's version is the revision that last wrote it, and the list's
//! version is the current revision, so the list's validators change after any write to any
//! note, by construction. Every write is a compare-and-set in a `BEGIN IMMEDIATE` transaction:
//! it names the version it replaces (a create conditional on the list, the list's) and changes
//! nothing when that version is gone.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    CREATE TABLE IF NOT EXISTS notes (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        count INTEGER NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS revision (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        value INTEGER NOT NULL
    );
    INSERT OR IGNORE INTO revision VALUES (1, 0);";

/// Idle connections kept open for reuse.
const MAX_IDLE: usize = 8;

/// A note as the API sends it. `version` is its ETag, sent as a header, not in the body.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub count: i64,
    #[serde(skip)]
    pub version: i64,
}

/// The body of a create (`POST /notes`) or a replace (`PUT /notes/{id}`).
#[derive(Debug, Deserialize)]
pub struct NewNote {
    pub title: String,
    #[serde(default)]
    pub body: String,
}

/// The body of a `PATCH /notes/{id}`: the fields to change.
#[derive(Debug, Default, Deserialize)]
pub struct NotePatch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub count: Option<i64>,
}

/// A failed database operation: a 500 for the client (its text is logged, not sent).
#[derive(Debug)]
pub struct DbError(String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database: {}", self.0)
    }
}

impl std::error::Error for DbError {}

impl IntoResponse for DbError {
    fn into_response(self) -> Response {
        eprintln!("{self}");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

/// What the database answers.
pub type DbResult<T> = Result<T, DbError>;

/// The database: cheap to clone, one pool shared by every clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Arc<Pool>,
}

#[derive(Debug)]
struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    Ok(connection)
}

fn note(row: &Row<'_>) -> rusqlite::Result<Note> {
    Ok(Note {
        id: row.get(0)?,
        title: row.get(1)?,
        body: row.get(2)?,
        count: row.get(3)?,
        version: row.get(4)?,
    })
}

/// The next revision, taken in `transaction`: the version of what it writes. With `after`, only
/// while the current revision is still `after` (the list's compare-and-set): `None` when not.
fn next_revision(
    transaction: &Transaction<'_>,
    after: Option<i64>,
) -> rusqlite::Result<Option<i64>> {
    transaction
        .query_row(
            "UPDATE revision SET value = value + 1 WHERE ?1 IS NULL OR value = ?1 RETURNING value",
            [after],
            |row| row.get(0),
        )
        .optional()
}

const COLUMNS: &str = "id, title, body, count, version";

impl Db {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: impl Into<PathBuf>) -> DbResult<Db> {
        let path = path.into();
        let connection = connect(&path).map_err(|e| DbError(e.to_string()))?;
        connection
            .execute_batch(SCHEMA)
            .map_err(|e| DbError(e.to_string()))?;
        let idle = Mutex::new(vec![connection]);
        Ok(Db {
            pool: Arc::new(Pool { path, idle }),
        })
    }

    /// Runs `operation` on a pooled connection, on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> DbResult<T> {
        let pool = Arc::clone(&self.pool);
        let result = tokio::task::spawn_blocking(move || {
            let idle = pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let mut connection = match idle {
                Some(connection) => connection,
                None => connect(&pool.path)?,
            };
            let result = operation(&mut connection);
            let mut idle = pool.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if result.is_ok() && idle.len() < MAX_IDLE {
                idle.push(connection);
            }
            result
        })
        .await;
        match result {
            Ok(result) => result.map_err(|e| DbError(e.to_string())),
            Err(e) => Err(DbError(e.to_string())),
        }
    }

    /// Runs `write` in a `BEGIN IMMEDIATE` transaction with the next revision (taken only while
    /// the revision is still `after`, when given); commits only when it wrote (`Some`), so a
    /// refused write leaves everything as it was.
    async fn write<T: Send + 'static>(
        &self,
        after: Option<i64>,
        write: impl FnOnce(&Transaction<'_>, i64) -> rusqlite::Result<Option<T>> + Send + 'static,
    ) -> DbResult<Option<T>> {
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(revision) = next_revision(&transaction, after)? else {
                return Ok(None);
            };
            let written = write(&transaction, revision)?;
            if written.is_some() {
                transaction.commit()?;
            }
            Ok(written)
        })
        .await
    }

    /// `SELECT version FROM notes WHERE id = ?`
    pub async fn version(&self, id: i64) -> DbResult<Option<i64>> {
        self.run(move |c| {
            c.prepare_cached("SELECT version FROM notes WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()
        })
        .await
    }

    /// The current revision: the version of the list.
    pub async fn revision(&self) -> DbResult<i64> {
        self.run(|c| c.query_row("SELECT value FROM revision", [], |row| row.get(0)))
            .await
    }

    pub async fn get(&self, id: i64) -> DbResult<Option<Note>> {
        self.run(move |c| {
            let sql = format!("SELECT {COLUMNS} FROM notes WHERE id = ?1");
            c.prepare_cached(&sql)?.query_row([id], note).optional()
        })
        .await
    }

    /// Every note, by id, and the revision they are at (read in one transaction).
    pub async fn list(&self) -> DbResult<(i64, Vec<Note>)> {
        self.run(|c| {
            let transaction = c.transaction()?;
            let revision = transaction.query_row("SELECT value FROM revision", [], |r| r.get(0))?;
            let sql = format!("SELECT {COLUMNS} FROM notes ORDER BY id");
            let notes = transaction
                .prepare_cached(&sql)?
                .query_map([], note)?
                .collect::<rusqlite::Result<_>>()?;
            Ok((revision, notes))
        })
        .await
    }

    /// Inserts a note; with `list`, compare-and-set on the list's version: only while the
    /// revision is still `list` (`None` when another write took it first).
    pub async fn create(&self, new: NewNote, list: Option<i64>) -> DbResult<Option<Note>> {
        self.write(list, move |t, revision| {
            let sql = format!(
                "INSERT INTO notes (title, body, count, version) VALUES (?1, ?2, 0, ?3) RETURNING {COLUMNS}"
            );
            t.query_row(&sql, params![new.title, new.body, revision], note)
                .map(Some)
        })
        .await
    }

    /// Compare-and-set replace: only if the note is still at `expected`; `None` when it is not
    /// (always when `expected` is `None`: the note was missing).
    pub async fn replace(
        &self,
        id: i64,
        expected: Option<i64>,
        new: NewNote,
    ) -> DbResult<Option<Note>> {
        self.write(None, move |t, revision| {
            let sql = format!(
                "UPDATE notes SET title = ?2, body = ?3, version = ?4 WHERE id = ?1 AND version = ?5 RETURNING {COLUMNS}"
            );
            let values = params![id, new.title, new.body, revision, expected];
            t.query_row(&sql, values, note).optional()
        })
        .await
    }

    /// Compare-and-set patch: only if the note is still at `expected`.
    pub async fn patch(
        &self,
        id: i64,
        expected: Option<i64>,
        patch: NotePatch,
    ) -> DbResult<Option<Note>> {
        self.write(None, move |t, revision| {
            let sql = format!(
                "UPDATE notes SET title = coalesce(?2, title), body = coalesce(?3, body), count = coalesce(?4, count), version = ?5 WHERE id = ?1 AND version = ?6 RETURNING {COLUMNS}"
            );
            let values = params![id, patch.title, patch.body, patch.count, revision, expected];
            t.query_row(&sql, values, note).optional()
        })
        .await
    }

    /// Compare-and-set delete: only if the note is still at `expected`.
    pub async fn delete(&self, id: i64, expected: Option<i64>) -> DbResult<Option<()>> {
        self.write(None, move |t, _| {
            let deleted = t.execute(
                "DELETE FROM notes WHERE id = ?1 AND version = ?2",
                params![id, expected],
            )?;
            Ok((deleted == 1).then_some(()))
        })
        .await
    }
}
