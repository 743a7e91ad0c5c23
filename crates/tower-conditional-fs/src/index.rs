//! What is known about each file under the root: its stat key and the tag of its bytes, and
//! the hashing that keeps them current, one hash per change however many requests ask.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Instant, SystemTime};

use http::HeaderValue;
use tower_conditional::{ContentHasher, ETag};

use crate::coding::{Coding, Enabled};
use crate::stat::StatKey;

/// Blocks read per call while hashing.
const HASH_BLOCK: usize = 64 * 1024;

/// Attempts to hash a file that keeps changing under the hasher before giving up.
const HASH_ATTEMPTS: usize = 3;

/// One version of one file: its key and the tags of its bytes.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    pub(crate) key: StatKey,
    /// The tag of the bytes served as the file itself (`ETag::from_content`).
    pub(crate) tag: ETag,
    /// The tag of the same bytes served as a precompressed sibling (`"<digest>-gzip"`), when
    /// the file's name ends in an enabled coding's suffix.
    pub(crate) coded: Option<ETag>,
    /// The key may stand for these bytes from now on (see `stat.rs`).
    pub(crate) trusted: bool,
    /// When the hash was done: a request that stat'ed the file before that may use an entry
    /// that is not yet trusted (the hash is of a version that was current after it looked).
    pub(crate) hashed_at: Instant,
}

impl Known {
    pub(crate) fn new(
        key: StatKey,
        tag: ETag,
        sibling_of: Option<Coding>,
        trust: Trust,
        started: SystemTime,
    ) -> Known {
        let coded = sibling_of.map(|coding| coded_tag(&tag, coding));
        let trusted = match trust {
            Trust::Always => true,
            Trust::Settled => key.settled_at(started),
        };
        Known {
            key,
            tag,
            coded,
            trusted,
            hashed_at: Instant::now(),
        }
    }

    /// The tag for this file served in `coding` (identity: the file itself).
    pub(crate) fn tag_as(&self, coding: Coding) -> &ETag {
        match (coding, &self.coded) {
            (Coding::Identity, _) | (_, None) => &self.tag,
            (_, Some(coded)) => coded,
        }
    }

    /// Whether this entry names the bytes of a file with `key`, for a request that saw that key
    /// at `seen_at`.
    pub(crate) fn names(&self, key: &StatKey, seen_at: Option<Instant>) -> bool {
        self.key == *key && (self.trusted || seen_at.is_some_and(|seen| self.hashed_at >= seen))
    }
}

/// Whether hashed keys are trusted at once (a directory that never changes) or once settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    Always,
    Settled,
}

/// A precompressed sibling's tag, in the form of the library's encoding-aware tags: the
/// digest of the sibling's own bytes, then `-` and the coding (`"3f0c...-gzip"`). It names the
/// bytes sent and their coding, and never equals an identity tag (32 hex digits, no suffix).
pub(crate) fn coded_tag(tag: &ETag, coding: Coding) -> ETag {
    let mut opaque = tag.opaque().to_vec();
    opaque.push(b'-');
    opaque.extend_from_slice(coding.token().as_bytes());
    ETag::strong(opaque).expect("hex digits, '-' and a coding token are etagc bytes")
}

/// One file under the root.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) abs: PathBuf,
    /// The coding this file is a sibling for, by its suffix (`app.js.gz`: gzip).
    pub(crate) sibling_of: Option<Coding>,
    known: Mutex<Option<Known>>,
    /// Held while hashing, so that concurrent requests for a changed file hash it once.
    hashing: tokio::sync::Mutex<()>,
    /// The `Cache-Control` policy's answer for this file served as itself, and as its file's
    /// sibling: asked once, not on every revalidation.
    cache_control: [OnceLock<Option<HeaderValue>>; 2],
}

