//! Walking `If-Match` / `If-None-Match` field values (`"*" / #entity-tag`, RFC 9110 §13.1.1-2)
//! borrowed, without allocating.
//!
//! A field may arrive over several header lines; together they form one list (RFC 9110 §5.3).
//! Empty members (`"a", , "b"`) are skipped (§5.6.1). Commas are legal *inside* an opaque tag,
//! so members are found by following quotes, never by splitting on commas.

use http::HeaderValue;
use http::header::GetAll;

use crate::encoding::Aliasing;
use crate::etag::ETag;

/// One member of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member<'a> {
    /// `*`.
    Star,
    /// An entity tag, borrowed from the header bytes.
    Tag { weak: bool, opaque: &'a [u8] },
}

/// What a whole list field says about the current representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListMatch {
    /// The value is neither `*` nor a valid entity-tag list.
    Malformed,
    /// The value is `*`.
    Any,
    /// A valid list (possibly empty); whether any member matched the current tag.
    Tags { matched: bool },
}

/// How list members are compared with the current tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Strong,
    Weak,
}

/// Walks every line of the field once, validating all of it and comparing each tag with
/// `current`. The whole field is always read: a malformed member anywhere makes the field
/// malformed, even after a match.
///
/// Strong members are compared through `aliasing` (see [`crate::encoding`]): with it on, a
/// member `"X-gzip"` names `"X"`, the tag the layer issued for the gzip form of `"X"`. Weak
/// members are always compared as they are.
pub(crate) fn match_list(
    lines: &GetAll<'_, HeaderValue>,
    current: Option<&ETag>,
    comparison: Comparison,
    aliasing: Aliasing<'_>,
) -> ListMatch {
    let mut star = false;
    let mut matched = false;
    let current = current.map(|tag| (tag.is_weak(), tag.opaque()));
    for line in lines.iter() {
        for member in Members::new(line.as_bytes()) {
            match member {
                Err(()) => return ListMatch::Malformed,
                Ok(Member::Star) => star = true,
                Ok(Member::Tag { weak, opaque }) => {
                    // Every member is still validated after a match; only comparing stops.
                    matched = matched
                        || current.is_some_and(|(current_weak, current_opaque)| {
                            // RFC 9110 §8.8.3.2: strong needs two strong tags; weak ignores weakness.
                            let named = if weak {
                                opaque == current_opaque
                            } else {
                                aliasing.names(opaque, current_opaque)
                            };
                            named
                                && match comparison {
                                    Comparison::Strong => !current_weak && !weak,
                                    Comparison::Weak => true,
                                }
                        });
                }
            }
        }
    }
    if !star {
        return ListMatch::Tags { matched };
    }
    // `"*" / #entity-tag`: `*` is the whole field value or nothing. It is no list member, so
    // the list rule's empty members do not extend to it: `*, "a"`, `*, *`, `*,` and `*` with a
    // second (even empty) line are all malformed (a field over several lines is their values
    // joined by commas, RFC 9110 §5.3).
    if is_lone_star(lines) {
        ListMatch::Any
    } else {
        ListMatch::Malformed
    }
}

/// Whether the field is one line whose value, optional whitespace aside, is `*`.
fn is_lone_star(lines: &GetAll<'_, HeaderValue>) -> bool {
    let mut lines = lines.iter();
    match (lines.next(), lines.next()) {
        // A header value holds no CR, LF or other control but HTAB, so this trims just OWS.
        (Some(line), None) => line.as_bytes().trim_ascii() == b"*",
        _ => false,
    }
}

/// The first strong member that names `current` under `aliasing`: the form of the tag the
/// client holds, for a 304 to echo. Weak members are skipped: the layer never issues a weak
/// form of a strong tag, so a weak member names no coding.
pub(crate) fn matching_member(
    lines: &GetAll<'_, HeaderValue>,
    current: &ETag,
    aliasing: Aliasing<'_>,
) -> Option<ETag> {
    for line in lines.iter() {
        for member in Members::new(line.as_bytes()) {
            let Ok(Member::Tag {
                weak: false,
                opaque,
            }) = member
            else {
                continue;
            };
            if aliasing.names(opaque, current.opaque()) {
                return ETag::strong(opaque).ok();
            }
        }
    }
    None
}

