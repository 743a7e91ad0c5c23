//! What the socket carries: early answers (412, 428, 400) to clients that send their whole body
//! before reading, `Expect: 100-continue`, connection reuse, and the exact head of 304s to GET
//! and HEAD. Driven by a raw TCP client against two real stacks:
//!
//! - the store example's axum app, served by `axum::serve` as its `main` does;
//! - the hyper example, the very binary (`target/debug/examples/hyper`, built by `cargo test`).

#[path = "../store/app.rs"]
#[allow(dead_code)]
mod app;
mod process;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

const MIB: usize = 1 << 20;
/// Generous: a 64 MiB upload in a debug build, on a loaded 2-core machine.
const LIMIT: Duration = Duration::from_secs(60);

/// One response read off the wire.
#[derive(Debug)]
struct Wire {
    status: u16,
    /// Header lines as sent, names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Interim (1xx) status codes seen before it.
    interim: Vec<u16>,
}

impl Wire {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/1.1 connection.
struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        Raw {
            reader: BufReader::new(stream),
        }
    }

    /// Writes the head, then `body_len` bytes of body, all before reading anything: the way
    /// Python's `http.client` and Node's `http` send a request.
    async fn send(&mut self, head: &str, body_len: usize) {
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).await.expect("send head");
        let chunk = vec![b'x'; MIB];
        let mut left = body_len;
        while left > 0 {
            let n = left.min(chunk.len());
            stream
                .write_all(&chunk[..n])
                .await
                .expect("send body: the server reset the connection");
            left -= n;
        }
        stream.flush().await.expect("flush");
    }

    /// Reads one response (and any interim responses before it). `head_request`: no body.
    async fn read(&mut self, head_request: bool) -> Wire {
        let mut interim = Vec::new();
        loop {
            let mut status_line = String::new();
            let n = self
                .reader
                .read_line(&mut status_line)
                .await
                .expect("read status");
            assert_ne!(n, 0, "the connection closed before a response");
            let status: u16 = status_line
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse().ok())
                .unwrap_or_else(|| panic!("a status line: {status_line:?}"));
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).await.expect("read header");
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').expect("a header line");
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
            if (100..200).contains(&status) {
                interim.push(status);
                continue;
            }
            let length = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse::<usize>().expect("a length"));
            let mut body = vec![
                0;
                if head_request || status == 304 {
                    0
                } else {
                    length
                }
            ];
            self.reader.read_exact(&mut body).await.expect("read body");
            return Wire {
                status,
                headers,
                body,
                interim,
            };
        }
    }

    async fn exchange(&mut self, head: &str, body_len: usize) -> Wire {
        let head_request = head.starts_with("HEAD ");
        timeout(LIMIT, async {
            self.send(head, body_len).await;
            self.read(head_request).await
        })
        .await
        .expect("answered in time")
    }
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body_len: usize) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    if body_len > 0 || method == "PUT" {
        head.push_str(&format!("Content-Length: {body_len}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// A server under test: where it listens, the path of its seeded item, and its process.
struct Target {
    addr: SocketAddr,
    path: &'static str,
    _process: Option<process::StoreProcess>,
}

/// The store example's app over `axum::serve`, with one item of 12 bytes.
async fn store() -> Target {
    let server = support::Server::start(app::router()).await;
    let created = server
        .put(
            "/items/doc",
            &[(http::header::IF_NONE_MATCH, "*")],
            "hello, world",
        )
        .await;
    assert_eq!(created.status, 201);
    Target {
        addr: server.addr(),
        path: "/items/doc",
        _process: None,
    }
}

/// The hyper example binary, which seeds `/greeting`.
async fn hyper_example() -> Target {
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let log = std::env::temp_dir().join(format!("wire-hyper-{}-{n}.log", std::process::id()));
    let process = process::StoreProcess::example("hyper", &["--addr", "127.0.0.1:0"], &log).await;
    Target {
        addr: process.server.addr(),
        path: "/greeting",
        _process: Some(process),
    }
}

/// The item's current ETag and body, read on a fresh connection.
async fn current(target: &Target) -> (String, Vec<u8>) {
    let mut raw = Raw::connect(target.addr).await;
    let reply = raw.exchange(&request("GET", target.path, &[], 0), 0).await;
    assert_eq!(reply.status, 200);
    (
        reply.header("etag").expect("an ETag").to_owned(),
        reply.body,
    )
}

/// Uploads of `sizes` that the layer answers early (`headers`, expecting `status`), each sent in
/// full before reading, `tries` times: every one gets its answer, on a connection that is then
/// reused for a GET, and the item never changes.
async fn early_answers_arrive(
    target: &Target,
    headers: &[(&str, &str)],
    status: u16,
    tries: usize,
) {
    let before = current(target).await;
    for size in [MIB, 8 * MIB, 64 * MIB] {
        for attempt in 0..tries {
            let mut raw = Raw::connect(target.addr).await;
            let reply = raw
                .exchange(&request("PUT", target.path, headers, size), size)
                .await;
            let what = format!("{} MiB, try {attempt}, {headers:?}", size / MIB);
            assert_eq!(reply.status, status, "{what}: {reply:?}");
            assert_eq!(
                reply.header("connection"),
                None,
                "{what}: drained, kept alive"
            );
            // The same connection serves the next request: the body was read to its end.
            let again = raw.exchange(&request("GET", target.path, &[], 0), 0).await;
            assert_eq!(again.status, 200, "{what}: the connection is reusable");
        }
    }
    assert_eq!(
        current(target).await,
        before,
        "refused writes change nothing"
    );
}

async fn stale_if_match_uploads_get_their_412(target: Target) {
    early_answers_arrive(&target, &[("If-Match", "\"stale\"")], 412, 10).await;
}

async fn blind_uploads_get_their_428(target: Target) {
    early_answers_arrive(&target, &[], 428, 3).await;
}

async fn malformed_if_match_uploads_get_their_400(target: Target) {
    early_answers_arrive(&target, &[("If-Match", "stale")], 400, 3).await;
}

/// With `Expect: 100-continue` the client waits: the answer comes without `100 Continue`, says
/// `Connection: close`, and the body is never asked for.
async fn expect_continue_gets_the_answer_without_sending_the_body(target: Target) {
    let before = current(&target).await;
    for (headers, status) in [
        (
            vec![("If-Match", "\"stale\""), ("Expect", "100-continue")],
            412,
        ),
        (vec![("Expect", "100-continue")], 428),
        (vec![("If-Match", "nope"), ("Expect", "100-continue")], 400),
    ] {
        let mut raw = Raw::connect(target.addr).await;
        let head = request("PUT", target.path, &headers, 64 * MIB);
        // Send the head only, as a client waiting for `100 Continue` does.
        let reply = raw.exchange(&head, 0).await;
        assert_eq!(reply.status, status, "{headers:?}");
        assert!(reply.interim.is_empty(), "no 100 Continue: {reply:?}");
        // The body was never read: the answer says the connection ends (RFC 9110 §10.1.1).
        assert_eq!(reply.header("connection"), Some("close"), "{reply:?}");
    }
    assert_eq!(current(&target).await, before);
}

/// 304s carry no `Content-Length` (RFC 9110 §8.6: it would have to equal the 200's), to GET and
/// to HEAD; a HEAD's 412 says the length of the 412 a GET would get.
async fn not_modified_heads_carry_no_content_length(target: Target) {
    let (etag, body) = current(&target).await;
    let mut raw = Raw::connect(target.addr).await;
    for method in ["GET", "HEAD"] {
        let head = request(method, target.path, &[("If-None-Match", &etag)], 0);
        let reply = raw.exchange(&head, 0).await;
        assert_eq!(reply.status, 304, "{method}");
        assert_eq!(
            reply.header("content-length"),
            None,
            "{method} 304: {reply:?}"
        );
        assert_eq!(reply.header("etag"), Some(etag.as_str()), "{method}");
    }
    let head = raw.exchange(&request("HEAD", target.path, &[], 0), 0).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(body.len().to_string().as_str())
    );

    let get = raw
        .exchange(
            &request("GET", target.path, &[("If-Match", "\"stale\"")], 0),
            0,
        )
        .await;
    let head = raw
        .exchange(
            &request("HEAD", target.path, &[("If-Match", "\"stale\"")], 0),
            0,
        )
        .await;
    assert_eq!((get.status, head.status), (412, 412));
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
}

macro_rules! on_both_stacks {
    ($($name:ident),* $(,)?) => {
        mod axum_store {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::store().await).await;
                }
            )*
        }
        mod hyper_example {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::hyper_example().await).await;
                }
            )*
        }
    };
}

on_both_stacks!(
    stale_if_match_uploads_get_their_412,
    blind_uploads_get_their_428,
    malformed_if_match_uploads_get_their_400,
    expect_continue_gets_the_answer_without_sending_the_body,
    not_modified_heads_carry_no_content_length,
);
