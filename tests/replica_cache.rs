//! Two store replicas on one PostgreSQL with `--validator-cache`: a write through A reaches B's
//! cache as a `NOTIFY`, so B's revalidation with the replaced tag gets its 200 promptly; with
//! B's listening connection cut (reset, or silently dropped) through a TCP proxy, B still never
//! answers a stale 304 later than the maximum age, and listens again once the proxy heals.
//! Skipped (and says so) without a PostgreSQL in `DATABASE_URL`.

#[allow(dead_code)]
#[path = "../examples/store/app.rs"]
mod app;
mod backends;
#[allow(dead_code)]
#[path = "../examples/store/database.rs"]
mod database;
mod process;
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use http::StatusCode;
use http::header::{IF_MATCH, IF_NONE_MATCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use backends::Scratch;
use process::StoreProcess;
use support::Server;

const MAX_AGE: Duration = Duration::from_secs(10);

/// What the proxy does with its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Control {
    /// Forward bytes (else hold them: the connection goes silent, no FIN, no RST).
    pass: bool,
    /// Bumped to reset every open connection (RST).
    resets: u64,
}

/// A TCP proxy to `upstream` on 127.0.0.1, cut and healed through its control.
struct Proxy {
    addr: SocketAddr,
    control: watch::Sender<Control>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (control, receiver) = watch::channel(Control {
            pass: true,
            resets: 0,
        });
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(pipe(client, upstream, receiver.clone()));
            }
        });
        Proxy { addr, control }
    }

    fn set(&self, change: impl FnOnce(&mut Control)) {
        self.control.send_modify(change);
    }
}

async fn pipe(client: TcpStream, upstream: SocketAddr, mut control: watch::Receiver<Control>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let born = control.borrow().resets;
    let (mut client, mut server) = (client, server);
    let (mut up, mut down) = ([0u8; 16384], [0u8; 16384]);
    loop {
        let now = *control.borrow_and_update();
        if now.resets != born {
            // SO_LINGER 0: closing sends RST.
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
            return;
        }
        if !now.pass {
            if control.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            read = client.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if server.write_all(&up[..n]).await.is_err() { return },
            },
            read = server.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if client.write_all(&down[..n]).await.is_err() { return },
            },
            changed = control.changed() => if changed.is_err() { return },
        }
    }
}

