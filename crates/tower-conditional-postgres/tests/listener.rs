//! The trigger and the listener against a real PostgreSQL (`DATABASE_URL`; skipped, saying
//! so, when it is not set). Each test works in a schema of its own.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::request::Parts;
use http::{Request, Response, StatusCode, header};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_conditional::{
    ConditionalBody, ConditionalLayer, ETag, Lookup, ValidatorCache, Validators,
};
use tower_conditional_postgres::{Listener, Trigger};

/// `DATABASE_URL` when it names a PostgreSQL database; otherwise says the test is skipped.
fn database_url(test: &str) -> Option<String> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"));
    if url.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "note: {test} SKIPPED (passes without running): DATABASE_URL is not a postgres:// URL"
        );
    }
    url
}

/// A schema of its own with a table `items (id bigint primary key, version int)`, and the
/// options that select it.
struct Scratch {
    pool: PgPool,
    options: PgConnectOptions,
    schema: String,
}

impl Scratch {
    async fn new(url: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let schema = format!(
            "tcp_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin: PgConnectOptions = url.parse().expect("DATABASE_URL");
        let admin_pool = PgPoolOptions::new()
            .connect_with(admin.clone())
            .await
            .expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
        )))
        .execute(&admin_pool)
        .await
        .expect("schema");
        admin_pool.close().await;
        let options = admin.options([("search_path", schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .expect("connect");
        sqlx::raw_sql(
            "CREATE TABLE items (id bigint PRIMARY KEY, version int NOT NULL);
             INSERT INTO items VALUES (7, 1), (8, 1);
             CREATE TABLE notes (name text PRIMARY KEY);",
        )
        .execute(&pool)
        .await
        .expect("table");
        Scratch {
            pool,
            options,
            schema,
        }
    }

    async fn execute(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await
            .expect(sql);
    }

    async fn drop(self) {
        let schema = &self.schema;
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&self.pool)
            .await;
        self.pool.close().await;
    }
}

/// What the cached service answers.
type Answer = Response<ConditionalBody<String>>;

/// A cache keyed by the id in `/items/{id}`, and a service over it whose source counts its
/// queries; the cache starts off (the listener switches it on).
fn cached_service() -> (
    ValidatorCache<i64>,
    Arc<AtomicUsize>,
    impl Service<Request<String>, Response = Answer, Error = Infallible> + Clone,
) {
    let cache = ValidatorCache::builder(|head: &Parts| {
        head.uri.path().strip_prefix("/items/")?.parse::<i64>().ok()
    })
    .switched_off()
    .build();
    let queries = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&queries);
    // Counted when the look-up runs (its future polled), not when it is made: a layer may make
    // one and drop it unpolled on a cache hit.
    let source = move |_: &Parts| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Infallible>(Lookup::from(
                Validators::new().with_etag(ETag::from_static("\"v1\"")),
            ))
        }
    };
    let service = ConditionalLayer::new(source)
        .validator_cache(cache.clone())
        .layer(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::from("item")))
        }));
    (cache, queries, service)
}

