//! [`ValidatorCache`]: the validators of present resources, kept for a bounded time so that a
//! revalidation can be answered 304 without asking the source.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use http::request::Parts;
use quick_cache::DefaultHashBuilder;
use quick_cache::sync::Cache;

use super::{Fill, Hook, Invalidate, Probe};
use crate::state::Validators;

/// Generation counters, one per stripe of keys: invalidating a key bumps its stripe, which
/// also makes the entries of the other keys in that stripe (about one in this many) miss once.
const STRIPES: usize = 1024;

/// The default of [`ValidatorCacheBuilder::max_entries`].
pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;

/// The default of [`ValidatorCacheBuilder::max_age`]: 10 seconds.
pub const DEFAULT_CACHE_MAX_AGE: Duration = Duration::from_secs(10);

/// A cache of validators, for [`ConditionalLayer::validator_cache`](crate::ConditionalLayer::validator_cache):
/// a revalidation whose cached validators say 304 is answered without asking the source.
///
/// # What it may decide, and what never
///
/// A cached state may only make a 304 *late*: a client keeps a copy that was replaced at most
/// [`max_age`](ValidatorCacheBuilder::max_age) ago, as behind a CDN. So the cache is consulted
/// only for GET and HEAD carrying `If-None-Match` or `If-Modified-Since`, and only to answer
/// 304; where the cached state would not give 304, the real source is asked. It never decides a
/// request with `If-Match`, `If-Unmodified-Since` or `If-Range` (a stale validator would let a
/// read pass that should fail, or splice two versions), never a write, and never fills a 200's
/// validators ([`fill_response_validators`](crate::ConditionalLayer::fill_response_validators)
/// reads the source). Only [`Lookup::Present`](crate::Lookup::Present) answers are kept: not
/// `Missing` (clients choose the keys they miss on), not `Unknown`, not errors.
///
/// # Invalidation
///
/// - The layer invalidates a write's key (and the keys [`also_invalidates`](ValidatorCacheBuilder::also_invalidates)
///   maps it to) when the write's response is a success (2xx), before the response is returned.
/// - [`invalidate`](Self::invalidate) and [`invalidate_all`](Self::invalidate_all) do the same
///   from outside, for writers the layer does not see (another process, a database trigger).
/// - A look-up that started before an invalidation never fills the cache after it: every entry
///   is stamped with its key's generation (one of 1024 striped counters) and the cache's epoch,
///   both read before the source is asked; invalidating bumps them, and an entry whose stamp is
///   not current is never served.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use http::{header, request::Parts, Request, Response, StatusCode};
/// use tower::{service_fn, Layer, ServiceExt};
/// use tower_conditional::{ConditionalLayer, ETag, Lookup, ValidatorCache, Validators};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let queries = Arc::new(AtomicUsize::new(0));
/// let counted = Arc::clone(&queries);
/// let source = move |_: &Parts| {
///     counted.fetch_add(1, Ordering::SeqCst); // stands in for a database query
///     async { Ok::<_, Infallible>(Lookup::from(Validators::new().with_etag(ETag::from_static("\"v1\"")))) }
/// };
/// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
///     .max_entries(10_000)
///     .max_age(Duration::from_secs(10))
///     .build();
/// let service = ConditionalLayer::new(source)
///     .validator_cache(cache.clone())
///     .layer(service_fn(|_: Request<String>| async {
///         Ok::<_, Infallible>(Response::new(String::from("hello")))
///     }));
/// let revalidate = || Request::get("/doc").header(header::IF_NONE_MATCH, "\"v1\"").body(String::new());
/// for _ in 0..3 {
///     let response = service.clone().oneshot(revalidate()?).await?;
///     assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
/// }
/// assert_eq!(queries.load(Ordering::SeqCst), 1); // the first asked; the others were cached
/// cache.invalidate(&String::from("/doc")); // written elsewhere
/// service.oneshot(revalidate()?).await?;
/// assert_eq!(queries.load(Ordering::SeqCst), 2);
/// # Ok(())
/// # }
/// ```
pub struct ValidatorCache<K> {
    inner: Arc<Inner<K>>,
}

/// Configures a [`ValidatorCache`]; made by [`ValidatorCache::builder`].
#[must_use]
pub struct ValidatorCacheBuilder<K> {
    key: KeyFn<K>,
    related: Option<RelatedFn<K>>,
    max_entries: usize,
    max_age: Duration,
    on: bool,
}

