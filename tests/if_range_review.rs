//! Review findings on If-Range after a race (issue 21 x issue 19), kept as regression tests: a
//! 206 whose `Last-Modified` may be a later version's date sent as "now" is never taken for the
//! named version, and a true `If-Range` on a tag that looks coded gets its 206 with
//! encoding-aware tags.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::header::{CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use tower::ServiceExt;
use tower_conditional::{ConditionalLayer, ETag, LastModified, Lookup, Validators};

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
}

#[tokio::test]
async fn a_206_of_a_future_dated_version_is_not_taken_for_the_named_one() {
    // Start early in a second, so that the look-up, the racing write and the 206 share it.
    while unix_now().subsec_millis() >= 300 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = unix_now().as_secs();
    let doc = Arc::new(Mutex::new((second, &b"AAAAAAAA"[..])));
    let source = {
        let doc = Arc::clone(&doc);
        move |_: &Parts| {
            let mut current = doc.lock().expect("lock");
            let date = LastModified::from_unix_seconds(current.0).expect("a date");
            // A write racing the handler's read, in the same second: dated one second later.
            *current = (current.0 + 1, &b"BBBBBBBB"[..]);
            let validators = Validators::new()
                .with_last_modified(date)
                .with_strong_last_modified(true);
            async move { Ok::<_, Infallible>(Lookup::Present(validators)) }
        }
    };
    let serve = {
        let doc = Arc::clone(&doc);
        move |request: Request<Body>| {
            let (date, content) = *doc.lock().expect("lock");
            async move {
                // The crate's own header value: a future date is sent as now (§8.8.2.1).
                let modified = LastModified::from_unix_seconds(date)
                    .expect("a date")
                    .to_header_value();
                let response = Response::builder().header(LAST_MODIFIED, modified);
                if request.headers().contains_key(RANGE) {
                    return response
                        .status(StatusCode::PARTIAL_CONTENT)
                        .header(CONTENT_RANGE, "bytes 4-7/8")
                        .body(Body::from(&content[4..]))
                        .expect("response");
                }
                response.body(Body::from(content)).expect("response")
            }
        }
    };
    let app = Router::new()
        .route("/doc", get(serve))
        .route_layer(ConditionalLayer::new(source));
    let held = LastModified::from_unix_seconds(second)
        .expect("a date")
        .to_header_value();
    let resume = Request::get("/doc")
        .header(RANGE, "bytes=4-")
        .header(IF_RANGE, held)
        .body(Body::empty())
        .expect("request");
    let reply = app.oneshot(resume).await.expect("infallible");
    let status = reply.status();
    let body = axum::body::to_bytes(reply.into_body(), 1024)
        .await
        .expect("body");
    if status == StatusCode::PARTIAL_CONTENT {
        assert_eq!(
            &body[..],
            b"AAAA",
            "a 206 of v2 spliced onto the client's v1"
        );
    } else {
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
}

fn coded_router(base: &'static str, tagged_206: bool) -> Router {
    let source = move |_: &Parts| {
        let validators = Validators::new().with_etag(ETag::strong(base).expect("a tag"));
        async move { Ok::<_, Infallible>(Lookup::Present(validators)) }
    };
    let serve = move |request: Request<Body>| async move {
        let mut response = Response::builder();
        if request.headers().contains_key(RANGE) {
            response = response
                .status(StatusCode::PARTIAL_CONTENT)
                .header(CONTENT_RANGE, "bytes 4-7/8");
            if tagged_206 {
                response = response.header(ETAG, format!("\"{base}\""));
            }
            return response.body(Body::from("BBBB")).expect("response");
        }
        response
            .header(ETAG, format!("\"{base}\""))
            .body(Body::from("AAAABBBB"))
            .expect("response")
    };
    Router::new()
        .route("/doc", get(serve))
        .route_layer(ConditionalLayer::new(source).encoding_aware_etags(true))
}

#[tokio::test]
async fn a_true_if_range_on_a_tag_that_looks_coded_gets_its_206() {
    for base in ["v1", "doc-pt-br"] {
        for tagged in [false, true] {
            let app = coded_router(base, tagged);
            let first = app
                .clone()
                .oneshot(Request::get("/doc").body(Body::empty()).expect("request"))
                .await
                .expect("infallible");
            let issued = first.headers()[ETAG].clone();
            let again = Request::get("/doc")
                .header(RANGE, "bytes=4-")
                .header(IF_RANGE, issued.clone())
                .body(Body::empty())
                .expect("request");
            let status = app.oneshot(again).await.expect("infallible").status();
            assert_eq!(
                status,
                StatusCode::PARTIAL_CONTENT,
                "If-Range {issued:?}, 206 tagged: {tagged}"
            );
        }
    }
}
