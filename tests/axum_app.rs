//! The app a newcomer writes from the README's quickstart, driven through axum: the `Checked`
//! extractor, compare-and-set with `is_current` / `refusal`, the crate's responses returned as
//! they are, and a percent-encoded id that revalidates because the source keys on the decoded
//! path parameter the handlers see.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_conditional::{
    Checked, ConditionalLayer, ETag, Lookup, ResourceState, Validators, response,
};

#[derive(Clone, Default)]
struct Db(Arc<Mutex<HashMap<String, u64>>>);

impl Db {
    fn state(&self, id: &str) -> ResourceState {
        let version = self.0.lock().unwrap().get(id).copied();
        version
            .map(|v| Validators::new().with_etag(ETag::from(v)))
            .into()
    }
}

#[derive(Clone)]
struct DocId(String);

async fn doc_id(Path(id): Path<String>, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(DocId(id));
    next.run(request).await
}

async fn read(State(db): State<Db>, Path(id): Path<String>) -> Response {
    match db.0.lock().unwrap().get(&id) {
        Some(version) => ([(header::ETAG, ETag::from(*version).to_string())], id).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn write(State(db): State<Db>, Path(id): Path<String>, checked: Checked) -> Response {
    let mut docs = db.0.lock().unwrap();
    let current = docs.get(&id).copied();
    let state: ResourceState = current
        .map(|v| Validators::new().with_etag(ETag::from(v)))
        .into();
    if !checked.is_current(&state) {
        return checked.refusal(&state).into_response();
    }
    let version = current.map_or(1, |v| v + 1);
    docs.insert(id, version);
    (
        StatusCode::NO_CONTENT,
        [(header::ETAG, ETag::from(version).to_string())],
    )
        .into_response()
}

fn app(db: Db) -> Router {
    let source = {
        let db = db.clone();
        move |head: &Parts| {
            let state = head.extensions.get::<DocId>().map(|DocId(id)| db.state(id));
            let lookup = state.map_or(Lookup::Unknown, Lookup::from);
            async move { Ok::<_, Infallible>(lookup) }
        }
    };
    Router::new()
        .route("/docs/{id}", get(read).put(write))
        .route_layer(ConditionalLayer::new(source).require_preconditions([Method::PUT]))
        .route_layer(middleware::from_fn(doc_id))
        // A route the layer does not cover, whose handler still asks for `Checked`.
        .route("/unguarded/{id}", post(write))
        .with_state(db)
}

async fn call(app: &Router, method: Method, uri: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_percent_encoded_id_revalidates_with_a_304() {
    let db = Db::default();
    db.0.lock().unwrap().insert("a b".to_owned(), 3);
    let app = app(db);

    let full = call(&app, Method::GET, "/docs/a%20b", &[]).await;
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()[header::ETAG], "\"3\"");
    let fresh = call(
        &app,
        Method::GET,
        "/docs/a%20b",
        &[("if-none-match", "\"3\"")],
    )
    .await;
    assert_eq!(fresh.status(), StatusCode::NOT_MODIFIED);
    let write = call(&app, Method::PUT, "/docs/a%20b", &[("if-match", "\"3\"")]).await;
    assert_eq!(
        write.status(),
        StatusCode::NO_CONTENT,
        "the same key as the handler's"
    );
}

#[tokio::test]
async fn checked_extracts_and_compare_and_set_takes_a_few_lines() {
    let db = Db::default();
    let app = app(db.clone());

    let created = call(&app, Method::PUT, "/docs/x", &[("if-none-match", "*")]).await;
    assert_eq!(created.status(), StatusCode::NO_CONTENT);
    assert_eq!(created.headers()[header::ETAG], "\"1\"");
    let blind = call(&app, Method::PUT, "/docs/x", &[]).await;
    assert_eq!(blind.status(), StatusCode::PRECONDITION_REQUIRED);
    let stale = call(&app, Method::PUT, "/docs/x", &[("if-match", "\"0\"")]).await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.headers()[header::ETAG], "\"1\"");
    assert_eq!(
        db.0.lock().unwrap()["x"],
        1,
        "refused writes change nothing"
    );
}

/// The compare-and-set catches what the layer's check cannot: a write between check and set.
/// Here the source is a step behind the store (a replica, a cache), so the layer's check passes
/// on version 1 while the row is at 2: the handler's `is_current` refuses, with a 412 naming the
/// current version.
#[tokio::test]
async fn a_write_that_lost_the_race_gets_a_412_with_the_current_tag() {
    let db = Db::default();
    db.0.lock().unwrap().insert("x".to_owned(), 2);
    let behind = |_: &Parts| async {
        let v1 = Validators::new().with_etag(ETag::from(1u64));
        Ok::<_, Infallible>(Lookup::Present(v1))
    };
    let app = Router::new()
        .route("/docs/{id}", axum::routing::put(write))
        .route_layer(ConditionalLayer::new(behind))
        .with_state(db.clone());

    let lost = call(&app, Method::PUT, "/docs/x", &[("if-match", "\"1\"")]).await;
    assert_eq!(lost.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(lost.headers()[header::ETAG], "\"2\"");
    assert_eq!(db.0.lock().unwrap()["x"], 2, "nothing was written");
}

#[tokio::test]
async fn a_handler_reached_without_the_layer_answers_a_500_naming_it() {
    let app = app(Db::default());
    let answer = call(&app, Method::POST, "/unguarded/x", &[]).await;
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        answer.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("ConditionalLayer"),
        "{problem}"
    );
}

#[tokio::test]
async fn option_checked_extracts_none_without_the_layer() {
    async fn maybe(checked: Option<Checked>) -> &'static str {
        if checked.is_some() {
            "checked"
        } else {
            "unchecked"
        }
    }
    let app: Router = Router::new().route("/", post(maybe));
    let answer = call(&app, Method::POST, "/", &[]).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "unchecked");
}

#[tokio::test]
async fn the_crates_responses_are_axum_responses_as_they_are() {
    async fn refuse() -> Response {
        response::precondition_required().into_response()
    }
    let app: Router = Router::new().route("/", get(refuse));
    let answer = call(&app, Method::GET, "/", &[]).await;
    assert_eq!(answer.status(), StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(answer.headers()[header::CACHE_CONTROL], "no-store");
}
