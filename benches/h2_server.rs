//! The server that `benches/h2.sh` drives with h2load over h2c: one 4 KiB item at `/item`, served
//! by `axum::serve` (HTTP/1.1 and h2c on one port) with or without the conditional layer, so
//! the layer's cost over HTTP/2 is read against the same server without it, in one run.
//!
//! `cargo bench --bench h2_server -- serve layer|bare` prints `listening on http://ADDR pid PID`
//! and serves until killed; run alone by `cargo bench` (no `serve` argument) it exits at once.
//! A PUT reads its whole body and answers 204 (bare), or gets the layer's early 412 for a stale
//! `If-Match`, after the layer drained the body.

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header, request::Parts};
use axum::routing::get;
use axum::serve::ListenerExt;
use http_body_util::BodyExt;
use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};

const ITEM: &str = "\"v1\"";

fn source(_: &Parts) -> std::future::Ready<Result<Lookup, Infallible>> {
    std::future::ready(Ok(Lookup::Present(
        Validators::new().with_etag(ETag::from_static(ITEM)),
    )))
}

async fn read() -> impl axum::response::IntoResponse {
    ([(header::ETAG, ITEM)], "x".repeat(4096))
}

async fn write(mut body: Body) -> StatusCode {
    // Read the whole body, as a handler storing it would, without keeping it.
    while let Some(frame) = body.frame().await {
        std::hint::black_box(frame.ok());
    }
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let layer = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serve", "layer"] => true,
        ["serve", "bare"] => false,
        _ => return, // run by `cargo bench` itself: benches/h2.sh runs this server
    };
    let routes = Router::new().route("/item", get(read).put(write));
    let app = if layer {
        routes.route_layer(ConditionalLayer::new(source))
    } else {
        routes
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let listener = listener.tap_io(|stream| {
        stream.set_nodelay(true).expect("TCP_NODELAY");
    });
    println!("listening on http://{addr} pid {}", std::process::id());
    axum::serve(listener, app).await.expect("serve");
}
