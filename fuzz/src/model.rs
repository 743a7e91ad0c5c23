//! The reference model of RFC 9110 §13 conditional requests, written straight from the rule book.
//! One copy serves both the proptest suite of the main crate (`tests/model.rs` includes this file
//! with `#[path]`) and the `evaluate_differential` fuzz target.
//!
//! The model does its own parsing (entity tags, lists, `*`, If-Range); only HTTP-dates are
//! parsed with the `httpdate` crate (dates before 1970, which it refuses, four centuries
//! later). It shares no code with the crate under test.
//!
//! Callers keep the model's preconditions:
//! every header line must pass `HeaderValue::from_bytes`, the method must be a token, and a
//! state's opaque tag must be `etagc` bytes with its date within 1970..=9999 (the model panics
//! otherwise).

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{
    HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderValue, Method};
use tower_conditional::{
    Condition, Decision, ETag, Ignored, LastModified, RangeHandling, ResourceState, Validators,
};

use Condition::{IfMatch, IfModifiedSince, IfNoneMatch, IfUnmodifiedSince};

/// Sun, 06 Nov 1994 08:49:37 GMT.
pub const T: u64 = 784_111_777;

/// A current entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub weak: bool,
    pub opaque: Vec<u8>,
}

/// The resource as the model sees it.
#[derive(Debug, Clone)]
pub enum State {
    Missing,
    Present {
        etag: Option<Tag>,
        /// Unix seconds, milliseconds, declared strong.
        modified: Option<(u64, u64, bool)>,
    },
}

impl State {
    pub fn to_crate(&self) -> ResourceState {
        match self {
            State::Missing => ResourceState::Missing,
            State::Present { etag, modified } => {
                let mut validators = Validators::new();
                if let Some(tag) = etag {
                    let etag = if tag.weak {
                        ETag::weak(&tag.opaque)
                    } else {
                        ETag::strong(&tag.opaque)
                    };
                    validators = validators.with_etag(etag.unwrap());
                }
                if let Some((seconds, millis, strong)) = *modified {
                    let time =
                        UNIX_EPOCH + std::time::Duration::from_millis(seconds * 1000 + millis);
                    validators = validators
                        .with_last_modified(LastModified::try_from(time).unwrap())
                        .with_strong_last_modified(strong);
                }
                ResourceState::Present(validators)
            }
        }
    }

    pub fn is_present(&self) -> bool {
        matches!(self, State::Present { .. })
    }

    pub fn etag(&self) -> Option<&Tag> {
        match self {
            State::Present { etag, .. } => etag.as_ref(),
            State::Missing => None,
        }
    }

    /// Last-Modified at one-second resolution as preconditions see it, and whether it is
    /// strong. A date in the future counts as now: that is what the server sends
    /// (RFC 9110 §8.8.2.1). Callers keep request dates away from the current second, so the
    /// model and the crate reading the clock at different instants agree.
    pub fn modified(&self) -> Option<(i64, bool)> {
        match self {
            State::Present {
                modified: Some((seconds, _millis, strong)),
                ..
            } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                Some(((*seconds).min(now) as i64, *strong))
            }
            _ => None,
        }
    }
}

/// One request: a method and the lines of each field (no lines: absent).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub if_match: Vec<Vec<u8>>,
    pub if_none_match: Vec<Vec<u8>>,
    pub if_modified_since: Vec<Vec<u8>>,
    pub if_unmodified_since: Vec<Vec<u8>>,
    pub if_range: Vec<Vec<u8>>,
    pub range: bool,
}

impl Request {
    pub fn headers(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        let fields: [(HeaderName, &Vec<Vec<u8>>); 5] = [
            (IF_MATCH, &self.if_match),
            (IF_NONE_MATCH, &self.if_none_match),
            (IF_MODIFIED_SINCE, &self.if_modified_since),
            (IF_UNMODIFIED_SINCE, &self.if_unmodified_since),
            (IF_RANGE, &self.if_range),
        ];
        for (name, lines) in fields {
            for line in lines {
                let value = HeaderValue::from_bytes(line)
                    .unwrap_or_else(|e| panic!("generated an invalid header value {line:?}: {e}"));
                map.append(name.clone(), value);
            }
        }
        if self.range {
            map.insert(RANGE, HeaderValue::from_static("bytes=0-99"));
        }
        map
    }

    pub fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Proceed {
        range: RangeHandling,
        passed: Option<Condition>,
        etag_matched: bool,
        ignored: Option<Ignored>,
    },
    NotModified(Condition),
    PreconditionFailed(Condition),
    BadRequest(Condition),
}

impl Outcome {
    pub fn of(decision: &Decision) -> Outcome {
        match decision {
            Decision::Proceed(p) => Outcome::Proceed {
                range: p.range(),
                passed: p.passed(),
                etag_matched: p.etag_matched(),
                ignored: p.ignored(),
            },
            Decision::NotModified(c) => Outcome::NotModified(*c),
            Decision::PreconditionFailed(c) => Outcome::PreconditionFailed(*c),
            Decision::BadRequest(c) => Outcome::BadRequest(*c),
            other => panic!("unknown decision {other:?}"),
        }
    }
}

