//! Entity tags that stay true under compression (opt-in:
//! [`ConditionalLayer::encoding_aware_etags`](crate::ConditionalLayer::encoding_aware_etags)).
//!
//! A strong tag promises byte-identical content, but the gzip and identity bodies of one version
//! differ, so they need distinct strong tags (RFC 9110 §8.8.3.3). With encoding-aware tags on,
//! the layer issues, for a representation whose source tag is `"B"`, one strong tag per coding
//! (the table is in the crate docs' "Compression" section).
//!
//! `B` looks coded when it ends in `-<known coding>`, or in `-identity` after a tag that looks
//! coded. The mapping is one-to-one: every strong tag the layer issues names exactly one base
//! tag and one coding, so a received member is decoded without guessing, and a tag it never
//! issues (`"v7-identity"` for `"v7"`) names nothing but itself. `"doc-pt-br"` can only be the
//! br form of `"doc-pt"`, because the identity form of a base `"doc-pt-br"` is
//! `"doc-pt-br-identity"`. Weak tags are never rewritten and are compared as they are.
//!
//! On the way in, a strong `If-Match` member passes when its base is the current tag (the
//! server issued it for the current representation, in some coding); a strong `If-None-Match`
//! member counts as the current tag only when its coding is one the request's
//! `Accept-Encoding` allows ([`crate::accept_encoding`], read once per request), since a 304
//! tells the cache its stored body is what the server would send (which revalidations wait
//! for the response's coding: `layer/revalidation.rs`). `If-Range` is never decoded: a byte
//! range of the gzip body is not a byte range of the identity body.
//!
//! Tags issued while encoding-aware tags were off are not in this scheme: a source tag ending in
//! `-gzip` that a client holds from then would be read as the gzip form of a shorter tag. Tags
//! made from version numbers or content hashes never end that way.

use http::header::{CONTENT_ENCODING, ETAG};
use http::{HeaderMap, HeaderValue};

use crate::accept_encoding::AcceptEncoding;
use crate::etag::ETag;

/// Content codings whose name becomes a tag suffix.
pub(crate) const KNOWN_CODINGS: [&str; 5] = ["gzip", "br", "deflate", "zstd", "compress"];

/// The suffix of an identity tag whose base would otherwise look coded.
const IDENTITY: &str = "identity";

/// A coding of a strong tag the layer issued: `None` is identity.
pub(crate) type Coding = Option<&'static str>;

/// Splits a strong opaque tag into its base and coding (see the module docs). A `-identity`
/// suffix counts only where it was issued, on a base that itself looks coded: `"v7-identity"`
/// is the identity tag of the base `"v7-identity"`, not another name for `"v7"`.
pub(crate) fn decode(opaque: &[u8]) -> (&[u8], Coding) {
    if let Some((base, coding)) = strip_known(opaque) {
        return (base, Some(coding));
    }
    if let Some(base) = strip_suffix(opaque, IDENTITY)
        && looks_coded(base)
    {
        return (base, None);
    }
    (opaque, None)
}

/// `opaque` without a `-<known coding>` suffix, and that coding.
fn strip_known(opaque: &[u8]) -> Option<(&[u8], &'static str)> {
    KNOWN_CODINGS
        .iter()
        .find_map(|coding| Some((strip_suffix(opaque, coding)?, *coding)))
}

fn strip_suffix<'a>(opaque: &'a [u8], coding: &str) -> Option<&'a [u8]> {
    opaque.strip_suffix(coding.as_bytes())?.strip_suffix(b"-")
}

/// Whether a base would be read as coded if issued as it is: its identity form needs a suffix.
///
/// By the definition (module docs), `base` looks coded when it ends in `-<known coding>`, or
/// in `-identity` after a part that looks coded: so when, with every trailing `-identity`
/// taken off, what is left ends in a known coding. A loop, not a recursion: a client's member
/// may carry a hundred thousand `-identity` suffixes (issue 18), and each costs one step of
/// constant work, never a stack frame. There is no cap on a member's length: the cost is
/// linear in it, and the server's head limit (hyper: about 400 KiB) already bounds it; a cap
/// here would only add a second, arbitrary reading of long but valid tags.
fn looks_coded(base: &[u8]) -> bool {
    let mut rest = base;
    while let Some(shorter) = strip_suffix(rest, IDENTITY) {
        rest = shorter;
    }
    strip_known(rest).is_some()
}

/// Whether strong `member` is the tag issued for the identity form of `base`, without
/// allocating (`If-Range` against encoding-aware tags: ranges are of identity bytes).
pub(crate) fn is_identity_form(member: &[u8], base: &[u8]) -> bool {
    if looks_coded(base) {
        strip_suffix(member, IDENTITY) == Some(base)
    } else {
        member == base
    }
}

