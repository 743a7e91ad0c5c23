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

    /// Last-Modified at one-second resolution as stored, whatever the clock says, and whether
    /// it is strong: what If-Unmodified-Since and If-Range compare with (a future date is sent
    /// as now, and so is every other future date, so "now" names no single version).
    pub fn stored(&self) -> Option<(i64, bool)> {
        match self {
            State::Present {
                modified: Some((seconds, _millis, strong)),
                ..
            } => Some((*seconds as i64, *strong)),
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
    match (http_date(value), state.stored()) {
        (Some(date), Some((modified, strong))) => strong && modified == date,
        _ => false,
    }
}

/// The rule book, in order, with entity tags compared as they are.
pub fn model(request: &Request, state: &State) -> Outcome {
    model_with(request, state, Aliases::Off)
}

/// The rule book, in order, with tags compared under `aliases`.
pub fn model_with(request: &Request, state: &State, aliases: Aliases<'_>) -> Outcome {
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
                .any(|tag| current.is_some_and(|c| aliases.strong_eq(tag, c)))
            {
                return Outcome::PreconditionFailed(IfMatch);
            }
            true_conditions.push(IfMatch);
            etag_matched = true;
        }
        // Step 2: only without If-Match, only with a valid date and a Last-Modified.
        ListField::Absent => {
            if let (Some(Some(date)), Some((modified, _))) =
                (date_field(&request.if_unmodified_since), state.stored())
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
                .any(|tag| current.is_some_and(|c| aliases.weak_eq(tag, c, get_or_head)))
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
    } else if request.if_range.is_empty() || aliases.if_range_holds(&request.if_range, state) {
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

// ---------------------------------------------------------------------------------------------
// Encoding-aware tags (`ConditionalLayer::encoding_aware_etags`), from the module docs of the
// crate's `encoding` module: a strong tag "B" is issued as "B-gzip", "B-br", ... per coding,
// as "B" in identity unless B looks coded, then as "B-identity".
// ---------------------------------------------------------------------------------------------

/// The codings whose name becomes a tag suffix.
pub const KNOWN_CODINGS: [&str; 5] = ["gzip", "br", "deflate", "zstd", "compress"];

fn without_suffix<'a>(bytes: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let cut = bytes.len().checked_sub(name.len() + 1)?;
    (bytes[cut] == b'-' && &bytes[cut + 1..] == name.as_bytes()).then(|| &bytes[..cut])
}

fn known_suffix(bytes: &[u8]) -> Option<(&[u8], &'static str)> {
    KNOWN_CODINGS
        .iter()
        .find_map(|&coding| Some((without_suffix(bytes, coding)?, coding)))
}

/// A base looks coded when it ends in `-<known coding>`, or in `-identity` after a base that
/// looks coded. (A loop: request members may be long.)
pub fn looks_coded(mut base: &[u8]) -> bool {
    loop {
        if known_suffix(base).is_some() {
            return true;
        }
        match without_suffix(base, "identity") {
            Some(shorter) => base = shorter,
            None => return false,
        }
    }
}

/// The base and coding (`None`: identity) a strong opaque tag names.
pub fn decode(opaque: &[u8]) -> (&[u8], Option<&'static str>) {
    if let Some((base, coding)) = known_suffix(opaque) {
        return (base, Some(coding));
    }
    match without_suffix(opaque, "identity") {
        Some(base) if looks_coded(base) => (base, None),
        _ => (opaque, None),
    }
}

/// The strong opaque tag issued for `base` in `coding`.
pub fn encode(base: &[u8], coding: Option<&str>) -> Vec<u8> {
    match coding {
        Some(coding) => [base, b"-", coding.as_bytes()].concat(),
        None if looks_coded(base) => [base, b"-identity"].concat(),
        None => base.to_vec(),
    }
}

/// A `qvalue` (RFC 9110 §12.4.2) in thousandths: `0` [ `.` 0*3DIGIT ] or `1` [ `.` 0*3`0` ].
fn qvalue(text: &[u8]) -> Option<u32> {
    let (first, rest) = text.split_first()?;
    let fraction = match rest {
        [] => &[][..],
        [b'.', digits @ ..] if digits.len() <= 3 && digits.iter().all(u8::is_ascii_digit) => digits,
        _ => return None,
    };
    let mut thousandths = 0;
    for (i, digit) in fraction.iter().enumerate() {
        thousandths += u32::from(digit - b'0') * [100, 10, 1][i];
    }
    match first {
        b'0' => Some(thousandths),
        b'1' if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether the `Accept-Encoding` lines allow `coding` (`None`: identity), as the crate
/// documents it reads them (RFC 9110 §12.5.3, the way tower-http does):
///
/// - a line with a byte that is not HTAB or visible ASCII is skipped whole;
/// - a member is `name [ ";" "q=" qvalue ]` (`q` in either case, whitespace around each part);
///   one whose parameter is anything else is ignored;
/// - `x-gzip` is gzip and `x-compress` compress; names in any case;
/// - a name listed more than once counts with its lowest weight (`*` too);
/// - a listed name is allowed when its weight is not zero; an unlisted known coding when `*`
///   is listed with a non-zero weight; identity when unlisted, unless `*` has weight zero.
///   Without the field only identity is allowed.
pub fn accepts(accept_encoding: &[Vec<u8>], coding: Option<&str>) -> bool {
    let wanted = coding.unwrap_or("identity");
    let mut named: Option<u32> = None;
    let mut star: Option<u32> = None;
    let lowest = |slot: &mut Option<u32>, weight: u32| {
        *slot = Some(slot.map_or(weight, |old| old.min(weight)));
    };
    for line in accept_encoding {
        if line
            .iter()
            .any(|&b| b != b'\t' && !(0x20..0x7f).contains(&b))
        {
            continue;
        }
        for member in line.split(|&b| b == b',') {
            let (name, weight) = match member.iter().position(|&b| b == b';') {
                None => (member, 1000),
                Some(at) => {
                    let param = trim_ows(&member[at + 1..]);
                    let value = match param {
                        [b'q' | b'Q', b'=', value @ ..] => value,
                        _ => continue,
                    };
                    match qvalue(value) {
                        Some(weight) => (&member[..at], weight),
                        None => continue,
                    }
                }
            };
            let name = trim_ows(name).to_ascii_lowercase();
            let name = match &name[..] {
                b"x-gzip" => &b"gzip"[..],
                b"x-compress" => b"compress",
                other => other,
            };
            if name == b"*" {
                lowest(&mut star, weight);
            } else if name == wanted.as_bytes() {
                lowest(&mut named, weight);
            }
        }
    }
    match (named, star) {
        (Some(weight), _) => weight > 0,
        (None, Some(weight)) => weight > 0,
        (None, None) => coding.is_none(),
    }
}

/// How request members are compared with the current tag.
#[derive(Debug, Clone, Copy)]
pub enum Aliases<'a> {
    /// As they are.
    Off,
    /// Encoding-aware tags, with the request's `Accept-Encoding` lines.
    Codings(&'a [Vec<u8>]),
}

impl Aliases<'_> {
    /// If-Match: the member was issued for the current (strong) tag, in any coding.
    pub fn strong_eq(self, member: &Tag, current: &Tag) -> bool {
        match self {
            Aliases::Off => strong_eq(member, current),
            Aliases::Codings(_) => {
                !member.weak && !current.weak && decode(&member.opaque).0 == &current.opaque[..]
            }
        }
    }

    /// If-None-Match: a weak member as it is; a strong one names the current strong tag when
    /// its base is the current opaque tag and, for GET and HEAD, its coding (identity
    /// included: `identity;q=0` refuses it) is one the request accepts (for other methods any
    /// coding: the safe answer there is "false"). A weak current tag leaves in every coding as
    /// it is, so it has no aliases.
    pub fn weak_eq(self, member: &Tag, current: &Tag, get_or_head: bool) -> bool {
        match self {
            Aliases::Codings(accept_encoding) if !member.weak && !current.weak => {
                match decode(&member.opaque) {
                    (base, _) if base != &current.opaque[..] => false,
                    (_, coding) => !get_or_head || accepts(accept_encoding, coding),
                }
            }
            _ => weak_eq(member, current),
        }
    }

    /// If-Range: with encoding-aware tags, one strong tag that is the identity form of the
    /// current strong tag (a range is of identity bytes).
    pub fn if_range_holds(self, lines: &[Vec<u8>], state: &State) -> bool {
        let Aliases::Codings(_) = self else {
            return if_range_holds(lines, state);
        };
        let [line] = lines else {
            return false;
        };
        let value = trim_ows(line);
        if let Some((tag, rest)) = entity_tag(value) {
            return rest.is_empty()
                && state.etag().is_some_and(|current| {
                    !tag.weak && !current.weak && tag.opaque == encode(&current.opaque, None)
                });
        }
        if_range_holds(lines, state)
    }
}

/// The tag a response leaves with under encoding-aware tags, for its `Content-Encoding` lines.
pub fn issued_for(tag: &Tag, content_encoding: &[Vec<u8>]) -> Tag {
    if tag.weak {
        return tag.clone();
    }
    let coding = match content_encoding {
        [] => None,
        [line] => {
            let name = trim_ows(line);
            if name.is_empty() || name.eq_ignore_ascii_case(b"identity") {
                None
            } else {
                match KNOWN_CODINGS
                    .iter()
                    .find(|known| name.eq_ignore_ascii_case(known.as_bytes()))
                {
                    Some(known) => Some(*known),
                    None => {
                        return Tag {
                            weak: true,
                            ..tag.clone()
                        };
                    }
                }
            }
        }
        _ => {
            return Tag {
                weak: true,
                ..tag.clone()
            };
        }
    };
    Tag {
        weak: false,
        opaque: encode(&tag.opaque, coding),
    }
}

// ---------------------------------------------------------------------------------------------
// The layer: which status `ConditionalLayer` answers, with every option, for a source answer
// and an inner response (the "When the source is asked" table of its docs, `Lookup::Unknown`'s
// answers, `OnSourceError`, RFC 6585 §3, encoding-aware revalidations decided on the response
// (issue 19), the 206 re-check after a true `If-Range` (issue 21)).
// ---------------------------------------------------------------------------------------------

/// Every builder option of `ConditionalLayer` (those that cannot change a status too, so
/// that callers configure the layer from one value).
#[derive(Debug, Clone)]
pub struct LayerConfig {
    /// `require_preconditions`.
    pub required: Vec<String>,
    /// `on_source_error(OnSourceError::reject_all())` (else `serve_reads()`).
    pub reject_all: bool,
    /// `retry_after`, in milliseconds.
    pub retry_after_ms: Option<u64>,
    /// `validators_in_412`.
    pub validators_in_412: bool,
    /// `drain_limit`.
    pub drain_limit: u64,
    /// `drain_timeout`, in milliseconds.
    pub drain_timeout_ms: u64,
    /// `fill_response_validators`.
    pub fill: bool,
    /// `body_hash_limit`.
    pub body_hash_limit: Option<u64>,
    /// `encoding_aware_etags`.
    pub encoding_aware: bool,
}

/// What the source answers.
#[derive(Debug, Clone)]
pub enum SourceAnswer {
    /// `Lookup::Present` / `Lookup::Missing`.
    Known(State),
    /// `Lookup::Unknown`.
    Unknown,
    /// An error.
    Failed,
}

/// The inner service's response, as raw as a handler can make it.
#[derive(Debug, Clone)]
pub struct InnerResponse {
    pub status: u16,
    /// The `ETag` line, raw (may be no valid tag).
    pub etag: Option<Vec<u8>>,
    /// The `Last-Modified` line, raw.
    pub last_modified: Option<Vec<u8>>,
    pub content_encoding: Vec<Vec<u8>>,
    pub event_stream: bool,
    pub no_store: bool,
    pub body: Vec<u8>,
    /// The body's exact size hint, which may lie; `None`: no exact hint.
    pub size_hint: Option<u64>,
}

/// What the layer does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerOutcome {
    pub status: u16,
    /// Whether the inner service is called.
    pub inner_called: bool,
}

/// The layer's status for `request` (with its `Accept-Encoding` lines). `content_tag` is the
/// tag of a body hashed whole (`ETag::from_content`, checked on its own by the crate's tests).
pub fn layer_model(
    config: &LayerConfig,
    request: &Request,
    accept_encoding: &[Vec<u8>],
    answer: &SourceAnswer,
    inner: &InnerResponse,
    content_tag: impl Fn(&[u8]) -> Tag,
) -> LayerOutcome {
    let method = request.method.as_str();
    let passed = LayerOutcome {
        status: inner.status,
        inner_called: true,
    };
    let refused = |status| LayerOutcome {
        status,
        inner_called: false,
    };
    if matches!(method, "CONNECT" | "OPTIONS" | "TRACE") {
        return passed;
    }
    let read = method == "GET" || method == "HEAD";
    let required = config.required.iter().any(|m| m == method);
    let has = |lines: &Vec<Vec<u8>>| !lines.is_empty();
    let asks = if read {
        has(&request.if_match)
            || has(&request.if_none_match)
            || has(&request.if_modified_since)
            || has(&request.if_unmodified_since)
            || (method == "GET" && request.range && has(&request.if_range))
            || config.fill
    } else {
        has(&request.if_match)
            || has(&request.if_none_match)
            || has(&request.if_unmodified_since)
            || required
    };
    if !asks {
        return passed;
    }
    let state = match answer {
        SourceAnswer::Failed if read && !config.reject_all => return passed,
        SourceAnswer::Failed => return refused(503),
        SourceAnswer::Unknown if read => {
            return LayerOutcome {
                status: response_side(config, request, inner, content_tag),
                inner_called: true,
            };
        }
        SourceAnswer::Unknown => return unknown_write(request, required, passed),
        SourceAnswer::Known(state) => state,
    };
    let aliases = if config.encoding_aware {
        Aliases::Codings(accept_encoding)
    } else {
        Aliases::Off
    };
    let outcome = model_with(request, state, aliases);
    if let Outcome::Proceed {
        passed: condition,
        ignored,
        ..
    } = outcome
    {
        // RFC 6585 §3, `require_preconditions`: whatever decides the rest, a write (or any
        // listed method) on a present resource that carries no If-Match or If-Unmodified-Since
        // that was evaluated never reaches the inner service.
        let protected = matches!(condition, Some(IfMatch | IfUnmodifiedSince));
        if required && ignored.is_none() && state.is_present() && !protected {
            return refused(428);
        }
    }
    if config.encoding_aware && read && coding_decides(request, accept_encoding, state, &outcome) {
        let mut status = revalidated_on_response(request, state, inner);
        // The same rule on the response: a revalidation that does not end in a 304 and lacks
        // the required precondition is answered 428 in place of the handler's response. Only
        // a 2xx but 206 is evaluated; what passed is what If-Match / If-Unmodified-Since alone
        // give against the source's state.
        let evaluated = (200..300).contains(&inner.status) && inner.status != 206;
        if required && evaluated && status != 304 && state.is_present() {
            let lost_update = Request {
                if_none_match: Vec::new(),
                if_modified_since: Vec::new(),
                if_range: Vec::new(),
                range: false,
                ..request.clone()
            };
            let passed = match model_with(&lost_update, state, aliases) {
                Outcome::Proceed { passed, .. } => passed,
                _ => None,
            };
            if !matches!(passed, Some(IfMatch | IfUnmodifiedSince)) {
                status = 428;
            }
        }
        return LayerOutcome {
            status,
            inner_called: true,
        };
    }
    match outcome {
        Outcome::Proceed {
            range,
            passed: condition,
            etag_matched,
            ..
        } => {
            if range == RangeHandling::Honor && inner.status == 206 {
                let names = named_fields(request, condition, etag_matched);
                if let Some(status) = range_of_another_version(config, &names, answer, state, inner)
                {
                    return LayerOutcome {
                        status,
                        inner_called: true,
                    };
                }
            }
            passed
        }
        Outcome::NotModified(_) => refused(304),
        Outcome::PreconditionFailed(_) => refused(412),
        Outcome::BadRequest(_) => refused(400),
    }
}

/// Encoding-aware tags (issue 19, the docs of `encoding_aware_etags` and the crate docs'
/// "Compression" section): whether a GET or HEAD, evaluated against the source as `outcome`,
/// waits for the response, because the tag a 304 must name depends on the coding the response
/// gets, which only the compressor inside the layer chooses:
///
/// - a revalidation (`If-None-Match` or `If-Modified-Since` present) of a request that refuses
///   identity: the compressor may answer 406, and a 406 never becomes a 304;
/// - a 304 to a strong current tag that no strong member the client sent decided (in a coding
///   the request accepts): a weak member, `*`, or `If-Modified-Since`;
/// - a revalidation that proceeds while a weak member names a form issued for the strong
///   current tag (`W/"B-gzip"` for `"B"`): whether it matches depends on the coding.
///
/// A weak current tag (or none) is sent the same in every coding: nothing to wait for, but for
/// a refused identity. An ignored evaluation (a missing resource) and early refusals (412, 400)
/// never wait.
pub fn coding_decides(
    request: &Request,
    accept_encoding: &[Vec<u8>],
    state: &State,
    outcome: &Outcome,
) -> bool {
    let revalidation = !request.if_none_match.is_empty() || !request.if_modified_since.is_empty();
    let identity_refused = !accepts(accept_encoding, None);
    let strong = state.etag().filter(|tag| !tag.weak);
    let members = match list_field(&request.if_none_match) {
        ListField::Tags(tags) => tags,
        _ => Vec::new(),
    };
    match outcome {
        Outcome::NotModified(_) if identity_refused => true,
        Outcome::NotModified(condition) => strong.is_some_and(|current| {
            let fixed = *condition == IfNoneMatch
                && members.iter().any(|member| {
                    !member.weak && Aliases::Codings(accept_encoding).weak_eq(member, current, true)
                });
            !fixed
        }),
        Outcome::Proceed { ignored: None, .. } if revalidation => {
            identity_refused
                || strong.is_some_and(|current| {
                    members.iter().any(|member| {
                        member.weak && decode(&member.opaque).0 == &current.opaque[..]
                    })
                })
        }
        _ => false,
    }
}

/// A revalidation decided on the response (see [`coding_decides`]): Range is dropped (the
/// preconditions come first, and a 206 cannot become a 304), the preconditions that passed
/// stay passed, and `If-None-Match` / `If-Modified-Since` are compared as they are with the
/// tag the response leaves with (its own, else the source's, in the form issued for its
/// coding) and its own `Last-Modified`, else the source's. Only a 2xx but 206 is evaluated.
fn revalidated_on_response(request: &Request, state: &State, inner: &InnerResponse) -> u16 {
    if !(200..300).contains(&inner.status) || inner.status == 206 {
        return inner.status;
    }
    let own_tag = inner
        .etag
        .as_deref()
        .and_then(|line| match entity_tag(line) {
            Some((tag, [])) => Some(tag),
            _ => None,
        });
    let etag = own_tag
        .or_else(|| state.etag().cloned())
        .map(|tag| issued_for(&tag, &inner.content_encoding));
    let own_date = inner
        .last_modified
        .as_deref()
        .and_then(http_date)
        .filter(|&seconds| seconds >= 0)
        .map(|seconds| (seconds as u64, 0, false));
    let modified = own_date.or(match state {
        State::Present { modified, .. } => *modified,
        State::Missing => None,
    });
    let evaluated = Request {
        if_match: Vec::new(),
        if_unmodified_since: Vec::new(),
        if_range: Vec::new(),
        range: false,
        ..request.clone()
    };
    match model(&evaluated, &State::Present { etag, modified }) {
        Outcome::NotModified(_) => 304,
        _ => inner.status,
    }
}

/// The fields of a ranged GET that name the version the client holds, found true (issues 21
/// and 30): a true `If-Range`, and the `If-Match` entity-tag or `If-Unmodified-Since` that
/// passed (`*` names no version). Empty: nothing to judge the 206 by.
fn named_fields(request: &Request, passed: Option<Condition>, etag_matched: bool) -> Request {
    Request {
        method: "GET".to_owned(),
        if_match: if passed == Some(IfMatch) && etag_matched {
            request.if_match.clone()
        } else {
            Vec::new()
        },
        if_none_match: Vec::new(),
        if_modified_since: Vec::new(),
        if_unmodified_since: if passed == Some(IfUnmodifiedSince) {
            request.if_unmodified_since.clone()
        } else {
            Vec::new()
        },
        if_range: request.if_range.clone(),
        range: true,
    }
}

/// Issues 21 and 30 (RFC 9110 §13.1.1, §13.1.5, the docs of the crate's `layer/ranges.rs`): a
/// 206 whose request named a version (`names`) reaches the client only when it is of that
/// version. It is judged by its own validators of the kinds the fields name (`ETag` for a tag,
/// `Last-Modified` for a date, as strong as the source declared its date); one that is missing
/// or not a valid validator, or a date at or after the current second (it may be a later
/// version's date sent as "now"), says nothing, and the source is asked again (here: the same
/// answer). A false `If-Match` or `If-Unmodified-Since` is a 412; a false `If-Range`, or no
/// way to tell, a 503. `None`: the 206 is sent. With encoding-aware tags `If-Range` names the
/// identity form of the tag.
fn range_of_another_version(
    config: &LayerConfig,
    names: &Request,
    answer: &SourceAnswer,
    state: &State,
    inner: &InnerResponse,
) -> Option<u16> {
    let named = !names.if_match.is_empty()
        || !names.if_unmodified_since.is_empty()
        || !names.if_range.is_empty();
    if !named {
        return None;
    }
    let aliases = if config.encoding_aware {
        Aliases::Codings(&[])
    } else {
        Aliases::Off
    };
    let if_range_tag = names.if_range.first().map(|value| {
        let value = trim_ows(value);
        value.starts_with(b"\"") || value.starts_with(b"W/")
    });
    let tags = !names.if_match.is_empty() || if_range_tag == Some(true);
    let dates = !names.if_unmodified_since.is_empty() || if_range_tag == Some(false);
    let lost_update = !names.if_match.is_empty() || !names.if_unmodified_since.is_empty();
    let strong_date = state.stored().is_some_and(|(_, strong)| strong);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let etag = match inner.etag.as_deref().map(entity_tag) {
        Some(Some((tag, []))) => Some(tag),
        _ => None,
    };
    let date = match inner.last_modified.as_deref().map(http_date) {
        Some(Some(date)) if (0..now).contains(&date) => Some(date as u64),
        _ => None,
    };
    let judged = if (tags && etag.is_none()) || (dates && date.is_none()) {
        match answer {
            SourceAnswer::Known(again) if again.is_present() => again.clone(),
            SourceAnswer::Known(_) if lost_update => return Some(412),
            _ => return Some(503),
        }
    } else {
        State::Present {
            etag,
            modified: date.map(|date| (date, 0, strong_date)),
        }
    };
    match model_with(names, &judged, aliases) {
        Outcome::Proceed {
            range: RangeHandling::Honor,
            ..
        } => None,
        Outcome::PreconditionFailed(_) => Some(412),
        _ => Some(503),
    }
}

/// A write whose validators are only known after the handler: malformed fields are 400, a
/// precondition that would be evaluated cannot be verified (412), a required one never can
/// be (500, a configuration error).
fn unknown_write(request: &Request, required: bool, passed: LayerOutcome) -> LayerOutcome {
    let refused = |status| LayerOutcome {
        status,
        inner_called: false,
    };
    if list_field(&request.if_match) == ListField::Malformed
        || list_field(&request.if_none_match) == ListField::Malformed
    {
        return refused(400);
    }
    let valid_date = matches!(date_field(&request.if_unmodified_since), Some(Some(_)));
    if !request.if_match.is_empty() || valid_date || !request.if_none_match.is_empty() {
        refused(412)
    } else if required {
        refused(500)
    } else {
        passed
    }
}

/// A GET or HEAD evaluated against the inner response's own validators (Range and If-Range
/// are not evaluated: the handler was asked for the whole representation).
fn response_side(
    config: &LayerConfig,
    request: &Request,
    inner: &InnerResponse,
    content_tag: impl Fn(&[u8]) -> Tag,
) -> u16 {
    if !(200..300).contains(&inner.status) || inner.status == 206 {
        return inner.status;
    }
    let mut etag = inner
        .etag
        .as_deref()
        .and_then(|line| match entity_tag(line) {
            Some((tag, [])) => Some(tag),
            _ => None,
        });
    let hashed = request.method == "GET"
        && inner.etag.is_none()
        && !inner.event_stream
        && !inner.no_store
        && config.body_hash_limit.is_some_and(|limit| {
            inner.size_hint.is_some_and(|hint| hint <= limit) && inner.body.len() as u64 <= limit
        });
    if hashed {
        etag = Some(content_tag(&inner.body));
    }
    if config.encoding_aware {
        etag = etag.map(|tag| issued_for(&tag, &inner.content_encoding));
    }
    let modified = inner
        .last_modified
        .as_deref()
        .and_then(http_date)
        .filter(|&seconds| seconds >= 0)
        .map(|seconds| (seconds as u64, 0, false));
    let state = State::Present { etag, modified };
    let evaluated = Request {
        if_range: Vec::new(),
        range: false,
        ..request.clone()
    };
    match model(&evaluated, &state) {
        Outcome::Proceed { .. } => inner.status,
        Outcome::NotModified(_) => 304,
        Outcome::PreconditionFailed(_) => 412,
        Outcome::BadRequest(_) => 400,
    }
}
