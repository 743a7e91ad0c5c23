//! A request's conditions, read borrowed from its [`HeaderMap`], and their evaluation
//! (RFC 9110 §13.1, §13.2).
//!
//! ```
//! use http::{HeaderMap, Method};
//! use tower_conditional::{Conditions, Decision, ETag, ResourceState, Validators};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("if-none-match", "W/\"a\", \"b\"".parse()?);
//! let conditions = Conditions::from_headers(&headers);
//! assert!(conditions.has_if_none_match());
//!
//! let state = ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"b\"")));
//! assert!(matches!(conditions.evaluate(&Method::GET, &state), Decision::NotModified(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use http::header::{
    GetAll, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::accept_encoding::AcceptEncoding;
use crate::date::{LastModified, parse_http_date, trim_ows};
use crate::decision::{Condition, Decision, Ignored, Proceed, RangeHandling};
use crate::encoding::{Aliasing, is_identity_form};
use crate::etag::{ETag, scan as scan_etag, strong_match};
use crate::state::ResourceState;
use crate::tag_list::{Comparison, ListMatch, match_list};

/// The conditional header fields of one request, borrowed from its headers.
///
/// Building it only looks the fields up; list values are walked when evaluated, once, without
/// allocating. Use [`evaluate`] for the one-call form.
///
/// ```
/// use http::{HeaderMap, Method};
/// use tower_conditional::{Conditions, ResourceState, Validators};
///
/// let headers = HeaderMap::new();
/// let conditions = Conditions::from_headers(&headers);
/// assert!(!conditions.is_conditional());
/// let state = ResourceState::Present(Validators::new());
/// assert_eq!(conditions.evaluate(&Method::PUT, &state).condition(), None);
/// ```
#[derive(Debug)]
pub struct Conditions<'a> {
    headers: &'a HeaderMap,
    has_range: bool,
    has_if_range: bool,
    if_match: Option<GetAll<'a, HeaderValue>>,
    if_none_match: Option<GetAll<'a, HeaderValue>>,
    // Whether the date fields are present: they are looked up and parsed only when the
    // evaluation reaches them and the resource has a date.
    if_modified_since: bool,
    if_unmodified_since: bool,
}

impl<'a> Conditions<'a> {
    /// Finds the five conditional fields and `Range` in `headers`.
    ///
    /// A request usually has a handful of fields: then one pass over their names finds all six,
    /// and a field that is absent costs no hash look-up.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use tower_conditional::Conditions;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-none-match", "\"v1\"".parse()?);
    /// headers.insert("range", "bytes=0-99".parse()?);
    /// let conditions = Conditions::from_headers(&headers);
    /// assert!(conditions.has_if_none_match() && conditions.has_range());
    /// assert!(!conditions.has_if_match());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    // Inlined into the layer's (generic) call: one pass on every request.
    #[inline]
    pub fn from_headers(headers: &'a HeaderMap) -> Self {
        /// Past this many distinct names, six hash look-ups beat one pass over the names.
        const SCAN_LIMIT: usize = 24;
        let present = if headers.keys_len() <= SCAN_LIMIT {
            let mut present = Present::default();
            for name in headers.keys() {
                match *name {
                    IF_MATCH => present.if_match = true,
                    IF_NONE_MATCH => present.if_none_match = true,
                    IF_MODIFIED_SINCE => present.if_modified_since = true,
                    IF_UNMODIFIED_SINCE => present.if_unmodified_since = true,
                    IF_RANGE => present.if_range = true,
                    RANGE => present.range = true,
                    _ => {}
                }
            }
            present
        } else {
            Present {
                if_match: headers.contains_key(IF_MATCH),
                if_none_match: headers.contains_key(IF_NONE_MATCH),
                if_modified_since: headers.contains_key(IF_MODIFIED_SINCE),
                if_unmodified_since: headers.contains_key(IF_UNMODIFIED_SINCE),
                if_range: headers.contains_key(IF_RANGE),
                range: headers.contains_key(RANGE),
            }
        };
        let field = |present: bool, name| present.then(|| headers.get_all(name));
        Conditions {
            headers,
            has_range: present.range,
            has_if_range: present.if_range,
            if_match: field(present.if_match, IF_MATCH),
            if_none_match: field(present.if_none_match, IF_NONE_MATCH),
            if_modified_since: present.if_modified_since,
            if_unmodified_since: present.if_unmodified_since,
        }
    }