/// Whether some weak member names `current` in a form the layer issues for it (decoded with
/// [`Aliasing::AnyCoding`]): `W/"X-gzip"` for `"X"`. Which of those forms matches depends on
/// the coding of the response.
pub(crate) fn weak_member_names(lines: &GetAll<'_, HeaderValue>, current: &ETag) -> bool {
    lines.iter().any(|line| {
        Members::new(line.as_bytes()).any(|member| {
            matches!(member, Ok(Member::Tag { weak: true, opaque })
                if Aliasing::AnyCoding.names(opaque, current.opaque()))
        })
    })
}

/// Whether every byte is `etagc` (RFC 9110 §8.8.3) given that none is `"`: that leaves only
/// controls, space and DEL to refuse. No early exit, so the loop vectorises.
fn all_etagc(bytes: &[u8]) -> bool {
    debug_assert!(!bytes.contains(&b'"'));
    bytes
        .iter()
        .fold(true, |ok, &b| ok & (b > 0x20) & (b != 0x7f))
}

/// Whether every byte is `etagc` and none is `"`: `bytes` is the whole opaque part of a tag.
/// No early exit, so the loop vectorises.
fn all_etagc_unquoted(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(true, |ok, &b| ok & (b > 0x20) & (b != 0x7f) & (b != b'"'))
}

/// The one-tag fast path is tried for a line's first member when at most this many bytes
/// follow its opening quote: a failed attempt costs one short pass per line, and a long list
/// none.
const ONE_TAG_FAST_PATH: usize = 96;

/// `bytes` without trailing optional whitespace (SP / HTAB).
fn trim_trailing_ows(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Iterator over the members of one header line. Yields `Err(())` once for a syntax error and
/// then stops.
#[derive(Debug)]
pub(crate) struct Members<'a> {
    bytes: &'a [u8],
    pos: usize,
    failed: bool,
    /// No member has been read yet.
    first: bool,
}

