//! What the layer checked, handed to the handler for an atomic write.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use http::request::Parts;
use http::{Request, Response, Uri};

use crate::decision::Condition;
use crate::etag::ETag;
use crate::response::{self, AnswerBody};
use crate::state::ResourceState;

/// Inserted into the request's extensions by [`Conditional`](crate::Conditional) before it calls
/// the inner service with any method other than GET and HEAD whose validators it looked up (the
/// request carried a precondition, or its method
/// [requires one](crate::ConditionalLayer::require_preconditions)): the state the preconditions
/// were evaluated against, and what passed. A write that needed no look-up has none. A GET
/// whose `Range` is honoured because a field naming a version was true (`If-Range`, or an
/// `If-Match` entity-tag or `If-Unmodified-Since`) gets one too: serve the range only while the
/// version read [`is_current`](Checked::is_current) for it (see
/// [`ConditionalLayer`](crate::ConditionalLayer#what-the-inner-service-sees), "What the inner
/// service sees").
///
/// With the `axum` feature, `Checked` is an extractor: take `checked: Checked` in a handler
/// (a missing layer is then a 500 that names it), or `Option<Checked>` where some writes reach
/// the handler unchecked.
///
/// Checking and writing are two steps, and two clients holding the same ETag can both pass the
/// check. Make the write a compare-and-set against [`Checked::state`]: succeed only if the stored
/// version is still the one checked (still absent when it was [missing](ResourceState::Missing)),
/// and answer 412 otherwise. Then of two racing writers exactly one wins.
///
/// # Examples
///
/// The compare-and-set of a handler, against a store that holds a version number per key
/// (`UPDATE items SET body = $new, version = version + 1 WHERE key = $key AND version =
/// $checked` in a database):
///
/// ```
/// use std::collections::HashMap;
/// use http::{Response, StatusCode};
/// use tower_conditional::response::AnswerBody;
/// use tower_conditional::{Checked, ETag, ResourceState, Validators};
///
/// fn state_of(version: Option<u64>) -> ResourceState {
///     version.map(|v| Validators::new().with_etag(ETag::from(v))).into()
/// }
///
/// fn put(store: &mut HashMap<String, u64>, key: &str, checked: &Checked) -> Response<AnswerBody> {
///     let current = state_of(store.get(key).copied());
///     if !checked.is_current(&current) {
///         return checked.refusal(&current); // someone else wrote since the check
///     }
///     let version = store.get(key).map_or(1, |v| v + 1);
///     store.insert(key.to_owned(), version);
///     let mut created = Response::new(AnswerBody::default());
///     *created.status_mut() = StatusCode::NO_CONTENT;
///     created
/// }
///
/// let mut store = HashMap::from([("doc".to_owned(), 7)]);
/// let checked = Checked::new(state_of(Some(7)));
/// assert_eq!(put(&mut store, "doc", &checked).status(), StatusCode::NO_CONTENT);
/// // The same check again: version 7 is gone, the write is refused and nothing changes.
/// assert_eq!(put(&mut store, "doc", &checked).status(), StatusCode::PRECONDITION_REQUIRED);
/// assert_eq!(store["doc"], 8);
/// ```
#[derive(Clone)]
pub struct Checked {
    state: ResourceState,
    passed: Option<Condition>,
    etag_matched: bool,
    /// The layer can name the current version in a [`lost_race`](Checked::lost_race) 412 (a
    /// write that passed a precondition, with `validators_in_412`): taking the `Checked` from
    /// the request keeps its head for that.
    refill: Option<Refill>,
    /// The request head, kept when the handler took this `Checked` from a refillable request:
    /// a `lost_race` 412 carries it back to the layer, which asks the source with it. Kept by
    /// the handler's taking, not by the layer, so a handler that never takes `Checked` costs
    /// no copy of the head.
    head: Option<Arc<Parts>>,
}

/// What the layer gave a `Checked` whose 412 it can refill.
#[derive(Clone)]
struct Refill {
    /// Ties the kept head to this request: the layer takes back only the head of the request
    /// it is answering (see [`ticket`]).
    ticket: u64,
    /// The [`fingerprint`] of the target as the source was asked about it: what lies between
    /// the layer and the handler (a nested router's prefix stripped, a path normalized) may
    /// have rewritten the handler's, and the second look-up must be about the same resource as
    /// the first. A fingerprint rather than a copy: no allocation on a write that never loses.
    target: u64,
}