type KeyFn<K> = Box<dyn Fn(&Parts) -> Option<K> + Send + Sync>;
type RelatedFn<K> = Box<dyn Fn(&K) -> Vec<K> + Send + Sync>;

struct Inner<K> {
    entries: Cache<K, Entry>,
    key: KeyFn<K>,
    related: Option<RelatedFn<K>>,
    max_age: Duration,
    /// Picks a key's stripe (the same hash for the life of the cache).
    hasher: DefaultHashBuilder,
    generations: Box<[AtomicU64]>,
    /// Bumped by [`ValidatorCache::invalidate_all`].
    epoch: AtomicU64,
    /// Whether the cache answers ([`ValidatorCache::switch_on`]).
    on: AtomicBool,
}

#[derive(Clone)]
struct Entry {
    validators: Validators,
    stamp: Stamp,
    stored: Instant,
}

/// A key's generation and the cache's epoch, read before the source is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    generation: u64,
    epoch: u64,
}

impl<K> ValidatorCache<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// A builder for a cache whose keys `key` takes from each request head: what identifies the
    /// resource, as the source decodes it (the route's id, the path). A request for which it
    /// answers `None` never uses the cache.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// // Only item pages are cached, keyed by their id.
    /// let cache = ValidatorCache::builder(|head: &Parts| {
    ///     head.uri.path().strip_prefix("/items/")?.parse::<u64>().ok()
    /// })
    /// .build();
    /// assert!(cache.is_empty());
    /// ```
    pub fn builder<F>(key: F) -> ValidatorCacheBuilder<K>
    where
        F: Fn(&Parts) -> Option<K> + Send + Sync + 'static,
    {
        ValidatorCacheBuilder {
            key: Box::new(key),
            related: None,
            max_entries: DEFAULT_CACHE_ENTRIES,
            max_age: DEFAULT_CACHE_MAX_AGE,
            on: true,
        }
    }

    /// Stops answering from the cache and empties it: invalidations may be missed from now on.
    pub fn switch_off(&self) {
        self.inner.on.store(false, SeqCst);
        self.invalidate_all();
    }

    /// Empties the cache, then answers from it again (invalidations are heard from now on).
    pub fn switch_on(&self) {
        self.invalidate_all();
        self.inner.on.store(true, SeqCst);
    }

    /// Whether the cache answers (true after `build()` unless built `switched_off()`).
    pub fn is_on(&self) -> bool {
        self.inner.on.load(SeqCst)
    }

    /// Invalidates `key` and the keys [`also_invalidates`](ValidatorCacheBuilder::also_invalidates)
    /// maps it to: call it when a writer the layer does not see changed the resource. A look-up
    /// already running for one of them fills nothing in.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// cache.invalidate(&"/items/7".to_owned());
    /// ```
    pub fn invalidate(&self, key: &K) {
        self.inner.invalidate(key);
    }

    /// Invalidates every key, as when the notifications of other writers may have been lost.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// cache.invalidate_all();
    /// assert_eq!(cache.len(), 0);
    /// ```
    pub fn invalidate_all(&self) {
        self.inner.epoch.fetch_add(1, SeqCst);
        self.inner.entries.clear();
    }

    /// The number of entries held, fresh or not yet evicted.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// assert_eq!(cache.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// Whether no entry is held.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }
}

impl<K> ValidatorCacheBuilder<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// The most entries held (at least 1); past it, the least useful are evicted. Default:
    /// [`DEFAULT_CACHE_ENTRIES`] (10 000).
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
    ///     .max_entries(100_000)
    ///     .build();
    /// # let _ = cache;
    /// ```
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries.max(1);
        self
    }

    /// How long an entry is served after the source answered it: the bound on how late a 304
    /// can be when an invalidation is lost (another process's write, a notification missed).
    /// Default: [`DEFAULT_CACHE_MAX_AGE`] (10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
    ///     .max_age(Duration::from_secs(2))
    ///     .build();
    /// # let _ = cache;
    /// ```
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = age;
        self
    }

    /// The keys a write to a key also invalidates: the collections that list the item, so their
    /// 304s are no later than the item's.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// // A write to /items/7 also invalidates the list at /items.
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
    ///     .also_invalidates(|key: &String| {
    ///         key.starts_with("/items/").then(|| String::from("/items"))
    ///     })
    ///     .build();
    /// # let _ = cache;
    /// ```
    pub fn also_invalidates<F, I>(mut self, related: F) -> Self
    where
        F: Fn(&K) -> I + Send + Sync + 'static,
        I: IntoIterator<Item = K>,
    {
        self.related = Some(Box::new(move |key| related(key).into_iter().collect()));
        self
    }

    /// Starts switched off, until [`ValidatorCache::switch_on`].
    pub fn switched_off(mut self) -> Self {
        self.on = false;
        self
    }

    /// The cache, empty.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// assert!(cache.is_empty());
    /// ```
    pub fn build(self) -> ValidatorCache<K> {
        let generations = (0..STRIPES).map(|_| AtomicU64::new(0)).collect();
        ValidatorCache {
            inner: Arc::new(Inner {
                entries: Cache::new(self.max_entries),
                key: self.key,
                related: self.related,
                max_age: self.max_age,
                hasher: DefaultHashBuilder::default(),
                generations,
                epoch: AtomicU64::new(0),
                on: AtomicBool::new(self.on),
            }),
        }
    }
}

