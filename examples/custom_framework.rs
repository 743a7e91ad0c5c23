//! Conditional requests without tower: a made-up minimal framework calls the evaluator directly.
//!
//! Run it:
//!
//! ```text
//! cargo run --example custom_framework
//! ```
//!
//! It sends a scripted sequence of requests to the app below and prints each status; it asserts
//! every status, so it exits non-zero if one is not what RFC 9110 §13 says it should be.
//!
//! The framework is as small as a framework gets: an app is a function from
//! `http::Request<Bytes>` to `http::Response<Bytes>`, and nothing is async. The whole integration
//! is three lines in `<Notes as App>::handle`: build the `ResourceState`, call `evaluate`, and
//! send `Decision::response` when there is one.

use std::collections::HashMap;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LAST_MODIFIED};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tower_conditional::{Decision, ETag, LastModified, ResourceState, Validators, evaluate};

/// The made-up framework: anything that turns a request into a response is an app.
trait App {
    fn handle(&mut self, request: Request<Bytes>) -> Response<Bytes>;
}

/// An app with notes under `/notes/{id}`: GET, HEAD and PUT.
#[derive(Default)]
struct Notes {
    by_path: HashMap<String, Note>,
}

struct Note {
    text: Bytes,
    etag: ETag,
    modified: LastModified,
}

impl Notes {
    /// What the evaluator needs to know about `path` right now.
    fn state(&self, path: &str) -> ResourceState {
        match self.by_path.get(path) {
            Some(note) => ResourceState::Present(
                Validators::new()
                    .with_etag(note.etag.clone())
                    .with_last_modified(note.modified),
            ),
            None => ResourceState::Missing,
        }
    }
}

impl App for Notes {
    fn handle(&mut self, request: Request<Bytes>) -> Response<Bytes> {
        // The normal checks come first (RFC 9110 §13.2.1): a request that would not get a 2xx
        // without its preconditions gets its 404 or 405, whatever they say.
        let path = request.uri().path().to_owned();
        if !path.starts_with("/notes/") {
            return status(StatusCode::NOT_FOUND);
        }
        let method = request.method().clone();
        if !matches!(method, Method::GET | Method::HEAD | Method::PUT) {
            let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
            let allow = HeaderValue::from_static("GET, HEAD, PUT");
            response.headers_mut().insert(ALLOW, allow);
            return response;
        }

        // The integration: evaluate the preconditions against the current state and answer
        // 304, 412 or 400 without performing the method.
        let state = self.state(&path);
        let decision: Decision = evaluate(&method, request.headers(), &state);
        if let Some(response) = decision.response(&state) {
            // The library's answers carry their whole body; this framework wants `Bytes`.
            return response.map(Into::into);
        }

        // Perform the method. `&mut self` is held from the check above to the write below, so
        // no other request can change the note in between: the check cannot go stale (the
        // "lock held across check and write" way to prevent lost updates).
        match method {
            Method::GET | Method::HEAD => match self.by_path.get(&path) {
                Some(note) => Response::builder()
                    .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                    .header(ETAG, &note.etag)
                    .header(LAST_MODIFIED, note.modified.to_header_value())
                    .body(if method == Method::HEAD {
                        Bytes::new()
                    } else {
                        note.text.clone()
                    })
                    .expect("valid response parts"),
                None => status(StatusCode::NOT_FOUND),
            },
            _ => {
                let text = request.into_body();
                let etag = ETag::from_content(&text);
                let note = Note {
                    text,
                    etag: etag.clone(),
                    modified: LastModified::now(),
                };
                let created = self.by_path.insert(path, note).is_none();
                let mut response = status(if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::NO_CONTENT
                });
                response.headers_mut().insert(ETAG, etag.into());
                response
            }
        }
    }
}

fn status(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// Sends `request` to `app`, prints the exchange and checks the status.
#[track_caller]
fn expect(
    app: &mut impl App,
    request: Request<Bytes>,
    expected: StatusCode,
    what: &str,
) -> Response<Bytes> {
    let line = format!("{} {}", request.method(), request.uri());
    let response = app.handle(request);
    println!("{line:<16} -> {:<28} {what}", response.status().to_string());
    assert_eq!(response.status(), expected, "{what}");
    response
}

fn main() {
    let mut app = Notes::default();
    let uri = "/notes/1";
    let put = |headers: &[(http::HeaderName, &str)], text: &'static str| {
        let mut builder = Request::put(uri);
        for (name, value) in headers {
            builder = builder.header(name, *value);
        }
        builder.body(Bytes::from_static(text.as_bytes())).unwrap()
    };
    let get = |headers: &[(http::HeaderName, &str)]| {
        let mut builder = Request::get(uri);
        for (name, value) in headers {
            builder = builder.header(name, *value);
        }
        builder.body(Bytes::new()).unwrap()
    };

    expect(
        &mut app,
        get(&[]),
        StatusCode::NOT_FOUND,
        "nothing there yet",
    );
    expect(
        &mut app,
        put(&[(IF_NONE_MATCH, "*")], "buy milk"),
        StatusCode::CREATED,
        "create-only PUT (If-None-Match: *) on a missing note",
    );

    let first = expect(&mut app, get(&[]), StatusCode::OK, "plain GET");
    let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
    assert_eq!(first.body(), "buy milk");

    let not_modified = expect(
        &mut app,
        get(&[(IF_NONE_MATCH, &etag)]),
        StatusCode::NOT_MODIFIED,
        "revalidation with the current ETag",
    );
    assert_eq!(not_modified.headers()[ETAG], *etag);
    assert!(not_modified.body().is_empty());

    let failed = expect(
        &mut app,
        put(&[(IF_MATCH, "\"stale\"")], "buy oat milk"),
        StatusCode::PRECONDITION_FAILED,
        "write against a stale ETag",
    );
    assert_eq!(failed.headers()[ETAG], *etag, "412 names the current ETag");

    let written = expect(
        &mut app,
        put(&[(IF_MATCH, &etag)], "buy oat milk"),
        StatusCode::NO_CONTENT,
        "write against the current ETag",
    );
    assert_ne!(written.headers()[ETAG], *etag, "a write makes a new ETag");

    expect(
        &mut app,
        put(&[(IF_MATCH, "not-a-tag")], "buy soy milk"),
        StatusCode::BAD_REQUEST,
        "malformed If-Match: never let a write through",
    );
    expect(
        &mut app,
        get(&[(IF_NONE_MATCH, &etag)]),
        StatusCode::OK,
        "revalidation with the old ETag: changed",
    );
    expect(
        &mut app,
        put(&[(IF_NONE_MATCH, "*")], "buy rice milk"),
        StatusCode::PRECONDITION_FAILED,
        "create-only PUT on an existing note",
    );

    // Nothing above was refused with a write performed anyway.
    let last = expect(&mut app, get(&[]), StatusCode::OK, "final state");
    assert_eq!(last.body(), "buy oat milk");
    println!("all statuses as expected");
}
