//! Entity tags (RFC 9110 §8.8.3): the validated [`ETag`] type and its two comparisons.
//!
//! ```
//! use tower_conditional::ETag;
//!
//! let current: ETag = "\"v2\"".parse()?;
//! let cached: ETag = "W/\"v2\"".parse()?;
//!
//! assert!(cached.weak_eq(&current)); // If-None-Match uses the weak comparison
//! assert!(!cached.strong_eq(&current)); // If-Match uses the strong one
//! # Ok::<(), tower_conditional::InvalidETag>(())
//! ```

use std::fmt;
use std::io;
use std::str::FromStr;

use http::HeaderValue;
use sha2::{Digest, Sha256};

/// How many bytes of the SHA-256 digest [`ETag::from_content`] keeps (32 hex digits, 128 bits).
const CONTENT_DIGEST_BYTES: usize = 16;

/// A validated entity tag: `[ "W/" ] DQUOTE *etagc DQUOTE` (RFC 9110 §8.8.3).
///
/// The tag keeps its wire bytes, so turning it into a header value is a cheap clone. The
/// `W/` prefix is case-sensitive and there is no escaping: the opaque part may hold any byte
/// in `%x21 / %x23-7E / %x80-FF`.
///
/// Equality (`==`) compares the wire form exactly. For the comparisons RFC 9110 §8.8.3.2 defines,
/// use [`ETag::strong_eq`] and [`ETag::weak_eq`].
///
/// # Examples
///
/// ```
/// use http::HeaderValue;
/// use tower_conditional::ETag;
///
/// let tag = ETag::strong("abc")?;
/// assert_eq!(tag.to_string(), "\"abc\"");
/// assert_eq!(tag.opaque(), b"abc");
/// assert!(!tag.is_weak());
///
/// let value: HeaderValue = tag.into();
/// assert_eq!(value, "\"abc\"");
/// # Ok::<(), tower_conditional::InvalidETag>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ETag {
    /// The whole wire form, quotes and `W/` included; validated on construction.
    value: HeaderValue,
    weak: bool,
}

impl ETag {
    /// Builds a strong tag around `opaque`, the text between the quotes.
    ///
    /// # Errors
    ///
    /// Fails when `opaque` holds a byte outside `%x21 / %x23-7E / %x80-FF` (a quote, a space, a
    /// control byte, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// assert_eq!(ETag::strong("v1")?.to_string(), "\"v1\"");
    /// assert!(ETag::strong("has space").is_err());
    /// # Ok::<(), tower_conditional::InvalidETag>(())
    /// ```
    pub fn strong(opaque: impl AsRef<[u8]>) -> Result<Self, InvalidETag> {
        Self::from_opaque(opaque.as_ref(), false)
    }

    /// Builds a weak tag (`W/"..."`) around `opaque`, the text between the quotes.
    ///
    /// # Errors
    ///
    /// Fails when `opaque` holds a byte outside `%x21 / %x23-7E / %x80-FF`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// let tag = ETag::weak("v1")?;
    /// assert!(tag.is_weak());
    /// assert_eq!(tag.to_string(), "W/\"v1\"");
    /// # Ok::<(), tower_conditional::InvalidETag>(())
    /// ```
    pub fn weak(opaque: impl AsRef<[u8]>) -> Result<Self, InvalidETag> {
        Self::from_opaque(opaque.as_ref(), true)
    }

    /// A strong tag derived from `content`: the first 128 bits of its SHA-256 digest, as 32
    /// lowercase hex digits.
    ///
    /// 128 bits is enough: two different contents share a tag by accident with probability
    /// about n² / 2¹²⁹ over n versions (negligible for any real resource), and producing a
    /// collision on purpose takes on the order of 2⁶⁴ SHA-256 evaluations. The tag reveals
    /// nothing about the server beyond the hash of bytes the client can already read.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// let tag = ETag::from_content(b"hello");
    /// assert_eq!(tag.to_string(), "\"2cf24dba5fb0a30e26e83b2ac5b9e29e\"");
    /// assert_eq!(tag, ETag::from_content(b"hello"));
    /// assert_ne!(tag, ETag::from_content(b"hello!"));
    /// ```
    pub fn from_content(content: &[u8]) -> Self {
        Self::from_content_chunks([content])
    }

