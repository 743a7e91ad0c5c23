#![doc = include_str!("docs/static-files.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![forbid(unsafe_code)]

mod body;
mod coding;
mod disk;
mod index;
mod resolve;
mod service;
mod settings;
mod source;
mod startup;
mod stat;

use std::path::PathBuf;
use std::sync::Arc;

use http::HeaderValue;
use tower_conditional::Conditional;

pub use body::FileBody;
pub use service::{ServeFiles, ServeFuture};
pub use settings::{Refresh, StaticFilesBuilder};
pub use source::LookupFuture;

use settings::Inner;

/// The files under one directory with the tags of their bytes: the layer's
/// [`ValidatorSource`](tower_conditional::ValidatorSource), and the maker of the services that
/// serve them. Cheap to clone (one shared index).
///
/// ```
/// use http::{header, Request, StatusCode};
/// use tower::ServiceExt;
/// use tower_conditional_fs::StaticFiles;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("hello.txt"), "hello")?;
/// let files = StaticFiles::builder(dir.path()).build().await?;
///
/// let first = files.service().oneshot(Request::get("/hello.txt").body(String::new())?).await?;
/// assert_eq!(first.headers()[header::ETAG], "\"2cf24dba5fb0a30e26e83b2ac5b9e29e\"");
///
/// let again = Request::get("/hello.txt").header(header::IF_NONE_MATCH, &first.headers()[header::ETAG]);
/// let again = files.service().oneshot(again.body(String::new())?).await?;
/// assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct StaticFiles {
    inner: Arc<Inner>,
}

impl StaticFiles {
    /// Starts configuring the files under `root`, served as tower-http's `ServeDir::new(root)`
    /// would serve them.
    pub fn builder(root: impl Into<PathBuf>) -> StaticFilesBuilder {
        StaticFilesBuilder::new(root.into())
    }

    /// The whole static site: [`ConditionalLayer`](tower_conditional::ConditionalLayer) with these files as its source, in front of
    /// [`ServeFiles`]. Revalidations are answered from memory; everything else is served from
    /// disk with the tag of the bytes sent.
    pub fn service(&self) -> Conditional<ServeFiles, StaticFiles> {
        Conditional::new(self.serve_files(), self.clone())
    }

    /// The file service alone, to put behind a
    /// [`ConditionalLayer`](tower_conditional::ConditionalLayer) configured by hand (it is
    /// correct without one too, opening the file for every request).
    pub fn serve_files(&self) -> ServeFiles {
        ServeFiles {
            inner: Arc::clone(&self.inner),
        }
    }

    /// How many files are indexed (every file under the root, and those found since).
    pub fn indexed_files(&self) -> usize {
        self.inner.index.len()
    }
}

/// A [`cache_control`](StaticFilesBuilder::cache_control) policy for built sites:
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