/// A keyed hash of `uri`, to tell whether the handler's target is the one the source was
/// asked about (keyed per process, so a client cannot choose two targets that collide).
pub(crate) fn fingerprint(uri: &Uri) -> u64 {
    static KEYS: LazyLock<RandomState> = LazyLock::new(RandomState::new);
    KEYS.hash_one(uri)
}

/// The kept head is the request's, credentials and all: it is never printed.
impl fmt::Debug for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checked")
            .field("state", &self.state)
            .field("passed", &self.passed)
            .field("etag_matched", &self.etag_matched)
            .field("head_kept", &self.head.is_some())
            .finish()
    }
}

/// Equal when they say the same about the check (the kept head is not part of it).
impl PartialEq for Checked {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
            && self.passed == other.passed
            && self.etag_matched == other.etag_matched
    }
}

impl Eq for Checked {}

/// On a `lost_race` 412: the head of the request that lost, for the layer's second look-up,
/// with the ticket of that request (see [`ticket`]).
#[derive(Clone)]
pub(crate) struct LostRaceHead(pub(crate) u64, pub(crate) Arc<Parts>);

/// The target the client sent, as axum's routers keep it (`OriginalUri`).
fn original_uri(head: &Parts) -> Option<Uri> {
    #[cfg(feature = "axum")]
    {
        let original = head.extensions.get::<axum::extract::OriginalUri>();
        original.map(|original| original.0.clone())
    }
    #[cfg(not(feature = "axum"))]
    {
        let _ = head;
        None
    }
}

