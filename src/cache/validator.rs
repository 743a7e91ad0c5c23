//! [`ValidatorCache`]: the validators of present resources, kept for a bounded time and within
//! a bounded number of bytes, so that a revalidation can be answered 304 without asking the
//! source.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::mem::size_of;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use http::HeaderValue;
use http::header::ACCEPT_ENCODING;
use http::request::Parts;
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Weighter};

use super::{Hook, Invalidate, Keyed, Keying, ReadKey, weight};
use crate::state::Validators;

/// Generation counters, one per stripe of keys: invalidating a key bumps its stripe, which
/// also makes the entries of the other keys in that stripe (about one in this many) miss once.
const STRIPES: usize = 1024;

/// The default of [`ValidatorCacheBuilder::max_bytes`]: 16 MiB.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The default of [`ValidatorCacheBuilder::max_age`]: 10 seconds.
const MAX_AGE: Duration = Duration::from_secs(10);

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
/// # Keys, and the source's extractors
///
/// The key names the resource as the source identifies it, so that every spelling of one
/// resource (`/items/7`, `/items/07`, `/items/%37`) shares one entry. With the `axum` feature,
/// [`keyed_by`](Self::keyed_by) takes it from extractors, as a handler would
/// (`|Path(id): Path<u64>| id`); [`builder`](Self::builder) takes a function of the request
/// head. A rejection by the key's extractors is the client's answer, warm cache or not (a
/// server error excepted: see below).
///
/// The key must hold everything the source's answer depends on: a list whose validators
/// depend on its query (`/items?page=2`) needs the query in its key, or page 1's validators
/// answer page 2's revalidation 304. The path alone, as in the examples below, suits
/// resources without one. With [`keyed_by`](Self::keyed_by), a rejection that is a server
/// error (a 5xx: axum's `Path` on a route without the parameter, a missing `Extension`) says
/// the route has no key, not that the client erred, and adding the cache must not change its
/// answers: the request goes on as if there were no cache (a read to the source; a write
/// through, emptying the cache when it succeeds, since what it changed has no key). A
/// transient server error of a key extractor (an authentication extractor whose database is
/// down) is treated the same: the source and the handler's own extractors answer, as they
/// would without the cache. A [`builder`](Self::builder)'s function that answers `None` is
/// treated the same too. Never map an absent `Path` to one key: every such route would share
/// that key's entry.
///
/// A source made by [`source_fn`](crate::source_fn) (alone or in a [`ByRoute`](crate::ByRoute))
/// consults the cache after its own extractors passed and before its query starts: a request
/// its extractors reject (an authentication extractor's 401, a `Path`'s 400) gets their
/// rejection, never a cached 304. For any other source the cache is consulted once the
/// source's future is made and before it is polled: on a hit that future is dropped unpolled.
/// So do the query inside the future (not in the closure before it), and put checks that must
/// answer every request (authentication) in a `source_fn` extractor or in a layer outside.
/// A `source_fn`'s function body is skipped on a hit too: a [`Lookup::Rejected`](crate::Lookup::Rejected)
/// it returns (an ownership check after its query) never answers a warm key; make such a
/// check an extractor, or put the user in the key.
///
/// # Memory
///
/// The cache holds at most [`max_bytes`](ValidatorCacheBuilder::max_bytes) (16 MiB by
/// default): each entry is weighed as its key (the bytes its `Hash` feeds, so a long string key
/// weighs its length), its validators and a fixed share of bookkeeping (64 bytes), and the
/// least useful entries are evicted past the bound. No sequence of requests grows it beyond
/// that, whatever keys clients choose. [`bytes`](Self::bytes) reports the current weight.
///
/// # Vary
///
/// Validators whose `Vary` ([`Validators::with_vary`]) names a request field other than
/// `Accept-Encoding` (or is `*`) are never cached, and their answer removes the key's entry:
/// they may differ per user (`Authorization`, `Cookie`), and an entry keyed only by the
/// resource would let one user's validators answer another's revalidation. Keying them by the
/// field's value instead would hold credentials as keys and multiply entries by users, for a
/// hit rate a cookie's variety rarely repays. `Accept-Encoding` alone is kept, and the entry
/// then answers only requests sending the same `Accept-Encoding` as the one that filled it: a
/// source may tag each coding apart (a static file source tags a `.gz` sibling), and a gzip
/// copy's tag must never validate an identity request. The cache is filled from the source's
/// answer, before the handler runs, so it is the source's `Vary` that counts: a source whose
/// validators depend on the user must say so with `with_vary` (its 304s need that `Vary` too,
/// RFC 9110 §15.4.5). To cache per user, put the user in the key instead (an extractor of the
/// authenticated user in [`keyed_by`](Self::keyed_by)) and leave `Vary` to the responses.
///
/// # Invalidation
///
/// - The layer invalidates a write's key (and the keys [`also_invalidates`](ValidatorCacheBuilder::also_invalidates)
///   maps it to) when the write's response is not an error (2xx or 3xx, RFC 9111 §4.4), before
///   the response is returned, and when the write's outcome can no longer be known (the client
///   went away while the handler ran, or the inner service failed).
/// - [`invalidate`](Self::invalidate) and [`invalidate_all`](Self::invalidate_all) do the same
///   from outside, for writers the layer does not see (another process, a database trigger).
/// - [`switch_off`](Self::switch_off) and [`switch_on`](Self::switch_on) are for an
///   invalidation feed (PostgreSQL `LISTEN`, Redis, a message bus): off while the feed may miss
///   invalidations, emptied, and on again once it hears them.
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
///     let counted = Arc::clone(&counted);
///     async move {
///         counted.fetch_add(1, Ordering::SeqCst); // stands in for a database query
///         Ok::<_, Infallible>(Lookup::from(Validators::new().with_etag(ETag::from_static("\"v1\""))))
///     }
/// };
/// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
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