/// The strong opaque tag issued for `base` in `coding`: the inverse of [`decode`].
pub(crate) fn encode(base: &[u8], coding: Coding) -> Vec<u8> {
    let suffix = match coding {
        Some(coding) => coding,
        None if looks_coded(base) => IDENTITY,
        None => return base.to_vec(),
    };
    let mut opaque = Vec::with_capacity(base.len() + suffix.len() + 1);
    opaque.extend_from_slice(base);
    opaque.push(b'-');
    opaque.extend_from_slice(suffix.as_bytes());
    opaque
}

/// The tag issued for the identity form of `tag` (unchanged for weak tags).
pub(crate) fn identity_form(tag: &ETag) -> ETag {
    if tag.is_weak() {
        return tag.clone();
    }
    let opaque = encode(tag.opaque(), None);
    if opaque == tag.opaque() {
        return tag.clone();
    }
    ETag::strong(opaque).unwrap_or_else(|_| tag.clone())
}

/// Which codings a received strong member may name and still count as the current tag.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Aliasing<'a> {
    /// Raw comparison: no member is decoded.
    Off,
    /// Any coding the layer issues (`If-Match`: the server issued the tag).
    AnyCoding,
    /// A coding (identity included) the request's `Accept-Encoding` allows (`If-None-Match`).
    AcceptedBy(&'a AcceptEncoding),
}

impl Aliasing<'_> {
    /// Whether a strong member with this opaque tag names `current` under this aliasing.
    pub(crate) fn names(self, member: &[u8], current: &[u8]) -> bool {
        match self {
            Aliasing::Off => member == current,
            Aliasing::AnyCoding => decode(member).0 == current,
            Aliasing::AcceptedBy(accept) => {
                let (base, coding) = decode(member);
                base == current && accept.allows(coding)
            }
        }
    }
}

/// Gives the response's strong `ETag` the form issued for its `Content-Encoding` (see the
/// module docs): a content coding is a property of the representation data, RFC 9110 §8.8.3.3.
pub(crate) fn tag_for_encoding(headers: &mut HeaderMap) {
    let Some(tag) = headers.get(ETAG).and_then(|v| ETag::try_from(v).ok()) else {
        return;
    };
    let issued = issued_for(&tag, headers);
    if issued != tag {
        headers.insert(ETAG, issued.into());
    }
}

/// The form of `tag` issued for a response with these `headers` (their `Content-Encoding`).
pub(crate) fn issued_for(tag: &ETag, headers: &HeaderMap) -> ETag {
    if tag.is_weak() {
        return tag.clone(); // a weak tag already allows different bytes
    }
    // Several `Content-Encoding` lines are stacked codings, like a comma-separated list: they
    // fall to the weak tag below, as an unknown coding does.
    let mut lines = headers.get_all(CONTENT_ENCODING).iter();
    let coding = match (lines.next(), lines.next()) {
        (Some(line), None) => Some(line.as_bytes().trim_ascii()),
        (Some(_), Some(_)) => Some(&b"stacked"[..]),
        (None, _) => None,
    }
    .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case(IDENTITY.as_bytes()));
    let issued = match coding {
        None => encode(tag.opaque(), None),
        Some(coding) => match KNOWN_CODINGS
            .iter()
            .find(|known| coding.eq_ignore_ascii_case(known.as_bytes()))
        {
            Some(known) => encode(tag.opaque(), Some(known)),
            None => return ETag::weak(tag.opaque()).unwrap_or_else(|_| tag.clone()),
        },
    };
    if issued == tag.opaque() {
        return tag.clone();
    }
    ETag::strong(issued).unwrap_or_else(|_| tag.clone())
}

/// Adds `Accept-Encoding` to `Vary` unless it is there already (or `Vary: *`).
pub(crate) fn vary_on_accept_encoding(headers: &mut HeaderMap) {
    merge_vary(headers, &HeaderValue::from_static("Accept-Encoding"));
}