    /// [`ETag::from_content`] for content held in several pieces, such as the frames of a
    /// response body: the tag of the pieces joined, computed without joining them. For pieces
    /// that arrive over time (a file read in blocks), use a [`ContentHasher`].
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// assert_eq!(ETag::from_content_chunks([&b"hel"[..], b"lo"]), ETag::from_content(b"hello"));
    /// ```
    pub fn from_content_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut hasher = ContentHasher::new();
        for chunk in chunks {
            hasher.update(chunk);
        }
        hasher.finish()
    }

    /// The strong tag for the content a SHA-256 hasher has seen.
    pub(crate) fn from_sha256(hasher: Sha256) -> Self {
        let digest = hasher.finalize();
        let mut wire = [0u8; CONTENT_DIGEST_BYTES * 2 + 2];
        wire[0] = b'"';
        wire[wire.len() - 1] = b'"';
        let hex_len = CONTENT_DIGEST_BYTES * 2;
        hex::encode_to_slice(&digest[..CONTENT_DIGEST_BYTES], &mut wire[1..=hex_len])
            .expect("the buffer holds exactly two hex digits per digest byte");
        let value =
            HeaderValue::from_bytes(&wire).expect("quotes and hex digits are valid header bytes");
        ETag { value, weak: false }
    }

    /// Parses a tag from a `'static` string, for constants and tests.
    ///
    /// # Panics
    ///
    /// Panics when `src` is not a valid entity tag, like [`HeaderValue::from_static`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// let tag = ETag::from_static("W/\"draft\"");
    /// assert!(tag.is_weak());
    /// ```
    #[track_caller]
    pub fn from_static(src: &'static str) -> Self {
        if let Err(error) = scan(src.as_bytes()) {
            panic!("ETag::from_static: {error}");
        }
        let weak = src.starts_with("W/");
        // `HeaderValue::from_static` takes visible ASCII only; obs-text bytes are valid in tags.
        let value = HeaderValue::from_maybe_shared(bytes::Bytes::from_static(src.as_bytes()))
            .expect("a scanned entity tag is a valid header value");
        ETag { value, weak }
    }

    /// Parses the wire form of one entity tag, e.g. `"xyzzy"` or `W/"xyzzy"`.
    ///
    /// # Errors
    ///
    /// Says which byte is wrong and why: a missing or unterminated quote, a lowercase `w/`, a
    /// forbidden byte inside the quotes, or bytes after the closing quote.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// assert!(ETag::parse(b"W/\"1\"")?.is_weak());
    /// let error = ETag::parse(b"w/\"1\"").unwrap_err();
    /// assert_eq!(error.position(), 0);
    /// # Ok::<(), tower_conditional::InvalidETag>(())
    /// ```
    pub fn parse(src: &[u8]) -> Result<Self, InvalidETag> {
        let weak = scan(src)?;
        let value =
            HeaderValue::from_bytes(src).expect("a scanned entity tag is a valid header value");
        Ok(ETag { value, weak })
    }

    /// Whether the tag carries the `W/` weakness indicator.
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// assert!(ETag::from_static("W/\"1\"").is_weak());
    /// assert!(!ETag::from_static("\"1\"").is_weak());
    /// ```
    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The opaque tag: the bytes between the quotes.
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// assert_eq!(ETag::from_static("W/\"a,b\"").opaque(), b"a,b");
    /// ```
    pub fn opaque(&self) -> &[u8] {
        let bytes = self.value.as_bytes();
        let start = if self.weak { 3 } else { 1 };
        &bytes[start..bytes.len() - 1]
    }

    /// The whole wire form, `W/` and quotes included.
    ///
    /// Unlike [`Display`](fmt::Display), it keeps bytes above 0x7F exactly:
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// let tag = ETag::weak(b"caf\xe9")?;
    /// assert_eq!(tag.as_bytes(), b"W/\"caf\xe9\"");
    /// assert_eq!(tag.to_string(), "W/\"caf\u{fffd}\"");
    /// # Ok::<(), tower_conditional::InvalidETag>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.value.as_bytes()
    }

    /// Strong comparison (RFC 9110 §8.8.3.2): neither tag is weak and the opaque tags are equal
    /// byte for byte. This is the comparison If-Match and If-Range use.
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// let strong = ETag::from_static("\"1\"");
    /// assert!(strong.strong_eq(&ETag::from_static("\"1\"")));
    /// assert!(!strong.strong_eq(&ETag::from_static("W/\"1\"")));
    /// assert!(!ETag::from_static("W/\"1\"").strong_eq(&ETag::from_static("W/\"1\"")));
    /// ```
    pub fn strong_eq(&self, other: &ETag) -> bool {
        strong_match(self, other.weak, other.opaque())
    }

    /// Weak comparison (RFC 9110 §8.8.3.2): the opaque tags are equal byte for byte, whatever
    /// their weakness. This is the comparison If-None-Match uses.
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// let strong = ETag::from_static("\"1\"");
    /// assert!(strong.weak_eq(&ETag::from_static("W/\"1\"")));
    /// assert!(!strong.weak_eq(&ETag::from_static("\"2\"")));
    /// ```
    pub fn weak_eq(&self, other: &ETag) -> bool {
        weak_match(self, other.opaque())
    }

    fn from_opaque(opaque: &[u8], weak: bool) -> Result<Self, InvalidETag> {
        if let Some(position) = opaque.iter().position(|&b| !is_etagc(b)) {
            return Err(InvalidETag::new(
                Kind::ForbiddenByte(opaque[position]),
                position,
            ));
        }
        let prefix: &[u8] = if weak { b"W/\"" } else { b"\"" };
        let mut wire = Vec::with_capacity(prefix.len() + opaque.len() + 1);
        wire.extend_from_slice(prefix);
        wire.extend_from_slice(opaque);
        wire.push(b'"');
        let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(wire))
            .expect("etagc bytes and quotes are valid header bytes");
        Ok(ETag { value, weak })
    }
}