/// `If-Match` / `If-None-Match`: `"*" / #entity-tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListField {
    Absent,
    Malformed,
    Star,
    Tags(Vec<Tag>),
}

/// `etagc = %x21 / %x23-7E / obs-text`: any visible byte but DQUOTE and DEL.
pub fn etagc(b: u8) -> bool {
    b > b' ' && b != b'"' && b != 0x7f
}

pub fn skip<'a>(mut bytes: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = bytes {
        if !set.contains(first) {
            break;
        }
        bytes = rest;
    }
    bytes
}

pub fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b" \t".contains(b));
    let end = bytes.iter().rposition(|b| !b" \t".contains(b));
    match (start, end) {
        (Some(start), Some(end)) => &bytes[start..=end],
        _ => &[],
    }
}

/// `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE` at the start of `bytes`; the tag and the rest.
pub fn entity_tag(bytes: &[u8]) -> Option<(Tag, &[u8])> {
    let (weak, quoted) = match bytes.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let body = quoted.strip_prefix(b"\"")?;
    let close = body.iter().position(|&b| b == b'"')?;
    let opaque = &body[..close];
    if !opaque.iter().all(|&b| etagc(b)) {
        return None;
    }
    let tag = Tag {
        weak,
        opaque: opaque.to_vec(),
    };
    Some((tag, &body[close + 1..]))
}

/// Several lines form one list, as if joined by commas (RFC 9110 §5.3). Empty elements are
/// skipped (§5.6.1). `"*" / #entity-tag`: `*` is the whole field value or the field is
/// malformed; it is no list element, so empty elements around it (`*,`) make it malformed too.
pub fn list_field(lines: &[Vec<u8>]) -> ListField {
    if lines.is_empty() {
        return ListField::Absent;
    }
    let joined = lines.join(&b", "[..]);
    if trim_ows(&joined) == b"*" {
        return ListField::Star;
    }
    let mut rest = &joined[..];
    let mut stars = 0;
    let mut tags = Vec::new();
    loop {
        rest = skip(rest, b" \t,");
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix(b"*") {
            stars += 1;
            rest = after;
        } else if let Some((tag, after)) = entity_tag(rest) {
            tags.push(tag);
            rest = after;
        } else {
            return ListField::Malformed;
        }
        rest = skip(rest, b" \t");
        if !rest.is_empty() && rest[0] != b',' {
            return ListField::Malformed;
        }
    }
    match stars {
        0 => ListField::Tags(tags),
        _ => ListField::Malformed,
    }
}

/// If-Modified-Since / If-Unmodified-Since: `None` when absent, `Some(None)` when present but
/// not exactly one HTTP-date on one line.
pub fn date_field(lines: &[Vec<u8>]) -> Option<Option<i64>> {
    match lines {
        [] => None,
        [line] => Some(http_date(line)),
        _ => Some(None),
    }
}

/// Seconds since 1970, negative before. `year = 4DIGIT` (RFC 9110 §5.6.7), so IMF-fixdate and
/// asctime dates from 0000 on are valid; `httpdate` refuses those before 1970, so they are
/// parsed 2000 years later (five 400-year Gregorian cycles: same calendar, same weekdays) and
/// moved back.
pub fn http_date(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(trim_ows(bytes)).ok()?;
    if let Ok(time) = httpdate::parse_http_date(text) {
        return Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64);
    }
    const TWO_THOUSAND_YEARS: i64 = 5 * 146_097 * 86_400;
    let year_at = match text.len() {
        29 => 12, // Sun, 06 Nov 1994 08:49:37 GMT
        24 => 20, // Sun Nov  6 08:49:37 1994
        _ => return None,
    };
    let year = text.get(year_at..year_at + 4)?;
    if !year.bytes().all(|b| b.is_ascii_digit()) || year >= "1970" {
        return None;
    }
    let later = format!(
        "{}{}{}",
        &text[..year_at],
        year.parse::<u32>().ok()? + 2000,
        &text[year_at + 4..]
    );
    let time = httpdate::parse_http_date(&later).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64 - TWO_THOUSAND_YEARS)
}

pub fn strong_eq(a: &Tag, b: &Tag) -> bool {
    !a.weak && !b.weak && a.opaque == b.opaque
}

pub fn weak_eq(a: &Tag, b: &Tag) -> bool {
    a.opaque == b.opaque
}

/// If-Range: exactly one entity-tag matching strongly, or exactly one HTTP-date equal to a
/// strong Last-Modified. Anything else is false.
pub fn if_range_holds(lines: &[Vec<u8>], state: &State) -> bool {
    let [line] = lines else {
        return false;
    };
    let value = trim_ows(line);
    if let Some((tag, rest)) = entity_tag(value) {
        return rest.is_empty() && state.etag().is_some_and(|current| strong_eq(current, &tag));
    }
    match (http_date(value), state.modified()) {
        (Some(date), Some((modified, strong))) => strong && modified == date,
        _ => false,
    }
}