    /// Whether an `If-Match` field is present (valid or not).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use tower_conditional::Conditions;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-match", "not a tag".parse()?);
    /// assert!(Conditions::from_headers(&headers).has_if_match()); // present, though malformed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_if_match(&self) -> bool {
        self.if_match.is_some()
    }

    /// Whether an `If-None-Match` field is present (valid or not).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use tower_conditional::Conditions;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.append("if-none-match", "\"a\"".parse()?);
    /// headers.append("if-none-match", "\"b\"".parse()?); // two lines, one list
    /// assert!(Conditions::from_headers(&headers).has_if_none_match());
    /// assert!(!Conditions::from_headers(&HeaderMap::new()).has_if_none_match());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_if_none_match(&self) -> bool {
        self.if_none_match.is_some()
    }

    /// Whether an `If-Modified-Since` field is present (valid or not).
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use tower_conditional::{Conditions, LastModified, ResourceState, Validators};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-modified-since", "yesterday".parse()?);
    /// let conditions = Conditions::from_headers(&headers);
    /// assert!(conditions.has_if_modified_since());
    /// // Not an HTTP-date, so evaluation ignores it (RFC 9110 §13.1.3): no 304.
    /// let modified = LastModified::from_unix_seconds(1_000)?;
    /// let state = ResourceState::Present(Validators::new().with_last_modified(modified));
    /// assert!(conditions.evaluate(&Method::GET, &state).proceed().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_if_modified_since(&self) -> bool {
        self.if_modified_since
    }

    /// Whether an `If-Unmodified-Since` field is present (valid or not).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use tower_conditional::{Conditions, LastModified};
    ///
    /// let mut headers = HeaderMap::new();
    /// let date = LastModified::from_unix_seconds(0)?;
    /// headers.insert("if-unmodified-since", date.to_header_value());
    /// let conditions = Conditions::from_headers(&headers);
    /// assert!(conditions.has_if_unmodified_since() && conditions.is_conditional());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_if_unmodified_since(&self) -> bool {
        self.if_unmodified_since
    }

    /// Whether an `If-Range` field is present (valid or not).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use tower_conditional::Conditions;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-range", "\"v1\"".parse()?);
    /// assert!(Conditions::from_headers(&headers).has_if_range());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_if_range(&self) -> bool {
        self.has_if_range
    }

    /// Whether a `Range` field is present.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use tower_conditional::Conditions;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("range", "bytes=0-99".parse()?);
    /// let conditions = Conditions::from_headers(&headers);
    /// assert!(conditions.has_range());
    /// assert!(!conditions.is_conditional()); // Range is not a precondition
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_range(&self) -> bool {
        self.has_range
    }

    /// Whether any precondition field is present (`If-Range` does not count: it never refuses
    /// a request).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use tower_conditional::Conditions;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-range", "\"v1\"".parse()?);
    /// assert!(!Conditions::from_headers(&headers).is_conditional());
    /// headers.insert("if-match", "\"v1\"".parse()?);
    /// assert!(Conditions::from_headers(&headers).is_conditional());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_conditional(&self) -> bool {
        self.has_if_match()
            || self.has_if_none_match()
            || self.has_if_modified_since()
            || self.has_if_unmodified_since()
    }

    /// Applies RFC 9110 §13.2.2 for `method` against `state`, with the ignore rules of §13.1 and
    /// §13.2.1. See [`evaluate`] for the rules in order.
    ///
    /// One `Conditions` can be evaluated against several states:
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use tower_conditional::{Condition, Conditions, Decision, ResourceState, Validators};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-none-match", "*".parse()?);
    /// let create_only = Conditions::from_headers(&headers);
    /// // A create-only PUT goes ahead while the resource is missing, and fails once it exists.
    /// assert!(create_only.evaluate(&Method::PUT, &ResourceState::Missing).proceed().is_some());
    /// let existing = ResourceState::Present(Validators::new());
    /// assert_eq!(
    ///     create_only.evaluate(&Method::PUT, &existing),
    ///     Decision::PreconditionFailed(Condition::IfNoneMatch)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn evaluate(&self, method: &Method, state: &ResourceState) -> Decision {
        self.evaluate_with(method, state, None)
    }

    /// [`Conditions::evaluate`] with `now` as the current time instead of the system clock, for
    /// deterministic tests.
    ///
    /// The time matters only for `If-Modified-Since` and a `Last-Modified` in the future: it is
    /// sent as the current time (RFC 9110 §8.8.2.1, [`LastModified::header_value_at`]), so that
    /// is the date a cache can send back, and a 304 is evaluated against it.
    /// `If-Unmodified-Since` and `If-Range` compare the stored date itself: every future
    /// version is sent as "now", so "now" cannot say which one the client holds, and a write
    /// or a range on it is refused (412; the full 200) until the clock has passed it.
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use tower_conditional::{Conditions, Decision, LastModified, ResourceState, Validators};
    ///
    /// // The resource claims a modification time an hour after `now`; the client was sent `now`.
    /// let now = LastModified::from_unix_seconds(1_700_000_000)?;
    /// let future = LastModified::from_unix_seconds(1_700_003_600)?;
    /// let state = ResourceState::Present(Validators::new().with_last_modified(future));
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-unmodified-since", future.header_value_at(now));
    /// let write = Conditions::from_headers(&headers);
    /// assert!(matches!(
    ///     write.evaluate_at(&Method::PUT, &state, now),
    ///     Decision::PreconditionFailed(_)
    /// ));
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-modified-since", future.header_value_at(now));
    /// let revalidation = Conditions::from_headers(&headers);
    /// assert!(matches!(
    ///     revalidation.evaluate_at(&Method::GET, &state, now),
    ///     Decision::NotModified(_)
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn evaluate_at(
        &self,
        method: &Method,
        state: &ResourceState,
        now: LastModified,
    ) -> Decision {
        self.evaluate_at_with(method, state, None, || now)
    }

    /// The first strong `If-None-Match` member that names `current` in a coding `accept`
    /// allows (see [`crate::encoding`]): the form of the tag the client holds, for a 304 to
    /// echo. A weak member names no coding, so it is never one.
    pub(crate) fn if_none_match_member(
        &self,
        current: &ETag,
        accept: &AcceptEncoding,
    ) -> Option<ETag> {
        crate::tag_list::matching_member(
            self.if_none_match.as_ref()?,
            current,
            Aliasing::AcceptedBy(accept),
        )
    }

    /// Whether a weak `If-None-Match` member names a form issued for the strong `current` tag
    /// (see [`crate::encoding`]): whether it matches depends on the response's coding.
    pub(crate) fn if_none_match_names_weakly(&self, current: &ETag) -> bool {
        self.if_none_match
            .as_ref()
            .is_some_and(|lines| crate::tag_list::weak_member_names(lines, current))
    }

    /// [`Conditions::evaluate`], optionally (with the request's `Accept-Encoding`, `accept`)
    /// counting `"X-gzip"`-style members of `If-Match` and `If-None-Match` as `"X"` (never for
    /// `If-Range`).
    pub(crate) fn evaluate_with(
        &self,
        method: &Method,
        state: &ResourceState,
        accept: Option<&AcceptEncoding>,
    ) -> Decision {
        self.evaluate_at_with(method, state, accept, LastModified::now)
    }

    /// [`Conditions::evaluate_with`] with `now` read from `clock`, at most once and only when a
    /// comparison depends on it.
    fn evaluate_at_with(
        &self,
        method: &Method,
        state: &ResourceState,
        accept: Option<&AcceptEncoding>,
        clock: impl FnOnce() -> LastModified,
    ) -> Decision {
        let coding_aliases = accept.is_some();
        let mut now = Now::new(clock);
        let get_or_head = method == Method::GET || method == Method::HEAD;
        let range_requested = method == Method::GET && self.has_range();
        let ignored = |reason| {
            Decision::Proceed(Proceed {
                range: if range_requested {
                    RangeHandling::Honor
                } else {
                    RangeHandling::NotRequested
                },
                passed: None,
                etag_matched: false,
                ignored: Some(reason),
            })
        };

        // §13.2.1: these rules come first, so an ignored request is never rejected either.
        if method == Method::CONNECT || method == Method::OPTIONS || method == Method::TRACE {
            return ignored(Ignored::Method);
        }
        let validators = match state {
            ResourceState::Missing if get_or_head || method == Method::DELETE => {
                return ignored(Ignored::Missing);
            }
            ResourceState::Missing => None,
            ResourceState::Present(validators) => Some(validators),
        };
        let current = validators.and_then(|v| v.etag());
        // Coding aliases (opt-in): If-Match accepts any form the server issued for the current
        // tag; If-None-Match only the forms this request's Accept-Encoding could be sent.
        // On a write, If-None-Match asks whether the target has any of these versions, whatever
        // coding the response would have: any issued form counts (a false If-None-Match is the
        // safe outcome there). A weak current tag is sent as it is in every coding: nothing to
        // decode.
        let (if_match_aliasing, if_none_match_aliasing) = match accept {
            Some(_) if current.is_some_and(|tag| tag.is_weak()) => {
                (Aliasing::AnyCoding, Aliasing::Off)
            }
            Some(accept) if get_or_head => (Aliasing::AnyCoding, Aliasing::AcceptedBy(accept)),
            Some(_) => (Aliasing::AnyCoding, Aliasing::AnyCoding),
            None => (Aliasing::Off, Aliasing::Off),
        };
        let last_modified = validators.and_then(|v| v.last_modified());

        // Well-formedness first (§13.2.1: preconditions are evaluated on a well-formed request).
        let if_match = self
            .if_match
            .as_ref()
            .map(|lines| match_list(lines, current, Comparison::Strong, if_match_aliasing));
        if if_match == Some(ListMatch::Malformed) {
            return Decision::BadRequest(Condition::IfMatch);
        }
        let if_none_match = self
            .if_none_match
            .as_ref()
            .map(|lines| match_list(lines, current, Comparison::Weak, if_none_match_aliasing));
        if if_none_match == Some(ListMatch::Malformed) && !get_or_head {
            return Decision::BadRequest(Condition::IfNoneMatch);
        }

        let mut passed = None;
        let mut etag_matched = false;

        // Step 1: If-Match (§13.1.1). `*` is true when a representation exists; a list is true
        // when a member matches the current tag by strong comparison.
        match if_match {
            Some(ListMatch::Any) if validators.is_none() => {
                return Decision::PreconditionFailed(Condition::IfMatch);
            }
            Some(ListMatch::Tags { matched: false }) => {
                return Decision::PreconditionFailed(Condition::IfMatch);
            }
            Some(ListMatch::Tags { matched: true }) => {
                etag_matched = true;
                passed = Some(Condition::IfMatch);
            }
            Some(_) => passed = Some(Condition::IfMatch),
            // Step 2: If-Unmodified-Since, only without If-Match and only when the representation
            // has a modification date (§13.1.4).
            None => {
                if let (Some(date), Some(modified)) = (
                    self.one_date(self.if_unmodified_since, IF_UNMODIFIED_SINCE, last_modified),
                    last_modified,
                ) {
                    // Against the stored date as it is, never the clock: see
                    // `unmodified_since_holds`.
                    if !unmodified_since_holds(modified, date) {
                        return Decision::PreconditionFailed(Condition::IfUnmodifiedSince);
                    }
                    passed = Some(Condition::IfUnmodifiedSince);
                }
            }
        }

        // Step 3: If-None-Match (§13.1.2). `*` is false when a representation exists; a list is
        // false when a member matches the current tag by weak comparison. A malformed field on
        // GET/HEAD is ignored, but still counts as present for step 4: garbage never yields 304.
        match if_none_match {
            Some(ListMatch::Any) if validators.is_some() => return not_modified_or_failed(method),
            Some(ListMatch::Tags { matched: true }) => return not_modified_or_failed(method),
            Some(ListMatch::Any | ListMatch::Tags { .. }) => {
                passed.get_or_insert(Condition::IfNoneMatch);
            }
            Some(ListMatch::Malformed) => {}
            // Step 4: If-Modified-Since, GET and HEAD only, only without If-None-Match and only
            // when the representation has a modification date (§13.1.3).
            None if get_or_head => {
                if let (Some(date), Some(modified)) = (
                    self.one_date(self.if_modified_since, IF_MODIFIED_SINCE, last_modified),
                    last_modified,
                ) {
                    if !modified_after(modified, date, &mut now) {
                        return Decision::NotModified(Condition::IfModifiedSince);
                    }
                    passed.get_or_insert(Condition::IfModifiedSince);
                }
            }
            None => {}
        }

        // Step 5: If-Range, for GET with Range only (§13.1.5).
        let range = if !range_requested {
            RangeHandling::NotRequested
        } else {
            if !self.has_if_range
                || if_range_holds(&self.headers.get_all(IF_RANGE), state, coding_aliases)
            {
                RangeHandling::Honor
            } else {
                RangeHandling::Ignore
            }
        };

        Decision::Proceed(Proceed {
            range,
            passed,
            etag_matched,
            ignored: None,
        })
    }
}