/// [`ETag::from_content`] for content that arrives in pieces over time, such as a file read
/// in blocks: feed it with [`update`](ContentHasher::update) (or as an [`io::Write`]), then
/// [`finish`](ContentHasher::finish) gives the tag of all the bytes fed, in order. Its memory is
/// constant, so it tags content of any size.
///
/// ```
/// use std::io::Write;
/// use tower_conditional::{ContentHasher, ETag};
///
/// let mut hasher = ContentHasher::new();
/// hasher.update(b"hel");
/// hasher.write_all(b"lo")?; // `std::io::copy` from a file works the same way
/// assert_eq!(hasher.finish(), ETag::from_content(b"hello"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ContentHasher {
    sha256: Sha256,
    /// Bytes fed so far: for `Debug` (the digest state itself says nothing to a reader).
    len: u64,
}

impl ContentHasher {
    /// A hasher that has seen no bytes yet (its [`finish`](ContentHasher::finish) is the tag
    /// of empty content).
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// How many bytes have been fed so far.
    ///
    /// ```
    /// let mut hasher = tower_conditional::ContentHasher::new();
    /// hasher.update(b"abc");
    /// assert_eq!(hasher.len(), 3);
    /// ```
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes have been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The strong tag of every byte fed, the same as [`ETag::from_content`] of them joined.
    pub fn finish(self) -> ETag {
        ETag::from_sha256(self.sha256)
    }
}

/// Feeding through [`io::Write`]: `write` always takes every byte and `flush` does nothing, so
/// `std::io::copy(&mut file, &mut hasher)` hashes a whole file in blocks.
impl io::Write for ContentHasher {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentHasher")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Strong comparison of a stored tag against a borrowed one (weakness and opaque bytes).
pub(crate) fn strong_match(tag: &ETag, other_weak: bool, other_opaque: &[u8]) -> bool {
    !tag.weak && !other_weak && tag.opaque() == other_opaque
}

/// Weak comparison of a stored tag against a borrowed opaque tag.
pub(crate) fn weak_match(tag: &ETag, other_opaque: &[u8]) -> bool {
    tag.opaque() == other_opaque
}

/// `etagc = %x21 / %x23-7E / obs-text` (RFC 9110 §8.8.3).
pub(crate) fn is_etagc(b: u8) -> bool {
    ETAGC[usize::from(b)]
}

/// [`is_etagc`] as a table: one load per byte on the list-walking hot path.
static ETAGC: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b == 0x21 || (b >= 0x23 && b <= 0x7E) || b >= 0x80;
        b += 1;
    }
    table
};

