//! One exchange with the client service: sending a request (telling a request never handed over
//! from a lost response) and reading a response body within a limit.

use std::future::poll_fn;
use std::pin::pin;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::BodyExt;
use tower::Service;

use super::current::{Current, Representation};
use super::outcome::UpdateError;
use crate::source::BoxError;

/// Why [`send`] got no response.
pub(super) enum Failure<E> {
    /// `poll_ready` failed: the request was never handed to the service.
    NotSent(E),
    /// The service failed after taking the request: it may have reached the server.
    Lost(E),
}

/// Sends `request` once the client is ready.
pub(super) async fn send<S, B>(
    client: &mut S,
    request: Request<B>,
) -> Result<S::Response, Failure<S::Error>>
where
    S: Service<Request<B>>,
{
    poll_fn(|cx| client.poll_ready(cx))
        .await
        .map_err(Failure::NotSent)?;
    client.call(request).await.map_err(Failure::Lost)
}

/// What a `GET` answered.
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per round trip and matched at once: boxing would cost an allocation for nothing measurable"
)]
pub(super) enum Fetched {
    /// 2xx (a representation), or 404 and 410 (missing).
    State(Current),
    /// Anything else, read within the limit.
    Other(Response<Bytes>),
}

/// `GET uri`, read within `limit`.
pub(super) async fn fetch<S, B, ResB>(
    client: &mut S,
    uri: &Uri,
    limit: usize,
) -> Result<Fetched, UpdateError<S::Error>>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    B: From<Bytes>,
    ResB: Body,
    ResB::Error: Into<BoxError>,
{
    let mut request = Request::new(B::from(Bytes::new()));
    *request.uri_mut() = uri.clone();
    let response = send(client, request)
        .await
        .map_err(|failure| match failure {
            Failure::NotSent(error) | Failure::Lost(error) => UpdateError::Service(error),
        })?;
    let status = response.status();
    if is_missing(status) {
        drain(response.into_body(), limit).await;
        return Ok(Fetched::State(Current::Missing));
    }
    let response = read(response, &Method::GET, limit).await?;
    if status.is_success() {
        Ok(Fetched::State(Current::Present(
            Representation::from_response(response),
        )))
    } else {
        Ok(Fetched::Other(response))
    }
}

/// 404 Not Found or 410 Gone: no current representation.
pub(super) fn is_missing(status: StatusCode) -> bool {
    status == StatusCode::NOT_FOUND || status == StatusCode::GONE
}

/// The response with its body read whole, failing past `limit` bytes: as soon as the body
/// announces more (its size hint: `Content-Length`), or when a frame would pass it.
pub(super) async fn read<ResB, E>(
    response: Response<ResB>,
    method: &Method,
    limit: usize,
) -> Result<Response<Bytes>, UpdateError<E>>
where
    ResB: Body,
    ResB::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    let too_large = || UpdateError::ResponseTooLarge {
        method: method.clone(),
        status: parts.status,
        limit,
    };
    let mut body = pin!(body);
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    let mut content = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| UpdateError::Body(error.into()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if data.remaining() > limit - content.len() {
            return Err(too_large());
        }
        content.put(data);
    }
    Ok(Response::from_parts(parts, content.freeze()))
}

/// Reads and drops a body the update does not need (an accepted write's, a 412's), so the
/// connection can be reused, up to `limit` bytes; past it, or on an error, stops.
pub(super) async fn drain<ResB: Body>(body: ResB, limit: usize) {
    let mut body = pin!(body);
    if body.size_hint().lower() > limit as u64 {
        return;
    }
    let mut left = limit;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            match left.checked_sub(data.remaining()) {
                Some(rest) => left = rest,
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body::{Frame, SizeHint};
    use http_body_util::Full;

    use super::*;

    /// A body of chunks without a length, as a chunked or streamed response.
    struct Chunks(VecDeque<&'static str>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            let chunk = self.0.pop_front();
            Poll::Ready(chunk.map(|chunk| Ok(Frame::data(Bytes::from_static(chunk.as_bytes())))))
        }

        fn size_hint(&self) -> SizeHint {
            SizeHint::new() // unknown
        }
    }

    fn chunked(chunks: &[&'static str]) -> Response<Chunks> {
        Response::new(Chunks(chunks.iter().copied().collect()))
    }

    async fn read_at_most<B>(response: Response<B>, limit: usize) -> Result<Bytes, String>
    where
        B: Body<Error = Infallible>,
    {
        match read::<_, Infallible>(response, &Method::GET, limit).await {
            Ok(response) => Ok(response.into_body()),
            Err(error) => Err(error.to_string()),
        }
    }

    #[tokio::test]
    async fn a_body_at_the_limit_is_read_whole() {
        let body = read_at_most(chunked(&["abc", "de"]), 5).await;
        assert_eq!(body.as_deref(), Ok(&b"abcde"[..]));
        let body = read_at_most(Response::new(Full::new(Bytes::from_static(b"abcde"))), 5).await;
        assert_eq!(body.as_deref(), Ok(&b"abcde"[..]));
    }

    #[tokio::test]
    async fn one_byte_past_the_limit_fails_naming_it() {
        let error = read_at_most(chunked(&["abc", "def"]), 5).await.unwrap_err();
        assert!(error.contains("limit of 5 bytes"), "{error}");
        // Announced by its length: refused before reading.
        let error = read_at_most(Response::new(Full::new(Bytes::from_static(b"abcdef"))), 5).await;
        assert!(error.unwrap_err().contains("limit of 5 bytes"));
    }

    #[tokio::test]
    async fn a_drain_stops_at_the_limit() {
        // Chunks after the limit are never polled: the drain would otherwise not end.
        let mut body = Chunks(["abc", "def", "ghi"].into_iter().collect());
        drain(&mut body, 5).await;
        assert_eq!(
            body.0,
            ["ghi"],
            "stopped at the chunk that passed the limit"
        );
        let mut body = Chunks(["abc", "de"].into_iter().collect());
        drain(&mut body, 5).await;
        assert!(body.0.is_empty(), "read to the end within the limit");
    }
}
