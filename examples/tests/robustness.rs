//! Faults and concurrent writers against the store example over real TCP: mixed deletes and
//! writes never lose an update or resurrect an item, a client that disconnects mid-request
//! changes nothing, and refused writes (400, 412, 428, 503) leave the stored state untouched.

#[path = "../store/app.rs"]
mod app;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{ConditionalLayer, ETag, Lookup};

use support::Server;

/// One successful write, as its client saw it: the version it was based on and what it left.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Version {
    Missing,
    Tag(String),
}

#[derive(Debug)]
struct Write {
    based_on: Version,
    left: Version,
}

/// Writers that GET the item, then replace it (`If-Match`), delete it (`If-Match`) or, when it is
/// missing, create it (`If-None-Match: *`), all on one key, each write with unique content.
///
/// Every successful write consumed the version it was based on. Lost updates would show as one
/// version consumed twice; a resurrection as more items left than creates allow; a half-written
/// item as a body that no client wrote, or whose ETag is not its hash.
#[tokio::test]
async fn mixed_deletes_and_conditional_writes_never_lose_or_resurrect() {
    const TASKS: usize = 8;
    const ROUNDS: usize = 40;
    let server = Server::start(app::router()).await;
    let path = "/items/contested";

    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let server = server.clone();
        tasks.spawn(async move {
            let mut writes = Vec::new();
            let mut written = Vec::new();
            let mut seen = Vec::new();
            for round in 0..ROUNDS {
                let content = format!("task {task} round {round}");
                let read = server.get(path, &[]).await;
                let write = match read.status {
                    StatusCode::NOT_FOUND => {
                        let reply = server
                            .put(path, &[(IF_NONE_MATCH, "*")], content.clone())
                            .await;
                        match reply.status {
                            StatusCode::CREATED => Some(Write {
                                based_on: Version::Missing,
                                left: Version::Tag(reply.etag()),
                            }),
                            StatusCode::PRECONDITION_FAILED | StatusCode::PRECONDITION_REQUIRED => {
                                None
                            }
                            other => panic!("create: unexpected {other}: {reply:?}"),
                        }
                    }
                    StatusCode::OK => {
                        let etag = read.etag();
                        seen.push((read.body.clone(), etag.clone()));
                        if (task + round) % 3 == 0 {
                            let reply = server.delete(path, &[(IF_MATCH, &etag)]).await;
                            match reply.status {
                                StatusCode::NO_CONTENT => Some(Write {
                                    based_on: Version::Tag(etag),
                                    left: Version::Missing,
                                }),
                                StatusCode::PRECONDITION_FAILED | StatusCode::NOT_FOUND => None,
                                other => panic!("delete: unexpected {other}: {reply:?}"),
                            }
                        } else {
                            let reply = server
                                .put(path, &[(IF_MATCH, &etag)], content.clone())
                                .await;
                            match reply.status {
                                StatusCode::NO_CONTENT => Some(Write {
                                    based_on: Version::Tag(etag),
                                    left: Version::Tag(reply.etag()),
                                }),
                                // 412: changed since the GET. 428 cannot happen with If-Match;
                                // 201 would mean a write against a deleted item resurrected it.
                                StatusCode::PRECONDITION_FAILED => None,
                                other => panic!("replace: unexpected {other}: {reply:?}"),
                            }
                        }
                    }
                    other => panic!("read: unexpected {other}: {read:?}"),
                };
                if let Some(write) = write {
                    if matches!(write.left, Version::Tag(_)) {
                        written.push(content);
                    }
                    writes.push(write);
                }
            }
            (writes, written, seen)
        });
    }

    let mut writes = Vec::new();
    let mut written = HashSet::new();
    let mut seen = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (task_writes, task_written, task_seen) = result.expect("task finished");
        writes.extend(task_writes);
        written.extend(task_written);
        seen.extend(task_seen);
    }

    // Every body ever read was written whole by some client, under its own hash.
    for (body, etag) in &seen {
        let text = std::str::from_utf8(body).expect("UTF-8");
        assert!(written.contains(text), "a body nobody wrote: {text:?}");
        assert_eq!(
            etag,
            &ETag::from_content(body).to_string(),
            "tag is the body's hash"
        );
    }

    // No version was consumed twice: each tagged version is the base of at most one write.
    let mut consumed: HashMap<&Version, usize> = HashMap::new();
    for write in &writes {
        if write.based_on != Version::Missing {
            *consumed.entry(&write.based_on).or_default() += 1;
        }
    }
    for (version, times) in &consumed {
        assert_eq!(
            *times, 1,
            "{version:?} was the base of {times} successful writes"
        );
    }
    // Every consumed version was produced by a successful write (the item starts missing).
    let produced: HashSet<&Version> = writes.iter().map(|w| &w.left).collect();
    for version in consumed.keys() {
        assert!(produced.contains(version), "{version:?} came from nowhere");
    }

    // Creates and deletes alternate: the item exists at the end exactly when there was one more
    // create than delete. Anything else is a resurrection or a double delete.
    let creates = writes
        .iter()
        .filter(|w| w.based_on == Version::Missing)
        .count();
    let deletes = writes.iter().filter(|w| w.left == Version::Missing).count();
    let final_read = server.get(path, &[]).await;
    match final_read.status {
        StatusCode::OK => {
            assert_eq!(creates, deletes + 1, "{creates} creates, {deletes} deletes");
            let last = Version::Tag(final_read.etag());
            assert!(produced.contains(&last), "the final version was written");
            assert!(
                !consumed.contains_key(&last),
                "the final version is unconsumed"
            );
        }
        StatusCode::NOT_FOUND => {
            assert_eq!(creates, deletes, "{creates} creates, {deletes} deletes");
        }
        other => panic!("final read: {other}"),
    }
    assert!(
        deletes > 0 && creates > 1,
        "the mix exercised deletes and re-creates"
    );
}

