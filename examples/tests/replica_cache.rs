//! Two store replicas on one PostgreSQL with `--validator-cache`: a write through A reaches B's
//! cache as a `NOTIFY`, so B's revalidation with the replaced tag gets its 200 promptly; with
//! B's listening connection cut (reset, or silently dropped) through a TCP proxy, B still never
//! answers a stale 304 later than the maximum age, and listens again once the proxy heals.
//! Skipped (and says so) without a PostgreSQL in `DATABASE_URL`.
//!
//! The first test also reports what its windows are made of (with `--nocapture`): when a
//! listener of the test's own heard each notification, how many revalidations B answered in the
//! window, and how long B's final 200 took. No figure is asserted: they measure the machine.

#[allow(dead_code)]
#[path = "../store/app.rs"]
mod app;
mod backends;
#[allow(dead_code)]
#[path = "../store/database.rs"]
mod database;
mod process;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
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
    path: &str,
    writes: usize,
    between: impl FnMut(usize),
) -> Vec<Duration> {
    let rounds = rounds(a, b, path, writes, between, None).await;
    rounds.iter().map(|round| round.window).collect()
}

/// What one write's window was made of.
#[derive(Debug, Clone, Copy)]
struct Round {
    /// From A's answer to B's first 200.
    window: Duration,
    /// From A's answer to the test's own listener hearing the write's notification (negative:
    /// heard before A's answer arrived); `None` without a probe.
    heard: Option<f64>,
    /// B's revalidations in the window, the 200 included.
    polls: u32,
    /// The round trip of the last of them (the 200, which asks the database).
    last_poll: Duration,
    /// From A's answer to the sending of that last revalidation: how long B was seen stale.
    stale: Duration,
}

/// [`windows`], with the parts of each window: when a listener of the test's own (a direct
/// connection, as B's is through the proxy) heard the notification, and B's round trips.
async fn rounds(
    a: &Server,
    b: &Server,
    path: &str,
    writes: usize,
    mut between: impl FnMut(usize),
    mut probe: Option<&mut Probe>,
) -> Vec<Round> {
    let mut tag = a.get(path, &[]).await.etag();
    let mut rounds = Vec::with_capacity(writes);
    for round in 0..writes {
        let warm = b.get(path, &[(IF_NONE_MATCH, tag.as_str())]).await;
        assert_eq!(warm.status, StatusCode::NOT_MODIFIED, "{warm:?}");
        between(round);
        if let Some(probe) = probe.as_deref_mut() {
            probe.drain();
        }
        let body = format!("version {round}");
        let put = a.put(path, &[(IF_MATCH, tag.as_str())], body).await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
        let answered = Instant::now();
        let mut polls = 0;
        let (last_poll, stale) = loop {
            polls += 1;
            assert!(polls < 100_000, "round {round}: B never answered 200");
            let sent = Instant::now();
            let reply = b.get(path, &[(IF_NONE_MATCH, tag.as_str())]).await;
            let waited = answered.elapsed();
            match reply.status {
                StatusCode::OK => break (sent.elapsed(), sent - answered),
                StatusCode::NOT_MODIFIED => assert!(
                    waited < MAX_AGE,
                    "round {round}: a stale 304 {waited:?} after the write"
                ),
                _ => panic!("round {round}: {reply:?}"),
            }
        };
        let window = answered.elapsed();
        let heard = match probe.as_deref_mut() {
            Some(probe) => Some(probe.heard(answered).await),
            None => None,
        };
        rounds.push(Round {
            window,
            heard,
            polls,
            last_poll,
            stale,
        });
        tag = put.etag();
    }
    rounds
}

/// The test's own `LISTEN items_changed`, on a direct connection: when each notification arrived.
struct Probe {
    arrivals: tokio::sync::mpsc::UnboundedReceiver<Instant>,
    _client: deadpool_postgres::tokio_postgres::Client,
}

impl Probe {
    async fn listen(url: &str) -> Probe {
        use deadpool_postgres::tokio_postgres::{AsyncMessage, NoTls, connect};
        let (client, mut connection) = connect(url, NoTls).await.expect("the probe connects");
        let (sender, arrivals) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(message)) =
                std::future::poll_fn(|cx| connection.poll_message(cx)).await
            {
                if let AsyncMessage::Notification(_) = message {
                    let _ = sender.send(Instant::now());
                }
            }
        });
        client
            .batch_execute("LISTEN items_changed")
            .await
            .expect("the probe listens");
        Probe {
            arrivals,
            _client: client,
        }
    }

    /// Forgets what arrived before this write.
    fn drain(&mut self) {
        while self.arrivals.try_recv().is_ok() {}
    }

    /// Milliseconds from `answered` to the first notification since [`drain`](Self::drain).
    async fn heard(&mut self, answered: Instant) -> f64 {
        let arrived = tokio::time::timeout(MAX_AGE, self.arrivals.recv())
            .await
            .expect("the probe heard the write")
            .expect("the probe is listening");
        match arrived.checked_duration_since(answered) {
            Some(after) => after.as_secs_f64() * 1e3,
            None => -(answered - arrived).as_secs_f64() * 1e3,
        }
    }
}

/// p50, p99 and the maximum of `values`, sorted in place.
fn quantiles<T: Copy + PartialOrd>(values: &mut [T]) -> (T, T, T) {
    values.sort_by(|x, y| x.partial_cmp(y).expect("no NaN"));
    let at = |q: f64| values[((values.len() as f64 * q) as usize).min(values.len() - 1)];
    (at(0.5), at(0.99), values[values.len() - 1])
}

