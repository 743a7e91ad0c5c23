//! Several concurrent writers incrementing one counter with `ConditionalUpdate`: every lost race
//! is a 412, refetched and re-applied, and no increment is lost.
//!
//! Run it:
//!
//! ```text
//! cargo run --example writers
//! cargo run --example writers -- --writers 32 --increments 50
//! ```
//!
//! It starts the store (`examples/store/app.rs`) in-process on a free loopback port, or talks to
//! a running one with `--url` (start it with `cargo run --example store`):
//!
//! ```text
//! cargo run --example writers -- --url http://127.0.0.1:3000/items/counter
//! ```
//!
//! Each writer reads the counter, adds one and writes it back with `If-Match` (the first write
//! creates it with `If-None-Match: *`), retrying on 412 with jittered backoff. It prints each
//! writer's writes and conflicts, then checks that the counter grew by exactly the number of
//! increments, and exits with status 1 if it did not.
//!
//! A write whose response is lost (stop the store mid-run) ends that writer with an "unknown"
//! outcome: the store's ETags are content hashes, which repeat, so a refetch cannot prove the
//! write was not applied, and the example does not turn `etags_never_repeat` on.

#[path = "store/app.rs"]
mod app;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinSet;
use tower_conditional::{Change, ConditionalUpdate, Current, Outcome};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// What one writer did.
#[derive(Debug, Default)]
struct Tally {
    increments: u64,
    writes: u64,
    conflicts: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("writers failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What `--help` prints.
const USAGE: &str = "\
usage: writers [--writers N] [--increments N] [--url URL]

N concurrent writers (default 8) each increment the counter at URL (default: a store started
in-process) N times (default 25) with ConditionalUpdate, then check that no update was lost.";

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = Options::parse(args.into_iter())?;
    let target = match options.url {
        Some(url) => url,
        None => start_store().await?,
    };
    let client = http_client();
    let before = read_counter(&client, &target).await?;
    println!(
        "{} writers x {} increments of {target} (now {before})",
        options.writers, options.increments
    );

    // Generous bound: with many writers on one counter most attempts lose a race. The store's
    // tags are content hashes, so `etags_never_repeat` stays off.
    let retry = ConditionalUpdate::new(tokio::time::sleep)
        .max_attempts(100)
        .backoff(Duration::from_millis(1), Duration::from_millis(50));
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for writer in 0..options.writers {
        let (retry, target, mut client) = (retry.clone(), target.clone(), client.clone());
        let increments = options.increments;
        writers.spawn(async move {
            let mut tally = Tally::default();
            for _ in 0..increments {
                let outcome = retry
                    .update(&mut client, target.clone(), increment)
                    .await
                    .map_err(|e| {
                        let unsure = if e.may_have_written() {
                            "; the count cannot be checked"
                        } else {
                            ""
                        };
                        format!("writer {writer}: {e}{unsure}")
                    })?;
                tally.writes += u64::from(outcome.attempts());
                match outcome {
                    Outcome::Written { attempts, .. } => {
                        tally.increments += 1;
                        tally.conflicts += u64::from(attempts - 1);
                    }
                    Outcome::Unknown { current, .. } => {
                        let now = current
                            .content()
                            .map(|c| String::from_utf8_lossy(c).into_owned());
                        return Err(format!(
                            "writer {writer}: a write's response was lost and the counter is now \
                             {now:?}: whether that write counted is unknown, so the count cannot \
                             be checked"
                        ));
                    }
                    other => return Err(format!("writer {writer}: {other:?}")),
                }
            }
            Ok((writer, tally))
        });
    }

    let mut tallies = Vec::new();
    while let Some(joined) = writers.join_next().await {
        tallies.push(joined.map_err(|e| e.to_string())??);
    }
    tallies.sort_by_key(|(writer, _)| *writer);
    let mut total = Tally::default();
    for (writer, tally) in tallies {
        println!(
            "  writer {writer:>2}: {} increments in {} writes, {} of them answered 412",
            tally.increments, tally.writes, tally.conflicts
        );
        total.increments += tally.increments;
        total.writes += tally.writes;
        total.conflicts += tally.conflicts;
    }
    let after = read_counter(&client, &target).await?;
    println!(
        "{} increments in {} writes ({} answered 412) in {:.2?}; counter {before} -> {after}",
        total.increments,
        total.writes,
        total.conflicts,
        started.elapsed()
    );
    if after - before == total.increments {
        println!("No update was lost.");
        Ok(())
    } else {
        Err(format!(
            "the counter grew by {}, not {}",
            after - before,
            total.increments
        ))
    }
}

/// The change every writer applies: parse, add one. A missing counter is created as 1.
fn increment(current: &Current) -> Change {
    let value = match current.content() {
        None => 0,
        Some(bytes) => match std::str::from_utf8(bytes).map(str::parse::<u64>) {
            Ok(Ok(value)) => value,
            _ => return Change::Abort, // not a counter: leave it alone
        },
    };
    Change::put((value + 1).to_string()).content_type("text/plain")
}

/// The counter's value now, 0 when it does not exist.
async fn read_counter(client: &HttpClient, target: &Uri) -> Result<u64, String> {
    let request = Request::get(target.clone())
        .body(Full::default())
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    match status {
        StatusCode::NOT_FOUND => Ok(0),
        StatusCode::OK => std::str::from_utf8(&body)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| format!("{target} does not hold a number")),
        other => Err(format!("GET {target}: {other}")),
    }
}

/// Serves the store on a free loopback port; answers the counter's URL.
async fn start_store() -> Result<Uri, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // TCP_NODELAY on every accepted socket.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app::router()).await });
    format!("http://{addr}/items/counter")
        .parse()
        .map_err(|e| format!("{e}"))
}

fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Command-line options.
struct Options {
    writers: usize,
    increments: usize,
    url: Option<Uri>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Options {
            writers: 8,
            increments: 25,
            url: None,
        };
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || value.parse().map_err(|_| format!("{flag}: not a number"));
            match flag.as_str() {
                "--writers" => options.writers = number()?,
                "--increments" => options.increments = number()?,
                "--url" => {
                    options.url = Some(value.parse().map_err(|e| format!("--url: {e}"))?);
                }
                _ => {
                    return Err(format!(
                        "unknown option {flag} (try --writers N, --increments N, --url URL)"
                    ));
                }
            }
        }
        Ok(options)
    }
}
