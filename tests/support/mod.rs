//! A real server on a loopback socket and two clients for it: a pooled hyper client for ordinary
//! requests (HTTP/1.1, or HTTP/2 with prior knowledge: [`Server::http2`]), and a raw HTTP/1.1
//! connection for the `Expect: 100-continue` race tests.
//!
//! Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// No single exchange in these tests should take anywhere near this long.
const LIMIT: Duration = Duration::from_secs(5);

/// A client for a server on a loopback socket: the store app served by [`Server::start`] on
/// `127.0.0.1:0` (with TCP_NODELAY) for the life of the test runtime, or one at a given address.
#[derive(Clone)]
pub struct Server {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub version: http::Version,
    /// The body had ended when the head arrived: over HTTP/2, the HEADERS frame ended the
    /// stream and no DATA frame followed.
    pub ended_with_head: bool,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// A header as text; panics when it is missing.
    pub fn header(&self, name: HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("the {} response has no {name}: {self:?}", self.status))
            .to_str()
            .expect("a text header")
    }

    pub fn etag(&self) -> String {
        self.header(http::header::ETAG).to_owned()
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    /// The problem document of an error response.
    pub fn problem(&self) -> serde_json::Value {
        assert_eq!(
            self.header(http::header::CONTENT_TYPE),
            "application/problem+json"
        );
        serde_json::from_slice(&self.body).expect("a JSON problem document")
    }
}

impl Server {
    /// The server's loopback address, for raw connections.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn start(router: Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let listener = listener.tap_io(|stream| {
            stream.set_nodelay(true).expect("TCP_NODELAY");
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        Server::at(addr)
    }

    /// A client for a server already listening at `addr` (another process, for instance).
    pub fn at(addr: SocketAddr) -> Server {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Server { addr, client }
    }

    /// The same server through a client that speaks HTTP/2 only, without TLS (h2c, prior
    /// knowledge: the connection opens with the HTTP/2 preface).
    pub fn http2(&self) -> Server {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(connector);
        Server {
            addr: self.addr,
            client,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        self.send_within(LIMIT, method, path, headers, body).await
    }

    /// [`Server::send`], answered within `limit` (large uploads take longer).
    pub async fn send_within(
        &self,
        limit: Duration,
        method: Method,
        path: &str,
        headers: &[(HeaderName, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        let request = request
            .body(Full::new(body.into()))
            .expect("a valid request");
        let exchange = async {
            let response = self.client.request(request).await.expect("a response");
            let (parts, body) = response.into_parts();
            let ended_with_head = http_body::Body::is_end_stream(&body);
            let body = body.collect().await.expect("a whole body").to_bytes();
            Reply {
                status: parts.status,
                version: parts.version,
                ended_with_head,
                headers: parts.headers,
                body,
            }
        };
        timeout(limit, exchange).await.expect("answered in time")
    }

    pub async fn get(&self, path: &str, headers: &[(HeaderName, &str)]) -> Reply {
        self.send(Method::GET, path, headers, Bytes::new()).await
    }

    pub async fn put(
        &self,
        path: &str,
        headers: &[(HeaderName, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        self.send(Method::PUT, path, headers, body).await
    }

    pub async fn delete(&self, path: &str, headers: &[(HeaderName, &str)]) -> Reply {
        self.send(Method::DELETE, path, headers, Bytes::new()).await
    }

    /// Creates `path` with `content` (create-only) and returns its ETag.
    pub async fn create(&self, path: &str, content: &'static str) -> String {
        let reply = self
            .put(path, &[(http::header::IF_NONE_MATCH, "*")], content)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.etag()
    }

    /// Starts a `PUT` whose body is held back until [`HeldPut::finish`]: sends the head with
    /// `Expect: 100-continue` and waits for `100 Continue`.
    ///
    /// Hyper sends `100 Continue` when the handler first reads the body, which is after the
    /// conditional layer has evaluated the preconditions. So when this returns, the request has
    /// passed the layer's check and its handler is waiting, deterministically, for the body:
    /// the window in which a concurrent writer can slip in between check and write.
    pub async fn held_put(
        &self,
        path: &str,
        headers: &[(HeaderName, &str)],
        body: &'static str,
    ) -> HeldPut {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let mut head = format!(
            "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.expect("send head");

        // Read exactly the interim response, nothing past it.
        let mut interim = Vec::new();
        let read = async {
            while !interim.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                let n = stream.read(&mut byte).await.expect("read");
                assert_ne!(
                    n,
                    0,
                    "connection closed before 100 Continue: {:?}",
                    String::from_utf8_lossy(&interim)
                );
                interim.push(byte[0]);
            }
        };
        timeout(LIMIT, read).await.expect("100 Continue in time");
        let interim = String::from_utf8(interim).expect("ASCII");
        assert!(
            interim.starts_with("HTTP/1.1 100 Continue\r\n"),
            "expected 100 Continue (the layer answered instead?): {interim:?}"
        );
        HeldPut { stream, body }
    }
}

/// A `PUT` that passed the layer's check and waits for its body; see [`Server::held_put`].
pub struct HeldPut {
    stream: TcpStream,
    body: &'static str,
}

impl HeldPut {
    /// Sends the body and reads the final response.
    pub async fn finish(mut self) -> Reply {
        let exchange = async {
            self.stream
                .write_all(self.body.as_bytes())
                .await
                .expect("send body");
            let mut raw = Vec::new();
            self.stream.read_to_end(&mut raw).await.expect("read");
            raw
        };
        let raw = timeout(LIMIT, exchange).await.expect("answered in time");
        parse_response(&raw)
    }
}

/// Parses one HTTP/1.1 response with a `Content-Length` body (the connection was closed after it).
fn parse_response(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let code = status_line
        .split(' ')
        .nth(1)
        .expect("a status code")
        .parse::<u16>()
        .expect("a numeric status");
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("a header line");
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).expect("a header name"),
            value.trim().parse().expect("a header value"),
        );
    }
    Reply {
        status: StatusCode::from_u16(code).expect("a status"),
        version: http::Version::HTTP_11,
        ended_with_head: false,
        headers,
        body: Bytes::copy_from_slice(&raw[split + 4..]),
    }
}
