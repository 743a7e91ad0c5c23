//! Sources written like axum handlers (`source_fn_with_state`, `ByRoute`), validators as
//! response parts, and `Checked::version` / `Checked::lost_race`, driven through a real axum
//! router on a loopback socket.

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{CACHE_CONTROL, ETAG, IF_MATCH, IF_NONE_MATCH, VARY};
use http::{HeaderValue, Method, StatusCode};
use support::Server;
use tower_conditional::{
    ByRoute, Checked, ConditionalLayer, ETag, Lookup, Validators, source_fn, source_fn_with_state,
};

/// The state a source reads: which names exist, and what the source was asked about.
#[derive(Clone, Default)]
struct Seen {
    names: Arc<Mutex<Vec<String>>>,
    handled: Arc<AtomicUsize>,
}

fn validators(version: u64) -> Validators {
    Validators::new()
        .with_etag(ETag::from(version))
        .with_cache_control(HeaderValue::from_static("no-cache"))
        .with_vary(HeaderValue::from_static("Accept"))
}

async fn source(Path(name): Path<String>, State(seen): State<Seen>) -> Result<Lookup, Infallible> {
    seen.names.lock().unwrap().push(name.clone());
    Ok(match name.as_str() {
        "a b" => validators(3).into(),
        _ => Lookup::Missing,
    })
}

async fn handler(State(seen): State<Seen>) -> Response {
    seen.handled.fetch_add(1, Ordering::SeqCst);
    (validators(3), "hello").into_response()
}

fn app(seen: Seen) -> Router {
    let layer = ConditionalLayer::new(source_fn_with_state(seen.clone(), source));
    Router::new()
        .route("/docs/{name}", get(handler).put(handler))
        .route_layer(layer.require_preconditions([Method::PUT]))
        .with_state(seen)
}

