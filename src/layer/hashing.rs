//! Reading a response body whole to tag it with its hash (the response side of
//! [`ConditionalLayer::from_responses`](crate::ConditionalLayer::from_responses)), within the
//! size limit and the time bound; past either, what was read is handed on, then the rest
//! unread.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http::{HeaderMap, Response, response};
use http_body::Body;
use sha2::{Digest, Sha256};

use super::after::after_hashing;
use super::deadline::Deadline;
use super::plan::ResponseCheck;
use crate::body::ConditionalBody;
use crate::etag::ETag;

/// A body being read to hash it. Boxed so that, past the size limit, the rest of it can be
/// handed on unread (the hashing path buffers the body anyway; one more allocation is noise).
pub(super) struct Read<B> {
    head: response::Parts,
    body: Pin<Box<B>>,
    check: Box<ResponseCheck>,
    chunks: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    hasher: Sha256,
    /// Bytes read so far, and the most that may be hashed.
    read: u64,
    limit: u64,
    /// When a body still arriving goes on untagged rather than held longer.
    deadline: Deadline,
}

/// How reading a body to hash it ended.
pub(super) enum Hashed<E> {
    Whole,
    Failed(E),
    /// Larger than the limit, whatever its size hint said.
    TooLarge,
    /// Not whole by the deadline.
    TooSlow,
}

impl<B: Body> Read<B> {
    /// Starts reading `body` (whose size hint is within `limit`) of the response `head`, for
    /// the configured [`BodyHashConfig::timeout`](crate::BodyHashConfig::timeout) at most.
    pub(super) fn new(
        head: response::Parts,
        body: B,
        check: Box<ResponseCheck>,
        limit: u64,
    ) -> Self {
        let timeout = check.plan.settings.body_hash.map(|hashing| hashing.timeout);
        let deadline = Deadline::after(timeout.unwrap_or_default());
        Read {
            head,
            body: Box::pin(body),
            check,
            chunks: VecDeque::new(),
            trailers: None,
            hasher: Sha256::new(),
            read: 0,
            limit,
            deadline,
        }
    }

    /// Reads until the body ends, fails, or passes the limit or the deadline.
    pub(super) fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Hashed<B::Error>> {
        loop {
            let frame = match self.body.as_mut().poll_frame(cx) {
                Poll::Ready(frame) => frame,
                // Waiting for data: until the deadline, which wakes this task when it passes.
                Poll::Pending => {
                    ready!(self.deadline.poll(cx));
                    return Poll::Ready(Hashed::TooSlow);
                }
            };
            match frame {
                None => return Poll::Ready(Hashed::Whole),
                Some(Err(error)) => return Poll::Ready(Hashed::Failed(error)),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(mut data) => {
                        // Zero-copy for `Bytes` data: the chunk is handed on as is.
                        let chunk = data.copy_to_bytes(data.remaining());
                        self.read = self.read.saturating_add(chunk.len() as u64);
                        let too_large = self.read > self.limit;
                        if !too_large {
                            self.hasher.update(&chunk);
                        }
                        self.chunks.push_back(chunk);
                        if too_large {
                            return Poll::Ready(Hashed::TooLarge);
                        }
                        // A stream that keeps sending is bounded in time too.
                        if self.deadline.has_passed() {
                            return Poll::Ready(Hashed::TooSlow);
                        }
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.trailers = Some(trailers);
                        }
                    }
                },
            }
        }
    }

    /// The response once reading has `ended`: tagged and decided when the body was read whole.
    pub(super) fn finish(self, ended: Hashed<B::Error>) -> Response<ConditionalBody<B>> {
        let Read {
            head,
            body,
            check,
            chunks,
            trailers,
            hasher,
            ..
        } = self;
        match ended {
            Hashed::Whole => {
                let body = ConditionalBody::buffered(chunks, trailers, None);
                after_hashing(head, Some(ETag::from_sha256(hasher)), body, &check)
            }
            // What was read, then the rest unread: no tag for a body not hashed whole.
            Hashed::TooLarge | Hashed::TooSlow => {
                let body = ConditionalBody::buffered_then(chunks, body);
                after_hashing(head, None, body, &check)
            }
            // What was read, then the error: no tag, and nothing to evaluate.
            Hashed::Failed(error) => {
                let body = ConditionalBody::buffered(chunks, None, Some(error));
                Response::from_parts(head, body)
            }
        }
    }
}