impl<K: Hash + Eq + Clone> Inner<K> {
    fn stripe(&self, key: &K) -> &AtomicU64 {
        let hash = self.hasher.hash_one(key) as usize;
        &self.generations[hash % STRIPES]
    }

    fn stamp(&self, key: &K) -> Stamp {
        // The epoch first: an `invalidate_all` between the two reads leaves a stale epoch.
        let epoch = self.epoch.load(SeqCst);
        Stamp {
            generation: self.stripe(key).load(SeqCst),
            epoch,
        }
    }

    fn get(&self, key: &K) -> Option<Validators> {
        let entry = self.entries.get(key)?;
        if entry.stamp == self.stamp(key) && entry.stored.elapsed() < self.max_age {
            return Some(entry.validators);
        }
        // Stale: remove it, unless a fresh one replaced it meanwhile.
        self.entries
            .remove_if(key, |held| held.stamp == entry.stamp);
        None
    }

    /// `asked`: when the look-up was stamped, before the source was asked. The entry's age
    /// counts from then, so the maximum age bounds how late a 304 is from the source's read,
    /// not from its (possibly slow) answer.
    fn fill(&self, key: K, stamp: Stamp, asked: Instant, validators: &Validators) {
        // Only an optimisation: a stamp made stale after this check is caught by `get`.
        if stamp == self.stamp(&key) {
            let entry = Entry {
                validators: validators.clone(),
                stamp,
                stored: asked,
            };
            self.entries.insert(key, entry);
        }
    }

    fn invalidate(&self, key: &K) {
        self.invalidate_one(key);
        if let Some(related) = &self.related {
            for key in related(key) {
                self.invalidate_one(&key);
            }
        }
    }

    fn invalidate_one(&self, key: &K) {
        // The generation first, so a look-up stamped before it can never be served.
        self.stripe(key).fetch_add(1, SeqCst);
        self.entries.remove(key);
    }
}

impl<K> ValidatorCache<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn stamped_fill(&self, key: K) -> Fill {
        let stamp = self.inner.stamp(&key);
        let asked = Instant::now();
        let inner = Arc::clone(&self.inner);
        Fill::new(move |validators| inner.fill(key, stamp, asked, validators))
    }
}

impl<K> Hook for ValidatorCache<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn probe(&self, head: &Parts) -> Option<Probe> {
        if !self.is_on() {
            return None;
        }
        let key = (self.inner.key)(head)?;
        Some(match self.inner.get(&key) {
            Some(validators) => Probe::Hit(validators),
            None => Probe::Miss(self.stamped_fill(key)),
        })
    }

    fn fill(&self, head: &Parts) -> Option<Fill> {
        if !self.is_on() {
            return None;
        }
        let key = (self.inner.key)(head)?;
        Some(self.stamped_fill(key))
    }

    fn written(&self, head: &Parts) -> Option<Invalidate> {
        let key = (self.inner.key)(head)?;
        let inner = Arc::clone(&self.inner);
        Some(Invalidate::new(move || inner.invalidate(&key)))
    }
}

impl<K> Clone for ValidatorCache<K> {
    fn clone(&self) -> Self {
        ValidatorCache {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K: Hash + Eq + Clone> fmt::Debug for ValidatorCache<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorCache")
            .field("entries", &self.inner.entries.len())
            .field("max_entries", &self.inner.entries.capacity())
            .field("max_age", &self.inner.max_age)
            .finish_non_exhaustive()
    }
}

impl<K> fmt::Debug for ValidatorCacheBuilder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorCacheBuilder")
            .field("max_entries", &self.max_entries)
            .field("max_age", &self.max_age)
            .field("also_invalidates", &self.related.is_some())
            .finish_non_exhaustive()
    }
}
