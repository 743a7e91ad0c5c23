//! Versions back out of entity tags: the inverse of `ETag::from(7u64)` (`"7"`), so a handler
//! gets the row version a request checked as a number, not as bytes to parse.
//!
//! ```
//! use tower_conditional::ETag;
//!
//! let tag = ETag::from(42i64);
//! assert_eq!(i64::try_from(&tag), Ok(42));
//! assert!(u64::try_from(&ETag::from_static("\"abc\"")).is_err());
//! assert_eq!(String::try_from(&ETag::from_static("W/\"rev-9\""))?, "rev-9");
//! # Ok::<(), tower_conditional::NotAVersion>(())
//! ```

use std::fmt;

use crate::etag::ETag;

/// The error of a version read from an entity tag whose opaque part is not one: for an integer,
/// anything but the decimal form `ETag::from` writes (digits, a `-` for a negative number, no
/// `+`, no leading zeros, within the type's range); for a string, bytes that are not UTF-8.
///
/// ```
/// use tower_conditional::ETag;
///
/// let error = u32::try_from(&ETag::from_static("\"007\"")).unwrap_err();
/// assert_eq!(error.to_string(), "the entity tag's opaque part is not a version number of this type");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAVersion(());

impl fmt::Display for NotAVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the entity tag's opaque part is not a version number of this type")
    }
}

impl std::error::Error for NotAVersion {}

/// Whether `digits` is an integer in the one form `ETag::from` writes it: an optional `-`,
/// then `0` alone or digits without a leading zero (and no `-0`). Only then is the round trip
/// exact: `"007"` and `"+7"` are other tags than `"7"`, not other spellings of it.
fn canonical_integer(opaque: &[u8]) -> bool {
    let digits = opaque.strip_prefix(b"-").unwrap_or(opaque);
    let negative = digits.len() != opaque.len();
    match digits {
        [] => false,
        [b'0'] => !negative,
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    }
}

/// The version number a tag made by `ETag::from` holds, strong or weak (`W/"7"` names version
/// 7 too: the tag names a stored version either way).
///
/// ```
/// use tower_conditional::ETag;
///
/// for version in [0u64, 7, u64::MAX] {
///     assert_eq!(u64::try_from(&ETag::from(version)), Ok(version));
/// }
/// assert_eq!(i32::try_from(&ETag::from(-3i32)), Ok(-3));
/// assert_eq!(u64::try_from(&ETag::weak("7")?), Ok(7));
/// for other in ["\"+7\"", "\"07\"", "\"-0\"", "\"7a\"", "\"\""] {
///     assert!(u64::try_from(&ETag::from_static(other)).is_err(), "{other}");
/// }
/// assert!(u32::try_from(&ETag::from(u64::MAX)).is_err()); // out of range
/// assert!(u64::try_from(&ETag::from(-1i64)).is_err());
/// # Ok::<(), tower_conditional::InvalidETag>(())
/// ```
macro_rules! version_from_etag {
    ($($int:ty),*) => {$(
        impl TryFrom<&ETag> for $int {
            type Error = NotAVersion;

            fn try_from(tag: &ETag) -> Result<Self, NotAVersion> {
                let opaque = tag.opaque();
                if !canonical_integer(opaque) {
                    return Err(NotAVersion(()));
                }
                // Canonical digits are ASCII; only the range can still fail.
                std::str::from_utf8(opaque)
                    .ok()
                    .and_then(|digits| digits.parse().ok())
                    .ok_or(NotAVersion(()))
            }
        }
    )*};
}

version_from_etag!(u64, u32, i64, i32);

/// The opaque part of a tag as text, for string versions (`ETag::strong(revision)`), strong
/// or weak; an error when it is not UTF-8.
///
/// ```
/// use tower_conditional::ETag;
///
/// let tag = ETag::strong("2024-06-01T12:00:00Z")?;
/// assert_eq!(<&str>::try_from(&tag), Ok("2024-06-01T12:00:00Z"));
/// assert!(<&str>::try_from(&ETag::strong(b"\xff")?).is_err());
/// # Ok::<(), tower_conditional::InvalidETag>(())
/// ```
impl<'a> TryFrom<&'a ETag> for &'a str {
    type Error = NotAVersion;

    fn try_from(tag: &'a ETag) -> Result<Self, NotAVersion> {
        std::str::from_utf8(tag.opaque()).map_err(|_| NotAVersion(()))
    }
}

/// The opaque part of a tag as an owned string; see [`&str`'s conversion](#impl-TryFrom%3C%26ETag%3E-for-%26str).
///
/// ```
/// use tower_conditional::ETag;
///
/// assert_eq!(String::try_from(&ETag::from(12u32)), Ok(String::from("12")));
/// ```
impl TryFrom<&ETag> for String {
    type Error = NotAVersion;

    fn try_from(tag: &ETag) -> Result<Self, NotAVersion> {
        <&str>::try_from(tag).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_integer_round_trips_and_no_other_spelling_does() {
        for version in [0i64, 1, 9, 10, 1234, -1, -10, i64::MIN, i64::MAX] {
            assert_eq!(i64::try_from(&ETag::from(version)), Ok(version));
        }
        for version in [0u32, 1, u32::MAX] {
            assert_eq!(u32::try_from(&ETag::from(version)), Ok(version));
        }
        for other in ["0x1", "1e3", "00", "-", "--1", "1.0", "-07"] {
            let tag = ETag::strong(other.trim()).unwrap();
            assert!(i64::try_from(&tag).is_err(), "{other}");
        }
    }
}