/// A client sends a PUT with a matching `If-Match` and half its body, then disconnects: the
/// write never happens.
#[tokio::test]
async fn a_client_that_disconnects_mid_request_changes_nothing() {
    let server = Server::start(app::router()).await;
    let path = "/items/doc";
    let etag = server.create(path, "original").await;

    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nIf-Match: {etag}\r\nContent-Length: 100\r\n\r\nhalf of the",
        server.addr()
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    stream.shutdown().await.expect("half-close");
    let mut rest = Vec::new();
    // Whatever the server answers (or nothing), the connection ends.
    let _ = stream.read_to_end(&mut rest).await;
    drop(stream);

    let after = server.get(path, &[]).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.text(), "original");
    assert_eq!(after.etag(), etag);
}

/// Every kind of refused write leaves content and ETag as they were.
#[tokio::test]
async fn refused_writes_leave_the_stored_state_untouched() {
    let server = Server::start(app::router()).await;
    let path = "/items/kept";
    let etag = server.create(path, "keep me").await;

    let refusals: [(&[(http::HeaderName, &str)], StatusCode); 4] = [
        (&[(IF_MATCH, "garbage")], StatusCode::BAD_REQUEST),
        (&[(IF_MATCH, "\"stale\"")], StatusCode::PRECONDITION_FAILED),
        (&[(IF_NONE_MATCH, "*")], StatusCode::PRECONDITION_FAILED),
        (&[], StatusCode::PRECONDITION_REQUIRED),
    ];
    for (headers, status) in refusals {
        for method in [Method::PUT, Method::DELETE] {
            let reply = server
                .send(method.clone(), path, headers, "overwritten")
                .await;
            assert_eq!(reply.status, status, "{method} {headers:?}: {reply:?}");
            let after = server.get(path, &[]).await;
            assert_eq!(after.text(), "keep me", "after {method} {headers:?}");
            assert_eq!(after.etag(), etag, "after {method} {headers:?}");
        }
    }
}

/// A write refused with 503 because the validator source failed never reaches the handler, so
/// the stored state is untouched; a follow-up read (served unevaluated) shows it.
#[tokio::test]
async fn a_write_refused_with_503_leaves_the_stored_state_untouched() {
    let stored = Arc::new(Mutex::new(Bytes::from_static(b"v1")));
    let failing = |_: &Parts| async { Err::<Lookup, _>("database unreachable") };
    let handler = {
        let stored = stored.clone();
        service_fn(move |request: Request<String>| {
            let stored = stored.clone();
            async move {
                if request.method() == Method::PUT {
                    *stored.lock().unwrap() = Bytes::from(request.into_body());
                }
                let body = stored.lock().unwrap().clone();
                let mut response = Response::new(String::from_utf8(body.to_vec()).unwrap());
                response
                    .headers_mut()
                    .insert(ETAG, ETag::from_content(&body).into());
                Ok::<_, Infallible>(response)
            }
        })
    };
    let service = ConditionalLayer::new(failing).layer(handler);

    let put = Request::put("/doc")
        .header(IF_MATCH, ETag::from_content(b"v1").to_string())
        .body(String::from("v2"))
        .unwrap();
    let reply = service.clone().oneshot(put).await.unwrap();
    assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(&stored.lock().unwrap()[..], b"v1");

    let read = service
        .oneshot(Request::get("/doc").body(String::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.headers()[ETAG], ETag::from_content(b"v1").to_string());
}