/// The rule book, in order.
pub fn model(request: &Request, state: &State) -> Outcome {
    let method = request.method.as_str();
    let get = method == "GET";
    let get_or_head = get || method == "HEAD";
    let range_requested = get && request.range;
    let proceed = |range, passed, etag_matched, ignored| Outcome::Proceed {
        range,
        passed,
        etag_matched,
        ignored,
    };

    // When to evaluate (§13.2.1): these come first, malformed fields included.
    if matches!(method, "CONNECT" | "OPTIONS" | "TRACE") {
        return proceed(
            RangeHandling::NotRequested,
            None,
            false,
            Some(Ignored::Method),
        );
    }
    if !state.is_present() && (get_or_head || method == "DELETE") {
        let range = if range_requested {
            RangeHandling::Honor
        } else {
            RangeHandling::NotRequested
        };
        return proceed(range, None, false, Some(Ignored::Missing));
    }

    // 400 before any 412.
    let if_match = list_field(&request.if_match);
    let if_none_match = list_field(&request.if_none_match);
    if if_match == ListField::Malformed {
        return Outcome::BadRequest(IfMatch);
    }
    if if_none_match == ListField::Malformed && !get_or_head {
        return Outcome::BadRequest(IfNoneMatch);
    }

    let current = state.etag();
    let modified = state.modified().map(|(seconds, _)| seconds);
    let mut true_conditions = Vec::new();
    let mut etag_matched = false;

    match &if_match {
        // Step 1.
        ListField::Star => {
            if !state.is_present() {
                return Outcome::PreconditionFailed(IfMatch);
            }
            true_conditions.push(IfMatch);
        }
        ListField::Tags(tags) => {
            if !tags
                .iter()
                .any(|tag| current.is_some_and(|c| strong_eq(tag, c)))
            {
                return Outcome::PreconditionFailed(IfMatch);
            }
            true_conditions.push(IfMatch);
            etag_matched = true;
        }
        // Step 2: only without If-Match, only with a valid date and a Last-Modified.
        ListField::Absent => {
            if let (Some(Some(date)), Some(modified)) =
                (date_field(&request.if_unmodified_since), modified)
            {
                if modified > date {
                    return Outcome::PreconditionFailed(IfUnmodifiedSince);
                }
                true_conditions.push(IfUnmodifiedSince);
            }
        }
        ListField::Malformed => unreachable!("answered 400 above"),
    }

    let none_match_false = if get_or_head {
        Outcome::NotModified(IfNoneMatch)
    } else {
        Outcome::PreconditionFailed(IfNoneMatch)
    };
    match &if_none_match {
        // Step 3.
        ListField::Star => {
            if state.is_present() {
                return none_match_false;
            }
            true_conditions.push(IfNoneMatch);
        }
        ListField::Tags(tags) => {
            if tags
                .iter()
                .any(|tag| current.is_some_and(|c| weak_eq(tag, c)))
            {
                return none_match_false;
            }
            true_conditions.push(IfNoneMatch);
        }
        // Malformed on GET/HEAD: ignored, but present, so step 4 does not run.
        ListField::Malformed => {}
        // Step 4: GET and HEAD only.
        ListField::Absent => {
            if let (true, Some(Some(date)), Some(modified)) = (
                get_or_head,
                date_field(&request.if_modified_since),
                modified,
            ) {
                if modified <= date {
                    return Outcome::NotModified(IfModifiedSince);
                }
                true_conditions.push(IfModifiedSince);
            }
        }
    }

    // Step 5.
    let range = if !range_requested {
        RangeHandling::NotRequested
    } else if request.if_range.is_empty() || if_range_holds(&request.if_range, state) {
        RangeHandling::Honor
    } else {
        RangeHandling::Ignore
    };
    proceed(range, true_conditions.first().copied(), etag_matched, None)
}

/// A 304 needs a valid validator that matched: a well-formed If-None-Match whose `*` met a
/// present representation or whose tag matched weakly, or (without If-None-Match) one valid
/// If-Modified-Since date not older than Last-Modified.
pub fn not_modified_is_justified(condition: Condition, request: &Request, state: &State) -> bool {
    match condition {
        IfNoneMatch => match list_field(&request.if_none_match) {
            ListField::Star => state.is_present(),
            ListField::Tags(tags) => tags
                .iter()
                .any(|tag| state.etag().is_some_and(|c| weak_eq(tag, c))),
            ListField::Absent | ListField::Malformed => false,
        },
        IfModifiedSince => {
            request.if_none_match.is_empty()
                && match (date_field(&request.if_modified_since), state.modified()) {
                    (Some(Some(date)), Some((modified, _))) => modified <= date,
                    _ => false,
                }
        }
        _ => false,
    }
}
