//! [`FileBody`]: a small file from memory, a large one streamed from the descriptor that was
//! opened (and tagged), or the library's answer (304, 412, ...).

use std::fmt;
use std::fs::File;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use tower_conditional::response::AnswerBody;

use crate::stat::StatKey;

/// Bytes read from disk per frame.
const CHUNK: usize = 64 * 1024;

/// The body of [`ServeFiles`](crate::ServeFiles)' responses.
pub struct FileBody {
    kind: Kind,
}

enum Kind {
    Bytes(Option<Bytes>),
    Answer(AnswerBody),
    Stream(Box<Stream>),
}

/// A byte range of an open file, and what it must still be at the end.
struct Stream {
    file: tokio::fs::File,
    remaining: u64,
    buffer: BytesMut,
    /// The same open file description, to `fstat` once the last byte is read.
    check: File,
    key: StatKey,
}

impl FileBody {
    pub(crate) fn empty() -> Self {
        Self::bytes(Bytes::new())
    }

    pub(crate) fn bytes(bytes: Bytes) -> Self {
        FileBody {
            kind: Kind::Bytes((!bytes.is_empty()).then_some(bytes)),
        }
    }

    pub(crate) fn answer(body: AnswerBody) -> Self {
        FileBody {
            kind: Kind::Answer(body),
        }
    }

    /// `len` bytes of `file` from its current position. Should the file be written while they
    /// are sent (in place: a file replaced by a rename keeps its old bytes for an open
    /// descriptor), the body ends with an error, so the client sees a truncated response,
    /// never a spliced one.
    pub(crate) fn stream(file: File, len: u64, key: StatKey) -> io::Result<Self> {
        let check = file.try_clone()?;
        Ok(FileBody {
            kind: Kind::Stream(Box::new(Stream {
                file: tokio::fs::File::from_std(file),
                remaining: len,
                buffer: BytesMut::new(),
                check,
                key,
            })),
        })
    }
}

impl fmt::Debug for FileBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Bytes(bytes) => format!("bytes({})", bytes.as_ref().map_or(0, Bytes::len)),
            Kind::Answer(body) => format!("answer({})", body.len()),
            Kind::Stream(stream) => format!("file({} left)", stream.remaining),
        };
        f.debug_struct("FileBody").field("kind", &kind).finish()
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match &mut self.kind {
            Kind::Bytes(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            Kind::Answer(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|frame| frame.map(|frame| Ok(frame.expect("an answer body never fails")))),
            Kind::Stream(stream) => stream.poll_chunk(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Bytes(bytes) => bytes.is_none(),
            Kind::Answer(body) => body.is_end_stream(),
            Kind::Stream(stream) => stream.remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Bytes(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Kind::Answer(body) => body.size_hint(),
            Kind::Stream(stream) => SizeHint::with_exact(stream.remaining),
        }
    }
}

impl Stream {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        if self.remaining == 0 {
            return Poll::Ready(self.finish().err().map(Err));
        }
        let want = CHUNK.min(usize::try_from(self.remaining).unwrap_or(CHUNK));
        if self.buffer.capacity() < want {
            self.buffer.reserve(want);
        }
        // Never past the range's end, whatever room the buffer has.
        let mut limited = tokio::io::AsyncReadExt::take(&mut self.file, want as u64);
        let read = match tokio_util::io::poll_read_buf(Pin::new(&mut limited), cx, &mut self.buffer)
        {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(read) => read,
        };
        match read {
            Ok(0) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file got shorter while it was sent",
            )))),
            Ok(n) => {
                self.remaining -= n as u64;
                let chunk = self.buffer.split().freeze();
                if self.remaining == 0 {
                    if let Err(error) = self.finish() {
                        return Poll::Ready(Some(Err(error)));
                    }
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Err(error) => Poll::Ready(Some(Err(error))),
        }
    }

    /// The file is still the version that was tagged (an `fstat` of the open descriptor).
    fn finish(&self) -> io::Result<()> {
        if self.key.same_bytes(&StatKey::of(&self.check.metadata()?)) {
            Ok(())
        } else {
            Err(io::Error::other("the file changed while it was sent"))
        }
    }
}
