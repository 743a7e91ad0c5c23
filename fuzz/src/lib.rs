//! Shared code of the fuzz targets: the reference model of the rule book (a copy of the one in
//! `tests/model.rs`) and small helpers.

pub mod model;

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

/// A response body of one chunk whose exact size hint may lie (`None`: no exact hint), as a
/// handler's own body type can.
#[derive(Debug)]
pub struct LyingBody {
    pub data: Option<Bytes>,
    pub hint: Option<u64>,
}

impl Body for LyingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.data.take().map(|data| Ok(Frame::data(data))))
    }

    fn size_hint(&self) -> SizeHint {
        self.hint.map_or_else(SizeHint::default, SizeHint::with_exact)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }
}

/// Whether every byte of a header value is one a header may carry: HTAB, visible ASCII, SP, or
/// obs-text (0x80-0xFF). In particular no CR, LF, NUL or DEL.
pub fn is_clean_header_value(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Panics unless every value in `headers` is clean (see [`is_clean_header_value`]).
pub fn assert_clean_headers(headers: &HeaderMap) {
    for (name, value) in headers {
        assert!(
            is_clean_header_value(value.as_bytes()),
            "{name}: {value:?} carries a byte a header must not"
        );
    }
}

/// Polls a future that never waits (every service and source in the targets is ready at once)
/// to completion, without a runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..1_000 {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("a future that should be ready at once kept pending");
}