/// Configures a [`ValidatorCache`]; made by [`ValidatorCache::builder`] (or
/// [`ValidatorCache::keyed_by`]).
#[must_use]
pub struct ValidatorCacheBuilder<K> {
    key: KeyOf<K>,
    related: Option<RelatedFn<K>>,
    max_bytes: u64,
    max_age: Duration,
    on: bool,
}

/// How a request's key is taken.
enum KeyOf<K> {
    /// From the head, at once.
    Head(HeadFn<K>),
    /// By extractors, on a clone of the head.
    #[cfg(feature = "axum")]
    Extracted(ExtractFn<K>),
}

type HeadFn<K> = Box<dyn Fn(&Parts) -> Option<K> + Send + Sync>;
#[cfg(feature = "axum")]
type ExtractFn<K> = Box<dyn Fn(Parts) -> crate::handler_source::Extracting<K> + Send + Sync>;
type RelatedFn<K> = Box<dyn Fn(&K) -> Vec<K> + Send + Sync>;

struct Inner<K> {
    entries: Cache<K, Entry, Weigh>,
    key: KeyOf<K>,
    related: Option<RelatedFn<K>>,
    max_age: Duration,
    /// Picks a key's stripe (the same hash for the life of the cache).
    hasher: DefaultHashBuilder,
    generations: Box<[AtomicU64]>,
    /// Bumped by [`ValidatorCache::invalidate_all`].
    epoch: AtomicU64,
    /// The gate: answers and fills only while on.
    on: AtomicBool,
}

#[derive(Clone)]
struct Entry {
    validators: Validators,
    /// The `Accept-Encoding` lines of the request that filled an entry whose `Vary` names
    /// it: a source may tag each coding apart (as a static file source tags a `.gz` sibling),
    /// so the entry answers only requests sending the same lines.
    accept: Option<Arc<[HeaderValue]>>,
    stamp: Stamp,
    stored: Instant,
    /// Counted against the bound (the weigher must be cheap, so it is computed once).
    weight: u64,
}

/// Weighs an entry as computed when it was filled.
#[derive(Debug, Clone, Copy)]
struct Weigh;

