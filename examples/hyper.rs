//! `ConditionalLayer` on a plain hyper 1 server: no axum, no framework. A tiny in-memory text
//! store where every write gets a new version number as its ETag. It speaks HTTP/1.1 and
//! HTTP/2 without TLS (h2c, prior knowledge) on the same port: hyper-util's `auto` builder tells
//! them apart by the HTTP/2 connection preface.
//!
//! Run it:
//!
//! ```text
//! cargo run --example hyper                      # listens on 127.0.0.1:3001
//! cargo run --example hyper -- --addr localhost:8080
//! ADDR=127.0.0.1:4000 cargo run --example hyper   # the flag wins over ADDR
//! cargo run --example hyper -- --help
//! ```
//!
//! Then try:
//!
//! ```text
//! curl -i http://127.0.0.1:3001/greeting                                 # 200, ETag: "1"
//! curl -i -H 'If-None-Match: "1"' http://127.0.0.1:3001/greeting         # 304, no body
//! curl -i -X PUT -d 'hi' http://127.0.0.1:3001/greeting                  # 428: say which version
//! curl -i -X PUT -H 'If-Match: "7"' -d 'hi' http://127.0.0.1:3001/greeting  # 412, ETag: "1"
//! curl -i -X PUT -H 'If-Match: "1"' -d 'hi' http://127.0.0.1:3001/greeting  # 204, ETag: "2"
//! curl -i -H 'If-None-Match: "1"' http://127.0.0.1:3001/greeting         # 200: it changed
//! curl -i -X PUT -d 'new' http://127.0.0.1:3001/other                    # 201: creating needs no precondition
//! curl -i --http2-prior-knowledge http://127.0.0.1:3001/greeting         # the same over HTTP/2
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::error::Error;
use std::future::ready;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tower::{Layer, service_fn};
use tower_conditional::{
    Checked, Condition, ConditionalLayer, ETag, LastModified, Lookup, ResourceState, Validators,
    response,
};

type BoxError = Box<dyn Error + Send + Sync>;

#[path = "tower_serving.rs"]
mod tower_serving;

/// Largest body a PUT may carry.
const MAX_BODY: usize = 64 * 1024;

const USAGE: &str = "usage: hyper [--addr HOST:PORT]   (default 127.0.0.1:3001; env ADDR also sets it, the flag wins)";

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
    match serve(&addr).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Serves the store on `addr` until the process ends.
async fn serve(addr: &str) -> Result<(), BoxError> {
    let store = Store::default();
    store.seed("/greeting", Bytes::from_static(b"hello, world\n"));

    // The source: what the layer checks preconditions against.
    let source = {
        let store = store.clone();
        move |head: &Parts| ready(Ok::<_, Infallible>(store.lookup(head.uri.path())))
    };
    // The handler: a plain tower service. A blind overwrite of an existing item gets 428.
    let handler = service_fn(move |request| handle(store.clone(), request));
    let service = ConditionalLayer::new(source)
        .require_preconditions([Method::PUT])
        .layer(handler);

    // `bind` resolves host names (`localhost:8080`) as well as addresses.
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    // The accept loop: hyper-util's `auto` builder on each connection (see tower_serving.rs).
    tower_serving::serve(listener, service).await?;
    Ok(())
}

/// `--addr HOST:PORT` or `--addr=HOST:PORT`, else `$ADDR`, else 127.0.0.1:3001. The host may
/// be a name (`localhost`) or an address; only the `HOST:PORT` shape is checked here.
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
    let text = flag.or(env).unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(text),
        _ => Err(format!("invalid address {text:?}: expected HOST:PORT")),
    }
}

/// A HEAD's answer: the GET's headers, its `Content-Length` included, and no body. Hyper's
/// HTTP/1 code leaves a HEAD response's body unsent, its HTTP/2 code sends it (DATA frames on a
/// HEAD, which clients refuse as malformed, RFC 9113 §8.1.1), so the handler drops it.
fn without_body(response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    let (mut head, body) = response.into_parts();
    if let Some(length) = http_body::Body::size_hint(&body).exact() {
        head.headers.insert(CONTENT_LENGTH, length.into());
    }
    Response::from_parts(head, Full::default())
}

