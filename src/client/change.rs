//! What the change function answers ([`Change`]): the write to send ([`WriteRequest`]), or stop;
//! and why a write could not be sent ([`InvalidWrite`]).

use std::fmt;

use bytes::Bytes;
use http::header::{
    CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, TRANSFER_ENCODING,
};
use http::{HeaderMap, Method, Request, Uri};

/// What the change function answers: the write to send, or stop.
///
/// The write's method, content and headers are the function's; its precondition is not. Whether
/// it replaces or creates follows from what the function was shown: a write based on
/// [`Current::Missing`](super::Current::Missing) is sent with `If-None-Match: *`, one based on a
/// representation with `If-Match` (or `If-Unmodified-Since`). The function cannot set or drop
/// those fields: a write is never sent without its precondition.
///
/// ```
/// use tower_conditional::{Change, Current};
///
/// // Set a field of a JSON document with a merge patch, but never create the document.
/// let rename = |current: &Current| match current {
///     Current::Missing => Change::Abort,
///     Current::Present(_) => Change::patch(r#"{"name":"new"}"#)
///         .content_type("application/merge-patch+json"),
/// };
/// assert_eq!(rename(&Current::Missing), Change::Abort);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Send this write.
    Write(WriteRequest),
    /// Write nothing: the update ends with [`Outcome::Aborted`](super::Outcome::Aborted).
    Abort,
}

impl Change {
    /// A `PUT` of `content`: the new representation, replacing the current one.
    ///
    /// ```
    /// use http::Method;
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::put("42") else { unreachable!() };
    /// assert_eq!((write.method(), write.content().as_ref()), (&Method::PUT, &b"42"[..]));
    /// ```
    pub fn put(content: impl Into<Bytes>) -> Self {
        Change::send(Method::PUT, content)
    }

    /// A `PATCH` with `content`, a patch document for the current representation. Give it the
    /// media type the server expects ([`content_type`](Change::content_type)): a JSON API
    /// answers an untyped body with 415.
    ///
    /// ```
    /// use tower_conditional::Change;
    ///
    /// let change = Change::patch(r#"{"count":2}"#).content_type("application/json");
    /// let Change::Write(write) = change else { unreachable!() };
    /// assert_eq!(write.headers()["content-type"], "application/json");
    /// ```
    pub fn patch(content: impl Into<Bytes>) -> Self {
        Change::send(Method::PATCH, content)
    }

    /// A `DELETE` of the current representation, without content.
    ///
    /// ```
    /// use http::Method;
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::delete() else { unreachable!() };
    /// assert_eq!(write.method(), Method::DELETE);
    /// assert!(write.content().is_empty());
    /// ```
    pub fn delete() -> Self {
        Change::send(Method::DELETE, Bytes::new())
    }

    /// A write with any method that changes state (`POST`, an extension method, ...) and
    /// `content`.
    ///
    /// A method a precondition cannot guard (GET and HEAD are safe, RFC 9110 §9.2.1;
    /// preconditions are ignored for CONNECT, OPTIONS and TRACE, §13.2.1) makes the write
    /// invalid: the update then ends with [`UpdateError::InvalidWrite`](super::UpdateError)
    /// before sending it.
    ///
    /// ```
    /// use http::Method;
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::send(Method::POST, "event") else { unreachable!() };
    /// assert!(write.check().is_ok());
    /// let Change::Write(write) = Change::send(Method::GET, "") else { unreachable!() };
    /// assert_eq!(
    ///     write.check().unwrap_err().to_string(),
    ///     "a write cannot be sent as GET: a precondition does not guard it (use PUT, PATCH, DELETE, POST, ...)"
    /// );
    /// ```
    pub fn send(method: Method, content: impl Into<Bytes>) -> Self {
        let invalid = (!guards_writes(&method)).then(|| InvalidWrite {
            kind: Kind::Method(method.clone()),
        });
        Change::Write(WriteRequest {
            method,
            content: content.into(),
            headers: HeaderMap::new(),
            invalid,
        })
    }