impl Conditions<'_> {
    /// The date of an If-Modified-Since or If-Unmodified-Since field (`name`, `present` or
    /// not), in signed seconds since 1970 (a request may name an earlier date): one HTTP-date
    /// on exactly one line, or `None` when the field is absent or ignored (RFC 9110 §13.1.3,
    /// §13.1.4: a value that is not a valid HTTP-date, or has more than one member, is
    /// ignored). Looked up and parsed only when the representation has a date to compare it
    /// with.
    #[inline]
    fn one_date(
        &self,
        present: bool,
        name: HeaderName,
        last_modified: Option<LastModified>,
    ) -> Option<i64> {
        if !present {
            return None;
        }
        last_modified?;
        let mut iter = self.headers.get_all(name).into_iter();
        match (iter.next(), iter.next()) {
            (Some(line), None) => parse_http_date(line.as_bytes()),
            _ => None,
        }
    }
}

/// Step 3, `If-None-Match` false: 304 for GET and HEAD, 412 otherwise (RFC 9110 §13.2.2).
fn not_modified_or_failed(method: &Method) -> Decision {
    if method == Method::GET || method == Method::HEAD {
        Decision::NotModified(Condition::IfNoneMatch)
    } else {
        Decision::PreconditionFailed(Condition::IfNoneMatch)
    }
}