impl<'a> Members<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Members {
            bytes,
            pos: 0,
            failed: false,
            first: true,
        }
    }

    fn skip_separators(&mut self) {
        while let Some(b' ' | b'\t' | b',') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn member(&mut self) -> Result<Member<'a>, ()> {
        let rest = &self.bytes[self.pos..];
        let (weak, quote) = match rest {
            [b'*', ..] => {
                self.pos += 1;
                return Ok(Member::Star);
            }
            [b'W', b'/', b'"', ..] => (true, 2),
            [b'"', ..] => (false, 0),
            _ => return Err(()),
        };
        let start = self.pos + quote + 1;
        // A line that is one tag (most are) ends with its closing quote, optional whitespace
        // aside. One vectorised pass over the span then both finds that there is no other
        // quote and checks the bytes.
        let rest = &self.bytes[start..];
        if std::mem::take(&mut self.first)
            && rest.len() <= ONE_TAG_FAST_PATH
            && let [opaque @ .., b'"'] = trim_trailing_ows(rest)
            && all_etagc_unquoted(opaque)
        {
            self.pos = self.bytes.len();
            return Ok(Member::Tag { weak, opaque });
        }
        // The tag ends at the next quote (there is no escaping, §8.8.3); everything before it
        // must be etagc. Finding the quote with memchr and checking the span without early exit
        // lets both run many bytes at a time.
        let len = memchr::memchr(b'"', &self.bytes[start..]).ok_or(())?;
        let opaque = &self.bytes[start..start + len];
        if !all_etagc(opaque) {
            return Err(());
        }
        self.pos = start + len + 1;
        Ok(Member::Tag { weak, opaque })
    }

    /// After a member: optional whitespace, then a comma or the end of the line.
    fn end_of_member(&mut self) -> Result<(), ()> {
        while let Some(b' ' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            None | Some(b',') => Ok(()),
            Some(_) => Err(()),
        }
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = Result<Member<'a>, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.skip_separators();
        if self.pos == self.bytes.len() {
            return None;
        }
        crate::cost::visit();
        let member = self.member().and_then(|m| self.end_of_member().map(|()| m));
        self.failed = member.is_err();
        Some(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use http::header::IF_MATCH;

    fn members(line: &[u8]) -> Vec<Result<Member<'_>, ()>> {
        Members::new(line).collect()
    }

    fn tag(weak: bool, opaque: &[u8]) -> Result<Member<'_>, ()> {
        Ok(Member::Tag { weak, opaque })
    }

    #[test]
    fn the_fast_span_check_agrees_with_the_etagc_grammar() {
        for b in (0u8..=255).filter(|&b| b != b'"') {
            assert_eq!(all_etagc(&[b]), crate::etag::is_etagc(b), "byte {b:#04x}");
            assert_eq!(
                all_etagc(&[b'a', b, b'z']),
                crate::etag::is_etagc(b),
                "byte {b:#04x}"
            );
        }
    }

    #[test]
    fn the_one_tag_fast_path_agrees_with_the_member_walk() {
        // Every byte at every position of a one-tag line, with and without `W/` and trailing
        // whitespace, and followed by another member (no fast path).
        for b in 0u8..=255 {
            for at in 0..6 {
                let mut opaque = b"abcdef".to_vec();
                opaque[at] = b;
                let valid = crate::etag::is_etagc(b);
                for (prefix, weak) in [(&b"\""[..], false), (b" W/\"", true)] {
                    let mut line = prefix.to_vec();
                    line.extend_from_slice(&opaque);
                    line.extend_from_slice(b"\" \t");
                    // A quote inside ends the tag early, and junk follows it.
                    let want = if valid {
                        vec![tag(weak, &opaque)]
                    } else {
                        vec![Err(())]
                    };
                    assert_eq!(members(&line), want, "{line:?}");
                    line.extend_from_slice(b", \"z\"");
                    let want: Vec<_> = if valid {
                        vec![tag(weak, &opaque), tag(false, b"z")]
                    } else {
                        vec![Err(())]
                    };
                    assert_eq!(members(&line), want, "{line:?}");
                }
            }
        }
        // Longer than the fast path's limit: the walk gives the same member.
        let long = format!("\"{}\"", "x".repeat(ONE_TAG_FAST_PATH * 2));
        assert_eq!(
            members(long.as_bytes()),
            vec![tag(false, &long.as_bytes()[1..long.len() - 1])]
        );
    }

    #[test]
    fn members_are_found_by_quotes_not_by_commas() {
        assert_eq!(
            members(b"\"a,b\", W/\"c\""),
            vec![tag(false, b"a,b"), tag(true, b"c")]
        );
    }

    #[test]
    fn empty_members_and_whitespace_are_skipped() {
        assert_eq!(
            members(b" , \"a\" ,, \t,\"b\"\t, "),
            vec![tag(false, b"a"), tag(false, b"b")]
        );
        assert_eq!(members(b""), vec![]);
        assert_eq!(members(b" ,, , "), vec![]);
    }

    #[test]
    fn star_is_a_member() {
        assert_eq!(members(b"*"), vec![Ok(Member::Star)]);
        assert_eq!(members(b" * "), vec![Ok(Member::Star)]);
    }

    #[test]
    fn syntax_errors_stop_the_walk() {
        for bad in [
            &b"\"a\" \"b\""[..],
            b"\"a",
            b"w/\"a\"",
            b"W/",
            b"W/a",
            b"a",
            b"\"a\"b",
            b"\"a b\"",
            b"**",
            b"\"a\x01\"",
            b"\"a\"\x00",
        ] {
            let found = members(bad);
            assert_eq!(
                found.last(),
                Some(&Err(())),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
            assert_eq!(found.iter().filter(|m| m.is_err()).count(), 1);
        }
    }

    fn field(lines: &[&'static [u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(IF_MATCH, HeaderValue::from_bytes(line).unwrap());
        }
        headers
    }

    #[track_caller]
    fn check(lines: &[&'static [u8]], current: &str, comparison: Comparison, expected: ListMatch) {
        let headers = field(lines);
        let current = ETag::parse(current.as_bytes()).unwrap();
        let got = match_list(
            &headers.get_all(IF_MATCH),
            Some(&current),
            comparison,
            Aliasing::Off,
        );
        assert_eq!(got, expected, "{lines:?} against {current}");
    }

    #[test]
    fn a_list_spread_over_several_lines_is_one_list() {
        let lines: &[&[u8]] = &[b"\"a\"", b"\"b\", \"c\""];
        check(
            lines,
            "\"c\"",
            Comparison::Strong,
            ListMatch::Tags { matched: true },
        );
        check(
            lines,
            "\"d\"",
            Comparison::Strong,
            ListMatch::Tags { matched: false },
        );
    }

    #[test]
    fn star_with_tags_is_malformed_even_across_lines() {
        check(
            &[b"*, \"a\""],
            "\"a\"",
            Comparison::Strong,
            ListMatch::Malformed,
        );
        check(
            &[b"*", b"\"a\""],
            "\"a\"",
            Comparison::Strong,
            ListMatch::Malformed,
        );
        check(
            &[b"*", b"*"],
            "\"a\"",
            Comparison::Strong,
            ListMatch::Malformed,
        );
        check(&[b"*"], "\"a\"", Comparison::Strong, ListMatch::Any);
    }

    #[test]
    fn star_with_empty_members_or_lines_is_malformed() {
        // `"*" / #entity-tag` (RFC 9110 §13.1.1): `*` is not a list member, so empty members
        // around it make no valid value (issue 18: `*,` was read as `*`).
        for lines in [
            &[&b"*,"[..]][..],
            &[b",*"],
            &[b" , * ,, "],
            &[b"*", b""],
            &[b"", b"*"],
            &[b"*\t,"],
        ] {
            for comparison in [Comparison::Strong, Comparison::Weak] {
                check(lines, "\"a\"", comparison, ListMatch::Malformed);
            }
        }
        check(&[b" \t* \t"], "\"a\"", Comparison::Weak, ListMatch::Any);
    }

    #[test]
    fn a_malformed_member_after_a_match_still_makes_the_field_malformed() {
        check(
            &[b"\"a\", garbage"],
            "\"a\"",
            Comparison::Strong,
            ListMatch::Malformed,
        );
        check(
            &[b"\"a\"", b"\"b"],
            "\"a\"",
            Comparison::Weak,
            ListMatch::Malformed,
        );
    }

    #[test]
    fn weak_members_match_only_by_weak_comparison() {
        check(
            &[b"W/\"a\""],
            "\"a\"",
            Comparison::Strong,
            ListMatch::Tags { matched: false },
        );
        check(
            &[b"W/\"a\""],
            "\"a\"",
            Comparison::Weak,
            ListMatch::Tags { matched: true },
        );
        check(
            &[b"\"a\""],
            "W/\"a\"",
            Comparison::Strong,
            ListMatch::Tags { matched: false },
        );
        check(
            &[b"\"a\""],
            "W/\"a\"",
            Comparison::Weak,
            ListMatch::Tags { matched: true },
        );
    }

    #[test]
    fn an_empty_or_comma_only_field_is_a_valid_empty_list() {
        check(
            &[b""],
            "\"a\"",
            Comparison::Strong,
            ListMatch::Tags { matched: false },
        );
        check(
            &[b" , ,"],
            "\"a\"",
            Comparison::Weak,
            ListMatch::Tags { matched: false },
        );
    }

    #[test]
    fn nothing_matches_when_there_is_no_current_tag() {
        let headers = field(&[b"\"a\""]);
        let got = match_list(
            &headers.get_all(IF_MATCH),
            None,
            Comparison::Weak,
            Aliasing::Off,
        );
        assert_eq!(got, ListMatch::Tags { matched: false });
    }
}
