//! [`StaticFiles`], its [`StaticFilesBuilder`] and [`Refresh`] policy, and the state every clone
//! of it shares.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use http::HeaderValue;

use crate::coding::{Coding, Enabled};
use crate::index::{Index, Trust};
use crate::startup::index_root;

/// How the tags of files that change after startup are kept current.
///
/// ```
/// use tower_conditional_fs::{Refresh, StaticFiles};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// // An image whose files never change after it is built: no stat per request.
/// let files = StaticFiles::builder(dir.path()).refresh(Refresh::Never).build().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refresh {
    /// Each revalidation stats the file it names (one `stat`, on the async worker: a cached
    /// inode costs about a microsecond) and compares its key (device, inode, size, mtime and
    /// ctime) with the one hashed; a file whose key changed is hashed again, once, before the
    /// answer. A change that keeps size and mtime is seen, since no write keeps the ctime.
    #[default]
    StatKey,
    /// The directory never changes while the server runs (a container image, a Nix store
    /// path): tags are hashed at startup and never checked again by revalidations. The file
    /// service still checks the file it opens, so a 200 always carries the tag of its body.
    Never,
    /// Like [`Never`](Refresh::Never), with the tags read at startup from a manifest written
    /// at build time in `sha256sum`'s format (written by
    /// `cd dist && find . -type f -exec sha256sum {} + >../SHA256SUMS`): nothing is hashed at
    /// startup but the files it does not name. The tags are the ones hashing would give, so
    /// replicas with and without it agree.
    Manifest(PathBuf),
}

/// What a file's `Cache-Control` is, from its path relative to the root.
type CachePolicy = Arc<dyn Fn(&str) -> Option<HeaderValue> + Send + Sync>;

/// Configures and builds [`StaticFiles`]; made by [`StaticFiles::builder`].
#[must_use]
pub struct StaticFilesBuilder {
    root: PathBuf,
    enabled: Enabled,
    refresh: Refresh,
    parallelism: usize,
    last_modified: bool,
    cache_control: Option<CachePolicy>,
}

impl fmt::Debug for StaticFilesBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticFilesBuilder")
            .field("root", &self.root)
            .field("refresh", &self.refresh)
            .field("parallelism", &self.parallelism)
            .field("last_modified", &self.last_modified)
            .field("cache_control", &self.cache_control.is_some())
            .finish_non_exhaustive()
    }
}

impl StaticFilesBuilder {
    pub(crate) fn new(root: PathBuf) -> Self {
        StaticFilesBuilder {
            root,
            enabled: Enabled::default(),
            refresh: Refresh::default(),
            parallelism: std::thread::available_parallelism().map_or(1, usize::from),
            last_modified: false,
            cache_control: None,
        }
    }

    /// Serves `x.gz` as `x` with `Content-Encoding: gzip` to clients that accept gzip, as
    /// `ServeDir::precompressed_gzip` does. Its tag is its own digest with `-gzip`.
    pub fn precompressed_gzip(mut self) -> Self {
        self.enabled = self.enabled.with(Coding::Gzip);
        self
    }

    /// The same for `x.br` (`Content-Encoding: br`).
    pub fn precompressed_br(mut self) -> Self {
        self.enabled = self.enabled.with(Coding::Brotli);
        self
    }

    /// The same for `x.zst` (`Content-Encoding: zstd`).
    pub fn precompressed_zstd(mut self) -> Self {
        self.enabled = self.enabled.with(Coding::Zstd);
        self
    }

    /// The same for `x.zz` (`Content-Encoding: deflate`).
    pub fn precompressed_deflate(mut self) -> Self {
        self.enabled = self.enabled.with(Coding::Deflate);
        self
    }

    /// How tags are kept current after startup; [`Refresh::StatKey`] by default.
    pub fn refresh(mut self, refresh: Refresh) -> Self {
        self.refresh = refresh;
        self
    }