impl<K> Weighter<K, Entry> for Weigh {
    fn weight(&self, _: &K, entry: &Entry) -> u64 {
        entry.weight
    }
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
    /// resource, as the source decodes it (the route's id, the item's key a middleware
    /// validated). A read for which it answers `None` never uses the cache; a write for which
    /// it answers `None` changed something the cache cannot name (a bulk update, an alias the
    /// function does not parse), and empties the cache when it succeeds. Prefer
    /// [`keyed_by`](Self::keyed_by) with axum: a key parsed by hand must match the router's
    /// decoding exactly, or aliases of one resource are separate entries.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// // Only item pages are cached, keyed by their id (`/items/07` is `/items/7`).
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
        ValidatorCacheBuilder::new(KeyOf::Head(Box::new(key)))
    }

    /// A builder for a cache whose keys are what `key`, a function of axum extractors
    /// (`FromRequestParts<()>`, up to 8: `Path`, `Query`, typed headers, `Option<Path<_>>`),
    /// returns: the resource as the handlers decode it, so `/items/7`, `/items/07` and
    /// `/items/%37` are one entry for `|Path(id): Path<u64>| id`.
    ///
    /// The extractors run for the requests that use the cache (revalidations and writes),
    /// after routing; their rejection is the client's answer, warm cache or not. Every route
    /// behind the layer must extract: use `Option<Path<_>>` (or an enum key) where routes
    /// differ.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use axum::extract::Path;
    /// use axum::{routing::get, Router};
    /// use http::{header, Request, StatusCode};
    /// use tower::ServiceExt;
    /// use tower_conditional::{source_fn, ConditionalLayer, ETag, ValidatorCache, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queries = Arc::new(AtomicUsize::new(0));
    /// let counted = Arc::clone(&queries);
    /// let source = source_fn(move |Path(id): Path<u64>| {
    ///     let counted = Arc::clone(&counted);
    ///     async move {
    ///         counted.fetch_add(1, Ordering::SeqCst); // SELECT version FROM items WHERE id = $1
    ///         Ok::<_, Infallible>(Some(Validators::new().with_etag(ETag::from(id))))
    ///     }
    /// });
    /// let cache = ValidatorCache::keyed_by(|Path(id): Path<u64>| id).build();
    /// let app = Router::new()
    ///     .route("/items/{id}", get(|| async { "item" }))
    ///     .route_layer(ConditionalLayer::new(source).validator_cache(cache.clone()));
    ///
    /// for alias in ["/items/7", "/items/07", "/items/%37"] {
    ///     let revalidate = Request::get(alias).header(header::IF_NONE_MATCH, "\"7\"");
    ///     let response = app.clone().oneshot(revalidate.body(String::new())?).await?;
    ///     assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    /// }
    /// assert_eq!(queries.load(Ordering::SeqCst), 1); // one entry for the three spellings
    /// assert_eq!(cache.len(), 1);
    ///
    /// // Not an id: the `Path` rejection, warm cache or not.
    /// let bad = Request::get("/items/x").header(header::IF_NONE_MATCH, "\"7\"");
    /// let response = app.oneshot(bad.body(String::new())?).await?;
    /// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn keyed_by<F, T>(key: F) -> ValidatorCacheBuilder<K>
    where
        F: crate::handler_source::KeyFn<T, (), Key = K>,
    {
        Self::keyed_by_with_state((), key)
    }

    /// [`keyed_by`](Self::keyed_by) for extractors that read `state` (`FromRequestParts<S>`),
    /// such as the authenticated user, to key per user what varies by user.
    ///
    /// ```
    /// use axum::extract::{Path, State};
    /// use tower_conditional::ValidatorCache;
    ///
    /// #[derive(Clone)]
    /// struct Tenants; // your state
    ///
    /// let cache = ValidatorCache::keyed_by_with_state(Tenants, |State(_): State<Tenants>, Path(id): Path<u64>| id)
    ///     .build();
    /// assert!(cache.is_empty());
    /// ```
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn keyed_by_with_state<F, T, S>(state: S, key: F) -> ValidatorCacheBuilder<K>
    where
        F: crate::handler_source::KeyFn<T, S, Key = K>,
        S: Clone + Send + Sync + 'static,
    {
        let extract = move |head: Parts| key.clone().extract(head, state.clone());
        ValidatorCacheBuilder::new(KeyOf::Extracted(Box::new(extract)))
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
        self.inner.invalidate_all();
    }

    /// Stops answering from the cache and empties it: call it when invalidations may be missed
    /// from now on (the feed's connection dropped or went silent). Requests then ask the
    /// source; writes through the layer still invalidate. Until [`switch_on`](Self::switch_on).
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// cache.switch_off();
    /// assert!(!cache.is_on());
    /// ```
    pub fn switch_off(&self) {
        self.inner.on.store(false, SeqCst);
        self.inner.invalidate_all();
    }

    /// Empties the cache, then answers from it again: call it once invalidations are heard
    /// (the feed listens again). A request that sees the cache on sees every invalidation made
    /// before it, and a look-up that started while it was off fills nothing in.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
    ///     .switched_off()
    ///     .build();
    /// // ... the invalidation feed connects and listens ...
    /// cache.switch_on();
    /// assert!(cache.is_on());
    /// ```
    pub fn switch_on(&self) {
        self.inner.invalidate_all();
        self.inner.on.store(true, SeqCst);
    }

    /// Whether the cache answers: true after [`build`](ValidatorCacheBuilder::build) unless
    /// built [`switched_off`](ValidatorCacheBuilder::switched_off), then as the last
    /// [`switch_on`](Self::switch_on) or [`switch_off`](Self::switch_off) left it.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// assert!(cache.is_on());
    /// ```
    pub fn is_on(&self) -> bool {
        self.inner.on.load(SeqCst)
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

    /// The bytes the entries held are weighed at: never more than
    /// [`max_bytes`](ValidatorCacheBuilder::max_bytes).
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned())).build();
    /// assert_eq!(cache.bytes(), 0);
    /// ```
    pub fn bytes(&self) -> u64 {
        self.inner.entries.weight()
    }
}

