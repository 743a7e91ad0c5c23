//! [`ServeFiles`]: the file service. It resolves a request as `ServeDir` does, opens the file,
//! and tags the response with the tag of the very file it opened (its key checked against the
//! index, else its bytes hashed), so a 200's `ETag` names its body even while the file is being
//! replaced. It evaluates the request's preconditions against that file too, so a 206 is only
//! ever of the version the request named.

use std::convert::Infallible;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION,
    RANGE,
};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use tower_conditional::{
    Checked, Condition, Decision, ETag, RangeHandling, ResourceState, evaluate,
};
use tower_service::Service;

use crate::body::FileBody;
use crate::coding::{Coding, preference};
use crate::disk::{Found, find};
use crate::index::{Known, Slot};
use crate::resolve::{Target, target};
use crate::settings::Inner;
use crate::stat::StatKey;

/// Files up to this size are read whole before the response starts (one blocking-pool hop
/// for open, stat and read); larger ones are streamed.
const SMALL_FILE: u64 = 64 * 1024;

/// Attempts at reading a small file that is written in place meanwhile.
const READ_ATTEMPTS: usize = 3;

/// The file service, made by [`StaticFiles::serve_files`](crate::StaticFiles::serve_files).
///
/// Answers GET and HEAD like tower-http's `ServeDir` (same paths, redirects, precompressed
/// siblings, `Range`, 404, 405, 416), with content-hash tags, and is correct on its own: it
/// evaluates all five preconditions against the file it opened. In front of it, the layer
/// built by [`StaticFiles::service`](crate::StaticFiles::service) answers revalidations from
/// memory without opening anything.
#[derive(Clone, Debug)]
pub struct ServeFiles {
    pub(crate) inner: Arc<Inner>,
}

/// The future of a [`ServeFiles`] response.
pub struct ServeFuture {
    future: Pin<Box<dyn Future<Output = Response<FileBody>> + Send>>,
}

impl std::fmt::Debug for ServeFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeFuture").finish_non_exhaustive()
    }
}

impl Future for ServeFuture {
    type Output = Result<Response<FileBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx).map(Ok)
    }
}

impl<B> Service<Request<B>> for ServeFiles {
    type Response = Response<FileBody>;
    type Error = Infallible;
    type Future = ServeFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> ServeFuture {
        let (parts, _) = request.into_parts();
        let inner = Arc::clone(&self.inner);
        ServeFuture {
            future: Box::pin(serve(inner, parts)),
        }
    }
}

/// What the blocking step found.
enum Opened {
    Directory,
    Missing,
    File(Box<OpenFile>),
}

struct OpenFile {
    /// The file the request names (not the sibling): its type and `Cache-Control` come from it.
    file: String,
    /// What the index holds for the file sent.
    slot: Arc<Slot>,
    coding: Coding,
    key: StatKey,
    tag: ETag,
    content: Content,
}

enum Content {
    /// A small file, read whole (a HEAD of a known file reads nothing).
    Bytes(Option<Bytes>),
    /// A large file, open at its start.
    Open(File),
}