/// Checks that `src` is exactly one entity tag; answers whether it is weak.
pub(crate) fn scan(src: &[u8]) -> Result<bool, InvalidETag> {
    let (weak, opaque_start) = match src {
        [b'W', b'/', b'"', ..] => (true, 3),
        [b'W', b'/', ..] => return Err(InvalidETag::new(Kind::ExpectedQuote, 2)),
        [b'w', b'/', ..] => return Err(InvalidETag::new(Kind::LowercaseWeak, 0)),
        [b'"', ..] => (false, 1),
        [] => return Err(InvalidETag::new(Kind::Empty, 0)),
        _ => return Err(InvalidETag::new(Kind::ExpectedQuote, 0)),
    };
    let rest = &src[opaque_start..];
    match rest.iter().position(|&b| !is_etagc(b)) {
        None => Err(InvalidETag::new(Kind::Unterminated, src.len())),
        Some(offset) if rest[offset] != b'"' => Err(InvalidETag::new(
            Kind::ForbiddenByte(rest[offset]),
            opaque_start + offset,
        )),
        Some(offset) if offset + 1 != rest.len() => Err(InvalidETag::new(
            Kind::TrailingBytes,
            opaque_start + offset + 1,
        )),
        Some(_) => Ok(weak),
    }
}

impl fmt::Debug for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

/// Prints the wire form (`"abc"`, `W/"abc"`). Bytes above 0x7F that are not UTF-8 are printed as
/// U+FFFD; use [`ETag::as_bytes`] for the exact bytes.
///
/// ```
/// use tower_conditional::ETag;
///
/// assert_eq!(format!("ETag: {}", ETag::weak("v1")?), "ETag: W/\"v1\"");
/// # Ok::<(), tower_conditional::InvalidETag>(())
/// ```
impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.value.as_bytes()))
    }
}

impl FromStr for ETag {
    type Err = InvalidETag;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ETag::parse(s.as_bytes())
    }
}

/// Reads a tag from a header value, such as a response's `ETag` (a cheap clone of the value).
///
/// ```
/// use http::HeaderValue;
/// use tower_conditional::ETag;
///
/// let tag = ETag::try_from(&HeaderValue::from_static("W/\"v1\""))?;
/// assert!(tag.is_weak());
/// assert!(ETag::try_from(&HeaderValue::from_static("v1")).is_err()); // quotes are required
/// # Ok::<(), tower_conditional::InvalidETag>(())
/// ```
impl TryFrom<&HeaderValue> for ETag {
    type Error = InvalidETag;

    fn try_from(value: &HeaderValue) -> Result<Self, Self::Error> {
        let weak = scan(value.as_bytes())?;
        Ok(ETag {
            value: value.clone(),
            weak,
        })
    }
}

impl TryFrom<HeaderValue> for ETag {
    type Error = InvalidETag;

    fn try_from(value: HeaderValue) -> Result<Self, Self::Error> {
        let weak = scan(value.as_bytes())?;
        Ok(ETag { value, weak })
    }
}

impl From<ETag> for HeaderValue {
    fn from(tag: ETag) -> Self {
        tag.value
    }
}

/// The tag as a header value (a cheap clone of the stored bytes).
///
/// ```
/// use http::{header, HeaderMap, HeaderValue};
/// use tower_conditional::ETag;
///
/// let tag = ETag::from_content(b"hello");
/// let mut headers = HeaderMap::new();
/// headers.insert(header::ETAG, HeaderValue::from(&tag));
/// assert_eq!(ETag::try_from(&headers[header::ETAG])?, tag);
/// # Ok::<(), tower_conditional::InvalidETag>(())
/// ```
impl From<&ETag> for HeaderValue {
    fn from(tag: &ETag) -> Self {
        tag.value.clone()
    }
}