#[tokio::test]
async fn the_source_sees_the_percent_decoded_path_parameter_and_its_state() {
    let seen = Seen::default();
    let server = Server::start(app(seen.clone())).await;
    let reply = server.get("/docs/a%20b", &[(IF_NONE_MATCH, "\"3\"")]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(*seen.names.lock().unwrap(), ["a b"]);
    assert_eq!(seen.handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_200_carries_the_same_metadata_as_the_layers_304() {
    let server = Server::start(app(Seen::default())).await;
    let ok = server.get("/docs/a%20b", &[]).await;
    let not_modified = server.get("/docs/a%20b", &[(IF_NONE_MATCH, "\"3\"")]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    for name in [ETAG, CACHE_CONTROL, VARY] {
        assert_eq!(
            ok.headers.get(&name),
            not_modified.headers.get(&name),
            "{name}"
        );
        assert!(ok.headers.contains_key(&name), "{name}");
    }
}

#[tokio::test]
async fn an_extractor_rejection_is_the_clients_answer_and_the_handler_never_runs() {
    // `Path<u64>` rejects a name that is not a number: 400, with axum's own message.
    let handled = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&handled);
    let source = source_fn(|Path(_id): Path<u64>| async {
        Ok::<_, Infallible>(Lookup::from(validators(1)))
    });
    let app = Router::new()
        .route(
            "/items/{id}",
            get(|| async { "item" }).put(move || async move {
                count.fetch_add(1, Ordering::SeqCst);
                StatusCode::NO_CONTENT
            }),
        )
        .route_layer(ConditionalLayer::new(source));
    let server = Server::start(app).await;
    for (method, headers) in [
        (Method::PUT, [(IF_MATCH, "\"1\"")]),
        (Method::GET, [(IF_NONE_MATCH, "\"1\"")]),
    ] {
        let reply = server
            .send(method.clone(), "/items/x", &headers, "body")
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{method}: {reply:?}");
        assert!(reply.text().contains("Cannot parse"), "{}", reply.text());
    }
    assert_eq!(
        handled.load(Ordering::SeqCst),
        0,
        "the write was not performed"
    );
    // And a valid id goes through.
    let reply = server.put("/items/7", &[(IF_MATCH, "\"1\"")], "body").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_source_error_still_follows_on_source_error() {
    let source = source_fn(|Path(_id): Path<u64>| async {
        Err::<Lookup, _>(std::io::Error::other("database down"))
    });
    let app = Router::new()
        .route(
            "/items/{id}",
            get(|| async { "item" }).put(|| async { "written" }),
        )
        .route_layer(ConditionalLayer::new(source));
    let server = Server::start(app).await;
    let write = server.put("/items/1", &[(IF_MATCH, "\"1\"")], "body").await;
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    // The default serves reads unevaluated.
    let read = server.get("/items/1", &[(IF_NONE_MATCH, "\"1\"")]).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.text(), "item");
}

#[tokio::test]
async fn one_layer_gives_each_route_its_own_source() {
    let tag = |tag: &'static str| Lookup::from(Validators::new().with_etag(ETag::from_static(tag)));
    let sources = ByRoute::new()
        .route(
            "/notes",
            source_fn(move || async move { Ok::<_, Infallible>(tag("\"list\"")) }),
        )
        .route(
            "/notes/{id}",
            source_fn(move |Path(id): Path<u64>| async move {
                Ok::<_, Infallible>(Lookup::from(validators(id)))
            }),
        );
    let app = Router::new()
        .route("/notes", get(|| async { "[]" }))
        .route("/notes/{id}", get(|| async { "{}" }))
        .route("/other", get(|| async { "other" }))
        .route_layer(ConditionalLayer::new(sources));
    let server = Server::start(app).await;
    let cases = [
        ("/notes", "\"list\"", StatusCode::NOT_MODIFIED),
        ("/notes", "\"5\"", StatusCode::OK),
        ("/notes/5", "\"5\"", StatusCode::NOT_MODIFIED),
        ("/notes/5", "\"list\"", StatusCode::OK),
        // No source: Unknown, so evaluated on the response (tagged with its hash).
        ("/other", "\"list\"", StatusCode::OK),
    ];
    for (path, tag, status) in cases {
        let reply = server.get(path, &[(IF_NONE_MATCH, tag)]).await;
        assert_eq!(reply.status, status, "{path} with {tag}");
    }
    let hashed = ETag::from_content(b"other").to_string();
    let reply = server.get("/other", &[(IF_NONE_MATCH, &hashed)]).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
}

/// A store of one versioned value, whose writes are compare-and-set on the checked version.
#[derive(Clone)]
struct Store(Arc<Mutex<u64>>);

async fn store_source(State(store): State<Store>) -> Result<Validators, Infallible> {
    Ok(Validators::new().with_etag(ETag::from(*store.0.lock().unwrap())))
}

async fn racing_write(State(store): State<Store>, checked: Checked) -> Response {
    let expected = checked.version::<u64>().expect("a checked version");
    let mut version = store.0.lock().unwrap();
    // Another writer got in between the check and this write.
    *version += 1;
    if *version != expected {
        return checked.lost_race().into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

#[tokio::test]
async fn checked_gives_the_version_back_and_a_lost_race_is_a_412_naming_the_winner() {
    let store = Store(Arc::new(Mutex::new(4)));
    let app = Router::new()
        .route("/value", get(|| async { "v" }).put(racing_write))
        .route_layer(ConditionalLayer::new(source_fn_with_state(
            store.clone(),
            store_source,
        )))
        .with_state(store.clone());
    let server = Server::start(app).await;
    let reply = server.put("/value", &[(IF_MATCH, "\"4\"")], "new").await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    // The handler read no current version; the layer asked the source (an extractor) again.
    assert_eq!(reply.etag(), "\"5\"");
    let problem = reply.problem();
    assert_eq!(problem["condition"], "If-Match");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("after this request's precondition")
    );
    assert_eq!(
        *store.0.lock().unwrap(),
        5,
        "only the other writer's write happened"
    );
}

#[tokio::test]
async fn a_route_the_sources_do_not_know_never_lets_a_write_through() {
    // Every source here would say `"1"`, so a write with `If-Match: "1"` would pass if it were
    // asked; when the request's route is not the one it is keyed on, the fallback (Unknown)
    // refuses conditional writes (412) and required-but-unconditional ones (500), and the
    // handler never runs.
    let handled = Arc::new(AtomicUsize::new(0));
    let one = || source_fn(|| async { Ok::<_, Infallible>(Lookup::from(validators(1))) });
    let sources = || ByRoute::new().route("/items/{id}", one());
    let layer = || ConditionalLayer::new(sources()).require_preconditions([Method::PUT]);
    let items = |handled: Arc<AtomicUsize>| {
        Router::new().route(
            "/items/{id}",
            get(|| async { "item" }).put(move || async move {
                handled.fetch_add(1, Ordering::SeqCst);
                StatusCode::NO_CONTENT
            }),
        )
    };
    let apps = [
        // Keyed on the nested router's own spelling: the matched path has the prefix.
        (
            "nested",
            Router::new().nest("/api", items(handled.clone()).route_layer(layer())),
        ),
        // Outside the router: no route is matched yet when the layer runs.
        (
            "outside",
            Router::new().nest_service(
                "/api",
                tower::Layer::layer(&layer(), items(handled.clone())),
            ),
        ),
    ];
    for (name, app) in apps {
        let server = Server::start(app).await;
        let conditional = server
            .put("/api/items/1", &[(IF_MATCH, "\"1\"")], "x")
            .await;
        assert_eq!(
            conditional.status,
            StatusCode::PRECONDITION_FAILED,
            "{name}"
        );
        let blind = server.put("/api/items/1", &[], "x").await;
        assert_eq!(blind.status, StatusCode::INTERNAL_SERVER_ERROR, "{name}");
    }
    assert_eq!(handled.load(Ordering::SeqCst), 0, "no write was performed");
}

/// Review finding: the head a lost race's 412 is looked up again with is the one the
/// handler's `Checked` was taken from; under a nested router (or any middleware between the
/// layer and the handler that rewrites the request) that is not the head the source was first
/// asked with. The second look-up must ask about the resource the first one asked about.
#[tokio::test]
async fn a_lost_race_under_a_nested_router_is_looked_up_again_as_first_asked() {
    let store = Store(Arc::new(Mutex::new(4)));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let source = {
        let (store, asked) = (store.clone(), asked.clone());
        move |parts: &http::request::Parts| {
            asked.lock().unwrap().push(parts.uri.path().to_owned());
            let lookup = match parts.uri.path() {
                "/api/value" => {
                    Lookup::from(Validators::new().with_etag(ETag::from(*store.0.lock().unwrap())))
                }
                _ => Lookup::Missing,
            };
            std::future::ready(Ok::<_, Infallible>(lookup))
        }
    };
    let api = Router::new()
        .route("/value", get(|| async { "v" }).put(racing_write))
        .with_state(store.clone());
    let app = Router::new()
        .nest("/api", api)
        .layer(ConditionalLayer::new(source));
    let server = Server::start(app).await;
    let reply = server
        .put("/api/value", &[(IF_MATCH, "\"4\"")], "new")
        .await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked, ["/api/value", "/api/value"], "asked about");
    assert_eq!(reply.etag(), "\"5\"");
}