/// Revalidates `/items/{id}` with the tag the source always gives: a 304, from the cache or not.
async fn revalidate<S>(service: &S, id: i64)
where
    S: Service<Request<String>, Response = Answer, Error = Infallible> + Clone,
{
    let request = Request::get(format!("/items/{id}"))
        .header(header::IF_NONE_MATCH, "\"v1\"")
        .body(String::new())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

/// Waits until `condition` holds, at most `limit`; returns how long it took.
async fn within(limit: Duration, what: &str, condition: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn installing_the_trigger_concurrently_succeeds_once() {
    let Some(url) = database_url("installing_the_trigger_concurrently_succeeds_once") else {
        return;
    };
    let scratch = Scratch::new(&url).await;
    let trigger = Trigger::new("items", "id");
    // Replicas starting together: without the advisory lock, concurrent CREATE OR REPLACE
    // FUNCTION fails ("tuple concurrently updated").
    let installs = (0..6).map(|_| {
        let pool = scratch.pool.clone();
        let trigger = trigger.clone();
        tokio::spawn(async move { trigger.install(&pool).await })
    });
    for install in installs.collect::<Vec<_>>() {
        install.await.unwrap().expect("install");
    }
    trigger.install(&scratch.pool).await.expect("again, later");
    let triggers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal",
    )
    .fetch_one(&scratch.pool)
    .await
    .unwrap();
    assert_eq!(triggers, 2, "one row trigger and one TRUNCATE trigger");

    // One write, one notification, with the key as its payload.
    let mut listener = PgListener::connect_with(&scratch.pool).await.unwrap();
    listener.listen(trigger.channel()).await.unwrap();
    scratch
        .execute("UPDATE items SET version = 2 WHERE id = 7")
        .await;
    let heard = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .expect("notified")
        .unwrap();
    assert_eq!(heard.payload(), "7");
    let again = tokio::time::timeout(Duration::from_millis(300), listener.recv()).await;
    assert!(again.is_err(), "notified twice: {again:?}");
    drop(listener);
    scratch.drop().await;
}

#[tokio::test]
async fn a_write_through_sql_invalidates_its_key() {
    let Some(url) = database_url("a_write_through_sql_invalidates_its_key") else {
        return;
    };
    let scratch = Scratch::new(&url).await;
    let (cache, queries, service) = cached_service();
    let listening = Listener::new(scratch.options.clone(), "unused")
        .installing(Trigger::new("items", "id"))
        .spawn(cache.clone());
    within(Duration::from_secs(10), "listening", || cache.is_on()).await;

    for id in [7, 8] {
        revalidate(&service, id).await;
        revalidate(&service, id).await;
    }
    assert_eq!(
        queries.load(Ordering::SeqCst),
        2,
        "the second of each came from the cache"
    );
    assert_eq!(cache.len(), 2);

    // Written by someone the layer never sees.
    scratch
        .execute("UPDATE items SET version = 2 WHERE id = 7")
        .await;
    within(Duration::from_secs(5), "key 7 invalidated", || {
        cache.len() == 1
    })
    .await;
    revalidate(&service, 7).await;
    assert_eq!(
        queries.load(Ordering::SeqCst),
        3,
        "key 7 asked the source again"
    );

    // TRUNCATE: everything.
    revalidate(&service, 7).await;
    scratch.execute("TRUNCATE items").await;
    within(Duration::from_secs(5), "everything invalidated", || {
        cache.is_empty()
    })
    .await;
    assert!(cache.is_on());
    listening.shutdown().await;
    scratch.drop().await;
}

#[tokio::test]
async fn a_key_too_long_for_a_payload_invalidates_everything() {
    let Some(url) = database_url("a_key_too_long_for_a_payload_invalidates_everything") else {
        return;
    };
    let scratch = Scratch::new(&url).await;
    let cache = ValidatorCache::builder(|head: &Parts| {
        Some(head.uri.path().trim_start_matches('/').to_owned())
    })
    .build();
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = Arc::clone(&heard);
    let listening = Listener::new(scratch.options.clone(), "notes_changed")
        .installing(Trigger::new("notes", "name"))
        .spawn_with(cache.clone(), move |payload: &str| {
            recorded.lock().unwrap().push(payload.len());
            Some(payload.to_owned())
        });
    within(Duration::from_secs(10), "listening", || cache.is_on()).await;
    scratch
        .execute(&format!(
            "INSERT INTO notes VALUES ('short'), ('{}')",
            "x".repeat(9000)
        ))
        .await;
    // The short key maps through the closure; the long one arrives empty (everything), which
    // never reaches it.
    within(Duration::from_secs(5), "the short key heard", || {
        heard.lock().unwrap().contains(&5)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*heard.lock().unwrap(), vec![5]);
    listening.shutdown().await;
    scratch.drop().await;
}

/// A TCP proxy to `upstream` that can be told to stop forwarding on the connections it has
/// (holding them open, silently: a network that drops packets), while new ones pass.
struct Proxy {
    address: SocketAddr,
    stalled_before: Arc<AtomicU64>,
    next: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let stalled_before = Arc::new(AtomicU64::new(0));
        let next = Arc::new(AtomicU64::new(1));
        let (stalled, numbers) = (Arc::clone(&stalled_before), Arc::clone(&next));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let number = numbers.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(
                    client_read,
                    server_write,
                    number,
                    Arc::clone(&stalled),
                ));
                tokio::spawn(forward(
                    server_read,
                    client_write,
                    number,
                    Arc::clone(&stalled),
                ));
            }
        });
        Proxy {
            address,
            stalled_before,
            next,
        }
    }

    /// Every connection open now stops forwarding, for good.
    fn stall(&self) {
        self.stalled_before
            .store(self.next.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    number: u64,
    stalled_before: Arc<AtomicU64>,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        if number < stalled_before.load(Ordering::SeqCst) {
            // Dropped on the floor; both sockets stay open.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_silently_dropped_connection_switches_the_cache_off_within_the_heartbeat() {
    let Some(url) =
        database_url("a_silently_dropped_connection_switches_the_cache_off_within_the_heartbeat")
    else {
        return;
    };
    let scratch = Scratch::new(&url).await;
    let upstream = {
        let options = &scratch.options;
        let host = options.get_host();
        tokio::net::lookup_host((host, options.get_port()))
            .await
            .unwrap()
            .next()
            .unwrap()
    };
    let proxy = Proxy::start(upstream).await;
    let (cache, queries, service) = cached_service();
    let (heartbeat, heartbeat_timeout) = (Duration::from_millis(200), Duration::from_millis(300));
    let listening = Listener::new(
        scratch
            .options
            .clone()
            .host("127.0.0.1")
            .port(proxy.address.port()),
        "items_changed",
    )
    .installing(Trigger::new("items", "id"))
    .heartbeat(heartbeat)
    .heartbeat_timeout(heartbeat_timeout)
    .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(200))
    .spawn(cache.clone());
    within(Duration::from_secs(10), "listening", || cache.is_on()).await;
    revalidate(&service, 7).await;
    revalidate(&service, 7).await;
    assert_eq!(queries.load(Ordering::SeqCst), 1);

    proxy.stall();
    // A write the listener cannot hear: from here, only the gate keeps 304s fresh.
    scratch
        .execute("UPDATE items SET version = 2 WHERE id = 7")
        .await;
    let off = within(Duration::from_secs(5), "switched off", || !cache.is_on()).await;
    let bound = heartbeat + heartbeat_timeout;
    // Slack for a loaded machine; the bound itself is what the crate documents.
    assert!(
        off <= bound + Duration::from_millis(500),
        "off after {off:?}, bound {bound:?}"
    );
    assert!(cache.is_empty(), "switching off empties the cache");
    revalidate(&service, 7).await;
    assert_eq!(
        queries.load(Ordering::SeqCst),
        2,
        "off: the source is asked"
    );

    // Reconnects through the proxy (new connections pass), listens, switches back on.
    within(Duration::from_secs(10), "switched on again", || {
        cache.is_on()
    })
    .await;
    revalidate(&service, 7).await;
    revalidate(&service, 7).await;
    assert_eq!(queries.load(Ordering::SeqCst), 3);
    scratch
        .execute("UPDATE items SET version = 3 WHERE id = 7")
        .await;
    within(
        Duration::from_secs(5),
        "heard on the new connection",
        || cache.is_empty(),
    )
    .await;
    listening.shutdown().await;
    scratch.drop().await;
}

#[tokio::test]
async fn shutdown_ends_the_task_and_switches_the_cache_off() {
    let Some(url) = database_url("shutdown_ends_the_task_and_switches_the_cache_off") else {
        return;
    };
    let scratch = Scratch::new(&url).await;
    let (cache, _, _) = cached_service();
    let listening = Listener::new(scratch.options.clone(), "items_changed").spawn(cache.clone());
    within(Duration::from_secs(10), "listening", || cache.is_on()).await;
    tokio::time::timeout(Duration::from_secs(5), listening.shutdown())
        .await
        .expect("shutdown within 5 s");
    assert!(!cache.is_on());
    // Its connection goes: nothing listens on the channel any more.
    let listeners = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"items_changed\"'",
        )
        .fetch_one(&scratch.pool)
        .await
        .unwrap()
    };
    let start = Instant::now();
    while listeners().await > 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "still listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Dropping the handle does the same, at once.
    let listening = Listener::new(scratch.options.clone(), "items_changed").spawn(cache.clone());
    within(Duration::from_secs(10), "listening", || cache.is_on()).await;
    drop(listening);
    assert!(!cache.is_on());
    scratch.drop().await;
}