/// Which of the fields `Conditions` cares about a request carries.
#[derive(Debug, Default, Clone, Copy)]
struct Present {
    if_match: bool,
    if_none_match: bool,
    if_modified_since: bool,
    if_unmodified_since: bool,
    if_range: bool,
    range: bool,
}

/// The current time, read from `clock` the first time it is needed.
struct Now<F> {
    clock: Option<F>,
    seconds: i64,
}

impl<F: FnOnce() -> LastModified> Now<F> {
    fn new(clock: F) -> Self {
        Now {
            clock: Some(clock),
            seconds: 0,
        }
    }

    fn get(&mut self) -> i64 {
        if let Some(clock) = self.clock.take() {
            self.seconds = clock().signed_seconds();
        }
        self.seconds
    }
}

/// If-Unmodified-Since (§13.1.4): the representation was not modified after `date`, comparing
/// the stored `modified` itself, even when it lies in the future by this server's clock.
///
/// A future date is sent as the current time (§8.8.2.1), and so is every other future date:
/// two versions written "in the future" (by a writer whose clock is ahead, or a store that
/// gives a second write in one second the next second) would both be sent as "now", and a
/// date echoed from the first would let a write replace the second. Compared as stored, a
/// future date is later than any date the client was sent: the write is refused (412), the
/// safe side, until the clock has passed it.
fn unmodified_since_holds(modified: LastModified, date: i64) -> bool {
    modified.signed_seconds() <= date
}