impl<K> ValidatorCacheBuilder<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn new(key: KeyOf<K>) -> Self {
        ValidatorCacheBuilder {
            key,
            related: None,
            max_bytes: MAX_BYTES,
            max_age: MAX_AGE,
            on: true,
        }
    }

    /// The most bytes the entries are weighed at (see "Memory" on [`ValidatorCache`]); past
    /// it, the least useful are evicted, and an entry heavier than a slice of it is not kept.
    /// Default: 16 MiB, about 45,000 entries keyed by an integer with a short `ETag`, a
    /// `Last-Modified` and a `Cache-Control`.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
    ///     .max_bytes(64 * 1024 * 1024)
    ///     .build();
    /// # let _ = cache;
    /// ```
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// How long an entry is served after the source answered it: the bound on how late a 304
    /// can be when an invalidation is lost (another process's write, a notification missed).
    /// Default: 10 seconds.
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

    /// Builds the cache switched off, for an invalidation feed that turns it on with
    /// [`switch_on`](ValidatorCache::switch_on) once it listens.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_conditional::ValidatorCache;
    ///
    /// let cache = ValidatorCache::builder(|head: &Parts| Some(head.uri.path().to_owned()))
    ///     .switched_off()
    ///     .build();
    /// assert!(!cache.is_on());
    /// ```
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
        // The item estimate sizes the cache's memory of recently evicted keys; sized for
        // entries of about 1 KiB, it stays a small fraction of the bound.
        let items = usize::try_from(self.max_bytes / 1024).unwrap_or(usize::MAX);
        ValidatorCache {
            inner: Arc::new(Inner {
                entries: Cache::with_weighter(items.max(32), self.max_bytes, Weigh),
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

    fn get(&self, key: &K, head: &Parts) -> Option<Validators> {
        if !self.on.load(SeqCst) {
            return None;
        }
        let entry = self.entries.get(key)?;
        if entry.stamp == self.stamp(key) && entry.stored.elapsed() < self.max_age {
            // Another coding's entry stays: it is fresh for the requests of its coding.
            let same_coding = entry.accept.as_deref().is_none_or(|accept| {
                accept
                    .iter()
                    .eq(head.headers.get_all(ACCEPT_ENCODING).iter())
            });
            return same_coding.then_some(entry.validators);
        }
        // Stale: remove it, unless a fresh one replaced it meanwhile.
        self.entries
            .remove_if(key, |held| held.stamp == entry.stamp);
        None
    }

    /// `asked`: when the look-up was stamped, before the source was asked. The entry's age
    /// counts from then, so the maximum age bounds how late a 304 is from the source's read,
    /// not from its (possibly slow) answer.
    fn fill(&self, key: &K, head: &Parts, stamp: Stamp, asked: Instant, validators: &Validators) {
        if varies_per_request(validators.vary()) {
            // What was cached for the key may be one user's: drop it too.
            self.entries.remove(key);
            return;
        }
        // Only an optimisation: a stamp made stale after this check is caught by `get`.
        if stamp == self.stamp(key) {
            let accept = validators.vary().is_some().then(|| {
                let lines = head.headers.get_all(ACCEPT_ENCODING).iter().cloned();
                lines.collect::<Arc<[HeaderValue]>>()
            });
            let accept_heap = accept.as_deref().map_or(0, |lines| {
                lines
                    .iter()
                    .map(|line| line.len() + size_of::<HeaderValue>())
                    .sum()
            });
            let heap = weight::validators_heap(validators) + accept_heap;
            let weight = weight::entry::<K, Entry>(key, heap);
            let entry = Entry {
                validators: validators.clone(),
                accept,
                stamp,
                stored: asked,
                weight,
            };
            self.entries.insert(key.clone(), entry);
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

    fn invalidate_all(&self) {
        self.epoch.fetch_add(1, SeqCst);
        self.entries.clear();
    }
}

/// Whether a `Vary` names a request field other than `Accept-Encoding` (or is `*`, or cannot be
/// read): validators that may differ from one request to the next of the same key.
fn varies_per_request(vary: Option<&HeaderValue>) -> bool {
    let Some(vary) = vary else {
        return false;
    };
    let Ok(vary) = vary.to_str() else {
        return true;
    };
    vary.split(',')
        .map(str::trim)
        .filter(|member| !member.is_empty())
        .any(|member| !member.eq_ignore_ascii_case("accept-encoding"))
}

/// A revalidation's key and its stamp, taken before the source is asked.
struct Read<K> {
    inner: Arc<Inner<K>>,
    key: K,
    stamp: Stamp,
    asked: Instant,
}

impl<K> ReadKey for Read<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn get(&self, head: &Parts) -> Option<Validators> {
        self.inner.get(&self.key, head)
    }

    fn fill(&self, head: &Parts, validators: &Validators) {
        self.inner
            .fill(&self.key, head, self.stamp, self.asked, validators);
    }
}

impl<K> ValidatorCache<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// What `key` means for a write (its invalidation) or a revalidation (its entry, stamped
    /// now; none while the cache is off).
    fn keyed(&self, key: K, write: bool) -> Keyed {
        let inner = Arc::clone(&self.inner);
        if write {
            return Keyed::Write(Invalidate::new(move || inner.invalidate(&key)));
        }
        if !inner.on.load(SeqCst) {
            return Keyed::Unkeyed;
        }
        let stamp = inner.stamp(&key);
        Keyed::Read(Box::new(Read {
            inner,
            key,
            stamp,
            asked: Instant::now(),
        }))
    }

    /// A request whose route has no key (see "Keys" in the type's docs): a read is left to
    /// the source; a write, whose target cannot be named, empties the cache on success.
    fn unkeyable(&self, write: bool) -> Keyed {
        if !write {
            return Keyed::Unkeyed;
        }
        let inner = Arc::clone(&self.inner);
        Keyed::Write(Invalidate::new(move || inner.invalidate_all()))
    }
}

impl<K> Hook for ValidatorCache<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn key(&self, head: &Parts, write: bool) -> Keying {
        match &self.inner.key {
            KeyOf::Head(key) => Keying::Ready(match key(head) {
                Some(key) => self.keyed(key, write),
                None => self.unkeyable(write),
            }),
            #[cfg(feature = "axum")]
            KeyOf::Extracted(extract) => {
                let extracting = extract(head.clone());
                let cache = self.clone();
                Keying::Pending(Box::pin(async move {
                    match extracting.await {
                        Ok(key) => cache.keyed(key, write),
                        Err(rejection) if rejection.response().status().is_server_error() => {
                            cache.unkeyable(write)
                        }
                        Err(rejection) => Keyed::Rejected(rejection),
                    }
                }))
            }
        }
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
            .field("bytes", &self.inner.entries.weight())
            .field("max_bytes", &self.inner.entries.capacity())
            .field("max_age", &self.inner.max_age)
            .field("on", &self.inner.on.load(SeqCst))
            .finish_non_exhaustive()
    }
}

impl<K> fmt::Debug for ValidatorCacheBuilder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorCacheBuilder")
            .field("max_bytes", &self.max_bytes)
            .field("max_age", &self.max_age)
            .field("also_invalidates", &self.related.is_some())
            .field("switched_off", &!self.on)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::LastModified;
    use crate::etag::ETag;

    #[test]
    fn the_default_bound_holds_about_45_000_typical_entries() {
        let validators = Validators::new()
            .with_etag(ETag::from(1_234_567u64))
            .with_last_modified(LastModified::from_unix_seconds(1_700_000_000).unwrap())
            .with_cache_control(HeaderValue::from_static("no-cache"));
        let weight = weight::entry::<u64, Entry>(&7, weight::validators_heap(&validators));
        let entries = MAX_BYTES / weight;
        assert!(
            (40_000..50_000).contains(&entries),
            "{entries} entries of {weight} bytes"
        );
    }

    #[test]
    fn only_accept_encoding_is_a_vary_the_cache_keeps() {
        let vary = |value: &'static str| varies_per_request(Some(&HeaderValue::from_static(value)));
        assert!(!varies_per_request(None));
        assert!(!vary("Accept-Encoding"));
        assert!(!vary("accept-encoding, ACCEPT-ENCODING"));
        assert!(vary("Accept-Encoding, Authorization"));
        assert!(vary("Cookie"));
        assert!(vary("*"));
    }
}