/// Strong tags from version numbers: `7` becomes `"7"`. Digits (and `-`) are always valid
/// inside an entity tag, so these conversions cannot fail.
///
/// ```
/// use tower_conditional::ETag;
///
/// assert_eq!(ETag::from(7u64).to_string(), "\"7\"");
/// assert_eq!(ETag::from(-1i64).to_string(), "\"-1\"");
/// assert!(!ETag::from(42u32).is_weak());
/// ```
macro_rules! etag_from_integer {
    ($($int:ty),*) => {$(
        impl From<$int> for ETag {
            fn from(version: $int) -> Self {
                let value = HeaderValue::try_from(format!("\"{version}\""))
                    .expect("a quoted integer is a valid header value");
                ETag { value, weak: false }
            }
        }
    )*};
}

etag_from_integer!(u64, u32, i64, i32);

/// The error for bytes that are not a valid entity tag.
///
/// Its message names the byte position and what was wrong there.
///
/// ```
/// use tower_conditional::ETag;
///
/// let error = ETag::parse(b"\"a b\"").unwrap_err();
/// assert_eq!(error.position(), 2);
/// assert_eq!(
///     error.to_string(),
///     "invalid entity tag at position 2: byte 0x20 is not allowed inside an entity tag",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid entity tag at position {position}: {kind}")]
pub struct InvalidETag {
    kind: Kind,
    position: usize,
}

impl InvalidETag {
    pub(crate) fn new(kind: Kind, position: usize) -> Self {
        InvalidETag { kind, position }
    }

