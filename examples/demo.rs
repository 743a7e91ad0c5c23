//! A scripted tour of conditional requests against the store example.
//!
//! Run it:
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! It starts the store (`examples/store/app.rs`) in-process on a free loopback port, then plays
//! a few clients against it, printing every request and response: create-only `PUT`, `GET` and
//! revalidation (304), two editors of the same version (204 and 412, no lost update), the loser's
//! client recovering with `ConditionalUpdate` (refetch, re-apply the edit, write with the current
//! ETag), a write without a precondition (428), a create-only `PUT` on an
//! existing key (412), and a resumed download with `Range` + `If-Range` (206 while the tag is
//! current, the full 200 once it is stale). It exits with status 1 if any step gets a status
//! other than the one the RFC calls for.
//!
//! To poke at the same server by hand, see `cargo run --example store`; to watch
//! `ConditionalUpdate` under real contention, `cargo run --example writers`.

#[path = "store/app.rs"]
mod app;

use std::process::ExitCode;

use axum::serve::ListenerExt;
use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, IF_MATCH,
    IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower_conditional::{Change, ConditionalUpdate, Current, Outcome, UpdateError};

/// Response headers worth showing.
const SHOWN: [HeaderName; 5] = [
    ETAG,
    LAST_MODIFIED,
    CACHE_CONTROL,
    CONTENT_RANGE,
    CONTENT_TYPE,
];

const USAGE: &str = "usage: demo   (no arguments: runs the whole tour against an in-process store)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if let Some(arg) = args.first() {
        eprintln!("unknown argument {arg:?}\n{USAGE}");
        return ExitCode::from(2);
    }
    match run().await {
        Ok(()) => {
            println!("\nEvery step got the status RFC 9110 calls for.");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("\ndemo failed: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // TCP_NODELAY on every accepted socket (axum 0.8 spells `tcp_nodelay(true)` this way).
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app::router()).await });
    println!("store listening on http://{addr}");

    let demo = Demo::new(format!("http://{addr}"));
    let path = "/items/greeting";

    demo.step("1. Create an item, but only if the key is free (If-None-Match: *)");
    let created = demo
        .send(
            Method::PUT,
            path,
            &[(IF_NONE_MATCH, "*")],
            "Hello, conditional world!",
        )
        .await?
        .expect(StatusCode::CREATED)?;
    let v1 = created.etag()?;

    demo.step("2. Read it: the response carries its ETag");
    let read = demo
        .send(Method::GET, path, &[], "")
        .await?
        .expect(StatusCode::OK)?;
    same_tag(&read.etag()?, &v1)?;

    demo.step("3. Revalidate the cached copy: 304 Not Modified, no body");
    println!("   The layer answers from the store's validators, before the handler runs. (The");
    println!("   store's handler sets ETag and Last-Modified itself; an app whose handlers do not");
    println!(
        "   can turn on fill_response_validators(true) to give every 200 the 304's metadata.)"
    );
    demo.send(Method::GET, path, &[(IF_NONE_MATCH, &v1)], "")
        .await?
        .expect(StatusCode::NOT_MODIFIED)?;

    demo.step("4. Alice and Bob both read that version and edit it");
    println!("   Both hold ETag {v1}. Alice saves first:");
    let alice = demo
        .send(Method::PUT, path, &[(IF_MATCH, &v1)], "Hello from Alice!")
        .await?
        .expect(StatusCode::NO_CONTENT)?;
    let v2 = alice.etag()?;
    println!("   Bob saves his edit of the same version: refused, Alice's edit is not lost:");
    let bob = demo
        .send(Method::PUT, path, &[(IF_MATCH, &v1)], "Hello from Bob!")
        .await?
        .expect(StatusCode::PRECONDITION_FAILED)?;
    same_tag(&bob.etag()?, &v2)?;

    demo.step("5. Bob's client recovers: refetch, re-apply his edit, write with the current ETag");
    println!("   ConditionalUpdate does the loop (and would retry on another 412):");
    // Bob's edit as a function of the current text, so it can be re-applied to any version.
    let bobs_edit = |current: &Current| match current.content() {
        Some(text) => {
            let text = String::from_utf8_lossy(text);
            Change::write(format!("{} and Bob!", text.trim_end_matches('!')))
        }
        None => Change::Abort, // deleted meanwhile: nothing to edit
    };
    let outcome = ConditionalUpdate::new(tokio::time::sleep)
        .update(&mut demo.client_service(), demo.uri(path)?, bobs_edit)
        .await
        .map_err(|error| match error {
            UpdateError::Service(message) => message,
            other => other.to_string(),
        })?;
    let v3 = match outcome {
        Outcome::Written {
            status: StatusCode::NO_CONTENT,
            validators,
            ..
        } => validators
            .etag()
            .map(ToString::to_string)
            .ok_or("the 204 carries no ETag")?,
        other => return Err(format!("expected the edit to be written, got {other:?}")),
    };
    println!("   Both edits are in:");
    let merged = demo
        .send(Method::GET, path, &[], "")
        .await?
        .expect(StatusCode::OK)?;
    same_tag(&merged.etag()?, &v3)?;

    demo.step("6. A write that does not say which version it replaces: 428");
    demo.send(Method::PUT, path, &[], "blind overwrite")
        .await?
        .expect(StatusCode::PRECONDITION_REQUIRED)?;

    demo.step("7. Create-only PUT on a key that exists: 412, nothing overwritten");
    let exists = demo
        .send(Method::PUT, path, &[(IF_NONE_MATCH, "*")], "Hello again?")
        .await?
        .expect(StatusCode::PRECONDITION_FAILED)?;
    same_tag(&exists.etag()?, &v3)?;

    demo.step("8. A download in two parts: the first 10 bytes, then resume with If-Range");
    demo.send(Method::GET, path, &[(RANGE, "bytes=0-9")], "")
        .await?
        .expect(StatusCode::PARTIAL_CONTENT)?;
    println!("   The tag is still current, so the rest comes as a range:");
    demo.send(
        Method::GET,
        path,
        &[(RANGE, "bytes=10-"), (IF_RANGE, &v3)],
        "",
    )
    .await?
    .expect(StatusCode::PARTIAL_CONTENT)?;
    println!("   Someone edits the item; resuming with the old tag gets the whole new content:");
    demo.send(
        Method::PUT,
        path,
        &[(IF_MATCH, &v3)],
        "A completely new greeting.",
    )
    .await?
    .expect(StatusCode::NO_CONTENT)?;
    demo.send(
        Method::GET,
        path,
        &[(RANGE, "bytes=10-"), (IF_RANGE, &v3)],
        "",
    )
    .await?
    .expect(StatusCode::OK)?;

    Ok(())
}

