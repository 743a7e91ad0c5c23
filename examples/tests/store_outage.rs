//! The store when its database is down or slow: the conditional layer's source-error policy
//! applies (reads served unevaluated, writes refused with 503 before the handler runs), a handler
//! that cannot reach the database answers 503, nothing is changed, and the store recovers by
//! itself when the database returns.
//!
//! SQLite is a file and cannot go down, so its outage is simulated by a storage wrapper that can
//! be switched to fail. PostgreSQL's is real: the store connects through a loopback TCP proxy that
//! the test switches off (connections reset and refused) or stalls (connections hang).

#[allow(dead_code)]
#[path = "../store/app.rs"]
mod app;
mod backends;
#[allow(dead_code)]
#[path = "../store/database.rs"]
mod database;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use deadpool_postgres::tokio_postgres::Config;
use http::StatusCode;
use http::header::{IF_MATCH, IF_NONE_MATCH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_conditional::ETag;

use app::storage::{CasOutcome, Expected, Item, Storage, StorageError, Version};
use backends::Scratch;
use support::{Reply, Server};

fn assert_status(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{reply:?}");
}

/// A 503 with a problem document, from the layer or the handler.
fn assert_unavailable(reply: &Reply) {
    assert_status(reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.problem()["status"], 503);
}

// ---------------------------------------------------------------------------------------------
// SQLite behind a switch.

/// How [`Switched`] behaves.
const UP: u8 = 0;
/// Validator look-ups fail (a slow or overloaded index, say); content reads and writes work.
const LOOKUPS_DOWN: u8 = 1;
/// Everything fails.
const DOWN: u8 = 2;

/// A storage whose operations fail on demand.
#[derive(Clone)]
struct Switched<S> {
    inner: S,
    state: Arc<AtomicU8>,
}

impl<S> Switched<S> {
    fn check(&self, lookup: bool) -> Result<(), StorageError> {
        match self.state.load(Ordering::SeqCst) {
            DOWN => Err(StorageError("switched off by the test".to_owned())),
            LOOKUPS_DOWN if lookup => Err(StorageError("look-ups switched off".to_owned())),
            _ => Ok(()),
        }
    }
}

impl<S: Storage> Storage for Switched<S> {
    async fn version(&self, key: &str) -> Result<Option<Version>, StorageError> {
        self.check(true)?;
        self.inner.version(key).await
    }

    async fn get(&self, key: &str) -> Result<Option<Item>, StorageError> {
        self.check(false)?;
        self.inner.get(key).await
    }

    async fn put_if(
        &self,
        key: &str,
        expected: Expected<'_>,
        content: Bytes,
        etag: ETag,
    ) -> Result<CasOutcome<Version>, StorageError> {
        self.check(false)?;
        self.inner.put_if(key, expected, content, etag).await
    }

    async fn delete_if(&self, key: &str, expected: &ETag) -> Result<CasOutcome<()>, StorageError> {
        self.check(false)?;
        self.inner.delete_if(key, expected).await
    }
}

#[tokio::test]
async fn sqlite_down_reads_served_unevaluated_writes_refused_then_recovered() {
    let (scratch, _) = Scratch::sqlite();
    let state = Arc::new(AtomicU8::new(UP));
    let storage = Switched {
        inner: backends::sqlite(&scratch),
        state: state.clone(),
    };
    let server = Server::start(app::router_with(storage)).await;
    let v1 = server.create("/items/doc", "v1").await;

    // The validators cannot be looked up: a revalidation is served in full rather than
    // answered 304 on a guess, and writes are refused before they reach the handler.
    state.store(LOOKUPS_DOWN, Ordering::SeqCst);
    let read = server.get("/items/doc", &[(IF_NONE_MATCH, &v1)]).await;
    assert_status(&read, StatusCode::OK);
    assert_eq!(read.text(), "v1");
    assert_unavailable(&server.put("/items/doc", &[(IF_MATCH, &v1)], "v2").await);
    assert_unavailable(&server.delete("/items/doc", &[(IF_MATCH, &v1)]).await);
    assert_unavailable(&server.put("/items/new", &[(IF_NONE_MATCH, "*")], "x").await);

    // Nothing can be read either: 503 from the handler.
    state.store(DOWN, Ordering::SeqCst);
    assert_unavailable(&server.get("/items/doc", &[]).await);
    assert_unavailable(&server.put("/items/doc", &[(IF_MATCH, &v1)], "v2").await);

    // Back: the refused writes changed nothing, and the store works again.
    state.store(UP, Ordering::SeqCst);
    let read = server.get("/items/doc", &[]).await;
    assert_eq!((read.text(), read.etag()), ("v1", v1.clone()));
    assert_status(&server.get("/items/new", &[]).await, StatusCode::NOT_FOUND);
    let revalidated = server.get("/items/doc", &[(IF_NONE_MATCH, &v1)]).await;
    assert_status(&revalidated, StatusCode::NOT_MODIFIED);
    let write = server.put("/items/doc", &[(IF_MATCH, &v1)], "v2").await;
    assert_status(&write, StatusCode::NO_CONTENT);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL behind a proxy.

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Forwards them to the database.
    Up,
    /// Closes every connection, open or new: the database is down.
    Down,
    /// Holds new connections open without forwarding a byte, and closes the open ones: the
    /// database (or the network) hangs.
    Stalled,
}

/// A loopback TCP proxy to the database, switched by [`Link`].
struct Proxy {
    addr: SocketAddr,
    link: watch::Sender<Link>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (link, _) = watch::channel(Link::Up);
        let links = link.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let mut link = links.subscribe();
                tokio::spawn(async move {
                    let now = *link.borrow_and_update();
                    match now {
                        Link::Down => {}
                        Link::Stalled => {
                            let _ = link.wait_for(|link| *link != Link::Stalled).await;
                        }
                        Link::Up => {
                            let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                                return;
                            };
                            let mut inbound = inbound;
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = link.wait_for(|link| *link != Link::Up) => {}
                            }
                        }
                    }
                });
            }
        });
        Proxy { addr, link }
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

