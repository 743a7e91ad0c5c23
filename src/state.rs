//! The resource as the evaluator sees it: missing, or present with its validators.
//!
//! ```
//! use tower_conditional::{ETag, LastModified, ResourceState, Validators};
//!
//! let state = ResourceState::Present(
//!     Validators::new()
//!         .with_etag(ETag::from_static("\"v7\""))
//!         .with_last_modified(LastModified::from_unix_seconds(1_700_000_000)?),
//! );
//! assert_eq!(state.etag(), Some(&ETag::from_static("\"v7\"")));
//! assert!(ResourceState::Missing.validators().is_none());
//! # Ok::<(), tower_conditional::InvalidDate>(())
//! ```

use http::HeaderValue;

use crate::date::LastModified;

use crate::etag::ETag;

/// Whether the target resource has a current representation, and if so its validators.
///
/// *Present without validators* is not *missing*: `If-Match: *` is true for it (RFC 9110
/// §13.1.1), while for a missing resource it is false.
///
/// ```
/// use http::{HeaderMap, Method};
/// use tower_conditional::{evaluate, Decision, ResourceState, Validators};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("if-match", "*".parse()?);
/// let untagged = ResourceState::Present(Validators::new());
/// assert!(evaluate(&Method::PUT, &headers, &untagged).proceed().is_some());
/// let missing = evaluate(&Method::PUT, &headers, &ResourceState::Missing);
/// assert!(matches!(missing, Decision::PreconditionFailed(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "boxing would cost an allocation per request; the state is moved rarely"
)]
pub enum ResourceState {
    /// No current representation exists (a GET would answer 404).
    Missing,
    /// A current representation exists.
    Present(Validators),
}

impl ResourceState {
    /// The validators of a present resource.
    ///
    /// ```
    /// use tower_conditional::{ETag, ResourceState, Validators};
    ///
    /// let state = ResourceState::from(Validators::new().with_etag(ETag::from_static("\"1\"")));
    /// assert!(state.validators().is_some_and(|v| v.etag().is_some()));
    /// assert_eq!(ResourceState::Missing.validators(), None);
    /// ```
    pub fn validators(&self) -> Option<&Validators> {
        match self {
            ResourceState::Missing => None,
            ResourceState::Present(validators) => Some(validators),
        }
    }

    /// The current entity tag, if the resource exists and has one.
    ///
    /// ```
    /// use tower_conditional::{ETag, ResourceState, Validators};
    ///
    /// let tagged = ResourceState::from(Validators::new().with_etag(ETag::from_static("\"1\"")));
    /// assert_eq!(tagged.etag(), Some(&ETag::from_static("\"1\"")));
    /// assert_eq!(ResourceState::Present(Validators::new()).etag(), None);
    /// ```
    pub fn etag(&self) -> Option<&ETag> {
        self.validators().and_then(Validators::etag)
    }

    /// The current modification date, if the resource exists and has one.
    ///
    /// ```
    /// use tower_conditional::{LastModified, ResourceState, Validators};
    ///
    /// let date = LastModified::from_unix_seconds(1_000)?;
    /// let state = ResourceState::Present(Validators::new().with_last_modified(date));
    /// assert_eq!(state.last_modified(), Some(date));
    /// assert_eq!(ResourceState::Missing.last_modified(), None);
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn last_modified(&self) -> Option<LastModified> {
        self.validators().and_then(Validators::last_modified)
    }

    /// Whether the resource exists.
    ///
    /// ```
    /// use tower_conditional::{ResourceState, Validators};
    ///
    /// assert!(ResourceState::Present(Validators::new()).is_present()); // even without validators
    /// assert!(!ResourceState::Missing.is_present());
    /// ```
    pub fn is_present(&self) -> bool {
        matches!(self, ResourceState::Present(_))
    }
}

/// A present resource with these validators.
///
/// ```
/// use tower_conditional::{ETag, ResourceState, Validators};
///
/// let state: ResourceState = Validators::new().with_etag(ETag::from_static("\"1\"")).into();
/// assert!(state.is_present());
/// ```
impl From<Validators> for ResourceState {
    fn from(validators: Validators) -> Self {
        ResourceState::Present(validators)
    }
}

/// `Some(validators)` is a present resource, `None` a missing one: the shape of a row look-up.
///
/// ```
/// use tower_conditional::{ETag, ResourceState, Validators};
///
/// let row: Option<u64> = Some(7); // SELECT version FROM docs WHERE id = $1
/// let state: ResourceState = row.map(|v| Validators::new().with_etag(ETag::from(v))).into();
/// assert_eq!(state.etag(), Some(&ETag::from(7u64)));
/// assert_eq!(ResourceState::from(None::<Validators>), ResourceState::Missing);
/// ```
impl From<Option<Validators>> for ResourceState {
    fn from(validators: Option<Validators>) -> Self {
        validators.map_or(ResourceState::Missing, ResourceState::Present)
    }
}

