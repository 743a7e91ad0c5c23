//! Conditional requests for a rendered page whose handler knows nothing about validators.
//!
//! The handler renders an HTML list of items from shared state and returns it; it sets no
//! `ETag` and never looks at `If-None-Match`. `ConditionalLayer::from_responses()` tags each
//! 200 with the hash of its body and answers revalidations with 304 Not Modified when the page
//! renders to the same bytes.
//!
//! Run it:
//!
//! ```text
//! cargo run --example rendered                              # listens on 127.0.0.1:3002
//! cargo run --example rendered -- --addr 127.0.0.1:8080     # or ADDR=127.0.0.1:8080 (the flag wins)
//! ```
//!
//! Then, from another terminal:
//!
//! ```text
//! # The page: 200 with an ETag that is the hash of the HTML.
//! curl -i http://127.0.0.1:3002/
//!
//! # Revalidate with that ETag (copy it, quotes included): 304 Not Modified, no body.
//! curl -i -H 'If-None-Match: "<etag from above>"' http://127.0.0.1:3002/
//!
//! # Add an item: the page renders differently, so the same revalidation gets a 200 and a new ETag.
//! curl -i -X POST http://127.0.0.1:3002/items
//! curl -i -H 'If-None-Match: "<etag from above>"' http://127.0.0.1:3002/
//! ```

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use tower_conditional::ConditionalLayer;

#[path = "serving.rs"]
mod serving;

const DEFAULT_ADDR: &str = "127.0.0.1:3002";
const USAGE: &str = "usage: rendered [--addr HOST:PORT]   (default 127.0.0.1:3002; env ADDR also sets it, the flag wins)";

/// The items the page lists.
#[derive(Clone, Default)]
struct Items(Arc<Mutex<Vec<String>>>);

/// Renders the page. No validators here: the layer derives them from the bytes.
async fn page(State(items): State<Items>) -> Html<String> {
    let items = items.0.lock().expect("the item list is never poisoned");
    let mut html = String::from("<!doctype html>\n<title>Items</title>\n<h1>Items</h1>\n<ul>\n");
    for item in items.iter() {
        let _ = writeln!(html, "  <li>{item}</li>");
    }
    html.push_str("</ul>\n");
    let _ = writeln!(html, "<p>{} items</p>", items.len());
    Html(html)
}

/// Adds an item, which changes the rendered page (and so its ETag).
async fn add(State(items): State<Items>) -> StatusCode {
    let mut items = items.0.lock().expect("the item list is never poisoned");
    let next = items.len() + 1;
    items.push(format!("item {next}"));
    StatusCode::CREATED
}

fn router() -> Router {
    let items = Items::default();
    items
        .0
        .lock()
        .expect("fresh")
        .extend(["item 1".to_owned(), "item 2".to_owned()]);
    Router::new()
        .route("/", get(page))
        .route("/items", post(add))
        .with_state(items)
        .layer(ConditionalLayer::from_responses())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let addr = match listen_addr(args.into_iter(), std::env::var("ADDR").ok()) {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // `bind` resolves host names (`localhost:8080`) as well as addresses.
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = serving::serve(listener, router()).await {
        eprintln!("server error: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--addr HOST:PORT` or `--addr=HOST:PORT`, else `$ADDR`, else the default. The host may be a
/// name (`localhost`) or an address; only the `HOST:PORT` shape is checked here.
fn listen_addr(
    mut args: impl Iterator<Item = String>,
    env: Option<String>,
) -> Result<String, String> {
    let mut flag = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => flag = Some(args.next().ok_or("--addr needs a value")?),
            _ => match arg.strip_prefix("--addr=") {
                Some(value) => flag = Some(value.to_owned()),
                None => return Err(format!("unknown argument {arg:?}")),
            },
        }
    }
    let text = flag.or(env).unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(text),
        _ => Err(format!("invalid address {text:?}: expected HOST:PORT")),
    }
}