#[tokio::test]
async fn an_unreachable_database_keeps_the_cache_off() {
    // No database needed: nothing listens on this port.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (cache, _, _) = cached_service();
    let options = PgConnectOptions::new().host("127.0.0.1").port(port);
    let listening = Listener::new(options, "items_changed")
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50))
        .spawn(cache.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!cache.is_on());
    assert!(!listening.is_finished(), "it keeps trying");
    listening.shutdown().await;
}

#[test]
fn a_listener_s_debug_output_leaves_the_password_out() {
    let options: PgConnectOptions = "postgres://user:hunter2@db.example/shop".parse().unwrap();
    let listener = Listener::new(options, "items_changed");
    let shown = format!("{listener:?}");
    assert!(
        shown.contains("db.example") && shown.contains("items_changed"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Listener>();
    send_sync::<tower_conditional_postgres::ListenerHandle>();
    send_sync::<Trigger>();
}

/// Everything written to it, shared: the captured log.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn the_heartbeat_reports_the_queue_usage_as_a_warning_at_the_threshold() {
    let Some(url) =
        database_url("the_heartbeat_reports_the_queue_usage_as_a_warning_at_the_threshold")
    else {
        return;
    };
    let scratch = Scratch::new(&url).await;
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // A current-thread runtime: the listener's task runs on this thread, under this default.
    let _default = tracing::subscriber::set_default(subscriber);
    let (cache, _, _) = cached_service();
    let listening = Listener::new(scratch.options.clone(), "items_changed")
        .heartbeat(Duration::from_millis(50))
        .queue_warning(0.0) // an empty queue is at the threshold: every heartbeat warns
        .spawn(cache.clone());
    within(Duration::from_secs(10), "listening", || cache.is_on()).await;
    within(Duration::from_secs(5), "a queue warning", || {
        log.text().contains("the notification queue is 0% full")
    })
    .await;
    assert!(log.text().contains("WARN"), "{}", log.text());
    listening.shutdown().await;
    scratch.drop().await;
}