/// A number no other request under any layer of this process is given: what ties a
/// `LostRaceHead` to the request whose head it is.
pub(crate) fn ticket() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Checked {
    /// What the layer knows of a request that passed no precondition, against `state`.
    ///
    /// Handlers get theirs from the layer; `new` is for tests of such handlers.
    ///
    /// ```
    /// use tower_conditional::{Checked, ResourceState};
    ///
    /// let checked = Checked::new(ResourceState::Missing);
    /// assert_eq!(checked.passed(), None);
    /// assert_eq!(checked.matched_etag(), None);
    /// ```
    pub fn new(state: ResourceState) -> Self {
        Checked {
            state,
            passed: None,
            etag_matched: false,
            refill: None,
            head: None,
        }
    }

    pub(crate) fn with_outcome(
        mut self,
        passed: Option<Condition>,
        etag_matched: bool,
        refill: Option<(u64, u64)>,
    ) -> Self {
        self.passed = passed;
        self.etag_matched = etag_matched;
        self.refill = refill
            .filter(|_| passed.is_some())
            .map(|(ticket, target)| Refill { ticket, target });
        self
    }

    /// The `Checked` the layer gave `request`, for handlers that are not axum handlers (with
    /// the `axum` feature, `Checked` is an extractor doing the same). Taken this way rather
    /// than from the extensions directly, a write that passed a precondition keeps a copy of
    /// its head, so that its [`lost_race`](Checked::lost_race) 412 can be given the current
    /// validators by the layer.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{Checked, ConditionalLayer, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async { Ok::<_, Infallible>(Lookup::Present(Validators::new())) };
    /// let handler = service_fn(|request: Request<String>| async move {
    ///     let checked = Checked::from_request(&request).expect("a checked write");
    ///     assert!(checked.passed().is_some());
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let service = ConditionalLayer::new(source).layer(handler);
    /// let write = Request::put("/").header(header::IF_MATCH, "*").body(String::new())?;
    /// assert_eq!(service.oneshot(write).await?.status(), StatusCode::OK);
    /// // Without the layer there is none.
    /// assert!(Checked::from_request(&Request::put("/").body(())?).is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_request<B>(request: &Request<B>) -> Option<Checked> {
        let checked = request.extensions().get::<Checked>()?;
        if checked.refill.is_none() {
            return Some(checked.clone());
        }
        let (mut head, ()) = Request::new(()).into_parts();
        head.method = request.method().clone();
        head.uri = request.uri().clone();
        head.version = request.version();
        head.headers = request.headers().clone();
        head.extensions = request.extensions().clone();
        Some(checked.clone().keeping(head))
    }

    /// The `Checked` in `parts`, keeping the head where a `lost_race` needs it (see
    /// [`from_request`](Checked::from_request)).
    #[cfg(feature = "axum")]
    fn from_parts(parts: &Parts) -> Option<Checked> {
        let checked = parts.extensions.get::<Checked>()?;
        if checked.refill.is_none() {
            return Some(checked.clone());
        }
        Some(checked.clone().keeping(parts.clone()))
    }

    fn keeping(mut self, mut head: Parts) -> Self {
        let Some(refill) = &self.refill else {
            return self;
        };
        if fingerprint(&head.uri) != refill.target {
            // Rewritten on the way (a nested router strips its prefix): the client's target,
            // where axum kept it and it is the one the source was asked about; else no head,
            // and the 412 goes out without a second look-up rather than about another target.
            match original_uri(&head).filter(|uri| fingerprint(uri) == refill.target) {
                Some(uri) => head.uri = uri,
                None => return self,
            }
        }
        self.head = Some(Arc::new(head));
        self
    }

    /// The state the preconditions were evaluated against: the source's answer.
    ///
    /// ```
    /// use tower_conditional::{Checked, ResourceState};
    ///
    /// let checked = Checked::new(ResourceState::Missing);
    /// // A create: the store must insert only if the key is still absent.
    /// assert!(!checked.state().is_present());
    /// ```
    pub fn state(&self) -> &ResourceState {
        &self.state
    }

    /// The first precondition that was evaluated and found true; `None` for an unconditional
    /// request (or one whose preconditions were ignored).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{Checked, Condition, ConditionalLayer, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async { Ok::<_, Infallible>(Lookup::Present(Validators::new())) };
    /// let handler = service_fn(|request: Request<String>| async move {
    ///     let checked = Checked::from_request(&request).expect("writes get one");
    ///     assert_eq!(checked.passed(), Some(Condition::IfMatch));
    ///     assert_eq!(checked.matched_etag(), None); // `*` names no version
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let service = ConditionalLayer::new(source).layer(handler);
    /// let write = Request::put("/").header(header::IF_MATCH, "*").body(String::new())?;
    /// assert_eq!(service.oneshot(write).await?.status(), StatusCode::OK);
    /// # Ok(())
    /// # }
    /// ```
    pub fn passed(&self) -> Option<Condition> {
        self.passed
    }

    /// The current tag, when an `If-Match` entity tag matched it: by strong comparison the
    /// matched tag is the current one, or, with
    /// [encoding-aware tags](crate::ConditionalLayer::encoding_aware_etags), its coding-suffixed
    /// form (`"v7-gzip"` for `"v7"`). `None` for `If-Match: *` or when there was no `If-Match`.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{header, request::Parts, Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_conditional::{Checked, ConditionalLayer, ETag, Lookup, Validators};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let source = |_: &Parts| async {
    ///     let current = Validators::new().with_etag(ETag::from_static("\"v2\""));
    ///     Ok::<_, Infallible>(Lookup::Present(current))
    /// };
    /// let handler = service_fn(|request: Request<String>| async move {
    ///     let checked = Checked::from_request(&request).expect("writes get one");
    ///     assert_eq!(checked.matched_etag(), Some(&ETag::from_static("\"v2\"")));
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let service = ConditionalLayer::new(source).layer(handler);
    /// let write = Request::put("/").header(header::IF_MATCH, "\"v1\", \"v2\"");
    /// let write = write.body(String::new())?;
    /// assert_eq!(service.oneshot(write).await?.status(), StatusCode::OK);
    /// # Ok(())
    /// # }
    /// ```
    pub fn matched_etag(&self) -> Option<&ETag> {
        if self.etag_matched {
            self.state.etag()
        } else {
            None
        }
    }

    /// The compare of compare-and-set: whether `current` (the resource's state now, read where
    /// the write is made, under the same transaction or lock) is still the state that was
    /// checked. Missing then and now; or present then and now with the same entity tag (the
    /// same bytes, weak or strong: the tag names a stored version here, not a representation),
    /// or, for a resource without tags, the same `Last-Modified`. A date has one-second
    /// resolution, so two writes within a second both pass it: give resources a version or an
    /// ETag where writes can be that close, or date each version later than the one it
    /// replaces, as `examples/store` does.
    ///
    /// ```
    /// use tower_conditional::{Checked, ETag, ResourceState, Validators};
    ///
    /// let v1 = ResourceState::Present(Validators::new().with_etag(ETag::from(1u64)));
    /// let v2 = ResourceState::Present(Validators::new().with_etag(ETag::from(2u64)));
    /// let checked = Checked::new(v1.clone());
    /// assert!(checked.is_current(&v1));
    /// assert!(!checked.is_current(&v2));
    /// assert!(!checked.is_current(&ResourceState::Missing));
    /// // A create checked against a missing resource must still find it missing.
    /// assert!(!Checked::new(ResourceState::Missing).is_current(&v1));
    /// // Weak tags name stored versions as well as strong ones do.
    /// let weak = ResourceState::Present(Validators::new().with_etag(ETag::weak("7")?));
    /// assert!(Checked::new(weak.clone()).is_current(&weak));
    /// # Ok::<(), tower_conditional::InvalidETag>(())
    /// ```
    pub fn is_current(&self, current: &ResourceState) -> bool {
        match (&self.state, current) {
            (ResourceState::Missing, ResourceState::Missing) => true,
            (ResourceState::Present(checked), ResourceState::Present(now)) => {
                match (checked.etag(), now.etag()) {
                    (Some(checked), Some(now)) => checked == now,
                    (None, None) => {
                        checked.last_modified().is_some()
                            && checked.last_modified() == now.last_modified()
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// The answer to a write that lost the race: the state checked is no longer `current`.
    /// A 412 carrying `current`'s validators when a precondition held at the check (it is false
    /// now), so the client can refetch and retry; a 428 for an unconditional write (a create
    /// that found the resource gone or taken: overwriting would lose the other write, so the
    /// request needed a precondition after all).
    ///
    /// Where `current` has no `ETag` (a store that reads back only a date, or nothing), the
    /// layer completes the 412 as it does a [`lost_race`](Checked::lost_race)'s: with the
    /// `ETag` and `Last-Modified` of a second look-up, which replace `current`'s date.
    ///
    /// Returned by the handler, this answer passes back through the layer, which gives its
    /// `ETag` the issued form with
    /// [encoding-aware tags](crate::ConditionalLayer::encoding_aware_etags) and removes the
    /// validators with [`validators_in_412(false)`](crate::ConditionalLayer::validators_in_412).
    ///
    /// ```
    /// use http::{header, StatusCode};
    /// use tower_conditional::{Checked, ETag, ResourceState, Validators};
    ///
    /// let now = ResourceState::Present(Validators::new().with_etag(ETag::from(9u64)));
    /// let unconditional = Checked::new(ResourceState::Missing);
    /// assert_eq!(unconditional.refusal(&now).status(), StatusCode::PRECONDITION_REQUIRED);
    /// ```
    pub fn refusal(&self, current: &ResourceState) -> Response<AnswerBody> {
        match self.passed {
            Some(condition) => {
                let refused = response::precondition_failed(condition, current);
                // Without a tag, the layer may find the current one (see `lost_race`).
                match current.etag() {
                    Some(_) => refused,
                    None => self.with_head(refused),
                }
            }
            None => response::precondition_required(),
        }
    }

    /// The answer to a write that lost the race, when the handler has not read the state that
    /// beat it: a compare-and-set (`UPDATE ... WHERE version = $checked`) that touched no row
    /// says only that the checked version is gone. A 412 whose problem body says the resource
    /// changed after the check; a 428 for an unconditional write, as
    /// [`refusal`](Checked::refusal) answers. No second query in the handler: on its way out
    /// through the layer, the 412 gets the current `ETag` and `Last-Modified` from the source,
    /// asked again once with the request's head, its target the one the source was first
    /// asked about (where that look-up fails or finds nothing, it goes out without them; see
    /// [`ConditionalLayer`](crate::ConditionalLayer#what-the-inner-service-sees)). The head is
    /// the one kept when the `Checked` was taken with the axum extractor or
    /// [`from_request`](Checked::from_request); one read straight from the extensions keeps
    /// none, and its 412 goes out without validators. So does the 412 of a `Checked` answered
    /// on another request than the one it was taken from (the layer only ever asks about the
    /// request it is answering), and one whose target was rewritten between the layer and the
    /// handler other than by an axum router that kept the client's (`OriginalUri`, as `nest`
    /// does): the second look-up is never about another resource than the first.
    ///
    /// ```
    /// use http::{header, StatusCode};
    /// use tower_conditional::{Checked, ResourceState};
    ///
    /// let unconditional = Checked::new(ResourceState::Missing);
    /// assert_eq!(unconditional.lost_race().status(), StatusCode::PRECONDITION_REQUIRED);
    /// ```
    ///
    /// A handler that passed `If-Match` gets a 412 naming the version that won (see
    /// `tests/axum_sources.rs` for one driven through the layer):
    ///
    /// ```
    /// # use std::convert::Infallible;
    /// # use std::sync::Arc;
    /// # use std::sync::atomic::{AtomicU64, Ordering};
    /// # use http::{header, request::Parts, Request, Response, StatusCode};
    /// # use tower::{service_fn, Layer, ServiceExt};
    /// # use tower_conditional::{Checked, ConditionalLayer, ETag, Lookup, Validators};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let version = Arc::new(AtomicU64::new(4));
    /// let source = {
    ///     let version = Arc::clone(&version);
    ///     move |_: &Parts| {
    ///         let current = ETag::from(version.load(Ordering::SeqCst));
    ///         async move { Ok::<_, Infallible>(Lookup::from(Validators::new().with_etag(current))) }
    ///     }
    /// };
    /// let handler = service_fn(move |request: Request<String>| {
    ///     let version = Arc::clone(&version);
    ///     async move {
    ///         let checked = Checked::from_request(&request).expect("a checked write");
    ///         version.store(5, Ordering::SeqCst); // another writer commits version 5 first
    ///         let rows_updated = 0; // UPDATE notes SET ... WHERE id = $1 AND version = 4
    ///         Ok::<_, Infallible>(if rows_updated == 0 {
    ///             checked.lost_race()
    ///         } else {
    ///             Response::default()
    ///         })
    ///     }
    /// });
    /// let write = Request::put("/notes/1").header(header::IF_MATCH, "\"4\"").body(String::new())?;
    /// let refused = ConditionalLayer::new(source).layer(handler).oneshot(write).await?;
    /// assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    /// assert_eq!(refused.headers()[header::ETAG], "\"5\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn lost_race(&self) -> Response<AnswerBody> {
        match self.passed {
            Some(condition) => self.with_head(response::lost_race(condition)),
            None => response::precondition_required(),
        }
    }

    /// `refused`, carrying the kept head back to the layer for its second look-up.
    fn with_head(&self, mut refused: Response<AnswerBody>) -> Response<AnswerBody> {
        if let (Some(refill), Some(head)) = (&self.refill, &self.head) {
            refused
                .extensions_mut()
                .insert(LostRaceHead(refill.ticket, Arc::clone(head)));
        }
        refused
    }

    /// The version that was current at the check, read back from its entity tag (the inverse
    /// of `ETag::from(version)`): what the compare-and-set compares against. `None` without a
    /// tag, or when the tag is not a version of type `T` (see [`NotAVersion`](crate::NotAVersion)).
    ///
    /// ```
    /// use tower_conditional::{Checked, ETag, ResourceState, Validators};
    ///
    /// let checked = Checked::new(Validators::new().with_etag(ETag::from(41i64)).into());
    /// assert_eq!(checked.version::<i64>(), Some(41));
    /// assert_eq!(checked.version::<String>().as_deref(), Some("41"));
    /// assert_eq!(Checked::new(ResourceState::Missing).version::<i64>(), None);
    /// ```
    pub fn version<T>(&self) -> Option<T>
    where
        T: for<'a> TryFrom<&'a ETag>,
    {
        self.state.etag().and_then(|tag| T::try_from(tag).ok())
    }
}

#[cfg(feature = "axum")]
mod extract {
    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;

    use super::Checked;

    /// The rejection of the [`Checked`] extractor: the request did not pass through
    /// [`ConditionalLayer`](crate::ConditionalLayer) with a look-up. A 500 with a problem+json
    /// body naming the missing layer: a configuration error, not the client's.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct MissingChecked;

    impl std::fmt::Display for MissingChecked {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("no Checked extension: is ConditionalLayer on this route, and does the request carry a precondition or require one?")
        }
    }

    impl std::error::Error for MissingChecked {}

    impl IntoResponse for MissingChecked {
        fn into_response(self) -> Response {
            crate::response::missing_layer().into_response()
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for Checked {
        type Rejection = MissingChecked;

        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
            Checked::from_parts(parts).ok_or(MissingChecked)
        }
    }

    impl<S: Send + Sync> OptionalFromRequestParts<S> for Checked {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(
            parts: &mut Parts,
            _: &S,
        ) -> Result<Option<Self>, Self::Rejection> {
            Ok(Checked::from_parts(parts))
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::MissingChecked;