impl Slot {
    fn new(abs: PathBuf, sibling_of: Option<Coding>) -> Slot {
        Slot {
            abs,
            sibling_of,
            known: Mutex::new(None),
            hashing: tokio::sync::Mutex::new(()),
            cache_control: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// The tag of this file served in `coding`, and its mtime, when the entry names a file
    /// with `key` (see [`Known::names`]); taken under the lock, without copying the entry.
    pub(crate) fn tag_if_named(
        &self,
        key: Option<&StatKey>,
        coding: Coding,
    ) -> Option<(ETag, Option<SystemTime>)> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let known = known.as_ref()?;
        if key.is_some_and(|key| !known.names(key, None)) {
            return None;
        }
        Some((known.tag_as(coding).clone(), known.key.mtime()))
    }

    /// The `Cache-Control` of this file served in `coding` as `file` (the name the request
    /// selected: the slot's own for identity, the original's for a sibling), from `policy`
    /// the first time it is asked.
    pub(crate) fn cache_control(
        &self,
        coding: Coding,
        file: &str,
        policy: impl FnOnce(&str) -> Option<HeaderValue>,
    ) -> Option<HeaderValue> {
        let served_as = usize::from(coding != Coding::Identity);
        self.cache_control[served_as]
            .get_or_init(|| policy(file))
            .clone()
    }

    pub(crate) fn known(&self) -> Option<Known> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The hashing lock, from a blocking thread (the file service's).
    pub(crate) fn hashing_blocking(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.hashing.blocking_lock()
    }

    pub(crate) fn set(&self, known: Known) {
        *self.known.lock().unwrap_or_else(PoisonError::into_inner) = Some(known);
    }

    /// The tag of the file now at this path, if `seen` is its key, hashing it when the entry
    /// does not name it. Concurrent callers wait for one hash. Answers `None` when the file
    /// changes faster than it can be hashed.
    pub(crate) async fn tag_of(
        self: &Arc<Self>,
        mut seen: StatKey,
        seen_at: Instant,
        trust: Trust,
    ) -> io::Result<Option<Known>> {
        for _ in 0..HASH_ATTEMPTS {
            let _hashing = self.hashing.lock().await;
            if let Some(known) = self
                .known()
                .filter(|known| known.names(&seen, Some(seen_at)))
            {
                return Ok(Some(known));
            }
            let slot = Arc::clone(self);
            let known = tokio::task::spawn_blocking(move || slot.hash_path(trust))
                .await
                .map_err(io::Error::other)??;
            if known.key == seen {
                return Ok(Some(known));
            }
            // The file changed between the caller's stat and the hash: the hash stands if the
            // file is still the version hashed.
            match std::fs::metadata(&self.abs) {
                Ok(metadata) if StatKey::of(&metadata) == known.key => return Ok(Some(known)),
                Ok(metadata) => seen = StatKey::of(&metadata),
                Err(error) => return Err(error),
            }
        }
        Ok(None)
    }

    /// Hashes the file now at this path and records it (blocking).
    pub(crate) fn hash_path(&self, trust: Trust) -> io::Result<Known> {
        let mut file = File::open(&self.abs)?;
        let known = self.hash_open(&mut file, trust)?;
        self.set(known.clone());
        Ok(known)
    }

    /// Hashes an open file from its start (blocking): its key before and after the reading
    /// must agree, or the bytes read may be of two versions.
    pub(crate) fn hash_open(&self, file: &mut File, trust: Trust) -> io::Result<Known> {
        for _ in 0..HASH_ATTEMPTS {
            let started = SystemTime::now();
            let before = StatKey::of(&file.metadata()?);
            file.seek(SeekFrom::Start(0))?;
            let tag = hash_reader(file)?;
            if before.same_bytes(&StatKey::of(&file.metadata()?)) {
                tracing::debug!(path = %self.abs.display(), bytes = before.len(), "hashed a file");
                return Ok(Known::new(before, tag, self.sibling_of, trust, started));
            }
        }
        Err(io::Error::other(format!(
            "{} kept changing while it was hashed",
            self.abs.display()
        )))
    }
}

/// The tag of everything `reader` yields, read in blocks of constant size.
pub(crate) fn hash_reader(reader: &mut impl Read) -> io::Result<ETag> {
    let mut hasher = ContentHasher::new();
    let mut block = vec![0u8; HASH_BLOCK];
    loop {
        match reader.read(&mut block) {
            Ok(0) => return Ok(hasher.finish()),
            Ok(n) => hasher.update(&block[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Every file known under the root, by its path relative to it (`/`-separated).
#[derive(Debug)]
pub(crate) struct Index {
    root: PathBuf,
    enabled: Enabled,
    /// foldhash, not SipHash: every request hashes its path here (about 100 instructions of a
    /// 304's 14,000 less, callgrind). Clients choose what is looked up, never what is stored
    /// (files on disk only), so they cannot build long probe chains; the seed is random.
    slots: RwLock<HashMap<Box<str>, Arc<Slot>, foldhash::fast::RandomState>>,
}

impl Index {
    pub(crate) fn new(root: PathBuf, enabled: Enabled) -> Index {
        Index {
            root,
            enabled,
            slots: RwLock::new(HashMap::default()),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn enabled(&self) -> Enabled {
        self.enabled
    }

    pub(crate) fn get(&self, rel: &str) -> Option<Arc<Slot>> {
        self.slots
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(rel)
            .cloned()
    }

    /// The slot for `rel`, created for a file that exists (so the index holds only files on
    /// disk, whatever paths clients send).
    pub(crate) fn slot(&self, rel: &str) -> Arc<Slot> {
        if let Some(slot) = self.get(rel) {
            return slot;
        }
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(rel.into()).or_insert_with(|| {
            Arc::new(Slot::new(
                self.abs(rel),
                Coding::of_sibling(rel, self.enabled),
            ))
        }))
    }

    /// Forgets a file that is gone.
    pub(crate) fn remove(&self, rel: &str) {
        self.slots
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(rel);
    }

    pub(crate) fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
