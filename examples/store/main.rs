//! A key-value store over HTTP that follows RFC 9110's conditional-request rules, kept in process
//! memory, in a SQLite file or in PostgreSQL.
//!
//! Run it:
//!
//! ```text
//! cargo run --example store                              # listens on 127.0.0.1:3000, items in memory
//! cargo run --example store -- --addr localhost:8080     # or ADDR=localhost:8080 (the flag wins)
//! cargo run --example store -- --database sqlite://store.db          # persistent, one file
//! cargo run --example store -- --database postgres://user@host/db    # or DATABASE_URL=...
//! cargo run --example store -- --tls-cert cert.pem --tls-key key.pem   # HTTPS, HTTP/2 by ALPN
//! cargo run --example store -- --help
//! ```
//!
//! Plain HTTP is HTTP/1.1 and HTTP/2 (h2c, prior knowledge: `curl --http2-prior-knowledge`) on
//! the same port; with `--tls-cert`/`--tls-key` (PEM files) the store serves HTTPS instead,
//! offering `h2` and `http/1.1` by ALPN (see `tls.rs`).
//!
//! Several stores may share one SQLite file or one PostgreSQL database: see the README's
//! "Several replicas".
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
#[path = "cache.rs"]
mod cache;
mod cli;
mod database;
#[path = "../serving.rs"]
mod serving;
mod tls;
#[path = "../tower_serving.rs"]
mod tower_serving;

use std::process::ExitCode;

use cli::{Command, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    // Events of the validator cache's listener (tower-conditional-postgres) and the library's
    // warnings, on stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    let command = cli::parse(
        std::env::args().skip(1),
        std::env::var("ADDR").ok(),
        std::env::var("DATABASE_URL").ok(),
    );
    let options = match command {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Serve(options)) => options,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let addr = match cli::resolve(&options.addr).await {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The certificate and key first: a bad file must not leave a database created behind it.
    let tls = match &options.tls {
        None => None,
        Some((cert, key)) => match tls::config(cert, key) {
            Ok(config) => Some(config),
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::FAILURE;
            }
        },
    };
    // The validator cache's PostgreSQL listener runs as long as this handle lives.
    let mut _listening = None;
    let opened = match (&options.database, options.validator_cache) {
        (None, None) => Ok(app::router()),
        (None, Some(max_age)) => Ok(cache::memory_router(max_age)),
        (Some(database), None) => database.router().await,
        (Some(database), Some(max_age)) => {
            cache::router(database, max_age, options.listen.as_deref())
                .await
                .map(|(router, listening)| {
                    _listening = listening;
                    router
                })
        }
    };
    let router = match &options.database {
        None => opened.expect("process memory opens"),
        Some(database) => match opened {
            Ok(router) => router,
            Err(error) => {
                eprintln!("cannot open the database ({database}): {error}");
                return ExitCode::FAILURE;
            }
        },
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    let storage = match &options.database {
        None => "process memory".to_owned(),
        Some(database) => database.to_string(),
    };
    if let Some(config) = tls {
        eprintln!("storage: {storage}");
        // Tests and scripts read this line to learn the port when started with port 0.
        println!("listening on https://{local}");
        tls::serve(listener, router, config).await;
        return ExitCode::SUCCESS;
    }
    eprintln!("storage: {storage}");
    if let Err(error) = serving::serve(listener, router).await {
        eprintln!("server error: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