/// The current validators of a present representation, and the response metadata a 304 must
/// repeat (RFC 9110 §15.4.5).
///
/// Built with consuming setters; every part is optional.
///
/// # Examples
///
/// ```
/// use http::HeaderValue;
/// use tower_conditional::{ETag, Validators};
///
/// let validators = Validators::new()
///     .with_etag(ETag::from_content(b"row 42, version 9"))
///     .with_cache_control(HeaderValue::from_static("no-cache"))
///     .with_vary(HeaderValue::from_static("Accept-Encoding"));
/// assert!(validators.etag().is_some());
/// assert!(validators.last_modified().is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    etag: Option<ETag>,
    last_modified: Option<LastModified>,
    strong_last_modified: bool,
    cache_control: Option<HeaderValue>,
    vary: Option<HeaderValue>,
    expires: Option<HeaderValue>,
    content_location: Option<HeaderValue>,
}

impl Validators {
    /// No validators and no metadata.
    ///
    /// ```
    /// use tower_conditional::Validators;
    ///
    /// let validators = Validators::new();
    /// assert_eq!(validators, Validators::default());
    /// assert!(validators.etag().is_none() && validators.last_modified().is_none());
    /// ```
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the current entity tag.
    ///
    /// ```
    /// use tower_conditional::{ETag, Validators};
    ///
    /// let validators = Validators::new()
    ///     .with_etag(ETag::from_static("\"1\""))
    ///     .with_etag(ETag::from_static("\"2\""));
    /// assert_eq!(validators.etag(), Some(&ETag::from_static("\"2\""))); // the last one set wins
    /// ```
    #[must_use]
    #[inline]
    pub fn with_etag(mut self, etag: ETag) -> Self {
        self.etag = Some(etag);
        self
    }

    /// Sets the current modification date.
    ///
    /// ```
    /// use tower_conditional::{LastModified, Validators};
    ///
    /// let date = LastModified::from_unix_seconds(1_000)?;
    /// let validators = Validators::new().with_last_modified(date);
    /// assert_eq!(validators.last_modified(), Some(date));
    /// assert!(!validators.is_last_modified_strong()); // weak unless declared strong
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    #[must_use]
    #[inline]
    pub fn with_last_modified(mut self, last_modified: LastModified) -> Self {
        self.last_modified = Some(last_modified);
        self
    }

    /// Declares the modification date a *strong* validator: the server knows the representation
    /// cannot change twice within one second (RFC 9110 §8.8.2.2).
    ///
    /// Only `If-Range` cares: a date there is true only when it equals a strong Last-Modified
    /// (§13.1.5). Dates are weak unless declared strong.
    ///
    /// ```
    /// use tower_conditional::{LastModified, Validators};
    ///
    /// let validators = Validators::new()
    ///     .with_last_modified(LastModified::from_unix_seconds(1_700_000_000)?)
    ///     .with_strong_last_modified(true);
    /// assert!(validators.is_last_modified_strong());
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    #[must_use]
    #[inline]
    pub fn with_strong_last_modified(mut self, strong: bool) -> Self {
        self.strong_last_modified = strong;
        self
    }

    /// Sets the `Cache-Control` a 200 would carry (repeated on a 304).
    ///
    /// ```
    /// use http::{header, HeaderValue};
    /// use tower_conditional::{response, Validators};
    ///
    /// let value = HeaderValue::from_static("max-age=60");
    /// let validators = Validators::new().with_cache_control(value.clone());
    /// let not_modified = response::not_modified(&validators);
    /// assert_eq!(not_modified.headers()[header::CACHE_CONTROL], value);
    /// ```
    #[must_use]
    #[inline]
    pub fn with_cache_control(mut self, value: HeaderValue) -> Self {
        self.cache_control = Some(value);
        self
    }

    /// Sets the `Vary` a 200 would carry (repeated on a 304).
    ///
    /// ```
    /// use http::{header, HeaderValue};
    /// use tower_conditional::{response, Validators};
    ///
    /// let value = HeaderValue::from_static("Accept-Encoding");
    /// let validators = Validators::new().with_vary(value.clone());
    /// let not_modified = response::not_modified(&validators);
    /// assert_eq!(not_modified.headers()[header::VARY], value);
    /// ```
    #[must_use]
    #[inline]
    pub fn with_vary(mut self, value: HeaderValue) -> Self {
        self.vary = Some(value);
        self
    }

