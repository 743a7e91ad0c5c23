//! What the layer checked, handed to the handler for an atomic write.

use crate::{Condition, ETag, LastModified, ResourceState};

/// Inserted into the request's extensions by [`Conditional`](crate::Conditional) before it calls
/// the inner service with any method other than GET and HEAD: the state the preconditions were
/// evaluated against, and what passed.
///
/// Checking and writing are two steps, and two clients holding the same ETag can both pass the
/// check. Make the write a compare-and-set against [`Checked::state`]: succeed only if the stored
/// version is still the one checked (still absent when it was [missing](ResourceState::Missing)),
/// and answer 412 otherwise. Then of two racing writers exactly one wins.
///
/// # Examples
///
/// The compare-and-set a handler (taking `axum::Extension<Checked>`) runs against its store:
///
/// ```
/// use tower_conditional::{Checked, ETag, ResourceState};
///
/// /// `UPDATE items SET body = $new, etag = $new_etag WHERE key = $key AND etag = $expected`
/// fn compare_and_set(stored: &mut Option<ETag>, checked: &Checked, new: ETag) -> bool {
///     if stored.as_ref() != checked.etag() {
///         return false; // someone else wrote since the check: answer 412
///     }
///     *stored = Some(new);
///     true
/// }
/// # let mut stored = Some(ETag::from_static("\"1\""));
/// # let checked = Checked::new(ResourceState::Present(
/// #     tower_conditional::Validators::new().with_etag(ETag::from_static("\"1\"")),
/// # ));
/// # assert!(compare_and_set(&mut stored, &checked, ETag::from_static("\"2\"")));
/// # assert!(!compare_and_set(&mut stored, &checked, ETag::from_static("\"3\"")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    state: ResourceState,
    passed: Option<Condition>,
    etag_matched: bool,
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
        }
    }

    pub(crate) fn with_outcome(mut self, passed: Option<Condition>, etag_matched: bool) -> Self {
        self.passed = passed;
        self.etag_matched = etag_matched;
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

    /// The entity tag that was current at the check, if any.
    ///
    /// ```
    /// use tower_conditional::{Checked, ETag, ResourceState, Validators};
    ///
    /// let current = ETag::from_static("\"v1\"");
    /// let checked = Checked::new(ResourceState::Present(Validators::new().with_etag(current)));
    /// assert_eq!(checked.etag(), Some(&ETag::from_static("\"v1\"")));
    /// ```
    pub fn etag(&self) -> Option<&ETag> {
        self.state.etag()
    }

    /// The modification date that was current at the check, if any.
    ///
    /// ```
    /// use tower_conditional::{Checked, LastModified, ResourceState, Validators};
    ///
    /// let date = LastModified::from_unix_seconds(1_000)?;
    /// let state = ResourceState::Present(Validators::new().with_last_modified(date));
    /// let checked = Checked::new(state);
    /// assert_eq!(checked.last_modified(), Some(date));
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn last_modified(&self) -> Option<LastModified> {
        self.state.last_modified()
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
    ///     let checked = request.extensions().get::<Checked>().expect("writes get one");
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
    ///     let checked = request.extensions().get::<Checked>().expect("writes get one");
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
}
