//! Representation metadata: the header fields that describe what a response serves (`ETag`,
//! `Last-Modified`, `Cache-Control`, `Vary`, `Expires`, `Content-Location`), and the one place
//! that writes [`Validators`] as those fields.
//!
//! The layer's 304s, the 200s it fills in
//! ([`fill_response_validators`](crate::ConditionalLayer::fill_response_validators)) and the
//! responses handlers make with [`Validators::fill_headers`] (or, with the `axum` feature, with
//! `Validators` as response parts) all go through the functions here, so a 304 repeats exactly
//! what the 200 it replaces carried (RFC 9110 §15.4.5).
//!
//! ```
//! use http::{header, HeaderMap, HeaderValue};
//! use tower_conditional::{response, ETag, Validators};
//!
//! let validators = Validators::new()
//!     .with_etag(ETag::from(7u64))
//!     .with_cache_control(HeaderValue::from_static("no-cache"));
//! // The 200 a handler serves...
//! let mut ok = HeaderMap::new();
//! validators.fill_headers(&mut ok);
//! // ... and the layer's 304 for it carry the same metadata.
//! let not_modified = response::not_modified(&validators);
//! for name in [header::ETAG, header::CACHE_CONTROL] {
//!     assert_eq!(ok[&name], not_modified.headers()[&name]);
//! }
//! ```

use http::header::{
    CACHE_CONTROL, CONTENT_LOCATION, DATE, ETAG, EXPIRES, HeaderName, LAST_MODIFIED, VARY,
};
use http::{HeaderMap, HeaderValue};

use crate::encoding::merge_vary;
use crate::state::Validators;

/// The fields a 304 repeats from the 200 it replaces (RFC 9110 §15.4.5), `Last-Modified` only
/// where [`repeated_on_304`] says so. `Date` is the server's, never the validators'.
const METADATA: [HeaderName; 7] = [
    ETAG,
    LAST_MODIFIED,
    CACHE_CONTROL,
    VARY,
    EXPIRES,
    CONTENT_LOCATION,
    DATE,
];

/// Whether a 304 repeats the field `name`: all of [`METADATA`], but `Last-Modified` only when
/// there is no `ETag` (the tag is the better validator; §15.4.5 asks for no more than a cache
/// needs to update its stored response).
fn repeated_on_304(name: &HeaderName, has_etag: bool) -> bool {
    !(name == LAST_MODIFIED && has_etag)
}

/// The value `validators` give the field `name`, if any.
fn value_of(validators: &Validators, name: &HeaderName) -> Option<HeaderValue> {
    if name == ETAG {
        validators.etag().map(HeaderValue::from)
    } else if name == LAST_MODIFIED {
        validators
            .last_modified()
            .map(|date| date.to_header_value())
    } else if name == CACHE_CONTROL {
        validators.cache_control().cloned()
    } else if name == VARY {
        validators.vary().cloned()
    } else if name == EXPIRES {
        validators.expires().cloned()
    } else if name == CONTENT_LOCATION {
        validators.content_location().cloned()
    } else {
        None
    }
}

/// The metadata of a 304 made from `validators`, replacing what `headers` held for those fields.
pub(crate) fn not_modified_fields(headers: &mut HeaderMap, validators: &Validators) {
    let has_etag = validators.etag().is_some();
    for name in METADATA {
        if !repeated_on_304(&name, has_etag) {
            continue;
        }
        if let Some(value) = value_of(validators, &name) {
            headers.insert(name, value);
        }
    }
}

/// The metadata of a 304 copied from the headers of the 200 it replaces: those fields, nothing
/// else (no stale `Content-Length` or `Content-Type`).
pub(crate) fn copy_not_modified_fields(from: &HeaderMap, to: &mut HeaderMap) {
    let has_etag = from.contains_key(ETAG);
    for name in METADATA {
        if !repeated_on_304(&name, has_etag) {
            continue;
        }
        for value in from.get_all(&name) {
            to.append(name.clone(), value.clone());
        }
    }
}

/// The metadata of a response serving a representation with `validators` (a 200, or the
/// 201/204 of a write): every field the validators hold, `Last-Modified` beside `ETag`. A field
/// `headers` already has keeps its value; `Vary` is merged.
pub(crate) fn fill(headers: &mut HeaderMap, validators: &Validators) {
    for name in METADATA {
        if name == VARY {
            if let Some(vary) = validators.vary() {
                merge_vary(headers, vary);
            }
        } else if !headers.contains_key(&name)
            && let Some(value) = value_of(validators, &name)
        {
            headers.insert(name, value);
        }
    }
}

