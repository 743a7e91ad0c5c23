//! A static site whose validators tell the truth: content-hash ETags identical on every
//! replica, 304s answered from memory, resumes that never splice two versions.
//!
//! Run it:
//!
//! ```text
//! cargo run --release --example static_files -- --dir dist                # 127.0.0.1:3000
//! cargo run --release --example static_files -- --dir dist --addr 0.0.0.0:8080
//! cargo run --release --example static_files -- --help
//! ```
//!
//! HTTP/1.1 and HTTP/2 (h2c, prior knowledge: `curl --http2-prior-knowledge`) share the port.
//! Files with `.gz`, `.br` or `.zst` siblings are sent compressed to clients that accept it;
//! hashed file names (`app.3f2a9c1b.js`) are `Cache-Control: public, max-age=31536000,
//! immutable`, the rest `no-cache`.
//!
//! Then try, from another terminal (`-i` shows the status line and headers):
//!
//! ```text
//! # 200 with the ETag of the file's bytes (the same on every replica of the directory).
//! curl -i http://127.0.0.1:3000/index.html
//!
//! # Revalidate: 304 from memory, no file opened.
//! curl -i -H 'If-None-Match: "<etag>"' http://127.0.0.1:3000/index.html
//!
//! # The gzip sibling, with a tag of its own ("<digest>-gzip"): never a 304 for identity.
//! curl -i -H 'Accept-Encoding: gzip' http://127.0.0.1:3000/app.js --output -
//!
//! # Resume a download: 206 while "<etag>" is current, the whole new file once it changed.
//! curl -i -H 'Range: bytes=100-' -H 'If-Range: "<etag>"' http://127.0.0.1:3000/big.iso --output -
//! ```
//!
//! `--serve-dir` serves the same directory with tower-http's `ServeDir` alone (mtime-and-size
//! ETags), for `benches/static_files.sh` to compare.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use tower_conditional::Conditional;
use tower_conditional_fs::{ServeFiles, StaticFiles, immutable_if_hashed};
use tower_http::services::ServeDir;

#[path = "tower_serving.rs"]
mod tower_serving;

const USAGE: &str = "\
usage: static_files --dir DIR [--addr ADDR] [--threads N] [--serve-dir]

  --dir DIR      the directory to serve (its .gz, .br and .zst siblings included)
  --addr ADDR    where to listen (default 127.0.0.1:3000; port 0 picks one)
  --threads N    worker threads, 1 to 1024 (default one per CPU); 1 serves on the
                 main thread
  --serve-dir    serve DIR with tower-http's ServeDir alone, for comparison
  --help         this text";

/// The most worker threads `--threads` takes: tokio spawns every worker when the runtime
/// starts, and a thread it cannot spawn is a panic, not an error.
const MAX_THREADS: usize = 1024;

struct Options {
    dir: PathBuf,
    addr: String,
    threads: Option<NonZeroUsize>,
    serve_dir: bool,
}

enum Command {
    Help,
    Serve(Options),
}

fn parse(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let (mut dir, mut addr, mut serve_dir) = (None, "127.0.0.1:3000".to_owned(), false);
    let mut threads = None;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .filter(|value| !value.starts_with("--"))
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--dir" => dir = Some(PathBuf::from(value("--dir")?)),
            "--addr" => addr = value("--addr")?,
            "--threads" => {
                let n = value("--threads")?;
                let parsed = n.parse::<NonZeroUsize>().ok();
                let n = parsed.filter(|n| n.get() <= MAX_THREADS).ok_or_else(|| {
                    format!("--threads needs a positive number up to {MAX_THREADS}, not {n:?}")
                })?;
                threads = Some(n);
            }
            "--serve-dir" => serve_dir = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let dir = dir.ok_or("--dir is required")?;
    Ok(Command::Serve(Options {
        dir,
        addr,
        threads,
        serve_dir,
    }))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
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
    // One thread runs tokio's current-thread scheduler: no work stealing, no wake-ups across
    // threads (the benchmark compares it with one nginx worker).
    let runtime = match options.threads.map(NonZeroUsize::get) {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        threads => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(threads) = threads {
                builder.worker_threads(threads);
            }
            builder
        }
    }
    .enable_all()
    .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run(options)),
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> ExitCode {
    // Indexed (every file hashed) before the port opens.
    let files = match options.serve_dir {
        true => None,
        false => match site(options.dir.clone()).await {
            Ok(files) => Some(files),
            Err(error) => {
                eprintln!("cannot serve {}: {error}", options.dir.display());
                return ExitCode::FAILURE;
            }
        },
    };
    let listener = match listen(&options.addr).await {
        Ok(listener) => listener,
        Err(code) => return code,
    };
    // No router: a static site is one service. (Behind axum it is
    // `Router::new().fallback_service(files.service())`, see the crate's guide.)
    let served = match files {
        Some(files) => tower_serving::serve(listener, files).await,
        None => {
            let files = ServeDir::new(&options.dir)
                .precompressed_gzip()
                .precompressed_br()
                .precompressed_zstd();
            tower_serving::serve(listener, files).await
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The whole static site.
async fn site(dir: PathBuf) -> std::io::Result<Conditional<ServeFiles, StaticFiles>> {
    // site {
    let files = StaticFiles::builder(dir)
        .precompressed_gzip()
        .precompressed_br()
        .precompressed_zstd()
        .cache_control(immutable_if_hashed)
        .build()
        .await?;
    Ok(files.service())
    // site }
}

/// Binds `addr` (a host name or an address), or says why not.
async fn listen(addr: &str) -> Result<tokio::net::TcpListener, ExitCode> {
    let addr: SocketAddr = match tokio::net::lookup_host(addr)
        .await
        .map(|mut found| found.next())
    {
        Ok(Some(addr)) => addr,
        _ => {
            eprintln!("cannot resolve {addr:?}\n{USAGE}");
            return Err(ExitCode::from(2));
        }
    };
    tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        eprintln!("cannot listen on {addr}: {error}");
        ExitCode::FAILURE
    })
}
