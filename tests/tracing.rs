//! The `tracing` feature: one event per decision, with method, path, deciding condition and
//! status. (The crate's dev-dependency on itself turns the feature on for `cargo test`.)
#![cfg(feature = "tracing")]

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};

use http::request::Parts;
use http::{Method, Request, Response, header};
use tower::{Layer, ServiceExt, service_fn};
use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records every event's fields as `name=value` strings.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Vec<String>>>>);

struct Fields<'a>(&'a mut Vec<String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push(format!("{}={:?}", field.name(), value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push(format!("{}={}", field.name(), value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push(format!("{}={}", field.name(), value));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "tower_conditional"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

async fn run(method: Method, header: Option<(&'static str, &'static str)>) -> Vec<Vec<String>> {
    let source = |_: &Parts| async {
        Ok::<_, Infallible>(Lookup::Present(
            Validators::new().with_etag(ETag::from_static("\"v1\"")),
        ))
    };
    let service = ConditionalLayer::new(source)
        .require_preconditions([Method::PUT])
        .layer(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    let mut request = Request::builder().method(method).uri("/items/a");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let recorder = Recorder::default();
    let guard = tracing::subscriber::set_default(recorder.clone());
    service
        .oneshot(request.body(String::new()).unwrap())
        .await
        .unwrap();
    drop(guard);
    recorder.0.lock().unwrap().clone()
}

#[track_caller]
fn assert_one_event(events: &[Vec<String>], expected: &[&str]) {
    assert_eq!(events.len(), 1, "one event per decision: {events:?}");
    for field in expected {
        assert!(
            events[0].iter().any(|f| f == field),
            "{field} missing in {:?}",
            events[0]
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_304_is_traced_with_method_path_condition_and_status() {
    let events = run(
        Method::GET,
        Some((header::IF_NONE_MATCH.as_str(), "\"v1\"")),
    )
    .await;
    assert_one_event(
        &events,
        &[
            "method=GET",
            "path=/items/a",
            "condition=If-None-Match",
            "status=304",
        ],
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_412_and_a_428_are_traced() {
    let events = run(Method::PUT, Some((header::IF_MATCH.as_str(), "\"old\""))).await;
    assert_one_event(&events, &["method=PUT", "condition=If-Match", "status=412"]);
    let events = run(Method::PUT, None).await;
    assert_one_event(&events, &["method=PUT", "status=428"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_that_proceeds_is_traced_once() {
    let events = run(Method::PUT, Some((header::IF_MATCH.as_str(), "\"v1\""))).await;
    assert_one_event(&events, &["condition=If-Match", "outcome=proceed"]);
}
