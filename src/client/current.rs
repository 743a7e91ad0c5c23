//! What the change function sees: [`Current`], [`Representation`].

use bytes::Bytes;
use http::header::{ETAG, HeaderName, HeaderValue, IF_MATCH, IF_NONE_MATCH, IF_UNMODIFIED_SINCE};
use http::{HeaderMap, Response};

use crate::date::LastModified;
use crate::etag::ETag;
use crate::state::Validators;

/// The target resource as the last `GET` found it: missing (404 or 410), or a representation.
///
/// Handed to the change function of [`ConditionalUpdate::update`](super::ConditionalUpdate::update)
/// before every write attempt, freshly read each time.
///
/// ```
/// use tower_conditional::{Change, Current};
///
/// // An increment: a missing counter is created as 1.
/// fn increment(current: &Current) -> Change {
///     let value = match current.content() {
///         None => 0,
///         Some(bytes) => match std::str::from_utf8(bytes).ok().and_then(|t| t.parse::<u64>().ok()) {
///             Some(value) => value,
///             None => return Change::Abort, // not a counter: leave it alone
///         },
///     };
///     Change::put((value + 1).to_string())
/// }
///
/// assert_eq!(increment(&Current::Missing), Change::put("1"));
/// ```
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per network round trip, moved a few times: boxing would cost an allocation and an awkward public pattern for nothing measurable"
)]
pub enum Current {
    /// The `GET` answered 404 Not Found or 410 Gone: no current representation. A write creates
    /// the resource with `If-None-Match: *`, so it cannot overwrite one created in the meantime.
    Missing,
    /// The `GET` answered 2xx with this representation.
    Present(Representation),
}

impl Current {
    /// The representation's bytes, or `None` when the resource is missing.
    ///
    /// ```
    /// use tower_conditional::Current;
    ///
    /// assert!(Current::Missing.content().is_none());
    /// ```
    pub fn content(&self) -> Option<&Bytes> {
        self.representation().map(Representation::content)
    }

    /// The representation, or `None` when the resource is missing.
    ///
    /// ```
    /// use tower_conditional::Current;
    ///
    /// assert!(Current::Missing.representation().is_none());
    /// ```
    pub fn representation(&self) -> Option<&Representation> {
        match self {
            Current::Missing => None,
            Current::Present(representation) => Some(representation),
        }
    }

    /// Whether the resource has a current representation.
    ///
    /// ```
    /// use tower_conditional::Current;
    ///
    /// assert!(!Current::Missing.is_present());
    /// ```
    pub fn is_present(&self) -> bool {
        matches!(self, Current::Present(_))
    }

    /// The precondition a write based on this state carries (RFC 9110 §13.1), or `None` when
    /// the representation has no validator a precondition can name.
    ///
    /// - Missing: `If-None-Match: *` (create only).
    /// - A strong `ETag`: `If-Match` with it. A weak tag can never satisfy `If-Match`, which
    ///   compares strongly (§13.1.1), so it is passed over.
    /// - Otherwise a `Last-Modified`: `If-Unmodified-Since` with it, echoed at its own second.
    pub(super) fn precondition(&self) -> Option<(HeaderName, HeaderValue)> {
        let validators = match self {
            Current::Missing => return Some((IF_NONE_MATCH, HeaderValue::from_static("*"))),
            Current::Present(representation) => &representation.validators,
        };
        if let Some(etag) = validators.etag().filter(|etag| !etag.is_weak()) {
            return Some((IF_MATCH, HeaderValue::from(etag)));
        }
        // `header_value_at(itself)`: the date as sent, never clamped to this machine's clock
        // (a server clock ahead of ours must not turn every write into a 412).
        let date = validators.last_modified()?;
        Some((IF_UNMODIFIED_SINCE, date.header_value_at(date)))
    }
}

/// A representation read with `GET`: its bytes, its validators and the response's headers.
///
/// ```
/// use tower_conditional::{Change, Current};
///
/// // Append a line to a text document, keeping its Content-Type in mind.
/// let append = |current: &Current| match current.representation() {
///     Some(doc) if doc.headers().get("content-type").is_some_and(|t| t == "text/plain") => {
///         let mut text = doc.content().to_vec();
///         text.extend_from_slice(b"\nanother line");
///         Change::put(text)
///     }
///     _ => Change::Abort,
/// };
/// assert!(matches!(append(&Current::Missing), Change::Abort));
/// ```
#[derive(Debug, Clone)]
pub struct Representation {
    content: Bytes,
    validators: Validators,
    headers: HeaderMap,
}