/// The `host:port` text of a PostgreSQL URL, and the address it names.
fn authority(url: &str) -> (String, SocketAddr) {
    let config: Config = url.parse().expect("a PostgreSQL URL");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = match config.get_hosts().first() {
        Some(deadpool_postgres::tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => panic!("DATABASE_URL must name a TCP host for this test: {url}"),
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .expect("resolve the database host")
        .next()
        .expect("an address");
    let authority = format!("{host}:{port}");
    assert!(url.contains(&authority), "{url} does not spell {authority}");
    (authority, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_or_stalled_writes_refused_nothing_changed_then_recovered() {
    let Some((_scratch, url)) = Scratch::postgres().await else {
        return; // No PostgreSQL: skipped, and `postgres_url` said so.
    };
    let (authority, upstream) = authority(&url);
    let proxy = Proxy::start(upstream).await;
    let proxied = url.replacen(&authority, &proxy.addr.to_string(), 1);
    let server = Server::start(app::router_with(backends::postgres(&proxied).await)).await;
    let v1 = server.create("/items/doc", "v1").await;

    // Down: open connections are reset, new ones refused. Reads cannot be served (the content is
    // in the database) and writes are refused; both quickly, with 503.
    proxy.set(Link::Down);
    let started = Instant::now();
    assert_unavailable(&server.get("/items/doc", &[(IF_NONE_MATCH, &v1)]).await);
    assert_unavailable(&server.put("/items/doc", &[(IF_MATCH, &v1)], "v2").await);
    assert_unavailable(&server.delete("/items/doc", &[(IF_MATCH, &v1)]).await);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // Stalled: a write waits for the connection timeout, not forever, then gets 503.
    proxy.set(Link::Stalled);
    let started = Instant::now();
    assert_unavailable(&server.put("/items/doc", &[(IF_MATCH, &v1)], "v2").await);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Back: the pool reconnects by itself; the refused writes changed nothing.
    proxy.set(Link::Up);
    let deadline = Instant::now() + Duration::from_secs(10);
    let read = loop {
        let read = server.get("/items/doc", &[]).await;
        if read.status != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_status(&read, StatusCode::OK);
    assert_eq!((read.text(), read.etag()), ("v1", v1.clone()));
    let revalidated = server.get("/items/doc", &[(IF_NONE_MATCH, &v1)]).await;
    assert_status(&revalidated, StatusCode::NOT_MODIFIED);
    let write = server.put("/items/doc", &[(IF_MATCH, &v1)], "v2").await;
    assert_status(&write, StatusCode::NO_CONTENT);
    assert_eq!(server.get("/items/doc", &[]).await.text(), "v2");
}
