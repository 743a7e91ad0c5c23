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

use crate::{ETag, LastModified};

/// Whether the target resource has a current representation, and if so its validators.
///
/// *Present without validators* is not *missing*: `If-Match: *` is true for it (RFC 9110
/// §13.1.1), while for a missing resource it is false.
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
    pub fn validators(&self) -> Option<&Validators> {
        match self {
            ResourceState::Missing => None,
            ResourceState::Present(validators) => Some(validators),
        }
    }

    /// The current entity tag, if the resource exists and has one.
    pub fn etag(&self) -> Option<&ETag> {
        self.validators().and_then(Validators::etag)
    }

    /// The current modification date, if the resource exists and has one.
    pub fn last_modified(&self) -> Option<LastModified> {
        self.validators().and_then(Validators::last_modified)
    }

    /// Whether the resource exists.
    pub fn is_present(&self) -> bool {
        matches!(self, ResourceState::Present(_))
    }
}

impl From<Validators> for ResourceState {
    fn from(validators: Validators) -> Self {
        ResourceState::Present(validators)
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
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the current entity tag.
    #[must_use]
    pub fn with_etag(mut self, etag: ETag) -> Self {
        self.etag = Some(etag);
        self
    }

    /// Sets the current modification date.
    #[must_use]
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
    pub fn with_strong_last_modified(mut self, strong: bool) -> Self {
        self.strong_last_modified = strong;
        self
    }

    /// Sets the `Cache-Control` a 200 would carry (repeated on a 304).
    #[must_use]
    pub fn with_cache_control(mut self, value: HeaderValue) -> Self {
        self.cache_control = Some(value);
        self
    }

    /// Sets the `Vary` a 200 would carry (repeated on a 304).
    #[must_use]
    pub fn with_vary(mut self, value: HeaderValue) -> Self {
        self.vary = Some(value);
        self
    }

    /// Sets the `Expires` a 200 would carry (repeated on a 304).
    #[must_use]
    pub fn with_expires(mut self, value: HeaderValue) -> Self {
        self.expires = Some(value);
        self
    }

    /// Sets the `Content-Location` a 200 would carry (repeated on a 304).
    #[must_use]
    pub fn with_content_location(mut self, value: HeaderValue) -> Self {
        self.content_location = Some(value);
        self
    }

    /// The current entity tag.
    pub fn etag(&self) -> Option<&ETag> {
        self.etag.as_ref()
    }

    /// The current modification date.
    pub fn last_modified(&self) -> Option<LastModified> {
        self.last_modified
    }

    /// Whether the modification date was declared a strong validator.
    pub fn is_last_modified_strong(&self) -> bool {
        self.strong_last_modified && self.last_modified.is_some()
    }

    /// The `Cache-Control` to repeat on a 304.
    pub fn cache_control(&self) -> Option<&HeaderValue> {
        self.cache_control.as_ref()
    }

    /// The `Vary` to repeat on a 304.
    pub fn vary(&self) -> Option<&HeaderValue> {
        self.vary.as_ref()
    }

    /// The `Expires` to repeat on a 304.
    pub fn expires(&self) -> Option<&HeaderValue> {
        self.expires.as_ref()
    }

    /// The `Content-Location` to repeat on a 304.
    pub fn content_location(&self) -> Option<&HeaderValue> {
        self.content_location.as_ref()
    }
}
