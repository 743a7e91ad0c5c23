//! An in-memory key-value store over HTTP that follows RFC 9110's conditional-request rules.
//!
//! Run it:
//!
//! ```text
//! cargo run --example store                              # listens on 127.0.0.1:3000
//! cargo run --example store -- --addr 127.0.0.1:8080     # or ADDR=127.0.0.1:8080 (the flag wins)
//! ```
//!
//! Then try, from another terminal (`-i` shows the status line and headers):
//!
//! ```text
//! # Create an item, only if the key is free: 201 with its ETag.
//! curl -i -X PUT -H 'If-None-Match: *' --data-binary 'hello, world' http://127.0.0.1:3000/items/greeting
//!
//! # Read it: 200 with ETag, Last-Modified, Cache-Control: no-cache.
//! curl -i http://127.0.0.1:3000/items/greeting
//!
//! # Revalidate with the ETag from that response: 304 Not Modified, no body.
//! curl -i -H 'If-None-Match: "<etag>"' http://127.0.0.1:3000/items/greeting
//!
//! # Replace it, saying which version you read: 204 with the new ETag.
//! curl -i -X PUT -H 'If-Match: "<etag>"' --data-binary 'hello, HTTP' http://127.0.0.1:3000/items/greeting
//!
//! # Repeat that request: the tag is stale now, 412 Precondition Failed with the current ETag.
//! curl -i -X PUT -H 'If-Match: "<etag>"' --data-binary 'hello again' http://127.0.0.1:3000/items/greeting
//!
//! # Replace it without saying which version: 428 Precondition Required.
//! curl -i -X PUT --data-binary 'blind write' http://127.0.0.1:3000/items/greeting
//!
//! # Create-only on a key that exists: 412.
//! curl -i -X PUT -H 'If-None-Match: *' --data-binary 'again' http://127.0.0.1:3000/items/greeting
//!
//! # Resume a download: 206 with bytes 5.. while "<etag>" is current, the full 200 once it is not.
//! curl -i -H 'Range: bytes=5-' -H 'If-Range: "<etag>"' http://127.0.0.1:3000/items/greeting
//!
//! # Delete it, again naming the version: 204.
//! curl -i -X DELETE -H 'If-Match: "<etag>"' http://127.0.0.1:3000/items/greeting
//! ```
//!
//! `cargo run --example demo` runs this whole story as a script.

mod app;

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::serve::ListenerExt;

const DEFAULT_ADDR: &str = "127.0.0.1:3000";
const USAGE: &str = "usage: store [--addr HOST:PORT]   (default 127.0.0.1:3000; env ADDR also sets it, the flag wins)";

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
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    // axum 0.8's spelling of `tcp_nodelay(true)`: set TCP_NODELAY on every accepted socket, so
    // small responses (304, 412, headers-only) leave at once instead of waiting on Nagle.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("cannot set TCP_NODELAY: {error}");
        }
    });
    println!("listening on http://{local}");
    if let Err(error) = axum::serve(listener, app::router()).await {
        eprintln!("server error: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--addr HOST:PORT` or `--addr=HOST:PORT`, else `$ADDR`, else the default.
fn listen_addr(
    mut args: impl Iterator<Item = String>,
    env: Option<String>,
) -> Result<SocketAddr, String> {
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
    text.parse()
        .map_err(|error| format!("invalid address {text:?}: {error}"))
}