    /// Sets the write's `Content-Type` (replacing one set before). On [`Change::Abort`], does
    /// nothing.
    ///
    /// An invalid value makes the write invalid (reported when the update would send it), as
    /// with [`header`](Change::header).
    ///
    /// ```
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::put("{}").content_type("application/json") else {
    ///     unreachable!()
    /// };
    /// assert_eq!(write.headers()["content-type"], "application/json");
    /// ```
    pub fn content_type<V>(self, value: V) -> Self
    where
        HeaderValue: TryFrom<V>,
    {
        self.map(|mut write| {
            match HeaderValue::try_from(value) {
                Ok(value) => {
                    write.headers.insert(CONTENT_TYPE, value);
                }
                Err(_) => write.invalidate(Kind::HeaderValue(CONTENT_TYPE)),
            }
            write
        })
    }

    /// Adds a header to the write (after any of the same name). On [`Change::Abort`], does
    /// nothing.
    ///
    /// The precondition fields (`If-Match`, `If-None-Match`, `If-Unmodified-Since`,
    /// `If-Modified-Since`, `If-Range`) are the update's, and the framing fields
    /// (`Content-Length`, `Transfer-Encoding`) the HTTP client's: setting one, or a name or
    /// value that is not valid in HTTP, makes the write invalid. The update then ends with
    /// [`UpdateError::InvalidWrite`](super::UpdateError) without sending it; nothing panics.
    ///
    /// ```
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::patch("{}").header("prefer", "return=minimal") else {
    ///     unreachable!()
    /// };
    /// assert_eq!(write.headers()["prefer"], "return=minimal");
    ///
    /// let Change::Write(write) = Change::put("x").header("if-match", "*") else { unreachable!() };
    /// assert_eq!(
    ///     write.check().unwrap_err().to_string(),
    ///     "the change sets if-match, a precondition: the update sends the one it checked"
    /// );
    /// ```
    pub fn header<K, V>(self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        HeaderValue: TryFrom<V>,
    {
        self.map(|mut write| {
            let Ok(name) = HeaderName::try_from(name) else {
                write.invalidate(Kind::HeaderName);
                return write;
            };
            if let Some(kind) = reserved(&name) {
                write.invalidate(kind);
                return write;
            }
            match HeaderValue::try_from(value) {
                Ok(value) => {
                    write.headers.append(name, value);
                }
                Err(_) => write.invalidate(Kind::HeaderValue(name)),
            }
            write
        })
    }

    fn map(self, f: impl FnOnce(WriteRequest) -> WriteRequest) -> Self {
        match self {
            Change::Write(write) => Change::Write(f(write)),
            Change::Abort => Change::Abort,
        }
    }
}

/// The request a write sends, without its precondition: method, content and headers, built with
/// [`Change`]'s constructors and setters.
///
/// ```
/// use http::Method;
/// use tower_conditional::Change;
///
/// let change = Change::patch(r#"{"count":1}"#).content_type("application/json");
/// let Change::Write(write) = change else { unreachable!() };
/// assert_eq!(write.method(), Method::PATCH);
/// assert_eq!(write.content(), r#"{"count":1}"#);
/// assert_eq!(write.headers().len(), 1);
/// assert!(write.check().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    method: Method,
    content: Bytes,
    headers: HeaderMap,
    /// The first thing wrong with it, reported when the update would send it.
    invalid: Option<InvalidWrite>,
}

impl WriteRequest {
    /// The method: `PUT`, `PATCH`, `DELETE`, ...
    ///
    /// ```
    /// use http::Method;
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::delete() else { unreachable!() };
    /// assert_eq!(write.method(), Method::DELETE);
    /// ```
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The content sent as the request body.
    ///
    /// ```
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::put("new") else { unreachable!() };
    /// assert_eq!(write.content(), "new");
    /// ```
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// The headers set with [`Change::content_type`] and [`Change::header`]; the update adds
    /// the precondition.
    ///
    /// ```
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::put("new") else { unreachable!() };
    /// assert!(write.headers().is_empty());
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Whether the update can send it: `Err` with the first thing wrong (a method a
    /// precondition cannot guard, a reserved or invalid header).
    ///
    /// # Errors
    ///
    /// The [`InvalidWrite`] the update would end with.
    ///
    /// ```
    /// use tower_conditional::Change;
    ///
    /// let Change::Write(write) = Change::put("x").header("bad name", "v") else { unreachable!() };
    /// assert_eq!(write.check().unwrap_err().to_string(), "the change sets an invalid header name");
    /// ```
    pub fn check(&self) -> Result<(), InvalidWrite> {
        match &self.invalid {
            None => Ok(()),
            Some(invalid) => Err(invalid.clone()),
        }
    }

    /// The request to send: this write with `precondition` added.
    pub(super) fn into_request<B: From<Bytes>>(
        self,
        uri: &Uri,
        (name, value): (HeaderName, HeaderValue),
    ) -> Result<Request<B>, InvalidWrite> {
        if let Some(invalid) = self.invalid {
            return Err(invalid);
        }
        let mut request = Request::new(B::from(self.content));
        *request.method_mut() = self.method;
        *request.uri_mut() = uri.clone();
        *request.headers_mut() = self.headers;
        // Cannot replace one of the change's: those are refused by `header`.
        request.headers_mut().insert(name, value);
        Ok(request)
    }

    /// Records the first thing wrong.
    fn invalidate(&mut self, kind: Kind) {
        if self.invalid.is_none() {
            self.invalid = Some(InvalidWrite { kind });
        }
    }
}

/// Whether a precondition guards `method`: not the safe GET and HEAD (RFC 9110 §9.2.1), and not
/// CONNECT, OPTIONS or TRACE, for which preconditions are ignored (§13.2.1).
fn guards_writes(method: &Method) -> bool {
    ![
        Method::GET,
        Method::HEAD,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
    ]
    .contains(method)
}

/// Why a change may not set `name`, if it may not.
fn reserved(name: &HeaderName) -> Option<Kind> {
    let preconditions = [
        IF_MATCH,
        IF_NONE_MATCH,
        IF_UNMODIFIED_SINCE,
        IF_MODIFIED_SINCE,
        IF_RANGE,
    ];
    if preconditions.contains(name) {
        Some(Kind::Precondition(name.clone()))
    } else if *name == CONTENT_LENGTH || *name == TRANSFER_ENCODING {
        Some(Kind::Framing(name.clone()))
    } else {
        None
    }
}

/// A write the change function asked for that the update cannot send: the first thing wrong
/// with it. Nothing of it was sent.
///
/// ```
/// use tower_conditional::Change;
///
/// let Change::Write(write) = Change::put("x").content_type("text/plain\n") else { unreachable!() };
/// let error = write.check().unwrap_err();
/// assert_eq!(error.to_string(), "the change sets an invalid value for content-type");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidWrite {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Method(Method),
    HeaderName,
    HeaderValue(HeaderName),
    Precondition(HeaderName),
    Framing(HeaderName),
}

impl fmt::Display for InvalidWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Method(method) => write!(
                f,
                "a write cannot be sent as {method}: a precondition does not guard it \
                 (use PUT, PATCH, DELETE, POST, ...)"
            ),
            Kind::HeaderName => f.write_str("the change sets an invalid header name"),
            Kind::HeaderValue(name) => write!(f, "the change sets an invalid value for {name}"),
            Kind::Precondition(name) => write!(
                f,
                "the change sets {name}, a precondition: the update sends the one it checked"
            ),
            Kind::Framing(name) => write!(
                f,
                "the change sets {name}: the HTTP client frames the content itself"
            ),
        }
    }
}

