//! `Accept-Encoding` (RFC 9110 §12.5.3), read once per request: which content codings the
//! client accepts.
//!
//! One pass over every line of the field, without allocating or recursing: the result is one
//! weight per coding the layer names in tags, one for identity and one for `*`, whatever the field's length.
//! It answers one question, [`AcceptEncoding::allows`], used by encoding-aware tags (see
//! [`crate::encoding`]) to tell whether a request may be served a representation in a coding.
//!
//! What it reads the way tower-http's `CompressionLayer` (0.7) does, so that the two agree on
//! which codings a request may get:
//!
//! - `x-gzip` is gzip (and `x-compress` compress, RFC 9110 §8.4.1);
//! - a member whose weight is not a valid `qvalue` (`q=2`, `q=0.0001`, a parameter other than
//!   `q`) is ignored, and so is a line that is not visible ASCII;
//! - identity is acceptable unless it is listed with `q=0`, or `*;q=0` covers it.
//!
//! Where a coding is listed more than once (or `*` is), the lowest weight counts: the answer is
//! then never "acceptable" where either listing refuses it. Without the field (or with an empty
//! one) only identity is acceptable: that is what the server sends such a request.

use http::HeaderMap;
use http::header::ACCEPT_ENCODING;

/// The content codings weighed: those the layer names in tags (`crate::encoding`'s
/// `KNOWN_CODINGS`, which its tests hold to this list).
const CODINGS: [&str; 5] = ["gzip", "br", "deflate", "zstd", "compress"];

/// A content coding by name; `None` is identity.
pub(crate) type Coding<'a> = Option<&'a str>;

/// Slots of [`AcceptEncoding::listed`]: [`CODINGS`] in order, then identity.
const SLOTS: usize = CODINGS.len() + 1;
const IDENTITY_SLOT: usize = CODINGS.len();

/// A weight, in thousandths (`q=0.5` is 500, `q=1` is 1000).
type Weight = u16;

/// What one request's `Accept-Encoding` says, as far as the layer's codings are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AcceptEncoding {
    /// The (lowest) weight each known coding, then identity, is listed with.
    listed: [Option<Weight>; SLOTS],
    /// The (lowest) weight of `*`.
    star: Option<Weight>,
}

impl AcceptEncoding {
    /// Reads every `Accept-Encoding` line of `headers`, once.
    pub(crate) fn parse(headers: &HeaderMap) -> Self {
        let mut accept = AcceptEncoding::default();
        for line in headers.get_all(ACCEPT_ENCODING) {
            let bytes = line.as_bytes();
            if !bytes
                .iter()
                .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
            {
                continue; // tower-http skips a line that is not a string
            }
            for member in bytes.split(|&b| b == b',') {
                accept.add(member);
            }
        }
        accept
    }

    /// One member, `coding [ OWS ";" OWS "q=" qvalue ]`.
    fn add(&mut self, member: &[u8]) {
        crate::cost::visit();
        let (name, weight) = match memchr::memchr(b';', member) {
            Some(at) => match parse_weight(member[at + 1..].trim_ascii()) {
                Some(weight) => (&member[..at], weight),
                None => return, // not a weight: the member is ignored
            },
            None => (member, 1000),
        };
        let name = name.trim_ascii();
        let slot = if name == b"*" {
            &mut self.star
        } else {
            match slot_of(name) {
                Some(slot) => &mut self.listed[slot],
                None => return, // a coding the layer never issues a tag for
            }
        };
        *slot = Some(slot.map_or(weight, |seen| seen.min(weight)));
    }

    /// Whether a representation in `coding` (`None`: identity) is acceptable to the request.
    pub(crate) fn allows(&self, coding: Coding<'_>) -> bool {
        let slot = match coding {
            None => IDENTITY_SLOT,
            Some(name) => match slot_of(name.as_bytes()) {
                Some(slot) => slot,
                None => return false,
            },
        };
        match (self.listed[slot], self.star) {
            (Some(weight), _) | (None, Some(weight)) => weight > 0,
            // Not mentioned at all: identity always is acceptable, codings are not sent.
            (None, None) => slot == IDENTITY_SLOT,
        }
    }
}

/// The slot of a coding name (any case), aliases included.
fn slot_of(name: &[u8]) -> Option<usize> {
    if name.eq_ignore_ascii_case(b"identity") {
        return Some(IDENTITY_SLOT);
    }
    let name = match name {
        _ if name.eq_ignore_ascii_case(b"x-gzip") => b"gzip".as_slice(),
        _ if name.eq_ignore_ascii_case(b"x-compress") => b"compress".as_slice(),
        _ => name,
    };
    CODINGS
        .iter()
        .position(|known| name.eq_ignore_ascii_case(known.as_bytes()))
}