    /// Sets the `Expires` a 200 would carry (repeated on a 304).
    ///
    /// ```
    /// use http::{header, HeaderValue};
    /// use tower_conditional::{response, Validators};
    ///
    /// let value = HeaderValue::from_static("Thu, 01 Dec 2094 16:00:00 GMT");
    /// let validators = Validators::new().with_expires(value.clone());
    /// let not_modified = response::not_modified(&validators);
    /// assert_eq!(not_modified.headers()[header::EXPIRES], value);
    /// ```
    #[must_use]
    #[inline]
    pub fn with_expires(mut self, value: HeaderValue) -> Self {
        self.expires = Some(value);
        self
    }

    /// Sets the `Content-Location` a 200 would carry (repeated on a 304).
    ///
    /// ```
    /// use http::{header, HeaderValue};
    /// use tower_conditional::{response, Validators};
    ///
    /// let value = HeaderValue::from_static("/doc.en");
    /// let validators = Validators::new().with_content_location(value.clone());
    /// let not_modified = response::not_modified(&validators);
    /// assert_eq!(not_modified.headers()[header::CONTENT_LOCATION], value);
    /// ```
    #[must_use]
    #[inline]
    pub fn with_content_location(mut self, value: HeaderValue) -> Self {
        self.content_location = Some(value);
        self
    }

    /// The current entity tag.
    ///
    /// ```
    /// use tower_conditional::{ETag, Validators};
    ///
    /// assert_eq!(Validators::new().etag(), None);
    /// let validators = Validators::new().with_etag(ETag::from_content(b"hello"));
    /// assert_eq!(validators.etag(), Some(&ETag::from_content(b"hello")));
    /// ```
    pub fn etag(&self) -> Option<&ETag> {
        self.etag.as_ref()
    }

    /// The current modification date.
    ///
    /// ```
    /// use tower_conditional::{LastModified, Validators};
    ///
    /// let date = "Sun, 06 Nov 1994 08:49:37 GMT".parse()?;
    /// let validators = Validators::new().with_last_modified(date);
    /// assert_eq!(validators.last_modified().map(LastModified::unix_seconds), Some(784_111_777));
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn last_modified(&self) -> Option<LastModified> {
        self.last_modified
    }

    /// Whether the modification date was declared a strong validator.
    ///
    /// `false` while there is no modification date, even if declared strong:
    ///
    /// ```
    /// use tower_conditional::{LastModified, Validators};
    ///
    /// let declared = Validators::new().with_strong_last_modified(true);
    /// assert!(!declared.is_last_modified_strong());
    /// let dated = declared.with_last_modified(LastModified::from_unix_seconds(1_000)?);
    /// assert!(dated.is_last_modified_strong());
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn is_last_modified_strong(&self) -> bool {
        self.strong_last_modified && self.last_modified.is_some()
    }

    /// The `Cache-Control` to repeat on a 304.
    ///
    /// ```
    /// use http::HeaderValue;
    /// use tower_conditional::Validators;
    ///
    /// assert_eq!(Validators::new().cache_control(), None);
    /// let value = HeaderValue::from_static("max-age=60");
    /// let validators = Validators::new().with_cache_control(value.clone());
    /// assert_eq!(validators.cache_control(), Some(&value));
    /// ```
    pub fn cache_control(&self) -> Option<&HeaderValue> {
        self.cache_control.as_ref()
    }

    /// The `Vary` to repeat on a 304.
    ///
    /// ```
    /// use http::HeaderValue;
    /// use tower_conditional::Validators;
    ///
    /// assert_eq!(Validators::new().vary(), None);
    /// let value = HeaderValue::from_static("Accept-Encoding");
    /// let validators = Validators::new().with_vary(value.clone());
    /// assert_eq!(validators.vary(), Some(&value));
    /// ```
    pub fn vary(&self) -> Option<&HeaderValue> {
        self.vary.as_ref()
    }

    /// The `Expires` to repeat on a 304.
    ///
    /// ```
    /// use http::HeaderValue;
    /// use tower_conditional::Validators;
    ///
    /// assert_eq!(Validators::new().expires(), None);
    /// let value = HeaderValue::from_static("Thu, 01 Dec 2094 16:00:00 GMT");
    /// let validators = Validators::new().with_expires(value.clone());
    /// assert_eq!(validators.expires(), Some(&value));
    /// ```
    pub fn expires(&self) -> Option<&HeaderValue> {
        self.expires.as_ref()
    }

    /// The `Content-Location` to repeat on a 304.
    ///
    /// ```
    /// use http::HeaderValue;
    /// use tower_conditional::Validators;
    ///
    /// assert_eq!(Validators::new().content_location(), None);
    /// let value = HeaderValue::from_static("/doc.en");
    /// let validators = Validators::new().with_content_location(value.clone());
    /// assert_eq!(validators.content_location(), Some(&value));
    /// ```
    pub fn content_location(&self) -> Option<&HeaderValue> {
        self.content_location.as_ref()
    }
}