    /// The most files hashed at once at startup (each on a blocking thread); the number of
    /// CPUs by default. 0 counts as 1.
    pub fn hashing_parallelism(mut self, threads: usize) -> Self {
        self.parallelism = threads.max(1);
        self
    }

    /// Sends each file's mtime as `Last-Modified` (and evaluates `If-Modified-Since`,
    /// `If-Unmodified-Since` and date `If-Range` against it). Off by default: where deploys
    /// keep mtimes (Nix's 1970, an image's build time), a date says nothing about the bytes,
    /// and a client that revalidates by date alone would keep an old copy. The `ETag` is
    /// always sent, and clients that have one revalidate with it.
    pub fn last_modified(mut self, send: bool) -> Self {
        self.last_modified = send;
        self
    }

    /// Sets each file's `Cache-Control` (on its 200, 206 and 304) from its path relative to
    /// the root (`app.3f2a9c1b.js`, `docs/index.html`); `None` sends none. See
    /// [`immutable_if_hashed`](crate::immutable_if_hashed).
    ///
    /// The policy is asked once per file, when it is first served (and once more for a
    /// precompressed sibling served in its place), not on every request: its answer must
    /// depend on the path alone.
    pub fn cache_control(
        mut self,
        policy: impl Fn(&str) -> Option<HeaderValue> + Send + Sync + 'static,
    ) -> Self {
        self.cache_control = Some(Arc::new(policy));
        self
    }

    /// Indexes the root: every file hashed (or read from the manifest), with progress reported
    /// through `tracing` at most once a second.
    ///
    /// # Errors
    ///
    /// When the root is not a readable directory, or the manifest cannot be read or parsed. A
    /// file that cannot be hashed is logged and hashed again when first asked for.
    pub async fn build(self) -> io::Result<StaticFiles> {
        let metadata = tokio::fs::metadata(&self.root).await?;
        if !metadata.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", self.root.display()),
            ));
        }
        let index = Arc::new(Index::new(self.root, self.enabled));
        let trust = match self.refresh {
            Refresh::StatKey => Trust::Settled,
            Refresh::Never | Refresh::Manifest(_) => Trust::Always,
        };
        let manifest = match &self.refresh {
            Refresh::Manifest(path) => Some(path.as_path()),
            _ => None,
        };
        index_root(&index, self.parallelism, trust, manifest).await?;
        Ok(StaticFiles {
            inner: Arc::new(Inner {
                index,
                refresh: self.refresh,
                last_modified: self.last_modified,
                cache_control: self.cache_control,
            }),
        })
    }
}

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
    pub(crate) inner: Arc<Inner>,
}

impl StaticFiles {
    /// Starts configuring the files under `root`, served as tower-http's `ServeDir::new(root)`
    /// would serve them.
    pub fn builder(root: impl Into<PathBuf>) -> StaticFilesBuilder {
        StaticFilesBuilder::new(root.into())
    }

    /// How many files are indexed (every file under the root, and those found since).
    pub fn indexed_files(&self) -> usize {
        self.inner.index.len()
    }
}

/// What every clone of [`StaticFiles`] and [`ServeFiles`](crate::ServeFiles) shares.
pub(crate) struct Inner {
    pub(crate) index: Arc<Index>,
    pub(crate) refresh: Refresh,
    pub(crate) last_modified: bool,
    cache_control: Option<CachePolicy>,
}

impl Inner {
    /// Whether a revalidation stats the file.
    pub(crate) fn stats_on_lookup(&self) -> bool {
        self.refresh == Refresh::StatKey
    }

    pub(crate) fn trust(&self) -> Trust {
        if self.stats_on_lookup() {
            Trust::Settled
        } else {
            Trust::Always
        }
    }

    pub(crate) fn cache_control(&self, file: &str) -> Option<HeaderValue> {
        self.cache_control.as_ref().and_then(|policy| policy(file))
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticFiles")
            .field("root", &self.index.root())
            .field("files", &self.index.len())
            .field("refresh", &self.refresh)
            .field("last_modified", &self.last_modified)
            .finish_non_exhaustive()
    }
}
