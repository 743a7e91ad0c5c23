//! Entity tags that stay true under compression.
//!
//! A strong tag promises byte-identical content, but the gzip and identity bodies of one version
//! differ, so they need distinct strong tags (RFC 9110 §8.8.3.3). When a response leaves with a
//! `Content-Encoding` it was not tagged for, the layer gives its strong tag a suffix naming the
//! coding, inside the quotes: `"v7"` becomes `"v7-gzip"`. Codings outside [`KNOWN_CODINGS`]
//! weaken the tag instead (`W/"v7"`).
//!
//! On the way in, `If-None-Match` and `If-Match` members carrying such a suffix are compared by
//! their base tag, so a client holding either form revalidates (and writes) correctly. `If-Range`
//! is never mapped: a byte range of the gzip body is not a byte range of the identity body.
//!
//! The suffix is recognised by its text, so tags the application makes must not themselves end
//! in `-gzip`, `-br`, ... (content hashes and version numbers never do).

use http::HeaderMap;
use http::header::{CONTENT_ENCODING, ETAG};

use crate::ETag;

/// Content codings whose name becomes a tag suffix.
pub(crate) const KNOWN_CODINGS: [&str; 5] = ["gzip", "br", "deflate", "zstd", "compress"];

/// The base of an opaque tag that ends in `-<known coding>`.
pub(crate) fn strip_coding_suffix(opaque: &[u8]) -> Option<&[u8]> {
    KNOWN_CODINGS.iter().find_map(|coding| {
        let base = opaque.strip_suffix(coding.as_bytes())?;
        base.strip_suffix(b"-")
    })
}

/// Makes the response's strong `ETag` specific to its `Content-Encoding`, if it has both (a
/// content coding is a property of the representation data, RFC 9110 §8.8.3.3).
pub(crate) fn tag_for_encoding(headers: &mut HeaderMap) {
    let Some(coding) = headers.get(CONTENT_ENCODING) else {
        return;
    };
    let coding = coding.as_bytes().trim_ascii();
    if coding.eq_ignore_ascii_case(b"identity") || coding.is_empty() {
        return;
    }
    let Some(tag) = headers.get(ETAG).and_then(|v| ETag::try_from(v).ok()) else {
        return;
    };
    if tag.is_weak() {
        return; // a weak tag already allows different bytes
    }
    let known = KNOWN_CODINGS
        .iter()
        .find(|known| coding.eq_ignore_ascii_case(known.as_bytes()));
    let encoded = match known {
        Some(known) if tag.opaque().ends_with(format!("-{known}").as_bytes()) => return,
        Some(known) => {
            let mut opaque = Vec::with_capacity(tag.opaque().len() + known.len() + 1);
            opaque.extend_from_slice(tag.opaque());
            opaque.push(b'-');
            opaque.extend_from_slice(known.as_bytes());
            ETag::strong(opaque)
        }
        None => ETag::weak(tag.opaque()),
    };
    if let Ok(encoded) = encoded {
        headers.insert(ETAG, encoded.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn tagged(etag: &'static str, encoding: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, HeaderValue::from_static(etag));
        if let Some(encoding) = encoding {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        tag_for_encoding(&mut headers);
        headers
    }

    #[test]
    fn a_strong_tag_gets_the_coding_as_suffix() {
        assert_eq!(tagged("\"v7\"", Some("gzip"))[ETAG], "\"v7-gzip\"");
        assert_eq!(tagged("\"v7\"", Some("BR"))[ETAG], "\"v7-br\"");
    }

    #[test]
    fn identity_weak_and_already_suffixed_tags_are_left_alone() {
        assert_eq!(tagged("\"v7\"", None)[ETAG], "\"v7\"");
        assert_eq!(tagged("\"v7\"", Some("identity"))[ETAG], "\"v7\"");
        assert_eq!(tagged("W/\"v7\"", Some("gzip"))[ETAG], "W/\"v7\"");
        assert_eq!(tagged("\"v7-gzip\"", Some("gzip"))[ETAG], "\"v7-gzip\"");
    }

    #[test]
    fn unknown_or_stacked_codings_weaken_the_tag() {
        assert_eq!(tagged("\"v7\"", Some("x-custom"))[ETAG], "W/\"v7\"");
        assert_eq!(tagged("\"v7\"", Some("gzip, br"))[ETAG], "W/\"v7\"");
    }

    #[test]
    fn suffixes_strip_back_to_the_base_tag() {
        assert_eq!(strip_coding_suffix(b"v7-gzip"), Some(&b"v7"[..]));
        assert_eq!(strip_coding_suffix(b"v7-zstd"), Some(&b"v7"[..]));
        assert_eq!(strip_coding_suffix(b"v7gzip"), None);
        assert_eq!(strip_coding_suffix(b"v7"), None);
    }
}
