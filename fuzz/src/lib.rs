//! Shared code of the fuzz targets: the reference model of the rule book (a copy of the one in
//! `tests/model.rs`) and small helpers.

pub mod model;

use http::HeaderMap;

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