impl std::error::Error for InvalidWrite {}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(change: Change) -> WriteRequest {
        match change {
            Change::Write(write) => write,
            Change::Abort => panic!("aborted"),
        }
    }

    fn error(change: Change) -> String {
        write(change).check().unwrap_err().to_string()
    }

    const PRECONDITION: (HeaderName, HeaderValue) = (IF_MATCH, HeaderValue::from_static("\"v1\""));

    #[test]
    fn the_request_carries_method_content_headers_and_the_precondition() {
        let change = Change::patch("{}")
            .content_type("text/plain")
            .content_type("application/json")
            .header("x-trace", "1")
            .header("x-trace", "2");
        let uri = Uri::from_static("http://example.com/a");
        let request: Request<Bytes> = write(change).into_request(&uri, PRECONDITION).unwrap();
        assert_eq!(request.method(), Method::PATCH);
        assert_eq!(request.uri(), &uri);
        assert_eq!(request.body(), "{}");
        let headers = request.headers();
        assert_eq!(headers["content-type"], "application/json", "replaced");
        let traces: Vec<_> = headers.get_all("x-trace").iter().collect();
        assert_eq!(traces, ["1", "2"], "appended");
        assert_eq!(headers[IF_MATCH], "\"v1\"");
        assert_eq!(headers.len(), 4);
    }

    #[test]
    fn methods_a_precondition_cannot_guard_are_invalid() {
        for method in ["GET", "HEAD", "CONNECT", "OPTIONS", "TRACE"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let message = error(Change::send(method.clone(), ""));
            assert!(message.contains(&format!("as {method}:")), "{message}");
        }
        for method in ["PUT", "PATCH", "DELETE", "POST", "PROPPATCH"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert!(write(Change::send(method, "")).check().is_ok());
        }
    }

    #[test]
    fn a_change_cannot_set_a_precondition_or_framing() {
        for name in [
            "if-match",
            "If-None-Match",
            "if-unmodified-since",
            "if-modified-since",
            "if-range",
        ] {
            let message = error(Change::put("x").header(name, "*"));
            assert!(message.contains("a precondition"), "{name}: {message}");
        }
        for name in ["content-length", "transfer-encoding"] {
            let message = error(Change::put("x").header(name, "1"));
            assert!(message.contains("frames the content"), "{name}: {message}");
        }
    }

    #[test]
    fn an_invalid_write_is_never_turned_into_a_request() {
        let uri = Uri::from_static("http://example.com/a");
        for change in [
            Change::put("x").header("if-match", "*"),
            Change::put("x").header("no spaces", "v"),
            Change::put("x").header("x-a", "line\nbreak"),
            Change::put("x").content_type("\0"),
            Change::send(Method::GET, ""),
        ] {
            let result = write(change).into_request::<Bytes>(&uri, PRECONDITION);
            assert!(result.is_err());
        }
    }

    #[test]
    fn the_first_error_is_the_one_reported() {
        let change = Change::put("x")
            .header("bad name", "v")
            .header("if-match", "*");
        assert_eq!(error(change), "the change sets an invalid header name");
    }

    #[test]
    fn setters_on_abort_do_nothing() {
        let change = Change::Abort
            .content_type("application/json")
            .header("x", "y");
        assert_eq!(change, Change::Abort);
    }
}
