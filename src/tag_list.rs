//! Walking `If-Match` / `If-None-Match` field values (`"*" / #entity-tag`, RFC 9110 §13.1.1-2)
//! borrowed, without allocating.
//!
//! A field may arrive over several header lines; together they form one list (RFC 9110 §5.3).
//! Empty members (`"a", , "b"`) are skipped (§5.6.1). Commas are legal *inside* an opaque tag,
//! so members are found by following quotes, never by splitting on commas.

use http::HeaderValue;
use http::header::GetAll;

use crate::ETag;
use crate::encoding::strip_coding_suffix;
use crate::etag::weak_match;

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
/// With `coding_aliases`, a member `"X-gzip"` (any [known coding](crate::encoding)) also counts
/// as `"X"`: the tag the layer gave the compressed form of representation `"X"`.
pub(crate) fn match_list(
    lines: &GetAll<'_, HeaderValue>,
    current: Option<&ETag>,
    comparison: Comparison,
    coding_aliases: bool,
) -> ListMatch {
    let mut stars = 0usize;
    let mut tags = 0usize;
    let mut matched = false;
    let current = current.map(|tag| (tag.is_weak(), tag.opaque()));
    for line in lines.iter() {
        for member in Members::new(line.as_bytes()) {
            match member {
                Err(()) => return ListMatch::Malformed,
                Ok(Member::Star) => stars += 1,
                Ok(Member::Tag { weak, opaque }) => {
                    tags += 1;
                    // Every member is still validated after a match; only comparing stops.
                    matched = matched
                        || current.is_some_and(|(current_weak, current_opaque)| {
                            // RFC 9110 §8.8.3.2: strong needs two strong tags; weak ignores weakness.
                            let equal = |opaque: &[u8]| match comparison {
                                Comparison::Strong => {
                                    !current_weak && !weak && opaque == current_opaque
                                }
                                Comparison::Weak => opaque == current_opaque,
                            };
                            equal(opaque)
                                || (coding_aliases
                                    && strip_coding_suffix(opaque).is_some_and(equal))
                        });
                }
            }
        }
    }
    match (stars, tags) {
        (0, _) => ListMatch::Tags { matched },
        (1, 0) => ListMatch::Any,
        // `*` is the whole field value or nothing: `*, "a"` and `*, *` are malformed.
        _ => ListMatch::Malformed,
    }
}

/// The first member that names the current tag only through a coding suffix (`"X-gzip"` for
/// `"X"`), when no member names it exactly: the form the client holds, to echo in a 304.
pub(crate) fn coding_alias<'a>(lines: &GetAll<'a, HeaderValue>, current: &ETag) -> Option<ETag> {
    let mut alias = None;
    for line in lines.iter() {
        for member in Members::new(line.as_bytes()) {
            let Ok(Member::Tag { weak, opaque }) = member else {
                continue;
            };
            if weak_match(current, opaque) {
                return None;
            }
            if alias.is_none()
                && strip_coding_suffix(opaque).is_some_and(|b| weak_match(current, b))
            {
                alias = Some(if weak {
                    ETag::weak(opaque)
                } else {
                    ETag::strong(opaque)
                });
            }
        }
    }
    alias.and_then(Result::ok)
}

/// The length of the opaque part of a tag whose opening quote was just before `bytes`: the
/// bytes up to the closing quote, when they are all `etagc` (RFC 9110 §8.8.3; there is no
/// escaping, so the tag ends at the first quote). `None` without a closing quote or with a
/// byte that is not `etagc` before it.
///
/// Eight bytes at a time in a `u64` (SWAR): a tag is typically 10 to 64 bytes, too short for a
/// SIMD search to repay its set-up, and one pass both finds the quote and checks the span.
fn closing_quote(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    /// The bytes of `x` below `n` (n <= 0x80), flagged in their high bit. A byte can be
    /// flagged wrongly only above a rightly flagged one (the borrow), so the lowest flag is
    /// exact.
    fn below(x: u64, n: u8) -> u64 {
        x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
    }
    fn equal(x: u64, b: u8) -> u64 {
        below(x ^ (ONES * u64::from(b)), 1)
    }
    let mut at = 0;
    loop {
        let rest = bytes.get(at..)?;
        // Past the end, read quotes: a tag cut short then ends past the input, refused below.
        let mut word = [b'"'; 8];
        let take = rest.len().min(8);
        word[..take].copy_from_slice(&rest[..take]);
        let x = u64::from_le_bytes(word);
        let quotes = equal(x, b'"');
        if quotes != 0 {
            // Controls, space and DEL are the only non-etagc bytes besides the quote.
            let bad = below(x, 0x21) | equal(x, 0x7f);
            let quote = quotes.trailing_zeros();
            let len = at + quote as usize / 8;
            return (bad.trailing_zeros() > quote && len < bytes.len()).then_some(len);
        }
        if below(x, 0x21) | equal(x, 0x7f) != 0 {
            return None;
        }
        at += 8;
    }
}

/// Iterator over the members of one header line. Yields `Err(())` once for a syntax error and
/// then stops.
#[derive(Debug)]
pub(crate) struct Members<'a> {
    bytes: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Members<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Members {
            bytes,
            pos: 0,
            failed: false,
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
        let len = closing_quote(&self.bytes[start..]).ok_or(())?;
        let opaque = &self.bytes[start..start + len];
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
    fn the_closing_quote_search_agrees_with_the_etagc_grammar() {
        // Every byte, at every position of spans around the eight-byte word size.
        for len in 0..20 {
            for at in 0..len {
                for b in 0u8..=255 {
                    let mut span = vec![b'a'; len];
                    span[at] = b;
                    let mut tag = span.clone();
                    tag.push(b'"');
                    tag.extend_from_slice(b", \"b\"");
                    let want = match span.iter().position(|&c| c == b'"') {
                        Some(quote) => span[..quote]
                            .iter()
                            .all(|&c| crate::etag::is_etagc(c))
                            .then_some(quote),
                        None => crate::etag::is_etagc(b).then_some(len),
                    };
                    assert_eq!(closing_quote(&tag), want, "{tag:?}");
                    // Without a closing quote there is no tag.
                    if !span.contains(&b'"') {
                        assert_eq!(closing_quote(&span), None, "{span:?}");
                    }
                }
            }
        }
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
            false,
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
        let got = match_list(&headers.get_all(IF_MATCH), None, Comparison::Weak, false);
        assert_eq!(got, ListMatch::Tags { matched: false });
    }
}
