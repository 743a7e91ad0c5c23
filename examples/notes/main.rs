//! A JSON API for notes over SQLite, with conditional requests: 304s for revalidations, 428 for
//! writes that do not say which version they replace, 412 for writes against a stale one, and
//! compare-and-set writes so that no update is lost, behind CORS and compression.
//!
//! Run it:
//!
//! ```text
//! cargo run --example notes                      # 127.0.0.1:3000, notes in notes.db
//! cargo run --example notes -- 127.0.0.1:8080 /tmp/other.db
//! cargo run --example notes -- --validator-cache  # revalidations answered without a query
//! ```
//!
//! Then, from another terminal (`-i` shows the status line and headers):
//!
//! ```text
//! # Create a note: 201, Location and ETag.
//! curl -i -H 'content-type: application/json' -d '{"title":"milk"}' localhost:3000/notes
//! # Read it, then revalidate with its ETag: 200, then 304.
//! curl -i localhost:3000/notes/1
//! curl -i -H 'If-None-Match: "<etag>"' localhost:3000/notes/1
//! # The list has its own ETag, which changes after any write to any note.
//! curl -i localhost:3000/notes
//! # Change it, saying which version you read: 200 and a new ETag; again with the old one: 412.
//! curl -i -X PATCH -H 'If-Match: "<etag>"' -H 'content-type: application/json' -d '{"count":1}' localhost:3000/notes/1
//! # Without a precondition: 428. With an id that is not one: 400, from axum's Path.
//! curl -i -X PATCH -H 'content-type: application/json' -d '{"count":1}' localhost:3000/notes/1
//! curl -i -X DELETE -H 'If-Match: "1"' localhost:3000/notes/one
//! ```
//!
//! Crates: axum 0.8 and serde (derive) for the API; rusqlite with SQLite compiled in, used on
//! tokio's blocking pool behind a pool of a few connections (`db.rs`): already this crate's
//! dev-dependencies, with no second async runtime, TLS stack or macro crate to build, as sqlx
//! would add; tower-http for CORS and gzip.

mod app;
mod db;

use std::time::Duration;

use axum::serve::ListenerExt;

/// How long `--validator-cache` serves a cached validator: the bound on a late 304 when another
/// process writes the same database file.
const CACHE_MAX_AGE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!(
            "usage: notes [--validator-cache] [ADDR (127.0.0.1:3000)] [DATABASE FILE (notes.db)]\n  \
             --validator-cache  answer revalidations 304 from validators cached for at most 10 s"
        );
        return Ok(());
    }
    let cache = args.iter().position(|arg| arg == "--validator-cache");
    let cache = cache.map(|at| args.remove(at)).map(|_| CACHE_MAX_AGE);
    let mut args = args.into_iter();
    let addr = args
        .next()
        .unwrap_or_else(|| String::from("127.0.0.1:3000"));
    let path = args.next().unwrap_or_else(|| String::from("notes.db"));
    let db = db::Db::open(&path)?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    // axum 0.8's spelling of `tcp_nodelay(true)`.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    println!("notes: listening on http://{addr}, notes in {path}");
    axum::serve(listener, app::app(db, cache)).await?;
    Ok(())
}