/// Appends the members of `extra` that `headers`' `Vary` does not list yet (compared without
/// regard to case); `Vary: *` already covers everything.
pub(crate) fn merge_vary(headers: &mut HeaderMap, extra: &HeaderValue) {
    let listed = |name: &[u8]| {
        headers.get_all(http::header::VARY).iter().any(|line| {
            line.as_bytes()
                .split(|&b| b == b',')
                .map(<[u8]>::trim_ascii)
                .any(|member| member == b"*" || member.eq_ignore_ascii_case(name))
        })
    };
    let missing = extra
        .as_bytes()
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .any(|name| !name.is_empty() && !listed(name));
    if !missing {
        return;
    }
    if !headers.contains_key(http::header::VARY) {
        headers.insert(http::header::VARY, extra.clone());
        return;
    }
    let mut members: Vec<u8> = Vec::new();
    for name in extra
        .as_bytes()
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
    {
        if !name.is_empty() && !listed(name) {
            if !members.is_empty() {
                members.extend_from_slice(b", ");
            }
            members.extend_from_slice(name);
        }
    }
    if let Ok(value) = HeaderValue::from_bytes(&members) {
        headers.append(http::header::VARY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(etag: &'static str, encoding: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, HeaderValue::from_static(etag));
        if let Some(encoding) = encoding {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        tag_for_encoding(&mut headers);
        headers
    }

    fn accept(value: &'static str) -> AcceptEncoding {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCEPT_ENCODING,
            HeaderValue::from_static(value),
        );
        AcceptEncoding::parse(&headers)
    }

    #[test]
    fn a_strong_tag_gets_the_coding_as_suffix() {
        assert_eq!(tagged("\"v7\"", Some("gzip"))[ETAG], "\"v7-gzip\"");
        assert_eq!(tagged("\"v7\"", Some("BR"))[ETAG], "\"v7-br\"");
    }

    #[test]
    fn identity_and_weak_tags_are_left_alone() {
        assert_eq!(tagged("\"v7\"", None)[ETAG], "\"v7\"");
        assert_eq!(tagged("\"v7\"", Some("identity"))[ETAG], "\"v7\"");
        assert_eq!(tagged("W/\"v7\"", Some("gzip"))[ETAG], "W/\"v7\"");
    }

    #[test]
    fn a_base_that_looks_coded_gets_tags_of_its_own() {
        assert_eq!(
            tagged("\"doc-pt-br\"", None)[ETAG],
            "\"doc-pt-br-identity\""
        );
        assert_eq!(
            tagged("\"doc-pt-br\"", Some("br"))[ETAG],
            "\"doc-pt-br-br\""
        );
        assert_eq!(
            tagged("\"v7-gzip\"", Some("gzip"))[ETAG],
            "\"v7-gzip-gzip\""
        );
        assert_eq!(
            tagged("\"doc-br-identity\"", None)[ETAG],
            "\"doc-br-identity-identity\""
        );
        // "x-identity" does not look coded ("x" is no coded tag): it is its own identity form.
        assert_eq!(tagged("\"x-identity\"", None)[ETAG], "\"x-identity\"");
    }

    #[test]
    fn unknown_or_stacked_codings_weaken_the_tag() {
        assert_eq!(tagged("\"v7\"", Some("x-custom"))[ETAG], "W/\"v7\"");
        assert_eq!(tagged("\"v7\"", Some("gzip, br"))[ETAG], "W/\"v7\"");
        let mut two_lines = HeaderMap::new();
        two_lines.insert(ETAG, HeaderValue::from_static("\"v7\""));
        two_lines.append(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        two_lines.append(CONTENT_ENCODING, HeaderValue::from_static("br"));
        tag_for_encoding(&mut two_lines);
        assert_eq!(two_lines[ETAG], "W/\"v7\"");
    }

    #[test]
    fn a_tag_never_issued_is_never_an_alias() {
        // The identity form of "v7" is "v7": "v7-identity" is not another name for it.
        assert!(!Aliasing::AnyCoding.names(b"v7-identity", b"v7"));
        assert_eq!(decode(b"v7-identity"), (&b"v7-identity"[..], None));
        assert!(is_identity_form(b"doc-br-identity", b"doc-br"));
        assert!(!is_identity_form(b"doc-br", b"doc-br"));
        assert!(is_identity_form(b"v7", b"v7"));
        assert!(!is_identity_form(b"v7-identity", b"v7"));
    }

    /// The definition of the module docs, read recursively (fine here: short test inputs).
    fn looks_coded_by_definition(base: &[u8]) -> bool {
        strip_known(base).is_some()
            || strip_suffix(base, IDENTITY).is_some_and(looks_coded_by_definition)
    }

    #[test]
    fn looks_coded_agrees_with_its_recursive_definition() {
        let parts: [&[u8]; 6] = [b"v7", b"-gzip", b"-identity", b"-br", b"identity", b"-"];
        // Every sequence of up to four parts.
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = inputs
                .iter()
                .flat_map(|input| parts.iter().map(move |part| [&input[..], part].concat()))
                .collect();
            inputs.extend(longer);
        }
        for input in &inputs {
            assert_eq!(
                looks_coded(input),
                looks_coded_by_definition(input),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn a_long_suffix_chain_is_decoded_without_recursion() {
        // 100,000 `-identity` suffixes (900 KB) on a thread with a 64 KiB stack: one frame per
        // suffix (issue 18: the old mutual recursion of `decode` and `looks_coded`) overflows it.
        let chain = |base: &[u8]| [base, &b"-identity".repeat(100_000)[..]].concat();
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let coded = chain(b"v7-gzip");
                let (base, coding) = decode(&coded);
                assert_eq!((base.len(), coding), (coded.len() - 9, None));
                assert!(looks_coded(&coded));
                let plain = chain(b"v7");
                assert_eq!(decode(&plain), (&plain[..], None));
                assert!(!looks_coded(&plain));
                assert_eq!(encode(&plain, None), plain);
                assert!(is_identity_form(&plain, &plain));
            })
            .expect("spawn a thread")
            .join()
            .expect("no stack overflow");
    }

    #[test]
    fn decode_inverts_encode_for_every_coding() {
        let bases: [&[u8]; 6] = [b"v7", b"doc-pt", b"doc-pt-br", b"x-identity", b"", b"-gzip"];
        for base in bases {
            for coding in KNOWN_CODINGS.iter().copied().map(Some).chain([None]) {
                let issued = encode(base, coding);
                assert_eq!(decode(&issued), (base, coding), "{base:?} {coding:?}");
            }
        }
    }

    #[test]
    fn issued_tags_of_different_bases_never_collide() {
        let bases: [&[u8]; 5] = [
            b"doc",
            b"doc-pt",
            b"doc-pt-br",
            b"doc-pt-br-identity",
            b"doc-br",
        ];
        let mut seen = std::collections::HashSet::new();
        for base in bases {
            for coding in KNOWN_CODINGS.iter().copied().map(Some).chain([None]) {
                assert!(seen.insert(encode(base, coding)), "{base:?} {coding:?}");
            }
        }
    }

    #[test]
    fn if_match_aliasing_accepts_only_tags_issued_for_the_current_base() {
        let any = Aliasing::AnyCoding;
        assert!(any.names(b"doc-pt-br", b"doc-pt")); // the br form of "doc-pt"
        assert!(any.names(b"doc-pt", b"doc-pt"));
        assert!(!any.names(b"doc-pt", b"doc-pt-br")); // "doc-pt" is its own base
        assert!(!any.names(b"doc-pt-br", b"doc-pt-br")); // identity of that base is -identity
        assert!(any.names(b"doc-pt-br-identity", b"doc-pt-br"));
        assert!(any.names(b"doc-pt-br-br", b"doc-pt-br"));
        assert!(!Aliasing::Off.names(b"doc-pt-br", b"doc-pt"));
        assert!(Aliasing::Off.names(b"doc-pt-br", b"doc-pt-br"));
    }

    #[test]
    fn if_none_match_aliasing_needs_the_coding_to_be_acceptable() {
        let br = accept("gzip, br");
        let gzip_only = accept("gzip");
        assert!(Aliasing::AcceptedBy(&br).names(b"doc-pt-br", b"doc-pt"));
        assert!(!Aliasing::AcceptedBy(&gzip_only).names(b"doc-pt-br", b"doc-pt"));
        assert!(Aliasing::AcceptedBy(&gzip_only).names(b"doc-pt", b"doc-pt"));
        let none = AcceptEncoding::parse(&HeaderMap::new());
        assert!(!Aliasing::AcceptedBy(&none).names(b"v1-gzip", b"v1"));
        // Identity too must be acceptable: `identity;q=0` refuses the identity tag.
        let no_identity = accept("identity;q=0, gzip");
        assert!(!Aliasing::AcceptedBy(&no_identity).names(b"v1", b"v1"));
        assert!(Aliasing::AcceptedBy(&no_identity).names(b"v1-gzip", b"v1"));
    }

    #[test]
    fn accept_encoding_weighs_every_coding_that_names_a_tag() {
        let star = accept("*");
        let refused = accept("gzip;q=0, br;q=0, deflate;q=0, zstd;q=0, compress;q=0, *");
        for coding in KNOWN_CODINGS {
            assert!(star.allows(Some(coding)), "{coding}");
            assert!(!refused.allows(Some(coding)), "{coding}");
        }
    }

    #[test]
    fn vary_members_merge_without_duplicates() {
        let mut headers = HeaderMap::new();
        vary_on_accept_encoding(&mut headers);
        assert_eq!(headers[http::header::VARY], "Accept-Encoding");
        vary_on_accept_encoding(&mut headers);
        assert_eq!(headers.get_all(http::header::VARY).iter().count(), 1);

        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::VARY,
            HeaderValue::from_static("accept-encoding"),
        );
        merge_vary(
            &mut headers,
            &HeaderValue::from_static("Origin, Accept-Encoding"),
        );
        let all: Vec<_> = headers.get_all(http::header::VARY).iter().collect();
        assert_eq!(all, ["accept-encoding", "Origin"]);

        let mut headers = HeaderMap::new();
        headers.insert(http::header::VARY, HeaderValue::from_static("*"));
        merge_vary(&mut headers, &HeaderValue::from_static("Origin"));
        assert_eq!(headers.get_all(http::header::VARY).iter().count(), 1);
    }
}
