//! Sending one request through a service and reading the whole answer.
#![allow(dead_code)]

use std::convert::Infallible;
use std::path::Path;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use tower::{Service, ServiceExt};

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: HeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("a text header"))
    }

    pub fn etag(&self) -> String {
        self.header(http::header::ETAG)
            .unwrap_or_else(|| panic!("no ETag on {self:?}"))
            .to_owned()
    }
}

pub async fn send<S, B>(
    service: S,
    method: Method,
    path: &str,
    headers: &[(HeaderName, &str)],
) -> Reply
where
    S: Service<Request<Empty<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = service
        .oneshot(request.body(Empty::new()).expect("a valid request"))
        .await
        .expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a whole body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub async fn get<S, B>(service: S, path: &str, headers: &[(HeaderName, &str)]) -> Reply
where
    S: Service<Request<Empty<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    send(service, Method::GET, path, headers).await
}

/// Writes `content` to `path` by replacing the file (a new inode, as deploys do).
pub fn replace(path: &Path, content: &[u8]) {
    let tmp = path.with_extension("tmp-replace");
    std::fs::write(&tmp, content).expect("write the new version");
    std::fs::rename(&tmp, path).expect("rename it over the old one");
}

/// Rewrites `path` in place with `content`, then gives it back the mtime it had: the change a
/// size-and-mtime validator cannot see.
pub fn rewrite_keeping_mtime(path: &Path, content: &[u8]) {
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    std::fs::write(path, content).expect("rewrite");
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(mtime).expect("set the old mtime back");
}