/// If-Modified-Since (§13.1.3): the Last-Modified it is evaluated against is `modified`, or the
/// current time when `modified` lies in the future, because that is what was sent (RFC 9110
/// §8.8.2.1).
///
/// Whether it is later than `date` (If-Modified-Since true). The clock is read only when
/// `modified` itself is later than `date`.
fn modified_after(
    modified: LastModified,
    date: i64,
    now: &mut Now<impl FnOnce() -> LastModified>,
) -> bool {
    modified.signed_seconds() > date && now.get() > date
}

/// If-Range (§13.1.5): one entity-tag that matches the current tag by strong comparison, or one
/// HTTP-date that equals a strong Last-Modified exactly, as stored. (A future date is sent as
/// the current time, §8.8.2.1, and so is every other one: "now" names no single version, so it
/// never matches a future date.) Anything else is false.
fn if_range_holds(
    lines: &GetAll<'_, HeaderValue>,
    state: &ResourceState,
    coding_aliases: bool,
) -> bool {
    let mut iter = lines.iter();
    let (Some(line), None) = (iter.next(), iter.next()) else {
        return false;
    };
    let value = trim_ows(line.as_bytes());
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        // Exactly one entity-tag: not a list, so `"a",` or `"a", , ` is not one tag.
        let Ok(weak) = scan_etag(value) else {
            return false;
        };
        let opaque = &value[if weak { 3 } else { 1 }..value.len() - 1];
        return state.etag().is_some_and(|current| {
            if coding_aliases {
                // Encoding-aware tags: a range is of identity bytes, whose tag is the identity
                // form of the current one (never mapped from another coding's).
                !weak && !current.is_weak() && is_identity_form(opaque, current.opaque())
            } else {
                strong_match(current, weak, opaque)
            }
        });
    }
    match (parse_http_date(value), state.validators()) {
        (Some(date), Some(validators)) => {
            validators.is_last_modified_strong()
                && validators
                    .last_modified()
                    .is_some_and(|modified| modified.signed_seconds() == date)
        }
        _ => false,
    }
}