/// The handler. Preconditions were already checked by the layer: 304, 412, 428 and 400 never
/// get here.
async fn handle(
    store: Store,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let path = request.uri().path().to_owned();
    match *request.method() {
        Method::GET | Method::HEAD => {
            let response = match store.get(&path) {
                Some(item) => Response::builder()
                    .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                    .header(ETAG, &item.etag)
                    .header(LAST_MODIFIED, item.modified.to_header_value())
                    .body(Full::new(item.body))?,
                None => plain(StatusCode::NOT_FOUND, "not found\n"),
            };
            Ok(if request.method() == Method::HEAD {
                without_body(response)
            } else {
                response
            })
        }
        Method::PUT => {
            // What the layer checked: the write must still apply to exactly that version.
            let checked = Checked::from_request(&request);
            let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(error) if error.is::<LengthLimitError>() => {
                    return Ok(plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n"));
                }
                Err(error) => return Err(error),
            };
            let Some(checked) = checked else {
                // Only if the layer were removed: this source always knows the state.
                return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, "not checked\n"));
            };
            Ok(match store.put_if_unchanged(&path, &checked, body) {
                Ok(written) => Response::builder()
                    .status(if written.created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::NO_CONTENT
                    })
                    .header(ETAG, &written.etag)
                    .body(Full::default())?,
                // Another client wrote between the check and this write: it won, we refuse.
                Err(current) => {
                    let current = match current {
                        Some(item) => ResourceState::Present(item.validators()),
                        None => ResourceState::Missing,
                    };
                    let condition = match checked.passed() {
                        Some(condition) => condition,
                        None if checked.state().is_present() => Condition::IfMatch,
                        None => Condition::IfNoneMatch,
                    };
                    response::precondition_failed(condition, &current)
                        .map(|body| Full::new(body.into_bytes()))
                }
            })
        }
        _ => {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, "GET, HEAD, PUT".parse()?);
            Ok(response)
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Text items by path. Every write takes the next version number of the whole store, so a
/// deleted-and-recreated item never reuses an old ETag, and a date later than every earlier
/// write's: `Last-Modified` has one-second resolution, and two writes in one second sharing a
/// date would let a write with `If-Unmodified-Since` replace a version its client never saw.
/// (A date ahead of the clock is sent as "now", and `If-Unmodified-Since` refuses a write on
/// it until the clock has passed it: RFC 9110 §8.8.2.1.)
#[derive(Clone, Default)]
struct Store(Arc<Mutex<Items>>);

#[derive(Default)]
struct Items {
    by_path: HashMap<String, Item>,
    last_version: u64,
    /// The date of the latest write: the next one is dated at least a second later.
    last_modified: Option<LastModified>,
}

#[derive(Clone)]
struct Item {
    body: Bytes,
    etag: ETag,
    modified: LastModified,
}

struct Written {
    created: bool,
    etag: ETag,
}

impl Item {
    fn validators(&self) -> Validators {
        Validators::new()
            .with_etag(self.etag.clone())
            .with_last_modified(self.modified)
    }
}

impl Items {
    fn state(&self, path: &str) -> ResourceState {
        match self.by_path.get(path) {
            Some(item) => ResourceState::Present(item.validators()),
            None => ResourceState::Missing,
        }
    }

    fn write(&mut self, path: &str, body: Bytes) -> ETag {
        self.last_version += 1;
        let etag = ETag::strong(self.last_version.to_string()).expect("digits are a valid tag");
        let now = LastModified::now();
        let modified = match self.last_modified {
            // The year 9999 is far; should it come, the date stays.
            Some(last) if now <= last => {
                LastModified::from_unix_seconds(last.unix_seconds() + 1).unwrap_or(last)
            }
            _ => now,
        };
        self.last_modified = Some(modified);
        let item = Item {
            body,
            etag: etag.clone(),
            modified,
        };
        self.by_path.insert(path.to_owned(), item);
        etag
    }
}

impl Store {
    fn items(&self) -> std::sync::MutexGuard<'_, Items> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn seed(&self, path: &str, body: Bytes) {
        self.items().write(path, body);
    }

    fn lookup(&self, path: &str) -> Lookup {
        self.items().state(path).into()
    }

    fn get(&self, path: &str) -> Option<Item> {
        self.items().by_path.get(path).cloned()
    }

    /// Compare-and-set: writes only if the item is still in the state the layer checked (same
    /// ETag, or still absent), under one lock. Otherwise answers the current item, if any.
    fn put_if_unchanged(
        &self,
        path: &str,
        checked: &Checked,
        body: Bytes,
    ) -> Result<Written, Option<Item>> {
        let mut items = self.items();
        // Every item has an ETag, so equal tags also mean equal presence.
        let current = items.by_path.get(path).map(|item| &item.etag);
        if current != checked.state().etag() {
            return Err(items.by_path.get(path).cloned());
        }
        let created = current.is_none();
        let etag = items.write(path, body);
        Ok(Written { created, etag })
    }
}
