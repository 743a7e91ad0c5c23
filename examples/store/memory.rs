//! The in-memory backend: key -> item in one process, behind one mutex. The default, and the
//! only backend that cannot be shared by several replicas (so its clock, the process's, is the
//! one clock that dates its versions).

use std::collections::HashMap;
use std::future::{Future, ready};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use tower_conditional::{ETag, LastModified};

use super::storage::{CasOutcome, Expected, Item, Storage, StorageError, Version};

/// Items in process memory.
///
/// A `std` mutex is right here: it is never held across an `.await`, and every critical section
/// is a map look-up and at most one insert or remove. The lock is this backend's atomicity: it is
/// held from the compare to the set, as a database holds a row lock through an `UPDATE`.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    items: Arc<Mutex<HashMap<String, Item>>>,
}

impl Memory {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The map, locked. No critical section can panic, so a poisoned lock still holds a
    /// consistent map.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Item>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The date of a version that replaces one dated `replaced` (none for a create): this process's
/// clock (the one clock of a store that lives in one process), and later than `replaced`.
fn next_date(replaced: Option<LastModified>) -> LastModified {
    let now = LastModified::now();
    match replaced {
        Some(replaced) if now <= replaced => {
            // The year 9999 is far; should it come, the date stays (and stays refused by
            // If-Unmodified-Since dates before it).
            LastModified::from_unix_seconds(replaced.unix_seconds() + 1).unwrap_or(replaced)
        }
        _ => now,
    }
}

/// Whether `current` is the state a compare-and-set expected.
fn is_expected(expected: Expected<'_>, current: Option<&Item>) -> bool {
    match (expected, current) {
        (Expected::Missing, None) => true,
        (Expected::Current(tag), Some(item)) => item.version.etag.strong_eq(tag),
        _ => false,
    }
}

impl Storage for Memory {
    fn version(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Version>, StorageError>> + Send {
        ready(Ok(self.lock().get(key).map(|item| item.version.clone())))
    }

    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Item>, StorageError>> + Send {
        // Clone out of the lock: `Bytes` clones are reference-count bumps.
        ready(Ok(self.lock().get(key).cloned()))
    }

    fn put_if(
        &self,
        key: &str,
        expected: Expected<'_>,
        content: Bytes,
        etag: ETag,
    ) -> impl Future<Output = Result<CasOutcome<Version>, StorageError>> + Send {
        let mut items = self.lock();
        let current = items.get(key);
        if !is_expected(expected, current) {
            return ready(Ok(CasOutcome::Conflict(
                current.map(|item| item.version.clone()),
            )));
        }
        let new = Version {
            etag,
            last_modified: next_date(current.map(|item| item.version.last_modified)),
        };
        let item = Item {
            content,
            version: new.clone(),
        };
        items.insert(key.to_owned(), item);
        ready(Ok(CasOutcome::Done(new)))
    }

    fn delete_if(
        &self,
        key: &str,
        expected: &ETag,
    ) -> impl Future<Output = Result<CasOutcome<()>, StorageError>> + Send {
        let mut items = self.lock();
        let current = items.get(key);
        if !is_expected(Expected::Current(expected), current) {
            return ready(Ok(CasOutcome::Conflict(
                current.map(|item| item.version.clone()),
            )));
        }
        items.remove(key);
        ready(Ok(CasOutcome::Done(())))
    }
}
