//! How much memory a cache entry is counted for: its key, its validators and the bookkeeping
//! around them, in bytes, against [`ValidatorCacheBuilder::max_bytes`](super::validator::ValidatorCacheBuilder::max_bytes).

use std::hash::{Hash, Hasher};
use std::mem::size_of;

use crate::state::Validators;

/// What an entry costs besides its key and value: its slot in the cache's hash table and lists,
/// and its share of the table's spare room.
const BOOKKEEPING: usize = 64;

/// The bytes an entry for `key` holding `value` (whose own heap is `value_heap`) is counted for.
pub(crate) fn entry<K: Hash, V>(key: &K, value_heap: usize) -> u64 {
    let bytes = size_of::<K>() + key_heap(key) + size_of::<V>() + value_heap + BOOKKEEPING;
    bytes as u64
}

/// The bytes a key's `Hash` feeds a hasher: a string's length (plus one), an integer's size, a
/// vector's elements and length. For the keys a request decodes (numbers, strings, enums and
/// tuples of them) this is at least what they hold on the heap, so a client choosing long keys
/// pays for them; a key type whose `Hash` skips what it holds is undercounted.
fn key_heap<K: Hash>(key: &K) -> usize {
    let mut counter = Counter(0);
    key.hash(&mut counter);
    counter.0
}

/// A hasher that only counts the bytes written to it.
struct Counter(usize);

impl Hasher for Counter {
    fn finish(&self) -> u64 {
        self.0 as u64
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
}

/// What `validators` hold on the heap: their header values' bytes.
pub(crate) fn validators_heap(validators: &Validators) -> usize {
    let etag = validators.etag().map_or(0, |tag| tag.as_bytes().len());
    let fields = [
        validators.cache_control(),
        validators.vary(),
        validators.expires(),
        validators.content_location(),
    ];
    etag + fields
        .iter()
        .flatten()
        .map(|value| value.len())
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_longer_string_key_weighs_more_by_its_length() {
        let short = entry::<String, ()>(&"a".repeat(10), 0);
        let long = entry::<String, ()>(&"a".repeat(10_010), 0);
        assert_eq!(long - short, 10_000);
    }

    #[test]
    fn an_integer_key_weighs_its_size_twice_and_the_bookkeeping() {
        let weight = entry::<u64, ()>(&7, 0);
        assert_eq!(weight, (8 + 8 + BOOKKEEPING) as u64);
    }
}