async fn serve(inner: Arc<Inner>, parts: Parts) -> Response<FileBody> {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET,HEAD"));
        return response;
    }
    let Some(target) = target(parts.uri.path()) else {
        return status(StatusCode::NOT_FOUND);
    };
    let head_only = parts.method == Method::HEAD;
    let opener = Arc::clone(&inner);
    let opened = tokio::task::spawn_blocking(move || {
        open(&opener, &target, &parts, head_only).map(|o| (o, parts))
    })
    .await
    .map_err(io::Error::other)
    .and_then(|result| result);
    match opened {
        Ok((Opened::Directory, parts)) => redirect(&parts.uri),
        Ok((Opened::Missing, _)) => status(StatusCode::NOT_FOUND),
        Ok((Opened::File(file), parts)) => respond(&inner, &parts, *file),
        Err(error) => {
            tracing::error!(%error, "cannot read a static file");
            status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Resolves, opens and tags the file (blocking).
fn open(inner: &Inner, target: &Target, parts: &Parts, head_only: bool) -> io::Result<Opened> {
    let preference = preference(&parts.headers, inner.index.enabled());
    for _ in 0..READ_ATTEMPTS {
        let opened_at = Instant::now();
        let open = |path: &std::path::Path| {
            let file = File::open(path)?;
            let metadata = file.metadata()?;
            Ok((file, metadata))
        };
        let (rel, coding, mut file, metadata) = match find(&inner.index, target, preference, open)?
        {
            Found::Directory => return Ok(Opened::Directory),
            Found::Missing => return Ok(Opened::Missing),
            Found::File {
                rel,
                coding,
                handle,
                metadata,
            } => (rel, coding, handle, metadata),
        };
        let slot = inner.index.slot(&rel);
        let key = StatKey::of(&metadata);
        let known = slot.known().filter(|known| known.names(&key, None));
        let opened = |tag: ETag, content| {
            Ok(Opened::File(Box::new(OpenFile {
                file: target.file().to_owned(),
                slot: Arc::clone(&slot),
                coding,
                key,
                tag,
                content,
            })))
        };
        if metadata.len() > SMALL_FILE {
            let known = match known {
                Some(known) => known,
                None => hash_large(inner, &slot, &mut file, key, opened_at)?,
            };
            file.seek(SeekFrom::Start(0))?;
            return opened(known.tag_as(coding).clone(), Content::Open(file));
        }
        if head_only {
            if let Some(known) = known {
                return opened(known.tag_as(coding).clone(), Content::Bytes(None));
            }
        }
        let started = SystemTime::now();
        let mut bytes = Vec::with_capacity(metadata.len() as usize + 1);
        file.read_to_end(&mut bytes)?;
        if !key.same_bytes(&StatKey::of(&file.metadata()?)) {
            continue; // written in place while read: the bytes may be of two versions
        }
        let tag = match known {
            Some(known) => known.tag_as(coding).clone(),
            None => {
                // Small: hashing the bytes in hand costs less than asking anyone.
                let known = Known::new(
                    key,
                    ETag::from_content(&bytes),
                    slot.sibling_of,
                    inner.trust(),
                    started,
                );
                slot.set(known.clone());
                known.tag_as(coding).clone()
            }
        };
        return opened(tag, Content::Bytes(Some(Bytes::from(bytes))));
    }
    Err(io::Error::other(format!(
        "{} kept changing while it was read",
        target.file()
    )))
}

/// The tag of a large open file whose key the index does not know: hashed from this very
/// descriptor, unless a request that waited for the same hash finds it done.
fn hash_large(
    inner: &Inner,
    slot: &Arc<Slot>,
    file: &mut File,
    key: StatKey,
    seen_at: Instant,
) -> io::Result<Known> {
    let _hashing = slot.hashing_blocking();
    if let Some(known) = slot
        .known()
        .filter(|known| known.names(&key, Some(seen_at)))
    {
        return Ok(known);
    }
    let known = slot.hash_open(file, inner.trust())?;
    if !known.key.same_bytes(&key) {
        return Err(io::Error::other("the file changed while it was hashed"));
    }
    slot.set(known.clone());
    Ok(known)
}

/// The response for an open, tagged file: the preconditions evaluated against it first.
fn respond(inner: &Inner, parts: &Parts, opened: OpenFile) -> Response<FileBody> {
    let mtime = opened.key.mtime();
    let validators = inner.validators(&opened.slot, opened.coding, &opened.file, opened.tag, mtime);
    let state = ResourceState::Present(validators);
    let decision = evaluate(&parts.method, &parts.headers, &state);
    let mut range = match decision {
        Decision::Proceed(proceed) => proceed.range(),
        decision => {
            let answer = decision
                .response(&state)
                .expect("every decision but Proceed has a response");
            return answer.map(FileBody::answer);
        }
    };
    // The layer hands over the version it checked. After a true If-Range: a range only of
    // that version (RFC 9110 §13.1.5), else the whole file. After a true If-Match or
    // If-Unmodified-Since that it decided (and removed): nothing of another version.
    if let Some(checked) = parts.extensions.get::<Checked>() {
        if !checked.is_current(&state) {
            if matches!(
                checked.passed(),
                Some(Condition::IfMatch | Condition::IfUnmodifiedSince)
            ) {
                return checked.refusal(&state).map(FileBody::answer);
            }
            if range == RangeHandling::Honor {
                range = RangeHandling::Ignore;
            }
        }
    }
    let len = opened.key.len();
    let mut response = Response::new(FileBody::empty());
    let headers = response.headers_mut();
    let mime = mime_guess::from_path(&opened.file).first_raw().map_or_else(
        || HeaderValue::from_static("application/octet-stream"),
        HeaderValue::from_static,
    );
    headers.insert(CONTENT_TYPE, mime);
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if opened.coding != Coding::Identity {
        headers.insert(
            CONTENT_ENCODING,
            HeaderValue::from_static(opened.coding.token()),
        );
    }
    // The same fields, written by the same code, as the layer's 304 for this file.
    if let Some(validators) = state.validators() {
        validators.fill_headers(headers);
    }
    let requested = match range {
        RangeHandling::Honor => parts
            .headers
            .get(RANGE)
            .and_then(|value| value.to_str().ok()),
        _ => None,
    };
    let span = match requested.map(|value| byte_range(value, len)) {
        None => None,
        Some(Ok(span)) => Some(span),
        Some(Err(message)) => {
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            let headers = response.headers_mut();
            headers.remove(CONTENT_TYPE);
            headers.remove(CONTENT_ENCODING);
            headers.insert(CONTENT_RANGE, header(format!("bytes */{len}")));
            if let Some(message) = message {
                *response.body_mut() = FileBody::bytes(Bytes::from_static(message.as_bytes()));
            }
            return response;
        }
    };
    let (start, count) = match span {
        Some((start, end)) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            response
                .headers_mut()
                .insert(CONTENT_RANGE, header(format!("bytes {start}-{end}/{len}")));
            (start, if len == 0 { 0 } else { end - start + 1 })
        }
        None => (0, len),
    };
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(count));
    if parts.method == Method::HEAD {
        return response;
    }
    let body = match opened.content {
        Content::Bytes(bytes) => {
            let bytes = bytes.unwrap_or_default();
            let end = usize::try_from(start + count)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let begin = usize::try_from(start).unwrap_or(usize::MAX).min(end);
            Ok(FileBody::bytes(bytes.slice(begin..end)))
        }
        Content::Open(mut file) => file
            .seek(SeekFrom::Start(start))
            .and_then(|_| FileBody::stream(file, count, opened.key)),
    };
    match body {
        Ok(body) => *response.body_mut() = body,
        Err(error) => {
            tracing::error!(%error, "cannot read a static file");
            return status(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
    response
}

/// One byte range of a file of `len` bytes, as `ServeDir` reads `Range` (with the same
/// parser): several ranges are refused with its message, an unsatisfiable one without.
fn byte_range(value: &str, len: u64) -> Result<(u64, u64), Option<&'static str>> {
    let parsed = http_range_header::parse_range_header(value).map_err(|_| None)?;
    if parsed.ranges.len() > 1 {
        return Err(Some("Cannot serve multipart range requests"));
    }
    let mut ranges = parsed.validate(len).map_err(|_| None)?;
    let range = ranges.pop().ok_or(None)?;
    Ok((*range.start(), *range.end()))
}

fn status(status: StatusCode) -> Response<FileBody> {
    let mut response = Response::new(FileBody::empty());
    *response.status_mut() = status;
    response
}

fn header(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("digits, spaces, '-', '/' and '*' are header bytes")
}

/// `ServeDir`'s 307 to the directory's `/` form, keeping the query.
fn redirect(uri: &Uri) -> Response<FileBody> {
    let mut location = String::with_capacity(uri.path().len() + 1);
    if let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) {
        location.push_str(scheme.as_str());
        location.push_str("://");
        location.push_str(authority.as_str());
    }
    location.push_str(uri.path());
    location.push('/');
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    match HeaderValue::try_from(location) {
        Ok(location) => {
            let mut response = status(StatusCode::TEMPORARY_REDIRECT);
            response.headers_mut().insert(LOCATION, location);
            response
        }
        Err(_) => status(StatusCode::INTERNAL_SERVER_ERROR),
    }
}