/// The scripted client.
struct Demo {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A response, read whole.
struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
}

impl Demo {
    fn new(base: String) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Demo { base, client }
    }

    fn step(&self, title: &str) {
        println!("\n== {title}");
    }

    fn uri(&self, path: &str) -> Result<http::Uri, String> {
        format!("{}{path}", self.base)
            .parse()
            .map_err(|e| format!("{e}"))
    }

    /// Sends one request and prints it and its response.
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, &str)],
        body: &'static str,
    ) -> Result<Reply, String> {
        let mut request = Request::builder().method(method).uri(self.uri(path)?);
        for (name, value) in headers {
            request = request.header(
                name,
                HeaderValue::from_str(value).map_err(|e| e.to_string())?,
            );
        }
        let request = request
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .map_err(|e| e.to_string())?;
        let response = exchange(&self.client, request).await?;
        Ok(Reply {
            status: response.status(),
            headers: response.headers().clone(),
        })
    }

    /// The client as a tower service that prints every exchange, for `ConditionalUpdate`.
    fn client_service(
        &self,
    ) -> impl tower::Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = String>
    {
        let client = self.client.clone();
        tower::service_fn(move |request| {
            let client = client.clone();
            async move { Ok(exchange(&client, request).await?.map(Full::new)) }
        })
    }
}

/// Sends one request, printing it and its response, and reads the response whole.
async fn exchange(
    client: &Client<HttpConnector, Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<Response<Bytes>, String> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await;
    let body = body.to_bytes();
    let (method, path) = (&parts.method, parts.uri.path());
    println!("   > {method} {path}");
    for (name, value) in &parts.headers {
        let value = value.to_str().unwrap_or("<binary>");
        println!("   >   {}: {value}", title_case(name));
    }
    if !body.is_empty() {
        println!("   >   body: {:?}", String::from_utf8_lossy(&body));
    }
    let failed = |e: &dyn std::fmt::Display| format!("{method} {path}: {e}");
    let request = Request::from_parts(parts.clone(), Full::new(body));

    let response = client.request(request).await.map_err(|e| failed(&e))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| failed(&format!("reading the body: {e}")))?
        .to_bytes();

    println!("   < {}", status_line(parts.status));
    for name in &SHOWN {
        if let Some(value) = parts.headers.get(name) {
            let value = value.to_str().unwrap_or("<binary>");
            println!("   <   {}: {value}", title_case(name));
        }
    }
    if !body.is_empty() {
        println!("   <   body: {}", short_body(&parts.headers, &body));
    }
    Ok(Response::from_parts(parts, body))
}

impl Reply {
    fn expect(self, status: StatusCode) -> Result<Self, String> {
        if self.status == status {
            Ok(self)
        } else {
            Err(format!(
                "expected {}, got {}",
                status_line(status),
                status_line(self.status)
            ))
        }
    }

    fn etag(&self) -> Result<String, String> {
        self.headers
            .get(ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("the {} response carries no ETag", self.status.as_u16()))
    }
}

fn same_tag(got: &str, expected: &str) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("expected ETag {expected}, got {got}"))
    }
}

fn status_line(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

/// `if-none-match` -> `If-None-Match`, for readability (HTTP/1.1 names are case-insensitive).
fn title_case(name: &HeaderName) -> String {
    if name == ETAG {
        return String::from("ETag");
    }
    name.as_str()
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A problem document's `detail`, or the content as text, cut to one line.
fn short_body(headers: &http::HeaderMap, body: &[u8]) -> String {
    let problem = headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value == "application/problem+json");
    if problem
        && let Ok(json) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(detail) = json["detail"].as_str()
    {
        return format!("(problem) {}", cut(detail, 90));
    }
    format!("{:?}", cut(&String::from_utf8_lossy(body), 60))
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}