impl Representation {
    /// The representation of a 2xx `GET` response read whole.
    pub(super) fn from_response(response: Response<Bytes>) -> Self {
        let (parts, content) = response.into_parts();
        Representation {
            content,
            validators: validators_of(&parts.headers),
            headers: parts.headers,
        }
    }

    /// The bytes of the representation.
    ///
    /// ```
    /// use tower_conditional::Current;
    ///
    /// let text = |current: &Current| current.representation().map(|r| r.content().clone());
    /// assert_eq!(text(&Current::Missing), None);
    /// ```
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// Its `ETag` and `Last-Modified`, when the response carried valid ones.
    ///
    /// ```
    /// use tower_conditional::Current;
    ///
    /// let tag = |current: &Current| current.representation()?.validators().etag().cloned();
    /// assert_eq!(tag(&Current::Missing), None);
    /// ```
    pub fn validators(&self) -> &Validators {
        &self.validators
    }

    /// All the headers of the `GET` response (`Content-Type`, ...).
    ///
    /// ```
    /// use tower_conditional::Current;
    ///
    /// let kind = |current: &Current| current.representation()?.headers().get("content-type").cloned();
    /// assert_eq!(kind(&Current::Missing), None);
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// The `ETag` and `Last-Modified` of a response; a malformed value counts as absent.
pub(super) fn validators_of(headers: &HeaderMap) -> Validators {
    let mut validators = Validators::new();
    if let Some(etag) = headers.get(ETAG).and_then(|v| ETag::try_from(v).ok()) {
        validators = validators.with_etag(etag);
    }
    let last_modified = headers
        .get(http::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| text.parse::<LastModified>().ok());
    if let Some(date) = last_modified {
        validators = validators.with_last_modified(date);
    }
    validators
}

#[cfg(test)]
mod tests {
    use super::*;

    fn present(headers: &[(&str, &str)]) -> Current {
        let mut response = Response::new(Bytes::from_static(b"x"));
        for (name, value) in headers {
            response.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        Current::Present(Representation::from_response(response))
    }

    fn precondition(current: &Current) -> Option<(String, String)> {
        current
            .precondition()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
    }

    fn pair(name: &str, value: &str) -> Option<(String, String)> {
        Some((name.to_owned(), value.to_owned()))
    }

    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    #[test]
    fn missing_creates_with_if_none_match_star() {
        assert_eq!(precondition(&Current::Missing), pair("if-none-match", "*"));
    }

    #[test]
    fn a_strong_etag_is_preferred_to_last_modified() {
        let current = present(&[("etag", "\"v1\""), ("last-modified", DATE)]);
        assert_eq!(precondition(&current), pair("if-match", "\"v1\""));
    }

    #[test]
    fn a_weak_etag_falls_back_to_if_unmodified_since() {
        let current = present(&[("etag", "W/\"v1\""), ("last-modified", DATE)]);
        assert_eq!(precondition(&current), pair("if-unmodified-since", DATE));
    }

    #[test]
    fn an_obsolete_date_format_is_echoed_as_imf_fixdate() {
        let current = present(&[("last-modified", "Sunday, 06-Nov-94 08:49:37 GMT")]);
        assert_eq!(precondition(&current), pair("if-unmodified-since", DATE));
    }

    #[test]
    fn a_date_ahead_of_this_clock_is_echoed_unchanged() {
        let future = "Fri, 01 Jan 2100 00:00:00 GMT";
        let current = present(&[("last-modified", future)]);
        assert_eq!(precondition(&current), pair("if-unmodified-since", future));
    }

    #[test]
    fn no_usable_validator_means_no_precondition() {
        assert_eq!(precondition(&present(&[])), None);
        assert_eq!(precondition(&present(&[("etag", "W/\"v1\"")])), None);
        assert_eq!(precondition(&present(&[("etag", "unquoted")])), None);
        assert_eq!(
            precondition(&present(&[("last-modified", "yesterday")])),
            None
        );
    }
}