    /// The byte offset in the input where the problem was found.
    ///
    /// ```
    /// use tower_conditional::ETag;
    ///
    /// // A missing closing quote is found at the end of the input.
    /// let error = "\"abc".parse::<ETag>().unwrap_err();
    /// assert_eq!(error.position(), 4);
    /// assert_eq!(error.to_string(), "invalid entity tag at position 4: missing closing '\"'");
    /// ```
    pub fn position(&self) -> usize {
        self.position
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Kind {
    #[error("empty input")]
    Empty,
    #[error("expected '\"'")]
    ExpectedQuote,
    #[error("lowercase \"w/\" (the weakness prefix is \"W/\")")]
    LowercaseWeak,
    #[error("byte {0:#04x} is not allowed inside an entity tag")]
    ForbiddenByte(u8),
    #[error("missing closing '\"'")]
    Unterminated,
    #[error("unexpected bytes after the closing '\"'")]
    TrailingBytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn parses(src: &str, weak: bool, opaque: &[u8]) {
        let tag = ETag::parse(src.as_bytes()).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        assert_eq!(tag.is_weak(), weak, "{src:?}");
        assert_eq!(tag.opaque(), opaque, "{src:?}");
        assert_eq!(tag.as_bytes(), src.as_bytes(), "{src:?}");
    }

    #[track_caller]
    fn rejects(src: &[u8], position: usize, message: &str) {
        let error = ETag::parse(src).expect_err(&format!("{src:?} should be rejected"));
        assert_eq!(error.position(), position, "{src:?}: {error}");
        assert!(
            error.to_string().contains(message),
            "{src:?}: {error} should mention {message:?}"
        );
    }

    #[test]
    fn valid_tags_parse_with_their_weakness_and_opaque_part() {
        parses("\"xyzzy\"", false, b"xyzzy");
        parses("W/\"xyzzy\"", true, b"xyzzy");
        parses("\"\"", false, b"");
        parses("W/\"\"", true, b"");
        parses("\"a,b\"", false, b"a,b");
        parses("\"!#~\"", false, b"!#~");
    }

    #[test]
    fn obs_text_bytes_are_allowed_in_the_opaque_tag() {
        let tag = ETag::parse(b"\"\x80\xff\"").unwrap();
        assert_eq!(tag.opaque(), b"\x80\xff");
    }

    #[test]
    fn weakness_prefix_is_case_sensitive() {
        rejects(b"w/\"1\"", 0, "lowercase");
    }

    #[test]
    fn malformed_tags_name_the_byte_and_reason() {
        rejects(b"", 0, "empty");
        rejects(b"abc", 0, "expected '\"'");
        rejects(b"W/abc", 2, "expected '\"'");
        rejects(b"W/", 2, "expected '\"'");
        rejects(b"\"abc", 4, "missing closing");
        rejects(b"\"a b\"", 2, "0x20");
        rejects(b"\"a\tb\"", 2, "0x09");
        rejects(b"\"a\x7fb\"", 2, "0x7f");
        rejects(b"\"a\"b", 3, "after the closing");
        rejects(b"\"a\" ", 3, "after the closing");
        rejects(b" \"a\"", 0, "expected '\"'");
        rejects(b"*", 0, "expected '\"'");
    }

    #[test]
    fn strong_comparison_needs_two_strong_tags_with_equal_opaque_parts() {
        let cases = [
            ("W/\"1\"", "W/\"1\"", false, true),
            ("W/\"1\"", "W/\"2\"", false, false),
            ("W/\"1\"", "\"1\"", false, true),
            ("\"1\"", "\"1\"", true, true),
            ("\"1\"", "\"2\"", false, false),
        ];
        for (a, b, strong, weak) in cases {
            let (a, b) = (
                ETag::parse(a.as_bytes()).unwrap(),
                ETag::parse(b.as_bytes()).unwrap(),
            );
            assert_eq!(a.strong_eq(&b), strong, "strong {a} vs {b}");
            assert_eq!(b.strong_eq(&a), strong, "strong {b} vs {a}");
            assert_eq!(a.weak_eq(&b), weak, "weak {a} vs {b}");
            assert_eq!(b.weak_eq(&a), weak, "weak {b} vs {a}");
        }
    }

    #[test]
    fn constructors_validate_the_opaque_part() {
        assert_eq!(ETag::strong("v1").unwrap().as_bytes(), b"\"v1\"");
        assert_eq!(ETag::weak("v1").unwrap().as_bytes(), b"W/\"v1\"");
        let error = ETag::strong("a\"b").unwrap_err();
        assert_eq!(error.position(), 1);
        assert!(ETag::weak("\r\n").is_err());
    }

    #[test]
    fn from_content_keeps_128_bits_of_sha256_in_hex() {
        // SHA-256("") = e3b0c44298fc1c149afbf4c8996fb924 27ae41e4649b934ca495991b7852b855
        let tag = ETag::from_content(b"");
        assert_eq!(tag.opaque(), b"e3b0c44298fc1c149afbf4c8996fb924");
        assert!(!tag.is_weak());
        assert_ne!(tag, ETag::from_content(b"\0"));
    }

    proptest::proptest! {
        #[test]
        fn a_content_hasher_tags_like_from_content_in_any_chunking(
            content in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
            cuts in proptest::collection::vec(proptest::num::usize::ANY, 0..16),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut % (content.len() + 1)).collect();
            cuts.sort_unstable();
            let mut hasher = ContentHasher::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([content.len()]) {
                hasher.update(&content[start..cut]); // empty pieces included
                start = cut;
            }
            proptest::prop_assert_eq!(hasher.len(), content.len() as u64);
            proptest::prop_assert_eq!(hasher.finish(), ETag::from_content(&content));
        }
    }

    #[test]
    fn a_content_hasher_tags_content_larger_than_any_buffer() {
        // 5 MiB through io::copy in its 8 KiB blocks, against the one-shot digest.
        let content: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let mut hasher = ContentHasher::new();
        io::copy(&mut &content[..], &mut hasher).unwrap();
        assert_eq!(hasher.finish(), ETag::from_content(&content));
        assert_eq!(ContentHasher::new().finish(), ETag::from_content(b""));
    }

    #[test]
    fn header_value_round_trip_keeps_the_bytes() {
        let value = HeaderValue::from_static("W/\"r2\"");
        let tag = ETag::try_from(&value).unwrap();
        assert!(tag.is_weak());
        assert_eq!(HeaderValue::from(tag), value);
        assert!(ETag::try_from(HeaderValue::from_static("r2")).is_err());
    }

    #[test]
    #[should_panic(expected = "ETag::from_static")]
    fn from_static_panics_on_invalid_input() {
        let _ = ETag::from_static("no quotes");
    }
}