fn report(name: &str, windows: &mut [Duration]) -> Duration {
    let (p50, p99, max) = quantiles(windows);
    eprintln!(
        "{name}: {} writes, window p50 {p50:?} p99 {p99:?} max {max:?}",
        windows.len()
    );
    p99
}

/// The replicas: A direct, B listening through a proxy (its pool direct) when `proxied`, and the
/// item they write, `/items/NAME`. Each test has an item name of its own: the notification
/// channel is the database's, shared by the tests' schemas, and the trigger names only the key.
///
/// The proxy runs in this test process, on the test's runtime, beside its polling: a hop that
/// production does not have, whose delays the measured windows would include. Only the tests
/// that cut the connection use it.
async fn replicas(
    name: &str,
    proxied: bool,
) -> Option<(
    Server,
    Server,
    Proxy,
    Vec<StoreProcess>,
    [Scratch; 2],
    String,
)> {
    let (scratch, url) = Scratch::postgres().await?;
    let config: deadpool_postgres::tokio_postgres::Config = url.parse().unwrap();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let upstream = SocketAddr::from(([127, 0, 0, 1], port));
    let proxy = Proxy::start(upstream).await;
    let proxied_url = url.replacen(&format!(":{port}/"), &format!(":{}/", proxy.addr.port()), 1);
    assert_ne!(proxied_url, url, "the URL names 127.0.0.1:{port}: {url}");
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
    if proxied {
        b_args.extend(["--validator-cache-listen", proxied_url.as_str()]);
    }
    let a = StoreProcess::start(&a_args, &logs.path("a.log")).await;
    let b = StoreProcess::start(&b_args, &logs.path("b.log")).await;
    wait_for_line(&logs.path("a.log"), "validator cache on: listening", 1).await;
    wait_for_line(&logs.path("b.log"), "validator cache on: listening", 1).await;
    let path = format!("/items/{name}-{}", std::process::id());
    let created = a
        .server
        .put(&path, &[(IF_NONE_MATCH, "*")], "version -")
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let (sa, sb) = (a.server.clone(), b.server.clone());
    Some((sa, sb, proxy, vec![a, b], [scratch, logs], path))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_replica_reaches_the_others_cache_at_once() {
    let Some((a, b, _proxy, _processes, _scratch, path)) = replicas("notified", false).await else {
        eprintln!("skipped: no PostgreSQL (DATABASE_URL)");
        return;
    };
    let url = backends::postgres_url().expect("replicas need PostgreSQL");
    let mut probe = Probe::listen(&url).await;
    let rounds = rounds(&a, &b, &path, 300, |_| {}, Some(&mut probe)).await;
    let mut windows: Vec<_> = rounds.iter().map(|round| round.window).collect();
    report("notified", &mut windows);
    // What the windows are made of: the notification's own delivery (to a direct listener of the
    // test's), B's revalidations (a 304 from its cache, the last a 200 from the database).
    let mut heard: Vec<f64> = rounds.iter().filter_map(|round| round.heard).collect();
    let mut polls: Vec<u32> = rounds.iter().map(|round| round.polls).collect();
    let mut last: Vec<_> = rounds.iter().map(|round| round.last_poll).collect();
    let (h50, h99, hmax) = quantiles(&mut heard);
    let (p50, p99, pmax) = quantiles(&mut polls);
    let (l50, l99, lmax) = quantiles(&mut last);
    let mut stale: Vec<_> = rounds.iter().map(|round| round.stale).collect();
    let (s50, s99, smax) = quantiles(&mut stale);
    eprintln!(
        "notified: notification heard by the test {h50:.2} / {h99:.2} / {hmax:.2} ms after A's \
         answer (p50 / p99 / max); B polled {p50} / {p99} / {pmax} times per window; \
         B's 200 took {l50:?} / {l99:?} / {lmax:?}; B's first 200 was asked for \
         {s50:?} / {s99:?} / {smax:?} after A's answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_listening_connection_never_leaves_a_304_staler_than_the_max_age() {
    let Some((a, b, proxy, _processes, scratch, path)) = replicas("reset", true).await else {
        eprintln!("skipped: no PostgreSQL (DATABASE_URL)");
        return;
    };
    let log = scratch[1].path("b.log");
    let mut windows = windows(&a, &b, &path, 60, |round| {
        if round == 20 {
            proxy.set(|control| control.resets += 1);
        }
    })
    .await;
    report("reset", &mut windows);
    wait_for_line(&log, "validator cache on: listening", 2).await;
    let mut after = windows_after_reconnect(&a, &b, &path).await;
    report("reset, listening again", &mut after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_listening_connection_never_leaves_a_304_staler_than_the_max_age() {
    let Some((a, b, proxy, _processes, scratch, path)) = replicas("silent", true).await else {
        eprintln!("skipped: no PostgreSQL (DATABASE_URL)");
        return;
    };
    let log = scratch[1].path("b.log");
    let mut windows = windows(&a, &b, &path, 60, |round| match round {
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
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("connection stalled"),
        "B noticed the silence"
    );
    wait_for_line(&log, "validator cache on: listening", 2).await;
    let mut after = windows_after_reconnect(&a, &b, &path).await;
    report("silent, listening again", &mut after);
}

/// Once B listens again, its cache answers 304s and writes reach it promptly.
async fn windows_after_reconnect(a: &Server, b: &Server, path: &str) -> Vec<Duration> {
    let windows = windows(a, b, path, 50, |_| {}).await;
    for window in &windows {
        assert!(
            *window < MAX_AGE / 2,
            "after reconnecting, a window of {window:?}"
        );
    }
    windows
}