/// Decides what to do with a request from its method, its headers and the current state of the
/// target resource: RFC 9110 §13.2.2 with the ignore rules of §13.1 and §13.2.1.
///
/// In order:
///
/// 1. CONNECT, OPTIONS and TRACE: preconditions are ignored (§13.2.1).
/// 2. GET, HEAD and DELETE of a [missing](ResourceState::Missing) resource: ignored, the
///    unconditional answer is a 404 (§13.2.1).
/// 3. `If-Match` that is not `*` or a valid entity-tag list: 400, on any method. An
///    `If-None-Match` of that kind: 400 on methods other than GET and HEAD; on GET and HEAD it
///    is ignored, and since the field is still present `If-Modified-Since` is ignored too, so the
///    answer is a full 200, never a 304 from garbage.
/// 4. `If-Match` false: 412. Otherwise, without `If-Match`, `If-Unmodified-Since` false: 412.
/// 5. `If-None-Match` false: 304 for GET and HEAD, 412 otherwise. Otherwise, without
///    `If-None-Match`, on GET and HEAD, `If-Modified-Since` false: 304.
/// 6. GET with `Range` and `If-Range`: honour the range when `If-Range` is true, ignore it
///    otherwise.
///
/// Dates that are not one valid HTTP-date are ignored, never rejected (§13.1.3, §13.1.4), as are
/// date conditions when the representation has no modification date. Request dates before 1970
/// are valid. A `Last-Modified` later than the current time is evaluated as the current time,
/// the value it is sent as (§8.8.2.1); [`Conditions::evaluate_at`] takes that time as an
/// argument. Method names are
/// case-sensitive: `get` is an unknown method, evaluated like any other non-GET method.
///
/// `evaluate` does not allocate and reads each header value once.
///
/// # Examples
///
/// ```
/// use http::{HeaderMap, Method};
/// use tower_conditional::{evaluate, Decision, ETag, ResourceState, Validators};
///
/// let state = ResourceState::Present(Validators::new().with_etag(ETag::from_static("\"v1\"")));
///
/// let mut revalidation = HeaderMap::new();
/// revalidation.insert("if-none-match", "\"v1\"".parse()?);
/// assert!(matches!(evaluate(&Method::GET, &revalidation, &state), Decision::NotModified(_)));
///
/// // The same header on a write protects against creating over an existing version.
/// assert!(matches!(
///     evaluate(&Method::PUT, &revalidation, &state),
///     Decision::PreconditionFailed(_)
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate(method: &Method, headers: &HeaderMap, state: &ResourceState) -> Decision {
    Conditions::from_headers(headers).evaluate(method, state)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use http::header::{IF_MODIFIED_SINCE, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE};
    use http::{HeaderMap, HeaderName, Method};

    use super::Conditions;
    use crate::date::LastModified;
    use crate::state::{ResourceState, Validators};

    /// Sun, 06 Nov 1994 08:49:37 GMT.
    const T: u64 = 784_111_777;

    /// How many times evaluating `fields` against a strong Last-Modified of `modified` reads
    /// the clock (which says `T`).
    fn clock_reads(method: Method, fields: &[(HeaderName, &str)], modified: u64) -> usize {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(name, value.parse().unwrap());
        }
        let state = ResourceState::Present(
            Validators::new()
                .with_last_modified(LastModified::from_unix_seconds(modified).unwrap())
                .with_strong_last_modified(true),
        );
        let reads = Cell::new(0);
        let clock = || {
            reads.set(reads.get() + 1);
            LastModified::from_unix_seconds(T).unwrap()
        };
        Conditions::from_headers(&headers).evaluate_at_with(&method, &state, None, clock);
        reads.get()
    }

    #[test]
    fn the_clock_is_read_only_when_the_comparison_depends_on_it() {
        let at = "Sun, 06 Nov 1994 08:49:37 GMT";
        let before = "Sun, 06 Nov 1994 08:49:36 GMT";
        // Last-Modified not after the date: the clock cannot change the answer.
        assert_eq!(clock_reads(Method::GET, &[(IF_MODIFIED_SINCE, at)], T), 0);
        assert_eq!(clock_reads(Method::PUT, &[(IF_UNMODIFIED_SINCE, at)], T), 0);
        assert_eq!(
            clock_reads(Method::GET, &[(IF_MODIFIED_SINCE, at)], T - 9),
            0
        );
        let range_before = [(RANGE, "bytes=0-1"), (IF_RANGE, at)];
        assert_eq!(clock_reads(Method::GET, &range_before, T - 1), 0);
        // Last-Modified after the date: it might be in the future.
        assert_eq!(
            clock_reads(Method::GET, &[(IF_MODIFIED_SINCE, before)], T),
            1
        );
        // If-Unmodified-Since and If-Range compare the stored date as it is: never the clock.
        assert_eq!(
            clock_reads(Method::PUT, &[(IF_UNMODIFIED_SINCE, before)], T),
            0
        );
        assert_eq!(clock_reads(Method::GET, &range_before, T), 0);
        // Only If-Modified-Since reads it, once.
        let all = [
            (IF_MODIFIED_SINCE, before),
            (RANGE, "bytes=0-1"),
            (IF_RANGE, at),
        ];
        assert_eq!(clock_reads(Method::GET, &all, T + 1), 1);
    }
}