/// Waits until `log` says `line` `count` times (the listener's "listening" line).
async fn wait_for_line(log: &Path, line: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches(line).count() >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{line:?} x{count} never logged:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes through A `writes` times; after each, revalidates through B with the replaced tag
/// until the 200, and returns each window from A's answer to B's first 200. Each round first
/// revalidates through B with the current tag (a 304 that fills B's cache).
async fn windows(
    a: &Server,
    b: &Server,
    writes: usize,
    mut between: impl FnMut(usize),
) -> Vec<Duration> {
    let mut tag = a.get("/items/doc", &[]).await.etag();
    let mut windows = Vec::with_capacity(writes);
    for round in 0..writes {
        let warm = b.get("/items/doc", &[(IF_NONE_MATCH, tag.as_str())]).await;
        assert_eq!(warm.status, StatusCode::NOT_MODIFIED, "{warm:?}");
        between(round);
        let body = format!("version {round}");
        let put = a.put("/items/doc", &[(IF_MATCH, tag.as_str())], body).await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
        let answered = Instant::now();
        let mut polls = 0;
        loop {
            polls += 1;
            assert!(polls < 100_000, "round {round}: B never answered 200");
            let reply = b.get("/items/doc", &[(IF_NONE_MATCH, tag.as_str())]).await;
            let waited = answered.elapsed();
            match reply.status {
                StatusCode::OK => break,
                StatusCode::NOT_MODIFIED => assert!(
                    waited < MAX_AGE,
                    "round {round}: a stale 304 {waited:?} after the write"
                ),
                _ => panic!("round {round}: {reply:?}"),
            }
        }
        windows.push(answered.elapsed());
        tag = put.etag();
    }
    windows
}

fn report(name: &str, windows: &mut [Duration]) -> Duration {
    windows.sort();
    let at = |q: f64| windows[((windows.len() as f64 * q) as usize).min(windows.len() - 1)];
    let (p50, p99, max) = (at(0.5), at(0.99), windows[windows.len() - 1]);
    eprintln!(
        "{name}: {} writes, window p50 {p50:?} p99 {p99:?} max {max:?}",
        windows.len()
    );
    p99
}

/// The replicas: A direct, B listening through a proxy (its pool direct).
async fn replicas() -> Option<(Server, Server, Proxy, Vec<StoreProcess>, [Scratch; 2])> {
    let (scratch, url) = Scratch::postgres().await?;
    let config: deadpool_postgres::tokio_postgres::Config = url.parse().unwrap();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let upstream = SocketAddr::from(([127, 0, 0, 1], port));
    let proxy = Proxy::start(upstream).await;
    let proxied = url.replacen(&format!(":{port}/"), &format!(":{}/", proxy.addr.port()), 1);
    assert_ne!(proxied, url, "the URL names 127.0.0.1:{port}: {url}");
    let logs = Scratch::directory();
    let max_age = MAX_AGE.as_secs().to_string();
    let common = [
        "--addr",
        "127.0.0.1:0",
        "--database",
        url.as_str(),
        "--validator-cache",
    ];
    let mut a_args = common.to_vec();
    a_args.extend(["--validator-cache-max-age", max_age.as_str()]);
    let mut b_args = a_args.clone();
    b_args.extend(["--validator-cache-listen", proxied.as_str()]);
    let a = StoreProcess::start(&a_args, &logs.path("a.log")).await;
    let b = StoreProcess::start(&b_args, &logs.path("b.log")).await;
    wait_for_line(&logs.path("a.log"), "listening for items_changed", 1).await;
    wait_for_line(&logs.path("b.log"), "listening for items_changed", 1).await;
    let created = a
        .server
        .put("/items/doc", &[(IF_NONE_MATCH, "*")], "version -")
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let (sa, sb) = (a.server.clone(), b.server.clone());
    Some((sa, sb, proxy, vec![a, b], [scratch, logs]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_replica_reaches_the_others_cache_at_once() {
    let Some((a, b, _proxy, _processes, _scratch)) = replicas().await else {
        eprintln!("skipped: no PostgreSQL (DATABASE_URL)");
        return;
    };
    let mut windows = windows(&a, &b, 300, |_| {}).await;
    report("notified", &mut windows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_listening_connection_never_leaves_a_304_staler_than_the_max_age() {
    let Some((a, b, proxy, _processes, scratch)) = replicas().await else {
        eprintln!("skipped: no PostgreSQL (DATABASE_URL)");
        return;
    };
    let log = scratch[1].path("b.log");
    let mut windows = windows(&a, &b, 60, |round| {
        if round == 20 {
            proxy.set(|control| control.resets += 1);
        }
    })
    .await;
    report("reset", &mut windows);
    wait_for_line(&log, "listening for items_changed", 2).await;
    let mut after = windows_after_reconnect(&a, &b).await;
    report("reset, listening again", &mut after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_listening_connection_never_leaves_a_304_staler_than_the_max_age() {
    let Some((a, b, proxy, _processes, scratch)) = replicas().await else {
        eprintln!("skipped: no PostgreSQL (DATABASE_URL)");
        return;
    };
    let log = scratch[1].path("b.log");
    let mut windows = windows(&a, &b, 60, |round| match round {
        20 => proxy.set(|control| control.pass = false),
        40 => proxy.set(|control| {
            control.pass = true;
            control.resets += 1;
        }),
        _ => {}
    })
    .await;
    report("silent", &mut windows);
    assert!(
        std::fs::read_to_string(&log).unwrap().contains("silent"),
        "B noticed the silence"
    );
    wait_for_line(&log, "listening for items_changed", 2).await;
    let mut after = windows_after_reconnect(&a, &b).await;
    report("silent, listening again", &mut after);
}

/// Once B listens again, its cache answers 304s and writes reach it promptly.
async fn windows_after_reconnect(a: &Server, b: &Server) -> Vec<Duration> {
    let windows = windows(a, b, 50, |_| {}).await;
    for window in &windows {
        assert!(
            *window < MAX_AGE / 2,
            "after reconnecting, a window of {window:?}"
        );
    }
    windows
}
