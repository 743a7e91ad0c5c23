//! `Cache-Control` policies for built sites.

use http::HeaderValue;

/// A [`cache_control`](crate::StaticFilesBuilder::cache_control) policy for built sites:
/// `public, max-age=31536000, immutable` for a file whose name carries a content hash
/// (`app.3f2a9c1b.js`, `index-BXw3kq9_.css`), `no-cache` (always revalidate: cheap, a 304 from
/// memory) for the rest (`index.html`, `favicon.ico`).
///
/// A name carries a hash when one of its `.`- or `-`-separated parts before the extension is 8
/// to 64 letters, digits or `_`, with at least one digit, and is either all hex digits or
/// mixes cases (base64url) or is uppercase (base32). A name that merely looks so
/// (`build-A1B2C3D4.txt`) would be cached for a year: pass your own policy where that matters.
///
/// ```
/// use tower_conditional_fs::immutable_if_hashed;
///
/// let immutable = Some(http::HeaderValue::from_static("public, max-age=31536000, immutable"));
/// assert_eq!(immutable_if_hashed("assets/app.3f2a9c1b.js"), immutable);
/// assert_eq!(immutable_if_hashed("assets/index-BXw3kq9_.css"), immutable);
/// assert_eq!(immutable_if_hashed("index.html"), Some(http::HeaderValue::from_static("no-cache")));
/// assert_eq!(immutable_if_hashed("report-20240101.pdf").unwrap(), "no-cache");
/// assert_eq!(immutable_if_hashed("app-release2024b.js").unwrap(), "no-cache");
/// ```
pub fn immutable_if_hashed(path: &str) -> Option<HeaderValue> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let hashed = stem.split(['.', '-']).any(looks_like_a_hash);
    Some(HeaderValue::from_static(if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }))
}

fn looks_like_a_hash(part: &str) -> bool {
    let bytes = part.as_bytes();
    if !(8..=64).contains(&bytes.len())
        || !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        || !bytes.iter().any(u8::is_ascii_digit)
    {
        return false;
    }
    let hex = bytes.iter().all(u8::is_ascii_hexdigit) && bytes.iter().any(u8::is_ascii_alphabetic);
    // Mixed case (base64url) or uppercase alone (base32): either way, an uppercase letter.
    hex || bytes.iter().any(u8::is_ascii_uppercase)
}