impl Validators {
    /// Puts these validators on a response that serves their representation: the 200 of a
    /// read, or the 201 / 204 of a write (the validators of the version it wrote), with every
    /// field they hold (`ETag`, `Last-Modified`, `Cache-Control`, `Vary`, `Expires`,
    /// `Content-Location`). The layer's 304 for the same validators repeats the same fields,
    /// made by the same code.
    ///
    /// A field `headers` already holds keeps its value; `Vary` is merged.
    ///
    /// Give it the validators of what the response actually serves (the row the handler read
    /// or wrote), not the source's answer from before the handler ran, which a concurrent write
    /// may have made stale.
    ///
    /// ```
    /// use http::{header, HeaderMap, HeaderValue};
    /// use tower_conditional::{ETag, LastModified, Validators};
    ///
    /// let validators = Validators::new()
    ///     .with_etag(ETag::from(8u64))
    ///     .with_last_modified(LastModified::from_unix_seconds(1_000)?)
    ///     .with_vary(HeaderValue::from_static("Accept"));
    /// let mut headers = HeaderMap::new();
    /// headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    /// validators.fill_headers(&mut headers);
    /// assert_eq!(headers[header::ETAG], "\"8\"");
    /// assert_eq!(headers[header::LAST_MODIFIED], "Thu, 01 Jan 1970 00:16:40 GMT");
    /// let vary: Vec<_> = headers.get_all(header::VARY).iter().collect();
    /// assert_eq!(vary, ["Origin", "Accept"]);
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn fill_headers(&self, headers: &mut HeaderMap) {
        fill(headers, self);
    }
}

/// With the `axum` feature, `Validators` are response parts: return `(validators, Json(row))`
/// from a handler and the response carries the metadata [`Validators::fill_headers`] writes.
///
/// ```
/// use axum::response::IntoResponse;
/// use http::{header, StatusCode};
/// use tower_conditional::{ETag, Validators};
///
/// let row_version = 3u64; // the version the handler just wrote
/// let response = (StatusCode::CREATED, Validators::new().with_etag(ETag::from(row_version)), "{}")
///     .into_response();
/// assert_eq!(response.status(), StatusCode::CREATED);
/// assert_eq!(response.headers()[header::ETAG], "\"3\"");
/// ```
#[cfg(feature = "axum")]
impl axum_core::response::IntoResponseParts for Validators {
    type Error = std::convert::Infallible;

    fn into_response_parts(
        self,
        mut parts: axum_core::response::ResponseParts,
    ) -> Result<axum_core::response::ResponseParts, Self::Error> {
        fill(parts.headers_mut(), &self);
        Ok(parts)
    }
}

/// With the `axum` feature, `Validators` alone are a response too (an empty 200 with their
/// metadata), so the 204 of a write is `(StatusCode::NO_CONTENT, validators)`.
///
/// ```
/// use axum::response::IntoResponse;
/// use http::{header, StatusCode};
/// use tower_conditional::{ETag, Validators};
///
/// let written = (StatusCode::NO_CONTENT, Validators::new().with_etag(ETag::from(4u64)));
/// let response = written.into_response();
/// assert_eq!(response.status(), StatusCode::NO_CONTENT);
/// assert_eq!(response.headers()[header::ETAG], "\"4\"");
/// ```
#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Validators {
    fn into_response(self) -> axum_core::response::Response {
        (self, ()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::LastModified;
    use crate::etag::ETag;

    fn everything() -> Validators {
        Validators::new()
            .with_etag(ETag::from(5u64))
            .with_last_modified(LastModified::from_unix_seconds(1_000).unwrap())
            .with_cache_control(HeaderValue::from_static("no-cache"))
            .with_vary(HeaderValue::from_static("Accept"))
            .with_expires(HeaderValue::from_static("Thu, 01 Dec 2094 16:00:00 GMT"))
            .with_content_location(HeaderValue::from_static("/notes/5"))
    }

    #[test]
    fn a_304_from_the_validators_equals_a_304_copied_from_the_filled_200() {
        for validators in [
            everything(),
            Validators::new().with_last_modified(LastModified::from_unix_seconds(9).unwrap()),
            Validators::new().with_etag(ETag::from(1u64)),
        ] {
            let mut ok = HeaderMap::new();
            fill(&mut ok, &validators);
            let mut copied = HeaderMap::new();
            copy_not_modified_fields(&ok, &mut copied);
            let mut made = HeaderMap::new();
            not_modified_fields(&mut made, &validators);
            assert_eq!(copied, made, "{validators:?}");
        }
    }

    #[test]
    fn a_filled_200_carries_every_field_and_a_304_drops_last_modified_beside_an_etag() {
        let mut ok = HeaderMap::new();
        fill(&mut ok, &everything());
        for name in [
            ETAG,
            LAST_MODIFIED,
            CACHE_CONTROL,
            VARY,
            EXPIRES,
            CONTENT_LOCATION,
        ] {
            assert!(ok.contains_key(&name), "{name}");
        }
        let mut made = HeaderMap::new();
        not_modified_fields(&mut made, &everything());
        assert!(!made.contains_key(LAST_MODIFIED));
        assert_eq!(made.len(), 5);
    }

    #[test]
    fn fill_keeps_the_handlers_values_and_merges_vary() {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, HeaderValue::from_static("\"own\""));
        headers.insert(VARY, HeaderValue::from_static("accept"));
        fill(&mut headers, &everything());
        assert_eq!(headers[ETAG], "\"own\"");
        assert_eq!(headers.get_all(VARY).iter().count(), 1);
    }
}
