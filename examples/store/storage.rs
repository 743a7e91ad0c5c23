//! Where the store keeps its items: the [`Storage`] trait every backend implements (memory,
//! SQLite, PostgreSQL), and the types it speaks.
//!
//! A backend persists, per key, the content and its validators: the strong `ETag` (a hash of the
//! content, computed by the application) and `Last-Modified` (whole seconds, assigned by the
//! storage itself, from its own clock, in the statement that writes). Both are read back from
//! storage, never derived from process state, so every replica over one database sends the same
//! validators for the same item, however far apart the replicas' clocks are.
//!
//! # Dates that name one version
//!
//! An HTTP date has one-second resolution, so two versions written within one second would share
//! a `Last-Modified`, and an `If-Unmodified-Since` naming the first would let a write replace
//! the second. So the storage never gives a version a date at or before the date of the version
//! it replaces: the new date is the storage clock's current second, or the replaced version's
//! date plus one second when the clock has not passed it (two writes in one second, or a clock
//! that went back). Dates of one item are strictly increasing, and each names one version. (A
//! date can then lie ahead of the clock, by one second per write that came faster than one a
//! second; the application sends it as its own current time until then, RFC 9110 §8.8.2.1.)
//!
//! The one exception: a deleted item leaves nothing behind, so a version created again takes
//! the clock's second, which may not be later than the deleted version's date (created again
//! within that second, or before the clock reached a date that ran ahead). A client holding the
//! deleted version's date could then replace the new one with `If-Unmodified-Since`. `If-Match`
//! has no exception: tags are hashes of the content, and the compare-and-set is on them.
//!
//! Writes are compare-and-set ([`Storage::put_if`], [`Storage::delete_if`]): the backend performs
//! the write only if the stored state is still the one the conditional layer checked, *in one
//! atomic step of the storage itself* (a single `UPDATE ... WHERE etag = $checked` in SQL, the
//! map's lock in memory). Nothing else coordinates two writers: two replicas share only the
//! database.

use std::fmt;
use std::future::Future;

use axum::body::Bytes;
use tower_conditional::{ETag, LastModified};

/// The validators of one stored version of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// `ETag::from_content(content)`: strong, equal exactly when the bytes are equal.
    pub etag: ETag,
    /// When the item was written, in whole seconds, by the storage's clock, and later than the
    /// date of the version it replaced (see the module docs).
    pub last_modified: LastModified,
}

/// One stored item: its content and validators.
#[derive(Debug, Clone)]
pub struct Item {
    /// The bytes a GET returns.
    pub content: Bytes,
    /// Their validators.
    pub version: Version,
}

/// What a compare-and-set expects to find: the state the conditional layer checked.
#[derive(Debug, Clone, Copy)]
pub enum Expected<'a> {
    /// No item under the key (a create).
    Missing,
    /// The item whose strong tag is this one (a replace or delete).
    Current(&'a ETag),
}

/// The result of a compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome<T> {
    /// The stored state was the expected one; the write happened.
    Done(T),
    /// The stored state was something else; nothing was written. Carries the state found, so a
    /// 412 can name the current validators.
    Conflict(Option<Version>),
}

/// A storage failure: the database is unreachable, slow or returned an error.
///
/// The message is for logs; clients get a 503 without it.
#[derive(Debug, Clone)]
pub struct StorageError(pub String);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl std::error::Error for StorageError {}

/// A place to keep items. Cheap to clone: clones share the same storage.
///
/// Every method is one round trip to the storage; none holds anything between calls.
pub trait Storage: Clone + Send + Sync + 'static {
    /// The validators of the item under `key`, without its content: what the conditional layer
    /// evaluates preconditions against.
    fn version(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Version>, StorageError>> + Send;

    /// The item under `key`, content and validators, read together.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Item>, StorageError>> + Send;

    /// Stores `content` with the tag `etag` under `key`, only if the stored state is still
    /// `expected`: a create when it is [`Expected::Missing`] (fails if the key is taken), a replace
    /// when it is [`Expected::Current`] (fails if the stored tag differs or the item is gone).
    /// The storage dates the new version, in the same atomic step (see the module docs), and
    /// returns its validators.
    fn put_if(
        &self,
        key: &str,
        expected: Expected<'_>,
        content: Bytes,
        etag: ETag,
    ) -> impl Future<Output = Result<CasOutcome<Version>, StorageError>> + Send;

    /// Removes the item under `key`, only if its stored tag is still `expected`.
    fn delete_if(
        &self,
        key: &str,
        expected: &ETag,
    ) -> impl Future<Output = Result<CasOutcome<()>, StorageError>> + Send;
}
