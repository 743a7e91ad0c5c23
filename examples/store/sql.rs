//! What the SQL backends share: the table's columns and how validators map onto them, and the
//! bound on how long one database operation may take.
//!
//! ```sql
//! CREATE TABLE items (
//!     key        TEXT PRIMARY KEY,
//!     content    BLOB / BYTEA NOT NULL,
//!     etag       TEXT NOT NULL,     -- the strong tag's opaque text: the content's hash
//!     updated_at INTEGER NOT NULL   -- Last-Modified, Unix seconds, by the database's clock
//! )
//! ```
//!
//! Both validators are columns of the row, written in the same statement as the content, so any
//! process reading the row sends the same `ETag` and `Last-Modified`. `updated_at` is computed
//! by that statement, from the database's clock (one clock for every replica, whatever theirs
//! say) and the replaced row's own `updated_at`: `max(now, updated_at + 1)`, so the dates of one
//! item strictly increase (see "Dates that name one version" in `storage.rs`).

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tower_conditional::{ETag, LastModified};

use super::storage::{CasOutcome, StorageError, Version};

/// How long one storage operation may take before it is answered as a failure (503): a database
/// that is down or overloaded must not hold requests, and their connections, indefinitely.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `operation`, failing it after [`OPERATION_TIMEOUT`].
///
/// A write that times out may still commit: the client then sees 503, and its retry with the same
/// `If-Match` gets 412 naming the version it wrote, which is how it learns the outcome.
pub async fn within_timeout<T>(
    operation: impl Future<Output = Result<T, StorageError>>,
) -> Result<T, StorageError> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
        Ok(result) => result,
        Err(_) => Err(StorageError(format!(
            "no answer within {OPERATION_TIMEOUT:?}"
        ))),
    }
}

/// A database error, with what was being done.
pub fn failed(doing: &str, error: impl Display) -> StorageError {
    StorageError(format!("{doing}: {error}"))
}

/// The `etag` column of a tag this application issued: its opaque text (hex digits).
pub fn etag_column(etag: &ETag) -> &str {
    std::str::from_utf8(etag.opaque()).unwrap_or_default()
}

/// A version rebuilt from its `etag` and `updated_at` columns.
pub fn version_from_columns(etag: &str, updated_at: i64) -> Result<Version, StorageError> {
    let etag = ETag::strong(etag)
        .map_err(|error| failed(&format!("reading stored etag {etag:?}"), error))?;
    let last_modified = u64::try_from(updated_at)
        .ok()
        .and_then(|seconds| LastModified::from_unix_seconds(seconds).ok())
        .ok_or_else(|| StorageError(format!("stored updated_at {updated_at} is invalid")))?;
    Ok(Version {
        etag,
        last_modified,
    })
}

/// A write's outcome (carrying the new row's `updated_at` when it was done) as the new
/// version tagged `etag`.
pub fn written(outcome: CasOutcome<i64>, etag: ETag) -> Result<CasOutcome<Version>, StorageError> {
    Ok(match outcome {
        CasOutcome::Done(updated_at) => {
            CasOutcome::Done(version_from_columns(etag_column(&etag), updated_at)?)
        }
        CasOutcome::Conflict(current) => CasOutcome::Conflict(current),
    })
}

/// A write's outcome without its value.
pub fn done<T>(outcome: CasOutcome<T>) -> CasOutcome<()> {
    match outcome {
        CasOutcome::Done(_) => CasOutcome::Done(()),
        CasOutcome::Conflict(current) => CasOutcome::Conflict(current),
    }
}