/// `q=` then a qvalue (RFC 9110 §12.4.2): `0`, `0.` and up to three digits, `1`, `1.` and up
/// to three zeros. `q` in either case, as tower-http reads it.
fn parse_weight(param: &[u8]) -> Option<Weight> {
    let value = match param {
        [b'q' | b'Q', b'=', value @ ..] => value,
        _ => return None,
    };
    let (whole, fraction) = match value {
        [digit] => (*digit, &[][..]),
        [digit, b'.', fraction @ ..] if fraction.len() <= 3 => (*digit, fraction),
        _ => return None,
    };
    if !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let thousandths = fraction
        .iter()
        .zip([100, 10, 1])
        .map(|(digit, scale)| Weight::from(digit - b'0') * scale)
        .sum::<Weight>();
    match whole {
        b'0' => Some(thousandths),
        b'1' if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn parsed(lines: &[&'static str]) -> AcceptEncoding {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_static(line));
        }
        AcceptEncoding::parse(&headers)
    }

    const GZIP: Coding<'static> = Some("gzip");
    const BR: Coding<'static> = Some("br");
    const ZSTD: Coding<'static> = Some("zstd");
    const IDENTITY: Coding<'static> = None;

    #[test]
    fn weights_codings_and_wildcards_as_a_table() {
        // (field lines, coding, acceptable)
        let table: &[(&[&'static str], Coding<'static>, bool)] = &[
            (&[], IDENTITY, true),
            (&[], GZIP, false),
            (&[""], IDENTITY, true),
            (&[""], GZIP, false),
            (&["gzip"], GZIP, true),
            (&["gzip"], BR, false),
            (&["gzip"], IDENTITY, true),
            (&["GZip"], GZIP, true),
            (&["x-gzip"], GZIP, true),
            (&["X-GZIP;q=0"], GZIP, false),
            (&["gzip, br"], BR, true),
            (&["gzip", "br"], BR, true),
            (&["gzip;q=0, br"], GZIP, false),
            (&["gzip;q=0, br"], BR, true),
            (&["gzip ; q=0.5"], GZIP, true),
            (&["gzip;Q=0.000"], GZIP, false),
            (&["gzip;q=0."], GZIP, false),
            (&["gzip;q=0.001"], GZIP, true),
            (&["gzip;q=1.000"], GZIP, true),
            (&["gzip;q=1.001"], GZIP, false), // not a qvalue: ignored
            (&["gzip;q=2"], GZIP, false),
            (&["gzip;q=0.0001"], GZIP, false),
            (&["gzip;q="], GZIP, false),
            (&["gzip;level=9"], GZIP, false),
            (&["gzip;q=0.5;level=9"], GZIP, false),
            (&["identity;q=0, gzip"], IDENTITY, false),
            (&["identity;q=0, gzip"], GZIP, true),
            (&["*;q=0, gzip"], IDENTITY, false),
            (&["*;q=0, gzip"], GZIP, true),
            (&["*;q=0, gzip"], BR, false),
            (&["*;q=0, identity"], IDENTITY, true),
            (&["*"], ZSTD, true),
            (&["*;q=0"], IDENTITY, false),
            (&["*, zstd;q=0"], ZSTD, false),
            (&["*, zstd;q=0"], BR, true),
            (&["*;q=0.2, identity;q=0"], IDENTITY, false),
            // Listed twice: the lower weight counts, on one line or two.
            (&["gzip, gzip;q=0"], GZIP, false),
            (&["gzip;q=0", "gzip"], GZIP, false),
            (&["*;q=1, *;q=0"], BR, false),
            // Unknown codings and junk change nothing.
            (&["sdch, , ;, ;q=1"], IDENTITY, true),
            (&["sdch, , ;, ;q=1"], GZIP, false),
        ];
        for (lines, coding, acceptable) in table {
            assert_eq!(
                parsed(lines).allows(*coding),
                *acceptable,
                "Accept-Encoding: {lines:?}, {coding:?}"
            );
        }
    }

    #[test]
    fn a_line_that_is_not_visible_ascii_is_skipped_whole() {
        let mut headers = HeaderMap::new();
        headers.append(
            ACCEPT_ENCODING,
            HeaderValue::from_bytes(b"identity;q=0, gzip, \x80").unwrap(),
        );
        headers.append(ACCEPT_ENCODING, HeaderValue::from_static("br"));
        let accept = AcceptEncoding::parse(&headers);
        assert!(accept.allows(IDENTITY));
        assert!(!accept.allows(GZIP));
        assert!(accept.allows(BR));
    }

    #[test]
    fn codings_the_layer_never_tags_are_never_acceptable() {
        assert!(!parsed(&["*"]).allows(Some("x-custom")));
    }

    #[test]
    fn weights_parse_to_thousandths() {
        for (param, weight) in [
            (&b"q=0"[..], Some(0)),
            (b"q=0.5", Some(500)),
            (b"q=0.25", Some(250)),
            (b"q=0.125", Some(125)),
            (b"q=1", Some(1000)),
            (b"q=1.0", Some(1000)),
            (b"Q=0.9", Some(900)),
            (b"q=1.5", None),
            (b"q=.5", None),
            (b"q=0.5x", None),
            (b"q=-0", None),
            (b"q = 0", None),
        ] {
            assert_eq!(parse_weight(param), weight, "{param:?}");
        }
    }

    #[test]
    fn a_long_field_of_unknown_codings_leaves_the_listed_ones() {
        // 48 KB of members the layer does not know: read once, each costs nothing but its bytes.
        let line = "gz, ".repeat(12 * 1024) + "br;q=0";
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(&line).unwrap());
        let accept = AcceptEncoding::parse(&headers);
        assert!(!accept.allows(BR));
        assert!(accept.allows(IDENTITY));
    }
}
