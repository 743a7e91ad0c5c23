//! [`StaticFiles`] as the layer's validator source: a revalidation of an unchanged file is
//! answered from memory, with at most one `stat` on the async worker (none under
//! [`Refresh::Never`](crate::Refresh::Never)), and no open, read or blocking-pool hop. A
//! precompressed sibling served without its original beside it costs one `stat` more: that
//! the original's name is not a directory, which `ServeDir` would redirect.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use http::header::ALLOW;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use tower_conditional::response::AnswerBody;
use tower_conditional::{ETag, LastModified, Lookup, Rejection, ValidatorSource, Validators};

use crate::coding::{Coding, Preference, preference};
use crate::disk::{Found, find, is_dir};
use crate::index::Slot;
use crate::resolve::{Target, target};
use crate::settings::Inner;
use crate::settings::StaticFiles;
use crate::stat::StatKey;

/// The future of a [`StaticFiles`] look-up: ready at once for a file whose tag is known, a
/// hash of the file (once, however many requests wait for it) when it changed.
pub struct LookupFuture {
    state: State,
}

#[expect(
    clippy::large_enum_variant,
    reason = "boxing the ready answer would cost the fast path an allocation"
)]
enum State {
    Ready(Option<Lookup>),
    Slow(Pin<Box<dyn Future<Output = io::Result<Lookup>> + Send>>),
}

impl std::fmt::Debug for LookupFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Ready(_) => "ready",
            State::Slow(_) => "hashing",
        };
        f.debug_struct("LookupFuture")
            .field("state", &state)
            .finish()
    }
}

impl Future for LookupFuture {
    type Output = io::Result<Lookup>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Ready(lookup) => {
                Poll::Ready(Ok(lookup.take().expect("polled after completion")))
            }
            State::Slow(future) => future.as_mut().poll(cx),
        }
    }
}

impl ValidatorSource for StaticFiles {
    type Error = io::Error;
    type Future = LookupFuture;

    fn lookup(&self, head: &Parts) -> LookupFuture {
        let state = match lookup_now(&self.inner, head) {
            Now::Answer(lookup) => State::Ready(Some(lookup)),
            Now::Later(target, preference) => {
                let inner = Arc::clone(&self.inner);
                State::Slow(Box::pin(lookup_slow(inner, target, preference)))
            }
        };
        LookupFuture { state }
    }
}

enum Now {
    Answer(Lookup),
    Later(Target, Preference),
}

/// The fast path: the file the request selects is indexed and its key (one `stat`, or none
/// when the directory never changes) is the one hashed.
fn lookup_now(inner: &Inner, head: &Parts) -> Now {
    if head.method != Method::GET && head.method != Method::HEAD {
        return Now::Answer(Lookup::Rejected(method_not_allowed()));
    }
    let Some(mut target) = target(head.uri.path()) else {
        return Now::Answer(Lookup::Missing); // ServeDir's 404: nothing was joined to the root
    };
    let preference = preference(&head.headers, inner.index.enabled());
    let found = preference
        .siblings()
        .chain([Coding::Identity])
        .find_map(|coding| {
            let name = target.file_with(coding.suffix());
            inner.index.get(name).map(|slot| (coding, slot))
        });
    let Some((coding, slot)) = found else {
        return Now::Later(target, preference);
    };
    if coding != Coding::Identity && !target.slash && inner.index.get(target.file()).is_none() {
        // `ServeDir` looks at the path before its siblings: a directory named without `/` is a
        // redirect whatever lies beside it (`data` and `data.gz`). The index holds files only,
        // so a sibling whose original it does not hold is checked (one `stat`).
        if !matches!(is_dir(&inner.index, &target), Ok(Some(false) | None)) {
            return Now::Later(target, preference);
        }
    }
    let key = if inner.stats_on_lookup() {
        match std::fs::metadata(&slot.abs) {
            Ok(metadata) if metadata.is_file() => Some(StatKey::of(&metadata)),
            _ => return Now::Later(target, preference),
        }
    } else {
        None
    };
    match slot.tag_if_named(key.as_ref(), coding) {
        Some((tag, mtime)) => Now::Answer(Lookup::Present(inner.validators(
            &slot,
            coding,
            target.file(),
            tag,
            mtime,
        ))),
        None => Now::Later(target, preference),
    }
}

/// The slow path: resolve as `ServeDir` does, hashing the selected file if it changed.
async fn lookup_slow(
    inner: Arc<Inner>,
    target: Target,
    preference: Preference,
) -> io::Result<Lookup> {
    let seen_at = Instant::now();
    let stat = |path: &std::path::Path| std::fs::metadata(path).map(|metadata| ((), metadata));
    let (rel, coding, metadata) = match find(&inner.index, &target, preference, stat)? {
        // A redirect (307): not a representation; the layer lets it through.
        Found::Directory => return Ok(Lookup::Unknown),
        Found::Missing => {
            // Forget a file that is gone; a path that never existed costs no write lock.
            let file = target.file();
            if inner.index.get(file).is_some() {
                inner.index.remove(file);
            }
            return Ok(Lookup::Missing);
        }
        Found::File {
            rel,
            coding,
            metadata,
            ..
        } => (rel, coding, metadata),
    };
    let slot = inner.index.slot(&rel);
    let key = StatKey::of(&metadata);
    // Under `Refresh::Never` any hash of the file stands; else the one of the key just seen.
    let hashed = if inner.stats_on_lookup() {
        None
    } else {
        slot.tag_if_named(None, coding)
    };
    let tagged = match hashed {
        Some(tagged) => Some(tagged),
        None => slot
            .tag_of(key, seen_at, inner.trust())
            .await?
            .map(|known| (known.tag_as(coding).clone(), known.key.mtime())),
    };
    match tagged {
        Some((tag, mtime)) => {
            let validators = inner.validators(&slot, coding, target.file(), tag, mtime);
            Ok(Lookup::Present(validators))
        }
        // Changing faster than it can be hashed: the file service tags what it sends, and the
        // layer decides on that response.
        None => Ok(Lookup::Unknown),
    }
}

impl Inner {
    /// The validators of `file` served from `slot` in `coding`, tagged `tag`, with the fields a
    /// 304 must repeat from the 200 (`Vary`, `Cache-Control`).
    pub(crate) fn validators(
        &self,
        slot: &Slot,
        coding: Coding,
        file: &str,
        tag: ETag,
        mtime: Option<SystemTime>,
    ) -> Validators {
        let mut validators = Validators::new().with_etag(tag);
        if self.index.enabled().any() {
            validators = validators.with_vary(HeaderValue::from_static("accept-encoding"));
        }
        let policy = |file: &str| self.cache_control(file);
        if let Some(cache_control) = slot.cache_control(coding, file, policy) {
            validators = validators.with_cache_control(cache_control);
        }
        if self.last_modified {
            if let Some(date) = mtime.and_then(|mtime| LastModified::try_from(mtime).ok()) {
                validators = validators.with_last_modified(date);
            }
        }
        validators
    }
}

/// `ServeDir`'s answer to methods other than GET and HEAD, given before any precondition is
/// looked at (RFC 9110 §13.2.1: they are ignored when the answer is not 2xx or 412).
pub(crate) fn method_not_allowed() -> Rejection {
    let mut response = Response::new(AnswerBody::default());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET,HEAD"));
    Rejection::from(response)
}
